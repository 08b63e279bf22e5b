import {
  Alert,
  Button,
  Group,
  PasswordInput,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type ChangeEvent, type FormEvent, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { ApiError, api, type Me } from '../api.ts';
import { useCatalogWords } from '../catalog-words.ts';
import { ConfirmDialog, RowDangerButton, Section } from '../components.tsx';
import { useMe } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';
import { forgetOrg, meQuery } from '../queries.ts';
import { DeleteAccountSection, PersonalDataSection } from './AccountDanger.tsx';
import { ChangeEmailSection, EmailVerificationBanner } from './AccountEmail.tsx';
import { SessionsSection } from './AccountSessions.tsx';
import { NewPasswordFields } from './NewPasswordFields.tsx';

type User = Me['user'];
type Membership = Me['memberships'][number];

/** The select value standing for "no preference" (null on the server). */
const NOT_SET = 'not-set';

/**
 * Settings → Account: the signed-in user's own profile, password, sessions and memberships. Nothing
 * here needs an organization permission: every action is about the user themself.
 */
export function AccountPage() {
  const { t } = useTranslation();
  const me = useMe();
  const user = me.data?.user;
  if (!user) return null;
  return (
    <Stack gap="xl">
      <Stack gap={4}>
        <Title order={1} size="h3">
          {t('account')}
        </Title>
        <Text>{t('accountIntro')}</Text>
      </Stack>
      <EmailVerificationBanner user={user} />
      <ProfileSection key={user.id} user={user} />
      <ChangeEmailSection email={user.email} />
      <PasswordSection email={user.email} />
      <SessionsSection />
      <OrganizationsSection memberships={me.data?.memberships ?? []} />
      <PersonalDataSection />
      <DeleteAccountSection />
    </Stack>
  );
}

const languageOf = (locale: string | null) =>
  locale === null ? NOT_SET : locale.startsWith('es') ? 'es' : 'en';

/** IANA zones this browser knows, plus UTC (which the server accepts and some browsers omit). */
function timeZoneOptions(current: string | null): string[] {
  const zones = new Set(['UTC', ...Intl.supportedValuesOf('timeZone')]);
  if (current) zones.add(current);
  return [...zones];
}

function ProfileSection({ user }: { user: User }) {
  const { t, i18n } = useTranslation();
  const client = useQueryClient();
  const [name, setName] = useState(user.name);
  const [language, setLang] = useState(languageOf(user.locale));
  const [timezone, setTimezone] = useState(user.timezone ?? NOT_SET);
  const zones = useMemo(() => timeZoneOptions(user.timezone), [user.timezone]);
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  // Only what changed is sent: an unchanged regional locale (say es-MX) stays as it is.
  const changes: { name?: string; locale?: string | null; timezone?: string | null } = {};
  if (name.trim() !== user.name) changes.name = name.trim();
  if (language !== languageOf(user.locale)) changes.locale = language === NOT_SET ? null : language;
  if (timezone !== (user.timezone ?? NOT_SET)) changes.timezone = timezone === NOT_SET ? null : timezone;
  const dirty = Object.keys(changes).length > 0;

  const save = useMutation({
    mutationFn: (body: typeof changes) => api<{ user: User }>('PATCH', '/me', body),
    onSuccess: async (res) => {
      setName(res.user.name);
      // A new language applies at once, so that the confirmation is already in it.
      if (res.user.locale) await i18n.changeLanguage(res.user.locale.startsWith('es') ? 'es' : 'en');
      notify(i18n.t('accountSaved'));
      // The saved user at once (the form is no longer "changed"), then /me again for the rest; the
      // layout's reader of /me switches the UI language when the saved locale changes.
      client.setQueryData(meQuery.queryKey, (old) => (old ? { ...old, user: res.user } : old));
      await client.invalidateQueries({ queryKey: ['me'], exact: true });
    },
  });
  const { byField, rest } = fieldErrors(t, save.error, ['name', 'locale', 'timezone'], {
    rules: { name: t('accountErrBlank') },
  });
  const edited = () => save.reset();
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (dirty) save.mutate(changes);
  };

  return (
    <Section title={t('accountProfile')}>
      <form onSubmit={onSubmit} noValidate>
        <Stack maw={420}>
          <TextInput
            label={t('name')}
            required
            maxLength={100}
            autoComplete="name"
            value={name}
            error={byField.name}
            onChange={(e) => {
              setName(e.currentTarget.value);
              edited();
            }}
          />
          <Select
            label={t('accountLanguage')}
            description={t('accountLanguageHelp')}
            value={language}
            error={byField.locale}
            allowDeselect={false}
            data={[
              { value: 'en', label: 'English' },
              { value: 'es', label: 'Español' },
              { value: NOT_SET, label: t('accountNotSet') },
            ]}
            onChange={(v) => {
              if (v) setLang(v);
              edited();
            }}
          />
          <Select
            label={t('accountTimezone')}
            description={t('accountTimezoneHelp', { zone: browserZone })}
            searchable
            value={timezone}
            error={byField.timezone}
            allowDeselect={false}
            nothingFoundMessage={t('accountTimezoneNone')}
            data={[{ value: NOT_SET, label: t('accountNotSet') }, ...zones]}
            onChange={(v) => {
              if (v) setTimezone(v);
              edited();
            }}
          />
          <ErrorText error={rest} />
          <Group>
            <Button type="submit" loading={save.isPending} disabled={!dirty || !name.trim()}>
              {t('accountSave')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Section>
  );
}

function PasswordSection({ email }: { email: string }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [form, setForm] = useState({ current: '', next: '', confirm: '' });
  const [mismatch, setMismatch] = useState(false);
  const change = useMutation({
    mutationFn: () => api('POST', '/me/password', { currentPassword: form.current, newPassword: form.next }),
    onSuccess: async () => {
      setForm({ current: '', next: '', confirm: '' });
      notify(t('accountPasswordChanged'));
      // The server ended every other session and gave this browser a new cookie.
      await client.invalidateQueries({ queryKey: ['sessions'] });
    },
  });
  const { byField, rest } = fieldErrors(t, change.error, ['currentPassword', 'newPassword']);
  const set = (field: keyof typeof form) => (e: ChangeEvent<HTMLInputElement>) => {
    setForm({ ...form, [field]: e.currentTarget.value });
    setMismatch(false);
    if (!change.isPending) change.reset();
  };
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (form.next !== form.confirm) {
      setMismatch(true);
      return;
    }
    change.mutate();
  };
  return (
    <Section title={t('accountPasswordTitle')}>
      <form onSubmit={onSubmit}>
        <Stack maw={420}>
          {/* Tells password managers whose password this is. */}
          <input type="email" name="username" autoComplete="username" value={email} readOnly hidden />
          <PasswordInput
            label={t('accountCurrentPassword')}
            required
            autoComplete="current-password"
            value={form.current}
            error={byField.currentPassword}
            onChange={set('current')}
          />
          <NewPasswordFields
            next={form.next}
            confirm={form.confirm}
            error={byField.newPassword}
            mismatch={mismatch}
            onNext={set('next')}
            onConfirm={set('confirm')}
          />
          <ErrorText error={rest} />
          <Group>
            <Button type="submit" loading={change.isPending}>
              {t('accountChangePassword')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Section>
  );
}

function OrganizationsSection({ memberships }: { memberships: Membership[] }) {
  const { t } = useTranslation();
  const catalog = useCatalogWords();
  const client = useQueryClient();
  const navigate = useNavigate();
  const [leaving, setLeaving] = useState<Membership | null>(null);
  const leave = useMutation({
    mutationFn: (m: Membership) => api('DELETE', `/me/memberships/${m.org.id}`),
    onSuccess: async (_res, m) => {
      setLeaving(null);
      notify(t('accountLeft', { org: m.org.name }));
      // Nothing read in that org stays cached.
      forgetOrg(client, m.org.id);
      await client.invalidateQueries({ queryKey: ['me'], exact: true });
      navigate('/');
    },
  });
  const close = () => {
    setLeaving(null);
    leave.reset();
  };
  const org = leaving?.org.name ?? '';
  const lastOwner = leave.error instanceof ApiError && leave.error.code === 'last_owner';

  return (
    <Section title={t('accountOrgs')}>
      {memberships.length === 0 ? (
        <Text>{t('noItems')}</Text>
      ) : (
        <Table>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('organization')}</Table.Th>
              <Table.Th>{t('role')}</Table.Th>
              <Table.Th>
                <VisuallyHidden>{t('action')}</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {memberships.map((m) => (
              <Table.Tr key={m.org.id} data-testid={`membership-${m.org.id}`}>
                <Table.Td>{m.org.name}</Table.Td>
                <Table.Td>{catalog.roleName(m.role)}</Table.Td>
                <Table.Td>
                  <RowDangerButton
                    label={t('accountLeaveLabel', { org: m.org.name })}
                    onClick={() => setLeaving(m)}
                  >
                    {t('accountLeave')}
                  </RowDangerButton>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <ConfirmDialog
        opened={leaving !== null}
        onCancel={close}
        title={t('accountLeaveTitle', { org })}
        message={t('accountLeaveConfirm', { org })}
        confirmLabel={t('accountLeave')}
        loading={leave.isPending}
        disabled={lastOwner}
        error={lastOwner ? null : leave.error}
        onConfirm={() => leaving && leave.mutate(leaving)}
      >
        {lastOwner && (
          <Alert color="red" role="alert" title={t('accountLastOwnerTitle')}>
            {t('accountLastOwner', { org })}
          </Alert>
        )}
      </ConfirmDialog>
    </Section>
  );
}
