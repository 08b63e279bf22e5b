import { Checkbox, PasswordInput, Select, Stack, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { TFunction } from 'i18next';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import {
  INTEGRATION_KINDS,
  INTEGRATION_PROVIDERS,
  type IntegrationKind,
  type IntegrationProvider,
  type IntegrationView,
} from '../../contracts/integrations.ts';
import { ApiError, api } from '../api.ts';
import { Dialog, DialogActions } from '../components.tsx';
import { notify } from '../notify.tsx';
import { describeField, ErrorText } from '../problems.tsx';

const BRANDS: Record<Exclude<IntegrationProvider, 'generic'>, string> = {
  github: 'GitHub',
  gitlab: 'GitLab',
  bitbucket: 'Bitbucket',
  azure_devops: 'Azure DevOps',
  jira: 'Jira',
  linear: 'Linear',
  servicenow: 'ServiceNow',
  dockerhub: 'Docker Hub',
  ecr: 'Amazon ECR',
  gcr: 'Google Container Registry',
  ghcr: 'GitHub Container Registry',
  harbor: 'Harbor',
  aws: 'AWS',
  azure: 'Microsoft Azure',
  gcp: 'Google Cloud',
  oci: 'Oracle Cloud',
  slack: 'Slack',
  teams: 'Microsoft Teams',
};

/** A provider's name: the brand, or "Other (generic)" in the page's language. */
export const providerName = (t: TFunction, provider: string) =>
  provider === 'generic'
    ? t('integrationProvider_generic')
    : (BRANDS[provider as keyof typeof BRANDS] ?? provider);

/** Where each provider's API usually is: prefilled when it has one public address, else an example. */
const API_ADDRESSES: Partial<Record<IntegrationProvider, { url: string; fixed?: true }>> = {
  github: { url: 'https://api.github.com', fixed: true },
  gitlab: { url: 'https://gitlab.com/api/v4', fixed: true },
  bitbucket: { url: 'https://api.bitbucket.org/2.0', fixed: true },
  azure_devops: { url: 'https://dev.azure.com/acme/_apis/projects' },
  jira: { url: 'https://acme.atlassian.net' },
  linear: { url: 'https://api.linear.app/graphql', fixed: true },
  servicenow: { url: 'https://acme.service-now.com/api/now' },
  dockerhub: { url: 'https://registry-1.docker.io', fixed: true },
  ecr: { url: 'https://123456789012.dkr.ecr.us-east-1.amazonaws.com' },
  gcr: { url: 'https://gcr.io', fixed: true },
  ghcr: { url: 'https://ghcr.io', fixed: true },
  harbor: { url: 'https://harbor.example.com' },
  slack: { url: 'https://slack.com/api', fixed: true },
};
const FIXED = new Set(Object.values(API_ADDRESSES).flatMap((a) => (a.fixed ? [a.url] : [])));

/** The config keys the form edits; others the integration has are kept as they are. */
const FORM_KEYS = ['baseUrl', 'email', 'authHeader'];

interface Draft {
  kind: IntegrationKind;
  provider: IntegrationProvider;
  name: string;
  baseUrl: string;
  email: string;
  authHeader: string;
  /** Typed, never loaded: empty keeps the stored one. */
  secret: string;
  removeSecret: boolean;
}

const draftOf = (i: IntegrationView | null): Draft =>
  i
    ? {
        kind: i.kind,
        provider: i.provider,
        name: i.name,
        baseUrl: i.config.baseUrl,
        email: typeof i.config.email === 'string' ? i.config.email : '',
        authHeader: typeof i.config.authHeader === 'string' ? i.config.authHeader : '',
        secret: '',
        removeSecret: false,
      }
    : {
        kind: 'scm',
        provider: 'github',
        name: '',
        baseUrl: API_ADDRESSES.github!.url,
        email: '',
        authHeader: '',
        secret: '',
        removeSecret: false,
      };

function configOf(draft: Draft, editing: IntegrationView | null): Record<string, unknown> {
  const kept = Object.fromEntries(
    Object.entries(editing?.config ?? {}).filter(([k]) => !FORM_KEYS.includes(k)),
  );
  return {
    ...kept,
    baseUrl: draft.baseUrl.trim(),
    ...(draft.provider === 'jira' && draft.email.trim() ? { email: draft.email.trim() } : {}),
    ...(draft.provider === 'generic' && draft.authHeader.trim()
      ? { authHeader: draft.authHeader.trim() }
      : {}),
  };
}

/** Field errors by the form's inputs (`/body/config/baseUrl` is the base URL's). */
function errorsByInput(t: TFunction, error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return {};
  const out: Record<string, string> = {};
  if (error.code === 'conflict' && error.params.reason === 'integration_name_taken') {
    out.name = t('integrationNameTaken');
  }
  for (const f of error.fields) {
    const [, , part, key] = f.field.split('/');
    const input =
      part === 'config' && key && FORM_KEYS.includes(key) ? key : part === 'config' ? 'baseUrl' : part;
    if (input) out[input] ??= describeField(t, f);
  }
  return out;
}

/** Add an integration, or edit one (its kind and provider stay; name, settings and secret change). */
export function IntegrationDialog({
  orgId,
  editing,
  onClose,
}: {
  orgId: string;
  editing: IntegrationView | null;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [draft, setDraft] = useState<Draft>(() => draftOf(editing));
  const save = useMutation({
    mutationFn: () => {
      const config = configOf(draft, editing);
      if (!editing) {
        return api<IntegrationView>('POST', `/orgs/${orgId}/integrations`, {
          kind: draft.kind,
          provider: draft.provider,
          name: draft.name.trim(),
          config,
          ...(draft.secret !== '' ? { secret: draft.secret } : {}),
        });
      }
      const changes: Record<string, unknown> = {};
      if (draft.name.trim() !== editing.name) changes.name = draft.name.trim();
      if (JSON.stringify(config) !== JSON.stringify(editing.config)) changes.config = config;
      if (draft.removeSecret) changes.secret = null;
      else if (draft.secret !== '') changes.secret = draft.secret;
      if (Object.keys(changes).length === 0) return Promise.resolve(editing);
      return api<IntegrationView>('PATCH', `/orgs/${orgId}/integrations/${editing.id}`, changes);
    },
    onSuccess: async () => {
      notify(t(editing ? 'integrationSaved' : 'integrationCreated'));
      await client.invalidateQueries({ queryKey: ['integrations', orgId] });
      onClose();
    },
  });
  const byInput = errorsByInput(t, save.error);
  const placed = ['name', 'kind', 'provider', 'baseUrl', 'email', 'authHeader', 'secret'];
  // Shown above the actions unless every part of it is shown at its input.
  const allPlaced =
    save.error instanceof ApiError &&
    ((save.error.code === 'conflict' && save.error.params.reason === 'integration_name_taken') ||
      (save.error.fields.length > 0 && Object.keys(byInput).every((k) => placed.includes(k))));
  const set = (patch: Partial<Draft>) => {
    setDraft((d) => ({ ...d, ...patch }));
    if (!save.isPending) save.reset();
  };
  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    save.mutate();
  };
  const choose = (provider: IntegrationProvider, kind = draft.kind) => {
    const address = API_ADDRESSES[provider];
    // A provider's one public address replaces the field while it holds another's (or nothing).
    const baseUrl =
      draft.baseUrl.trim() === '' || FIXED.has(draft.baseUrl)
        ? address?.fixed
          ? address.url
          : ''
        : draft.baseUrl;
    set({ kind, provider, baseUrl });
  };
  const address = API_ADDRESSES[draft.provider];
  const moved = editing !== null && draft.baseUrl.trim().replace(/\/+$/, '') !== editing.config.baseUrl;
  const secretNote =
    editing?.hasSecret && !draft.removeSecret
      ? moved && draft.secret === ''
        ? t('integrationSecretAgain')
        : t('integrationSecretStored')
      : t('integrationSecretHelp');
  return (
    <Dialog
      opened
      onClose={onClose}
      title={editing ? t('integrationEditTitle', { name: editing.name }) : t('integrationAddTitle')}
      size="lg"
    >
      <form noValidate onSubmit={submit}>
        <Stack>
          <Select
            label={t('integrationKind')}
            allowDeselect={false}
            disabled={editing !== null}
            value={draft.kind}
            data={INTEGRATION_KINDS.map((k) => ({ value: k, label: t(`integrationKind_${k}`) }))}
            error={byInput.kind}
            onChange={(value) => {
              if (!value) return;
              const kind = value as IntegrationKind;
              choose(INTEGRATION_PROVIDERS[kind][0], kind);
            }}
          />
          <Select
            label={t('integrationProvider')}
            allowDeselect={false}
            disabled={editing !== null}
            value={draft.provider}
            data={INTEGRATION_PROVIDERS[draft.kind].map((p) => ({ value: p, label: providerName(t, p) }))}
            error={byInput.provider}
            onChange={(value) => value && choose(value as IntegrationProvider)}
          />
          <TextInput
            label={t('integrationName')}
            required
            maxLength={100}
            data-autofocus
            value={draft.name}
            error={byInput.name}
            onChange={(e) => set({ name: e.currentTarget.value })}
          />
          <TextInput
            type="url"
            label={t('integrationBaseUrl')}
            description={
              address
                ? t('integrationBaseUrlHelp', { example: address.url })
                : t('integrationBaseUrlHelpGeneric')
            }
            required
            maxLength={2048}
            spellCheck={false}
            autoComplete="off"
            placeholder="https://"
            value={draft.baseUrl}
            error={byInput.baseUrl}
            onChange={(e) => set({ baseUrl: e.currentTarget.value })}
          />
          {draft.provider === 'jira' && (
            <TextInput
              type="email"
              label={t('integrationEmail')}
              description={t('integrationEmailHelp')}
              autoComplete="off"
              value={draft.email}
              error={byInput.email}
              onChange={(e) => set({ email: e.currentTarget.value })}
            />
          )}
          {draft.provider === 'generic' && (
            <TextInput
              label={t('integrationAuthHeader')}
              description={t('integrationAuthHeaderHelp')}
              spellCheck={false}
              autoComplete="off"
              placeholder="Authorization"
              value={draft.authHeader}
              error={byInput.authHeader}
              onChange={(e) => set({ authHeader: e.currentTarget.value })}
            />
          )}
          <PasswordInput
            label={t('integrationSecret')}
            description={secretNote}
            autoComplete="new-password"
            spellCheck={false}
            disabled={draft.removeSecret}
            value={draft.secret}
            error={byInput.secret}
            onChange={(e) => set({ secret: e.currentTarget.value })}
          />
          {editing?.hasSecret && (
            <Checkbox
              label={t('integrationSecretRemove')}
              checked={draft.removeSecret}
              onChange={(e) => set({ removeSecret: e.currentTarget.checked, secret: '' })}
            />
          )}
          <ErrorText error={allPlaced ? null : save.error} />
          <DialogActions
            onCancel={onClose}
            onConfirm={() => submit()}
            label={t('integrationSave')}
            color="blue"
            loading={save.isPending}
          />
        </Stack>
      </form>
    </Dialog>
  );
}
