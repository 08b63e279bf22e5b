import { Button, Group, PasswordInput, Stack, Text } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { api } from '../api.ts';
import { ConfirmDialog, Section } from '../components.tsx';
import { notify } from '../notify.tsx';
import { fieldErrors } from '../problems.tsx';

/** Everything Gatehouse keeps about the user, as one JSON file (the browser downloads it). */
export function PersonalDataSection() {
  const { t } = useTranslation();
  return (
    <Section title={t('recoveryDataTitle')}>
      <Text size="sm">{t('recoveryDataHelp')}</Text>
      <Group>
        <Button component="a" href="/api/v1/me/export" download variant="default">
          {t('recoveryDataDownload')}
        </Button>
      </Group>
    </Section>
  );
}

/** Deleting the account: confirmed with the password; refused while the only Owner of an organization. */
export function DeleteAccountSection() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState('');
  const remove = useMutation({
    mutationFn: () => api('DELETE', '/me', { password }),
    onSuccess: () => {
      client.clear();
      notify(t('recoveryDeleted'));
      navigate('/signin');
    },
  });
  const { byField, rest } = fieldErrors(t, remove.error, ['password']);
  const close = () => {
    setOpen(false);
    setPassword('');
    remove.reset();
  };
  return (
    <Section title={t('recoveryDeleteTitle')} testId="danger-zone">
      <Text size="sm">{t('recoveryDeleteHelp')}</Text>
      <Group>
        <Button color="red" variant="outline" onClick={() => setOpen(true)}>
          {t('recoveryDeleteButton')}
        </Button>
      </Group>
      <ConfirmDialog
        opened={open}
        onCancel={close}
        title={t('recoveryDeleteConfirmTitle')}
        message={t('recoveryDeleteConfirm')}
        confirmLabel={t('recoveryDeleteButton')}
        loading={remove.isPending}
        disabled={!password}
        error={rest}
        onConfirm={() => remove.mutate()}
      >
        <Stack>
          <PasswordInput
            label={t('accountCurrentPassword')}
            required
            autoComplete="current-password"
            value={password}
            error={byField.password}
            onChange={(e) => {
              setPassword(e.currentTarget.value);
              if (!remove.isPending) remove.reset();
            }}
          />
        </Stack>
      </ConfirmDialog>
    </Section>
  );
}
