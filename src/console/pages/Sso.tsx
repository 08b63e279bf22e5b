import { Button, Card, Group, List, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useEffect, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useLocation, useNavigate, useParams } from 'react-router';
import type { SsoSettingsView, SsoTestResult } from '../../contracts/sso.ts';
import { ApiError } from '../api.ts';
import { PageLoader } from '../components.tsx';
import { ssoLoginHref, usePermissions } from '../hooks.ts';
import { describeProblem, ErrorText } from '../problems.tsx';
import { ConnectionSection } from './SsoConnection.tsx';
import { GroupMappingsSection, PolicySection } from './SsoPolicy.tsx';
import { oidcQuery, samlQuery, ssoSettingsQuery, testResultOf } from './sso.shared.ts';

/**
 * Settings → Single sign-on: the organization's identity provider (OIDC or SAML, one at a time),
 * a test sign-in that shows what the IdP sends, the policy (enforcement, provisioning, domains)
 * and the group mappings. Every route needs sso:manage: without it the page says so (and the
 * navigation does not list it).
 */
export function SsoPage() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const can = usePermissions(orgId);
  return (
    <Stack maw={960}>
      <Title order={1} size="h3">
        {t('ssoTitle')}
      </Title>
      <Text>{t('ssoIntro')}</Text>
      {can.has('sso:manage') ? <SsoSettings orgId={orgId} /> : <Text>{t('ssoNoPermission')}</Text>}
    </Stack>
  );
}

function SsoSettings({ orgId }: { orgId: string }) {
  const { t } = useTranslation();
  const location = useLocation();
  const navigate = useNavigate();
  const settings = useQuery(ssoSettingsQuery(orgId));
  const oidc = useQuery(oidcQuery(orgId));
  const saml = useQuery(samlQuery(orgId));
  // A test sign-in comes back here with its outcome in the fragment: kept for the panel, and the
  // fragment dropped, so a reload or a shared link does not show it again.
  const [tested, setTested] = useState(() => testResultOf(location.hash));
  // biome-ignore lint/correctness/useExhaustiveDependencies: once, on arrival
  useEffect(() => {
    if (location.hash.includes('test=')) navigate({ hash: '' }, { replace: true });
  }, []);
  const error = settings.error ?? oidc.error ?? saml.error;
  if (error) return <ErrorText error={error} />;
  if (!settings.data || oidc.data === undefined || saml.data === undefined) {
    return <PageLoader label={t('ssoLoading')} />;
  }
  return (
    <>
      {tested && <TestResultPanel result={tested} settings={settings.data} onClose={() => setTested(null)} />}
      <ConnectionSection
        orgId={orgId}
        settings={settings.data}
        oidc={oidc.data}
        saml={saml.data}
        testButton={<TestSignIn settings={settings.data} />}
      />
      <PolicySection orgId={orgId} saved={settings.data} />
      <GroupMappingsSection orgId={orgId} jit={settings.data.jitProvisioning} />
    </>
  );
}

/**
 * Test sign-in: the browser goes to the IdP (a full-page navigation) and comes back to this page
 * with what it said; the admin's own session stays as it is.
 */
function TestSignIn({ settings }: { settings: SsoSettingsView }) {
  const { t } = useTranslation();
  const id = useId();
  return (
    <Stack gap={4}>
      {settings.loginUrl ? (
        <Group>
          <Button
            component="a"
            variant="default"
            href={ssoLoginHref(settings.loginUrl, { purpose: 'test' })}
            aria-describedby={id}
          >
            {t('ssoTest')}
          </Button>
        </Group>
      ) : null}
      <Text size="sm" c="dimmed" id={id}>
        {settings.loginUrl ? t('ssoTestHelp') : t('ssoTestNeedsIdp')}
      </Text>
    </Stack>
  );
}

/** What the test sign-in brought back: the IdP's word about the person, or why it failed. */
function TestResultPanel({
  result,
  settings,
  onClose,
}: {
  result: SsoTestResult;
  settings: SsoSettingsView;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const id = useId();
  const none = (
    <Text span c="dimmed">
      {t('ssoTestNone')}
    </Text>
  );
  let body: ReactNode;
  if (result.ok) {
    const rows: Array<[string, ReactNode]> = [
      [t('ssoTestProtocol'), result.protocol === 'saml' ? 'SAML 2.0' : 'OpenID Connect'],
      [t('ssoTestSubject'), result.subject],
      [
        t('email'),
        result.email
          ? `${result.email} (${result.emailVerified ? t('ssoTestVerified') : t('ssoTestUnverified')})`
          : none,
      ],
      [t('name'), result.name ?? none],
      [t('ssoTestGroups'), result.groups.length > 0 ? result.groups.join(', ') : none],
    ];
    const notes = [
      !result.email && t('ssoTestNoEmail'),
      result.email && !result.emailVerified && t('ssoTestEmailUnverified'),
      result.groups.length === 0 &&
        (settings.groupsAttribute
          ? t('ssoTestNoGroups', { attribute: settings.groupsAttribute })
          : t('ssoTestGroupsNotRead')),
    ].filter((n): n is string => Boolean(n));
    body = (
      <>
        <Text size="sm">{t('ssoTestOkHelp')}</Text>
        <Table withRowBorders={false} data-testid="sso-test-claims" maw={640}>
          <Table.Tbody>
            {rows.map(([label, value]) => (
              <Table.Tr key={label}>
                <Table.Th scope="row" w={180}>
                  {label}
                </Table.Th>
                <Table.Td style={{ wordBreak: 'break-all' }}>{value}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        {notes.length > 0 && (
          <List size="sm" spacing={4}>
            {notes.map((n) => (
              <List.Item key={n}>{n}</List.Item>
            ))}
          </List>
        )}
      </>
    );
  } else {
    const problem = describeProblem(
      t,
      new ApiError(
        400,
        result.code,
        '',
        [],
        undefined,
        undefined,
        result.reason ? { reason: result.reason } : {},
      ),
    );
    body = (
      <>
        <Text size="sm" fw={600}>
          {problem.title}
        </Text>
        <Text size="sm">{problem.message}</Text>
      </>
    );
  }
  return (
    <Card
      withBorder
      component="section"
      aria-labelledby={id}
      data-testid="sso-test-result"
      style={{ borderLeft: `4px solid var(--mantine-color-${result.ok ? 'green' : 'red'}-8)` }}
    >
      <Stack gap="xs">
        <Title order={2} size="h4" id={id}>
          {result.ok ? t('ssoTestOk') : t('ssoTestFailed')}
        </Title>
        {body}
        <Group>
          <Button size="xs" variant="default" onClick={onClose}>
            {t('ssoTestDismiss')}
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}
