import { Button, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import { ErrorText, usePermissions } from '../App.tsx';
import { api, type Page } from '../api.ts';

interface AuditEvent {
  id: string;
  seq: number;
  occurredAt: string;
  actor: { type: string; id: string | null; email: string | null; tokenId?: string };
  action: string;
  target: { type: string; id: string };
  ip: string | null;
}

interface Verification {
  ok: boolean;
  checked: number;
  headSeq: number;
  firstBadSeq?: number;
  reason?: string;
}

const actorText = (a: AuditEvent['actor']) =>
  a.email ? `${a.email}${a.tokenId ? ' (token)' : ''}` : a.id ? `${a.type} ${a.id.slice(0, 8)}` : a.type;

/** Settings → Organization → Audit Log: the org's hash-chained log, filtered, paged, exported, verified. */
export function AuditLogPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const [action, setAction] = useState('');
  const params = new URLSearchParams({ limit: '50', ...(action.trim() ? { action: action.trim() } : {}) });
  const events = useInfiniteQuery({
    queryKey: ['audit', orgId, params.toString()],
    queryFn: ({ pageParam }) =>
      api<Page<AuditEvent>>(
        'GET',
        `/orgs/${orgId}/audit-events?${params}${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ''}`,
      ),
    initialPageParam: '',
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const verify = useQuery({
    queryKey: ['audit-verify', orgId],
    queryFn: () => api<Verification>('GET', `/orgs/${orgId}/audit-events/verify`),
  });
  const rows = events.data?.pages.flatMap((p) => p.items) ?? [];
  const exportUrl = (format: string) => `/api/v1/orgs/${orgId}/audit-events/export?format=${format}`;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} size="h3">
          {t('auditLog')}
        </Title>
        {verify.data && (
          // Plain text in AA-contrast colours: a filled badge's white on green is too faint.
          <Text fw={700} c={verify.data.ok ? '#1b5e20' : 'red.9'} data-testid="audit-integrity">
            {verify.data.ok
              ? `✓ ${t('verified', { count: verify.data.checked })}`
              : `✗ ${t('tampered', { seq: verify.data.firstBadSeq ?? '?' })}`}
          </Text>
        )}
      </Group>
      <Group>
        <TextInput
          aria-label={t('actionFilter')}
          placeholder={t('actionFilter')}
          value={action}
          onChange={(e) => setAction(e.currentTarget.value)}
        />
        {can.has('audit:export') &&
          ['csv', 'json', 'jsonl'].map((format) => (
            <Button key={format} component="a" href={exportUrl(format)} variant="default" download>
              {t('export')} {format.toUpperCase()}
            </Button>
          ))}
      </Group>
      <ErrorText error={events.error ?? verify.error} />
      <Table striped>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>#</Table.Th>
            <Table.Th>{t('time')}</Table.Th>
            <Table.Th>{t('actor')}</Table.Th>
            <Table.Th>{t('action')}</Table.Th>
            <Table.Th>{t('target')}</Table.Th>
            <Table.Th>IP</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((e) => (
            <Table.Tr key={e.id}>
              <Table.Td>{e.seq}</Table.Td>
              <Table.Td>{new Date(e.occurredAt).toLocaleString()}</Table.Td>
              <Table.Td>{actorText(e.actor)}</Table.Td>
              <Table.Td>{e.action}</Table.Td>
              <Table.Td>
                {e.target.type} {e.target.id.slice(0, 8)}
              </Table.Td>
              <Table.Td>{e.ip}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {events.hasNextPage && (
        <Button variant="default" onClick={() => events.fetchNextPage()} loading={events.isFetchingNextPage}>
          {t('loadMore')}
        </Button>
      )}
    </Stack>
  );
}
