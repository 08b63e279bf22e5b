import type { auditEvents } from '../db/schema.ts';
import { type AuditActor, type AuditEntry, type AuditTarget, type ChainKind, chainKey } from './entry.ts';

// How a stored audit row becomes an entry: shared by the log and the hashing workers, which load
// this module without the rest of the log.

export type AuditRow = typeof auditEvents.$inferSelect;

/** The action retention records when it removes old entries (see the audit-log module). */
export const PRUNED_ACTION = 'audit.pruned';

function actorFromRow(row: AuditRow): AuditActor {
  const actor: AuditActor = {
    type: row.actorType as AuditActor['type'],
    id: row.actorId,
    email: row.actorEmail,
  };
  if (row.actorTokenId) actor.tokenId = row.actorTokenId;
  return actor;
}

function targetFromRow(row: AuditRow): AuditTarget {
  const target: AuditTarget = { type: row.targetType, id: row.targetId };
  if (row.targetName !== null) target.name = row.targetName;
  if (row.targetEmail !== null) target.email = row.targetEmail;
  return target;
}

/** The entry a stored row is: what is listed, exported and hashed. */
export function entryFromRow(kind: ChainKind, row: AuditRow): AuditEntry {
  return {
    id: row.id,
    [chainKey(kind)]: row.chainId,
    seq: row.seq,
    occurredAt: row.occurredAt.toISOString(),
    actor: actorFromRow(row),
    action: row.action,
    target: targetFromRow(row),
    before: row.before ?? null,
    after: row.after ?? null,
    ip: row.ip,
    userAgent: row.userAgent,
    requestId: row.requestId,
    prevHash: row.prevHash,
    hash: row.hash,
  } as AuditEntry;
}
