import {
  Alert,
  Anchor,
  Badge,
  Button,
  Group,
  NativeSelect,
  Progress,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import { PLAN_CATALOG } from '../../contracts/plans.ts';
import {
  COMPLIANCE_FRAMEWORKS,
  type ComplianceFramework,
  FRAMEWORK_PLAN,
  type ReportStatus,
  type ReportView,
} from '../../contracts/reports.ts';
import type { Page } from '../../contracts/wire.ts';
import { ApiError, api } from '../api.ts';
import { ScrollFrame, Section } from '../components.tsx';
import { useFormat } from '../format.ts';
import { usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';
import { orgQuery } from '../queries.ts';

/**
 * Reports: compliance reports (with compliance:read) and the executive summary (with
 * analytics:read), each generated in the background for a date range and downloaded as PDF. The
 * plan's limits are said before anyone tries: reports need a paid plan, HIPAA and PCI DSS
 * Enterprise (those frameworks are offered, marked, and disabled on other plans).
 */

type Kind = 'compliance' | 'executive';
const PATHS: Record<Kind, string> = { compliance: 'compliance-reports', executive: 'reports/executive' };

const reportsQuery = (orgId: string, kind: Kind) =>
  queryOptions({
    queryKey: ['reports', orgId, kind],
    queryFn: () => api<Page<ReportView>>('GET', `/orgs/${orgId}/${PATHS[kind]}?limit=20`),
    // Asked again every second while one is being built, to show it advance.
    refetchInterval: (query) =>
      query.state.data?.items.some((r) => r.status === 'pending' || r.status === 'running') ? 1000 : false,
  });

export function ReportsPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  // The profile (and so the plan) is read with settings:read; without it the plan is not known
  // here, every choice is offered, and the server's answer says which plan a report needs.
  const org = useQuery({ ...orgQuery(orgId), enabled: can.has('settings:read') });
  const plan = org.data?.plan ?? null;
  const paid = org.data
    ? Boolean((org.data.entitlements as { complianceReports?: boolean }).complianceReports)
    : true;
  const ready = !can.has('settings:read') || org.data !== undefined || org.error !== null;
  return (
    <Stack maw={960}>
      <Title order={1} size="h3">
        {t('reportsTitle')}
      </Title>
      <Text size="sm">{t('reportsIntro')}</Text>
      {!ready && <Text role="status">{t('reportsLoading')}</Text>}
      {org.data && !paid && (
        <Alert color="blue" title={t('reportsPlanTitle')}>
          {t('reportsPlanNeeded', { plan: PLAN_CATALOG.pro.name, current: org.data.entitlements.name })}
        </Alert>
      )}
      {ready &&
        (can.has('compliance:read') ? (
          <ReportSection orgId={orgId} kind="compliance" plan={plan} paid={paid} />
        ) : (
          <Text size="sm">{t('reportsComplianceNeedsPermission')}</Text>
        ))}
      {ready &&
        (can.has('analytics:read') ? (
          <ReportSection orgId={orgId} kind="executive" plan={plan} paid={paid} />
        ) : (
          <Text size="sm">{t('reportsExecutiveNeedsPermission')}</Text>
        ))}
    </Stack>
  );
}

/** `YYYY-MM-DD` of a time (UTC), as a date input holds it. */
const dayOf = (at: Date) => at.toISOString().slice(0, 10);

/** The period a pair of date inputs means: from the first day's start to the last day's end (UTC). */
function periodOf(from: string, to: string): { from: string; to: string } {
  const end = new Date(`${to}T00:00:00.000Z`);
  end.setUTCDate(end.getUTCDate() + 1);
  return { from: new Date(`${from}T00:00:00.000Z`).toISOString(), to: end.toISOString() };
}

const VALID_DAY = /^\d{4}-\d{2}-\d{2}$/;

// Dark enough for white text at a badge's size (WCAG AA).
const STATUS_COLORS: Record<ReportStatus, string> = {
  pending: 'gray.8',
  running: 'blue.9',
  ready: '#166534',
  failed: '#b91c1c',
};

/** `plan` null: not known here (the member cannot read the profile); the server decides. */
function ReportSection(props: { orgId: string; kind: Kind; plan: string | null; paid: boolean }) {
  const { orgId, kind, plan, paid } = props;
  const { t } = useTranslation();
  const format = useFormat();
  const client = useQueryClient();
  const list = useQuery(reportsQuery(orgId, kind));
  const today = new Date();
  const [framework, setFramework] = useState<ComplianceFramework>('soc2');
  const [from, setFrom] = useState(dayOf(new Date(today.getTime() - 30 * 86_400_000)));
  const [to, setTo] = useState(dayOf(today));
  const allowed = (f: ComplianceFramework) =>
    paid && (FRAMEWORK_PLAN[f] !== 'enterprise' || plan === 'enterprise');
  const generate = useMutation({
    mutationFn: (body: Record<string, string>) =>
      api<ReportView>('POST', `/orgs/${orgId}/${PATHS[kind]}`, body),
    onSuccess: async () => {
      notify(t('reportsStarted'));
      await client.invalidateQueries({ queryKey: reportsQuery(orgId, kind).queryKey });
    },
  });
  const { byField, rest } = fieldErrors(t, generate.error, ['framework', 'from', 'to']);
  const [tried, setTried] = useState(false);
  const datesValid = VALID_DAY.test(from) && VALID_DAY.test(to) && from <= to;
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (!datesValid || !paid) return;
    const period = periodOf(from, to);
    generate.mutate(kind === 'compliance' ? { framework, ...period } : period);
  };
  const items = list.data?.items ?? [];
  const underWay = items.find((r) => r.status === 'pending' || r.status === 'running');
  const prefix = kind === 'compliance' ? 'reportsCompliance' : 'reportsExecutive';
  const required = generate.error instanceof ApiError ? generate.error.params.requiredPlan : undefined;
  const planWords =
    required === 'enterprise'
      ? t('reportsNeedsEnterprise', { framework: t(`reportsFramework_${framework}`) })
      : t('reportsNeedsScale', { plan: PLAN_CATALOG.pro.name });
  return (
    <Section title={t(`${prefix}Title`)} testId={`reports-${kind}`}>
      <Text size="sm">{t(`${prefix}Help`)}</Text>
      <form onSubmit={onSubmit} noValidate>
        <Stack gap="sm">
          <Group align="flex-start" wrap="wrap">
            {kind === 'compliance' && (
              <NativeSelect
                label={t('reportsFramework')}
                value={framework}
                onChange={(e) => setFramework(e.currentTarget.value as ComplianceFramework)}
                disabled={!paid}
                error={byField.framework}
                data={COMPLIANCE_FRAMEWORKS.map((f) => ({
                  value: f,
                  label:
                    FRAMEWORK_PLAN[f] === 'enterprise'
                      ? `${t(`reportsFramework_${f}`)} (${PLAN_CATALOG.enterprise.name})`
                      : t(`reportsFramework_${f}`),
                  disabled: !allowed(f),
                }))}
                description={plan === 'enterprise' ? undefined : t('reportsEnterpriseFrameworks')}
                w={280}
              />
            )}
            <TextInput
              type="date"
              label={t('reportsFrom')}
              value={from}
              max={to}
              onChange={(e) => setFrom(e.currentTarget.value)}
              error={byField.from ?? (tried && !datesValid ? t('reportsDatesInvalid') : undefined)}
              disabled={!paid}
            />
            <TextInput
              type="date"
              label={t('reportsTo')}
              value={to}
              min={from}
              max={dayOf(today)}
              onChange={(e) => setTo(e.currentTarget.value)}
              error={byField.to}
              disabled={!paid}
            />
          </Group>
          <Text size="xs" c="dimmed">
            {t('reportsPeriodHelp')}
          </Text>
          <ErrorText error={rest} words={{ plan_limit: planWords }} />
          <Group>
            <Button type="submit" loading={generate.isPending} disabled={!paid}>
              {t(`${prefix}Generate`)}
            </Button>
          </Group>
        </Stack>
      </form>
      <ErrorText error={list.error} />
      {underWay && (
        <Stack gap={4} role="status">
          <Text size="sm">{t('reportsProgress', { percent: underWay.progress })}</Text>
          <Progress
            value={underWay.progress}
            animated
            aria-label={t('reportsProgress', { percent: underWay.progress })}
          />
        </Stack>
      )}
      <Title order={3} size="h5">
        {t('reportsRecent')}
      </Title>
      {list.isSuccess && items.length === 0 ? (
        <Text size="sm">{t('reportsNone')}</Text>
      ) : (
        <ScrollFrame label={t(`${prefix}Table`)} minWidth={760}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('reportsRequested')}</Table.Th>
                {kind === 'compliance' && <Table.Th>{t('reportsFramework')}</Table.Th>}
                <Table.Th>{t('reportsPeriod')}</Table.Th>
                <Table.Th>{t('reportsBy')}</Table.Th>
                <Table.Th>{t('reportsStatus')}</Table.Th>
                <Table.Th>{t('actions')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((r) => {
                const period = t('reportsPeriodValue', {
                  from: format.date(r.from),
                  to: format.date(new Date(new Date(r.to).getTime() - 1).toISOString()),
                });
                return (
                  <Table.Tr key={r.id} data-report-id={r.id} data-status={r.status}>
                    <Table.Td>{format.dateTime(r.createdAt)}</Table.Td>
                    {kind === 'compliance' && (
                      <Table.Td>{r.framework ? t(`reportsFramework_${r.framework}`) : ''}</Table.Td>
                    )}
                    <Table.Td>{period}</Table.Td>
                    <Table.Td>
                      {r.requestedBy ? (r.requestedBy.email ?? r.requestedBy.id) : t('reportsToken')}
                    </Table.Td>
                    <Table.Td>
                      <Badge maw="none" color={STATUS_COLORS[r.status]} c="white" variant="filled">
                        {t(`reportsStatus_${r.status}`)}
                      </Badge>
                      {r.status === 'running' && (
                        <Text size="xs">{t('reportsProgress', { percent: r.progress })}</Text>
                      )}
                      {r.status === 'failed' && <Text size="xs">{t('reportsFailedHelp')}</Text>}
                    </Table.Td>
                    <Table.Td>
                      {r.status === 'ready' && r.downloadUrl && (
                        <Anchor
                          href={r.downloadUrl}
                          download
                          size="sm"
                          aria-label={t('reportsDownloadOf', { period })}
                        >
                          {t('reportsDownload')}
                        </Anchor>
                      )}
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </ScrollFrame>
      )}
    </Section>
  );
}
