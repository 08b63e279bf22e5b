import { BarChart, DonutChart } from '@mantine/charts';
import {
  Alert,
  Card,
  Group,
  NativeSelect,
  RingProgress,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { queryOptions, useQuery } from '@tanstack/react-query';
import { type ReactNode, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import { entitlements } from '../../contracts/plans.ts';
import type { UsageReport } from '../../contracts/wire.ts';
import { api } from '../api.ts';
import { PageLoader, ScrollFrame } from '../components.tsx';
import { useFormat } from '../format.ts';
import { usePermissions } from '../hooks.ts';
import { ErrorText } from '../problems.tsx';
import { UsageBudgets } from './UsageBudgets.tsx';

export const usageQuery = (orgId: string, month: string) =>
  queryOptions({
    queryKey: ['usage', orgId, month],
    queryFn: () => api<UsageReport>('GET', `/orgs/${orgId}/usage?month=${month}`),
  });

const MODULE_COLORS: Record<string, string> = {
  dependencies: 'blue.7',
  sast: 'violet.7',
  secrets: 'orange.8',
  api: 'teal.8',
};

/** `YYYY-MM` of this month and the 11 before it, newest first. */
function recentMonths(): string[] {
  const now = new Date();
  return Array.from({ length: 12 }, (_, i) =>
    new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1)).toISOString().slice(0, 7),
  );
}

/** A month as words in the console's language ("March 2026", "marzo de 2026"). */
function useMonthLabel() {
  const { locale } = useFormat();
  return (month: string, short = false) =>
    new Intl.DateTimeFormat(locale, {
      month: short ? 'short' : 'long',
      year: 'numeric',
      timeZone: 'UTC',
    }).format(new Date(`${month}-01T00:00:00Z`));
}

function Panel({ title, children, testId }: { title: string; children: ReactNode; testId?: string }) {
  const id = useId();
  return (
    <Card withBorder component="section" aria-labelledby={id} data-testid={testId}>
      <Stack gap="sm">
        <Title order={2} size="h4" id={id}>
          {title}
        </Title>
        {children}
      </Stack>
    </Card>
  );
}

/** Organization → Usage: the shared pool this month (or another), by module and member, and its trend. */
export function UsagePage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const months = recentMonths();
  const [month, setMonth] = useState(months[0]!);
  const monthLabel = useMonthLabel();
  const usage = useQuery({ ...usageQuery(orgId, month), enabled: can.has('quota:read') });
  return (
    <Stack maw={1100}>
      <Group justify="space-between" align="flex-end">
        <Title order={1} size="h3">
          {t('usageTitle')}
        </Title>
        <NativeSelect
          label={t('usageMonth')}
          data={months.map((m) => ({ value: m, label: monthLabel(m) }))}
          value={month}
          onChange={(e) => setMonth(e.currentTarget.value)}
          w={220}
        />
      </Group>
      {!can.has('quota:read') ? (
        <Alert color="orange" title={t('problem_permission_denied_title')}>
          {t('usageNeedsRead')}
        </Alert>
      ) : usage.isPending ? (
        <PageLoader label={t('usageLoading')} />
      ) : usage.isError ? (
        <ErrorText error={usage.error} />
      ) : (
        <UsageFigures report={usage.data} />
      )}
      {can.has('quota:read') && usage.data && <UsageBudgets orgId={orgId} report={usage.data} />}
    </Stack>
  );
}

function UsageFigures({ report }: { report: UsageReport }) {
  const { t } = useTranslation();
  const n = useFormat().number;
  const monthLabel = useMonthLabel();
  const percent = report.limit > 0 ? Math.min(100, Math.round((report.used / report.limit) * 100)) : 0;
  const modules = report.byModule.filter((m) => m.tokens > 0);
  const share = (tokens: number) => (report.used > 0 ? `${Math.round((tokens / report.used) * 100)} %` : '–');
  const ringColor = percent >= 90 ? 'red.8' : percent >= 75 ? 'orange.8' : 'blue.7';
  return (
    <Stack>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Panel title={t('usagePool')} testId="usage-pool">
          <Group wrap="nowrap">
            <RingProgress
              size={140}
              thickness={14}
              roundCaps
              sections={[{ value: percent, color: ringColor }]}
              label={
                <Text ta="center" fw={700} size="lg">
                  {percent} %
                </Text>
              }
              aria-label={t('usagePercent', { percent })}
              role="img"
            />
            <Stack gap={4}>
              <Text fw={600}>{t('usageOfTokens', { used: n(report.used), limit: n(report.limit) })}</Text>
              <Text size="sm">{t('usageRemaining', { remaining: n(report.remaining) })}</Text>
              {report.boosts > 0 && <Text size="sm">{t('usageBoosted', { boosts: n(report.boosts) })}</Text>}
            </Stack>
          </Group>
        </Panel>
        <Panel title={t('usageByModule')} testId="usage-modules">
          {modules.length === 0 ? (
            <Text size="sm">{t('usageNothingYet')}</Text>
          ) : (
            <Group wrap="nowrap" align="center">
              <DonutChart
                size={140}
                thickness={24}
                data={modules.map((m) => ({
                  name: t(`usageModule_${m.module}`),
                  value: m.tokens,
                  color: MODULE_COLORS[m.module] ?? 'gray.7',
                }))}
                tooltipDataSource="segment"
                role="img"
                aria-label={t('usageByModule')}
              />
              <Table>
                <Table.Tbody>
                  {modules.map((m) => (
                    <Table.Tr key={m.module}>
                      <Table.Td>{t(`usageModule_${m.module}`)}</Table.Td>
                      <Table.Td ta="right">{n(m.tokens)}</Table.Td>
                      <Table.Td ta="right">{share(m.tokens)}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Group>
          )}
        </Panel>
      </SimpleGrid>
      <Panel title={t('usageTrend')} testId="usage-trend">
        <BarChart
          h={240}
          data={report.trend.map((m) => ({ month: monthLabel(m.month, true), used: m.used, limit: m.limit }))}
          dataKey="month"
          series={[
            { name: 'used', label: t('usageUsed'), color: 'blue.7' },
            { name: 'limit', label: t('usageLimit'), color: 'gray.5' },
          ]}
          withLegend
          role="img"
          aria-label={t('usageTrend')}
        />
      </Panel>
      <Panel title={t('usageByMember')} testId="usage-members">
        {report.byMember.length === 0 ? (
          <Text size="sm">{t('usageNothingYet')}</Text>
        ) : (
          <ScrollFrame label={t('usageByMember')} minWidth={420}>
            <Table>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('usageMember')}</Table.Th>
                  <Table.Th ta="right">{t('usageTokens')}</Table.Th>
                  <Table.Th ta="right">{t('usageShare')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {report.byMember.map((m) => (
                  <Table.Tr key={m.userId ?? 'automation'}>
                    <Table.Td>
                      {m.email ?? (m.userId === null ? t('usageAutomation') : t('usageMemberHidden'))}
                    </Table.Td>
                    <Table.Td ta="right">{n(m.tokens)}</Table.Td>
                    <Table.Td ta="right">{share(m.tokens)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollFrame>
        )}
      </Panel>
      {!entitlements(report.plan).budgets && (
        <Alert color="blue" variant="light" title={t('usageDepartments')}>
          {t('usageEnterpriseOnly', { plan: entitlements(report.plan).name })}
        </Alert>
      )}
    </Stack>
  );
}
