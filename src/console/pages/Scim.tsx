import {
  Alert,
  Button,
  Code,
  Group,
  List,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import type { CreatedScimToken, ScimTokenView } from '../../contracts/scim.ts';
import { api, type Page } from '../api.ts';
import {
  ConfirmDialog,
  CopyValue,
  Dialog,
  DialogActions,
  PageLoader,
  RowDangerButton,
  ScrollFrame,
  Section,
  ShownOnceDialog,
} from '../components.tsx';
import { useFormat } from '../format.ts';
import { usePermissions } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { ErrorText, fieldErrors, planAllowing } from '../problems.tsx';
import { orgQuery } from '../queries.ts';
import { needsReauthentication, ReauthDialog } from './AccountReauth.tsx';
import { ScimLogSection, scimKey } from './ScimLog.tsx';
import { ssoSettingsQuery } from './sso.shared.ts';

/**
 * Settings → SCIM provisioning: the base URL to give the identity provider and how (Okta, Entra
 * ID), the org's SCIM tokens (each shown once, revocable) and the identity provider's request log.
 * Every route needs sso:manage: without it the page says so (and the navigation does not list it).
 * On a plan without SCIM the page says that instead of offering tokens the server would refuse.
 */
export function ScimPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  return (
    <Stack maw={960}>
      <Title order={1} size="h3">
        {t('scimTitle')}
      </Title>
      <Text>{t('scimIntro')}</Text>
      {can.has('sso:manage') ? <ScimSettings orgId={orgId} /> : <Text>{t('scimNoPermission')}</Text>}
    </Stack>
  );
}

function ScimSettings({ orgId }: { orgId: string }) {
  const { t } = useTranslation();
  const can = usePermissions(orgId);
  const settings = useQuery(ssoSettingsQuery(orgId));
  // The plan is read with the org profile (settings:read); a reader without that permission is
  // offered tokens, and the server's refusal of one says which plan has SCIM.
  const org = useQuery({ ...orgQuery(orgId), enabled: can.has('settings:read') });
  if (settings.error) return <ErrorText error={settings.error} />;
  if (!settings.data || org.isLoading) return <PageLoader label={t('scimLoading')} />;
  const plan = org.data?.entitlements;
  const onPlan = plan?.scim !== false;
  return (
    <>
      {!onPlan && (
        <Alert
          color="blue"
          variant="light"
          title={t('scimPlanTitle', { plan: plan?.name ?? '' })}
          data-testid="scim-plan"
        >
          {t('scimPlan', { needed: planAllowing('scim') ?? '' })}
        </Alert>
      )}
      {onPlan && <ConnectSection baseUrl={settings.data.serviceProvider.scimBaseUrl} />}
      <TokensSection orgId={orgId} canCreate={onPlan} />
      {onPlan && <ScimLogSection orgId={orgId} />}
    </>
  );
}

/** The base URL to copy, and where it and the token go at the two usual identity providers. */
function ConnectSection({ baseUrl }: { baseUrl: string }) {
  const { t } = useTranslation();
  return (
    <Section title={t('scimConnectTitle')}>
      <CopyValue label={t('scimBaseUrl')} value={baseUrl} testId="scim-base-url" />
      <Text size="sm">
        {t('scimConnectHelp')} <Code>Authorization: Bearer scim_…</Code>
      </Text>
      <List size="sm" spacing={6}>
        <List.Item>
          <Text span size="sm" fw={600}>
            Okta:
          </Text>{' '}
          {t('scimOkta')}
        </List.Item>
        <List.Item>
          <Text span size="sm" fw={600}>
            Microsoft Entra ID:
          </Text>{' '}
          {t('scimEntra')}
        </List.Item>
      </List>
      <Text size="sm" c="dimmed">
        {t('scimRoles')}
      </Text>
    </Section>
  );
}

/**
 * The org's SCIM tokens: created in a dialog (from a session that signed in recently: an older one
 * confirms it is the user first), shown once, listed with their last use, revoked after a
 * confirmation. On a plan without SCIM, tokens made before stay listed, to be revoked.
 */
function TokensSection({ orgId, canCreate }: { orgId: string; canCreate: boolean }) {
  const { t } = useTranslation();
  const when = useFormat().dateTime;
  const client = useQueryClient();
  const key = [...scimKey(orgId), 'tokens'];
  const list = useQuery({
    queryKey: key,
    // At most 20 live tokens per org: one page holds them all.
    queryFn: () => api<Page<ScimTokenView>>('GET', `/orgs/${orgId}/scim-tokens?limit=50`),
  });
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const [reauth, setReauth] = useState(false);
  const [revealed, setRevealed] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<ScimTokenView | null>(null);
  const refresh = () => client.invalidateQueries({ queryKey: key });
  const create = useMutation({
    mutationFn: () => api<CreatedScimToken>('POST', `/orgs/${orgId}/scim-tokens`, { name: name.trim() }),
    onSuccess: async (created) => {
      setCreating(false);
      setName('');
      setRevealed(created.token);
      await refresh();
    },
    // A token outlives the session: an old session confirms it is you first, then creates it.
    onError: (error) => setReauth(needsReauthentication(error)),
  });
  const revoke = useMutation({
    mutationFn: (tok: ScimTokenView) => api('DELETE', `/orgs/${orgId}/scim-tokens/${tok.id}`),
    onSuccess: async (_res, tok) => {
      setRevoking(null);
      notify(t('tokensRevoked', { name: tok.name }));
      await refresh();
    },
  });
  const { byField, rest } = fieldErrors(t, create.error, ['name']);
  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    create.mutate();
  };
  const rows = list.data?.items ?? [];
  // Without SCIM on the plan, the section is there only for tokens made before, to revoke them.
  if (!canCreate && rows.length === 0 && !list.error) return null;
  return (
    <Section title={t('scimTokensTitle')} testId="scim-tokens">
      <Text size="sm">{t('scimTokensHelp')}</Text>
      {canCreate && (
        <Group>
          <Button
            onClick={() => {
              create.reset();
              setCreating(true);
            }}
          >
            {t('scimTokenNew')}
          </Button>
        </Group>
      )}
      <ErrorText error={list.error} />
      {list.isPending ? (
        <PageLoader label={t('scimTokensTitle')} />
      ) : rows.length === 0 ? (
        <Text c="gray.7">{t('scimTokensNone')}</Text>
      ) : (
        <ScrollFrame label={t('scimTokensTitle')} minWidth={640}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('tokenName')}</Table.Th>
                <Table.Th>{t('scimTokenHint')}</Table.Th>
                <Table.Th>{t('created')}</Table.Th>
                <Table.Th>{t('lastUsed')}</Table.Th>
                <Table.Th>
                  <VisuallyHidden>{t('actions')}</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((tok) => (
                <Table.Tr key={tok.id}>
                  <Table.Td>{tok.name}</Table.Td>
                  <Table.Td>
                    <Code>{tok.hint}</Code>
                  </Table.Td>
                  <Table.Td>{when(tok.createdAt)}</Table.Td>
                  <Table.Td>{when(tok.lastUsedAt) || t('never')}</Table.Td>
                  <Table.Td>
                    <RowDangerButton
                      label={`${t('revoke')}: ${tok.name}`}
                      onClick={() => {
                        revoke.reset();
                        setRevoking(tok);
                      }}
                    >
                      {t('revoke')}
                    </RowDangerButton>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollFrame>
      )}
      {/* Hidden while the user confirms it is them; the name they typed waits for the retry. */}
      <Dialog opened={creating && !reauth} onClose={() => setCreating(false)} title={t('scimTokenNewTitle')}>
        <form noValidate onSubmit={submit}>
          <Stack>
            <TextInput
              label={t('tokenName')}
              description={t('scimTokenNameHelp')}
              required
              maxLength={100}
              data-autofocus
              value={name}
              error={byField.name}
              onChange={(e) => {
                setName(e.currentTarget.value);
                if (!create.isPending) create.reset();
              }}
            />
            <ErrorText error={needsReauthentication(rest) ? null : rest} feature="scim" />
            <DialogActions
              onCancel={() => setCreating(false)}
              onConfirm={() => submit()}
              label={t('create')}
              color="blue"
              loading={create.isPending}
            />
          </Stack>
        </form>
      </Dialog>
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
      <ShownOnceDialog
        value={revealed}
        title={t('scimRevealTitle')}
        help={
          <Alert color="orange" role="note">
            {t('scimRevealHelp')}
          </Alert>
        }
        testId="scim-token"
        onClose={() => setRevealed(null)}
      />
      <ConfirmDialog
        opened={revoking !== null}
        title={t('tokensRevokeTitle', { name: revoking?.name ?? '' })}
        message={t('scimTokenRevokeConfirm')}
        confirmLabel={t('revoke')}
        onCancel={() => setRevoking(null)}
        onConfirm={() => revoking && revoke.mutate(revoking)}
        loading={revoke.isPending}
        error={revoke.error}
      />
    </Section>
  );
}
