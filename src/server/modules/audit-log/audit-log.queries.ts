import { and, asc, desc, eq, gt, gte, inArray, like, lt, lte, type SQL, sql } from 'drizzle-orm';
import { type AuditEntry, type ChainKind, chainKey } from '../../platform/audit/entry.ts';
import { type Checkpoint, describePublicKey, parsePublicKey } from '../../platform/audit/keys.ts';
import { type AuditLog, checkpointFromRow, entryFromRow } from '../../platform/audit/log.ts';
import type { Executor } from '../../platform/db/client.ts';
import { auditCheckpoints, auditEvents, auditKeys } from '../../platform/db/schema.ts';

export interface AuditFilter {
  /** An action (`member.invited`), or every action of a resource (`member.*`). */
  action?: string;
  actorId?: string;
  targetId?: string;
  from?: Date;
  to?: Date;
}

/**
 * One page of a chain's entries, newest first. Times never go back within a chain, so a time range
 * is turned into a sequence range first and every filter runs on an index ending in `seq`.
 */
export async function listAuditEntries(
  executor: Executor,
  audit: AuditLog,
  chain: { kind: ChainKind; id: string },
  filter: AuditFilter,
  page: { limit: number; beforeSeq?: number },
): Promise<AuditEntry[]> {
  const conditions: SQL[] = [eq(auditEvents.chainId, chain.id)];
  if (filter.from) {
    const first = await audit.seqAt(executor, chain.id, { from: filter.from });
    if (first === undefined) return [];
    conditions.push(gte(auditEvents.seq, first));
  }
  if (filter.to) {
    const last = await audit.seqAt(executor, chain.id, { before: filter.to });
    if (last === undefined) return [];
    conditions.push(lte(auditEvents.seq, last));
  }
  if (page.beforeSeq !== undefined) conditions.push(lt(auditEvents.seq, page.beforeSeq));
  if (filter.action?.endsWith('.*')) {
    conditions.push(like(auditEvents.action, `${filter.action.slice(0, -1).replace(/[\\%_]/g, '\\$&')}%`));
  } else if (filter.action) conditions.push(eq(auditEvents.action, filter.action));
  if (filter.actorId) conditions.push(eq(auditEvents.actorId, filter.actorId));
  if (filter.targetId) conditions.push(eq(auditEvents.targetId, filter.targetId));
  const rows = await executor
    .select()
    .from(auditEvents)
    .where(and(...conditions))
    .orderBy(desc(auditEvents.seq))
    .limit(page.limit);
  return rows.map((row) => entryFromRow(chain.kind, row));
}

/** A chain's checkpoints, newest first. */
export async function listCheckpoints(
  executor: Executor,
  chain: { kind: ChainKind; id: string },
  page: { limit: number; beforeSeq?: number },
): Promise<Checkpoint[]> {
  const rows = await executor
    .select()
    .from(auditCheckpoints)
    .where(
      and(
        eq(auditCheckpoints.chainId, chain.id),
        page.beforeSeq !== undefined ? lt(auditCheckpoints.seq, page.beforeSeq) : undefined,
      ),
    )
    .orderBy(desc(auditCheckpoints.seq), asc(auditCheckpoints.keyId))
    .limit(page.limit);
  return rows.map((r) => ({ [chainKey(chain.kind)]: r.chainId, ...checkpointFromRow(r) }));
}

/** Most entries `readOrgEntriesAfter` returns at once. */
export const MAX_ENTRIES_AFTER = 1_000;

/**
 * An organization's entries after `afterSeq`, oldest first, at most `limit` (up to 1,000): what a
 * stream of the log (the `audit.entry` event) reads, a batch at a time, from where it got to.
 * Entries retention removed are skipped; an empty answer means the stream is at the head.
 */
export async function readOrgEntriesAfter(
  executor: Executor,
  orgId: string,
  afterSeq: number,
  limit = 500,
): Promise<AuditEntry[]> {
  const rows = await executor
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.chainId, orgId), gt(auditEvents.seq, afterSeq)))
    .orderBy(asc(auditEvents.seq))
    .limit(Math.max(1, Math.min(limit, MAX_ENTRIES_AFTER)));
  return rows.map((row) => entryFromRow('org', row));
}

/** A public key that verifies checkpoints, as GET /api/v1/audit-keys lists it. */
export interface PublishedKey {
  keyId: string;
  algorithm: 'Ed25519';
  publicKey: string;
  publicKeyPem: string;
  createdAt: string;
  current: boolean;
}

/**
 * Every key that has signed checkpoints of this installation, this instance's included (published
 * first, if it was not): what `gatehouse audit verify --public-key` takes, whole. A row that is not
 * a valid key, or whose id is not its own thumbprint, is never listed.
 */
export async function listPublishedKeys(executor: Executor, audit: AuditLog): Promise<PublishedKey[]> {
  await audit.registerKey(executor);
  const rows = await executor.select().from(auditKeys).orderBy(auditKeys.createdAt);
  const items: PublishedKey[] = [];
  for (const row of rows) {
    try {
      const info = describePublicKey(parsePublicKey(row.publicKey));
      if (info.keyId !== row.keyId) continue;
      items.push({
        ...info,
        createdAt: row.createdAt.toISOString(),
        current: row.keyId === audit.signingKey.keyId,
      });
    } catch {
      // not a key: never served
    }
  }
  return items;
}

/**
 * An organization's log over a time range `[from, to)` as a sequence range, with its entries
 * counted by action (most frequent first): what a compliance report's audit excerpt states.
 * `fromSeq`/`toSeq` are null when no entry falls in the range.
 */
export async function auditRangeFigures(
  executor: Executor,
  audit: AuditLog,
  orgId: string,
  range: { from: Date; to: Date },
): Promise<{
  fromSeq: number | null;
  toSeq: number | null;
  entries: number;
  byAction: { action: string; count: number }[];
}> {
  const fromSeq = await audit.seqAt(executor, orgId, { from: range.from });
  const toSeq = await audit.seqAt(executor, orgId, { before: range.to });
  if (fromSeq === undefined || toSeq === undefined || fromSeq > toSeq) {
    return { fromSeq: null, toSeq: null, entries: 0, byAction: [] };
  }
  const rows = await executor
    .select({ action: auditEvents.action, count: sql<number>`count(*)::int` })
    .from(auditEvents)
    .where(and(eq(auditEvents.chainId, orgId), gte(auditEvents.seq, fromSeq), lte(auditEvents.seq, toSeq)))
    .groupBy(auditEvents.action)
    .orderBy(desc(sql`count(*)`), asc(auditEvents.action));
  return { fromSeq, toSeq, entries: rows.reduce((n, r) => n + r.count, 0), byAction: rows };
}

/**
 * An organization's entries with one of `actions` within a sequence range, oldest first, at most
 * `limit` (the excerpts of a compliance report: provisioning, security events).
 */
export async function listOrgEntriesInRange(
  executor: Executor,
  orgId: string,
  range: { fromSeq: number; toSeq: number },
  actions: readonly string[],
  limit: number,
): Promise<AuditEntry[]> {
  if (actions.length === 0) return [];
  const rows = await executor
    .select()
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.chainId, orgId),
        gte(auditEvents.seq, range.fromSeq),
        lte(auditEvents.seq, range.toSeq),
        inArray(auditEvents.action, [...actions]),
      ),
    )
    .orderBy(asc(auditEvents.seq))
    .limit(limit);
  return rows.map((row) => entryFromRow('org', row));
}

/**
 * The earliest signed checkpoint of an organization's log at or after entry `seq`: the one that
 * vouches for every entry up to `seq` (a range ending there). Undefined while none does yet.
 */
export async function findCheckpointCovering(
  executor: Executor,
  orgId: string,
  seq: number,
): Promise<Checkpoint | undefined> {
  const [row] = await executor
    .select()
    .from(auditCheckpoints)
    .where(and(eq(auditCheckpoints.chainId, orgId), gte(auditCheckpoints.seq, seq)))
    .orderBy(asc(auditCheckpoints.seq), asc(auditCheckpoints.keyId))
    .limit(1);
  return row ? { orgId, ...checkpointFromRow(row) } : undefined;
}
