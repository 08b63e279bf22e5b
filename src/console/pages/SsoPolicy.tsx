import {
  Alert,
  Button,
  Card,
  Group,
  Radio,
  Select,
  Stack,
  Switch,
  Table,
  Text,
  Textarea,
  TextInput,
  VisuallyHidden,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { OWNER_ROLE } from '../../contracts/roles.ts';
import {
  SSO_ENFORCEMENTS,
  type SsoEnforcement,
  type SsoGroupMappingView,
  type SsoSettingsView,
} from '../../contracts/sso.ts';
import { ApiError, api } from '../api.ts';
import { useCatalogWords } from '../catalog-words.ts';
import { ConfirmDialog, RowDangerButton, ScrollFrame, Section } from '../components.tsx';
import { ssoLoginHref, useMe } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';
import { rolesQuery } from '../queries.ts';
import { entriesOf, groupMappingsQuery, ssoKey, ssoSettingsQuery } from './sso.shared.ts';

/** The role provisioned members get when the org names none (the server's default). */
const DEFAULT_ROLE = 'viewer';

interface PolicyForm {
  enforcement: SsoEnforcement;
  jitProvisioning: boolean;
  defaultRole: string;
  groupsAttribute: string;
  /** One per line, as typed. */
  domains: string;
  allowIdpInitiated: boolean;
}

const fromSettings = (s: SsoSettingsView): PolicyForm => ({
  enforcement: s.enforcement,
  jitProvisioning: s.jitProvisioning,
  defaultRole: s.defaultRole ?? DEFAULT_ROLE,
  groupsAttribute: s.groupsAttribute ?? '',
  domains: s.domains.join('\n'),
  allowIdpInitiated: s.allowIdpInitiated,
});

/** Domains as the server keeps them: lower case, without a leading `@` someone typed. */
const domainsOf = (text: string) => [
  ...new Set(entriesOf(text).map((d) => d.replace(/^@/, '').toLowerCase())),
];

/** The PATCH body: only what differs from the saved settings. */
function changesOf(form: PolicyForm, saved: SsoSettingsView): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (form.enforcement !== saved.enforcement) body.enforcement = form.enforcement;
  if (form.jitProvisioning !== saved.jitProvisioning) body.jitProvisioning = form.jitProvisioning;
  if (form.defaultRole !== (saved.defaultRole ?? DEFAULT_ROLE)) body.defaultRole = form.defaultRole;
  const attribute = form.groupsAttribute.trim();
  if (attribute !== (saved.groupsAttribute ?? '')) body.groupsAttribute = attribute === '' ? null : attribute;
  const domains = domainsOf(form.domains);
  if (domains.join('\n') !== saved.domains.join('\n')) body.domains = domains;
  if (form.allowIdpInitiated !== saved.allowIdpInitiated) body.allowIdpInitiated = form.allowIdpInitiated;
  return body;
}

/** The org's roles a person may be given by SSO: every one but Owner. */
function useGrantableRoles(orgId: string) {
  const catalog = useCatalogWords();
  const roles = useQuery(rolesQuery(orgId));
  return {
    error: roles.error,
    data: (roles.data?.items ?? [])
      .filter((r) => r.slug !== OWNER_ROLE)
      .map((r) => ({ value: r.slug, label: catalog.roleName(r.slug, r.name) })),
  };
}

/** The section "Policy": enforcement, just-in-time provisioning, default role, groups, domains. */
export function PolicySection({ orgId, saved }: { orgId: string; saved: SsoSettingsView }) {
  return <PolicyEditor key={saved.updatedAt ?? 'none'} orgId={orgId} saved={saved} />;
}

function PolicyEditor({ orgId, saved }: { orgId: string; saved: SsoSettingsView }) {
  const { t } = useTranslation();
  const me = useMe();
  const client = useQueryClient();
  const roles = useGrantableRoles(orgId);
  const [form, setForm] = useState(() => fromSettings(saved));
  const body = changesOf(form, saved);
  const dirty = Object.keys(body).length > 0;
  const save = useMutation({
    mutationFn: (changes: Record<string, unknown>) =>
      api<SsoSettingsView>('PATCH', `/orgs/${orgId}/sso`, changes),
    onSuccess: async (updated) => {
      client.setQueryData(ssoSettingsQuery(orgId).queryKey, updated);
      notify(t('ssoPolicySaved'));
      await client.invalidateQueries({ queryKey: ssoKey(orgId) });
    },
  });
  const { byField, rest } = fieldErrors(
    t,
    save.error,
    ['enforcement', 'jitProvisioning', 'defaultRole', 'groupsAttribute', 'domains', 'allowIdpInitiated'],
    {
      body: save.variables,
      rules: { domains: t('ssoDomainRule'), groupsAttribute: t('ssoGroupsAttributeRule') },
    },
  );
  const connected = saved.protocol !== null;
  // Enforcing asks for a session signed in through the IdP: said before saving when this one was not
  // (the server decides, and answers would_lock_out; a session of another org's IdP shows only then).
  const viaSso = me.data?.session?.amr.includes('sso') ?? false;
  const lockedOut = save.error instanceof ApiError && save.error.code === 'would_lock_out';
  const askSso =
    (form.enforcement === 'enforced' && saved.enforcement !== 'enforced' && !viaSso) || lockedOut;
  const set = <K extends keyof PolicyForm>(field: K, value: PolicyForm[K]) =>
    setForm((f) => ({ ...f, [field]: value }));
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (dirty) save.mutate(body);
  };
  return (
    <Card withBorder>
      <Section title={t('ssoPolicyTitle')} testId="sso-policy">
        <form onSubmit={onSubmit} noValidate>
          <Stack>
            <Radio.Group
              label={t('ssoEnforcement')}
              value={form.enforcement}
              onChange={(v) => set('enforcement', v as SsoEnforcement)}
              error={byField.enforcement}
            >
              <Stack gap="xs" mt="xs">
                {SSO_ENFORCEMENTS.map((e) => (
                  <Radio
                    key={e}
                    value={e}
                    label={t(`ssoEnforcement_${e}`)}
                    description={
                      e === 'enforced' && !connected
                        ? `${t(`ssoEnforcement_${e}_help`)} ${t('ssoEnforcementNeedsIdp')}`
                        : t(`ssoEnforcement_${e}_help`)
                    }
                    disabled={e === 'enforced' && !connected && saved.enforcement !== 'enforced'}
                  />
                ))}
              </Stack>
            </Radio.Group>
            {askSso && (
              <Alert color="orange" role="note">
                <Stack gap="xs">
                  <Text size="sm" fw={700}>
                    {t('ssoEnforceFirstTitle')}
                  </Text>
                  <Text size="sm">{t('ssoEnforceFirst')}</Text>
                  {saved.loginUrl && (
                    <Group>
                      <Button
                        component="a"
                        size="xs"
                        href={ssoLoginHref(saved.loginUrl, { next: `/orgs/${orgId}/settings/sso` })}
                      >
                        {t('ssoSignInNow')}
                      </Button>
                    </Group>
                  )}
                </Stack>
              </Alert>
            )}
            <Switch
              label={t('ssoJit')}
              description={t('ssoJitHelp')}
              checked={form.jitProvisioning}
              onChange={(e) => set('jitProvisioning', e.currentTarget.checked)}
            />
            <Select
              label={t('ssoDefaultRole')}
              description={t('ssoDefaultRoleHelp')}
              data={roles.data}
              value={form.defaultRole}
              onChange={(v) => v && set('defaultRole', v)}
              allowDeselect={false}
              error={byField.defaultRole}
              maw={360}
            />
            <ErrorText error={roles.error} />
            <TextInput
              label={t('ssoGroupsAttribute')}
              description={t('ssoGroupsAttributeHelp')}
              placeholder="groups"
              spellCheck={false}
              autoComplete="off"
              maw={360}
              value={form.groupsAttribute}
              error={byField.groupsAttribute}
              onChange={(e) => set('groupsAttribute', e.currentTarget.value)}
            />
            <Textarea
              label={t('ssoDomains')}
              description={t('ssoDomainsHelp')}
              placeholder="example.com"
              autosize
              minRows={2}
              maxRows={10}
              spellCheck={false}
              autoCapitalize="none"
              maw={480}
              value={form.domains}
              error={byField.domains}
              onChange={(e) => set('domains', e.currentTarget.value)}
            />
            {(saved.protocol === 'saml' || saved.allowIdpInitiated) && (
              <Switch
                label={t('ssoIdpInitiated')}
                description={t('ssoIdpInitiatedHelp')}
                checked={form.allowIdpInitiated}
                onChange={(e) => set('allowIdpInitiated', e.currentTarget.checked)}
              />
            )}
            {/* A domain another org holds is named by the problem itself; the other conflict is this one. */}
            <ErrorText
              error={rest}
              words={
                rest instanceof ApiError && rest.params.domain ? {} : { conflict: t('ssoEnforceNeedsIdp') }
              }
            />
            <Group>
              <Button type="submit" disabled={!dirty} loading={save.isPending}>
                {t('ssoPolicySave')}
              </Button>
              <Button
                variant="default"
                disabled={!dirty || save.isPending}
                onClick={() => {
                  setForm(fromSettings(saved));
                  save.reset();
                }}
              >
                {t('ssoDiscard')}
              </Button>
            </Group>
          </Stack>
        </form>
      </Section>
    </Card>
  );
}

/** The section "Group mappings": IdP group → role, tried in order on a first sign-in. */
export function GroupMappingsSection({ orgId, jit }: { orgId: string; jit: boolean }) {
  const { t } = useTranslation();
  const catalog = useCatalogWords();
  const client = useQueryClient();
  const roles = useGrantableRoles(orgId);
  const list = useQuery(groupMappingsQuery(orgId));
  const [group, setGroup] = useState('');
  const [role, setRole] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<SsoGroupMappingView | null>(null);
  const refresh = () => client.invalidateQueries({ queryKey: groupMappingsQuery(orgId).queryKey });
  const add = useMutation({
    mutationFn: (sent: { idpGroup: string; role: string }) =>
      api<SsoGroupMappingView>('POST', `/orgs/${orgId}/sso/group-mappings`, sent),
    onSuccess: async (created) => {
      setGroup('');
      notify(t('ssoMappingAdded', { group: created.idpGroup }));
      await refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (m: SsoGroupMappingView) => api('DELETE', `/orgs/${orgId}/sso/group-mappings/${m.id}`),
    onSuccess: async (_res, m) => {
      setDeleting(null);
      notify(t('ssoMappingDeleted', { group: m.idpGroup }));
      await refresh();
    },
  });
  const { byField, rest } = fieldErrors(t, add.error, ['idpGroup', 'role'], { body: add.variables });
  const chosenRole = role ?? roles.data.find((r) => r.value === 'developer')?.value ?? roles.data[0]?.value;
  const rows = list.data?.items ?? [];
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    add.mutate({ idpGroup: group.trim(), role: chosenRole ?? '' });
  };
  return (
    <Card withBorder>
      <Section title={t('ssoMappingsTitle')} testId="sso-mappings">
        <Text size="sm">{t('ssoMappingsHelp')}</Text>
        {!jit && <Text size="sm">{t('ssoMappingsNeedJit')}</Text>}
        <ErrorText error={list.error ?? roles.error} />
        {rows.length === 0 ? (
          list.data && <Text c="dimmed">{t('ssoMappingsNone')}</Text>
        ) : (
          <ScrollFrame label={t('ssoMappingsTitle')} minWidth={480}>
            <Table>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('ssoMappingGroup')}</Table.Th>
                  <Table.Th>{t('role')}</Table.Th>
                  <Table.Th>
                    <VisuallyHidden>{t('actions')}</VisuallyHidden>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((m) => (
                  <Table.Tr key={m.id}>
                    <Table.Td style={{ wordBreak: 'break-all' }}>{m.idpGroup}</Table.Td>
                    <Table.Td>{catalog.roleName(m.role, m.roleName)}</Table.Td>
                    <Table.Td>
                      <RowDangerButton
                        label={t('ssoMappingDeleteLabel', { group: m.idpGroup })}
                        onClick={() => {
                          remove.reset();
                          setDeleting(m);
                        }}
                      >
                        {t('ssoMappingDelete')}
                      </RowDangerButton>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollFrame>
        )}
        <form onSubmit={onSubmit} noValidate>
          <Group align="flex-end" gap="sm">
            <TextInput
              label={t('ssoMappingGroup')}
              description={t('ssoMappingGroupHelp')}
              spellCheck={false}
              autoComplete="off"
              value={group}
              error={byField.idpGroup}
              onChange={(e) => setGroup(e.currentTarget.value)}
              w={260}
            />
            <Select
              label={t('ssoMappingRole')}
              description={t('ssoMappingRoleHelp')}
              data={roles.data}
              value={chosenRole ?? null}
              onChange={setRole}
              allowDeselect={false}
              error={byField.role}
              w={220}
            />
            <Button type="submit" loading={add.isPending}>
              {t('ssoMappingAdd')}
            </Button>
          </Group>
        </form>
        <ErrorText error={rest} words={{ conflict: t('ssoMappingExists') }} />
        <ConfirmDialog
          opened={deleting !== null}
          onCancel={() => setDeleting(null)}
          title={t('ssoMappingDeleteTitle')}
          message={t('ssoMappingDeleteConfirm', {
            group: deleting?.idpGroup ?? '',
            role: deleting ? catalog.roleName(deleting.role, deleting.roleName) : '',
          })}
          confirmLabel={t('ssoMappingDelete')}
          loading={remove.isPending}
          error={remove.error}
          onConfirm={() => deleting && remove.mutate(deleting)}
        />
      </Section>
    </Card>
  );
}
