import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { requestOrgId } from '../../platform/access/access.ts';
import { normalizeEmail } from '../../platform/auth/email.ts';
import {
  AppError,
  assertFound,
  NotFoundError,
  PermissionDeniedError,
  ValidationError,
} from '../../platform/errors/app-error.ts';
import {
  Body,
  DateTime,
  Nullable,
  OrgParams,
  problemResponses,
  RoleSlug,
  Uuid,
} from '../../platform/http/schemas.ts';
import { signInCookies } from '../accounts/index.ts';
import { findOrg } from '../organizations/index.ts';
import {
  clientSecretContext,
  createGroupMapping,
  removeGroupMapping,
  removeOidc,
  removeSaml,
  saveOidc,
  saveSaml,
  updateSsoSettings,
} from './sso.commands.ts';
import {
  createOidcJwksCache,
  discoverOidc,
  SsoLoginError as OidcLoginError,
  type OidcMetadata,
  oidcClient,
  randomCodeVerifier,
  randomNonce,
  randomState,
} from './sso.oidc.ts';
import {
  findOidc,
  findOrgByDomain,
  findOrgBySlug,
  findSaml,
  findSsoSettings,
  type GroupMappingRow,
  listGroupMappings,
  type SsoProtocol,
  type SsoSettingsRow,
  sha256Hex,
} from './sso.repository.ts';
import { saveSsoRequest, takeSsoRequest } from './sso.requests.repository.ts';
import {
  certificateInfo,
  checkSsoUrl,
  fetchIdpMetadata,
  normalizeCertificatePem,
  parseIdpMetadata,
  SsoLoginError as SamlLoginError,
  samlLoginUrl,
  spMetadata,
  validateSamlResponse,
} from './sso.saml.ts';
import { type SsoIdentity, ssoSignIn } from './sso.signin.ts';

/** The cookie that binds a sign-in to the browser that started it (see sso_requests.browser_binding). */
const BINDING_COOKIE = 'gatehouse_sso';
const BINDING_MAX_AGE_S = 15 * 60;

/**
 * SCIM's base URL, given to the identity provider with a SCIM token: the same for every org (the
 * token says which org it acts for).
 */
export const scimBaseUrl = (publicUrl: string) => `${publicUrl.replace(/\/+$/, '')}/scim/v2`;

/** The SP's URLs for an org: named by its slug, as the contract's routes are. */
export function ssoUrls(publicUrl: string, slug: string) {
  const base = `${publicUrl}/sso/${encodeURIComponent(slug)}`;
  return {
    oidcRedirectUri: `${base}/oidc/callback`,
    spEntityId: `${base}/saml/metadata`,
    metadataUrl: `${base}/saml/metadata`,
    acsUrl: `${base}/saml/acs`,
    scimBaseUrl: scimBaseUrl(publicUrl),
    loginUrl: (protocol: SsoProtocol) => `${base}/${protocol}/login`,
  };
}

/** Where a sign-in goes afterwards: a path of this site only (no scheme, no `//host`, no `\`). */
export function safeNext(next: unknown): string | null {
  if (typeof next !== 'string' || next.length === 0 || next.length > 1024) return null;
  if (!next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return null;
  for (let i = 0; i < next.length; i++) {
    const c = next.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return null;
  }
  return next;
}

const SsoSettings = Type.Object(
  {
    enforcement: Type.Union([Type.Literal('coexist'), Type.Literal('preferred'), Type.Literal('enforced')]),
    jitProvisioning: Type.Boolean(),
    defaultRole: Nullable(
      Type.String({
        description: 'The role of members provisioned when no group mapping matches (null: viewer)',
      }),
    ),
    groupsAttribute: Nullable(Type.String()),
    domains: Type.Array(Type.String()),
    allowIdpInitiated: Type.Boolean(),
    protocol: Nullable(Type.Union([Type.Literal('oidc'), Type.Literal('saml')])),
    loginUrl: Nullable(Type.String()),
    serviceProvider: Type.Object(
      {
        oidcRedirectUri: Type.String(),
        spEntityId: Type.String(),
        acsUrl: Type.String(),
        metadataUrl: Type.String(),
        scimBaseUrl: Type.String({
          description: 'The SCIM 2.0 base URL to give the identity provider, with a SCIM token',
        }),
      },
      { description: 'The values to give the identity provider, before any connection is saved' },
    ),
    updatedAt: Nullable(DateTime),
  },
  { $id: 'SsoSettings' },
);

const Certificate = Type.Object({
  subject: Type.String(),
  notBefore: Type.String(),
  notAfter: Type.String(),
  fingerprintSha256: Type.String(),
});

const OidcConnection = Type.Object(
  {
    issuer: Type.String(),
    clientId: Type.String(),
    clientSecretSet: Type.Boolean({ description: 'The secret is stored (it is never returned)' }),
    scopes: Type.Array(Type.String()),
    redirectUri: Type.String({ description: 'The redirect URI to register at the IdP' }),
    updatedAt: DateTime,
  },
  { $id: 'OidcConnection' },
);

const SamlConnection = Type.Object(
  {
    idpEntityId: Type.String(),
    idpSsoUrl: Type.String(),
    idpMetadataUrl: Nullable(Type.String()),
    certificates: Type.Array(Certificate),
    spEntityId: Type.String(),
    acsUrl: Type.String(),
    metadataUrl: Type.String(),
    updatedAt: DateTime,
  },
  { $id: 'SamlConnection' },
);

const GroupMapping = Type.Object(
  { id: Uuid, idpGroup: Type.String(), role: Type.String(), roleName: Type.String(), createdAt: DateTime },
  { $id: 'SsoGroupMapping' },
);

const Domain = Type.String({
  minLength: 3,
  maxLength: 253,
  pattern: '^([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\\.)+[a-zA-Z]{2,63}$',
  description: 'An email domain, e.g. example.com',
});
const GroupsAttribute = Nullable(
  Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\u0000-\\u001f]+$' }),
);
const ssoTags = ['sso'];

const presentSettings = (
  s: SsoSettingsRow,
  protocol: SsoProtocol | null,
  urls: ReturnType<typeof ssoUrls>,
) => ({
  enforcement: s.enforcement,
  jitProvisioning: s.jitProvisioning,
  defaultRole: s.defaultRole,
  groupsAttribute: s.groupsAttribute,
  domains: s.domains,
  allowIdpInitiated: s.allowIdpInitiated,
  protocol,
  loginUrl: protocol ? urls.loginUrl(protocol) : null,
  serviceProvider: {
    oidcRedirectUri: urls.oidcRedirectUri,
    spEntityId: urls.spEntityId,
    acsUrl: urls.acsUrl,
    metadataUrl: urls.metadataUrl,
    scimBaseUrl: urls.scimBaseUrl,
  },
  updatedAt: s.updatedAt,
});

const presentMapping = (m: GroupMappingRow) => ({
  id: m.id,
  idpGroup: m.idpGroup,
  role: m.role,
  roleName: m.roleName,
  createdAt: m.createdAt,
});

/** The certificates' particulars, each PEM checked (a bad one is named by its index). */
function certificatesOf(pems: readonly string[], field: string) {
  return pems.map((pem, i) => {
    try {
      return certificateInfo(pem);
    } catch (err) {
      if (err instanceof AppError) {
        throw new ValidationError([
          { field: `${field}/${i}`, message: 'is not an X.509 certificate in PEM form' },
        ]);
      }
      throw err;
    }
  });
}

export function ssoRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database, config, outbound, secrets } = app.gatehouse;
  const db = database.db;
  const publicUrl = config.publicUrl;
  /** An http issuer only where plain http is allowed at all (OUTBOUND_ALLOW_HTTP, or tests on loopback). */
  const allowHttp = config.outbound.allowHttp || config.outbound.allowlist.length > 0;
  const jwksCache = createOidcJwksCache();
  app.addSchema(SsoSettings);
  app.addSchema(OidcConnection);
  app.addSchema(SamlConnection);
  app.addSchema(GroupMapping);

  // SAML's POST binding: the IdP's page posts the response as a form.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 2 * 1024 * 1024 },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  const base = '/api/v1/orgs/:orgId/sso';

  async function protocolOf(orgId: string): Promise<SsoProtocol | null> {
    if (await findOidc(db, orgId)) return 'oidc';
    if (await findSaml(db, orgId)) return 'saml';
    return null;
  }

  async function orgSlug(orgId: string): Promise<string> {
    const org = await findOrg(db, orgId);
    assertFound(org, 'organization');
    return org.slug;
  }

  // --- settings ---------------------------------------------------------------------------------

  r.get(
    base,
    {
      config: { permission: 'sso:manage' },
      schema: {
        tags: ssoTags,
        summary: 'The organization’s single sign-on settings',
        params: OrgParams,
        response: { 200: Type.Ref('SsoSettings'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const orgId = requestOrgId(request);
      const protocol = await protocolOf(orgId);
      const slug = await orgSlug(orgId);
      return presentSettings(await findSsoSettings(db, orgId), protocol, ssoUrls(publicUrl, slug));
    },
  );

  r.patch(
    base,
    {
      config: { command: updateSsoSettings },
      schema: {
        tags: ssoTags,
        summary: 'Change the single sign-on settings',
        description:
          '`enforced` needs an identity provider, and a session of yours signed in through it (409 `would_lock_out`): from then on, members’ sessions signed in any other way get 403 `sso_required` on the organization’s routes. A domain another organization holds answers 409.',
        params: OrgParams,
        body: Type.Object(
          {
            enforcement: Type.Optional(
              Type.Union([Type.Literal('coexist'), Type.Literal('preferred'), Type.Literal('enforced')]),
            ),
            jitProvisioning: Type.Optional(Type.Boolean()),
            defaultRole: Type.Optional(Nullable(RoleSlug)),
            groupsAttribute: Type.Optional(GroupsAttribute),
            domains: Type.Optional(Type.Array(Domain, { maxItems: 20, uniqueItems: true })),
            allowIdpInitiated: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Type.Ref('SsoSettings'), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const orgId = requestOrgId(request);
      const { domains, groupsAttribute, ...rest } = request.body;
      const saved = await commands.run(updateSsoSettings, request.invocation(), {
        ...rest,
        ...(groupsAttribute !== undefined ? { groupsAttribute: groupsAttribute?.trim() || null } : {}),
        ...(domains !== undefined
          ? { domains: [...new Set(domains.map((d) => d.toLowerCase()))].sort() }
          : {}),
        callerSsoOrgId: request.session ? request.session.session.ssoOrgId : undefined,
      });
      const protocol = await protocolOf(orgId);
      const slug = await orgSlug(orgId);
      return presentSettings(saved, protocol, ssoUrls(publicUrl, slug));
    },
  );

  // --- OIDC connection --------------------------------------------------------------------------

  const presentOidc = async (orgId: string) => {
    const oidc = await findOidc(db, orgId);
    assertFound(oidc, 'OIDC connection');
    return {
      issuer: oidc.issuer,
      clientId: oidc.clientId,
      clientSecretSet: true,
      scopes: oidc.scopes,
      redirectUri: ssoUrls(publicUrl, await orgSlug(orgId)).oidcRedirectUri,
      updatedAt: oidc.updatedAt,
    };
  };

  r.get(
    `${base}/oidc`,
    {
      config: { permission: 'sso:manage' },
      schema: {
        tags: ssoTags,
        summary: 'The OIDC identity provider (the client secret is never returned)',
        params: OrgParams,
        response: { 200: Type.Ref('OidcConnection'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => presentOidc(requestOrgId(request)),
  );

  r.put(
    `${base}/oidc`,
    {
      config: { command: saveOidc },
      schema: {
        tags: ssoTags,
        summary: 'Connect (or change) the OIDC identity provider',
        description:
          'The issuer’s discovery document is fetched through the outbound guard on save: 400 `idp_unreachable` or `idp_invalid` with the reason. `clientSecret` is write-only (kept when omitted on a change). Register the answer’s `redirectUri` at the IdP.',
        params: OrgParams,
        body: Body({
          issuer: Type.String({ minLength: 8, maxLength: 2048 }),
          clientId: Type.String({ minLength: 1, maxLength: 512 }),
          clientSecret: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
          scopes: Type.Optional(
            Type.Array(
              Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$' }),
              {
                maxItems: 20,
                uniqueItems: true,
              },
            ),
          ),
        }),
        response: { 200: Type.Ref('OidcConnection'), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const orgId = requestOrgId(request);
      const issuer = request.body.issuer.trim();
      const clientId = request.body.clientId.trim();
      if (clientId === '') {
        throw new ValidationError([{ field: '/body/clientId', message: 'must not be blank' }]);
      }
      const metadata = await discoverOidc(outbound, issuer, { allowHttp });
      const scopes = request.body.scopes ?? ['openid', 'email', 'profile'];
      await commands.run(saveOidc, request.invocation(), {
        issuer,
        clientId,
        ...(request.body.clientSecret !== undefined ? { clientSecret: request.body.clientSecret } : {}),
        scopes: scopes.includes('openid') ? scopes : ['openid', ...scopes],
        metadata: metadata as unknown as Record<string, unknown>,
      });
      return presentOidc(orgId);
    },
  );

  r.delete(
    `${base}/oidc`,
    {
      config: { command: removeOidc },
      schema: {
        tags: ssoTags,
        summary: 'Disconnect the OIDC identity provider',
        description:
          'Refused (409) while SSO is enforced. Linked identities stay: reconnecting the same issuer signs the same people in. Sessions it signed in no longer count as signed in through the org’s IdP.',
        params: OrgParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await commands.run(removeOidc, request.invocation(), {});
      return reply.status(204).send(null);
    },
  );

  // --- SAML connection --------------------------------------------------------------------------

  const presentSaml = async (orgId: string) => {
    const saml = await findSaml(db, orgId);
    assertFound(saml, 'SAML connection');
    const urls = ssoUrls(publicUrl, await orgSlug(orgId));
    return {
      idpEntityId: saml.idpEntityId,
      idpSsoUrl: saml.idpSsoUrl,
      idpMetadataUrl: saml.idpMetadataUrl,
      certificates: saml.idpCertificates.map((pem) => certificateInfo(pem)),
      spEntityId: urls.spEntityId,
      acsUrl: urls.acsUrl,
      metadataUrl: urls.metadataUrl,
      updatedAt: saml.updatedAt,
    };
  };

  r.get(
    `${base}/saml`,
    {
      config: { permission: 'sso:manage' },
      schema: {
        tags: ssoTags,
        summary: 'The SAML identity provider, and this service provider’s entity ID, ACS and metadata URLs',
        params: OrgParams,
        response: { 200: Type.Ref('SamlConnection'), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => presentSaml(requestOrgId(request)),
  );

  r.put(
    `${base}/saml`,
    {
      config: { command: saveSaml },
      schema: {
        tags: ssoTags,
        summary: 'Connect (or change) the SAML identity provider',
        description:
          'One of: `idpMetadataXml`; `idpMetadataUrl` (fetched through the outbound guard); or `idpEntityId`, `idpSsoUrl` and `idpCertificates` (several during a rotation). 400 `idp_invalid` / `idp_unreachable` with the reason.',
        params: OrgParams,
        body: Type.Union([
          Body({ idpMetadataXml: Type.String({ minLength: 1, maxLength: 1024 * 1024 }) }),
          Body({ idpMetadataUrl: Type.String({ minLength: 8, maxLength: 2048 }) }),
          Body({
            idpEntityId: Type.String({ minLength: 1, maxLength: 1024 }),
            idpSsoUrl: Type.String({ minLength: 8, maxLength: 2048 }),
            idpCertificates: Type.Array(Type.String({ minLength: 1, maxLength: 16_384 }), {
              minItems: 1,
              maxItems: 5,
            }),
          }),
        ]),
        response: { 200: Type.Ref('SamlConnection'), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const orgId = requestOrgId(request);
      const body = request.body as Record<string, unknown>;
      let idp: { idpEntityId: string; idpSsoUrl: string; idpCertificates: string[] };
      let idpMetadataUrl: string | null = null;
      if (typeof body.idpMetadataXml === 'string') {
        idp = parseIdpMetadata(body.idpMetadataXml);
      } else if (typeof body.idpMetadataUrl === 'string') {
        idpMetadataUrl = (await outbound.check(body.idpMetadataUrl.trim(), { field: '/body/idpMetadataUrl' }))
          .href;
        idp = parseIdpMetadata(await fetchIdpMetadata(outbound, idpMetadataUrl));
      } else {
        const pems = (body.idpCertificates as string[]).map((pem, i) => {
          try {
            return normalizeCertificatePem(pem);
          } catch {
            throw new ValidationError([
              { field: `/body/idpCertificates/${i}`, message: 'is not an X.509 certificate in PEM form' },
            ]);
          }
        });
        let ssoUrl: string;
        try {
          ssoUrl = checkSsoUrl(String(body.idpSsoUrl).trim());
        } catch {
          throw new ValidationError([{ field: '/body/idpSsoUrl', message: 'must be an http(s) URL' }]);
        }
        idp = { idpEntityId: String(body.idpEntityId).trim(), idpSsoUrl: ssoUrl, idpCertificates: pems };
      }
      const infos = certificatesOf(idp.idpCertificates, '/body/idpCertificates');
      await commands.run(saveSaml, request.invocation(), {
        ...idp,
        idpMetadataUrl,
        fingerprints: infos.map((c) => c.fingerprintSha256),
      });
      return presentSaml(orgId);
    },
  );

  r.delete(
    `${base}/saml`,
    {
      config: { command: removeSaml },
      schema: {
        tags: ssoTags,
        summary: 'Disconnect the SAML identity provider',
        description: 'Refused (409) while SSO is enforced.',
        params: OrgParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await commands.run(removeSaml, request.invocation(), {});
      return reply.status(204).send(null);
    },
  );

  // --- group mappings ---------------------------------------------------------------------------

  r.get(
    `${base}/group-mappings`,
    {
      config: { permission: 'sso:manage' },
      schema: {
        tags: ssoTags,
        summary: 'IdP group → role mappings, in the order they are tried',
        params: OrgParams,
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref('SsoGroupMapping')), nextCursor: Type.Null() }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => ({
      items: (await listGroupMappings(db, requestOrgId(request))).map(presentMapping),
      nextCursor: null,
    }),
  );

  r.post(
    `${base}/group-mappings`,
    {
      config: { command: createGroupMapping },
      schema: {
        tags: ssoTags,
        summary: 'Map an IdP group to a role',
        description:
          'Applied when a member first signs in through SSO (just-in-time provisioning): the first mapping whose group the IdP sends gives the role. Never Owner (400).',
        params: OrgParams,
        body: Body({
          idpGroup: Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\u0000-\\u001f]+$' }),
          role: RoleSlug,
        }),
        response: { 201: Type.Ref('SsoGroupMapping'), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const idpGroup = request.body.idpGroup.trim();
      if (idpGroup === '') {
        throw new ValidationError([{ field: '/body/idpGroup', message: 'must not be blank' }]);
      }
      const mapping = await commands.run(createGroupMapping, request.invocation(), {
        idpGroup,
        role: request.body.role,
      });
      return reply.status(201).send(presentMapping(mapping));
    },
  );

  r.delete(
    `${base}/group-mappings/:id`,
    {
      config: { command: removeGroupMapping },
      schema: {
        tags: ssoTags,
        summary: 'Delete a group mapping',
        params: Type.Object({ orgId: Uuid, id: Uuid }),
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await commands.run(removeGroupMapping, request.invocation(), { id: request.params.id });
      return reply.status(204).send(null);
    },
  );

  // --- discovery --------------------------------------------------------------------------------

  r.post(
    '/api/v1/auth/sso/discover',
    {
      config: { public: true, command: [] },
      schema: {
        tags: ssoTags,
        summary: 'Where to sign in with SSO, by email domain or organization slug',
        body: Type.Union([
          Body({ email: Type.String({ minLength: 3, maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+$' }) }),
          Body({ orgSlug: Type.String({ minLength: 1, maxLength: 64 }) }),
        ]),
        response: {
          200: Type.Object({ loginUrl: Type.String(), orgSlug: Type.String() }),
          ...problemResponses(400, 404),
        },
      },
    },
    async (request) => {
      const body = request.body as { email?: string; orgSlug?: string };
      const org = body.email
        ? await findOrgByDomain(db, normalizeEmail(body.email).split('@')[1] ?? '')
        : await findOrgBySlug(db, body.orgSlug!.trim());
      const protocol = org ? await protocolOf(org.id) : null;
      if (!org || !protocol) throw new NotFoundError('single sign-on for this email or organization');
      return { loginUrl: ssoUrls(publicUrl, org.slug).loginUrl(protocol), orgSlug: org.slug };
    },
  );

  // --- the browser's side of a sign-in ----------------------------------------------------------

  /** The browser's binding cookie (made when missing), and its hash for the request row. */
  function bindBrowser(request: FastifyRequest, reply: FastifyReply, slug: string): string {
    let value = request.cookies[BINDING_COOKIE];
    if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(value)) {
      value = randomBytes(32).toString('base64url');
    }
    // Sent back on the IdP's cross-site POST (SAML) too: SameSite=None, hence Secure (browsers
    // treat http://localhost and 127.0.0.1 as secure).
    reply.setCookie(BINDING_COOKIE, value, {
      httpOnly: true,
      secure: true,
      sameSite: 'none',
      path: `/sso/${encodeURIComponent(slug)}`,
      maxAge: BINDING_MAX_AGE_S,
    });
    return sha256Hex(value);
  }

  function boundToThisBrowser(request: FastifyRequest, stored: string | null): boolean {
    const value = request.cookies[BINDING_COOKIE];
    if (typeof value !== 'string' || stored === null) return false;
    const a = Buffer.from(sha256Hex(value), 'hex');
    const b = Buffer.from(stored, 'hex');
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /**
   * A test sign-in is an admin's (sso:manage on the org), from their own signed-in session; a
   * sign-in is anyone's.
   */
  async function purposeOf(
    request: FastifyRequest,
    orgId: string,
    purpose: string | undefined,
  ): Promise<'login' | 'test'> {
    if (purpose !== 'test') return 'login';
    const userId = request.session?.user.id;
    const access = userId ? await app.gatehouse.access.resolve(orgId, userId) : undefined;
    if (!access?.permissions.has('sso:manage')) {
      throw new PermissionDeniedError(
        'sso:manage',
        'Only an SSO admin of this organization may test its sign-in.',
      );
    }
    return 'test';
  }

  /** The live org a sign-in route names, with its IdP of that protocol. */
  async function signInOrg(slug: string) {
    const org = await findOrgBySlug(db, slug);
    if (!org) throw new NotFoundError('organization');
    return org;
  }

  const loginQuery = Type.Object(
    {
      next: Type.Optional(Type.String({ maxLength: 1024 })),
      purpose: Type.Optional(Type.Union([Type.Literal('login'), Type.Literal('test')])),
    },
    { additionalProperties: false },
  );
  const SlugParams = Type.Object({ orgSlug: Type.String({ minLength: 1, maxLength: 64 }) });

  /** Where a refused sign-in lands: the sign-in page, told why in its own words. */
  function failTo(reply: FastifyReply, err: unknown, request: FastifyRequest, testOrgId: string | null) {
    if (!(err instanceof AppError)) throw err;
    const reason = (err as { reason?: unknown }).reason;
    request.log.warn({ code: err.code, reason }, 'single sign-on refused');
    if (testOrgId) {
      const result = Buffer.from(
        JSON.stringify({ ok: false, code: err.code, reason: reason ?? null }),
      ).toString('base64url');
      return reply.redirect(`/orgs/${testOrgId}/settings/sso#test=${result}`, 303);
    }
    const query = new URLSearchParams({ sso_error: err.code });
    if (typeof reason === 'string') query.set('sso_reason', reason);
    return reply.redirect(`/signin?${query}`, 303);
  }

  /** After the IdP's answer checked out: the test's report, or the sign-in itself. */
  async function finish(
    request: FastifyRequest,
    reply: FastifyReply,
    org: { id: string; slug: string },
    identity: SsoIdentity,
    pending: { purpose: 'login' | 'test'; next: string | null; userId: string | null },
  ) {
    if (pending.purpose === 'test') {
      const result = Buffer.from(
        JSON.stringify({
          ok: true,
          protocol: identity.protocol,
          subject: identity.subject,
          email: identity.email,
          emailVerified: identity.emailVerified,
          name: identity.name,
          groups: identity.groups.slice(0, 50),
        }),
      ).toString('base64url');
      return reply.redirect(`/orgs/${org.id}/settings/sso#test=${result}`, 303);
    }
    const cookies = await signInCookies(request);
    const result = await commands.run(ssoSignIn, request.invocation(), {
      orgId: org.id,
      identity,
      // The account signed in when this sign-in started (its own proof, for linking).
      currentUserId: pending.userId,
      previousSession: cookies.previousSession,
      device: cookies.device,
    });
    cookies.set(reply, result.session.token, result.deviceToken);
    return reply.redirect(safeNext(pending.next) ?? '/', 303);
  }

  r.get(
    '/sso/:orgSlug/oidc/login',
    {
      config: { public: true, writes: true, command: [] },
      schema: {
        tags: ssoTags,
        summary: 'Start signing in through the organization’s OIDC identity provider (302 to it)',
        params: SlugParams,
        querystring: loginQuery,
        response: { 302: Type.Null(), ...problemResponses(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const org = await signInOrg(request.params.orgSlug);
      const oidc = await findOidc(db, org.id);
      if (!oidc) throw new NotFoundError('OIDC connection');
      const purpose = await purposeOf(request, org.id, request.query.purpose);
      const client = oidcClient(outbound, {
        metadata: oidc.metadata as unknown as OidcMetadata,
        clientId: oidc.clientId,
        clientSecret: secrets.open(oidc.clientSecret, clientSecretContext(org.id)),
        allowHttp,
      });
      const state = randomState();
      const nonce = randomNonce();
      const codeVerifier = randomCodeVerifier();
      const redirectUri = ssoUrls(publicUrl, org.slug).oidcRedirectUri;
      await saveSsoRequest(db, org.id, {
        key: sha256Hex(state),
        protocol: 'oidc',
        purpose,
        nonce,
        codeVerifier,
        next: safeNext(request.query.next),
        userId: request.session?.user.id ?? null,
        browserBinding: bindBrowser(request, reply, org.slug),
      });
      const url = client.authorizationUrl({ redirectUri, scopes: oidc.scopes, state, nonce, codeVerifier });
      return reply.redirect(url.href, 302);
    },
  );

  r.get(
    '/sso/:orgSlug/oidc/callback',
    {
      config: { public: true, writes: true, crossSite: true, command: ssoSignIn },
      schema: {
        tags: ssoTags,
        summary: 'The OIDC identity provider’s answer: signs in, then 303 to where the sign-in started',
        params: SlugParams,
        querystring: Type.Record(Type.String(), Type.String({ maxLength: 4096 })),
        response: { 303: Type.Null(), ...problemResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const org = await signInOrg(request.params.orgSlug);
      const state = typeof request.query.state === 'string' ? request.query.state : '';
      let testOrgId: string | null = null;
      try {
        const oidc = await findOidc(db, org.id);
        if (!oidc) throw new NotFoundError('OIDC connection');
        const pending = state ? await takeSsoRequest(db, org.id, 'oidc', sha256Hex(state)) : null;
        if (!pending || !boundToThisBrowser(request, pending.browserBinding)) {
          throw new OidcLoginError('state_mismatch');
        }
        if (pending.purpose === 'test') testOrgId = org.id;
        const settings = await findSsoSettings(db, org.id);
        const client = oidcClient(outbound, {
          metadata: oidc.metadata as unknown as OidcMetadata,
          clientId: oidc.clientId,
          clientSecret: secrets.open(oidc.clientSecret, clientSecretContext(org.id)),
          allowHttp,
          jwksCache,
        });
        const url = new URL(request.url, publicUrl);
        const identity = await client.callback(url, {
          redirectUri: ssoUrls(publicUrl, org.slug).oidcRedirectUri,
          expectedState: state,
          expectedNonce: pending.nonce ?? '',
          codeVerifier: pending.codeVerifier ?? '',
          groupsClaim: settings.groupsAttribute,
        });
        return await finish(
          request,
          reply,
          org,
          {
            protocol: 'oidc',
            subject: identity.subject,
            email: identity.email ? normalizeEmail(identity.email) : null,
            emailVerified: identity.emailVerified,
            name: identity.name,
            groups: identity.groups,
          },
          pending,
        );
      } catch (err) {
        return failTo(reply, err, request, testOrgId);
      }
    },
  );

  r.get(
    '/sso/:orgSlug/saml/metadata',
    {
      config: { public: true },
      schema: {
        tags: ssoTags,
        summary: 'This service provider’s SAML metadata for the organization (to give the IdP)',
        params: SlugParams,
        produces: ['application/samlmetadata+xml'],
      },
    },
    async (request, reply) => {
      const org = await signInOrg(request.params.orgSlug);
      const urls = ssoUrls(publicUrl, org.slug);
      return reply
        .type('application/samlmetadata+xml; charset=utf-8')
        .send(spMetadata({ spEntityId: urls.spEntityId, acsUrl: urls.acsUrl }));
    },
  );

  r.get(
    '/sso/:orgSlug/saml/login',
    {
      config: { public: true, writes: true, command: [] },
      schema: {
        tags: ssoTags,
        summary:
          'Start signing in through the organization’s SAML identity provider (302 with an AuthnRequest)',
        params: SlugParams,
        querystring: loginQuery,
        response: { 302: Type.Null(), ...problemResponses(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const org = await signInOrg(request.params.orgSlug);
      const saml = await findSaml(db, org.id);
      if (!saml) throw new NotFoundError('SAML connection');
      const purpose = await purposeOf(request, org.id, request.query.purpose);
      const urls = ssoUrls(publicUrl, org.slug);
      const url = await samlLoginUrl(
        db,
        org.id,
        { ...saml, spEntityId: urls.spEntityId, acsUrl: urls.acsUrl },
        {
          purpose,
          next: safeNext(request.query.next),
          userId: request.session?.user.id ?? null,
          browserBinding: bindBrowser(request, reply, org.slug),
        },
      );
      return reply.redirect(url, 302);
    },
  );

  r.post(
    '/sso/:orgSlug/saml/acs',
    {
      config: { public: true, crossSite: true, command: ssoSignIn },
      schema: {
        tags: ssoTags,
        summary: 'The SAML identity provider’s answer (POST binding): signs in, then 303 onwards',
        params: SlugParams,
        consumes: ['application/x-www-form-urlencoded'],
        body: Type.Object(
          {
            SAMLResponse: Type.String({ minLength: 1, maxLength: 2 * 1024 * 1024 }),
            RelayState: Type.Optional(Type.String({ maxLength: 1024 })),
          },
          { additionalProperties: true },
        ),
        response: { 303: Type.Null(), ...problemResponses(400, 404, 415) },
      },
    },
    async (request, reply) => {
      const org = await signInOrg(request.params.orgSlug);
      let testOrgId: string | null = null;
      try {
        const saml = await findSaml(db, org.id);
        if (!saml) throw new NotFoundError('SAML connection');
        const settings = await findSsoSettings(db, org.id);
        const urls = ssoUrls(publicUrl, org.slug);
        const identity = await validateSamlResponse(
          db,
          org.id,
          {
            ...saml,
            spEntityId: urls.spEntityId,
            acsUrl: urls.acsUrl,
            allowIdpInitiated: settings.allowIdpInitiated,
            groupsAttribute: settings.groupsAttribute,
          },
          request.body.SAMLResponse,
        );
        const pending = identity.request;
        if (pending && !boundToThisBrowser(request, pending.browserBinding)) {
          throw new SamlLoginError('unknown_request');
        }
        if (pending?.purpose === 'test') testOrgId = org.id;
        return await finish(
          request,
          reply,
          org,
          {
            protocol: 'saml',
            subject: identity.nameId,
            email: identity.email ? normalizeEmail(identity.email) : null,
            // The SAML IdP is the org's own directory, configured by its admins: its addresses are its word.
            emailVerified: identity.email !== null,
            name: identity.name,
            groups: identity.groups,
          },
          pending ?? { purpose: 'login', next: null, userId: null },
        );
      } catch (err) {
        return failTo(reply, err, request, testOrgId);
      }
    },
  );
}
