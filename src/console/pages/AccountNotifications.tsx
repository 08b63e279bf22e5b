import {
  Badge,
  Button,
  Checkbox,
  Group,
  Radio,
  Select,
  Stack,
  Switch,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import {
  EMAIL_DIGESTS,
  type EmailDigest,
  NOTIFICATION_TYPES,
  type NotificationPreferences,
  type NotificationType,
  type TypeSwitches,
} from '../../contracts/notifications.ts';
import { api } from '../api.ts';
import { PageLoader, Section } from '../components.tsx';
import { usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';
import { meQuery, orgQuery } from '../queries.ts';

export const preferencesQuery = queryOptions({
  queryKey: ['notification-preferences'],
  queryFn: () => api<NotificationPreferences>('GET', '/me/notifications'),
});

interface Form {
  emailDigest: EmailDigest;
  quiet: boolean;
  start: string;
  end: string;
  timeZone: string;
  types: Record<NotificationType, TypeSwitches>;
  phone: string;
}

const fromSaved = (p: NotificationPreferences): Form => ({
  emailDigest: p.emailDigest,
  quiet: p.quietHours !== null,
  start: p.quietHours?.start ?? '22:00',
  end: p.quietHours?.end ?? '07:00',
  timeZone: p.timeZone,
  types: p.types,
  phone: p.phone ?? '',
});

/** The PATCH body: what differs from the saved preferences (in `types`, the switches that do). */
function changesOf(form: Form, saved: NotificationPreferences): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (form.emailDigest !== saved.emailDigest) body.emailDigest = form.emailDigest;
  const quiet = form.quiet ? { start: form.start, end: form.end } : null;
  if (JSON.stringify(quiet) !== JSON.stringify(saved.quietHours)) body.quietHours = quiet;
  if (form.timeZone !== saved.timeZone) body.timeZone = form.timeZone;
  const types: Record<string, Partial<TypeSwitches>> = {};
  for (const type of NOTIFICATION_TYPES) {
    const diff: Partial<TypeSwitches> = {};
    if (form.types[type].email !== saved.types[type].email) diff.email = form.types[type].email;
    if (form.types[type].inApp !== saved.types[type].inApp) diff.inApp = form.types[type].inApp;
    if (Object.keys(diff).length > 0) types[type] = diff;
  }
  if (Object.keys(types).length > 0) body.types = types;
  const phone = form.phone.trim() === '' ? null : form.phone.trim();
  if (phone !== saved.phone) body.phone = phone;
  return body;
}

/** Account → Notifications: the signed-in user's own preferences (no organization permission involved). */
export function AccountNotificationsPage() {
  const { t } = useTranslation();
  const prefs = useQuery(preferencesQuery);
  return (
    <Stack gap="xl" maw={880}>
      <Stack gap={4}>
        <Title order={1} size="h3">
          {t('notifAccountTitle')}
        </Title>
        <Text>{t('notifAccountIntro')}</Text>
      </Stack>
      {prefs.isPending && <PageLoader label={t('notifLoading')} />}
      <ErrorText error={prefs.error} />
      {prefs.data && <PreferencesForm key={JSON.stringify(prefs.data)} saved={prefs.data} />}
    </Stack>
  );
}

function PreferencesForm({ saved }: { saved: NotificationPreferences }) {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const client = useQueryClient();
  // The plan is read with the profile, which needs settings:read; without it, nothing is said of it.
  const org = useQuery({ ...orgQuery(orgId), enabled: can.has('settings:read') });
  const [form, setForm] = useState(() => fromSaved(saved));
  const zones = useMemo(
    () => [...new Set(['UTC', ...Intl.supportedValuesOf('timeZone'), saved.timeZone])],
    [saved],
  );
  const body = changesOf(form, saved);
  const dirty = Object.keys(body).length > 0;
  const sameHours = form.quiet && form.start === form.end;
  const save = useMutation({
    mutationFn: (changes: Record<string, unknown>) =>
      api<NotificationPreferences>('PATCH', '/me/notifications', changes),
    onSuccess: async (updated) => {
      client.setQueryData(preferencesQuery.queryKey, updated);
      notify(t('notifSaved'));
      // The time zone is the profile's too.
      if ('timeZone' in (save.variables ?? {}))
        await client.invalidateQueries({ queryKey: meQuery.queryKey });
    },
  });
  const { byField, rest } = fieldErrors(
    t,
    save.error,
    ['emailDigest', 'quietHours', 'timeZone', 'types', 'phone'],
    {
      body: save.variables,
    },
  );
  const set = <K extends keyof Form>(key: K, value: Form[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    if (!save.isPending) save.reset();
  };
  const setSwitch = (type: NotificationType, which: keyof TypeSwitches, on: boolean) =>
    set('types', { ...form.types, [type]: { ...form.types[type], [which]: on } });
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (dirty && !sameHours) save.mutate(body);
  };
  const smsPlan = org.data?.entitlements as { name: string; sms?: boolean } | undefined;

  return (
    <form onSubmit={onSubmit} noValidate>
      <Stack gap="xl">
        <Section title={t('notifEmailTitle')}>
          <Radio.Group
            label={t('notifDigestLabel')}
            description={t('notifDigestHelp')}
            value={form.emailDigest}
            error={byField.emailDigest}
            onChange={(v) => set('emailDigest', v as EmailDigest)}
          >
            <Stack gap={6} mt={6}>
              {EMAIL_DIGESTS.map((d) => (
                <Radio key={d} value={d} label={t(`notifDigest_${d}`)} />
              ))}
            </Stack>
          </Radio.Group>
        </Section>

        <Section title={t('notifQuietTitle')}>
          <Switch
            label={t('notifQuietOn')}
            description={t('notifQuietHelp')}
            checked={form.quiet}
            onChange={(e) => set('quiet', e.currentTarget.checked)}
          />
          <Group align="flex-start">
            <TextInput
              type="time"
              label={t('notifQuietStart')}
              w={140}
              disabled={!form.quiet}
              value={form.start}
              error={byField.quietHours}
              onChange={(e) => set('start', e.currentTarget.value)}
            />
            <TextInput
              type="time"
              label={t('notifQuietEnd')}
              w={140}
              disabled={!form.quiet}
              value={form.end}
              error={sameHours ? t('notifQuietSame') : undefined}
              onChange={(e) => set('end', e.currentTarget.value)}
            />
          </Group>
          <Select
            label={t('notifTimeZone')}
            description={t('notifTimeZoneHelp')}
            searchable
            maw={420}
            allowDeselect={false}
            nothingFoundMessage={t('notifTimeZoneNone')}
            value={form.timeZone}
            error={byField.timeZone}
            data={zones}
            onChange={(v) => v && set('timeZone', v)}
          />
        </Section>

        <Section title={t('notifTypesTitle')}>
          <Table.ScrollContainer minWidth={480}>
            <Table striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('notifTypeColumn')}</Table.Th>
                  <Table.Th>{t('notifEmailColumn')}</Table.Th>
                  <Table.Th>{t('notifInAppColumn')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {NOTIFICATION_TYPES.map((type) => {
                  const name = t(`notifType_${type}`);
                  return (
                    <Table.Tr key={type}>
                      <Table.Td>{name}</Table.Td>
                      <Table.Td>
                        <Checkbox
                          aria-label={t('notifEmailFor', { type: name })}
                          checked={form.types[type].email}
                          disabled={form.emailDigest === 'off'}
                          onChange={(e) => setSwitch(type, 'email', e.currentTarget.checked)}
                        />
                      </Table.Td>
                      <Table.Td>
                        <Checkbox
                          aria-label={t('notifInAppFor', { type: name })}
                          checked={form.types[type].inApp}
                          onChange={(e) => setSwitch(type, 'inApp', e.currentTarget.checked)}
                        />
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </Section>

        <Section title={t('notifSmsTitle')}>
          <Group gap="xs">
            <Badge variant="light">{t('notifSmsEnterprise')}</Badge>
          </Group>
          <Text size="sm">{t('notifSmsHelp')}</Text>
          {smsPlan && !smsPlan.sms && <Text size="sm">{t('notifSmsNotOnPlan', { plan: smsPlan.name })}</Text>}
          <TextInput
            type="tel"
            autoComplete="tel"
            label={t('notifPhone')}
            description={t('notifPhoneHelp')}
            maw={320}
            value={form.phone}
            error={byField.phone}
            onChange={(e) => set('phone', e.currentTarget.value)}
          />
        </Section>

        <ErrorText error={rest} />
        <Group>
          <Button type="submit" disabled={!dirty || sameHours} loading={save.isPending}>
            {t('notifSave')}
          </Button>
          <Button
            variant="default"
            disabled={!dirty || save.isPending}
            onClick={() => {
              setForm(fromSaved(saved));
              save.reset();
            }}
          >
            {t('notifDiscard')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
