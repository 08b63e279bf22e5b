import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { entitlements, PLANS } from '../../../contracts/plans.ts';
import { requestOrgId } from '../../platform/access/access.ts';
import { AppError, assertFound, NotFoundError, ValidationError } from '../../platform/errors/app-error.ts';
import { decodeKeyCursor, encodeKeyCursor, PageQuery } from '../../platform/http/paging.ts';
import {
  Body,
  DateTime,
  Email,
  Nullable,
  OrgParams,
  problemResponses,
  SingleLine,
  Uuid,
} from '../../platform/http/schemas.ts';
import {
  createOrganization,
  deleteOrganization,
  MAX_ALLOWLIST_ENTRIES,
  removeLogo,
  setLogo,
  updateOrganization,
  updateSecurityPolicy,
} from './organizations.commands.ts';
import {
  findLogo,
  findOrg,
  findSecurity,
  listUserOrgs,
  type OrgRow,
  type OrgSecurity,
} from './organizations.repository.ts';

export const MAX_LOGO_BYTES = 1024 * 1024;
const LOGO_TYPES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg']);

/** The logo route takes images only: Fastify's default text/plain parser must not see its body. */
async function requireImageBody(request: FastifyRequest): Promise<void> {
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (!type || !LOGO_TYPES.has(type)) {
    throw new AppError(
      415,
      'unsupported_media_type',
      'Unsupported media type',
      'Send the logo as the request body with Content-Type image/png or image/jpeg.',
    );
  }
}

const Name = SingleLine(100);
const Slug = Type.String({
  minLength: 2,
  maxLength: 40,
  pattern: '^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$',
  description: 'Lowercase letters, digits and dashes; unique among live organizations',
});
const EmailList = (max: number) => Type.Array(Email, { maxItems: max, uniqueItems: true });

const profileFields = {
  name: Name,
  slug: Slug,
  description: Nullable(Type.String({ maxLength: 1000 })),
  contactEmail: Nullable(Email),
  website: Nullable(Type.String({ format: 'uri', maxLength: 2048, pattern: '^https?://' })),
  industry: Nullable(SingleLine(100)),
  teamEmails: EmailList(50),
  invoiceRecipients: EmailList(20),
};

/** A plan's entitlements, as the organization and the plan catalog (GET /plans) show them. */
export const Entitlements = Type.Object({
  name: Type.String(),
  tokensPerMonth: Type.Integer(),
  maxMembers: Type.Union([Type.Integer(), Type.Null()]),
  customRoles: Type.Boolean(),
  scim: Type.Boolean(),
  auditExport: Type.Boolean(),
  complianceReports: Type.Boolean(),
  fixVerification: Type.Boolean(),
  sso: Type.Boolean(),
  auditRetentionDays: Type.Integer(),
  ipAllowlist: Type.Boolean(),
  budgets: Type.Boolean(),
  quotaBoosts: Type.Boolean(),
  customSessionTimeout: Type.Boolean(),
  deepAiEnrichment: Type.Boolean(),
  sms: Type.Boolean(),
});

const organizationFields = {
  id: Uuid,
  slug: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  contactEmail: Type.Union([Type.String(), Type.Null()]),
  website: Type.Union([Type.String(), Type.Null()]),
  industry: Type.Union([Type.String(), Type.Null()]),
  teamEmails: Type.Array(Type.String()),
  invoiceRecipients: Type.Array(Type.String()),
  plan: Type.String(),
  entitlements: Entitlements,
  logoUrl: Type.Union([Type.String(), Type.Null()], { description: 'Path of the logo, when one is set' }),
  createdAt: DateTime,
  updatedAt: DateTime,
};

export const Organization = Type.Object(organizationFields, { $id: 'Organization' });

/** Idle minutes an organization may set: from 5 minutes to a week. */
const IdleMinutes = Type.Integer({ minimum: 5, maximum: 7 * 24 * 60 });

const securityFields = {
  require2fa: Type.Boolean({ description: 'Members without 2FA get 403 two_factor_required on its routes' }),
  sessionIdleMinutes: Type.Union([IdleMinutes, Type.Null()], {
    description:
      "A member's sessions end after this many idle minutes (the strictest of their orgs applies); null: the installation's timeout. Values other than 30 need Enterprise",
  }),
  ipAllowlist: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
    maxItems: MAX_ALLOWLIST_ENTRIES,
    description:
      'CIDR blocks (IPv4 or IPv6; a plain address is one host) its routes answer, to cookies and tokens alike; empty: any address. Enterprise',
  }),
};

const Security = Type.Object({
  ...securityFields,
  defaultSessionIdleMinutes: Type.Integer({ description: "The installation's idle timeout, in minutes" }),
  yourAddress: Type.Union([Type.String(), Type.Null()], {
    description: 'Your address as the server sees it (behind TRUST_PROXY, the forwarded one)',
  }),
});

function present(org: OrgRow) {
  const { logoUpdatedAt, ...rest } = org;
  return {
    ...rest,
    entitlements: entitlements(org.plan),
    logoUrl: logoUpdatedAt ? `/api/v1/orgs/${org.id}/logo?v=${logoUpdatedAt.getTime()}` : null,
  };
}

/** What the bytes are, whatever the request claimed: only PNG and JPEG images are kept. */
export function sniffImage(bytes: Buffer): 'image/png' | 'image/jpeg' | undefined {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  // A PNG starts with its signature and then the IHDR chunk.
  if (
    bytes.length >= 24 &&
    bytes.subarray(0, 8).equals(png) &&
    bytes.subarray(12, 16).toString('latin1') === 'IHDR'
  ) {
    return 'image/png';
  }
  // A JPEG starts with SOI followed by a marker, and ends with EOI.
  if (
    bytes.length >= 4 &&
    bytes[0] === 0xff &&
    bytes[1] === 0xd8 &&
    bytes[2] === 0xff &&
    bytes[bytes.length - 2] === 0xff &&
    bytes[bytes.length - 1] === 0xd9
  ) {
    return 'image/jpeg';
  }
  return undefined;
}

export function organizationsRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands } = app.gatehouse;

  // Logos arrive as the raw image (the console sends the file as the body).
  app.addContentTypeParser(
    ['image/png', 'image/jpeg'],
    { parseAs: 'buffer', bodyLimit: MAX_LOGO_BYTES },
    (_request, body, done) => done(null, body),
  );

  r.post(
    '/api/v1/orgs',
    {
      config: { authenticated: true, sessionOnly: true, command: createOrganization },
      schema: {
        tags: ['organizations'],
        summary: 'Create an organization; you become its owner',
        body: Type.Object(
          {
            name: Name,
            slug: Type.Optional(Slug),
            description: Type.Optional(profileFields.description),
            contactEmail: Type.Optional(profileFields.contactEmail),
            website: Type.Optional(profileFields.website),
            industry: Type.Optional(profileFields.industry),
            teamEmails: Type.Optional(profileFields.teamEmails),
            invoiceRecipients: Type.Optional(profileFields.invoiceRecipients),
            plan: Type.Optional(
              Type.Union(
                PLANS.map((p) => Type.Literal(p)),
                { default: 'free' },
              ),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ ...organizationFields, role: Type.String({ description: 'Your role: owner' }) }),
          ...problemResponses(400, 401, 403, 409, 429),
        },
      },
    },
    async (request, reply) => {
      const { plan, ...rest } = request.body;
      const { org, role } = await commands.run(createOrganization, request.invocation(), {
        ...rest,
        name: rest.name.trim(),
        plan: plan ?? 'free',
        limits: app.gatehouse.config.organizations,
        planSelection: app.gatehouse.config.billing.planSelection,
      });
      return reply.status(201).send({ ...present(org), role });
    },
  );

  r.get(
    '/api/v1/orgs',
    {
      config: { authenticated: true, sessionOnly: true },
      schema: {
        tags: ['organizations'],
        summary: 'The organizations you belong to, by name',
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                id: Uuid,
                slug: Type.String(),
                name: Type.String(),
                plan: Type.String(),
                role: Type.String({ description: "Your role's slug" }),
                joinedAt: DateTime,
                suspended: Type.Boolean({
                  description:
                    'Suspended by the operators of the installation: its routes answer 403 org_suspended',
                }),
              }),
            ),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...problemResponses(400, 401),
        },
      },
    },
    async (request) => {
      if (request.actor.type !== 'user') throw new NotFoundError();
      const limit = request.query.limit ?? 50;
      const after = decodeKeyCursor(request.query.cursor);
      const rows = await listUserOrgs(app.gatehouse.database.db, request.actor.userId, {
        limit: limit + 1,
        ...(after ? { after: { name: after.key, id: after.id } } : {}),
      });
      const items = rows.slice(0, limit);
      const last = items.at(-1);
      return {
        items,
        nextCursor: rows.length > limit && last ? encodeKeyCursor(last.name.toLowerCase(), last.id) : null,
      };
    },
  );

  r.get(
    '/api/v1/orgs/:orgId',
    {
      config: { permission: 'settings:read' },
      schema: {
        tags: ['organizations'],
        summary: 'The organization profile',
        params: OrgParams,
        response: { 200: Type.Ref('Organization'), ...problemResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const org = await findOrg(app.gatehouse.database.db, requestOrgId(request));
      assertFound(org, 'organization');
      return present(org);
    },
  );

  r.patch(
    '/api/v1/orgs/:orgId',
    {
      config: { command: updateOrganization },
      schema: {
        tags: ['organizations'],
        summary: 'Change the organization profile',
        params: OrgParams,
        body: Type.Object(
          Object.fromEntries(Object.entries(profileFields).map(([k, v]) => [k, Type.Optional(v)])) as {
            [K in keyof typeof profileFields]: ReturnType<typeof Type.Optional<(typeof profileFields)[K]>>;
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Type.Ref('Organization'), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const body = request.body as Record<string, unknown>;
      if (typeof body.name === 'string') body.name = body.name.trim();
      const org = await commands.run(updateOrganization, request.invocation(), body);
      return present(org);
    },
  );

  const presentSecurity = (security: OrgSecurity, request: FastifyRequest) => ({
    ...security,
    defaultSessionIdleMinutes: Math.round(app.gatehouse.config.session.idleTimeoutMs / 60_000),
    yourAddress: request.ip ?? null,
  });

  r.get(
    '/api/v1/orgs/:orgId/security',
    {
      config: { permission: 'settings:read' },
      schema: {
        tags: ['organizations'],
        summary: 'The security policy: require 2FA, session idle timeout, IP allowlist',
        params: OrgParams,
        response: { 200: Security, ...problemResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const security = await findSecurity(app.gatehouse.database.db, requestOrgId(request));
      assertFound(security, 'organization');
      return presentSecurity(security, request);
    },
  );

  r.patch(
    '/api/v1/orgs/:orgId/security',
    {
      config: { command: updateSecurityPolicy },
      schema: {
        tags: ['organizations'],
        summary: 'Change the security policy',
        description:
          'A change that would refuse you yourself (your address outside the new allowlist, or 2FA required while you have none) is refused with 409 would_lock_out. A custom idle timeout and an allowlist need Enterprise (403 plan_limit). Entries with bits set past their prefix are refused (400).',
        params: OrgParams,
        body: Type.Object(
          {
            require2fa: Type.Optional(securityFields.require2fa),
            sessionIdleMinutes: Type.Optional(securityFields.sessionIdleMinutes),
            ipAllowlist: Type.Optional(securityFields.ipAllowlist),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Security, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const security = await commands.run(updateSecurityPolicy, request.invocation(), request.body);
      return presentSecurity(security, request);
    },
  );

  r.delete(
    '/api/v1/orgs/:orgId',
    {
      config: { command: deleteOrganization, sessionOnly: true },
      schema: {
        tags: ['organizations'],
        summary: 'Delete the organization (irreversible); re-enter your password',
        description:
          "Every member's access ends at once and the slug becomes free. The data stays for the operator until it is purged.",
        params: OrgParams,
        body: Body({ password: Type.String({ minLength: 1, maxLength: 1024 }) }),
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      await app.gatehouse.confirmPassword(request, request.body.password);
      await commands.run(deleteOrganization, request.invocation(), undefined);
      return reply.status(204).send(null);
    },
  );

  r.put(
    '/api/v1/orgs/:orgId/logo',
    {
      config: { command: setLogo },
      preParsing: requireImageBody,
      schema: {
        tags: ['organizations'],
        summary: 'Upload the logo: the PNG or JPEG file as the body (at most 1 MiB)',
        description: 'The image type is read from the bytes; anything that is not a PNG or JPEG is refused.',
        params: OrgParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404, 413, 415) },
      },
    },
    async (request, reply) => {
      const bytes = request.body;
      if (!Buffer.isBuffer(bytes) || bytes.length === 0) {
        throw new ValidationError([{ field: '/body', message: 'must be a PNG or JPEG image' }]);
      }
      const sniffed = sniffImage(bytes);
      if (!sniffed) throw new ValidationError([{ field: '/body', message: 'is not a PNG or JPEG image' }]);
      if (sniffed !== request.headers['content-type']?.split(';')[0]?.trim().toLowerCase()) {
        throw new ValidationError([
          { field: '/headers/content-type', message: `does not match the image, which is ${sniffed}` },
        ]);
      }
      await commands.run(setLogo, request.invocation(), { contentType: sniffed, bytes });
      return reply.status(204).send(null);
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/logo',
    {
      config: { permission: 'members:read' },
      schema: {
        tags: ['organizations'],
        summary: 'The logo image',
        params: OrgParams,
        querystring: Type.Object({ v: Type.Optional(Type.String({ maxLength: 32 })) }),
        response: {
          200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }),
          ...problemResponses(401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const logo = await findLogo(app.gatehouse.database.db, requestOrgId(request));
      assertFound(logo, 'logo');
      return reply
        .header('content-type', logo.contentType)
        .header('cache-control', 'private, max-age=3600')
        .header('etag', `"${logo.sha256}"`)
        .header('content-disposition', 'inline; filename="logo"')
        .send(logo.bytes);
    },
  );

  r.delete(
    '/api/v1/orgs/:orgId/logo',
    {
      config: { command: removeLogo },
      schema: {
        tags: ['organizations'],
        summary: 'Remove the logo',
        params: OrgParams,
        response: { 204: Type.Null(), ...problemResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await commands.run(removeLogo, request.invocation(), undefined);
      return reply.status(204).send(null);
    },
  );
}
