import { Button, Card, Group, PasswordInput, Select, Stack, Text, TextInput, Title } from '@mantine/core';
import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import {
  AI_PROVIDERS,
  AI_PURPOSES,
  type AiConnectionView,
  type AiProvider,
  type AiPurpose,
  type ConnectionTestResult,
  OPENAI_BASE_URL,
} from '../../contracts/integrations.ts';
import { api } from '../api.ts';
import { ConfirmDialog, PageLoader } from '../components.tsx';
import { usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';
import { TestOutcome } from './ConnectionTest.tsx';

const connectionQuery = (orgId: string, purpose: AiPurpose) =>
  queryOptions({
    queryKey: ['ai-connection', orgId, purpose],
    queryFn: () => api<AiConnectionView>('GET', `/orgs/${orgId}/ai-connections/${purpose}`),
  });

interface Draft {
  provider: AiProvider;
  baseUrl: string;
  model: string;
  deployment: string;
  apiVersion: string;
  /** Typed, never loaded: empty keeps the stored key. */
  apiKey: string;
}

const draftOf = (saved: AiConnectionView): Draft => ({
  provider: saved.provider ?? 'openai',
  baseUrl: saved.baseUrl ?? OPENAI_BASE_URL,
  model: saved.model ?? '',
  deployment: saved.deployment ?? '',
  apiVersion: saved.apiVersion ?? '',
  apiKey: '',
});

/** The PUT body (and a test's, before saving): Azure's own fields only for Azure, the key only when typed. */
function bodyOf(draft: Draft): Record<string, unknown> {
  const azure = draft.provider === 'azure_openai';
  return {
    provider: draft.provider,
    baseUrl: draft.baseUrl.trim(),
    model: draft.model.trim(),
    ...(azure ? { deployment: draft.deployment.trim(), apiVersion: draft.apiVersion.trim() } : {}),
    ...(draft.apiKey !== '' ? { apiKey: draft.apiKey } : {}),
  };
}

/**
 * Settings → AI connections: the organization's own AI provider for each purpose (remediator,
 * validator), each in a card with its settings, a write-only API key, Save, Test connection and
 * Remove. Read-only without settings:update; the navigation offers it with settings:read.
 */
export function AiConnectionsPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const canEdit = can.has('settings:update');
  return (
    <Stack maw={880}>
      <Title order={1} size="h3">
        {t('aiTitle')}
      </Title>
      <Text>{t('aiIntro')}</Text>
      {!can.has('settings:read') ? (
        <Text>{t('aiNoPermission')}</Text>
      ) : (
        <>
          {!canEdit && <Text>{t('aiReadOnly')}</Text>}
          {AI_PURPOSES.map((purpose) => (
            <ConnectionCard key={purpose} orgId={orgId} purpose={purpose} canEdit={canEdit} />
          ))}
        </>
      )}
    </Stack>
  );
}

function ConnectionCard({
  orgId,
  purpose,
  canEdit,
}: {
  orgId: string;
  purpose: AiPurpose;
  canEdit: boolean;
}) {
  const { t } = useTranslation();
  const id = useId();
  const connection = useQuery(connectionQuery(orgId, purpose));
  const name = t(`aiPurpose_${purpose}`);
  return (
    <Card withBorder component="section" aria-labelledby={id} data-testid={`ai-${purpose}`}>
      <Stack gap="sm">
        <Stack gap={2}>
          <Title order={2} size="h4" id={id}>
            {name}
          </Title>
          <Text size="sm">{t(`aiPurposeHelp_${purpose}`)}</Text>
        </Stack>
        {connection.isPending && <PageLoader label={t('aiLoading', { purpose: name })} />}
        <ErrorText error={connection.error} />
        {connection.data && (
          <ConnectionForm
            // A saved change (or a removal) starts the form again from what is stored.
            key={`${connection.data.updatedAt}`}
            orgId={orgId}
            purpose={purpose}
            saved={connection.data}
            canEdit={canEdit}
          />
        )}
      </Stack>
    </Card>
  );
}

function ConnectionForm(props: {
  orgId: string;
  purpose: AiPurpose;
  saved: AiConnectionView;
  canEdit: boolean;
}) {
  const { orgId, purpose, saved, canEdit } = props;
  const { t } = useTranslation();
  const client = useQueryClient();
  const name = t(`aiPurpose_${purpose}`);
  const [draft, setDraft] = useState<Draft>(() => draftOf(saved));
  const [removing, setRemoving] = useState(false);
  const url = `/orgs/${orgId}/ai-connections/${purpose}`;
  const query = connectionQuery(orgId, purpose);
  const dirty =
    JSON.stringify({ ...draft, apiKey: '' }) !== JSON.stringify(draftOf(saved)) || draft.apiKey !== '';
  // The stored key goes only with the provider and base URL it was given for.
  const keyKept =
    saved.hasApiKey &&
    draft.provider === saved.provider &&
    draft.baseUrl.trim().replace(/\/+$/, '') === saved.baseUrl;
  const save = useMutation({
    mutationFn: () => api<AiConnectionView>('PUT', url, bodyOf(draft)),
    onSuccess: (updated) => {
      test.reset();
      client.setQueryData(query.queryKey, updated);
      notify(t('aiSaved', { purpose: name }));
    },
  });
  const test = useMutation({
    // Settings not saved yet are tried as they are; saved ones are tested, and the outcome kept.
    mutationFn: () => api<ConnectionTestResult>('POST', `${url}/test`, dirty ? bodyOf(draft) : {}),
    onSuccess: async () => {
      if (!dirty) await client.invalidateQueries({ queryKey: query.queryKey });
    },
  });
  const remove = useMutation({
    mutationFn: () => api('DELETE', url),
    onSuccess: async () => {
      setRemoving(false);
      notify(t('aiRemoved', { purpose: name }));
      await client.invalidateQueries({ queryKey: query.queryKey });
    },
  });
  const { byField, rest } = fieldErrors(t, save.error ?? test.error, [
    'provider',
    'baseUrl',
    'model',
    'deployment',
    'apiVersion',
    'apiKey',
  ]);
  const set = (patch: Partial<Draft>) => {
    setDraft((d) => ({ ...d, ...patch }));
    save.reset();
    test.reset();
  };
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (canEdit) save.mutate();
  };
  const azure = draft.provider === 'azure_openai';
  const readOnly = !canEdit;
  const variant = readOnly ? 'filled' : 'default';
  const shown = test.data ?? (dirty ? null : saved.lastTest);
  const keyNote = saved.hasApiKey
    ? keyKept
      ? saved.apiKeyHint
        ? t('aiApiKeyStored', { hint: saved.apiKeyHint })
        : t('aiApiKeyStoredShort')
      : t('aiApiKeyAgain')
    : t('aiApiKeyHelp');
  return (
    <form onSubmit={onSubmit} noValidate>
      <Stack gap="sm">
        <Text size="sm" fw={500} data-testid={`ai-${purpose}-state`}>
          {saved.configured
            ? t('aiConnected', { provider: t(`aiProvider_${saved.provider}`), model: saved.model })
            : t('aiNotConnected')}
        </Text>
        <Select
          label={t('aiProvider')}
          allowDeselect={false}
          readOnly={readOnly}
          variant={variant}
          value={draft.provider}
          data={AI_PROVIDERS.map((p) => ({ value: p, label: t(`aiProvider_${p}`) }))}
          error={byField.provider}
          onChange={(value) => {
            if (!value) return;
            const provider = value as AiProvider;
            // OpenAI's own address is the default; elsewhere it is for the user to give.
            const baseUrl =
              provider === 'openai'
                ? OPENAI_BASE_URL
                : draft.baseUrl === OPENAI_BASE_URL
                  ? ''
                  : draft.baseUrl;
            set({ provider, baseUrl });
          }}
        />
        <TextInput
          type="url"
          label={t('aiBaseUrl')}
          description={t(`aiBaseUrlHelp_${draft.provider}`)}
          required
          readOnly={readOnly}
          variant={variant}
          spellCheck={false}
          autoComplete="off"
          placeholder="https://"
          value={draft.baseUrl}
          error={byField.baseUrl}
          onChange={(e) => set({ baseUrl: e.currentTarget.value })}
        />
        <TextInput
          label={t('aiModel')}
          description={t('aiModelHelp')}
          required
          readOnly={readOnly}
          variant={variant}
          spellCheck={false}
          autoComplete="off"
          value={draft.model}
          error={byField.model}
          onChange={(e) => set({ model: e.currentTarget.value })}
        />
        {azure && (
          <Group grow align="flex-start">
            <TextInput
              label={t('aiDeployment')}
              description={t('aiDeploymentHelp')}
              required
              readOnly={readOnly}
              variant={variant}
              spellCheck={false}
              autoComplete="off"
              value={draft.deployment}
              error={byField.deployment}
              onChange={(e) => set({ deployment: e.currentTarget.value })}
            />
            <TextInput
              label={t('aiApiVersion')}
              description={t('aiApiVersionHelp')}
              required
              readOnly={readOnly}
              variant={variant}
              spellCheck={false}
              autoComplete="off"
              placeholder="2024-10-21"
              value={draft.apiVersion}
              error={byField.apiVersion}
              onChange={(e) => set({ apiVersion: e.currentTarget.value })}
            />
          </Group>
        )}
        {canEdit ? (
          <PasswordInput
            label={t('aiApiKey')}
            description={keyNote}
            required={!keyKept}
            autoComplete="new-password"
            spellCheck={false}
            placeholder={keyKept ? t('aiApiKeyKeep') : undefined}
            value={draft.apiKey}
            error={byField.apiKey}
            onChange={(e) => set({ apiKey: e.currentTarget.value })}
          />
        ) : (
          saved.hasApiKey && <Text size="sm">{keyNote}</Text>
        )}
        <ErrorText error={rest} />
        {shown ? (
          <Stack gap={4}>
            {!test.data && (
              <Text size="sm" fw={500}>
                {t('aiLastTest')}
              </Text>
            )}
            <TestOutcome result={shown} model={draft.model.trim()} azure={azure} when={!test.data} />
          </Stack>
        ) : (
          saved.configured && !dirty && <Text size="sm">{t('aiNotTested')}</Text>
        )}
        {canEdit && (
          <Group>
            <Button
              type="submit"
              disabled={!dirty}
              loading={save.isPending}
              aria-label={t('aiSaveLabel', { purpose: name })}
            >
              {t('aiSave')}
            </Button>
            <Button
              variant="default"
              disabled={!saved.configured && !dirty}
              loading={test.isPending}
              aria-label={t('aiTestLabel', { purpose: name })}
              onClick={() => {
                save.reset();
                test.mutate();
              }}
            >
              {t('aiTest')}
            </Button>
            {saved.configured && (
              <Button
                variant="default"
                color="red"
                aria-label={t('aiRemoveLabel', { purpose: name })}
                onClick={() => {
                  remove.reset();
                  setRemoving(true);
                }}
              >
                {t('aiRemove')}
              </Button>
            )}
          </Group>
        )}
      </Stack>
      <ConfirmDialog
        opened={removing}
        title={t('aiRemoveTitle', { purpose: name })}
        message={t('aiRemoveConfirm')}
        confirmLabel={t('aiRemove')}
        loading={remove.isPending}
        error={remove.error}
        onConfirm={() => remove.mutate()}
        onCancel={() => setRemoving(false)}
      />
    </form>
  );
}
