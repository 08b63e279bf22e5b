import { Anchor, Button, Group, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router';
import type { ScanFindingView, ScanView } from '../../contracts/scans.ts';
import { api } from '../api.ts';
import { ConfirmDialog, LoadMore, PageLoader, ScrollFrame, Section } from '../components.tsx';
import { useFormat } from '../format.ts';
import { usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText } from '../problems.tsx';
import { pagedQuery } from '../queries.ts';
import { COUNTED, creatorOf, ModuleList, PolicyBadge, SeverityBadge } from './ScanParts.tsx';

/** One fact of the summary: its name above, its value below. */
function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Stack gap={2}>
      <Text size="sm" fw={600}>
        {label}
      </Text>
      <div>{children}</div>
    </Stack>
  );
}

/**
 * Organization → Scans → one scan: its counts by severity, modules, tokens and policy result,
 * the findings it saw, its downloads and its deletion.
 */
export function ScanDetailPage() {
  const { t } = useTranslation();
  const { orgId = '', scanId = '' } = useParams();
  const can = usePermissions(orgId);
  const when = useFormat().dateTime;
  const navigate = useNavigate();
  const client = useQueryClient();
  const exportReasonId = useId();
  const [deleting, setDeleting] = useState(false);
  const scan = useQuery({
    queryKey: ['scans', orgId, 'detail', scanId],
    queryFn: () => api<ScanView>('GET', `/orgs/${orgId}/scans/${scanId}`),
  });
  const del = useMutation({
    mutationFn: () => api('DELETE', `/orgs/${orgId}/scans/${scanId}`),
    onSuccess: async () => {
      setDeleting(false);
      notify(t('scansDeletedNotice'));
      client.removeQueries({ queryKey: ['scans', orgId, 'detail', scanId] });
      await client.invalidateQueries({ queryKey: ['scans', orgId] });
      navigate(`/orgs/${orgId}/settings/scans`);
    },
  });
  const listPath = `/orgs/${orgId}/settings/scans`;
  if (scan.isPending) return <PageLoader />;
  if (!scan.data) {
    return (
      <Stack maw={720}>
        <Anchor component={Link} to={listPath}>
          {t('scansBack')}
        </Anchor>
        <ErrorText error={scan.error} />
      </Stack>
    );
  }
  const s = scan.data;
  const exportUrl = (format: string) => `/api/v1/orgs/${orgId}/scans/${s.id}/export?format=${format}`;
  const exports = [...(s.hasSarif ? ['sarif'] : []), 'csv', 'json'];
  return (
    <Stack maw={1100}>
      <Anchor component={Link} to={`${listPath}?applicationId=${s.applicationId}`}>
        {t('scansBack')}
      </Anchor>
      <Group justify="space-between" align="flex-start">
        <Stack gap={4}>
          <Title order={1} size="h3">
            {t('scansDetailTitle', { name: s.application.name })}
          </Title>
          <Text size="sm" c="gray.7">
            {when(s.createdAt)}
          </Text>
        </Stack>
        <Group gap="xs">
          {exports.map((format) =>
            can.has('scans:export') ? (
              <Button key={format} component="a" href={exportUrl(format)} variant="default" download>
                {t('scansExportAs', { format: format.toUpperCase() })}
              </Button>
            ) : (
              <Button key={format} variant="default" disabled aria-describedby={exportReasonId}>
                {t('scansExportAs', { format: format.toUpperCase() })}
              </Button>
            ),
          )}
          {can.has('scans:delete') && (
            <Button color="red" variant="outline" onClick={() => setDeleting(true)}>
              {t('scansDelete')}
            </Button>
          )}
        </Group>
      </Group>
      {!can.has('scans:export') && (
        <Text size="sm" id={exportReasonId}>
          {t('scansNoExport')}
        </Text>
      )}

      <Section title={t('scansSummary')} testId="scan-summary">
        <SimpleGrid cols={{ base: 1, xs: 2, md: 4 }}>
          <Fact label={t('scansApplication')}>
            <Text size="sm">{s.application.name}</Text>
          </Fact>
          <Fact label={t('scansStatus')}>
            <Text size="sm">{t(`scansStatus_${s.status}`)}</Text>
          </Fact>
          <Fact label={t('scansModules')}>
            <ModuleList modules={s.modules} />
          </Fact>
          <Fact label={t('scansTokens')}>
            <Text size="sm">{s.tokens}</Text>
          </Fact>
          <Fact label={t('scansTools')}>
            <Text size="sm">{s.tools.join(', ') || '—'}</Text>
          </Fact>
          <Fact label={t('scansCreatedBy')}>
            <Text size="sm" style={{ wordBreak: 'break-all' }}>
              {creatorOf(t, s)}
            </Text>
          </Fact>
          <Fact label={t('scansCompletedAt')}>
            <Text size="sm">{when(s.completedAt) || '—'}</Text>
          </Fact>
          <Fact label={t('scansPolicy')}>
            <PolicyBadge policy={s.policy} />
          </Fact>
        </SimpleGrid>
        <Table withTableBorder maw={480} data-testid="scan-counts">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('scansSeverity')}</Table.Th>
              <Table.Th>{t('scansFindings')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {COUNTED.map((sev) => (
              <Table.Tr key={sev}>
                <Table.Th scope="row">
                  <SeverityBadge severity={sev} />
                </Table.Th>
                <Table.Td>{s.findings[sev]}</Table.Td>
              </Table.Tr>
            ))}
            <Table.Tr>
              <Table.Th scope="row">{t('scansFindings')}</Table.Th>
              <Table.Td fw={600}>{s.findings.total}</Table.Td>
            </Table.Tr>
          </Table.Tbody>
        </Table>
      </Section>

      <Section title={t('scansPolicyResult')} testId="scan-policy">
        {s.policy.passed ? (
          <Text>{t('scansPolicyAllPassed')}</Text>
        ) : (
          <Table withTableBorder maw={720}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('scansPolicyName')}</Table.Th>
                <Table.Th>{t('scansFailOn')}</Table.Th>
                <Table.Th>{t('scansFindings')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {s.policy.violations.map((v) => (
                <Table.Tr key={v.policyId} data-testid={`violation-${v.name}`}>
                  <Table.Th scope="row">{v.name}</Table.Th>
                  <Table.Td>{t('scansFailOnValue', { severity: t(`scansSeverity_${v.failOn}`) })}</Table.Td>
                  <Table.Td>{t('scansViolationFindings', { count: v.findingCount })}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Section>

      <Section title={t('scansScanFindings')} testId="scan-findings">
        {can.has('findings:read') ? (
          <ScanFindings orgId={orgId} scanId={s.id} total={s.findings.total} />
        ) : (
          <Text>{t('scansNoFindingsRead')}</Text>
        )}
      </Section>

      <ConfirmDialog
        opened={deleting}
        title={t('scansDeleteTitle', { name: s.application.name })}
        message={t('scansDeleteConfirm')}
        confirmLabel={t('scansDelete')}
        onCancel={() => {
          setDeleting(false);
          del.reset();
        }}
        onConfirm={() => del.mutate()}
        loading={del.isPending}
        error={del.error}
      />
    </Stack>
  );
}

/** The findings a scan saw, most severe first, a page at a time; each links to its own page. */
function ScanFindings({ orgId, scanId, total }: { orgId: string; scanId: string; total: number }) {
  const { t } = useTranslation();
  const list = useInfiniteQuery({
    ...pagedQuery<ScanFindingView>(
      ['scans', orgId, 'findings', scanId],
      `/orgs/${orgId}/scans/${scanId}/findings?limit=50`,
    ),
    enabled: total > 0,
  });
  if (total === 0) return <Text>{t('scansNoFindings')}</Text>;
  const rows = (list.data?.pages ?? []).flatMap((p) => p.items);
  return (
    <>
      <ErrorText error={list.error} />
      {list.isPending ? (
        <PageLoader />
      ) : (
        <ScrollFrame label={t('scansScanFindings')} minWidth={820}>
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('scansSeverity')}</Table.Th>
                <Table.Th>{t('scansFindingTitle')}</Table.Th>
                <Table.Th>{t('scansLocation')}</Table.Th>
                <Table.Th>{t('scansFindingStatus')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((f) => (
                <Table.Tr key={f.id} data-testid={`scan-finding-${f.id}`}>
                  <Table.Td>
                    <SeverityBadge severity={f.severity} />
                  </Table.Td>
                  <Table.Td>
                    <Anchor component={Link} to={`/orgs/${orgId}/settings/findings/${f.id}`}>
                      {f.title}
                    </Anchor>
                    <Text size="xs" c="gray.7">
                      {f.ruleId}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" ff="monospace" style={{ wordBreak: 'break-all' }}>
                      {f.location
                        ? `${f.location.path}${f.location.startLine ? `:${f.location.startLine}` : ''}`
                        : '—'}
                    </Text>
                  </Table.Td>
                  <Table.Td>{t(`scansFindingStatus_${f.status}`, { defaultValue: f.status })}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollFrame>
      )}
      <Group>
        <LoadMore list={list} />
      </Group>
    </>
  );
}
