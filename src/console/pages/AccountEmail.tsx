import { Alert, Button, Group, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type Me } from '../api.ts';
import { Section } from '../components.tsx';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';

/** Shown while the account's address is unproven, with a way to have the link mailed again. */
export function EmailVerificationBanner({ user }: { user: Me['user'] }) {
  const { t } = useTranslation();
  const resend = useMutation({
    mutationFn: () => api('POST', '/me/email-verification'),
    onSuccess: () => notify(t('recoveryVerificationSent', { email: user.email })),
  });
  if (user.emailVerified) return null;
  return (
    // The title inside, in the body's colour: a yellow or orange title on its tinted ground is too faint to read.
    <Alert color="orange" data-testid="unverified-banner">
      <Stack gap="xs">
        <Text size="sm" fw={700}>
          {t('recoveryUnverifiedTitle')}
        </Text>
        <Text size="sm">{t('recoveryUnverified', { email: user.email })}</Text>
        <ErrorText error={resend.error} />
        <Group>
          <Button size="xs" variant="default" onClick={() => resend.mutate()} loading={resend.isPending}>
            {t('recoveryResend')}
          </Button>
        </Group>
      </Stack>
    </Alert>
  );
}

/** A new address: a link goes to it, a notice to the current one; nothing changes until it is followed. */
export function ChangeEmailSection({ email }: { email: string }) {
  const { t } = useTranslation();
  const [form, setForm] = useState({ newEmail: '', password: '' });
  const change = useMutation({
    mutationFn: () => api('POST', '/me/email', form),
    onSuccess: () => {
      notify(t('recoveryChangeSent', { email: form.newEmail }));
      setForm({ newEmail: '', password: '' });
    },
  });
  const { byField, rest } = fieldErrors(t, change.error, ['newEmail', 'password']);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    change.mutate();
  };
  return (
    <Section title={t('recoveryChangeTitle')}>
      <form onSubmit={onSubmit} noValidate>
        <Stack maw={420}>
          <Text size="sm">{t('recoveryChangeHelp', { email })}</Text>
          <TextInput
            label={t('recoveryNewEmail')}
            type="email"
            required
            autoComplete="email"
            value={form.newEmail}
            error={byField.newEmail}
            onChange={(e) => setForm({ ...form, newEmail: e.currentTarget.value })}
          />
          <PasswordInput
            label={t('accountCurrentPassword')}
            required
            autoComplete="current-password"
            value={form.password}
            error={byField.password}
            onChange={(e) => setForm({ ...form, password: e.currentTarget.value })}
          />
          <ErrorText error={rest} />
          <Group>
            <Button type="submit" loading={change.isPending}>
              {t('recoveryChangeSubmit')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Section>
  );
}
