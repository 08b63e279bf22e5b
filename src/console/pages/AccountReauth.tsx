import { PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, api } from '../api.ts';
import { Dialog, DialogActions } from '../components.tsx';
import { useMe } from '../hooks.ts';
import { ErrorText, fieldErrors } from '../problems.tsx';

/**
 * "Confirm it is you": adding a credential asks for a session proven in the last 15 minutes (the
 * server answers 403 reauthentication_required otherwise). The dialog takes the password, and a
 * code when 2FA is on, re-authenticates this session, then the caller retries what was refused.
 */

export const needsReauthentication = (error: unknown) =>
  error instanceof ApiError && error.code === 'reauthentication_required';

export function ReauthDialog({ onCancel, onDone }: { onCancel: () => void; onDone: () => void }) {
  const { t } = useTranslation();
  const withCode = useMe().data?.user.twoFactorEnabled ?? false;
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const confirm = useMutation({
    mutationFn: () =>
      api<undefined>('POST', '/me/reauthenticate', {
        password,
        ...(withCode && code.trim() ? { code: code.replace(/\s/g, '') } : {}),
      }),
    onSuccess: onDone,
  });
  const { byField, rest } = fieldErrors(t, confirm.error, ['password', 'code']);
  const wrongPassword = confirm.error instanceof ApiError && confirm.error.code === 'invalid_credentials';
  const wrongCode =
    confirm.error instanceof ApiError &&
    ['invalid_second_factor', 'second_factor_required'].includes(confirm.error.code);
  const edited = () => {
    if (!confirm.isPending) confirm.reset();
  };
  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    confirm.mutate();
  };
  return (
    <Dialog opened onClose={onCancel} title={t('reauthTitle')}>
      <form noValidate onSubmit={submit}>
        <Stack>
          <Text>{withCode ? t('reauthHelpWithCode') : t('reauthHelp')}</Text>
          <PasswordInput
            label={t('password')}
            required
            autoComplete="current-password"
            data-autofocus
            value={password}
            error={wrongPassword ? t('reauthWrongPassword') : byField.password}
            onChange={(e) => {
              setPassword(e.currentTarget.value);
              edited();
            }}
          />
          {withCode && (
            <TextInput
              label={t('twoFactorCodeOrRecovery')}
              required
              autoComplete="one-time-code"
              value={code}
              error={wrongCode ? t('reauthWrongCode') : byField.code}
              onChange={(e) => {
                setCode(e.currentTarget.value);
                edited();
              }}
            />
          )}
          <ErrorText error={wrongPassword || wrongCode ? null : rest} />
          <DialogActions
            onCancel={onCancel}
            onConfirm={() => submit()}
            label={t('reauthConfirm')}
            color="blue"
            loading={confirm.isPending}
          />
        </Stack>
      </form>
    </Dialog>
  );
}
