import { infiniteQueryOptions, type QueryClient, queryOptions } from '@tanstack/react-query';
import { TEAM_FIRST_PAGE } from '../contracts/console.ts';
import type { ApplicationView, PlanCatalogView } from '../contracts/scans.ts';
import { ApiError, api, type Me, type Member, type Organization, type Page, type Role } from './api.ts';
import { forgetRememberedOrg } from './org-memory.ts';

/** One definition per shared query: the pages read them, and a cold start fetches them early. */

/** The signed-in user and their memberships, or null when there is none (401). */
export const meQuery = queryOptions({
  queryKey: ['me'],
  queryFn: async (): Promise<Me | null> => {
    try {
      return await api<Me>('GET', '/me');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return null;
      throw err;
    }
  },
});

export const rolesQuery = (orgId: string) =>
  queryOptions({
    queryKey: ['roles', orgId],
    queryFn: () => api<{ items: Role[] }>('GET', `/orgs/${orgId}/roles`),
  });

/** The member list a page at a time; `params` holds the filters (and the page size). */
export const membersQuery = (orgId: string, params: URLSearchParams) =>
  infiniteQueryOptions({
    queryKey: ['members', orgId, params.toString()],
    queryFn: ({ pageParam }) =>
      api<Page<Member>>(
        'GET',
        `/orgs/${orgId}/members?${params}${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ''}`,
      ),
    initialPageParam: '',
    getNextPageParam: (last: Page<Member>) => last.nextCursor ?? undefined,
  });

export const MEMBERS_PAGE = String(TEAM_FIRST_PAGE);

/**
 * On a cold load, the signed-in user is requested at once, before the first render; on an org's
 * Team page its data too, alongside the user, instead of after it. The server names these same
 * URLs in the page's HTML as preloads (src/server/modules/console), so the browser has usually
 * fetched them while the scripts loaded: keep the two in step.
 */
export function prefetchForLocation(client: QueryClient, pathname: string): void {
  void client.prefetchQuery(meQuery);
  const match = /^\/orgs\/([0-9a-f-]{36})\/settings\/team$/.exec(pathname);
  if (!match) return;
  const orgId = match[1]!;
  void client.prefetchQuery(rolesQuery(orgId));
  void client.prefetchInfiniteQuery(membersQuery(orgId, new URLSearchParams({ limit: MEMBERS_PAGE })));
}

/** The organization profile: name, slug, plan, logo path and the rest. */
export const orgQuery = (orgId: string) =>
  queryOptions({
    queryKey: ['org', orgId],
    queryFn: () => api<Organization>('GET', `/orgs/${orgId}`),
  });

/**
 * Drops every cached read about an organization the user left or deleted, and the browser's memory
 * of it (so the console does not later explain its absence as a removal).
 */
export function forgetOrg(client: QueryClient, orgId: string): void {
  const me = client.getQueryData(meQuery.queryKey);
  if (me) forgetRememberedOrg(me.user.id, orgId);
  client.removeQueries({ predicate: (q) => q.queryKey.includes(orgId) });
}

/**
 * The org's applications for pickers and names (the first 200; the Applications page pages
 * through all of them). Under `['applications', orgId]`, so any change to one refreshes both.
 */
export const applicationsQuery = (orgId: string) =>
  queryOptions({
    queryKey: ['applications', orgId],
    queryFn: () => api<Page<ApplicationView>>('GET', `/orgs/${orgId}/applications?limit=200`),
  });

/** The tokens each scan module costs: the same for every org (the operator sets them). */
export const moduleCostsQuery = queryOptions({
  queryKey: ['plans'],
  queryFn: () => api<PlanCatalogView>('GET', '/plans'),
  select: (data) => data.moduleCosts,
  retry: false,
  staleTime: 5 * 60_000,
});

/** A list read a page at a time by cursor: `path` already holds its query (`?limit=…&…`). */
export const pagedQuery = <T>(queryKey: readonly unknown[], path: string) =>
  infiniteQueryOptions({
    queryKey,
    queryFn: ({ pageParam }) =>
      api<Page<T>>('GET', `${path}${pageParam ? `&cursor=${encodeURIComponent(pageParam)}` : ''}`),
    initialPageParam: '',
    getNextPageParam: (last: Page<T>) => last.nextCursor ?? undefined,
  });
