import { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import { requestOrgId } from '../../platform/access/access.ts';
import type { Actor } from '../../platform/actor.ts';
import type { VerifyReport } from '../../platform/audit/verify.ts';
import { UnauthenticatedError, ValidationError } from '../../platform/errors/app-error.ts';
import { decodeSeqCursor, encodeSeqCursor, PageQuery } from '../../platform/http/paging.ts';
import { Nullable, OrgParams, problemResponses, Uuid } from '../../platform/http/schemas.ts';
import { createAuditCheckpoint, exportAuditLog } from './audit-log.commands.ts';
import { EXPORT_EXTENSIONS, EXPORT_TYPES, exportChunks } from './audit-log.export.ts';
import { listAuditEntries, listCheckpoints, listPublishedKeys } from './audit-log.queries.ts';
import { VerifyRuns } from './audit-log.verify-runs.ts';

type VerifyResponse = VerifyReport & { scope: 'since_checkpoint' | 'full' };

const Change = Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]);

export const AuditEvent = Type.Object(
  {
    id: Uuid,
    orgId: Type.Optional(Uuid),
    userId: Type.Optional(Uuid),
    seq: Type.Integer({ minimum: 1, description: 'Position in the chain: 1, 2, 3, … with no gap' }),
    occurredAt: Type.String({ format: 'date-time' }),
    actor: Type.Object({
      type: Type.String({ description: 'user, token, scim, system, operator, anonymous' }),
      id: Nullable(Type.String()),
      email: Nullable(Type.String()),
      tokenId: Type.Optional(
        Type.String({ format: 'uuid', description: 'The personal API token the user acted through' }),
      ),
    }),
    action: Type.String({ description: '`resource.past_tense`, e.g. member.role_changed' }),
    target: Type.Object({
      type: Type.String(),
      id: Type.String(),
      name: Type.Optional(
        Type.String({
          description:
            'What the target was called when the entry was written: a person’s, role’s, token’s or organization’s name (text people typed: escape it)',
        }),
      ),
      email: Type.Optional(
        Type.String({ description: 'The member’s, user’s or invitee’s email when the entry was written' }),
      ),
    }),
    before: Change,
    after: Change,
    ip: Nullable(Type.String()),
    userAgent: Nullable(Type.String()),
    requestId: Nullable(Type.String()),
    prevHash: Type.String({ description: 'The previous entry’s hash (64 zeros for the first)' }),
    hash: Type.String({
      description: 'SHA-256 (hex) of the RFC 8785 canonical JSON of every other field of this entry',
    }),
  },
  { $id: 'AuditEvent' },
);

export const AuditCheckpoint = Type.Object(
  {
    orgId: Type.Optional(Uuid),
    userId: Type.Optional(Uuid),
    seq: Type.Integer(),
    hash: Type.String(),
    signedAt: Type.String({ format: 'date-time' }),
    keyId: Type.String(),
    signature: Type.String({
      description: 'Ed25519, base64url, over the canonical JSON of {orgId, seq, hash, signedAt}',
    }),
  },
  { $id: 'AuditCheckpoint' },
);

const VerifyResult = Type.Object({
  ok: Type.Boolean(),
  checked: Type.Integer(),
  firstSeq: Type.Union([Type.Integer(), Type.Null()]),
  headSeq: Type.Union([Type.Integer(), Type.Null()]),
  headHash: Nullable(Type.String()),
  signedSeq: Type.Union([Type.Integer(), Type.Null()], {
    description: 'The last entry a valid signed checkpoint vouches for',
  }),
  firstBadSeq: Type.Optional(Type.Integer({ description: 'The first entry that is not what was written' })),
  reason: Type.Optional(Type.String()),
  detail: Type.Optional(Type.String()),
  scope: Type.Union([Type.Literal('since_checkpoint'), Type.Literal('full')], {
    description:
      'since_checkpoint: from the last checkpoint this installation signed (its entry included); full: the whole chain',
  }),
});

const Time = (description: string) => Type.Optional(Type.String({ format: 'date-time', description }));
const RangeQuery = {
  from: Time('Entries at or after this time'),
  to: Time('Entries before this time'),
};

/** A time a client sent, within what PostgreSQL and JS both represent exactly. */
function readTime(value: string | undefined, field: string): Date | undefined {
  if (value === undefined) return undefined;
  const time = new Date(value);
  if (Number.isNaN(time.getTime()) || time.getUTCFullYear() < 1970 || time.getUTCFullYear() > 9999) {
    throw new ValidationError([
      { field: `/querystring/${field}`, message: 'must be a time between 1970 and 9999' },
    ]);
  }
  return time;
}

function readRange(query: { from?: string; to?: string }) {
  const from = readTime(query.from, 'from');
  const to = readTime(query.to, 'to');
  if (from && to && from >= to) {
    throw new ValidationError([{ field: '/querystring/to', message: 'must be after from' }]);
  }
  return { ...(from ? { from } : {}), ...(to ? { to } : {}) };
}

const ListQuery = Type.Object(
  {
    action: Type.Optional(
      Type.String({
        maxLength: 100,
        pattern: '^[a-z][a-z_]*\\.([a-z][a-z_]*|\\*)$',
        description: 'An action (member.invited) or all of a resource (member.*)',
      }),
    ),
    actorId: Type.Optional(Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.:-]+$' })),
    targetId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_.:@-]+$' })),
    ...RangeQuery,
    ...PageQuery,
  },
  { additionalProperties: false },
);

const page = <T extends { seq: number }>(items: T[], limit: number) => {
  const more = items.length > limit;
  const shown = more ? items.slice(0, limit) : items;
  return { items: shown, nextCursor: more ? encodeSeqCursor(shown[shown.length - 1]!.seq) : null };
};

export function auditLogRoutes(app: FastifyInstance): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { commands, database, audit } = app.gatehouse;
  /** One page of a chain's entries for a list query (filters, time range, seq cursor). */
  const listPage = async (chain: { kind: 'org' | 'user'; id: string }, query: Static<typeof ListQuery>) => {
    const { action, actorId, targetId, limit = 50, cursor } = query;
    const beforeSeq = decodeSeqCursor(cursor);
    const items = await listAuditEntries(
      database.db,
      audit,
      chain,
      {
        ...readRange(query),
        ...(action ? { action } : {}),
        ...(actorId ? { actorId } : {}),
        ...(targetId ? { targetId } : {}),
      },
      { limit: limit + 1, ...(beforeSeq !== undefined ? { beforeSeq } : {}) },
    );
    return page(items, limit);
  };
  // One verification per chain and scope at a time on this instance, and no more chains at once
  // than the hash pool has threads (at least two).
  const verifications = new VerifyRuns<VerifyResponse>(Math.max(2, audit.hashThreads));
  const requesterOf = (actor: Actor) =>
    actor.type === 'user'
      ? `user:${actor.userId}`
      : actor.type === 'token'
        ? `token:${actor.tokenId}`
        : undefined;

  r.get(
    '/api/v1/orgs/:orgId/audit-events',
    {
      config: { permission: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: 'The audit log, newest first; filter by action, actor, target and time',
        params: OrgParams,
        querystring: ListQuery,
        response: {
          200: Type.Object({
            items: Type.Array(Type.Ref('AuditEvent')),
            nextCursor: Nullable(Type.String()),
          }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      return listPage({ kind: 'org', id: requestOrgId(request) }, request.query);
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/audit-events/export',
    {
      config: { command: exportAuditLog, writes: true },
      schema: {
        tags: ['audit'],
        summary: 'Download the audit log as CSV, JSON, JSON Lines or OCSF (streamed)',
        description:
          'JSON Lines is the verifiable form: one canonical entry per line, with signed checkpoints ' +
          '(`{"checkpoint": …}` lines) before the first entry (unless it starts the chain) and after the ' +
          'last. Check it offline with `gatehouse audit verify FILE --public-key KEY`. `ocsf`: one OCSF ' +
          "1.3.0 event per line (NDJSON) for SIEMs, the entry's own fields under `unmapped`. Not on the Free plan.",
        params: OrgParams,
        querystring: Type.Object(
          {
            format: Type.Optional(
              Type.Union(
                [Type.Literal('csv'), Type.Literal('json'), Type.Literal('jsonl'), Type.Literal('ocsf')],
                {
                  default: 'jsonl',
                },
              ),
            ),
            ...RangeQuery,
          },
          { additionalProperties: false },
        ),
        produces: Object.values(EXPORT_TYPES),
        response: {
          200: Type.String({ description: 'The file' }),
          ...problemResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (request, reply) => {
      const format = request.query.format ?? 'jsonl';
      const range = readRange(request.query);
      const plan = await commands.run(exportAuditLog, request.invocation(), { format, ...range });
      const orgId = requestOrgId(request);
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      reply
        .header('content-type', EXPORT_TYPES[format])
        .header(
          'content-disposition',
          `attachment; filename="gatehouse-audit-${orgId}-${stamp}.${EXPORT_EXTENSIONS[format]}"`,
        );
      // Sent as a byte stream (no serializer): the next batch is read only once the client has
      // taken the last one, so memory stays bounded for any length.
      const body = Readable.from(exportChunks(database.db, audit, orgId, plan, format), {
        objectMode: false,
        highWaterMark: 64 * 1024,
      });
      return reply.send(body as never);
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/audit-events/verify',
    {
      config: { permission: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: 'Recompute the hash chain and check it against the signed checkpoints',
        description:
          'ok, or the first sequence number that is not what was written (`firstBadSeq`) and why: ' +
          'hash_mismatch (edited), missing_entry (deleted), out_of_order (inserted or reordered), ' +
          'broken_link (edited and re-hashed), checkpoint_mismatch (rewritten), truncated (cut off the end), ' +
          'unauthenticated_entry (written around the application), bad_signature / unknown_key (a checkpoint), ' +
          'missing_head (the chain’s head record is gone). By default from the last checkpoint this ' +
          'installation signed (hourly, and at every export): the entries since, and that the entry it ' +
          'names is unchanged; `full=true` checks the whole chain. 429 rate_limited while too many ' +
          'verifications run on this server, or while one the caller started is still running.',
        params: OrgParams,
        querystring: Type.Object(
          {
            full: Type.Optional(
              Type.Boolean({
                default: false,
                description: 'Check the whole chain, not only since the last checkpoint',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: VerifyResult, ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => {
      const orgId = requestOrgId(request);
      const full = request.query.full === true;
      return verifications.run(
        `${orgId}:${full ? 'full' : 'since'}`,
        async () => {
          const chain = { kind: 'org' as const, id: orgId };
          if (!full) {
            const since = await audit.verify(database.db, chain, { sinceCheckpoint: true });
            if (since.ok) return { ...since, scope: 'since_checkpoint' as const };
            // Something is wrong: the whole chain is checked to name the first entry that is not
            // what was written (it may precede the checkpoint).
          }
          return { ...(await audit.verify(database.db, chain)), scope: 'full' as const };
        },
        requesterOf(request.actor),
      );
    },
  );

  r.get(
    '/api/v1/orgs/:orgId/audit-checkpoints',
    {
      config: { permission: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: 'Signed checkpoints of the audit log, newest first',
        description: 'The public keys are at GET /api/v1/audit-keys.',
        params: OrgParams,
        querystring: Type.Object({ ...PageQuery }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            items: Type.Array(Type.Ref('AuditCheckpoint')),
            nextCursor: Nullable(Type.String()),
          }),
          ...problemResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const { limit = 50, cursor } = request.query;
      const beforeSeq = decodeSeqCursor(cursor);
      const items = await listCheckpoints(
        database.db,
        { kind: 'org', id: requestOrgId(request) },
        { limit: limit + 1, ...(beforeSeq !== undefined ? { beforeSeq } : {}) },
      );
      return page(items, limit);
    },
  );

  r.post(
    '/api/v1/orgs/:orgId/audit-checkpoints',
    {
      config: { command: createAuditCheckpoint },
      schema: {
        tags: ['audit'],
        summary: 'Sign a checkpoint of the log’s head now',
        description:
          'Only after the entries since the last checkpoint verify (409 audit_verification_failed otherwise). ' +
          'The request itself is recorded as the next entry.',
        params: OrgParams,
        response: { 201: Type.Ref('AuditCheckpoint'), ...problemResponses(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const cp = await commands.run(createAuditCheckpoint, request.invocation(), {});
      return reply.status(201).send(audit.withChain('org', requestOrgId(request), cp));
    },
  );

  r.get(
    '/api/v1/audit-keys',
    {
      config: { public: true },
      schema: {
        tags: ['audit'],
        summary: 'Public keys that verify audit checkpoints',
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                keyId: Type.String({ description: 'RFC 7638 JWK thumbprint (SHA-256)' }),
                algorithm: Type.Literal('Ed25519'),
                publicKey: Type.String({ description: 'The raw 32-byte key, base64url (JWK x)' }),
                publicKeyPem: Type.String({ description: 'SPKI PEM' }),
                createdAt: Type.String({ format: 'date-time' }),
                current: Type.Boolean({ description: 'The key this instance signs with' }),
              }),
            ),
          }),
        },
      },
    },
    async () => ({ items: await listPublishedKeys(database.db, audit) }),
  );

  r.get(
    '/api/v1/me/audit-events',
    {
      config: { authenticated: true, sessionOnly: true },
      schema: {
        tags: ['audit'],
        summary:
          'Your account’s own security log (sign-ins, sessions, password and profile changes), newest first',
        querystring: ListQuery,
        response: {
          200: Type.Object({
            items: Type.Array(Type.Ref('AuditEvent')),
            nextCursor: Nullable(Type.String()),
          }),
          ...problemResponses(400, 401),
        },
      },
    },
    async (request) => {
      if (request.actor.type !== 'user') throw new UnauthenticatedError();
      return listPage({ kind: 'user', id: request.actor.userId }, request.query);
    },
  );
}
