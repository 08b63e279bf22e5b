import { Alert, Button, Checkbox, Group, Select, Stack, Text, TextInput } from '@mantine/core';
import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { FINDING_SEVERITIES } from '../../contracts/findings.ts';
import { SLACK_EVENTS, type SlackConfigView, type SlackTestResult } from '../../contracts/notifications.ts';
import { api } from '../api.ts';
import { ConfirmDialog, PageLoader, Section } from '../components.tsx';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';

const slackQuery = (orgId: string) =>
  queryOptions({
    queryKey: ['slack', orgId],
    queryFn: () => api<SlackConfigView>('GET', `/orgs/${orgId}/slack`),
  });

const eventKey = (event: string) => `notifSlackEvent_${event.replace('.', '_')}`;

/** Settings → Notifications → Slack: connect a channel's incoming webhook, what is posted, a test. */
export function SlackSection({ orgId }: { orgId: string }) {
  const { t } = useTranslation();
  const slack = useQuery(slackQuery(orgId));
  return (
    <Section title={t('notifSlackTitle')} testId="slack">
      {slack.isPending && <PageLoader label={t('notifSlackLoading')} />}
      <ErrorText error={slack.error} />
      {slack.data && <SlackForm key={JSON.stringify(slack.data)} orgId={orgId} saved={slack.data} />}
    </Section>
  );
}

function SlackForm({ orgId, saved }: { orgId: string; saved: SlackConfigView }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>(saved.events);
  const [minSeverity, setMinSeverity] = useState<string>(saved.minSeverity);
  const [confirming, setConfirming] = useState(false);
  const dirty =
    url.trim() !== '' || events.join() !== saved.events.join() || minSeverity !== saved.minSeverity;
  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<SlackConfigView>('PUT', `/orgs/${orgId}/slack`, body),
    onSuccess: (updated) => {
      client.setQueryData(slackQuery(orgId).queryKey, updated);
      notify(t('notifSlackSaved'));
    },
  });
  const test = useMutation({
    mutationFn: () =>
      api<SlackTestResult>('POST', `/orgs/${orgId}/slack/test`, url.trim() ? { webhookUrl: url.trim() } : {}),
  });
  const disconnect = useMutation({
    mutationFn: () => api('DELETE', `/orgs/${orgId}/slack`),
    onSuccess: async () => {
      setConfirming(false);
      notify(t('notifSlackDisconnected'));
      await client.invalidateQueries({ queryKey: ['slack', orgId] });
    },
  });
  const { byField, rest } = fieldErrors(t, save.error ?? test.error, ['webhookUrl', 'events', 'minSeverity']);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    test.reset();
    save.mutate({ ...(url.trim() ? { webhookUrl: url.trim() } : {}), events, minSeverity });
  };
  const result = test.data;
  return (
    <form onSubmit={onSubmit} noValidate>
      <Stack maw={640}>
        <Text>
          {saved.configured
            ? t('notifSlackConnected', { host: saved.webhookHost ?? '' })
            : t('notifSlackNotConnected')}
        </Text>
        <TextInput
          type="url"
          label={t('notifSlackUrl')}
          description={t('notifSlackUrlHelp')}
          placeholder={saved.webhookUrlSet ? t('notifSlackUrlKeep') : 'https://hooks.slack.com/services/…'}
          autoComplete="off"
          spellCheck={false}
          required={!saved.configured}
          value={url}
          error={byField.webhookUrl}
          onChange={(e) => {
            setUrl(e.currentTarget.value);
            save.reset();
            test.reset();
          }}
        />
        <Checkbox.Group
          label={t('notifSlackEvents')}
          value={events}
          onChange={setEvents}
          error={byField.events}
        >
          <Stack gap={6} mt={6}>
            {SLACK_EVENTS.map((event) => (
              <Checkbox key={event} value={event} label={t(eventKey(event))} />
            ))}
          </Stack>
        </Checkbox.Group>
        <Select
          label={t('notifSlackSeverity')}
          maw={260}
          allowDeselect={false}
          value={minSeverity}
          error={byField.minSeverity}
          data={FINDING_SEVERITIES.map((s) => ({ value: s, label: t(`notifSeverity_${s}`) }))}
          onChange={(v) => v && setMinSeverity(v)}
        />
        <ErrorText error={rest} />
        {result && (
          <Alert color={result.delivered ? 'green' : 'orange'} role="status">
            {result.delivered
              ? t('notifSlackTestOk', { status: result.status, ms: result.durationMs })
              : result.status !== null
                ? t('notifSlackTestFailed', { status: result.status, body: result.body || '—' })
                : t('notifSlackTestUnreached', { error: result.error ?? '' })}
          </Alert>
        )}
        <Group>
          <Button
            type="submit"
            disabled={!dirty || (!saved.configured && !url.trim())}
            loading={save.isPending}
          >
            {t('notifSlackSave')}
          </Button>
          <Button
            variant="default"
            disabled={!saved.configured && !url.trim()}
            loading={test.isPending}
            onClick={() => {
              save.reset();
              test.mutate();
            }}
          >
            {t('notifSlackTest')}
          </Button>
          {saved.configured && (
            <Button variant="default" color="red" onClick={() => setConfirming(true)}>
              {t('notifSlackDisconnect')}
            </Button>
          )}
        </Group>
      </Stack>
      <ConfirmDialog
        opened={confirming}
        title={t('notifSlackDisconnectTitle')}
        message={t('notifSlackDisconnectMessage')}
        confirmLabel={t('notifSlackDisconnect')}
        loading={disconnect.isPending}
        error={disconnect.error}
        onConfirm={() => disconnect.mutate()}
        onCancel={() => {
          setConfirming(false);
          disconnect.reset();
        }}
      />
    </form>
  );
}
