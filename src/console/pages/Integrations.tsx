import { Button, Group, Stack, Table, Text, Title, VisuallyHidden } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import type {
  ConnectionTestResult,
  IntegrationStatus,
  IntegrationView,
} from '../../contracts/integrations.ts';
import { api, type Page } from '../api.ts';
import { ConfirmDialog, Dialog, PageLoader, RowDangerButton, ScrollFrame } from '../components.tsx';
import { useFormat } from '../format.ts';
import { usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText } from '../problems.tsx';
import { TestOutcome } from './ConnectionTest.tsx';
import { IntegrationDialog, providerName } from './IntegrationDialog.tsx';

/** Dark enough to read on the page (WCAG AA). */
const STATUS_COLORS: Record<IntegrationStatus, string> = {
  untested: 'gray.7',
  connected: '#1b5e20',
  failing: 'red.9',
};

/**
 * Settings → Integrations: the organization's connections to SCM, ticketing, registries, clouds
 * and chat, with their status and last test; added and edited in a dialog (the secret write-only),
 * tested (the outcome shown in words), disconnected after a confirmation. Reading needs
 * integrations:read (the navigation offers the page only then), changing integrations:manage.
 */
export function IntegrationsPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  return (
    <Stack maw={1100}>
      <Title order={1} size="h3">
        {t('integrationsTitle')}
      </Title>
      <Text>{t('integrationsIntro')}</Text>
      {can.has('integrations:read') ? (
        <IntegrationList orgId={orgId} canManage={can.has('integrations:manage')} />
      ) : (
        <Text>{t('integrationsNoPermission')}</Text>
      )}
    </Stack>
  );
}

function IntegrationList({ orgId, canManage }: { orgId: string; canManage: boolean }) {
  const { t } = useTranslation();
  const when = useFormat().dateTime;
  const client = useQueryClient();
  const [dialog, setDialog] = useState<{ editing: IntegrationView | null } | null>(null);
  const [disconnecting, setDisconnecting] = useState<IntegrationView | null>(null);
  const [tested, setTested] = useState<{ integration: IntegrationView; result: ConnectionTestResult } | null>(
    null,
  );
  const list = useQuery({
    queryKey: ['integrations', orgId],
    queryFn: () => api<Page<IntegrationView>>('GET', `/orgs/${orgId}/integrations?limit=200`),
  });
  const refresh = () => client.invalidateQueries({ queryKey: ['integrations', orgId] });
  const test = useMutation({
    mutationFn: (i: IntegrationView) =>
      api<ConnectionTestResult>('POST', `/orgs/${orgId}/integrations/${i.id}/test`),
    onSuccess: async (result, integration) => {
      setTested({ integration, result });
      await refresh();
    },
  });
  const disconnect = useMutation({
    mutationFn: (i: IntegrationView) => api('DELETE', `/orgs/${orgId}/integrations/${i.id}`),
    onSuccess: async () => {
      setDisconnecting(null);
      notify(t('integrationDisconnected'));
      await refresh();
    },
  });
  const rows = list.data?.items ?? [];
  return (
    <>
      {canManage ? (
        <Group>
          <Button onClick={() => setDialog({ editing: null })}>{t('integrationAdd')}</Button>
        </Group>
      ) : (
        <Text>{t('integrationsReadOnly')}</Text>
      )}
      <ErrorText error={list.error ?? test.error} />
      {list.isPending ? (
        <PageLoader label={t('integrationsLoading')} />
      ) : rows.length === 0 ? (
        <Text c="gray.7">{t('integrationsNone')}</Text>
      ) : (
        <ScrollFrame label={t('integrationsTitle')} minWidth={860}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('integrationName')}</Table.Th>
                <Table.Th>{t('integrationKind')}</Table.Th>
                <Table.Th>{t('integrationStatus')}</Table.Th>
                <Table.Th>{t('integrationLastCheck')}</Table.Th>
                {canManage && (
                  <Table.Th>
                    <VisuallyHidden>{t('actions')}</VisuallyHidden>
                  </Table.Th>
                )}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((i) => (
                <Table.Tr key={i.id} data-testid={`integration-${i.id}`}>
                  <Table.Td maw={300}>
                    <Text size="sm" fw={500}>
                      {i.name}
                    </Text>
                    <Text size="xs" c="gray.7" style={{ wordBreak: 'break-all' }}>
                      {providerName(t, i.provider)} · {i.config.baseUrl}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{t(`integrationKind_${i.kind}`)}</Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" fw={600} c={STATUS_COLORS[i.status]}>
                      {t(`integrationStatus_${i.status}`)}
                    </Text>
                  </Table.Td>
                  <Table.Td maw={320}>
                    {i.lastTest ? (
                      <>
                        <Text size="sm">{when(i.lastCheckedAt)}</Text>
                        {!i.lastTest.ok && (
                          <Text size="xs" c="red.9">
                            {t(`connTest_${i.lastTest.code}`, {
                              status: i.lastTest.status ?? '',
                              ms: i.lastTest.latencyMs,
                              model: '',
                            })}
                          </Text>
                        )}
                      </>
                    ) : (
                      <Text size="sm" c="gray.7">
                        {t('integrationNeverChecked')}
                      </Text>
                    )}
                  </Table.Td>
                  {canManage && (
                    <Table.Td>
                      <Group gap={4} wrap="nowrap">
                        <Button
                          size="xs"
                          variant="default"
                          aria-label={t('integrationTestLabel', { name: i.name })}
                          loading={test.isPending && test.variables?.id === i.id}
                          onClick={() => test.mutate(i)}
                        >
                          {t('integrationTest')}
                        </Button>
                        <Button
                          size="xs"
                          variant="subtle"
                          aria-label={t('integrationEditLabel', { name: i.name })}
                          onClick={() => setDialog({ editing: i })}
                        >
                          {t('integrationEdit')}
                        </Button>
                        <RowDangerButton
                          label={t('integrationDisconnectLabel', { name: i.name })}
                          onClick={() => {
                            disconnect.reset();
                            setDisconnecting(i);
                          }}
                        >
                          {t('integrationDisconnect')}
                        </RowDangerButton>
                      </Group>
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollFrame>
      )}
      {dialog && <IntegrationDialog orgId={orgId} editing={dialog.editing} onClose={() => setDialog(null)} />}
      <Dialog
        opened={tested !== null}
        onClose={() => setTested(null)}
        title={t('integrationTestTitle', { name: tested?.integration.name ?? '' })}
      >
        <Stack>
          {tested && <TestOutcome result={tested.result} />}
          <Group justify="flex-end">
            <Button onClick={() => setTested(null)}>{t('close')}</Button>
          </Group>
        </Stack>
      </Dialog>
      <ConfirmDialog
        opened={disconnecting !== null}
        onCancel={() => setDisconnecting(null)}
        title={t('integrationDisconnectTitle', { name: disconnecting?.name ?? '' })}
        message={t('integrationDisconnectConfirm')}
        confirmLabel={t('integrationDisconnect')}
        loading={disconnect.isPending}
        error={disconnect.error}
        onConfirm={() => disconnecting && disconnect.mutate(disconnecting)}
      />
    </>
  );
}
