import { Alert, Button, Group, Loader, Modal, type ModalProps, Stack } from '@mantine/core';
import { Component, type ReactNode, Suspense } from 'react';
import { useTranslation } from 'react-i18next';

/** A dialog whose close button says what it does, in the page's language. */
export function Dialog(props: ModalProps) {
  const { t } = useTranslation();
  return <Modal closeButtonProps={{ 'aria-label': t('close') }} {...props} />;
}

/** A dialog's closing row: Cancel, and the action it asks to confirm. */
export function DialogActions(props: {
  onCancel: () => void;
  onConfirm: () => void;
  label: string;
  color?: string;
  loading?: boolean;
  disabled?: boolean;
}) {
  const { t } = useTranslation();
  return (
    <Group justify="flex-end">
      <Button variant="default" onClick={props.onCancel}>
        {t('cancel')}
      </Button>
      <Button
        color={props.color ?? 'red'}
        loading={props.loading ?? false}
        disabled={props.disabled ?? false}
        onClick={props.onConfirm}
      >
        {props.label}
      </Button>
    </Group>
  );
}

/** Waiting for a page or its data: announced to screen readers, not only drawn. */
export function PageLoader({ label }: { label?: string }) {
  const { t } = useTranslation();
  return <Loader role="status" aria-label={label ?? t('loading')} />;
}

function PageFailed({ error }: { error: unknown }) {
  const { t } = useTranslation();
  return (
    <Stack maw={560}>
      <Alert color="red" role="alert" title={t('pageFailed')}>
        {error instanceof Error ? error.message : String(error)}
      </Alert>
      <Group>
        <Button onClick={() => window.location.reload()}>{t('reload')}</Button>
      </Group>
    </Stack>
  );
}

/**
 * A page loaded when visited: a loader while it comes. One that cannot load or render (its script
 * gone after an upgrade, a bug) says so and offers a reload, instead of leaving the console blank.
 */
export class PageBoundary extends Component<{ children: ReactNode }, { error: unknown }> {
  override state: { error: unknown } = { error: null };

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  override render() {
    if (this.state.error) return <PageFailed error={this.state.error} />;
    return <Suspense fallback={<PageLoader />}>{this.props.children}</Suspense>;
  }
}
