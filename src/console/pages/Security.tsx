import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  Stack,
  Switch,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { api, type OrgSecurity } from '../api.ts';
import { listCovers } from '../cidr.ts';
import { SettingCard } from '../components.tsx';
import { useMe, usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors, type PlanFeature } from '../problems.tsx';
import { orgQuery } from '../queries.ts';

const securityQuery = (orgId: string) =>
  queryOptions({
    queryKey: ['security', orgId],
    queryFn: () => api<OrgSecurity>('GET', `/orgs/${orgId}/security`),
  });

interface SecurityForm {
  require2fa: boolean;
  /** Minutes as typed; empty: the installation's default. */
  idle: string;
  /** One entry per line, as typed. */
  allowlist: string;
}

const fromPolicy = (p: OrgSecurity): SecurityForm => ({
  require2fa: p.require2fa,
  idle: p.sessionIdleMinutes === null ? '' : String(p.sessionIdleMinutes),
  allowlist: p.ipAllowlist.join('\n'),
});

const entriesOf = (text: string) =>
  text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** The PATCH body: only what differs from the saved policy. */
function changesOf(form: SecurityForm, saved: OrgSecurity): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (form.require2fa !== saved.require2fa) body.require2fa = form.require2fa;
  const typed = form.idle.trim();
  // Anything but digits goes as typed, for the server to name what is wrong with it.
  const idle = typed === '' ? null : /^\d+$/.test(typed) ? Number(typed) : typed;
  if (idle !== saved.sessionIdleMinutes) body.sessionIdleMinutes = idle;
  const list = entriesOf(form.allowlist);
  if (list.join('\n') !== saved.ipAllowlist.join('\n')) body.ipAllowlist = list;
  return body;
}

/** Where a member sets up their own second factor (Account → Security). */
export const accountSecurityPath = (orgId: string) => `/orgs/${orgId}/settings/account/security`;

/** A section of the policy, with the Enterprise badge when the org's plan lacks it. */
function PolicyCard(props: { title: string; enterpriseOnly?: string | null; children: ReactNode }) {
  const { t } = useTranslation();
  return (
    <SettingCard
      title={props.title}
      badge={props.enterpriseOnly ? t('securityEnterprise') : null}
      note={props.enterpriseOnly}
    >
      {props.children}
    </SettingCard>
  );
}

/**
 * Settings → Security: require 2FA, the session idle timeout and the IP allowlist. Read-only
 * without settings:update; the Enterprise parts are shown (and read-only) on other plans.
 */
export function SecurityPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const policy = useQuery(securityQuery(orgId));
  const org = useQuery(orgQuery(orgId));
  return (
    <Stack maw={880}>
      <Title order={1} size="h3">
        {t('securityTitle')}
      </Title>
      {(policy.isPending || org.isPending) && !policy.error && !org.error && (
        <Text role="status">{t('securityLoading')}</Text>
      )}
      <ErrorText error={policy.error ?? org.error} />
      {policy.data && org.data && (
        <SecurityEditor
          key={JSON.stringify(policy.data)}
          orgId={orgId}
          saved={policy.data}
          plan={
            org.data.entitlements as { name: string; ipAllowlist?: boolean; customSessionTimeout?: boolean }
          }
          canEdit={can.has('settings:update')}
        />
      )}
    </Stack>
  );
}

function SecurityEditor(props: {
  orgId: string;
  saved: OrgSecurity;
  plan: { name: string; ipAllowlist?: boolean; customSessionTimeout?: boolean };
  canEdit: boolean;
}) {
  const { orgId, saved, plan, canEdit } = props;
  const { t } = useTranslation();
  const me = useMe();
  const client = useQueryClient();
  const [form, setForm] = useState(() => fromPolicy(saved));
  const body = changesOf(form, saved);
  const dirty = Object.keys(body).length > 0;
  const save = useMutation({
    mutationFn: (changes: Record<string, unknown>) =>
      api<OrgSecurity>('PATCH', `/orgs/${orgId}/security`, changes),
    onSuccess: (updated) => {
      client.setQueryData(securityQuery(orgId).queryKey, updated);
      notify(t('securitySaved'));
    },
  });
  const { byField: errors, rest } = fieldErrors(t, save.error, ['sessionIdleMinutes', 'ipAllowlist'], {
    body: save.variables,
  });
  // A plan refusal names the feature the change was about.
  const feature: PlanFeature | undefined =
    'ipAllowlist' in (save.variables ?? {}) ? 'ipAllowlist' : 'customSessionTimeout';
  const enterpriseOnly = (allowed: boolean | undefined) =>
    allowed ? null : t('securityEnterpriseOnly', { plan: plan.name });
  const idleEditable = canEdit && Boolean(plan.customSessionTimeout);
  const allowlistEditable = canEdit && Boolean(plan.ipAllowlist);
  const entries = entriesOf(form.allowlist);
  const address = saved.yourAddress;
  const excludesYou = entries.length > 0 && address !== null && !listCovers(entries, address);
  // What the server's would_lock_out asks of this session: TOTP, or a passkey sign-in.
  const has2fa = (me.data?.user.twoFactorEnabled || me.data?.session?.amr.includes('hwk')) ?? false;
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (canEdit && dirty) save.mutate(body);
  };
  return (
    <form onSubmit={onSubmit} noValidate>
      <Stack>
        {!canEdit && <Text>{t('securityReadOnly')}</Text>}
        <PolicyCard title={t('securityTwoFactor')}>
          <Switch
            label={t('securityRequire2fa')}
            description={t('securityRequire2faHelp')}
            checked={form.require2fa}
            disabled={!canEdit}
            onChange={(e) => {
              const require2fa = e.currentTarget.checked;
              setForm((f) => ({ ...f, require2fa }));
            }}
          />
          {canEdit && form.require2fa && !saved.require2fa && !has2fa && (
            <Alert color="orange" role="note">
              <Stack gap={4}>
                <Text size="sm">{t('securityYouLack2fa')}</Text>
                <Anchor
                  component={Link}
                  to={accountSecurityPath(orgId)}
                  size="sm"
                  c="inherit"
                  underline="always"
                >
                  {t('securitySetUp2fa')}
                </Anchor>
              </Stack>
            </Alert>
          )}
        </PolicyCard>
        <PolicyCard title={t('securityIdle')} enterpriseOnly={enterpriseOnly(plan.customSessionTimeout)}>
          <TextInput
            label={t('securityIdleMinutes')}
            description={t('securityIdleHelp', { minutes: saved.defaultSessionIdleMinutes })}
            inputMode="numeric"
            placeholder={t('securityIdleDefault', { minutes: saved.defaultSessionIdleMinutes })}
            readOnly={!idleEditable}
            variant={idleEditable ? 'default' : 'filled'}
            maw={360}
            value={form.idle}
            error={errors.sessionIdleMinutes}
            onChange={(e) => {
              const idle = e.currentTarget.value;
              setForm((f) => ({ ...f, idle }));
            }}
          />
        </PolicyCard>
        <PolicyCard title={t('securityAllowlist')} enterpriseOnly={enterpriseOnly(plan.ipAllowlist)}>
          <Text size="sm">{t('securityAllowlistHelp')}</Text>
          {address && <Text size="sm">{t('securityYourAddress', { address })}</Text>}
          <Textarea
            label={t('securityAllowlistLabel')}
            readOnly={!allowlistEditable}
            variant={allowlistEditable ? 'default' : 'filled'}
            autosize
            minRows={3}
            maxRows={12}
            spellCheck={false}
            autoCapitalize="none"
            styles={{ input: { fontFamily: 'monospace' } }}
            value={form.allowlist}
            error={errors.ipAllowlist}
            onChange={(e) => {
              const allowlist = e.currentTarget.value;
              setForm((f) => ({ ...f, allowlist }));
            }}
          />
          {allowlistEditable && address && !listCovers(entries, address) && (
            <Group>
              <Button
                variant="default"
                size="xs"
                onClick={() =>
                  setForm((f) => ({ ...f, allowlist: [...entriesOf(f.allowlist), address].join('\n') }))
                }
              >
                {t('securityAddMine')}
              </Button>
            </Group>
          )}
          {excludesYou && (
            <Alert color="orange" role="alert">
              {t('securityExcludesYou', { address })}
            </Alert>
          )}
        </PolicyCard>
        <ErrorText error={rest} feature={feature} />
        {canEdit && (
          <Group>
            <Button type="submit" disabled={!dirty} loading={save.isPending}>
              {t('securitySave')}
            </Button>
            <Button
              variant="default"
              disabled={!dirty || save.isPending}
              onClick={() => {
                setForm(fromPolicy(saved));
                save.reset();
              }}
            >
              {t('securityDiscard')}
            </Button>
          </Group>
        )}
      </Stack>
    </form>
  );
}
