import { Button, Checkbox, Code, Group, Stack, Switch, Text, Textarea, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import {
  type CreatedWebhook,
  EVENT_TYPES,
  type EventType,
  type WebhookTestResult,
  type WebhookView,
} from '../../contracts/events.ts';
import { api } from '../api.ts';
import { Dialog, DialogActions, ShownOnceDialog } from '../components.tsx';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';

/** An event type's name in the page's language. */
export function useEventWords() {
  const { t } = useTranslation();
  return (type: string) => t(`webhookEvent_${type.replaceAll('.', '_')}`);
}

interface Draft {
  url: string;
  description: string;
  events: EventType[];
  enabled: boolean;
}

/** Create or edit a webhook: its URL, description, events and (editing) whether it sends. */
export function WebhookDialog({
  orgId,
  editing,
  onClose,
  onCreated,
}: {
  orgId: string;
  editing: WebhookView | null;
  onClose: () => void;
  onCreated: (created: CreatedWebhook) => void;
}) {
  const { t } = useTranslation();
  const eventWord = useEventWords();
  const client = useQueryClient();
  const [draft, setDraft] = useState<Draft>(
    editing
      ? {
          url: editing.url,
          description: editing.description ?? '',
          events: editing.events,
          enabled: editing.enabled,
        }
      : { url: '', description: '', events: ['scan.completed'], enabled: true },
  );
  const save = useMutation({
    mutationFn: () => {
      const body = {
        url: draft.url.trim(),
        description: draft.description.trim() || null,
        events: draft.events,
      };
      return editing
        ? api<WebhookView>('PATCH', `/orgs/${orgId}/webhooks/${editing.id}`, {
            ...body,
            enabled: draft.enabled,
          })
        : api<CreatedWebhook>('POST', `/orgs/${orgId}/webhooks`, body);
    },
    onSuccess: async (saved) => {
      notify(t(editing ? 'webhookSaved' : 'webhookCreated'));
      await client.invalidateQueries({ queryKey: ['webhooks', orgId] });
      onClose();
      if (!editing) onCreated(saved as CreatedWebhook);
    },
  });
  const { byField, rest } = fieldErrors(t, save.error, ['url', 'description', 'events', 'enabled']);
  const set = (patch: Partial<Draft>) => {
    setDraft((d) => ({ ...d, ...patch }));
    if (!save.isPending) save.reset();
  };
  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    save.mutate();
  };
  const noEvents = draft.events.length === 0;
  return (
    <Dialog
      opened
      onClose={onClose}
      title={editing ? t('webhookEditTitle') : t('webhookCreateTitle')}
      size="lg"
    >
      <form noValidate onSubmit={submit}>
        <Stack>
          <TextInput
            label={t('webhookUrl')}
            description={t('webhookUrlHelp')}
            required
            type="url"
            maxLength={2048}
            data-autofocus
            placeholder="https://"
            value={draft.url}
            error={byField.url}
            onChange={(e) => set({ url: e.currentTarget.value })}
          />
          <Textarea
            label={t('webhookDescription')}
            maxLength={500}
            autosize
            minRows={1}
            value={draft.description}
            error={byField.description}
            onChange={(e) => set({ description: e.currentTarget.value })}
          />
          <Checkbox.Group
            label={t('webhookEvents')}
            description={t('webhookEventsHelp')}
            required
            value={draft.events}
            error={noEvents && save.isError ? t('webhookEventsNone') : byField.events}
            onChange={(events) => set({ events: EVENT_TYPES.filter((e) => events.includes(e)) })}
          >
            <Stack gap={6} mt={6}>
              {EVENT_TYPES.map((type) => (
                <Checkbox key={type} value={type} label={`${eventWord(type)} (${type})`} />
              ))}
            </Stack>
          </Checkbox.Group>
          {editing && (
            <Switch
              label={t('webhookEnabled')}
              checked={draft.enabled}
              onChange={(e) => set({ enabled: e.currentTarget.checked })}
            />
          )}
          <ErrorText error={rest} />
          <DialogActions
            onCancel={onClose}
            onConfirm={() => submit()}
            label={t('webhookSave')}
            color="blue"
            loading={save.isPending}
          />
        </Stack>
      </form>
    </Dialog>
  );
}

/** The signing secret, shown once (after creation or a rotation), with a copy button. */
export function SecretDialog({ secret, onClose }: { secret: string | null; onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <ShownOnceDialog
      value={secret}
      title={t('webhookSecretTitle')}
      help={t('webhookSecretHelp')}
      testId="webhook-secret"
      doneLabel={t('webhookSecretDone')}
      onClose={onClose}
    />
  );
}

/** What the receiver answered to a test delivery. */
export function TestResultDialog({
  result,
  error,
  onClose,
}: {
  result: WebhookTestResult | null;
  error: unknown;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const opened = result !== null || Boolean(error);
  return (
    <Dialog opened={opened} onClose={onClose} title={t('webhookTestTitle')}>
      <Stack>
        <ErrorText error={error} />
        {result && (
          <>
            <Text fw={600} c={result.delivered ? '#1b5e20' : 'red.9'} data-testid="webhook-test-outcome">
              {result.status === null
                ? t('webhookTestUnreachable', { error: result.error ?? '' })
                : t(result.delivered ? 'webhookTestDelivered' : 'webhookTestFailed', {
                    status: result.status,
                  })}
            </Text>
            <Text size="sm">
              {t('webhookDuration')}: {t('webhookDurationMs', { ms: result.durationMs })}
            </Text>
            {result.status !== null && (
              <Stack gap={4}>
                <Text size="sm" fw={500}>
                  {t('webhookTestBody')}
                </Text>
                {result.body ? (
                  <Code block data-testid="webhook-test-body">
                    {result.body}
                  </Code>
                ) : (
                  <Text size="sm">{t('webhookTestEmptyBody')}</Text>
                )}
              </Stack>
            )}
          </>
        )}
        <Group justify="flex-end">
          <Button onClick={onClose}>{t('close')}</Button>
        </Group>
      </Stack>
    </Dialog>
  );
}
