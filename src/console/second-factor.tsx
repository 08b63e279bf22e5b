import { Anchor, Stack, Text, TextInput } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { ApiError } from './api.ts';

/**
 * The sign-in's second step, shown once the server answered `second_factor_required` (the password
 * was right and the account has 2FA on): a code from the authenticator app, or a recovery code.
 */

export type SecondFactor = { kind: 'totp' | 'recovery'; code: string };

/** What the login request carries for it. */
export function secondFactorBody(factor: SecondFactor): { totp: string } | { recoveryCode: string } {
  const code = factor.code.trim();
  return factor.kind === 'totp' ? { totp: code.replace(/\s/g, '') } : { recoveryCode: code };
}

/** A refusal this step shows at its own field. */
export const isSecondFactorProblem = (error: unknown) =>
  error instanceof ApiError && ['invalid_second_factor', 'second_factor_required'].includes(error.code);

export function SecondFactorStep({
  factor,
  error,
  onChange,
}: {
  factor: SecondFactor;
  error: unknown;
  onChange: (next: SecondFactor) => void;
}) {
  const { t } = useTranslation();
  const totp = factor.kind === 'totp';
  const wrong = error instanceof ApiError && error.code === 'invalid_second_factor';
  return (
    <Stack gap="xs">
      <TextInput
        // A new field for each kind: the browser's autofill and the screen reader start afresh.
        key={factor.kind}
        label={totp ? t('signInCode') : t('signInRecoveryCode')}
        description={totp ? t('signInCodeHelp') : t('signInRecoveryHelp')}
        required
        data-autofocus
        autoFocus
        autoComplete="one-time-code"
        inputMode={totp ? 'numeric' : 'text'}
        maxLength={totp ? 7 : 64}
        value={factor.code}
        error={
          wrong
            ? `${t('problem_invalid_second_factor_title')}. ${t('problem_invalid_second_factor')}`
            : undefined
        }
        onChange={(e) => onChange({ ...factor, code: e.currentTarget.value })}
      />
      <Text size="sm">
        <Anchor
          component="button"
          type="button"
          onClick={() => onChange({ kind: totp ? 'recovery' : 'totp', code: '' })}
        >
          {totp ? t('signInUseRecovery') : t('signInUseApp')}
        </Anchor>
      </Text>
    </Stack>
  );
}
