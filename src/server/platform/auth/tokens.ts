import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { and, eq, isNull, lt, or, sql } from 'drizzle-orm';
import type { Permission } from '../../../contracts/permissions.ts';
import {
  AUTOMATION_TOKEN_PREFIX,
  NEVER_BY_TOKEN,
  PERSONAL_TOKEN_PREFIX,
  scopePermissions,
  TOKEN_CHECKSUM_LENGTH,
  TOKEN_LENGTH,
  TOKEN_RANDOM_LENGTH,
  type TokenKind,
  type TokenScope,
} from '../../../contracts/tokens.ts';
import type { InvalidatingCache } from '../cache/cache.ts';
import type { CommandScope } from '../command-scope.ts';
import type { Db, Executor } from '../db/client.ts';
import { liveToken } from '../db/live.ts';
import { apiTokens } from '../db/schema.ts';
import { hashSecret, hashSecretHex } from './secrets.ts';

export const TOKENS_CACHE = 'api_tokens';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE62_CHAR = /^[0-9A-Za-z]+$/;

/** Last-used times are written at most this often per token: no database write per request. */
const TOUCH_INTERVAL_MS = 60_000;
/** Usage entries kept per automation token, of reads and of other requests each; older ones are deleted as new ones arrive. */
export const USAGE_LOG_LIMIT = 1_000;
/** Usage entries are written in batches, at least this often. */
const USAGE_FLUSH_MS = 1_000;
const USAGE_FLUSH_BATCH = 500;
/** Entries held while the database does not take them; past this the oldest are dropped (and logged). */
const USAGE_BUFFER_MAX = 20_000;
/**
 * Bearer credentials that matched no live token, remembered for a while so that a flood of made-up
 * (well-formed, checksummed) tokens costs no database lookup each. Safe without invalidation: a new
 * token's value is random and shown only after it exists, so it cannot be remembered as unknown.
 */
const UNKNOWN_TTL_MS = 60_000;
const UNKNOWN_MAX = 10_000;

function base62(value: number, width: number): string {
  let out = '';
  let rest = value;
  for (let i = 0; i < width; i++) {
    out = BASE62[rest % 62]! + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

function checksum(body: string): string {
  return base62(crc32(body), TOKEN_CHECKSUM_LENGTH);
}

/** `length` uniformly random base62 characters (rejection sampling: no modulo bias). */
function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

export interface NewToken {
  /** The token itself: shown once, never stored. */
  token: string;
  tokenHash: Buffer;
  lastFour: string;
}

export function generateToken(kind: TokenKind): NewToken {
  const body =
    (kind === 'personal' ? PERSONAL_TOKEN_PREFIX : AUTOMATION_TOKEN_PREFIX) +
    randomBase62(TOKEN_RANDOM_LENGTH);
  const token = body + checksum(body);
  return { token, tokenHash: hashSecret(token), lastFour: token.slice(-4) };
}

/** The kind of a well-formed token (prefix, length, alphabet, checksum), or undefined. */
export function tokenKind(token: string): TokenKind | undefined {
  if (token.length !== TOKEN_LENGTH) return undefined;
  const kind = token.startsWith(PERSONAL_TOKEN_PREFIX)
    ? 'personal'
    : token.startsWith(AUTOMATION_TOKEN_PREFIX)
      ? 'automation'
      : undefined;
  if (!kind || !BASE62_CHAR.test(token.slice(4))) return undefined;
  const body = token.slice(0, -TOKEN_CHECKSUM_LENGTH);
  return checksum(body) === token.slice(-TOKEN_CHECKSUM_LENGTH) ? kind : undefined;
}

/** What a token can do given the permissions of the role it acts with: scope ∩ role, never the excluded. */
export function tokenPermissions(
  scopes: ReadonlySet<Permission>,
  role: ReadonlySet<Permission>,
): ReadonlySet<Permission> {
  const out = new Set<Permission>();
  for (const p of scopes) if (role.has(p) && !NEVER_BY_TOKEN.has(p)) out.add(p);
  return out;
}

export interface TokenEntry {
  id: string;
  kind: TokenKind;
  orgId: string;
  /** Owner (personal tokens). */
  userId: string | null;
  /** The role an automation token acts with. */
  roleId: string | null;
  name: string;
  /** What the token's scopes allow, before its role narrows them. */
  scopePermissions: ReadonlySet<Permission>;
  /** Only the `read` scope: safe methods only, whatever a route's permission (an export is a read; signing a checkpoint is not). */
  readOnly: boolean;
  expiresAt: number | null;
  /** Last use written to the database (ms). */
  persistedLastUsedAt: number;
  /** The last role set the token was narrowed by, and the result (the role's set is cached, so usually the same object). */
  memo?: { role: ReadonlySet<Permission>; effective: ReadonlySet<Permission> };
}

export interface UsageEntry {
  orgId: string;
  tokenId: string;
  at: Date;
  ip: string | null;
  method: string;
  route: string;
  status: number;
}

/** Requests alike in all but time, noted within one flush interval: one row, with the last time and a count. */
interface UsageRow extends UsageEntry {
  count: number;
}

/**
 * API tokens at request time: a bearer token → its live row, from an invalidating cache keyed by
 * the token's hash, so a token request costs no database round trip, while a revocation is seen
 * by the very next request on any instance. Also keeps last-used times (written at most once a
 * minute per token) and the automation tokens' usage log (written in batches).
 */
export class TokenService {
  private usage = new Map<string, UsageRow>();
  private flushing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private dropped = 0;
  /** Hashes of credentials that matched no live token → until when that answer stands. */
  private readonly unknown = new Map<string, number>();
  /** Database lookups of a bearer credential (cache misses), for metrics and tests. */
  lookups = 0;

  constructor(
    private readonly db: Db,
    private readonly cache: InvalidatingCache<TokenEntry>,
    private readonly onError: (err: unknown, msg: string) => void,
  ) {
    this.timer = setInterval(() => void this.flushUsage(), USAGE_FLUSH_MS);
    this.timer.unref();
  }

  /** The live token for a bearer credential, or undefined (malformed, unknown, revoked or expired alike). */
  async resolve(token: string, ip: string | null): Promise<TokenEntry | undefined> {
    if (!tokenKind(token)) return undefined;
    const key = hashSecretHex(token);
    const now = Date.now();
    const unknownUntil = this.unknown.get(key);
    if (unknownUntil !== undefined) {
      if (now < unknownUntil) return undefined;
      this.unknown.delete(key);
    }
    const entry = this.cache.get(key) ?? (await this.cache.load(key, () => this.load(key)));
    if (!entry) {
      // Oldest first out when full (a Map keeps insertion order).
      if (this.unknown.size >= UNKNOWN_MAX) this.unknown.delete(this.unknown.keys().next().value!);
      this.unknown.set(key, now + UNKNOWN_TTL_MS);
      return undefined;
    }
    if (entry.expiresAt !== null && now >= entry.expiresAt) return undefined;
    if (now - entry.persistedLastUsedAt > TOUCH_INTERVAL_MS) {
      entry.persistedLastUsedAt = now;
      const at = new Date(now);
      this.db
        .update(apiTokens)
        .set({ lastUsedAt: at, lastUsedIp: ip })
        .where(
          and(
            eq(apiTokens.orgId, entry.orgId),
            eq(apiTokens.id, entry.id),
            or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, at)),
          ),
        )
        .catch((err) => this.onError(err, 'could not record token use'));
    }
    return entry;
  }

  /** What the token may do when its role grants `role` (memoized per role set). */
  effective(entry: TokenEntry, role: ReadonlySet<Permission>): ReadonlySet<Permission> {
    if (entry.memo?.role === role) return entry.memo.effective;
    const effective = tokenPermissions(entry.scopePermissions, role);
    entry.memo = { role, effective };
    return effective;
  }

  private async load(hashHex: string): Promise<TokenEntry | undefined> {
    this.lookups++;
    const [row] = await this.db
      .select({
        id: apiTokens.id,
        kind: apiTokens.kind,
        orgId: apiTokens.orgId,
        userId: apiTokens.userId,
        roleId: apiTokens.roleId,
        name: apiTokens.name,
        scopes: apiTokens.scopes,
        expiresAt: apiTokens.expiresAt,
        lastUsedAt: apiTokens.lastUsedAt,
      })
      .from(apiTokens)
      .where(and(eq(apiTokens.tokenHash, Buffer.from(hashHex, 'hex')), isNull(apiTokens.revokedAt)));
    if (!row) return undefined;
    return {
      id: row.id,
      kind: row.kind as TokenKind,
      orgId: row.orgId,
      userId: row.userId,
      roleId: row.roleId,
      name: row.name,
      scopePermissions: scopePermissions(row.scopes as TokenScope[]),
      readOnly: !row.scopes.includes('write') && !row.scopes.includes('admin'),
      expiresAt: row.expiresAt?.getTime() ?? null,
      persistedLastUsedAt: row.lastUsedAt?.getTime() ?? 0,
    };
  }

  /**
   * Notes one automation-token request for the usage log (written within a second). Requests
   * alike in token, address, method, path and status within that second share one row and count.
   */
  recordUsage(entry: UsageEntry): void {
    const key = `${entry.tokenId} ${entry.ip} ${entry.method} ${entry.status} ${entry.route}`;
    const row = this.usage.get(key);
    if (row) {
      row.count++;
      row.at = entry.at;
      return;
    }
    if (this.usage.size >= USAGE_BUFFER_MAX) {
      this.usage.delete(this.usage.keys().next().value!);
      this.dropped++;
    }
    this.usage.set(key, { ...entry, count: 1 });
    if (this.usage.size >= USAGE_FLUSH_BATCH) void this.flushUsage();
  }

  /** Writes what is buffered; resolves once everything noted before the call is stored. */
  flushUsage(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writeUsage());
    return this.flushing;
  }

  private async writeUsage(): Promise<void> {
    if (this.dropped > 0) {
      this.onError(new Error(`${this.dropped} usage entries dropped`), 'token usage log fell behind');
      this.dropped = 0;
    }
    while (this.usage.size > 0) {
      const batch: UsageRow[] = [];
      for (const [key, row] of this.usage) {
        this.usage.delete(key);
        batch.push(row);
        if (batch.length === USAGE_FLUSH_BATCH) break;
      }
      try {
        await this.db.transaction(async (tx) => {
          // One statement per batch whatever its size, as parallel arrays. A token deleted with its
          // organization meanwhile takes its entries with it: the join skips them.
          const column = <T>(pick: (u: UsageRow) => T) => sql.param(batch.map(pick));
          await tx.execute(sql`INSERT INTO api_token_usage (org_id, token_id, at, ip, method, route, status, count)
            SELECT u.org_id, u.token_id, u.at, u.ip, u.method, u.route, u.status, u.count
            FROM unnest(${column((u) => u.orgId)}::uuid[], ${column((u) => u.tokenId)}::uuid[],
              ${column((u) => u.at.toISOString())}::timestamptz[],
              ${column((u) => u.ip)}::text[], ${column((u) => u.method)}::text[],
              ${column((u) => u.route)}::text[], ${column((u) => u.status)}::int[], ${column((u) => u.count)}::int[])
              WITH ORDINALITY AS u(org_id, token_id, at, ip, method, route, status, count, n)
            JOIN api_tokens t ON t.org_id = u.org_id AND t.id = u.token_id
            ORDER BY u.at, u.n`);
          const tokens = new Map(batch.map((u) => [u.tokenId, u.orgId]));
          await pruneUsage(tx, [...tokens.values()], [...tokens.keys()]);
        });
      } catch (err) {
        this.onError(err, 'could not write the token usage log');
        return;
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushUsage();
  }
}

/**
 * Keeps the newest USAGE_LOG_LIMIT reads (GET, HEAD) and, apart from them, the newest
 * USAGE_LOG_LIMIT other requests of each of these tokens: a token flooding the log with reads
 * cannot push out what it changed (or tried to).
 */
async function pruneUsage(tx: Executor, orgIds: string[], tokenIds: string[]): Promise<void> {
  await tx.execute(sql`WITH cut AS (
      SELECT t.org_id, t.id AS token_id, c.reads, (
        SELECT x.id FROM api_token_usage x
        WHERE x.org_id = t.org_id AND x.token_id = t.id AND (x.method IN ('GET', 'HEAD')) = c.reads
        ORDER BY x.id DESC OFFSET ${USAGE_LOG_LIMIT} LIMIT 1) AS below
      FROM unnest(${sql.param(orgIds)}::uuid[], ${sql.param(tokenIds)}::uuid[]) AS t(org_id, id)
      CROSS JOIN (VALUES (true), (false)) AS c(reads))
    DELETE FROM api_token_usage u USING cut
    WHERE u.org_id = cut.org_id AND u.token_id = cut.token_id AND (u.method IN ('GET', 'HEAD')) = cut.reads
      AND u.id <= cut.below`);
}

/** Moves an org's automation tokens from one role to another (the role is being deleted). */
export async function moveTokensToRole(
  ctx: CommandScope,
  orgId: string,
  fromRoleId: string,
  toRoleId: string,
): Promise<number> {
  const moved = await ctx.tx
    .update(apiTokens)
    .set({ roleId: toRoleId })
    .where(and(eq(apiTokens.orgId, orgId), eq(apiTokens.roleId, fromRoleId)))
    .returning({ tokenHash: apiTokens.tokenHash, revokedAt: apiTokens.revokedAt });
  const live = moved.filter((r) => r.revokedAt === null);
  for (const row of live) await ctx.invalidate(TOKENS_CACHE, row.tokenHash.toString('hex'));
  return live.length;
}

/** Live automation tokens acting with a role (a role in use is not deleted without a successor). */
export async function countRoleTokens(db: Executor, orgId: string, roleId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(apiTokens)
    .where(and(eq(apiTokens.orgId, orgId), eq(apiTokens.roleId, roleId), liveToken()));
  return row?.n ?? 0;
}
