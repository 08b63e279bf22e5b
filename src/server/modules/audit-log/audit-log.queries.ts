import { and, asc, desc, eq, gt, gte, like, lt, lte, type SQL } from 'drizzle-orm';
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
