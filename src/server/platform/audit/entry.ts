import { hash as digest } from 'node:crypto';
import type { AuditTarget } from '../actor.ts';
import { canonicalize } from './canonical.ts';

/**
 * Whose log an entry belongs to: an organization's, a user's own account log, or the
 * installation's (operator and system changes that concern neither).
 */
export type ChainKind = 'org' | 'user' | 'instance';

/** The installation's own chain id. */
export const INSTANCE_CHAIN_ID = '00000000-0000-0000-0000-000000000000';

export type AuditActorType = 'user' | 'token' | 'scim' | 'system' | 'anonymous';

export interface AuditActor {
  type: AuditActorType;
  id: string | null;
  email: string | null;
  /**
   * The personal API token a user acted through. Present only then: entries without it hash as
   * they always have.
   */
  tokenId?: string;
}

export type { AuditTarget };

/** The target as it is hashed and stored: the words only when they say something. */
export function auditTarget(target: AuditTarget): AuditTarget {
  const out: AuditTarget = { type: target.type, id: target.id };
  if (target.name) out.name = target.name;
  if (target.email) out.email = target.email;
  return out;
}

/**
 * One audit entry as it is hashed, stored, listed and exported. The hash is SHA-256 (hex) over
 * the RFC 8785 canonical JSON of every other field, `prevHash` included; the chain's key is
 * `orgId` for an organization's log and `userId` for a user's account log.
 */
export interface AuditEntry {
  id: string;
  orgId?: string;
  userId?: string;
  instanceId?: string;
  seq: number;
  occurredAt: string;
  actor: AuditActor;
  action: string;
  target: AuditTarget;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  prevHash: string;
  hash: string;
}

export type UnhashedEntry = Omit<AuditEntry, 'hash'>;

/** The `prevHash` of a chain's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

export function chainKey(kind: ChainKind): 'orgId' | 'userId' | 'instanceId' {
  return kind === 'org' ? 'orgId' : kind === 'user' ? 'userId' : 'instanceId';
}

export function sha256Hex(data: string): string {
  return digest('sha256', data, 'hex');
}

/** The canonical bytes an entry's hash covers (everything but `hash`). */
export function canonicalBody(entry: UnhashedEntry | AuditEntry): string {
  const { hash: _omit, ...body } = entry as AuditEntry;
  return canonicalize(body);
}

export function entryHash(entry: UnhashedEntry | AuditEntry): string {
  return sha256Hex(canonicalBody(entry));
}

/**
 * An entry as one JSON Lines line: the canonical JSON of the whole entry, `hash` included. Since
 * `hash` sorts between `before` and `id`, the line is the hashed body with `,"hash":"…"` inserted
 * there; a verifier can take it back out and hash the exact bytes.
 */
export function entryLine(entry: AuditEntry): string {
  return canonicalize(entry);
}
