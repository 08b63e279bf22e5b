import { Button, Checkbox, Code, Group, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import type { CreatedToken, Page, TokenView, UsageEntry } from '../../contracts/wire.ts';
import { api } from '../api.ts';
import { useCatalogWords } from '../catalog-words.ts';
import { ConfirmDialog, Dialog, RowDangerButton, ScrollFrame, ShownOnceDialog } from '../components.tsx';
import { useFormat } from '../format.ts';
import { usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors } from '../problems.tsx';
import { rolesQuery } from '../queries.ts';
import { needsReauthentication, ReauthDialog } from './AccountReauth.tsx';

/** Settings → Organization → API Tokens: your personal tokens, and the org's automation tokens. */
export function ApiTokensPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  const [revealed, setRevealed] = useState<CreatedToken | null>(null);
  return (
    <Stack>
      <Title order={1} size="h3">
        {t('apiTokens')}
      </Title>
      <TokenSection kind="personal" orgId={orgId} onCreated={setRevealed} />
      {can.has('api_keys:manage') && <TokenSection kind="automation" orgId={orgId} onCreated={setRevealed} />}
      <ShownOnceDialog
        value={revealed?.token ?? null}
        title={t('revealTitle')}
        help={t('revealHelp')}
        testId="revealed-token"
        onClose={() => setRevealed(null)}
      />
    </Stack>
  );
}

function TokenSection({
  kind,
  orgId,
  onCreated,
}: {
  kind: 'personal' | 'automation';
  orgId: string;
  onCreated: (t: CreatedToken) => void;
}) {
  const { t } = useTranslation();
  const when = useFormat().dateTime;
  const catalog = useCatalogWords();
  const client = useQueryClient();
  const listPath = kind === 'personal' ? `/me/tokens?orgId=${orgId}` : `/orgs/${orgId}/automation-tokens`;
  const list = useQuery({
    queryKey: ['tokens', kind, orgId],
    queryFn: () => api<Page<TokenView>>('GET', listPath),
  });
  const roles = useQuery({ ...rolesQuery(orgId), enabled: kind === 'automation' });
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['read']);
  const [expiry, setExpiry] = useState<string>(kind === 'personal' ? '30' : '90');
  const [role, setRole] = useState<string | null>('viewer');
  const [usageOf, setUsageOf] = useState<TokenView | null>(null);
  const [revoking, setRevoking] = useState<TokenView | null>(null);
  const [reauth, setReauth] = useState(false);
  const refresh = () => client.invalidateQueries({ queryKey: ['tokens', kind, orgId] });
  const create = useMutation({
    mutationFn: () => {
      const expiresInDays = expiry === 'never' ? null : Number(expiry);
      return kind === 'personal'
        ? api<CreatedToken>('POST', '/me/tokens', { name, orgId, scopes, expiresInDays })
        : api<CreatedToken>('POST', `/orgs/${orgId}/automation-tokens`, {
            name,
            role,
            scopes,
            expiresInDays,
          });
    },
    onSuccess: async (created) => {
      // The form starts afresh for the next token; the new one is shown once, in the dialog.
      setName('');
      setScopes(['read']);
      setExpiry(kind === 'personal' ? '30' : '90');
      setRole('viewer');
      onCreated(created);
      await refresh();
    },
    // A token outlives the session: an old session confirms it is you first, then creates it.
    onError: (error) => setReauth(needsReauthentication(error)),
  });
  const revoke = useMutation({
    mutationFn: (tok: TokenView) =>
      api(
        'DELETE',
        kind === 'personal' ? `/me/tokens/${tok.id}` : `/orgs/${orgId}/automation-tokens/${tok.id}`,
      ),
    onSuccess: async (_res, tok) => {
      setRevoking(null);
      notify(t('tokensRevoked', { name: tok.name }));
      await refresh();
    },
  });
  const { byField, rest } = fieldErrors(t, create.error, ['name', 'role', 'scopes', 'expiresInDays']);
  const lifetimes = kind === 'personal' ? ['30', '90'] : ['30', '90', '365'];
  const title = kind === 'personal' ? t('personalTokens') : t('automationTokens');
  return (
    <Stack component="section" aria-label={title}>
      <Title order={2} size="h4">
        {title}
      </Title>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Group align="flex-end">
          <TextInput
            label={t('tokenName')}
            required
            value={name}
            error={byField.name}
            onChange={(e) => setName(e.currentTarget.value)}
          />
          {kind === 'automation' && (
            <Select
              label={t('role')}
              data={(roles.data?.items ?? [])
                .filter((r) => r.slug !== 'owner')
                .map((r) => ({ value: r.slug, label: catalog.roleName(r.slug, r.name) }))}
              value={role}
              onChange={setRole}
              allowDeselect={false}
            />
          )}
          <Checkbox.Group label={t('scopes')} value={scopes} onChange={setScopes}>
            <Group mt={6}>
              {['read', 'write', 'admin'].map((s) => (
                <Checkbox key={s} value={s} label={s} />
              ))}
            </Group>
          </Checkbox.Group>
          <Select
            label={t('expiry')}
            value={expiry}
            onChange={(v) => v && setExpiry(v)}
            allowDeselect={false}
            data={[
              ...lifetimes.map((d) => ({ value: d, label: t('days', { count: Number(d) }) })),
              { value: 'never', label: t('noExpiry') },
            ]}
          />
          <Button type="submit" loading={create.isPending}>
            {t('create')}
          </Button>
        </Group>
      </form>
      <ErrorText error={list.error ?? (needsReauthentication(rest) ? null : rest)} />
      {reauth && (
        <ReauthDialog
          onCancel={() => {
            setReauth(false);
            create.reset();
          }}
          onDone={() => {
            setReauth(false);
            create.mutate();
          }}
        />
      )}
      {(list.data?.items ?? []).length === 0 ? (
        <Text c="gray.7">{t('noItems')}</Text>
      ) : (
        <ScrollFrame label={title} minWidth={720}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('tokenName')}</Table.Th>
                <Table.Th>{t('scopes')}</Table.Th>
                {kind === 'automation' && <Table.Th>{t('role')}</Table.Th>}
                <Table.Th>{t('created')}</Table.Th>
                <Table.Th>{t('lastUsed')}</Table.Th>
                <Table.Th>{t('expires')}</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {(list.data?.items ?? []).map((tok) => (
                <Table.Tr key={tok.id}>
                  <Table.Td>
                    {tok.name} <Code>{tok.hint}</Code>
                  </Table.Td>
                  <Table.Td>{tok.scopes.join(', ')}</Table.Td>
                  {kind === 'automation' && <Table.Td>{tok.role ? catalog.roleName(tok.role) : ''}</Table.Td>}
                  <Table.Td>{when(tok.createdAt)}</Table.Td>
                  <Table.Td>{when(tok.lastUsedAt) || t('never')}</Table.Td>
                  <Table.Td>
                    {tok.status === 'expired' ? t('expired') : when(tok.expiresAt) || t('noExpiry')}
                  </Table.Td>
                  <Table.Td>
                    <Group gap="xs">
                      {kind === 'automation' && (
                        <Button size="xs" variant="default" onClick={() => setUsageOf(tok)}>
                          {t('usage')}
                        </Button>
                      )}
                      <RowDangerButton label={`${t('revoke')}: ${tok.name}`} onClick={() => setRevoking(tok)}>
                        {t('revoke')}
                      </RowDangerButton>
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollFrame>
      )}
      <ConfirmDialog
        opened={revoking !== null}
        title={t('tokensRevokeTitle', { name: revoking?.name ?? '' })}
        message={t('tokensRevokeConfirm', { name: revoking?.name ?? '' })}
        confirmLabel={t('revoke')}
        onCancel={() => {
          setRevoking(null);
          revoke.reset();
        }}
        onConfirm={() => revoking && revoke.mutate(revoking)}
        loading={revoke.isPending}
        error={revoke.error}
      />
      {kind === 'automation' && (
        <UsageDialog orgId={orgId} token={usageOf} onClose={() => setUsageOf(null)} />
      )}
    </Stack>
  );
}

function UsageDialog({
  orgId,
  token,
  onClose,
}: {
  orgId: string;
  token: TokenView | null;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const when = useFormat().dateTime;
  const usage = useQuery({
    queryKey: ['usage', token?.id],
    queryFn: () =>
      api<Page<UsageEntry>>('GET', `/orgs/${orgId}/automation-tokens/${token!.id}/usage?limit=200`),
    enabled: token !== null,
  });
  return (
    <Dialog opened={token !== null} onClose={onClose} title={`${t('usage')}: ${token?.name ?? ''}`} size="xl">
      <ErrorText error={usage.error} />
      <ScrollFrame label={t('usage')} minWidth={560}>
        <Table>
          <Table.Tbody>
            {(usage.data?.items ?? []).map((u) => (
              <Table.Tr key={`${u.at} ${u.ip} ${u.method} ${u.route} ${u.status}`}>
                <Table.Td>{when(u.at)}</Table.Td>
                <Table.Td>{u.ip}</Table.Td>
                <Table.Td>
                  {u.method} {u.route}
                </Table.Td>
                <Table.Td>{u.status}</Table.Td>
                <Table.Td>×{u.count}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollFrame>
    </Dialog>
  );
}
