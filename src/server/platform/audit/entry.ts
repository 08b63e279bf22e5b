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

/**
 * `operator`: someone with the installation's own database acting through the CLI (no id, no
 * email: the entry's `after.reason` says why). The type is hashed as the string it is, so adding
 * one leaves every existing entry's hash as it was.
 */
export type AuditActorType = 'user' | 'token' | 'scim' | 'system' | 'operator' | 'anonymous';

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
  const fast = canonicalEntryBody(entry as AuditEntry);
  if (fast !== undefined) return fast;
  const { hash: _omit, ...body } = entry as AuditEntry;
  return canonicalize(body);
}

const ENTRY_KEYS = new Set([
  'id',
  'orgId',
  'userId',
  'instanceId',
  'seq',
  'occurredAt',
  'actor',
  'action',
  'target',
  'before',
  'after',
  'ip',
  'userAgent',
  'requestId',
  'prevHash',
  'hash',
]);
const ACTOR_KEYS = new Set(['type', 'id', 'email', 'tokenId']);
const TARGET_KEYS = new Set(['type', 'id', 'name', 'email']);

function onlyKeys(value: unknown, allowed: ReadonlySet<string>): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) {
    return false;
  }
  for (const key of Object.keys(value)) if (!allowed.has(key)) return false;
  return true;
}

/** One member, `,"key":value`, or nothing for an absent one (JCS leaves `undefined` out). */
function member(key: string, value: unknown, first: boolean): string {
  if (value === undefined) return '';
  const encoded = typeof value === 'string' ? JSON.stringify(value) : canonicalize(value);
  return `${first ? '' : ','}"${key}":${encoded}`;
}

/**
 * The same bytes `canonicalize` gives for an entry of the known shape, without sorting keys at
 * run time: members written in RFC 8785 order (UTF-16 code units), the free-form `before` and
 * `after` through `canonicalize`. Verification hashes every stored entry again, so this is its
 * hot path. Anything of another shape (an unknown key, a non-plain object) is left to the
 * general encoder: undefined here. A property test holds the two equal.
 */
function canonicalEntryBody(e: AuditEntry): string | undefined {
  if (!onlyKeys(e, ENTRY_KEYS) || !onlyKeys(e.actor, ACTOR_KEYS) || !onlyKeys(e.target, TARGET_KEYS)) {
    return undefined;
  }
  const a = e.actor;
  const t = e.target;
  let actor = member('email', a.email, true);
  actor += member('id', a.id, actor === '');
  actor += member('tokenId', a.tokenId, actor === '');
  actor += member('type', a.type, actor === '');
  let target = member('email', t.email, true);
  target += member('id', t.id, target === '');
  target += member('name', t.name, target === '');
  target += member('type', t.type, target === '');
  let out = member('action', e.action, true);
  out += `${out === '' ? '' : ','}"actor":{${actor}}`;
  out += member('after', e.after, false);
  out += member('before', e.before, false);
  out += member('id', e.id, false);
  out += member('instanceId', e.instanceId, false);
  out += member('ip', e.ip, false);
  out += member('occurredAt', e.occurredAt, false);
  out += member('orgId', e.orgId, false);
  out += member('prevHash', e.prevHash, false);
  out += member('requestId', e.requestId, false);
  out += member('seq', e.seq, false);
  out += `,"target":{${target}}`;
  out += member('userAgent', e.userAgent, false);
  out += member('userId', e.userId, false);
  return `{${out}}`;
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
