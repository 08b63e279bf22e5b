import { Anchor, Button, Card, Center, Group, Stack, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type ChangeEvent, type FormEvent, type ReactNode, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { ApiError, api, type Me } from '../api.ts';
import { SignInFirst } from '../components.tsx';
import { useLinkToken, useMe } from '../hooks.ts';
import { LanguageSelect, SignedInPage } from '../layout.tsx';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';
import { NewPasswordFields } from './NewPasswordFields.tsx';

/**
 * The pages a mailed link opens (`/reset-password`, `/verify-email`, `/confirm-email`, each with
 * `#token=…` in the fragment, which no server sees) and the page that asks for a reset link.
 * Nothing happens on opening a link: the reader presses the button, so a mail scanner that opens
 * links spends none.
 */

function PublicCard({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Center mih="100vh" p="sm">
      <Card withBorder w={420} maw="100%" p="lg" component="main">
        <Stack>
          <Group justify="space-between">
            <Title order={1} size="h3">
              {title}
            </Title>
            <LanguageSelect />
          </Group>
          {children}
        </Stack>
      </Card>
    </Center>
  );
}

const isCode = (error: unknown, code: string) => error instanceof ApiError && error.code === code;

export function ForgotPasswordPage() {
  const { t } = useTranslation();
  const [email, setEmail] = useState('');
  const ask = useMutation({ mutationFn: () => api('POST', '/auth/password-reset', { email }) });
  const { byField, rest } = fieldErrors(t, ask.error, ['email']);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    ask.mutate();
  };
  return (
    <PublicCard title={t('recoveryForgotTitle')}>
      {ask.isSuccess ? (
        <Text role="status">{t('recoveryForgotSent', { email })}</Text>
      ) : (
        <form onSubmit={onSubmit} noValidate>
          <Stack>
            <Text>{t('recoveryForgotHelp')}</Text>
            <TextInput
              label={t('email')}
              type="email"
              required
              autoComplete="email"
              value={email}
              error={byField.email}
              onChange={(e) => setEmail(e.currentTarget.value)}
            />
            <ErrorText error={rest} />
            <Button type="submit" loading={ask.isPending}>
              {t('recoveryForgotSend')}
            </Button>
          </Stack>
        </form>
      )}
      <Anchor component={Link} to="/signin">
        {t('recoveryBackToSignIn')}
      </Anchor>
    </PublicCard>
  );
}

export function ResetPasswordPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const client = useQueryClient();
  const token = useLinkToken('gatehouse.reset');
  const [form, setForm] = useState({ next: '', confirm: '', code: '' });
  const [mismatch, setMismatch] = useState(false);
  // Shown once the server says the account has two-factor authentication on.
  const [needsCode, setNeedsCode] = useState(false);
  const reset = useMutation({
    mutationFn: () => {
      const code = form.code.trim();
      const second = !code ? {} : /^[0-9]{6,8}$/.test(code) ? { totp: code } : { recoveryCode: code };
      return api('POST', '/auth/password-reset/confirm', { token, newPassword: form.next, ...second });
    },
    onSuccess: () => {
      sessionStorage.removeItem('gatehouse.reset');
      // Every session ended, this browser's too.
      client.removeQueries({ queryKey: ['me'] });
      notify(t('recoveryResetDone'));
      navigate('/signin');
    },
    onError: (err) => {
      if (isCode(err, 'second_factor_required')) setNeedsCode(true);
    },
  });
  const { byField, rest } = fieldErrors(t, reset.error, ['newPassword']);
  const set = (field: keyof typeof form) => (e: ChangeEvent<HTMLInputElement>) => {
    setForm({ ...form, [field]: e.currentTarget.value });
    setMismatch(false);
  };
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (form.next !== form.confirm) {
      setMismatch(true);
      return;
    }
    reset.mutate();
  };
  const expired = isCode(reset.error, 'token_expired');
  return (
    <PublicCard title={t('recoveryResetTitle')}>
      {!token ? (
        <Text>{t('recoveryNoLink')}</Text>
      ) : (
        <form onSubmit={onSubmit} noValidate>
          <Stack>
            <NewPasswordFields
              next={form.next}
              confirm={form.confirm}
              error={byField.newPassword}
              mismatch={mismatch}
              onNext={set('next')}
              onConfirm={set('confirm')}
            />
            {needsCode && (
              <TextInput
                label={t('recoverySecondFactor')}
                description={t('recoverySecondFactorHelp')}
                required
                autoComplete="one-time-code"
                value={form.code}
                onChange={set('code')}
              />
            )}
            <ErrorText error={rest} />
            <Button type="submit" loading={reset.isPending} disabled={expired}>
              {t('recoveryResetSubmit')}
            </Button>
          </Stack>
        </form>
      )}
      <Anchor component={Link} to={expired || !token ? '/forgot-password' : '/signin'}>
        {expired || !token ? t('recoveryAskAgain') : t('recoveryBackToSignIn')}
      </Anchor>
    </PublicCard>
  );
}

export function VerifyEmailPage() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const token = useLinkToken('gatehouse.verify');
  const verify = useMutation({
    mutationFn: () => api<{ user: Me['user'] }>('POST', '/auth/verify-email', { token }),
    onSuccess: async () => {
      sessionStorage.removeItem('gatehouse.verify');
      await client.invalidateQueries({ queryKey: ['me'] });
    },
  });
  return (
    <PublicCard title={t('recoveryVerifyTitle')}>
      {!token ? (
        <Text>{t('recoveryNoLink')}</Text>
      ) : verify.data ? (
        <>
          <Text role="status">{t('recoveryVerified', { email: verify.data.user.email })}</Text>
          <Button component={Link} to="/">
            {t('recoveryToConsole')}
          </Button>
        </>
      ) : (
        <>
          <Text>{t('recoveryVerifyHelp')}</Text>
          <ErrorText error={verify.error} />
          <Button onClick={() => verify.mutate()} loading={verify.isPending} disabled={verify.isError}>
            {t('recoveryVerifySubmit')}
          </Button>
        </>
      )}
    </PublicCard>
  );
}

/** The link mailed to a new address: confirmed by the signed-in account that asked for it. */
export function ConfirmEmailPage() {
  const { t } = useTranslation();
  const me = useMe();
  const client = useQueryClient();
  const token = useLinkToken('gatehouse.confirm-email');
  const confirm = useMutation({
    mutationFn: () => api<{ user: Me['user'] }>('POST', '/me/email/confirm', { token }),
    onSuccess: async () => {
      sessionStorage.removeItem('gatehouse.confirm-email');
      await client.invalidateQueries({ queryKey: ['me'] });
    },
  });
  const body = (
    <Stack>
      {!token ? (
        <Text>{t('recoveryNoLink')}</Text>
      ) : confirm.data ? (
        <>
          <Text role="status">{t('recoveryEmailChanged', { email: confirm.data.user.email })}</Text>
          <Group>
            <Button component={Link} to="/">
              {t('recoveryToConsole')}
            </Button>
          </Group>
        </>
      ) : me.data === null ? (
        <>
          <Text>{t('recoveryConfirmSignIn')}</Text>
          <SignInFirst back="/confirm-email" />
        </>
      ) : (
        <>
          <Text>{t('recoveryConfirmHelp')}</Text>
          <ErrorText error={confirm.error} />
          <Group>
            <Button onClick={() => confirm.mutate()} loading={confirm.isPending} disabled={confirm.isError}>
              {t('recoveryConfirmSubmit')}
            </Button>
          </Group>
        </>
      )}
    </Stack>
  );
  if (me.data) {
    return (
      <SignedInPage>
        <Stack>
          <Title order={1} size="h3">
            {t('recoveryConfirmTitle')}
          </Title>
          {body}
        </Stack>
      </SignedInPage>
    );
  }
  return <PublicCard title={t('recoveryConfirmTitle')}>{body}</PublicCard>;
}
