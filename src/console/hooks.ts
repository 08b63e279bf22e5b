import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { api } from './api.ts';
import { meQuery } from './queries.ts';

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

/** Signs out: every other cached read goes with the user (main.tsx), so nothing stays for the next. */
export function useSignOut() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api('POST', '/auth/logout'),
    onSuccess: () => {
      client.setQueryData(meQuery.queryKey, null);
    },
  });
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

/**
 * Where a browser starts signing in through an organization's identity provider: the server's
 * `loginUrl` (from discovery, the SSO settings or a `sso_required` problem), with `next` (where to
 * land afterwards, a path of this console) and `purpose` (`test`: an admin's test sign-in) added.
 * A full-page navigation, never a fetch: the IdP's pages are the browser's to visit.
 */
export function ssoLoginHref(loginUrl: string, options: { next?: string | null; purpose?: 'test' } = {}) {
  const url = new URL(loginUrl, window.location.origin);
  if (options.next) url.searchParams.set('next', safeNext(options.next));
  if (options.purpose) url.searchParams.set('purpose', options.purpose);
  return url.origin === window.location.origin ? `${url.pathname}${url.search}` : url.href;
}
