import { Button, Checkbox, Group, Stack, Text, Title } from '@mantine/core';
import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import {
  QUOTA_CHANNELS,
  QUOTA_THRESHOLDS,
  type QuotaAlertsView,
  type QuotaChannel,
} from '../../contracts/notifications.ts';
import { api } from '../api.ts';
import { PageLoader, Section } from '../components.tsx';
import { usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText } from '../problems.tsx';
import { SlackSection } from './OrgSlack.tsx';

const quotaAlertsQuery = (orgId: string) =>
  queryOptions({
    queryKey: ['quota-alerts', orgId],
    queryFn: () => api<QuotaAlertsView>('GET', `/orgs/${orgId}/quota-alerts`),
  });

/**
 * Settings → Notifications: the organization's Slack channel (integrations:manage) and its quota
 * alerts (quota:manage); each part is shown to those who may change it.
 */
export function OrgNotificationsPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const slack = can.has('integrations:manage');
  const quota = can.has('quota:manage');
  return (
    <Stack gap="xl" maw={880}>
      <Stack gap={4}>
        <Title order={1} size="h3">
          {t('notifOrgTitle')}
        </Title>
        <Text>{t('notifOrgIntro')}</Text>
      </Stack>
      {!slack && !quota && <Text>{t('notifOrgNeither')}</Text>}
      {slack && <SlackSection orgId={orgId} />}
      {quota && <QuotaAlertsSection orgId={orgId} />}
    </Stack>
  );
}

function QuotaAlertsSection({ orgId }: { orgId: string }) {
  const { t } = useTranslation();
  const alerts = useQuery(quotaAlertsQuery(orgId));
  return (
    <Section title={t('notifQuotaTitle')} testId="quota-alerts">
      <Text size="sm">{t('notifQuotaHelp')}</Text>
      {alerts.isPending && <PageLoader label={t('notifQuotaLoading')} />}
      <ErrorText error={alerts.error} />
      {alerts.data && <QuotaAlertsForm key={JSON.stringify(alerts.data)} orgId={orgId} saved={alerts.data} />}
    </Section>
  );
}

function QuotaAlertsForm({ orgId, saved }: { orgId: string; saved: QuotaAlertsView }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [thresholds, setThresholds] = useState(saved.thresholds.map(String));
  const [channels, setChannels] = useState<string[]>(saved.channels);
  const chosen = {
    thresholds: QUOTA_THRESHOLDS.filter((p) => thresholds.includes(String(p))),
    channels: QUOTA_CHANNELS.filter((c) => channels.includes(c)) as QuotaChannel[],
  };
  const dirty = JSON.stringify(chosen) !== JSON.stringify(saved);
  const save = useMutation({
    mutationFn: () => api<QuotaAlertsView>('PATCH', `/orgs/${orgId}/quota-alerts`, chosen),
    onSuccess: (updated) => {
      client.setQueryData(quotaAlertsQuery(orgId).queryKey, updated);
      notify(t('notifQuotaSaved'));
    },
  });
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (dirty) save.mutate();
  };
  return (
    <form onSubmit={onSubmit} noValidate>
      <Stack maw={640}>
        <Checkbox.Group label={t('notifQuotaThresholds')} value={thresholds} onChange={setThresholds}>
          <Group mt={6}>
            {QUOTA_THRESHOLDS.map((p) => (
              <Checkbox key={p} value={String(p)} label={t('notifQuotaThreshold', { percent: p })} />
            ))}
          </Group>
        </Checkbox.Group>
        <Checkbox.Group label={t('notifQuotaChannels')} value={channels} onChange={setChannels}>
          <Group mt={6}>
            {QUOTA_CHANNELS.map((c) => (
              <Checkbox key={c} value={c} label={t(`notifQuotaChannel_${c}`)} />
            ))}
          </Group>
        </Checkbox.Group>
        <ErrorText error={save.error} />
        <Group>
          <Button type="submit" disabled={!dirty} loading={save.isPending}>
            {t('notifQuotaSave')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
