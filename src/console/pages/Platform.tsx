import { Badge, Button, Card, Group, Select, Stack, Switch, Text, Title } from '@mantine/core';
import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import { PLAN_CATALOG } from '../../contracts/plans.ts';
import {
  type PlatformSettings,
  REMEDIATION_LANGUAGES,
  SCAN_SCHEDULES,
  type ScanSchedule,
} from '../../contracts/settings.ts';
import { api } from '../api.ts';
import { SettingCard } from '../components.tsx';
import { useFormat } from '../format.ts';
import { useMe, usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors, type PlanFeature } from '../problems.tsx';
import { orgQuery } from '../queries.ts';

export const platformQuery = (orgId: string) =>
  queryOptions({
    queryKey: ['settings-platform', orgId],
    queryFn: () => api<PlatformSettings>('GET', `/orgs/${orgId}/settings/platform`),
  });

type Editable = Omit<PlatformSettings, 'nextScheduledScanAt'>;
const EDITABLE: Array<keyof Editable> = [
  'scanSchedule',
  'scanScheduleDay',
  'scanScheduleHour',
  'autonomousScanning',
  'fixVerification',
  'deepAiEnrichment',
  'remediationLanguage',
];

/**
 * Settings → Platform: when applications are scanned (a schedule, and at once when one is
 * created), fix verification, deep AI enrichment and the language of AI-written fixes. Read-only
 * without settings:update; plan-gated switches say which plan has them.
 */
export function PlatformPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const settings = useQuery(platformQuery(orgId));
  const org = useQuery(orgQuery(orgId));
  return (
    <Stack maw={880}>
      <Title order={1} size="h3">
        {t('platformTitle')}
      </Title>
      <Text>{t('platformIntro')}</Text>
      {(settings.isPending || org.isPending) && !settings.error && !org.error && (
        <Text role="status">{t('platformLoading')}</Text>
      )}
      <ErrorText error={settings.error ?? org.error} />
      {settings.data && org.data && (
        <PlatformEditor
          key={JSON.stringify(settings.data)}
          orgId={orgId}
          saved={settings.data}
          plan={
            org.data.entitlements as { name: string; fixVerification: boolean; deepAiEnrichment: boolean }
          }
          canEdit={can.has('settings:update')}
        />
      )}
    </Stack>
  );
}

function PlatformEditor(props: {
  orgId: string;
  saved: PlatformSettings;
  plan: { name: string; fixVerification: boolean; deepAiEnrichment: boolean };
  canEdit: boolean;
}) {
  const { orgId, saved, plan, canEdit } = props;
  const { t } = useTranslation();
  const format = useFormat();
  const me = useMe();
  const client = useQueryClient();
  const [form, setForm] = useState<Editable>(() => {
    const { nextScheduledScanAt: _next, ...rest } = saved;
    return rest;
  });
  const body: Partial<Editable> = Object.fromEntries(
    EDITABLE.filter((k) => form[k] !== saved[k]).map((k) => [k, form[k]]),
  );
  const dirty = Object.keys(body).length > 0;
  const save = useMutation({
    mutationFn: (changes: Partial<Editable>) =>
      api<PlatformSettings>('PATCH', `/orgs/${orgId}/settings/platform`, changes),
    onSuccess: (updated) => {
      client.setQueryData(platformQuery(orgId).queryKey, updated);
      void client.invalidateQueries({ queryKey: ['setup', orgId] });
      notify(t('platformSaved'));
    },
  });
  const feature: PlanFeature | undefined =
    'deepAiEnrichment' in (save.variables ?? {}) ? 'deepAiEnrichment' : 'fixVerification';
  const { byField, rest } = fieldErrors(
    t,
    save.error,
    ['scanSchedule', 'scanScheduleDay', 'scanScheduleHour', 'remediationLanguage'],
    { body: save.variables },
  );
  const set = <K extends keyof Editable>(key: K, value: Editable[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    save.reset();
  };
  const zone = me.data?.memberships.find((m) => m.org.id === orgId)?.org.localization.timezone ?? 'UTC';
  const weekdays = [1, 2, 3, 4, 5, 6, 7].map((d) => ({
    value: String(d),
    // 2024-01-01 was a Monday: day d of that week, named in the reader's language.
    label: new Intl.DateTimeFormat(format.locale, { weekday: 'long', timeZone: 'UTC' }).format(
      new Date(Date.UTC(2024, 0, d)),
    ),
  }));
  const monthDays = Array.from({ length: 28 }, (_, i) => ({ value: String(i + 1), label: String(i + 1) }));
  const hours = Array.from({ length: 24 }, (_, h) => ({
    value: String(h),
    label: `${String(h).padStart(2, '0')}:00`,
  }));
  const planFor = (allowed: boolean, key: 'fixVerification' | 'deepAiEnrichment') =>
    allowed ? null : key === 'fixVerification' ? PLAN_CATALOG.pro.name : PLAN_CATALOG.enterprise.name;
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (canEdit && dirty) save.mutate(body);
  };
  return (
    <form onSubmit={onSubmit} noValidate>
      <Stack>
        {!canEdit && <Text>{t('platformReadOnly')}</Text>}
        <SettingCard title={t('platformSchedule')}>
          <Text size="sm">{t('platformScheduleHelp')}</Text>
          <Select
            label={t('platformFrequency')}
            value={form.scanSchedule}
            allowDeselect={false}
            disabled={!canEdit}
            error={byField.scanSchedule}
            data={SCAN_SCHEDULES.map((s) => ({ value: s, label: t(`platformFrequency_${s}`) }))}
            onChange={(v) => {
              if (!v) return;
              const next = v as ScanSchedule;
              setForm((f) => ({
                ...f,
                scanSchedule: next,
                // A weekday stays a weekday: days past 7 mean nothing to a weekly schedule.
                scanScheduleDay: next === 'weekly' && f.scanScheduleDay > 7 ? 1 : f.scanScheduleDay,
              }));
              save.reset();
            }}
            maw={320}
          />
          {form.scanSchedule !== 'none' && (
            <Group align="flex-start">
              <Select
                label={form.scanSchedule === 'weekly' ? t('platformWeekday') : t('platformMonthDay')}
                value={String(form.scanScheduleDay)}
                allowDeselect={false}
                disabled={!canEdit}
                error={byField.scanScheduleDay}
                data={form.scanSchedule === 'weekly' ? weekdays : monthDays}
                onChange={(v) => v && set('scanScheduleDay', Number(v))}
                maw={200}
              />
              <Select
                label={t('platformHour')}
                description={t('platformHourZone', { zone })}
                value={String(form.scanScheduleHour)}
                allowDeselect={false}
                disabled={!canEdit}
                error={byField.scanScheduleHour}
                data={hours}
                onChange={(v) => v && set('scanScheduleHour', Number(v))}
                maw={200}
              />
            </Group>
          )}
          {saved.nextScheduledScanAt && (
            <Text size="sm" data-testid="platform-next-scan">
              {t('platformNextScan', { at: format.dateTime(saved.nextScheduledScanAt) })}
            </Text>
          )}
          <Switch
            label={t('platformAutonomous')}
            description={t('platformAutonomousHelp')}
            checked={form.autonomousScanning}
            disabled={!canEdit}
            onChange={(e) => set('autonomousScanning', e.currentTarget.checked)}
          />
        </SettingCard>
        <SettingCard
          title={t('platformFixVerification')}
          badge={planFor(plan.fixVerification, 'fixVerification')}
        >
          <Switch
            label={t('platformFixVerificationLabel')}
            description={
              plan.fixVerification
                ? t('platformFixVerificationHelp')
                : t('platformNeedsPlan', { plan: PLAN_CATALOG.pro.name, current: plan.name })
            }
            checked={form.fixVerification}
            // Off is always allowed; on needs the plan.
            disabled={!canEdit || (!plan.fixVerification && !form.fixVerification)}
            onChange={(e) => set('fixVerification', e.currentTarget.checked)}
          />
        </SettingCard>
        <SettingCard title={t('platformDeepAi')} badge={planFor(plan.deepAiEnrichment, 'deepAiEnrichment')}>
          <Switch
            label={t('platformDeepAiLabel')}
            description={
              plan.deepAiEnrichment
                ? t('platformDeepAiHelp')
                : t('platformNeedsPlan', { plan: PLAN_CATALOG.enterprise.name, current: plan.name })
            }
            checked={form.deepAiEnrichment}
            disabled={!canEdit || (!plan.deepAiEnrichment && !form.deepAiEnrichment)}
            onChange={(e) => set('deepAiEnrichment', e.currentTarget.checked)}
          />
        </SettingCard>
        <SettingCard title={t('platformRemediationLanguage')}>
          <Select
            label={t('platformRemediationLanguageLabel')}
            description={t('platformRemediationLanguageHelp')}
            value={form.remediationLanguage}
            allowDeselect={false}
            disabled={!canEdit}
            error={byField.remediationLanguage}
            data={REMEDIATION_LANGUAGES.map((code) => ({
              value: code,
              label: new Intl.DisplayNames([format.locale], { type: 'language' }).of(code) ?? code,
            }))}
            onChange={(v) => v && set('remediationLanguage', v as Editable['remediationLanguage'])}
            maw={320}
          />
        </SettingCard>
        <ErrorText error={rest} feature={feature} />
        {canEdit && (
          <Group>
            <Button type="submit" loading={save.isPending} disabled={!dirty}>
              {t('platformSave')}
            </Button>
          </Group>
        )}
      </Stack>
    </form>
  );
}
