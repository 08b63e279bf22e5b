import {
  Alert,
  AppShell,
  Box,
  Burger,
  Button,
  Group,
  NativeSelect,
  NavLink,
  Stack,
  Text,
  Title,
} from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, Navigate, Outlet, useLocation, useNavigate, useParams } from 'react-router';
import type { Me } from '../contracts/wire.ts';
import { api } from './api.ts';
import { PageBoundary } from './components.tsx';
import { Disclosure } from './disclosure.tsx';
import { useMe, usePermissions, useSignOut } from './hooks.ts';
import { chosenLanguage, setLanguage } from './i18n.ts';
import classes from './layout.module.css';
import { NotificationBell } from './notification-bell.tsx';
import { meQuery } from './queries.ts';

/** The organization switcher: links to each of the user's orgs, and to create another. */
function OrgSwitcher({ orgId, memberships }: { orgId: string; memberships: Me['memberships'] }) {
  const { t } = useTranslation();
  const current = memberships.find((m) => m.org.id === orgId);
  return (
    <Disclosure label={`${t('organization')}: ${current?.org.name ?? ''}`} buttonText={current?.org.name}>
      {(close) => (
        <Box component="ul" m={0} p={0} style={{ listStyle: 'none' }}>
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
                onClick={close}
              />
            </li>
          ))}
        </Box>
      )}
    </Disclosure>
  );
}

/**
 * The language switch: the console changes at once; signed in, the choice is also saved to the
 * user's profile, so it follows them to other browsers.
 */
export function LanguageSelect(props: { w?: number | string }) {
  const { t, i18n } = useTranslation();
  const me = useMe();
  const client = useQueryClient();
  const save = useMutation({
    mutationFn: (locale: string) => api<{ user: Me['user'] }>('PATCH', '/me', { locale }),
    onSuccess: (res) => {
      client.setQueryData(meQuery.queryKey, (old: Me | null | undefined) =>
        old ? { ...old, user: res.user } : old,
      );
    },
  });
  return (
    <NativeSelect
      aria-label={t('language')}
      w={props.w ?? 120}
      value={i18n.language}
      data={[
        { value: 'en', label: 'English' },
        { value: 'es', label: 'Español' },
      ]}
      onChange={(e) => {
        const lang = e.currentTarget.value;
        setLanguage(lang);
        if (me.data) save.mutate(lang);
      }}
    />
  );
}

/** The signed-in person's menu: who they are, their account, switching account and signing out. */
function AccountMenu({ me, orgId }: { me: Me; orgId?: string | undefined }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const location = useLocation();
  const signOut = useSignOut();
  const switchAccount = () =>
    signOut.mutate(undefined, {
      onSuccess: () => navigate(`/signin?next=${encodeURIComponent(location.pathname)}`),
    });
  return (
    <Disclosure
      label={t('shellAccountMenu', { name: me.user.name })}
      buttonText={me.user.name}
      align="right"
      maw={160}
    >
      {(close) => (
        <Stack gap={4} p={8}>
          <Text fw={600} size="sm">
            {me.user.name}
          </Text>
          <Text size="sm" c="dimmed" style={{ wordBreak: 'break-all' }}>
            {me.user.email}
          </Text>
          <Box hiddenFrom="sm">
            <LanguageSelect w="100%" />
          </Box>
          {orgId && (
            <NavLink
              component={Link}
              to={`/orgs/${orgId}/settings/account`}
              label={t('account')}
              onClick={close}
            />
          )}
          <Button variant="default" onClick={switchAccount} loading={signOut.isPending}>
            {t('shellSwitchAccount')}
          </Button>
          <Button variant="default" onClick={() => signOut.mutate()} loading={signOut.isPending}>
            {t('signOut')}
          </Button>
        </Stack>
      )}
    </Disclosure>
  );
}

/** The header of every signed-in page; `burger` opens the settings navigation on a narrow screen. */
function AppHeader(props: { orgId?: string; burger?: ReactNode }) {
  const { t } = useTranslation();
  const me = useMe();
  const memberships = me.data?.memberships ?? [];
  return (
    <Group h="100%" px="md" justify="space-between" wrap="nowrap" gap="xs">
      <Group wrap="nowrap" gap="xs" miw={0}>
        {props.burger}
        <Title order={2} size="h4" visibleFrom="sm">
          {t('appName')}
        </Title>
        {props.orgId && <OrgSwitcher orgId={props.orgId} memberships={memberships} />}
      </Group>
      <Group wrap="nowrap" gap="xs">
        {me.data && <NotificationBell orgId={props.orgId ?? memberships[0]?.org.id} />}
        <Box visibleFrom="sm">
          <LanguageSelect />
        </Box>
        {me.data && <AccountMenu me={me.data} orgId={props.orgId ?? memberships[0]?.org.id} />}
      </Group>
    </Group>
  );
}

/** A signed-in page outside an organization's settings: the header, then the page. */
export function SignedInPage({ children }: { children: ReactNode }) {
  return (
    <AppShell header={{ height: 60 }} padding="md">
      <AppShell.Header>
        <AppHeader />
      </AppShell.Header>
      <AppShell.Main component="main">
        <Box maw={560} mx="auto" mt="xl">
          {children}
        </Box>
      </AppShell.Main>
    </AppShell>
  );
}

/**
 * The settings pages, in navigation order; a page needing a permission is listed only to holders
 * (of any one, for a list).
 */
const settingsPages: Array<{ path: string; label: string; needs?: string | readonly string[] }> = [
  { path: 'profile', label: 'profile', needs: 'settings:read' },
  { path: 'team', label: 'team' },
  { path: 'roles', label: 'roles' },
  { path: 'applications', label: 'applicationsNav', needs: 'applications:read' },
  { path: 'scans', label: 'scansNav', needs: 'scans:read' },
  { path: 'findings', label: 'findingsNav', needs: 'findings:read' },
  { path: 'policies', label: 'policiesNav', needs: 'policies:read' },
  { path: 'usage', label: 'usageNav', needs: 'quota:read' },
  { path: 'billing', label: 'billingNav', needs: 'billing:read' },
  { path: 'invoices', label: 'invoicesNav', needs: 'billing:read' },
  { path: 'reports', label: 'reportsNav', needs: ['compliance:read', 'analytics:read'] },
  { path: 'platform', label: 'platformNav', needs: 'settings:read' },
  { path: 'language', label: 'orgLangNav', needs: 'settings:read' },
  { path: 'security', label: 'securityNav', needs: 'settings:read' },
  { path: 'data-privacy', label: 'dataPrivacyNav', needs: 'settings:read' },
  { path: 'sso', label: 'ssoNav', needs: 'sso:manage' },
  { path: 'scim', label: 'scimNav', needs: 'sso:manage' },
  { path: 'notifications', label: 'notifOrgNav', needs: ['integrations:manage', 'quota:manage'] },
  { path: 'audit-log', label: 'auditLog', needs: 'audit:read' },
  { path: 'webhooks', label: 'webhooksNav', needs: 'webhooks:manage' },
  { path: 'ai-connections', label: 'aiNav', needs: 'settings:read' },
  { path: 'integrations', label: 'integrationsNav', needs: 'integrations:read' },
  { path: 'api-tokens', label: 'apiTokens' },
  { path: 'account', label: 'account' },
  { path: 'account/security', label: 'accountSecurity' },
  { path: 'account/notifications', label: 'notifAccountNav' },
];

/**
 * Settings → Organization: the header, the settings navigation (a menu behind a button on a narrow
 * screen) and the page.
 */
export function OrgLayout() {
  const { t, i18n } = useTranslation();
  const { orgId = '' } = useParams();
  const me = useMe();
  // Without a language of their own (in their profile, or picked in this browser with the language
  // switch, before signing in say), a member reads the org's console in the org's language.
  const ownLocale = me.data?.user.locale;
  const orgLanguage = me.data?.memberships.find((m) => m.org.id === orgId)?.org.localization.language;
  // Applied once per org and language: a language switched meanwhile (the header's, or the
  // account's being saved) is not switched back on the next render.
  const applied = useRef<string | null>(null);
  useEffect(() => {
    const key = `${orgId}|${orgLanguage}|${ownLocale ?? ''}`;
    if (ownLocale || chosenLanguage() || !orgLanguage || applied.current === key) return;
    applied.current = key;
    if (i18n.language !== orgLanguage) void i18n.changeLanguage(orgLanguage);
  }, [ownLocale, orgId, orgLanguage, i18n]);
  const location = useLocation();
  const can = usePermissions(orgId);
  const [navOpen, setNavOpen] = useState(false);
  const navId = useId();
  // A new page closes the menu on a narrow screen.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on navigation
  useEffect(() => setNavOpen(false), [location.pathname]);
  const memberships = me.data?.memberships ?? [];
  const membership = memberships.find((m) => m.org.id === orgId);
  if (!membership) return <Navigate to="/" replace />;
  const section = (path: string) => `/orgs/${orgId}/settings/${path}`;
  // The listed page the location is in: the longest path it equals or lies under.
  const marked = settingsPages
    .map((p) => p.path)
    .filter(
      (path) => location.pathname === section(path) || location.pathname.startsWith(`${section(path)}/`),
    )
    .sort((a, b) => b.length - a.length)[0];
  return (
    <AppShell
      header={{ height: 60 }}
      navbar={{ width: 240, breakpoint: 'sm', collapsed: { mobile: !navOpen } }}
      padding="md"
    >
      {/* Above the navigation, so the header's menus open over it. */}
      <AppShell.Header zIndex={150}>
        <AppHeader
          orgId={orgId}
          burger={
            <Burger
              opened={navOpen}
              onClick={() => setNavOpen((o) => !o)}
              hiddenFrom="sm"
              size="sm"
              aria-label={t('shellSettingsMenu')}
              aria-expanded={navOpen}
              aria-controls={navId}
            />
          }
        />
      </AppShell.Header>
      <AppShell.Navbar
        p="sm"
        component="nav"
        aria-label={t('settings')}
        id={navId}
        className={navOpen ? undefined : classes.closedOnNarrow}
        // Longer than a short window: it scrolls on its own, apart from the page.
        style={{ overflowY: 'auto' }}
      >
        {settingsPages
          .filter((p) => !p.needs || [p.needs].flat().some((n) => can.has(n)))
          .map((p) => (
            <NavLink
              key={p.path}
              variant="filled"
              component={Link}
              to={section(p.path)}
              label={t(p.label)}
              // A page's own pages (a member's, under Team) keep it marked, unless listed themselves.
              active={p.path === marked}
              aria-current={location.pathname === section(p.path) ? 'page' : undefined}
            />
          ))}
      </AppShell.Navbar>
      <AppShell.Main component="main" miw={0}>
        {/* Suspended: said once, plainly, above whatever the page could not load. */}
        {membership.org.suspended && (
          <Alert color="orange" title={t('problem_org_suspended_title')} mb="md" maw={880}>
            {t('suspendedBanner')}
          </Alert>
        )}
        <PageBoundary>
          <Outlet />
        </PageBoundary>
      </AppShell.Main>
    </AppShell>
  );
}
