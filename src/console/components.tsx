import {
  Alert,
  Badge,
  Box,
  Button,
  Card,
  Code,
  CopyButton,
  Group,
  Loader,
  Modal,
  type ModalProps,
  Stack,
  Text,
  Title,
} from '@mantine/core';
import { Component, type ReactNode, Suspense, useId } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { ErrorText } from './problems.tsx';

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

/**
 * The one confirmation every destructive action asks for (revoke, remove, cancel, delete, rotate,
 * turn off): what will happen, in a sentence; Cancel; and the action, named, in red. It stays open
 * with the reason when the action fails, and the caller closes it on success.
 */
export function ConfirmDialog(props: {
  opened: boolean;
  title: string;
  /** What happens, and what cannot be undone. */
  message: ReactNode;
  /** The action's own name ("Revoke token"), never a bare "OK". */
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
  loading?: boolean;
  error?: unknown;
  /** Per problem code, the page's own sentence for a refusal (see describeProblem). */
  errorWords?: Partial<Record<string, string>>;
  /** The action makes someone else an owner (how an `org_limit` refusal is worded). */
  grantee?: boolean;
  /** Further fields the action needs (a password, a role to move members to). */
  children?: ReactNode;
  disabled?: boolean;
}) {
  return (
    <Dialog opened={props.opened} onClose={props.onCancel} title={props.title}>
      <Stack>
        {typeof props.message === 'string' ? <Text>{props.message}</Text> : props.message}
        {props.children}
        <ErrorText
          error={props.error}
          grantee={props.grantee ?? false}
          {...(props.errorWords ? { words: props.errorWords } : {})}
        />
        <DialogActions
          onCancel={props.onCancel}
          onConfirm={props.onConfirm}
          label={props.confirmLabel}
          loading={props.loading ?? false}
          disabled={props.disabled ?? false}
        />
      </Stack>
    </Dialog>
  );
}

/**
 * A secret shown once (a new token, a signing secret): what it is and that it will not be shown
 * again, the value, Copy, and a button saying it was stored. It closes only on purpose, never by a
 * click beside it.
 */
export function ShownOnceDialog({
  value,
  title,
  help,
  testId,
  doneLabel,
  onClose,
}: {
  /** The secret; null: the dialog is closed. */
  value: string | null;
  title: string;
  help: ReactNode;
  testId: string;
  doneLabel?: string;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  return (
    <Dialog opened={value !== null} onClose={onClose} title={title} closeOnClickOutside={false}>
      <Stack>
        {typeof help === 'string' ? <Text>{help}</Text> : help}
        <Code block data-testid={testId} style={{ wordBreak: 'break-all', whiteSpace: 'pre-wrap' }}>
          {value}
        </Code>
        <Group justify="flex-end">
          <CopyButton value={value ?? ''}>
            {({ copied, copy }) => (
              <Button variant="default" onClick={copy}>
                {copied ? t('copied') : t('copy')}
              </Button>
            )}
          </CopyButton>
          <Button onClick={onClose}>{doneLabel ?? t('done')}</Button>
        </Group>
      </Stack>
    </Dialog>
  );
}

/** For a link's page seen signed out: sign in or create an account, then come `back`. */
export function SignInFirst({ back }: { back: string }) {
  const { t } = useTranslation();
  const next = encodeURIComponent(back);
  return (
    <Group>
      <Button component={Link} to={`/signin?next=${next}`}>
        {t('signIn')}
      </Button>
      <Button component={Link} variant="default" to={`/signup?next=${next}`}>
        {t('signUp')}
      </Button>
    </Group>
  );
}

/**
 * A table's frame: on a screen narrower than the table, the table scrolls sideways inside it and no
 * column is cut off. A named group that takes focus, so the keyboard can scroll it too.
 */
export function ScrollFrame({
  label,
  minWidth,
  children,
}: {
  label: string;
  minWidth: number;
  children: ReactNode;
}) {
  return (
    <Box
      role="group"
      aria-label={label}
      tabIndex={0}
      // Positioned, so that visually hidden header text is clipped by the frame as well.
      style={{ overflowX: 'auto', position: 'relative', maxWidth: '100%' }}
    >
      <Box miw={minWidth}>{children}</Box>
    </Box>
  );
}

/**
 * A table row's destructive action (revoke, cancel, deny, leave, sign out): the same small red
 * button everywhere, named for screen readers by what it acts on (`label`); it opens the
 * confirmation or acts.
 */
export function RowDangerButton({
  label,
  onClick,
  children,
}: {
  label: string;
  onClick: () => void;
  children: ReactNode;
}) {
  return (
    <Button size="xs" variant="subtle" color="red" aria-label={label} onClick={onClick}>
      {children}
    </Button>
  );
}

/** A page section named by its heading, so it is a landmark (region) of its own. */
export function Section({
  title,
  children,
  testId,
}: {
  title: string;
  children: ReactNode;
  testId?: string;
}) {
  const id = useId();
  return (
    <Stack component="section" aria-labelledby={id} gap="sm" maw={960} data-testid={testId}>
      <Title order={2} size="h4" id={id}>
        {title}
      </Title>
      {children}
    </Stack>
  );
}

/**
 * A bordered card of a settings page, named by its heading; with a badge (the plan that has what
 * it holds) and a note under the heading when given.
 */
export function SettingCard(props: {
  title: string;
  badge?: string | null | undefined;
  note?: string | null | undefined;
  children: ReactNode;
}) {
  const id = useId();
  return (
    <Card withBorder component="section" aria-labelledby={id}>
      <Stack gap="sm">
        <Group gap="xs">
          <Title order={2} size="h4" id={id}>
            {props.title}
          </Title>
          {props.badge && <Badge variant="light">{props.badge}</Badge>}
        </Group>
        {props.note && <Text size="sm">{props.note}</Text>}
        {props.children}
      </Stack>
    </Card>
  );
}

/** Waiting for a page or its data: announced to screen readers, not only drawn. */
export function PageLoader({ label }: { label?: string }) {
  const { t } = useTranslation();
  return <Loader role="status" aria-label={label ?? t('loading')} />;
}

// A script that failed to load, or a bug: the error's own text would mean nothing to the reader.
function PageFailed() {
  const { t } = useTranslation();
  return (
    <Stack maw={560}>
      <Alert color="red" role="alert" title={t('pageFailed')}>
        {t('pageFailedHelp')}
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
    if (this.state.error) return <PageFailed />;
    return <Suspense fallback={<PageLoader />}>{this.props.children}</Suspense>;
  }
}

/** A paged list's next page, offered while there is one. */
export function LoadMore({
  list,
}: {
  list: { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage: () => unknown };
}) {
  const { t } = useTranslation();
  if (!list.hasNextPage) return null;
  return (
    <Button variant="default" onClick={() => list.fetchNextPage()} loading={list.isFetchingNextPage}>
      {t('loadMore')}
    </Button>
  );
}

/**
 * A value to copy elsewhere (a URL to register at another service): its label, the value as code,
 * and a Copy button named by the label.
 */
export function CopyValue({ label, value, testId }: { label: string; value: string; testId?: string }) {
  const { t } = useTranslation();
  return (
    <Stack gap={2}>
      <Text size="sm" fw={500}>
        {label}
      </Text>
      <Group gap="xs" wrap="nowrap" align="flex-start">
        <Code data-testid={testId} style={{ wordBreak: 'break-all' }}>
          {value}
        </Code>
        <CopyButton value={value}>
          {({ copied, copy }) => (
            <Button
              size="xs"
              variant="default"
              onClick={copy}
              aria-label={copied ? t('copied') : t('copyNamed', { what: label })}
            >
              {copied ? t('copied') : t('copy')}
            </Button>
          )}
        </CopyButton>
      </Group>
    </Stack>
  );
}
