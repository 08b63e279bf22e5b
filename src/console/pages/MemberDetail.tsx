import { Anchor, Button, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { api, type Member, type Page, type TokenView } from '../api.ts';
import { type AuditEvent, type AuditWords, useAuditWords } from '../audit-words.ts';
import { useCatalogWords } from '../catalog-words.ts';
import { PageLoader, ScrollFrame, Section } from '../components.tsx';
import { usePermissions } from '../hooks.ts';
import { ErrorText } from '../problems.tsx';
import { AuditEntriesTable, AuditEntryDialog } from './AuditEntry.tsx';

/** How many of their latest entries the timeline shows; the audit log has the rest. */
const TIMELINE = 30;

interface OrgTokenView extends TokenView {
  owner?: { id: string; email: string | null };
}

/**
 * Settings → Organization → Team → a member: who they are, their role and status, their personal
 * tokens for this org and what they did and what was done to them (the audit log). Each part is
 * shown to those who may read it; the others are told what it needs.
 */
export function MemberDetailPage() {
  const { t } = useTranslation();
  const { orgId = '', userId = '' } = useParams();
  const can = usePermissions(orgId);
  const catalog = useCatalogWords();
  const words = useAuditWords(orgId, can.has('members:read'));
  const member = useQuery({
    queryKey: ['member', orgId, userId],
    queryFn: () => api<Member & { removedAt: string | null }>('GET', `/orgs/${orgId}/members/${userId}`),
    enabled: can.has('members:read'),
  });
  const team = `/orgs/${orgId}/settings/team`;
  const back = (
    <Anchor component={Link} to={team}>
      ← {t('memberBack')}
    </Anchor>
  );
  if (!can.has('members:read')) {
    return (
      <Stack>
        {back}
        <Text>{t('memberNeedsRead')}</Text>
      </Stack>
    );
  }
  if (member.isPending) return <PageLoader />;
  if (!member.data) {
    return (
      <Stack>
        {back}
        <ErrorText error={member.error} />
      </Stack>
    );
  }
  const m = member.data;
  const facts: Array<[string, string]> = [
    [t('email'), m.email],
    [t('name'), m.name],
    [t('role'), catalog.roleName(m.role)],
    [t('status'), t(m.status)],
    [t('joined'), words.format.dateTime(m.joinedAt)],
    [t('lastActive'), m.lastActiveAt ? words.format.dateTime(m.lastActiveAt) : t('never')],
    ...(m.removedAt ? ([[t('removed'), words.format.dateTime(m.removedAt)]] as Array<[string, string]>) : []),
  ];
  return (
    <Stack>
      {back}
      <Title order={1} size="h3">
        {m.name}
      </Title>
      <Table variant="vertical" withTableBorder maw={640} data-testid="member-facts">
        <Table.Tbody>
          {facts.map(([label, value]) => (
            <Table.Tr key={label}>
              <Table.Th w={180}>{label}</Table.Th>
              <Table.Td>{value}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <TokensSection orgId={orgId} userId={userId} allowed={can.has('api_keys:manage')} words={words} />
      <TimelineSection orgId={orgId} userId={userId} allowed={can.has('audit:read')} words={words} />
    </Stack>
  );
}

function TokensSection(props: { orgId: string; userId: string; allowed: boolean; words: AuditWords }) {
  const { t } = useTranslation();
  const { format } = props.words;
  const tokens = useQuery({
    queryKey: ['personal-tokens', props.orgId, props.userId],
    queryFn: () =>
      api<Page<OrgTokenView>>('GET', `/orgs/${props.orgId}/personal-tokens?userId=${props.userId}&limit=200`),
    enabled: props.allowed,
  });
  const items = tokens.data?.items ?? [];
  return (
    <Section title={t('personalTokens')} testId="member-tokens">
      {!props.allowed ? (
        <Text c="gray.7">{t('memberTokensNeed')}</Text>
      ) : (
        <>
          <ErrorText error={tokens.error} />
          {tokens.isSuccess && items.length === 0 && <Text c="gray.7">{t('memberNoTokens')}</Text>}
          {items.length > 0 && (
            <ScrollFrame label={t('personalTokens')} minWidth={640}>
              <Table striped>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>{t('tokenName')}</Table.Th>
                    <Table.Th>{t('memberTokenHint')}</Table.Th>
                    <Table.Th>{t('scopes')}</Table.Th>
                    <Table.Th>{t('created')}</Table.Th>
                    <Table.Th>{t('expires')}</Table.Th>
                    <Table.Th>{t('lastUsed')}</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {items.map((x) => (
                    <Table.Tr key={x.id}>
                      <Table.Td>{x.name}</Table.Td>
                      <Table.Td>
                        <code>{x.hint}</code>
                      </Table.Td>
                      <Table.Td>{x.scopes.join(', ')}</Table.Td>
                      <Table.Td>{format.dateTime(x.createdAt)}</Table.Td>
                      <Table.Td>{x.expiresAt ? format.dateTime(x.expiresAt) : t('noExpiry')}</Table.Td>
                      <Table.Td>{x.lastUsedAt ? format.dateTime(x.lastUsedAt) : t('never')}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </ScrollFrame>
          )}
        </>
      )}
    </Section>
  );
}

/** Their latest entries as actor and as target, merged newest first (an entry may be both). */
function TimelineSection(props: { orgId: string; userId: string; allowed: boolean; words: AuditWords }) {
  const { t } = useTranslation();
  const { words } = props;
  const [shown, setShown] = useState<AuditEvent | null>(null);
  const read = (filter: 'actorId' | 'targetId') => ({
    queryKey: ['audit', props.orgId, `member-${filter}`, props.userId],
    queryFn: () =>
      api<Page<AuditEvent>>(
        'GET',
        `/orgs/${props.orgId}/audit-events?${new URLSearchParams({ [filter]: props.userId, limit: String(TIMELINE) })}`,
      ),
    enabled: props.allowed,
  });
  const asActor = useQuery(read('actorId'));
  const asTarget = useQuery(read('targetId'));
  const entries = useMemo(() => {
    const byId = new Map<string, AuditEvent>();
    for (const e of [...(asActor.data?.items ?? []), ...(asTarget.data?.items ?? [])]) byId.set(e.id, e);
    return [...byId.values()].sort((a, b) => b.seq - a.seq).slice(0, TIMELINE);
  }, [asActor.data, asTarget.data]);
  const log = `/orgs/${props.orgId}/settings/audit-log`;
  return (
    <Section title={t('memberActivity')} testId="member-timeline">
      {!props.allowed ? (
        <Text c="gray.7">{t('memberActivityNeed')}</Text>
      ) : (
        <>
          <ErrorText error={asActor.error ?? asTarget.error} />
          {(asActor.isPending || asTarget.isPending) && <PageLoader />}
          {asActor.isSuccess && asTarget.isSuccess && entries.length === 0 && (
            <Text c="gray.7">{t('noItems')}</Text>
          )}
          {entries.length > 0 && (
            <AuditEntriesTable
              label={t('memberActivity')}
              entries={entries}
              words={words}
              onShow={setShown}
            />
          )}
          <Group gap="md">
            <Button component={Link} variant="default" to={`${log}?actorId=${props.userId}`}>
              {t('memberAllByThem')}
            </Button>
            <Button component={Link} variant="default" to={`${log}?targetId=${props.userId}`}>
              {t('memberAllAboutThem')}
            </Button>
          </Group>
        </>
      )}
      <AuditEntryDialog entry={shown} words={words} onClose={() => setShown(null)} />
    </Section>
  );
}
