import {
  Anchor,
  Badge,
  Button,
  Code,
  Group,
  NativeSelect,
  Stack,
  Table,
  Text,
  Textarea,
  Title,
} from '@mantine/core';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import {
  type CommentView,
  FINDING_STATUSES,
  type FindingDetailView,
  type FindingStatus,
} from '../../contracts/findings.ts';
import type { Page } from '../../contracts/wire.ts';
import { ApiError, api, apiWithEtag } from '../api.ts';
import { PageLoader, Section } from '../components.tsx';
import { useFormat } from '../format.ts';
import { usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText } from '../problems.tsx';
import { SeverityBadge, usePickers } from './Findings.tsx';

/** One finding: what it is, its triage, its comments and its remediations. */
export function FindingDetailPage() {
  const { t } = useTranslation();
  const { orgId = '', findingId = '' } = useParams();
  const when = useFormat().dateTime;
  const can = usePermissions(orgId);
  const detail = useQuery({
    queryKey: ['finding', orgId, findingId],
    queryFn: () => apiWithEtag<FindingDetailView>(`/orgs/${orgId}/findings/${findingId}`),
  });
  if (detail.isPending) return <PageLoader />;
  if (!detail.data) return <ErrorText error={detail.error} />;
  const f = detail.data.data;
  const facts: Array<[string, string]> = [
    [t('findingsRule'), f.ruleId],
    [t('findingTool'), f.tool ?? '—'],
    [
      t('findingsLocation'),
      f.location?.path ? `${f.location.path}${f.location.startLine ? `:${f.location.startLine}` : ''}` : '—',
    ],
    [t('findingsApplication'), f.application.name],
    [t('findingsFirstSeen'), when(f.firstSeenAt)],
    [t('findingsLastSeen'), when(f.lastSeenAt)],
    [t('findingsOccurrences'), String(f.occurrences)],
  ];
  return (
    <Stack maw={960}>
      <Anchor component={Link} to={`/orgs/${orgId}/settings/findings`}>
        ← {t('findingBack')}
      </Anchor>
      <Group gap="sm">
        <SeverityBadge severity={f.severity} />
        <Badge variant="outline" color="dark" data-testid="finding-status">
          {t(`findingStatus_${f.status}`)}
        </Badge>
      </Group>
      <Title order={1} size="h3">
        {f.title}
      </Title>
      {f.message && <Text>{f.message}</Text>}
      <Section title={t('findingDetails')}>
        <Table withRowBorders={false} layout="fixed" maw={640}>
          <Table.Tbody>
            {facts.map(([label, value]) => (
              <Table.Tr key={label}>
                <Table.Th scope="row" w={180}>
                  {label}
                </Table.Th>
                <Table.Td style={{ overflowWrap: 'anywhere' }}>{value}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Section>
      <Triage
        orgId={orgId}
        finding={f}
        etag={detail.data.etag}
        canUpdate={can.has('findings:update')}
        canDismiss={can.has('findings:mark_false_positive')}
      />
      <Section title={t('findingScans')}>
        {f.scans.length === 0 ? (
          <Text c="dimmed">{t('findingNoScans')}</Text>
        ) : (
          <Stack gap={4}>
            {f.scans.map((s) => (
              <Text key={s.id} size="sm">
                {when(s.createdAt)} · {s.modules.join(', ')} · {s.status}
              </Text>
            ))}
          </Stack>
        )}
      </Section>
      <Comments orgId={orgId} findingId={f.id} canComment={can.has('findings:update')} />
      <Remediations
        orgId={orgId}
        finding={f}
        canPropose={can.has('remediations:create')}
        canApprove={can.has('remediations:approve')}
      />
    </Stack>
  );
}

function Triage({
  orgId,
  finding,
  etag,
  canUpdate,
  canDismiss,
}: {
  orgId: string;
  finding: FindingDetailView;
  etag: string | null;
  canUpdate: boolean;
  canDismiss: boolean;
}) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const { members } = usePickers(orgId);
  const [status, setStatus] = useState<FindingStatus>(finding.status);
  const [assignee, setAssignee] = useState<string>(finding.assigneeId ?? '');
  useEffect(() => {
    setStatus(finding.status);
    setAssignee(finding.assigneeId ?? '');
  }, [finding.status, finding.assigneeId]);
  const save = useMutation({
    mutationFn: () =>
      api(
        'PATCH',
        `/orgs/${orgId}/findings/${finding.id}`,
        { status, assigneeId: assignee || null },
        etag ? { 'if-match': etag } : {},
      ),
    onSuccess: async () => {
      notify(t('findingSaved'));
      await client.invalidateQueries({ queryKey: ['finding', orgId, finding.id] });
      await client.invalidateQueries({ queryKey: ['findings', orgId] });
    },
    onError: async (err) => {
      if (err instanceof ApiError && err.status === 412) {
        await client.invalidateQueries({ queryKey: ['finding', orgId, finding.id] });
      }
    },
  });
  // False positive is offered only to those who may mark one (and shown when it is the status).
  const statuses = FINDING_STATUSES.filter(
    (s) => s !== 'false_positive' || canDismiss || finding.status === 'false_positive',
  );
  const stale = save.error instanceof ApiError && save.error.status === 412;
  const assigneeOptions = [
    { value: '', label: t('findingsUnassigned') },
    ...members.map((m) => ({ value: m.userId, label: `${m.name} <${m.email}>` })),
  ];
  if (finding.assignee && !members.some((m) => m.userId === finding.assignee?.id)) {
    assigneeOptions.push({ value: finding.assignee.id, label: finding.assignee.name });
  }
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <Section title={t('findingTriage')}>
      {!canUpdate && <Text c="dimmed">{t('findingReadOnly')}</Text>}
      <form onSubmit={onSubmit}>
        <Group align="flex-end">
          <NativeSelect
            label={t('findingsStatus')}
            data={statuses.map((s) => ({ value: s, label: t(`findingStatus_${s}`) }))}
            value={status}
            onChange={(e) => setStatus(e.currentTarget.value as FindingStatus)}
            disabled={!canUpdate}
          />
          <NativeSelect
            label={t('findingsAssignee')}
            data={assigneeOptions}
            value={assignee}
            onChange={(e) => setAssignee(e.currentTarget.value)}
            disabled={!canUpdate}
          />
          {canUpdate && (
            <Button
              type="submit"
              loading={save.isPending}
              disabled={status === finding.status && (assignee || null) === finding.assigneeId}
            >
              {t('findingSave')}
            </Button>
          )}
        </Group>
      </form>
      {canUpdate && !canDismiss && (
        <Text size="sm" c="dimmed">
          {t('findingNoFalsePositive')}
        </Text>
      )}
      {stale ? (
        <Text role="alert" c="red.8">
          {t('findingStale')}
        </Text>
      ) : (
        <ErrorText error={save.error} />
      )}
    </Section>
  );
}

function Comments({
  orgId,
  findingId,
  canComment,
}: {
  orgId: string;
  findingId: string;
  canComment: boolean;
}) {
  const { t } = useTranslation();
  const when = useFormat().dateTime;
  const client = useQueryClient();
  const [body, setBody] = useState('');
  const key = ['finding-comments', orgId, findingId];
  const list = useInfiniteQuery({
    queryKey: key,
    queryFn: ({ pageParam }) =>
      api<Page<CommentView>>(
        'GET',
        `/orgs/${orgId}/findings/${findingId}/comments?limit=50${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ''}`,
      ),
    initialPageParam: '',
    getNextPageParam: (last: Page<CommentView>) => last.nextCursor ?? undefined,
  });
  const add = useMutation({
    mutationFn: () => api('POST', `/orgs/${orgId}/findings/${findingId}/comments`, { body }),
    onSuccess: async () => {
      setBody('');
      notify(t('findingCommentAdded'));
      await client.invalidateQueries({ queryKey: key });
    },
  });
  const comments = (list.data?.pages ?? []).flatMap((p) => p.items);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    add.mutate();
  };
  return (
    <Section title={t('findingComments')} testId="finding-comments">
      {comments.length === 0 && !list.isPending && <Text c="dimmed">{t('findingNoComments')}</Text>}
      <Stack gap="xs" component="ol" style={{ listStyle: 'none', padding: 0, margin: 0 }}>
        {comments.map((c) => (
          <Stack key={c.id} component="li" gap={2}>
            <Text size="sm" fw={600}>
              {c.author?.name ?? t('findingUnknownAuthor')}{' '}
              <Text span size="xs" c="dimmed" fw={400}>
                {when(c.createdAt)}
              </Text>
            </Text>
            <Text size="sm" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
              {c.body}
            </Text>
          </Stack>
        ))}
      </Stack>
      {list.hasNextPage && (
        <Button variant="default" onClick={() => list.fetchNextPage()} w="fit-content">
          {t('findingsLoadMore')}
        </Button>
      )}
      {canComment && (
        <form onSubmit={onSubmit}>
          <Stack gap="xs">
            <Textarea
              label={t('findingComment')}
              value={body}
              onChange={(e) => setBody(e.currentTarget.value)}
              maxLength={10_000}
              autosize
              minRows={2}
            />
            <Button type="submit" loading={add.isPending} disabled={body.trim() === ''} w="fit-content">
              {t('findingAddComment')}
            </Button>
            <ErrorText error={add.error} />
          </Stack>
        </form>
      )}
    </Section>
  );
}

function Remediations({
  orgId,
  finding,
  canPropose,
  canApprove,
}: {
  orgId: string;
  finding: FindingDetailView;
  canPropose: boolean;
  canApprove: boolean;
}) {
  const { t } = useTranslation();
  const when = useFormat().dateTime;
  const client = useQueryClient();
  const [summary, setSummary] = useState('');
  const [patch, setPatch] = useState('');
  const refresh = () => client.invalidateQueries({ queryKey: ['finding', orgId, finding.id] });
  const propose = useMutation({
    mutationFn: () =>
      api('POST', `/orgs/${orgId}/findings/${finding.id}/remediations`, {
        summary,
        ...(patch.trim() ? { patch } : {}),
      }),
    onSuccess: async () => {
      setSummary('');
      setPatch('');
      notify(t('findingProposed'));
      await refresh();
    },
  });
  const approve = useMutation({
    mutationFn: (id: string) => api('POST', `/orgs/${orgId}/remediations/${id}/approve`),
    onSuccess: async () => {
      notify(t('findingApproved'));
      await refresh();
    },
    onError: refresh,
  });
  return (
    <Section title={t('findingRemediations')} testId="finding-remediations">
      {finding.remediations.length === 0 && <Text c="dimmed">{t('findingNoRemediations')}</Text>}
      {finding.remediations.map((r) => (
        <Stack key={r.id} gap={4}>
          <Group gap="sm">
            <Badge variant="light" color={r.status === 'approved' ? 'green.9' : 'blue.9'}>
              {t(`remediation_${r.status}`)}
            </Badge>
            <Text fw={600}>{r.summary}</Text>
            {canApprove && r.status === 'proposed' && (
              <Button
                size="xs"
                variant="default"
                aria-label={t('findingApproveNamed', { summary: r.summary })}
                loading={approve.isPending && approve.variables === r.id}
                onClick={() => approve.mutate(r.id)}
              >
                {t('findingApprove')}
              </Button>
            )}
          </Group>
          <Text size="xs" c="dimmed">
            {when(r.createdAt)}
            {r.createdBy ? ` · ${t('findingBy', { name: r.createdBy.name })}` : ''}
          </Text>
          {r.patch && (
            <Code block style={{ maxHeight: 240, overflow: 'auto' }}>
              {r.patch}
            </Code>
          )}
        </Stack>
      ))}
      <ErrorText error={approve.error} />
      {canPropose && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            propose.mutate();
          }}
        >
          <Stack gap="xs">
            <Textarea
              label={t('findingRemediationSummary')}
              value={summary}
              onChange={(e) => setSummary(e.currentTarget.value)}
              maxLength={2000}
              autosize
              minRows={1}
            />
            <Textarea
              label={t('findingRemediationPatch')}
              value={patch}
              onChange={(e) => setPatch(e.currentTarget.value)}
              autosize
              minRows={2}
              styles={{ input: { fontFamily: 'monospace' } }}
            />
            <Button
              type="submit"
              loading={propose.isPending}
              disabled={summary.trim() === ''}
              w="fit-content"
            >
              {t('findingPropose')}
            </Button>
            <ErrorText error={propose.error} />
          </Stack>
        </form>
      )}
    </Section>
  );
}
