import {
  Box,
  Button,
  Code,
  CopyButton,
  Group,
  List,
  PasswordInput,
  Stack,
  Text,
  TextInput,
} from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { TFunction } from 'i18next';
import { type FormEvent, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { encode } from 'uqr';
import { ApiError, api } from '../api.ts';
import { ConfirmDialog, Section } from '../components.tsx';
import { useMe } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';
import { needsReauthentication, ReauthDialog } from './AccountReauth.tsx';

/**
 * Account → Security → Two-factor authentication: set-up (QR code, setup key, confirming code),
 * the recovery codes shown once, replacing them, and turning 2FA off.
 */

interface Enrolment {
  secret: string;
  otpauthUrl: string;
}

/** The QR code of `text` as inline SVG: one path of dark modules, drawn by the browser at any size. */
function QrCode({ text, label }: { text: string; label: string }) {
  const qr = useMemo(() => encode(text, { ecc: 'M', border: 2 }), [text]);
  const d = qr.data.flatMap((row, y) => row.map((dark, x) => (dark ? `M${x} ${y}h1v1h-1z` : ''))).join('');
  return (
    <svg
      role="img"
      aria-label={label}
      viewBox={`0 0 ${qr.size} ${qr.size}`}
      width={200}
      height={200}
      shapeRendering="crispEdges"
      data-testid="totp-qr"
    >
      <rect width={qr.size} height={qr.size} fill="#fff" />
      <path d={d} fill="#000" />
    </svg>
  );
}

/** fieldErrors, with a typed code refused for its form or as wrong in one sentence either way. */
function codeErrors(t: TFunction, error: unknown, code: string, fields: string[]) {
  const errors = fieldErrors(t, error, fields);
  if (errors.byField.code && code.trim()) errors.byField.code = t('twoFactorWrongCode');
  return errors;
}

/** Ten recovery codes, shown once: a list, Copy, Download as text, and done. */
function RecoveryCodes({ codes, email, onDone }: { codes: string[]; email: string; onDone: () => void }) {
  const { t } = useTranslation();
  const text = `${t('recoveryFileHeader', { email })}\n\n${codes.join('\n')}\n`;
  const download = () => {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'gatehouse-recovery-codes.txt';
    a.click();
    URL.revokeObjectURL(url);
  };
  return (
    <Stack gap="sm" data-testid="recovery-codes">
      <Text fw={600}>{t('recoveryTitle')}</Text>
      <Text>{t('recoveryHelp')}</Text>
      <List aria-label={t('recoveryListLabel')} listStyleType="none" spacing={2} ff="monospace">
        {codes.map((code) => (
          <List.Item key={code}>{code}</List.Item>
        ))}
      </List>
      <Group>
        <CopyButton value={codes.join('\n')}>
          {({ copied, copy }) => (
            <Button variant="default" onClick={copy}>
              {copied ? t('copied') : t('recoveryCopy')}
            </Button>
          )}
        </CopyButton>
        <Button variant="default" onClick={download}>
          {t('recoveryDownload')}
        </Button>
        <Button onClick={onDone}>{t('recoveryDone')}</Button>
      </Group>
    </Stack>
  );
}

/** The set-up: scan or type the key, then confirm with a code. */
function Enrol({
  enrolment,
  onEnabled,
  onCancel,
}: {
  enrolment: Enrolment;
  onEnabled: (codes: string[]) => void;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const [code, setCode] = useState('');
  const confirm = useMutation({
    mutationFn: () =>
      api<{ recoveryCodes: string[] }>('POST', '/me/2fa/totp/confirm', { code: code.replace(/\s/g, '') }),
    onSuccess: (res) => onEnabled(res.recoveryCodes),
  });
  const { byField, rest } = codeErrors(t, confirm.error, code, ['code']);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    confirm.mutate();
  };
  return (
    <form onSubmit={onSubmit} noValidate>
      <Stack maw={420}>
        <Text>{t('twoFactorScan')}</Text>
        <Box>
          <QrCode text={enrolment.otpauthUrl} label={t('twoFactorQrLabel')} />
        </Box>
        <Stack gap={4}>
          <Text size="sm" fw={500} id="totp-setup-key">
            {t('twoFactorKey')}
          </Text>
          <Group gap="xs">
            <Code aria-labelledby="totp-setup-key" data-testid="totp-secret">
              {enrolment.secret}
            </Code>
            <CopyButton value={enrolment.secret}>
              {({ copied, copy }) => (
                <Button size="xs" variant="default" onClick={copy}>
                  {copied ? t('copied') : t('twoFactorCopyKey')}
                </Button>
              )}
            </CopyButton>
          </Group>
        </Stack>
        <TextInput
          label={t('twoFactorCode')}
          description={t('twoFactorCodeHelp')}
          required
          inputMode="numeric"
          autoComplete="one-time-code"
          maxLength={7}
          value={code}
          error={byField.code}
          onChange={(e) => {
            setCode(e.currentTarget.value);
            if (!confirm.isPending) confirm.reset();
          }}
        />
        <ErrorText error={rest} />
        <Group>
          <Button type="submit" loading={confirm.isPending}>
            {t('twoFactorTurnOn')}
          </Button>
          <Button variant="default" onClick={onCancel}>
            {t('cancel')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** Turning 2FA off (password and a code) or replacing the recovery codes (password). */
function PasswordDialog({
  kind,
  onClose,
  onDone,
}: {
  kind: 'off' | 'replace';
  onClose: () => void;
  onDone: (codes?: string[]) => void;
}) {
  const { t } = useTranslation();
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const act = useMutation({
    mutationFn: () =>
      kind === 'off'
        ? api<undefined>('DELETE', '/me/2fa/totp', { password, code: code.trim() })
        : api<{ recoveryCodes: string[] }>('POST', '/me/2fa/recovery-codes', { password }),
    onSuccess: (res) => onDone(res?.recoveryCodes),
  });
  const { byField, rest } = codeErrors(t, act.error, code, ['password', 'code']);
  const held = act.error instanceof ApiError && act.error.code === 'two_factor_required';
  const orgs = held ? ((act.error as ApiError).params.orgs as { name: string }[] | undefined) : undefined;
  const edited = () => {
    if (!act.isPending) act.reset();
  };
  return (
    <ConfirmDialog
      opened
      onCancel={onClose}
      title={kind === 'off' ? t('twoFactorTurnOffTitle') : t('recoveryReplaceTitle')}
      message={kind === 'off' ? t('twoFactorTurnOffConfirm') : t('recoveryReplaceConfirm')}
      confirmLabel={kind === 'off' ? t('twoFactorTurnOff') : t('recoveryReplace')}
      loading={act.isPending}
      error={held && orgs?.length ? null : rest}
      onConfirm={() => act.mutate()}
    >
      <PasswordInput
        label={t('password')}
        required
        autoComplete="current-password"
        value={password}
        error={byField.password}
        data-autofocus
        onChange={(e) => {
          setPassword(e.currentTarget.value);
          edited();
        }}
      />
      {kind === 'off' && (
        <TextInput
          label={t('twoFactorCodeOrRecovery')}
          required
          autoComplete="one-time-code"
          value={code}
          error={byField.code}
          onChange={(e) => {
            setCode(e.currentTarget.value);
            edited();
          }}
        />
      )}
      {held && orgs?.length ? (
        <Text c="red.8" role="alert">
          {t('twoFactorRequiredBy', { orgs: orgs.map((o) => o.name).join(', ') })}
        </Text>
      ) : null}
    </ConfirmDialog>
  );
}

export function TwoFactorSection() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const me = useMe();
  const user = me.data?.user;
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [dialog, setDialog] = useState<'off' | 'replace' | null>(null);
  const [reauth, setReauth] = useState(false);
  const start = useMutation({
    mutationFn: () => api<Enrolment>('POST', '/me/2fa/totp'),
    onSuccess: setEnrolment,
    onError: (error) => setReauth(needsReauthentication(error)),
  });
  const refreshMe = () => client.invalidateQueries({ queryKey: ['me'], exact: true });
  if (!user) return null;
  const on = user.twoFactorEnabled;

  return (
    <Section title={t('twoFactorTitle')} testId="two-factor">
      <Group gap="xs">
        <Text>{t('twoFactorStatus')}:</Text>
        <Text fw={700}>{on ? t('twoFactorOnBadge') : t('twoFactorOffBadge')}</Text>
      </Group>
      {codes ? (
        <RecoveryCodes codes={codes} email={user.email} onDone={() => setCodes(null)} />
      ) : on ? (
        <Stack gap="sm" maw={560}>
          <Text>{t('twoFactorOnHelp')}</Text>
          <Text>{t('recoveryReplaceHelp')}</Text>
          <Group>
            <Button variant="default" onClick={() => setDialog('replace')}>
              {t('recoveryReplace')}
            </Button>
            <Button variant="outline" color="red.8" onClick={() => setDialog('off')}>
              {t('twoFactorTurnOff')}
            </Button>
          </Group>
        </Stack>
      ) : enrolment ? (
        <Enrol
          enrolment={enrolment}
          onCancel={() => setEnrolment(null)}
          onEnabled={async (fresh) => {
            setEnrolment(null);
            setCodes(fresh);
            notify(t('twoFactorEnabled'));
            await refreshMe();
          }}
        />
      ) : (
        <Stack gap="sm" maw={560}>
          <Text>{t('twoFactorOffHelp')}</Text>
          <ErrorText error={needsReauthentication(start.error) ? null : start.error} />
          <Group>
            <Button loading={start.isPending} onClick={() => start.mutate()}>
              {t('twoFactorSetUp')}
            </Button>
          </Group>
        </Stack>
      )}
      {reauth && (
        <ReauthDialog
          onCancel={() => {
            setReauth(false);
            start.reset();
          }}
          onDone={() => {
            setReauth(false);
            start.mutate();
          }}
        />
      )}
      {dialog && (
        <PasswordDialog
          kind={dialog}
          onClose={() => setDialog(null)}
          onDone={async (fresh) => {
            setDialog(null);
            if (fresh) setCodes(fresh);
            else notify(t('twoFactorDisabled'));
            await refreshMe();
          }}
        />
      )}
    </Section>
  );
}
