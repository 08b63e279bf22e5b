import { PasswordInput } from '@mantine/core';
import type { ChangeEvent } from 'react';
import { useTranslation } from 'react-i18next';

/**
 * A new password typed twice, with the password rules beside it: the password change on the
 * Account page and the reset page ask for it alike.
 */
export function NewPasswordFields(props: {
  next: string;
  confirm: string;
  /** The server's word on the new password. */
  error: string | undefined;
  mismatch: boolean;
  onNext: (e: ChangeEvent<HTMLInputElement>) => void;
  onConfirm: (e: ChangeEvent<HTMLInputElement>) => void;
}) {
  const { t } = useTranslation();
  return (
    <>
      <PasswordInput
        label={t('accountNewPassword')}
        description={t('accountPasswordRules')}
        required
        autoComplete="new-password"
        value={props.next}
        error={props.error}
        onChange={props.onNext}
      />
      <PasswordInput
        label={t('accountConfirmPassword')}
        required
        autoComplete="new-password"
        value={props.confirm}
        error={props.mismatch ? t('accountPasswordMismatch') : undefined}
        onChange={props.onConfirm}
      />
    </>
  );
}
