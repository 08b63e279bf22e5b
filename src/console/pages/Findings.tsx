import {
  Anchor,
  Badge,
  Button,
  Checkbox,
  Group,
  NativeSelect,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams, useSearchParams } from 'react-router';
import {
  FINDING_SEVERITIES,
  FINDING_STATUSES,
  type FindingSeverity,
  type FindingView,
} from '../../contracts/findings.ts';
import type { Page } from '../../contracts/wire.ts';
import { api } from '../api.ts';
import { PageLoader, ScrollFrame } from '../components.tsx';
import { useFormat } from '../format.ts';
import { ErrorText } from '../problems.tsx';
import { membersQuery } from '../queries.ts';

// Dark enough for white text at 4.5:1 and more, in light and dark schemes alike.
const SEVERITY_COLOR: Record<FindingSeverity, string> = {
  critical: '#b91c1c',
  high: '#9a3412',
  medium: '#854d0e',
  low: '#4b5563',
};

/** A severity as a badge; the color repeats what the word says. */
export function SeverityBadge({ severity }: { severity: FindingSeverity }) {
  const { t } = useTranslation();
  return (
    <Badge color={SEVERITY_COLOR[severity]} c="white" variant="filled">
      {t(`severity_${severity}`)}
    </Badge>
  );
}

/** The filters the URL holds, so a link reproduces the view. */
const FILTER_KEYS = ['severity', 'status', 'applicationId', 'assigneeId', 'q'] as const;

/** The org's members (first 200) and applications, for the filters' and the detail's pickers. */
export function usePickers(orgId: string) {
  const members = useInfiniteQuery(membersQuery(orgId, new URLSearchParams({ limit: '200' })));
  const applications = useQuery({
    queryKey: ['applications', orgId],
    queryFn: () => api<Page<{ id: string; name: string }>>('GET', `/orgs/${orgId}/applications?limit=200`),
    retry: false,
  });
  return {
    members: (members.data?.pages ?? []).flatMap((p) => p.items).filter((m) => m.status !== 'removed'),
    applications: applications.data?.items ?? [],
  };
}

/** Findings: the org's findings, filtered and searched, a page at a time. */
export function FindingsPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const when = useFormat().dateTime;
  const [params, setParams] = useSearchParams();
  const { members, applications } = usePickers(orgId);
  const listed = (key: string) => (params.get(key) ?? '').split(',').filter(Boolean);
  const [search, setSearch] = useState(params.get('q') ?? '');
  // The boxes answer the click at once; the address (which the list follows) catches up.
  const [severities, setSeverities] = useState(listed('severity'));
  const [statuses, setStatuses] = useState(listed('status'));
  // biome-ignore lint/correctness/useExhaustiveDependencies: follows the address only
  useEffect(() => {
    setSearch(params.get('q') ?? '');
    setSeverities(listed('severity'));
    setStatuses(listed('status'));
  }, [params]);

  const query = new URLSearchParams({ limit: '50' });
  for (const key of FILTER_KEYS) {
    const value = params.get(key);
    if (value) query.set(key, value);
  }
  const list = useInfiniteQuery({
    queryKey: ['findings', orgId, query.toString()],
    queryFn: ({ pageParam }) =>
      api<Page<FindingView>>(
        'GET',
        `/orgs/${orgId}/findings?${query}${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ''}`,
      ),
    initialPageParam: '',
    getNextPageParam: (last: Page<FindingView>) => last.nextCursor ?? undefined,
  });
  const rows = (list.data?.pages ?? []).flatMap((p) => p.items);

  const setFilter = (key: (typeof FILTER_KEYS)[number], value: string | null) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };
  const onSearch = (e: FormEvent) => {
    e.preventDefault();
    setFilter('q', search.trim() || null);
  };
  const appName = (id: string) => applications.find((a) => a.id === id)?.name ?? id.slice(0, 8);
  const memberName = (id: string | null) =>
    id ? (members.find((m) => m.userId === id)?.name ?? id.slice(0, 8)) : '—';

  return (
    <Stack maw={1200}>
      <Title order={1} size="h3">
        {t('findingsTitle')}
      </Title>
      <Stack component="section" aria-label={t('findingsFilters')} gap="sm">
        <Group align="flex-start" gap="xl">
          <Checkbox.Group
            label={t('findingsSeverity')}
            value={severities}
            onChange={(v) => {
              setSeverities(v);
              setFilter('severity', v.join(','));
            }}
          >
            <Group gap="sm" mt={4}>
              {FINDING_SEVERITIES.map((s) => (
                <Checkbox key={s} value={s} label={t(`severity_${s}`)} />
              ))}
            </Group>
          </Checkbox.Group>
          <Checkbox.Group
            label={t('findingsStatus')}
            value={statuses}
            onChange={(v) => {
              setStatuses(v);
              setFilter('status', v.join(','));
            }}
          >
            <Group gap="sm" mt={4}>
              {FINDING_STATUSES.map((s) => (
                <Checkbox key={s} value={s} label={t(`findingStatus_${s}`)} />
              ))}
            </Group>
          </Checkbox.Group>
        </Group>
        <Group align="flex-end">
          <NativeSelect
            label={t('findingsApplication')}
            data={[
              { value: '', label: t('findingsAnyApplication') },
              ...applications.map((a) => ({ value: a.id, label: a.name })),
            ]}
            value={params.get('applicationId') ?? ''}
            onChange={(e) => setFilter('applicationId', e.currentTarget.value)}
          />
          <NativeSelect
            label={t('findingsAssignee')}
            data={[
              { value: '', label: t('findingsAnyone') },
              { value: 'none', label: t('findingsUnassigned') },
              ...members.map((m) => ({ value: m.userId, label: `${m.name} <${m.email}>` })),
            ]}
            value={params.get('assigneeId') ?? ''}
            onChange={(e) => setFilter('assigneeId', e.currentTarget.value)}
          />
          <form onSubmit={onSearch}>
            <Group align="flex-end" gap="xs">
              <TextInput
                label={t('findingsSearch')}
                value={search}
                onChange={(e) => setSearch(e.currentTarget.value)}
                maxLength={200}
                type="search"
              />
              <Button type="submit" variant="default">
                {t('findingsSearchButton')}
              </Button>
            </Group>
          </form>
          {FILTER_KEYS.some((k) => params.get(k)) && (
            <Button variant="subtle" onClick={() => setParams(new URLSearchParams(), { replace: true })}>
              {t('findingsClear')}
            </Button>
          )}
        </Group>
      </Stack>
      <ErrorText error={list.error} />
      {list.isPending ? (
        <PageLoader />
      ) : rows.length === 0 ? (
        <Text>{t('findingsNone')}</Text>
      ) : (
        <ScrollFrame label={t('findingsList')} minWidth={900}>
          <Table striped highlightOnHover data-testid="findings-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('findingsSeverity')}</Table.Th>
                <Table.Th>{t('findingsTitleColumn')}</Table.Th>
                <Table.Th>{t('findingsLocation')}</Table.Th>
                <Table.Th>{t('findingsApplication')}</Table.Th>
                <Table.Th>{t('findingsStatus')}</Table.Th>
                <Table.Th>{t('findingsAssignee')}</Table.Th>
                <Table.Th>{t('findingsLastSeen')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((f) => (
                <Table.Tr key={f.id} data-testid={`finding-${f.id}`}>
                  <Table.Td>
                    <SeverityBadge severity={f.severity} />
                  </Table.Td>
                  <Table.Td>
                    <Anchor component={Link} to={`/orgs/${orgId}/settings/findings/${f.id}`}>
                      {f.title}
                    </Anchor>
                    <Text size="xs" c="dimmed">
                      {f.ruleId}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" ff="monospace">
                      {f.location?.path ?? '—'}
                      {f.location?.startLine ? `:${f.location.startLine}` : ''}
                    </Text>
                  </Table.Td>
                  <Table.Td>{appName(f.applicationId)}</Table.Td>
                  <Table.Td>{t(`findingStatus_${f.status}`)}</Table.Td>
                  <Table.Td>{memberName(f.assigneeId)}</Table.Td>
                  <Table.Td>{when(f.lastSeenAt)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollFrame>
      )}
      <Group>
        {rows.length > 0 && (
          <Text size="sm" c="dimmed" role="status">
            {t('findingsShown', { count: rows.length })}
          </Text>
        )}
        {list.hasNextPage && (
          <Button variant="default" onClick={() => list.fetchNextPage()} loading={list.isFetchingNextPage}>
            {t('findingsLoadMore')}
          </Button>
        )}
      </Group>
    </Stack>
  );
}
