import { Button, Group, Select, Stack, Text, TextInput, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams, useSearchParams } from 'react-router';
import { api, type Page } from '../api.ts';
import { type AuditEvent, useAuditWords } from '../audit-words.ts';
import { usePermissions } from '../hooks.ts';
import { ErrorText } from '../problems.tsx';
import { membersQuery, orgQuery } from '../queries.ts';
import { AuditEntriesTable, AuditEntryDialog } from './AuditEntry.tsx';

interface Verification {
  ok: boolean;
  checked: number;
  headSeq: number;
  firstBadSeq?: number;
  reason?: string;
}

// What the server accepts (an action, or all of a resource's), checked before asking it.
const ACTION = /^[a-z][a-z_]*\.([a-z][a-z_]*|\*)$/;
const ID = /^[A-Za-z0-9_.:@-]{1,200}$/;

/** A `datetime-local` value (the browser's time zone) as an ISO instant, or null when empty or invalid. */
function instant(local: string): string | null {
  if (!local) return null;
  const at = new Date(local);
  return Number.isNaN(at.getTime()) ? null : at.toISOString();
}

/**
 * Settings → Organization → Audit Log: the org's hash-chained log, filtered by action, actor,
 * target and time (kept in the address, so a filtered view can be shared), paged, exported and
 * verified. Entries read in words (who, what, about whom, the change); clicking an actor or a
 * target filters by it; an entry's number opens all of it. Export is offered only as far as the
 * reader's role and the org's plan allow, and says why when it is not.
 */
export function AuditLogPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const [search, setSearch] = useSearchParams();
  const [shown, setShown] = useState<AuditEvent | null>(null);
  const words = useAuditWords(orgId, can.has('members:read'));
  // The plan's entitlements come with the org profile, readable with settings:read; a reader
  // without it gets the buttons and the server alone decides.
  const readsPlan = can.has('settings:read');
  const org = useQuery({ ...orgQuery(orgId), enabled: readsPlan });
  const exportReasonId = useId();
  const field = (name: string) => search.get(name) ?? '';
  const setField = (name: string, value: string) =>
    setSearch(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (value) next.set(name, value);
        else next.delete(name);
        return next;
      },
      { replace: true },
    );

  // Typed filters apply once typing pauses, and only when the server would accept them.
  const [action] = useDebouncedValue(field('action').trim(), 300);
  const [target] = useDebouncedValue(field('targetId').trim(), 300);
  const actorId = field('actorId');
  // The actor is picked by name or email from the members (or set by clicking an entry's actor).
  const [actorSearch, setActorSearch] = useState('');
  const [actorQ] = useDebouncedValue(actorSearch.trim(), 250);
  const people = useInfiniteQuery({
    ...membersQuery(orgId, new URLSearchParams({ limit: '20', ...(actorQ ? { q: actorQ } : {}) })),
    enabled: can.has('members:read'),
    select: (data) => data.pages.flatMap((p) => p.items),
  });
  const actorOptions = (people.data ?? []).map((m) => ({ value: m.userId, label: `${m.name} <${m.email}>` }));
  if (actorId && !actorOptions.some((o) => o.value === actorId))
    actorOptions.unshift({ value: actorId, label: actorId });
  const from = instant(field('from'));
  const to = instant(field('to'));
  const actionBad = action !== '' && !ACTION.test(action);
  const targetBad = target !== '' && !ID.test(target);
  const rangeBad = from !== null && to !== null && from >= to;
  const range = { ...(from ? { from } : {}), ...(to ? { to } : {}) };
  const params = new URLSearchParams({
    limit: '50',
    ...(action && !actionBad ? { action } : {}),
    ...(actorId && ID.test(actorId) ? { actorId } : {}),
    ...(target && !targetBad ? { targetId: target } : {}),
    ...(rangeBad ? {} : range),
  });
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
  const exportUrl = (format: string) =>
    `/api/v1/orgs/${orgId}/audit-events/export?${new URLSearchParams({ format, ...(rangeBad ? {} : range) })}`;
  // Export needs the permission and a plan that includes it; either missing is said, not hidden.
  const exportBlocked = !can.has('audit:export')
    ? t('auditExportNoPermission')
    : org.data && org.data.entitlements.auditExport !== true
      ? t('auditExportPlan', { plan: org.data.entitlements.name })
      : null;
  const filtered = ['action', 'actorId', 'targetId', 'from', 'to'].some((name) => search.has(name));

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
      <Group align="flex-start" role="search" aria-label={t('auditFilters')}>
        <TextInput
          label={t('action')}
          placeholder={t('actionFilter')}
          value={field('action')}
          onChange={(e) => setField('action', e.currentTarget.value)}
          error={actionBad ? t('auditActionHelp') : undefined}
        />
        <Select
          label={t('actor')}
          placeholder={t('auditAnyActor')}
          searchable
          clearable
          value={actorId || null}
          data={actorOptions}
          searchValue={actorSearch}
          onSearchChange={setActorSearch}
          onChange={(v) => setField('actorId', v ?? '')}
          nothingFoundMessage={t('noItems')}
        />
        <TextInput
          label={t('target')}
          placeholder={t('auditAnyTarget')}
          value={field('targetId')}
          onChange={(e) => setField('targetId', e.currentTarget.value)}
          error={targetBad ? t('auditIdHelp') : undefined}
        />
        <TextInput
          type="datetime-local"
          label={t('auditFrom')}
          value={field('from')}
          onChange={(e) => setField('from', e.currentTarget.value)}
        />
        <TextInput
          type="datetime-local"
          label={t('auditTo')}
          value={field('to')}
          onChange={(e) => setField('to', e.currentTarget.value)}
          error={rangeBad ? t('auditRangeHelp') : undefined}
        />
        {filtered && (
          <Button
            variant="default"
            mt={24}
            onClick={() => setSearch(new URLSearchParams(), { replace: true })}
          >
            {t('auditClear')}
          </Button>
        )}
      </Group>
      <Group gap="xs">
        {['csv', 'json', 'jsonl', 'ocsf'].map((format) =>
          exportBlocked || (readsPlan && !org.data) ? (
            <Button key={format} variant="default" disabled aria-describedby={exportReasonId}>
              {t('export')} {format.toUpperCase()}
            </Button>
          ) : (
            <Button key={format} component="a" href={exportUrl(format)} variant="default" download>
              {t('export')} {format.toUpperCase()}
            </Button>
          ),
        )}
        {exportBlocked && (
          <Text size="sm" id={exportReasonId} data-testid="audit-export-reason">
            {exportBlocked}
          </Text>
        )}
        {!exportBlocked && (from || to) && !rangeBad && <Text size="sm">{t('auditExportRange')}</Text>}
      </Group>
      <ErrorText error={events.error ?? verify.error ?? org.error} />
      <AuditEntriesTable
        label={t('auditLog')}
        entries={rows}
        words={words}
        onShow={setShown}
        filterBy={setField}
      />
      {rows.length === 0 && events.isSuccess && <Text c="gray.7">{t('noItems')}</Text>}
      {events.hasNextPage && (
        <Button variant="default" onClick={() => events.fetchNextPage()} loading={events.isFetchingNextPage}>
          {t('loadMore')}
        </Button>
      )}
      <AuditEntryDialog entry={shown} words={words} onClose={() => setShown(null)} />
    </Stack>
  );
}
