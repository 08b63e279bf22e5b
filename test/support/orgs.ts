import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { ORIGIN, signUp, uniqueEmail } from './app.ts';

export interface Person {
  userId: string;
  email: string;
  password: string;
  cookie: string;
}

/** Sends a request as `who` (a session cookie), from the app's own origin. */
export function as(app: FastifyInstance, who: { cookie: string }) {
  const send = (method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
    app.inject({
      method,
      url,
      headers: { cookie: who.cookie, origin: ORIGIN },
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
  return {
    get: (url: string) => send('GET', url),
    post: (url: string, payload?: unknown) => send('POST', url, payload ?? {}),
    patch: (url: string, payload: unknown) => send('PATCH', url, payload),
    put: (url: string, payload: unknown) => send('PUT', url, payload),
    delete: (url: string, payload?: unknown) => send('DELETE', url, payload),
  };
}

export function expectStatus(response: LightMyRequestResponse, status: number): LightMyRequestResponse {
  if (response.statusCode !== status) {
    throw new Error(`expected ${status}, got ${response.statusCode}: ${response.body}`);
  }
  return response;
}

/** A new org owned by a new user. */
export async function createOrg(
  app: FastifyInstance,
  fields: { name?: string; plan?: 'free' | 'pro' | 'enterprise' } = {},
  owner?: Person,
): Promise<{ orgId: string; slug: string; owner: Person }> {
  const who = owner ?? (await signUp(app, { email: uniqueEmail('owner'), name: 'Olivia Owner' }));
  const res = expectStatus(
    await as(app, who).post('/api/v1/orgs', {
      name: fields.name ?? 'Acme Security',
      plan: fields.plan ?? 'pro',
    }),
    201,
  );
  return { orgId: res.json().id, slug: res.json().slug, owner: who };
}

/** Adds a new user to the org with the role, through the real invitation flow. */
export async function addMember(
  app: FastifyInstance,
  org: { orgId: string; owner: { cookie: string } },
  role: string,
  fields: { name?: string; email?: string } = {},
  mail?: { latestTo(to: string, since?: number, match?: RegExp): Promise<{ text: string }> },
): Promise<Person> {
  const email = fields.email ?? uniqueEmail(role);
  expectStatus(
    await as(app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, { emails: [email], role }),
    201,
  );
  const person = await signUp(app, { email, name: fields.name ?? `${role} person` });
  if (!mail) throw new Error('addMember needs the mail sink to read the invitation link');
  // The invitation, not the verification link sign-up mails to the same address.
  const token = tokenFromMail((await mail.latestTo(email, 0, INVITATION_LINK)).text);
  expectStatus(await as(app, person).post('/api/v1/invitations/accept', { token }), 200);
  return person;
}

/** An invitation email's link (sign-up mails a verification link to the same address too). */
export const INVITATION_LINK = /\/invitations\/accept#token=/;

/** The token in an invitation, join or account link (it travels in the URL fragment). */
export function tokenFromMail(text: string): string {
  const match = /#token=([A-Za-z0-9_-]+)/.exec(text);
  if (!match) throw new Error(`no invitation link in: ${text}`);
  return match[1]!;
}

/** A request as data: what a route table hands to `sendAs` (raw bodies, e.g. a logo, included). */
export interface RequestSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  /** A JSON body, or raw bytes sent with `contentType`. */
  payload?: unknown;
  contentType?: string;
}

/** Sends `spec` from the app's own origin, as `who` (a session cookie) or anonymously. */
export function sendAs(
  app: FastifyInstance,
  who: { cookie: string } | undefined,
  spec: RequestSpec,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: spec.method,
    url: spec.url,
    headers: {
      origin: ORIGIN,
      ...(who ? { cookie: who.cookie } : {}),
      ...(spec.contentType ? { 'content-type': spec.contentType } : {}),
    },
    ...(spec.payload !== undefined ? { payload: spec.payload as object } : {}),
  });
}

/** A pending request to join the org through a fresh share link, from a new user. */
export async function requestToJoin(
  app: FastifyInstance,
  org: { orgId: string; owner: { cookie: string } },
): Promise<{ id: string; person: Person }> {
  const { token } = expectStatus(
    await as(app, org.owner).post(`/api/v1/orgs/${org.orgId}/join-link`),
    201,
  ).json();
  const person = await signUp(app, { email: uniqueEmail('joiner'), name: 'Jo Joiner' });
  const res = expectStatus(await as(app, person).post('/api/v1/join-requests', { token }), 202);
  return { id: res.json().id, person };
}

/** A 1×1 PNG: a logo the server accepts. */
export const TINY_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

/**
 * Everything an org's owner can read about it, for "nothing changed" assertions: profile,
 * members (current and removed), roles, invitations and join requests of every status, the share
 * link, the logo, single sign-on (settings, group mappings, the IdP connection), the AI connections
 * and the integrations. Members' `lastActiveAt` is left out: it records requests, denied ones too.
 */
export async function orgState(app: FastifyInstance, owner: { cookie: string }, orgId: string) {
  const base = `/api/v1/orgs/${orgId}`;
  const read = async (url: string) => expectStatus(await as(app, owner).get(url), 200).json();
  const items = async (url: string) => (await read(url)).items;
  const members = async (query: string) =>
    (await items(`${base}/members?limit=200${query}`)).map(
      ({ lastActiveAt: _, ...m }: { lastActiveAt: unknown }) => m,
    );
  const byStatus = async (list: string, statuses: string[]) =>
    Object.fromEntries(
      await Promise.all(
        statuses.map(async (s) => [s, await items(`${base}/${list}?limit=200&status=${s}`)] as const),
      ),
    );
  const logo = async () => {
    const res = await as(app, owner).get(`${base}/logo`);
    return res.statusCode === 200 ? { etag: res.headers.etag, bytes: res.rawPayload.length } : res.statusCode;
  };
  /** The connection's answer, or its status when there is none (404). */
  const connection = async (protocol: 'oidc' | 'saml') => {
    const res = await as(app, owner).get(`${base}/sso/${protocol}`);
    return res.statusCode === 200 ? res.json() : res.statusCode;
  };
  const sso = async () => ({
    settings: await read(`${base}/sso`),
    groupMappings: await items(`${base}/sso/group-mappings`),
    oidc: await connection('oidc'),
    saml: await connection('saml'),
  });
  const aiConnections = async () => ({
    remediator: await read(`${base}/ai-connections/remediator`),
    validator: await read(`${base}/ai-connections/validator`),
  });
  const [
    profile,
    current,
    removed,
    roles,
    invitations,
    joinRequests,
    joinLink,
    logoState,
    ssoState,
    ai,
    integrations,
  ] = await Promise.all([
    read(base),
    members(''),
    members('&status=removed'),
    items(`${base}/roles`),
    byStatus('invitations', ['pending', 'expired', 'accepted', 'cancelled']),
    byStatus('join-requests', ['pending', 'approved', 'denied']),
    read(`${base}/join-link`),
    logo(),
    sso(),
    aiConnections(),
    items(`${base}/integrations?limit=200`),
  ]);
  return {
    profile,
    members: current,
    removedMembers: removed,
    roles,
    invitations,
    joinRequests,
    joinLink,
    logo: logoState,
    sso: ssoState,
    aiConnections: ai,
    integrations,
  };
}

/** Sends requests with `Authorization: Bearer <token>` and nothing else: no cookie, no Origin. */
export function withToken(app: FastifyInstance, token: string, extraHeaders: Record<string, string> = {}) {
  const send = (method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
    app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}`, ...extraHeaders },
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
  return {
    get: (url: string) => send('GET', url),
    post: (url: string, payload?: unknown) => send('POST', url, payload ?? {}),
    patch: (url: string, payload: unknown) => send('PATCH', url, payload),
    delete: (url: string) => send('DELETE', url),
  };
}

/** A personal token of `who` for the org, through the API; returns its id and the token itself. */
export async function createPersonalToken(
  app: FastifyInstance,
  who: { cookie: string },
  orgId: string,
  scopes: Array<'read' | 'write' | 'admin'>,
  fields: { name?: string; expiresInDays?: 30 | 90 | null } = {},
): Promise<{ id: string; token: string }> {
  const res = expectStatus(
    await as(app, who).post('/api/v1/me/tokens', {
      name: fields.name ?? 'ci',
      orgId,
      scopes,
      ...(fields.expiresInDays !== undefined ? { expiresInDays: fields.expiresInDays } : {}),
    }),
    201,
  );
  return { id: res.json().id, token: res.json().token };
}
