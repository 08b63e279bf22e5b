import { Badge, Button, Card, Group, PasswordInput, Radio, Stack, Text, TextInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type {
  OidcConnectionView,
  SamlConnectionView,
  SsoProtocol,
  SsoSettingsView,
} from '../../contracts/sso.ts';
import { api } from '../api.ts';
import { CopyValue, Section } from '../components.tsx';
import { useMe } from '../hooks.ts';
import { notify } from '../notify.tsx';
import { fieldErrors } from '../problems.tsx';
import { Disconnect, IdpProblem, PROTOCOL_NAMES } from './SsoParts.tsx';
import { SamlForm } from './SsoSaml.tsx';
import { entriesOf, oidcQuery, ssoKey } from './sso.shared.ts';

/** The section "Identity provider": OIDC or SAML (one at a time), its form, and the test sign-in. */
export function ConnectionSection(props: {
  orgId: string;
  settings: SsoSettingsView;
  oidc: OidcConnectionView | null;
  saml: SamlConnectionView | null;
  testButton: ReactNode;
}) {
  const { orgId, settings, oidc, saml } = props;
  const { t } = useTranslation();
  const me = useMe();
  const slug = me.data?.memberships.find((m) => m.org.id === orgId)?.org.slug ?? '';
  const connected: SsoProtocol | null = oidc ? 'oidc' : saml ? 'saml' : null;
  const [chosen, setChosen] = useState<SsoProtocol>(connected ?? 'oidc');
  const protocol = connected ?? chosen;
  return (
    <Card withBorder>
      <Section title={t('ssoIdpTitle')} testId="sso-idp">
        <Text data-testid="sso-idp-state">
          {connected ? t('ssoConnected', { protocol: PROTOCOL_NAMES[connected] }) : t('ssoNotConnected')}
        </Text>
        <Radio.Group
          label={t('ssoProtocol')}
          description={connected ? t('ssoOneIdp') : undefined}
          value={protocol}
          onChange={(v) => setChosen(v === 'saml' ? 'saml' : 'oidc')}
        >
          <Group mt="xs">
            {(['oidc', 'saml'] as const).map((p) => (
              <Radio
                key={p}
                value={p}
                label={PROTOCOL_NAMES[p]}
                disabled={connected !== null && connected !== p}
              />
            ))}
          </Group>
        </Radio.Group>
        {protocol === 'oidc' ? (
          <OidcForm
            key={oidc?.updatedAt ?? 'new'}
            orgId={orgId}
            slug={slug}
            saved={oidc}
            settings={settings}
          />
        ) : (
          <SamlForm
            key={saml?.updatedAt ?? 'new'}
            orgId={orgId}
            slug={slug}
            saved={saml}
            settings={settings}
          />
        )}
        {props.testButton}
      </Section>
    </Card>
  );
}

/** OIDC: the issuer, the client and its write-only secret, and the redirect URI to register. */
function OidcForm(props: {
  orgId: string;
  slug: string;
  saved: OidcConnectionView | null;
  settings: SsoSettingsView;
}) {
  const { orgId, saved } = props;
  const { t } = useTranslation();
  const client = useQueryClient();
  const [form, setForm] = useState({
    issuer: saved?.issuer ?? '',
    clientId: saved?.clientId ?? '',
    clientSecret: '',
    scopes: (saved?.scopes ?? ['openid', 'email', 'profile']).join(' '),
  });
  const body = {
    issuer: form.issuer.trim(),
    clientId: form.clientId.trim(),
    ...(form.clientSecret !== '' ? { clientSecret: form.clientSecret } : {}),
    scopes: entriesOf(form.scopes),
  };
  const save = useMutation({
    mutationFn: (sent: typeof body) => api<OidcConnectionView>('PUT', `/orgs/${orgId}/sso/oidc`, sent),
    onSuccess: async (connection) => {
      client.setQueryData(oidcQuery(orgId).queryKey, connection);
      notify(saved ? t('ssoOidcSaved') : t('ssoOidcConnected'));
      await client.invalidateQueries({ queryKey: ssoKey(orgId) });
    },
  });
  const { byField, rest } = fieldErrors(t, save.error, ['issuer', 'clientId', 'clientSecret', 'scopes'], {
    body: save.variables,
  });
  const set = (field: keyof typeof form) => (e: { currentTarget: { value: string } }) => {
    const value = e.currentTarget.value;
    setForm((f) => ({ ...f, [field]: value }));
  };
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate(body);
  };
  return (
    <form onSubmit={onSubmit} noValidate>
      <Stack gap="sm">
        <TextInput
          label={t('ssoIssuer')}
          description={t('ssoIssuerHelp')}
          placeholder="https://login.example.com"
          required
          autoComplete="off"
          spellCheck={false}
          value={form.issuer}
          error={byField.issuer}
          onChange={set('issuer')}
        />
        <TextInput
          label={t('ssoClientId')}
          required
          autoComplete="off"
          spellCheck={false}
          value={form.clientId}
          error={byField.clientId}
          onChange={set('clientId')}
        />
        <PasswordInput
          label={
            saved?.clientSecretSet ? (
              <>
                {t('ssoClientSecret')}{' '}
                <Badge size="sm" color="#1b5e20">
                  {t('ssoSecretStored')}
                </Badge>
              </>
            ) : (
              t('ssoClientSecret')
            )
          }
          description={saved?.clientSecretSet ? t('ssoClientSecretKeep') : t('ssoClientSecretHelp')}
          required={!saved?.clientSecretSet}
          autoComplete="new-password"
          value={form.clientSecret}
          error={byField.clientSecret}
          onChange={set('clientSecret')}
        />
        <TextInput
          label={t('ssoScopes')}
          description={t('ssoScopesHelp')}
          autoComplete="off"
          spellCheck={false}
          value={form.scopes}
          error={byField.scopes}
          onChange={set('scopes')}
        />
        <CopyValue
          label={t('ssoRedirectUri')}
          value={saved?.redirectUri ?? props.settings.serviceProvider.oidcRedirectUri}
          testId="sso-redirect-uri"
        />
        <Text size="sm" c="dimmed">
          {t('ssoRedirectUriHelp')}
        </Text>
        <IdpProblem error={rest} />
        <Group>
          <Button type="submit" loading={save.isPending}>
            {saved ? t('ssoSave') : t('ssoConnect')}
          </Button>
          {saved && (
            <Disconnect orgId={orgId} protocol="oidc" enforced={props.settings.enforcement === 'enforced'} />
          )}
        </Group>
      </Stack>
    </form>
  );
}
