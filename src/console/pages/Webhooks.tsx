import { Button, Group, Loader, Stack, Table, Text, Title, VisuallyHidden } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import type { WebhookTestResult, WebhookView } from '../../contracts/events.ts';
import { api, type Page } from '../api.ts';
import { ConfirmDialog, RowDangerButton, ScrollFrame } from '../components.tsx';
import { useFormat } from '../format.ts';
import { usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText } from '../problems.tsx';
import { DeliveriesDialog } from './WebhookDeliveries.tsx';
import { SecretDialog, TestResultDialog, useEventWords, WebhookDialog } from './WebhookDialogs.tsx';

/**
 * Settings → Organization → Webhooks: the org's endpoints, created and edited in a dialog (the
 * secret shown once), tested with the receiver's answer shown, their delivery log with
 * Redeliver, secret rotation and deletion after a confirmation. Every route needs
 * webhooks:manage: without it the page says so (and the navigation does not list it).
 */
export function WebhooksPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const manage = can.has('webhooks:manage');
  return (
    <Stack maw={1100}>
      <Title order={1} size="h3">
        {t('webhooksTitle')}
      </Title>
      <Text>{t('webhooksIntro')}</Text>
      {manage ? <WebhookList orgId={orgId} /> : <Text>{t('webhooksNoPermission')}</Text>}
    </Stack>
  );
}

function WebhookList({ orgId }: { orgId: string }) {
  const { t } = useTranslation();
  const when = useFormat().dateTime;
  const eventWord = useEventWords();
  const client = useQueryClient();
  const [dialog, setDialog] = useState<{ editing: WebhookView | null } | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<WebhookView | null>(null);
  const [rotating, setRotating] = useState<WebhookView | null>(null);
  const [deliveriesOf, setDeliveriesOf] = useState<WebhookView | null>(null);
  const [tested, setTested] = useState<WebhookTestResult | null>(null);
  const list = useQuery({
    queryKey: ['webhooks', orgId],
    queryFn: () => api<Page<WebhookView>>('GET', `/orgs/${orgId}/webhooks?limit=200`),
  });
  const refresh = () => client.invalidateQueries({ queryKey: ['webhooks', orgId] });
  const remove = useMutation({
    mutationFn: (w: WebhookView) => api('DELETE', `/orgs/${orgId}/webhooks/${w.id}`),
    onSuccess: async () => {
      setDeleting(null);
      notify(t('webhookDeleted'));
      await refresh();
    },
  });
  const rotate = useMutation({
    mutationFn: (w: WebhookView) =>
      api<{ secret: string }>('POST', `/orgs/${orgId}/webhooks/${w.id}/rotate-secret`),
    onSuccess: async (res) => {
      setRotating(null);
      setSecret(res.secret);
      await refresh();
    },
  });
  const test = useMutation({
    mutationFn: (w: WebhookView) => api<WebhookTestResult>('POST', `/orgs/${orgId}/webhooks/${w.id}/test`),
    onSuccess: async (res, w) => {
      setTested(res);
      await client.invalidateQueries({ queryKey: ['webhook-deliveries', orgId, w.id] });
    },
  });
  const status = (w: WebhookView) =>
    w.enabled
      ? t('webhookOn')
      : w.disabledReason === 'gone'
        ? t('webhookOffGone')
        : w.disabledReason === 'failing'
          ? t('webhookOffFailing')
          : t('webhookOff');
  const rows = list.data?.items ?? [];
  return (
    <>
      <Group>
        <Button onClick={() => setDialog({ editing: null })}>{t('webhookCreate')}</Button>
      </Group>
      <ErrorText error={list.error} />
      {list.isPending ? (
        <Loader aria-label={t('webhooksTitle')} size="sm" />
      ) : rows.length === 0 ? (
        <Text c="gray.7">{t('webhooksNone')}</Text>
      ) : (
        <ScrollFrame label={t('webhooksTitle')} minWidth={880}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('webhookUrl')}</Table.Th>
                <Table.Th>{t('webhookEvents')}</Table.Th>
                <Table.Th>{t('webhookStatus')}</Table.Th>
                <Table.Th>
                  <VisuallyHidden>{t('actions')}</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((w) => (
                <Table.Tr key={w.id} data-testid={`webhook-${w.id}`}>
                  <Table.Td maw={320}>
                    <Text size="sm" fw={500} style={{ wordBreak: 'break-all' }}>
                      {w.url}
                    </Text>
                    {w.description && (
                      <Text size="xs" c="gray.7">
                        {w.description}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{w.events.map(eventWord).join(', ')}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" fw={600} c={w.enabled ? '#1b5e20' : 'red.9'}>
                      {status(w)}
                    </Text>
                    {w.enabled && w.failingSince && (
                      <Text size="xs" c="red.9">
                        {t('webhookFailingSince', { when: when(w.failingSince) })}
                      </Text>
                    )}
                    {w.previousSecretExpiresAt && (
                      <Text size="xs" c="gray.7">
                        {t('webhookRotatedUntil', { when: when(w.previousSecretExpiresAt) })}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Group gap={4} wrap="nowrap">
                      <Button
                        size="xs"
                        variant="default"
                        aria-label={t('webhookTestLabel', { url: w.url })}
                        loading={test.isPending && test.variables?.id === w.id}
                        onClick={() => test.mutate(w)}
                      >
                        {t('webhookTest')}
                      </Button>
                      <Button
                        size="xs"
                        variant="subtle"
                        aria-label={t('webhookDeliveriesLabel', { url: w.url })}
                        onClick={() => setDeliveriesOf(w)}
                      >
                        {t('webhookDeliveries')}
                      </Button>
                      <Button
                        size="xs"
                        variant="subtle"
                        aria-label={t('webhookEditLabel', { url: w.url })}
                        onClick={() => setDialog({ editing: w })}
                      >
                        {t('webhookEdit')}
                      </Button>
                      <Button
                        size="xs"
                        variant="subtle"
                        aria-label={t('webhookRotateLabel', { url: w.url })}
                        onClick={() => {
                          rotate.reset();
                          setRotating(w);
                        }}
                      >
                        {t('webhookRotate')}
                      </Button>
                      <RowDangerButton
                        label={t('webhookDeleteLabel', { url: w.url })}
                        onClick={() => {
                          remove.reset();
                          setDeleting(w);
                        }}
                      >
                        {t('webhookDelete')}
                      </RowDangerButton>
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollFrame>
      )}
      {dialog && (
        <WebhookDialog
          orgId={orgId}
          editing={dialog.editing}
          onClose={() => setDialog(null)}
          onCreated={(created) => setSecret(created.secret)}
        />
      )}
      <SecretDialog secret={secret} onClose={() => setSecret(null)} />
      <TestResultDialog
        result={tested}
        error={test.error}
        onClose={() => {
          setTested(null);
          test.reset();
        }}
      />
      <DeliveriesDialog orgId={orgId} webhook={deliveriesOf} onClose={() => setDeliveriesOf(null)} />
      <ConfirmDialog
        opened={rotating !== null}
        onCancel={() => setRotating(null)}
        title={t('webhookRotateTitle')}
        message={t('webhookRotateConfirm')}
        confirmLabel={t('webhookRotate')}
        loading={rotate.isPending}
        error={rotate.error}
        onConfirm={() => rotating && rotate.mutate(rotating)}
      />
      <ConfirmDialog
        opened={deleting !== null}
        onCancel={() => setDeleting(null)}
        title={t('webhookDeleteTitle')}
        message={t('webhookDeleteConfirm', { url: deleting?.url ?? '' })}
        confirmLabel={t('webhookDelete')}
        loading={remove.isPending}
        error={remove.error}
        onConfirm={() => deleting && remove.mutate(deleting)}
      />
    </>
  );
}
