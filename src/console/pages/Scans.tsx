import { Anchor, Button, Group, NativeSelect, Stack, Table, Text, Title } from '@mantine/core';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { SCAN_STATUSES, type ScanView } from '../../contracts/scans.ts';
import { LoadMore, PageLoader, ScrollFrame } from '../components.tsx';
import { useFormat } from '../format.ts';
import { usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText } from '../problems.tsx';
import { applicationsQuery, pagedQuery } from '../queries.ts';
import { NewScanDialog } from './ScanDialog.tsx';
import { creatorOf, ModuleList, PolicyBadge, SeverityCountBadges } from './ScanParts.tsx';

/** The filters the address holds, so a link (from an application, say) reproduces the view. */
const FILTER_KEYS = ['applicationId', 'status'] as const;

/** Organization → Scans: the org's scans, newest first, filtered by application and status. */
export function ScansPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const when = useFormat().dateTime;
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const [creating, setCreating] = useState(false);
  const applications = useQuery({ ...applicationsQuery(orgId), enabled: can.has('applications:read') });
  const query = new URLSearchParams({ limit: '50' });
  for (const key of FILTER_KEYS) {
    const value = params.get(key);
    if (value) query.set(key, value);
  }
  const list = useInfiniteQuery(
    pagedQuery<ScanView>(['scans', orgId, query.toString()], `/orgs/${orgId}/scans?${query}`),
  );
  const rows = (list.data?.pages ?? []).flatMap((p) => p.items);
  const setFilter = (key: (typeof FILTER_KEYS)[number], value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };
  const applicationId = params.get('applicationId') ?? '';
  const appOptions = (applications.data?.items ?? []).map((a) => ({ value: a.id, label: a.name }));
  // A filter by an application past the first 200 (or unreadable) still shows as chosen.
  if (applicationId && !appOptions.some((o) => o.value === applicationId)) {
    appOptions.push({
      value: applicationId,
      label: rows[0]?.application.name ?? applicationId.slice(0, 8),
    });
  }

  return (
    <Stack maw={1280}>
      <Group justify="space-between">
        <Title order={1} size="h3">
          {t('scansTitle')}
        </Title>
        {can.has('scans:create') && <Button onClick={() => setCreating(true)}>{t('scansNew')}</Button>}
      </Group>
      <Text>{t('scansIntro')}</Text>
      {!can.has('scans:create') && <Text size="sm">{t('scansNoCreate')}</Text>}
      <Group component="section" aria-label={t('scansFilters')} align="flex-end">
        <NativeSelect
          label={t('scansApplication')}
          data={[{ value: '', label: t('scansAnyApplication') }, ...appOptions]}
          value={applicationId}
          onChange={(e) => setFilter('applicationId', e.currentTarget.value)}
        />
        <NativeSelect
          label={t('scansStatus')}
          data={[
            { value: '', label: t('scansAnyStatus') },
            ...SCAN_STATUSES.map((s) => ({ value: s, label: t(`scansStatus_${s}`) })),
          ]}
          value={params.get('status') ?? ''}
          onChange={(e) => setFilter('status', e.currentTarget.value)}
        />
        {FILTER_KEYS.some((k) => params.get(k)) && (
          <Button variant="subtle" onClick={() => setParams(new URLSearchParams(), { replace: true })}>
            {t('scansClear')}
          </Button>
        )}
      </Group>
      <ErrorText error={list.error} />
      {list.isPending ? (
        <PageLoader />
      ) : rows.length === 0 ? (
        list.data && <Text c="gray.7">{t('scansNone')}</Text>
      ) : (
        <ScrollFrame label={t('scansList')} minWidth={1200}>
          <Table striped highlightOnHover data-testid="scans-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('scansApplication')}</Table.Th>
                <Table.Th>{t('scansModules')}</Table.Th>
                <Table.Th>{t('scansStatus')}</Table.Th>
                <Table.Th>{t('scansTokens')}</Table.Th>
                <Table.Th>{t('scansFindings')}</Table.Th>
                <Table.Th>{t('scansPolicy')}</Table.Th>
                <Table.Th>{t('scansCreatedBy')}</Table.Th>
                <Table.Th>{t('scansCreatedAt')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((scan) => (
                <Table.Tr key={scan.id} data-testid={`scan-${scan.id}`}>
                  <Table.Th scope="row">
                    <Anchor
                      component={Link}
                      to={`/orgs/${orgId}/settings/scans/${scan.id}`}
                      aria-label={t('scansOpen', { name: scan.application.name, when: when(scan.createdAt) })}
                    >
                      {scan.application.name}
                    </Anchor>
                  </Table.Th>
                  <Table.Td>
                    <ModuleList modules={scan.modules} />
                  </Table.Td>
                  <Table.Td>{t(`scansStatus_${scan.status}`)}</Table.Td>
                  <Table.Td>{scan.tokens}</Table.Td>
                  <Table.Td>
                    <SeverityCountBadges counts={scan.findings} />
                  </Table.Td>
                  <Table.Td>
                    <PolicyBadge policy={scan.policy} />
                  </Table.Td>
                  <Table.Td style={{ overflowWrap: 'anywhere' }}>{creatorOf(t, scan)}</Table.Td>
                  <Table.Td>{when(scan.createdAt)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollFrame>
      )}
      <Group>
        {rows.length > 0 && (
          <Text size="sm" c="gray.7" role="status">
            {t('scansShown', { count: rows.length })}
          </Text>
        )}
        <LoadMore list={list} />
      </Group>
      {can.has('scans:create') && (
        <NewScanDialog
          orgId={orgId}
          opened={creating}
          applications={applications.data?.items ?? []}
          initialApplicationId={applicationId}
          onClose={() => setCreating(false)}
          onCreated={(scan) => {
            setCreating(false);
            notify(t('scansCreatedNotice', { count: scan.findings.total }));
            navigate(`/orgs/${orgId}/settings/scans/${scan.id}`);
          }}
        />
      )}
    </Stack>
  );
}
