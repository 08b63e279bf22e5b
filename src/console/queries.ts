import { infiniteQueryOptions, type QueryClient, queryOptions } from '@tanstack/react-query';
import { api, type Member, type Page, type Role } from './api.ts';

/** One definition per shared query: the pages read them, and a cold start fetches them early. */
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

export const MEMBERS_PAGE = '50';

/**
 * On a cold load of an org's Team page, its data is requested at once, alongside the signed-in
 * user, instead of after it: the page renders as soon as both are in. (A visitor who is not signed
 * in gets 401s, which the sign-in redirect makes moot.)
 */
export function prefetchForLocation(client: QueryClient, pathname: string): void {
  const match = /^\/orgs\/([0-9a-f-]{36})\/settings\/team$/.exec(pathname);
  if (!match) return;
  const orgId = match[1]!;
  void client.prefetchQuery(rolesQuery(orgId));
  void client.prefetchInfiniteQuery(membersQuery(orgId, new URLSearchParams({ limit: MEMBERS_PAGE })));
}
