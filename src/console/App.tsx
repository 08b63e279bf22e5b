import {
  Alert,
  Anchor,
  AppShell,
  Box,
  Button,
  Card,
  Center,
  Group,
  NativeSelect,
  NavLink,
  Paper,
  PasswordInput,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, lazy, useEffect, useId, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, Navigate, Outlet, Route, Routes, useLocation, useNavigate, useParams } from 'react-router';
import { ApiError, api, type Me } from './api.ts';
import { useCatalogWords } from './catalog-words.ts';
import { PageBoundary, PageLoader } from './components.tsx';
import { setLanguage } from './i18n.ts';
import { TeamPage } from './pages/Team.tsx';
import { meQuery } from './queries.ts';

// The Team page, where an org opens, comes with the first load; the other pages load when visited.
const ProfilePage = lazy(() => import('./pages/Profile.tsx').then((m) => ({ default: m.ProfilePage })));
const RolesPage = lazy(() => import('./pages/Roles.tsx').then((m) => ({ default: m.RolesPage })));
const AuditLogPage = lazy(() => import('./pages/AuditLog.tsx').then((m) => ({ default: m.AuditLogPage })));
const ApiTokensPage = lazy(() => import('./pages/ApiTokens.tsx').then((m) => ({ default: m.ApiTokensPage })));
const AccountPage = lazy(() => import('./pages/Account.tsx').then((m) => ({ default: m.AccountPage })));
const MemberDetailPage = lazy(() =>
  import('./pages/MemberDetail.tsx').then((m) => ({ default: m.MemberDetailPage })),
);
const JoinPage = lazy(() => import('./pages/Join.tsx').then((m) => ({ default: m.JoinPage })));

/** The signed-in user, or null when there is none (401). */
export function useMe() {
  return useQuery(meQuery);
}

/**
 * What the signed-in user may do in the org: their role's permissions, as GET /me lists them (the
 * server stays the authority; a role edit shows here when /me is next read).
 */
export function usePermissions(orgId: string): ReadonlySet<string> {
  const me = useMe();
  const permissions = me.data?.memberships.find((m) => m.org.id === orgId)?.permissions;
  return useMemo(() => new Set(permissions ?? []), [permissions]);
}

export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <Alert color="red" role="alert" title={error instanceof ApiError ? error.code : 'Error'}>
      {error instanceof Error ? error.message : String(error)}
    </Alert>
  );
}

// Native selects in the header: light to render on every page, and keyboard-native.
function LanguageSelect() {
  const { t, i18n } = useTranslation();
  return (
    <NativeSelect
      aria-label={t('language')}
      w={120}
      value={i18n.language}
      data={[
        { value: 'en', label: 'English' },
        { value: 'es', label: 'Español' },
      ]}
      onChange={(e) => setLanguage(e.currentTarget.value)}
    />
  );
}

/**
 * Where to go after signing in: `next` when it is a path of this console, else home. Parsed as a
 * URL against this origin, so that tricks the browser would resolve elsewhere (`//host`, `/\t/host`,
 * `/\\host`) are refused.
 */
export function safeNext(next: string | null): string {
  if (!next?.startsWith('/')) return '/';
  try {
    const url = new URL(next, window.location.origin);
    return url.origin === window.location.origin ? `${url.pathname}${url.search}${url.hash}` : '/';
  } catch {
    return '/';
  }
}

function AuthPage({ mode }: { mode: 'signin' | 'signup' }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const navigate = useNavigate();
  const location = useLocation();
  const [form, setForm] = useState({ email: '', password: '', name: '' });
  const submit = useMutation({
    mutationFn: () =>
      mode === 'signin'
        ? api('POST', '/auth/login', { email: form.email, password: form.password })
        : api('POST', '/auth/signup', form),
    onSuccess: () => {
      // Forget "signed out": the next page asks the server again before it decides.
      client.removeQueries({ queryKey: ['me'] });
      navigate(safeNext(new URLSearchParams(location.search).get('next')));
    },
  });
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    submit.mutate();
  };
  return (
    <Center mih="100vh">
      <Card withBorder w={380} p="lg" component="main">
        <form onSubmit={onSubmit}>
          <Stack>
            <Group justify="space-between">
              <Title order={1} size="h3">
                {mode === 'signin' ? t('signIn') : t('signUp')}
              </Title>
              <LanguageSelect />
            </Group>
            {mode === 'signup' && (
              <TextInput
                label={t('name')}
                required
                value={form.name}
                onChange={(e) => setForm({ ...form, name: e.currentTarget.value })}
              />
            )}
            <TextInput
              label={t('email')}
              type="email"
              required
              autoComplete="email"
              value={form.email}
              onChange={(e) => setForm({ ...form, email: e.currentTarget.value })}
            />
            <PasswordInput
              label={t('password')}
              required
              autoComplete={mode === 'signin' ? 'current-password' : 'new-password'}
              value={form.password}
              onChange={(e) => setForm({ ...form, password: e.currentTarget.value })}
            />
            <ErrorText error={submit.error} />
            <Button type="submit" loading={submit.isPending}>
              {mode === 'signin' ? t('signIn') : t('signUp')}
            </Button>
            {mode === 'signin' ? (
              <Anchor component={Link} to={`/signup${location.search}`}>
                {t('noAccount')} {t('signUp')}
              </Anchor>
            ) : (
              <Anchor component={Link} to={`/signin${location.search}`}>
                {t('haveAccount')} {t('signIn')}
              </Anchor>
            )}
          </Stack>
        </form>
      </Card>
    </Center>
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
  if (me.isPending) return <PageLoader />;
  if (me.error) return <ErrorText error={me.error} />;
  if (!me.data) return <Navigate to={`/signin?next=${encodeURIComponent(location.pathname)}`} replace />;
  return <Outlet />;
}

function Home() {
  const me = useMe();
  const first = me.data?.memberships[0];
  return <Navigate to={first ? `/orgs/${first.org.id}/settings/team` : '/orgs/new'} replace />;
}

function CreateOrg() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const create = useMutation({
    mutationFn: () => api<{ id: string }>('POST', '/orgs', { name }),
    onSuccess: async (org) => {
      await client.invalidateQueries({ queryKey: ['me'] });
      navigate(`/orgs/${org.id}/settings/team`);
    },
  });
  return (
    <Center mih="100vh">
      <Card withBorder w={420} p="lg" component="main">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <Stack>
            <Title order={1} size="h3">
              {t('createOrg')}
            </Title>
            <TextInput
              label={t('orgName')}
              required
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
            />
            <ErrorText error={create.error} />
            <Button type="submit" loading={create.isPending}>
              {t('createOrg')}
            </Button>
          </Stack>
        </form>
      </Card>
    </Center>
  );
}

/**
 * The organization switcher: a button that shows a list of links (a disclosure, as site navigation
 * is: moving to another org is a deliberate click, never a side effect of arrowing through a list).
 * Escape or a click elsewhere closes it.
 */
function OrgSwitcher({ orgId, memberships }: { orgId: string; memberships: Me['memberships'] }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const current = memberships.find((m) => m.org.id === orgId);
  const listId = useId();
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const away = (e: Event) => {
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !box.current?.contains(e.target as Node)) {
        setOpen(false);
      }
    };
    document.addEventListener('keydown', away);
    document.addEventListener('pointerdown', away);
    return () => {
      document.removeEventListener('keydown', away);
      document.removeEventListener('pointerdown', away);
    };
  }, [open]);
  return (
    <Box ref={box} pos="relative">
      <Button
        variant="default"
        aria-expanded={open}
        aria-controls={open ? listId : undefined}
        aria-label={`${t('organization')}: ${current?.org.name ?? ''}`}
        rightSection={<span aria-hidden="true">▾</span>}
        onClick={() => setOpen((o) => !o)}
      >
        {current?.org.name}
      </Button>
      {open && (
        <Paper
          id={listId}
          component="ul"
          withBorder
          shadow="md"
          p={4}
          m={0}
          miw={240}
          pos="absolute"
          top="calc(100% + 4px)"
          left={0}
          style={{ listStyle: 'none', zIndex: 200 }}
        >
          {[
            ...memberships.map((m) => ({
              to: `/orgs/${m.org.id}/settings/team`,
              label: m.org.name,
              id: m.org.id,
            })),
            { to: '/orgs/new', label: `+ ${t('createOrg')}`, id: 'new' },
          ].map((item) => (
            <li key={item.id}>
              <NavLink
                component={Link}
                to={item.to}
                label={item.label}
                active={item.id === orgId}
                aria-current={item.id === orgId ? 'page' : undefined}
                onClick={() => setOpen(false)}
              />
            </li>
          ))}
        </Paper>
      )}
    </Box>
  );
}

/** The settings pages, in navigation order; a page needing a permission is listed only to holders. */
const settingsPages: Array<{ path: string; label: string; needs?: string }> = [
  { path: 'profile', label: 'profile', needs: 'settings:read' },
  { path: 'team', label: 'team' },
  { path: 'roles', label: 'roles' },
  { path: 'audit-log', label: 'auditLog', needs: 'audit:read' },
  { path: 'api-tokens', label: 'apiTokens' },
  { path: 'account', label: 'account' },
];

/** Settings → Organization: the org switcher, the settings navigation and the page. */
function OrgLayout() {
  const { t } = useTranslation();
  const { orgId = '' } = useParams();
  const me = useMe();
  const location = useLocation();
  const client = useQueryClient();
  const can = usePermissions(orgId);
  const logout = useMutation({
    mutationFn: () => api('POST', '/auth/logout'),
    onSuccess: () => {
      // Signed out: every other cached read goes with the user (main.tsx), so nothing read as
      // them stays for whoever signs in next in this tab.
      client.setQueryData(meQuery.queryKey, null);
    },
  });
  const memberships = me.data?.memberships ?? [];
  if (!memberships.some((m) => m.org.id === orgId)) return <Navigate to="/" replace />;
  const section = (path: string) => `/orgs/${orgId}/settings/${path}`;
  return (
    <AppShell header={{ height: 60 }} navbar={{ width: 240, breakpoint: 'sm' }} padding="md">
      <AppShell.Header px="md">
        <Group h="100%" justify="space-between">
          <Group>
            <Title order={2} size="h4">
              {t('appName')}
            </Title>
            <OrgSwitcher orgId={orgId} memberships={memberships} />
          </Group>
          <Group>
            <LanguageSelect />
            <span>{me.data?.user.email}</span>
            <Button variant="default" onClick={() => logout.mutate()}>
              {t('signOut')}
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="sm" component="nav" aria-label={t('settings')}>
        {settingsPages
          .filter((p) => !p.needs || can.has(p.needs))
          .map((p) => (
            <NavLink
              key={p.path}
              variant="filled"
              component={Link}
              to={section(p.path)}
              label={t(p.label)}
              // A page's own pages (a member's, under Team) keep it marked.
              active={
                location.pathname === section(p.path) || location.pathname.startsWith(`${section(p.path)}/`)
              }
            />
          ))}
      </AppShell.Navbar>
      <AppShell.Main component="main">
        <PageBoundary>
          <Outlet />
        </PageBoundary>
      </AppShell.Main>
    </AppShell>
  );
}

/**
 * The token of an emailed or shared link (`…#token=…`): it travels in the fragment, never sent to
 * a server in a URL, and waits in this tab's storage (under `key`) while the person signs in.
 */
export function useLinkToken(key: string): string | null {
  const [token] = useState(() => {
    const fromLink = new URLSearchParams(window.location.hash.slice(1)).get('token');
    if (fromLink) sessionStorage.setItem(key, fromLink);
    return fromLink ?? sessionStorage.getItem(key);
  });
  return token;
}

/** For a link's page seen signed out: sign in or create an account, then come `back`. */
export function SignInFirst({ back }: { back: string }) {
  const { t } = useTranslation();
  const next = encodeURIComponent(back);
  return (
    <Group>
      <Button component={Link} to={`/signin?next=${next}`}>
        {t('signIn')}
      </Button>
      <Button component={Link} variant="default" to={`/signup?next=${next}`}>
        {t('signUp')}
      </Button>
    </Group>
  );
}

/**
 * The emailed invitation link (`/invitations/accept#token=…`): what it is for, then sign in or
 * create the invited account, then accept. The token travels in the fragment (never sent to any
 * server in a URL) and waits in this tab's storage while the person signs in.
 */
function AcceptInvitation() {
  const { t } = useTranslation();
  const me = useMe();
  const client = useQueryClient();
  const navigate = useNavigate();
  const token = useLinkToken('gatehouse.invite');
  const catalog = useCatalogWords();
  const preview = useQuery({
    queryKey: ['invitation', token],
    queryFn: () =>
      api<{ org: { id: string; name: string }; email: string; role: string; roleName: string }>(
        'POST',
        '/invitations/preview',
        {
          token,
        },
      ),
    enabled: Boolean(token),
  });
  const accept = useMutation({
    mutationFn: () => api<{ org: { id: string } }>('POST', '/invitations/accept', { token }),
    onSuccess: async (res) => {
      sessionStorage.removeItem('gatehouse.invite');
      await client.invalidateQueries({ queryKey: ['me'] });
      navigate(`/orgs/${res.org.id}/settings/team`);
    },
  });
  return (
    <Center mih="100vh">
      <Card withBorder w={460} p="lg" component="main">
        <Stack>
          <Title order={1} size="h3">
            {t('invitation')}
          </Title>
          <ErrorText error={preview.error ?? accept.error} />
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
          {preview.data && me.data && (
            <Button onClick={() => accept.mutate()} loading={accept.isPending}>
              {t('acceptInvitation')}
            </Button>
          )}
        </Stack>
      </Card>
    </Center>
  );
}

export function App() {
  return (
    <Routes>
      <Route path="/signin" element={<AuthPage mode="signin" />} />
      <Route path="/signup" element={<AuthPage mode="signup" />} />
      <Route path="/invitations/accept" element={<AcceptInvitation />} />
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
        <Route path="/orgs/new" element={<CreateOrg />} />
        <Route path="/orgs/:orgId/settings" element={<OrgLayout />}>
          <Route path="profile" element={<ProfilePage />} />
          <Route path="team" element={<TeamPage />} />
          <Route path="team/:userId" element={<MemberDetailPage />} />
          <Route path="roles" element={<RolesPage />} />
          <Route path="audit-log" element={<AuditLogPage />} />
          <Route path="api-tokens" element={<ApiTokensPage />} />
          <Route path="account" element={<AccountPage />} />
        </Route>
      </Route>
      <Route path="*" element={<Navigate to="/" replace />} />
    </Routes>
  );
}
