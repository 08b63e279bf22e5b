import {
  Anchor,
  Button,
  Card,
  Center,
  Divider,
  Group,
  Paper,
  PasswordInput,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, lazy, type ReactNode, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, Navigate, Outlet, Route, Routes, useLocation, useNavigate } from 'react-router';
import type { InvitationPreview } from '../contracts/wire.ts';
import { ApiError, api } from './api.ts';
import { useCatalogWords } from './catalog-words.ts';
import { PageBoundary, PageLoader, SignInFirst } from './components.tsx';
import { safeNext, useLinkToken, useMe, useSignOut } from './hooks.ts';
import { LanguageSelect, OrgLayout, SignedInPage } from './layout.tsx';
import { Notifications, notify } from './notify.tsx';
import { forgetRememberedOrg, recallOrgs, rememberOrgs } from './org-memory.ts';
import { TeamPage } from './pages/Team.tsx';
import { PasskeyErrorText, signInWithPasskey } from './passkeys.tsx';
import { ErrorText, fieldErrors } from './problems.tsx';
import {
  isSecondFactorProblem,
  type SecondFactor,
  SecondFactorStep,
  secondFactorBody,
} from './second-factor.tsx';
import { SsoRefusal, SsoSignIn } from './sso-signin.tsx';

// The Team page, where an org opens, comes with the first load; the other pages load when visited.
const ProfilePage = lazy(() => import('./pages/Profile.tsx').then((m) => ({ default: m.ProfilePage })));
const RolesPage = lazy(() => import('./pages/Roles.tsx').then((m) => ({ default: m.RolesPage })));
const PoliciesPage = lazy(() => import('./pages/Policies.tsx').then((m) => ({ default: m.PoliciesPage })));
const SecurityPage = lazy(() => import('./pages/Security.tsx').then((m) => ({ default: m.SecurityPage })));
const BillingPage = lazy(() => import('./pages/Billing.tsx').then((m) => ({ default: m.BillingPage })));
const DataPrivacyPage = lazy(() =>
  import('./pages/DataPrivacy.tsx').then((m) => ({ default: m.DataPrivacyPage })),
);
const SsoPage = lazy(() => import('./pages/Sso.tsx').then((m) => ({ default: m.SsoPage })));
const PlatformPage = lazy(() => import('./pages/Platform.tsx').then((m) => ({ default: m.PlatformPage })));
const LanguagePage = lazy(() => import('./pages/Language.tsx').then((m) => ({ default: m.LanguagePage })));
const ScimPage = lazy(() => import('./pages/Scim.tsx').then((m) => ({ default: m.ScimPage })));
const AuditLogPage = lazy(() => import('./pages/AuditLog.tsx').then((m) => ({ default: m.AuditLogPage })));
const ApplicationsPage = lazy(() =>
  import('./pages/Applications.tsx').then((m) => ({ default: m.ApplicationsPage })),
);
const ScansPage = lazy(() => import('./pages/Scans.tsx').then((m) => ({ default: m.ScansPage })));
const ScanDetailPage = lazy(() =>
  import('./pages/ScanDetail.tsx').then((m) => ({ default: m.ScanDetailPage })),
);
const InvoicesPage = lazy(() => import('./pages/Invoices.tsx').then((m) => ({ default: m.InvoicesPage })));
const ReportsPage = lazy(() => import('./pages/Reports.tsx').then((m) => ({ default: m.ReportsPage })));
const UsagePage = lazy(() => import('./pages/Usage.tsx').then((m) => ({ default: m.UsagePage })));
const FindingsPage = lazy(() => import('./pages/Findings.tsx').then((m) => ({ default: m.FindingsPage })));
const FindingDetailPage = lazy(() =>
  import('./pages/FindingDetail.tsx').then((m) => ({ default: m.FindingDetailPage })),
);
const WebhooksPage = lazy(() => import('./pages/Webhooks.tsx').then((m) => ({ default: m.WebhooksPage })));
const AiConnectionsPage = lazy(() =>
  import('./pages/AiConnections.tsx').then((m) => ({ default: m.AiConnectionsPage })),
);
const IntegrationsPage = lazy(() =>
  import('./pages/Integrations.tsx').then((m) => ({ default: m.IntegrationsPage })),
);
const ApiTokensPage = lazy(() => import('./pages/ApiTokens.tsx').then((m) => ({ default: m.ApiTokensPage })));
const AccountPage = lazy(() => import('./pages/Account.tsx').then((m) => ({ default: m.AccountPage })));
const AccountSecurityPage = lazy(() =>
  import('./pages/AccountSecurity.tsx').then((m) => ({ default: m.AccountSecurityPage })),
);
const MemberDetailPage = lazy(() =>
  import('./pages/MemberDetail.tsx').then((m) => ({ default: m.MemberDetailPage })),
);
const notifications = {
  account: lazy(() =>
    import('./pages/AccountNotifications.tsx').then((m) => ({ default: m.AccountNotificationsPage })),
  ),
  org: lazy(() => import('./pages/OrgNotifications.tsx').then((m) => ({ default: m.OrgNotificationsPage }))),
  inbox: lazy(() => import('./pages/Inbox.tsx').then((m) => ({ default: m.InboxPage }))),
};
const JoinPage = lazy(() => import('./pages/Join.tsx').then((m) => ({ default: m.JoinPage })));
const recovery = () => import('./pages/Recovery.tsx');
const ForgotPasswordPage = lazy(() => recovery().then((m) => ({ default: m.ForgotPasswordPage })));
const ResetPasswordPage = lazy(() => recovery().then((m) => ({ default: m.ResetPasswordPage })));
const VerifyEmailPage = lazy(() => recovery().then((m) => ({ default: m.VerifyEmailPage })));
const ConfirmEmailPage = lazy(() => recovery().then((m) => ({ default: m.ConfirmEmailPage })));

/** A page seen signed out: a card in the middle. */
function Centered({ children, w = 420 }: { children: ReactNode; w?: number }) {
  return (
    <Center mih="100vh" p="sm">
      <Card withBorder w={w} maw="100%" p="lg" component="main">
        {children}
      </Card>
    </Center>
  );
}

function AuthPage({ mode }: { mode: 'signin' | 'signup' }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const navigate = useNavigate();
  const location = useLocation();
  const [form, setForm] = useState({ email: '', password: '', name: '' });
  // The second step, once the server said the password is right and 2FA is on.
  const [factor, setFactor] = useState<SecondFactor | null>(null);
  const signedIn = () => {
    // Forget "signed out": the next page asks the server again before it decides.
    client.removeQueries({ queryKey: ['me'] });
    navigate(safeNext(new URLSearchParams(location.search).get('next')));
  };
  const submit = useMutation({
    mutationFn: () =>
      mode === 'signin'
        ? api('POST', '/auth/login', {
            email: form.email,
            password: form.password,
            ...(factor ? secondFactorBody(factor) : {}),
          })
        : api('POST', '/auth/signup', form),
    onSuccess: signedIn,
    onError: (err) => {
      if (err instanceof ApiError && err.code === 'second_factor_required') {
        setFactor({ kind: 'totp', code: '' });
      }
    },
  });
  // The passkey way in: with the email typed, that account's passkeys; without, any of this site's.
  const passkey = useMutation({
    mutationFn: () => signInWithPasskey(form.email),
    onSuccess: signedIn,
  });
  const asked = submit.error instanceof ApiError && submit.error.code === 'second_factor_required';
  const { byField, rest } = fieldErrors(t, asked ? null : submit.error, ['email', 'password', 'name']);
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    passkey.reset();
    submit.mutate();
  };
  const query = new URLSearchParams(location.search);
  // Sent back here by the server when a sign-in through an identity provider was refused.
  const ssoError = mode === 'signin' ? query.get('sso_error') : null;
  return (
    <Centered w={380}>
      <Stack>
        <form onSubmit={onSubmit} noValidate>
          <Stack>
            <Group justify="space-between">
              <Title order={1} size="h3">
                {factor ? t('signInCodeTitle') : mode === 'signin' ? t('signIn') : t('signUp')}
              </Title>
              <LanguageSelect />
            </Group>
            {ssoError && !factor && <SsoRefusal code={ssoError} reason={query.get('sso_reason')} />}
            {factor && (
              <SecondFactorStep
                factor={factor}
                error={submit.error}
                onChange={(next) => {
                  setFactor(next);
                  if (!submit.isPending) submit.reset();
                }}
              />
            )}
            {mode === 'signup' && !factor && (
              <TextInput
                label={t('name')}
                required
                value={form.name}
                error={byField.name}
                onChange={(e) => setForm({ ...form, name: e.currentTarget.value })}
              />
            )}
            <Stack display={factor ? 'none' : undefined}>
              <TextInput
                label={t('email')}
                type="email"
                required
                autoComplete="email"
                value={form.email}
                error={byField.email}
                onChange={(e) => setForm({ ...form, email: e.currentTarget.value })}
              />
              <PasswordInput
                label={t('password')}
                required
                autoComplete={mode === 'signin' ? 'current-password' : 'new-password'}
                value={form.password}
                error={byField.password}
                onChange={(e) => setForm({ ...form, password: e.currentTarget.value })}
              />
              {mode === 'signin' && (
                <Anchor component={Link} to="/forgot-password" size="sm">
                  {t('recoveryForgot')}
                </Anchor>
              )}
            </Stack>
            <ErrorText error={factor && isSecondFactorProblem(submit.error) ? null : rest} />
            <Button type="submit" loading={submit.isPending}>
              {factor ? t('signInVerify') : mode === 'signin' ? t('signIn') : t('signUp')}
            </Button>
          </Stack>
        </form>
        {mode === 'signin' && !factor && (
          <>
            <Divider label={t('passkeyOr')} labelPosition="center" />
            <Button
              variant="default"
              loading={passkey.isPending}
              aria-describedby="passkey-help"
              onClick={() => {
                submit.reset();
                passkey.mutate();
              }}
            >
              {t('passkeySignIn')}
            </Button>
            <Text size="xs" c="gray.7" id="passkey-help">
              {t('passkeySignInHelp')}
            </Text>
            <PasskeyErrorText error={passkey.error} />
            <SsoSignIn email={form.email} next={query.get('next')} open={Boolean(ssoError)} />
          </>
        )}
        {factor ? null : mode === 'signin' ? (
          <Anchor component={Link} to={`/signup${location.search}`}>
            {t('noAccount')} {t('signUp')}
          </Anchor>
        ) : (
          <Anchor component={Link} to={`/signin${location.search}`}>
            {t('haveAccount')} {t('signIn')}
          </Anchor>
        )}
      </Stack>
    </Centered>
  );
}

/** Pages behind sign-in: without a session, to the sign-in page and back here afterwards. */
function RequireUser() {
  const me = useMe();
  const location = useLocation();
  const { i18n } = useTranslation();
  const locale = me.data?.user.locale;
  useEffect(() => {
    // The user's own language wins over the browser's and the organization's.
    if (locale) void i18n.changeLanguage(locale.startsWith('es') ? 'es' : 'en');
  }, [locale, i18n]);
  useEffect(() => {
    // Organizations gone since the last visit stay remembered until the user has been told.
    if (me.data) rememberOrgs(me.data, true);
  }, [me.data]);
  if (me.isPending) return <PageLoader />;
  if (me.error) return <ErrorText error={me.error} />;
  if (!me.data) return <Navigate to={`/signin?next=${encodeURIComponent(location.pathname)}`} replace />;
  return <Outlet />;
}

function Home() {
  const { t } = useTranslation();
  const me = useMe();
  const first = me.data?.memberships[0];
  useEffect(() => {
    if (!me.data || !first) return;
    // Still a member elsewhere: one line about the org that went, then on to the next.
    for (const org of recallOrgs(me.data).lost) notify(t('shellLostOne', { org: org.name }));
    rememberOrgs(me.data);
  }, [me.data, first, t]);
  if (first) return <Navigate to={`/orgs/${first.org.id}/settings/team`} replace />;
  // No organization: explained when this browser knows why (removed, or a request waiting).
  const memory = me.data ? recallOrgs(me.data) : { lost: [], asked: [] };
  return <Navigate to={memory.lost.length + memory.asked.length > 0 ? '/start' : '/orgs/new'} replace />;
}

/**
 * A signed-in user with no organization: what happened (removed from their last one, a join
 * request waiting, or simply new) and the ways on: create an org, check again, switch account,
 * sign out.
 */
function StartPage() {
  const { t } = useTranslation();
  const me = useMe();
  const navigate = useNavigate();
  const location = useLocation();
  const signOut = useSignOut();
  const [memory] = useState(() => (me.data ? recallOrgs(me.data) : { lost: [], asked: [] }));
  const lost = memory.lost.map((o) => o.name).join(', ');
  const asked = memory.asked.join(', ');
  if ((me.data && me.data.memberships.length > 0) || (!lost && !asked)) return <Navigate to="/" replace />;
  const create = () => {
    for (const o of memory.lost) if (me.data) forgetRememberedOrg(me.data.user.id, o.id);
    navigate('/orgs/new');
  };
  return (
    <SignedInPage>
      <Stack>
        <Title order={1} size="h3">
          {lost ? t('shellLostTitle', { org: lost }) : t('shellWaitingTitle')}
        </Title>
        {lost && <Text>{t('shellLostHelp', { org: lost })}</Text>}
        {asked && <Text>{t('shellWaitingHelp', { org: asked })}</Text>}
        <Text>{t('shellNoOrgNext', { email: me.data?.user.email ?? '' })}</Text>
        <Group>
          <Button onClick={create}>{t('createOrg')}</Button>
          {asked && (
            <Button variant="default" onClick={() => void me.refetch()} loading={me.isFetching}>
              {t('shellCheckAgain')}
            </Button>
          )}
          <Button
            variant="default"
            loading={signOut.isPending}
            onClick={() =>
              signOut.mutate(undefined, {
                onSuccess: () => navigate(`/signin?next=${encodeURIComponent(location.pathname)}`),
              })
            }
          >
            {t('shellSwitchAccount')}
          </Button>
          <Button variant="default" loading={signOut.isPending} onClick={() => signOut.mutate()}>
            {t('signOut')}
          </Button>
        </Group>
      </Stack>
    </SignedInPage>
  );
}

function CreateOrg() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const navigate = useNavigate();
  const me = useMe();
  const [name, setName] = useState('');
  const create = useMutation({
    mutationFn: () => api<{ id: string; name: string }>('POST', '/orgs', { name }),
    onSuccess: async (org) => {
      setName('');
      notify(t('shellOrgCreated', { org: org.name }));
      await client.invalidateQueries({ queryKey: ['me'] });
      navigate(`/orgs/${org.id}/settings/team`);
    },
  });
  const { byField, rest } = fieldErrors(t, create.error, ['name']);
  return (
    <SignedInPage>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Stack>
          <Title order={1} size="h3">
            {t('createOrg')}
          </Title>
          {me.data?.memberships.length === 0 && (
            <>
              <Text>{t('welcome')}</Text>
              <Text size="sm">{t('shellNoOrgNext', { email: me.data.user.email })}</Text>
            </>
          )}
          <TextInput
            label={t('orgName')}
            required
            value={name}
            error={byField.name}
            onChange={(e) => setName(e.currentTarget.value)}
          />
          <ErrorText error={rest} />
          <Button type="submit" loading={create.isPending}>
            {t('createOrg')}
          </Button>
        </Stack>
      </form>
    </SignedInPage>
  );
}

/**
 * The emailed invitation link (`/invitations/accept#token=…`): what it is for, then sign in or
 * create the invited account, then accept. Signed in as another address, the page says so before
 * anything is tried, and offers to switch account.
 */
function AcceptInvitation() {
  const { t } = useTranslation();
  const me = useMe();
  const client = useQueryClient();
  const navigate = useNavigate();
  const signOut = useSignOut();
  const token = useLinkToken('gatehouse.invite');
  const catalog = useCatalogWords();
  const preview = useQuery({
    queryKey: ['invitation', token],
    queryFn: () => api<InvitationPreview>('POST', '/invitations/preview', { token }),
    enabled: Boolean(token),
  });
  const accept = useMutation({
    mutationFn: () => api<{ org: { id: string; name: string } }>('POST', '/invitations/accept', { token }),
    onSuccess: async (res) => {
      sessionStorage.removeItem('gatehouse.invite');
      notify(t('shellJoined', { org: res.org.name ?? preview.data?.org.name ?? '' }));
      await client.invalidateQueries({ queryKey: ['me'] });
      navigate(`/orgs/${res.org.id}/settings/team`);
    },
  });
  const invited = preview.data?.email;
  const mismatch =
    (invited && me.data && invited.toLowerCase() !== me.data.user.email.toLowerCase()) ||
    (accept.error instanceof ApiError && accept.error.code === 'invite_email_mismatch');
  const body = (
    <Stack>
      <Title order={1} size="h3">
        {t('invitation')}
      </Title>
      {!token && <Text>{t('shellInviteNoLink')}</Text>}
      <ErrorText error={preview.error ?? (mismatch ? null : accept.error)} />
      {preview.data && (
        <Text>
          {t('invitedAs', {
            org: preview.data.org.name,
            role: catalog.roleName(preview.data.role, preview.data.roleName),
            email: preview.data.email,
          })}
        </Text>
      )}
      {preview.data && me.data === null && <SignInFirst back="/invitations/accept" />}
      {mismatch && me.data && (
        <Paper withBorder p="md" component="section" aria-labelledby="invite-other">
          <Stack gap="xs">
            <Title order={2} size="h4" id="invite-other">
              {t('problem_invite_email_mismatch_title')}
            </Title>
            <Text size="sm">
              {t('shellInviteOther', { invited: invited ?? '', email: me.data.user.email })}
            </Text>
            <Group>
              <Button
                onClick={() =>
                  signOut.mutate(undefined, {
                    onSuccess: () => navigate('/signin?next=%2Finvitations%2Faccept'),
                  })
                }
                loading={signOut.isPending}
              >
                {t('shellSwitchAccount')}
              </Button>
              <Button variant="default" component={Link} to="/">
                {me.data.memberships.length > 0 ? t('shellToConsole') : t('createOrg')}
              </Button>
            </Group>
          </Stack>
        </Paper>
      )}
      {preview.data && me.data && !mismatch && (
        <Button onClick={() => accept.mutate()} loading={accept.isPending}>
          {t('acceptInvitation')}
        </Button>
      )}
    </Stack>
  );
  return me.data ? <SignedInPage>{body}</SignedInPage> : <Centered w={460}>{body}</Centered>;
}

export function App() {
  return (
    <>
      <Routes>
        <Route path="/signin" element={<AuthPage mode="signin" />} />
        <Route path="/signup" element={<AuthPage mode="signup" />} />
        <Route path="/invitations/accept" element={<AcceptInvitation />} />
        {(
          [
            ['/forgot-password', <ForgotPasswordPage key="forgot" />],
            ['/reset-password', <ResetPasswordPage key="reset" />],
            ['/verify-email', <VerifyEmailPage key="verify" />],
            ['/confirm-email', <ConfirmEmailPage key="confirm" />],
          ] as const
        ).map(([path, page]) => (
          <Route key={path} path={path} element={<PageBoundary>{page}</PageBoundary>} />
        ))}
        <Route
          path="/join"
          element={
            <PageBoundary>
              <JoinPage />
            </PageBoundary>
          }
        />
        <Route element={<RequireUser />}>
          <Route path="/" element={<Home />} />
          <Route path="/start" element={<StartPage />} />
          <Route path="/orgs/new" element={<CreateOrg />} />
          <Route path="/orgs/:orgId/settings" element={<OrgLayout />}>
            <Route path="profile" element={<ProfilePage />} />
            <Route path="team" element={<TeamPage />} />
            <Route path="team/:userId" element={<MemberDetailPage />} />
            <Route path="roles" element={<RolesPage />} />
            <Route path="policies" element={<PoliciesPage />} />
            <Route path="security" element={<SecurityPage />} />
            <Route path="platform" element={<PlatformPage />} />
            <Route path="language" element={<LanguagePage />} />
            <Route path="data-privacy" element={<DataPrivacyPage />} />
            <Route path="sso" element={<SsoPage />} />
            <Route path="scim" element={<ScimPage />} />
            <Route path="audit-log" element={<AuditLogPage />} />
            <Route path="api-tokens" element={<ApiTokensPage />} />
            <Route path="webhooks" element={<WebhooksPage />} />
            <Route path="ai-connections" element={<AiConnectionsPage />} />
            <Route path="integrations" element={<IntegrationsPage />} />
            <Route path="applications" element={<ApplicationsPage />} />
            <Route path="scans" element={<ScansPage />} />
            <Route path="scans/:scanId" element={<ScanDetailPage />} />
            <Route path="usage" element={<UsagePage />} />
            <Route path="billing" element={<BillingPage />} />
            <Route path="invoices" element={<InvoicesPage />} />
            <Route path="reports" element={<ReportsPage />} />
            <Route path="findings" element={<FindingsPage />} />
            <Route path="findings/:findingId" element={<FindingDetailPage />} />
            <Route path="account" element={<AccountPage />} />
            <Route path="account/security" element={<AccountSecurityPage />} />
            <Route path="account/notifications" element={<notifications.account />} />
            <Route path="notifications" element={<notifications.org />} />
            <Route path="inbox" element={<notifications.inbox />} />
          </Route>
        </Route>
        <Route path="*" element={<Navigate to="/" replace />} />
      </Routes>
      <Notifications />
    </>
  );
}
