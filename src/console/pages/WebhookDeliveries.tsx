import { Button, Code, Loader, Stack, Table, Text, VisuallyHidden } from '@mantine/core';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { Fragment, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { WebhookDeliveryView, WebhookView } from '../../contracts/events.ts';
import { api, type Page } from '../api.ts';
import { Dialog, LoadMore, ScrollFrame } from '../components.tsx';
import { useFormat } from '../format.ts';
import { notify } from '../notify.tsx';
import { ErrorText } from '../problems.tsx';
import { useEventWords } from './WebhookDialogs.tsx';

const STATE_COLOUR = { delivered: '#1b5e20', failed: 'red.9', pending: 'gray.8' } as const;

/** A webhook's delivery log, newest first: one row per attempt, each with Redeliver. */
export function DeliveriesDialog({
  orgId,
  webhook,
  onClose,
}: {
  orgId: string;
  webhook: WebhookView | null;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  return (
    <Dialog
      opened={webhook !== null}
      onClose={onClose}
      title={t('webhookDeliveriesTitle', { url: webhook?.url ?? '' })}
      size="90rem"
    >
      {webhook && <Deliveries orgId={orgId} webhook={webhook} />}
    </Dialog>
  );
}

function Deliveries({ orgId, webhook }: { orgId: string; webhook: WebhookView }) {
  const { t } = useTranslation();
  const when = useFormat().dateTime;
  const eventWord = useEventWords();
  const client = useQueryClient();
  const [open, setOpen] = useState<string | null>(null);
  const key = ['webhook-deliveries', orgId, webhook.id];
  const list = useInfiniteQuery({
    queryKey: key,
    queryFn: ({ pageParam }) =>
      api<Page<WebhookDeliveryView>>(
        'GET',
        `/orgs/${orgId}/webhooks/${webhook.id}/deliveries?limit=50${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ''}`,
      ),
    initialPageParam: '',
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    // Pending attempts turn into answers on their own: the log is read again while one waits.
    refetchInterval: (query) =>
      query.state.data?.pages.some((p) => p.items.some((d) => d.state === 'pending')) ? 2000 : false,
  });
  const redeliver = useMutation({
    mutationFn: (d: WebhookDeliveryView) =>
      api<WebhookDeliveryView>('POST', `/orgs/${orgId}/webhooks/${webhook.id}/deliveries/${d.id}/redeliver`),
    onSuccess: async () => {
      notify(t('webhookRedelivered'));
      await client.invalidateQueries({ queryKey: key });
    },
  });
  const rows = list.data?.pages.flatMap((p) => p.items) ?? [];
  const stateWord = (s: WebhookDeliveryView['state']) =>
    t(
      s === 'delivered'
        ? 'webhookStateDelivered'
        : s === 'failed'
          ? 'webhookStateFailed'
          : 'webhookStatePending',
    );
  if (list.isPending) return <Loader size="sm" aria-label={t('webhookDeliveries')} />;
  return (
    <Stack>
      <ErrorText error={list.error ?? redeliver.error} />
      {rows.length === 0 ? (
        <Text c="gray.7">{t('webhookDeliveriesNone')}</Text>
      ) : (
        <ScrollFrame label={t('webhookDeliveries')} minWidth={860}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('webhookWhen')}</Table.Th>
                <Table.Th>{t('webhookEvent')}</Table.Th>
                <Table.Th>{t('webhookAttempt')}</Table.Th>
                <Table.Th>{t('webhookState')}</Table.Th>
                <Table.Th>{t('webhookResponse')}</Table.Th>
                <Table.Th>{t('webhookDuration')}</Table.Th>
                <Table.Th>
                  <VisuallyHidden>{t('actions')}</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((d) => (
                <Fragment key={d.id}>
                  <Table.Tr data-testid={`delivery-${d.id}`}>
                    <Table.Td>{when(d.at)}</Table.Td>
                    <Table.Td>
                      <Text size="sm">{eventWord(d.type)}</Text>
                      <Text size="xs" c="gray.7" ff="monospace">
                        {d.eventId}
                      </Text>
                    </Table.Td>
                    <Table.Td>{d.attempt}</Table.Td>
                    <Table.Td>
                      <Text size="sm" fw={600} c={STATE_COLOUR[d.state]}>
                        {stateWord(d.state)}
                      </Text>
                      {d.nextAttemptAt && (
                        <Text size="xs" c="gray.7">
                          {t('webhookNextAttempt', { when: when(d.nextAttemptAt) })}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{d.responseStatus ?? d.error ?? ''}</Text>
                      {d.responseStatus !== null && d.error && (
                        <Text size="xs" c="gray.7">
                          {d.error}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      {d.durationMs === null ? '' : t('webhookDurationMs', { ms: d.durationMs })}
                    </Table.Td>
                    <Table.Td>
                      <Stack gap={4} align="flex-start">
                        {d.responseBody && (
                          <Button
                            size="xs"
                            variant="default"
                            aria-expanded={open === d.id}
                            onClick={() => setOpen(open === d.id ? null : d.id)}
                          >
                            {t('webhookShowBody')}
                          </Button>
                        )}
                        {d.state !== 'pending' && (
                          <Button
                            size="xs"
                            variant="default"
                            aria-label={t('webhookRedeliverLabel', { event: d.type, attempt: d.attempt })}
                            loading={redeliver.isPending && redeliver.variables?.id === d.id}
                            onClick={() => redeliver.mutate(d)}
                          >
                            {t('webhookRedeliver')}
                          </Button>
                        )}
                      </Stack>
                    </Table.Td>
                  </Table.Tr>
                  {open === d.id && d.responseBody && (
                    <Table.Tr>
                      <Table.Td colSpan={7}>
                        <Code block>{d.responseBody}</Code>
                      </Table.Td>
                    </Table.Tr>
                  )}
                </Fragment>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollFrame>
      )}
      <LoadMore list={list} />
    </Stack>
  );
}
