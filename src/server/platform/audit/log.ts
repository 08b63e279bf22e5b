import type { KeyObject } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, gte, lte, sql } from 'drizzle-orm';
import type { Actor, ChangeRecord, RequestMeta } from '../command.ts';
import type { Database, Executor, Tx } from '../db/client.ts';
import { auditChains, auditCheckpoints, auditEvents, auditKeys } from '../db/schema.ts';
import {
  type AuditActor,
  type AuditEntry,
  type ChainKind,
  chainKey,
  entryHash,
  GENESIS_HASH,
  INSTANCE_CHAIN_ID,
  type UnhashedEntry,
} from './entry.ts';
import {
  type Checkpoint,
  entryMac,
  entryMacValid,
  parsePublicKey,
  type SigningKey,
  signCheckpoint,
} from './keys.ts';
import { ChainVerifier, checkpointProblem, type FailureReason, type VerifyReport } from './verify.ts';

export interface ChainRef {
  kind: ChainKind;
  id: string;
}

/** What a writer supplies; sequence, time and hashes are the chain's to assign. */
export interface NewEntry {
  chain: ChainRef;
  actor: AuditActor;
  action: string;
  target: { type: string; id: string };
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  meta: RequestMeta;
}

export type AuditRow = typeof auditEvents.$inferSelect;

const json = (value: Record<string, unknown> | null | undefined) => (value ? JSON.stringify(value) : null);

/** Keys whose values never enter the log, however a command spells its before/after. */
const SECRET_KEYS =
  /^(password|currentPassword|newPassword|passwordHash|token|tokenHash|secret|clientSecret|privateKey|signature|totpSecret|recoveryCodes)$/i;

function redact(value: Record<string, unknown> | null | undefined): Record<string, unknown> | null {
  if (!value) return null;
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    if (member === undefined) continue;
    if (SECRET_KEYS.test(key)) out[key] = '[redacted]';
    else if (member && typeof member === 'object' && !Array.isArray(member) && !(member instanceof Date)) {
      out[key] = redact(member as Record<string, unknown>);
    } else out[key] = member instanceof Date ? member.toISOString() : member;
  }
  return out;
}

export function auditActor(actor: Actor): AuditActor {
  switch (actor.type) {
    case 'user':
      return actor.tokenId
        ? { type: 'user', id: actor.userId, email: actor.email, tokenId: actor.tokenId }
        : { type: 'user', id: actor.userId, email: actor.email };
    case 'token':
      return { type: 'token', id: actor.tokenId, email: null };
    case 'system':
      return { type: 'system', id: null, email: null };
    default:
      return { type: 'anonymous', id: null, email: null };
  }
}

/** A stored checkpoint as signed (without its chain key; see `AuditLog.withChain`). */
export function checkpointFromRow(row: typeof auditCheckpoints.$inferSelect): Checkpoint {
  return {
    seq: row.seq,
    hash: row.hash,
    signedAt: row.signedAt.toISOString(),
    keyId: row.keyId,
    signature: row.signature,
  };
}

function actorFromRow(row: AuditRow): AuditActor {
  const actor: AuditActor = {
    type: row.actorType as AuditActor['type'],
    id: row.actorId,
    email: row.actorEmail,
  };
  if (row.actorTokenId) actor.tokenId = row.actorTokenId;
  return actor;
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
    target: { type: row.targetType, id: row.targetId },
    before: row.before ?? null,
    after: row.after ?? null,
    ip: row.ip,
    userAgent: row.userAgent,
    requestId: row.requestId,
    prevHash: row.prevHash,
    hash: row.hash,
  } as AuditEntry;
}

const VERIFY_BATCH = 5_000;

/** The action retention records when it removes old entries (see the audit-log module). */
export const PRUNED_ACTION = 'audit.pruned';

/**
 * The tamper-evident log: appends hash-chained entries in the caller's transaction, signs
 * checkpoints, verifies chains and prunes by retention.
 */
export class AuditLog {
  constructor(
    private readonly database: Database,
    readonly signingKey: SigningKey,
    private readonly logError: (err: unknown, msg: string) => void,
  ) {}

  private keyRegistered = false;

  /** Publishes this instance's public key (idempotent; several instances may have their own). */
  async registerKey(executor: Executor = this.database.db): Promise<void> {
    if (this.keyRegistered) return;
    await executor
      .insert(auditKeys)
      .values({ keyId: this.signingKey.keyId, algorithm: 'Ed25519', publicKey: this.signingKey.publicKey })
      .onConflictDoNothing();
    this.keyRegistered = true;
  }

  /** Every key that has signed checkpoints here, this instance's included. */
  async trustedKeys(executor: Executor = this.database.db): Promise<Map<string, KeyObject>> {
    const rows = await executor.select().from(auditKeys);
    const keys = new Map<string, KeyObject>([
      [this.signingKey.keyId, parsePublicKey(this.signingKey.publicKey)],
    ]);
    for (const row of rows) {
      if (!keys.has(row.keyId)) {
        try {
          keys.set(row.keyId, parsePublicKey(row.publicKey));
        } catch (err) {
          this.logError(err, `audit key ${row.keyId} is not a valid Ed25519 key`);
        }
      }
    }
    return keys;
  }

  /**
   * Appends entries in the caller's transaction. Each chain's head row is locked (chains in a
   * fixed order, so two transactions never wait on each other crosswise) until commit: writers
   * to one chain take turns, sequence numbers have no gap, and no two entries share a parent.
   */
  async append(tx: Tx, entries: readonly NewEntry[]): Promise<AuditEntry[]> {
    const byChain = new Map<string, NewEntry[]>();
    for (const e of entries) {
      const list = byChain.get(e.chain.id);
      if (list) list.push(e);
      else byChain.set(e.chain.id, [e]);
    }
    const written: AuditEntry[] = [];
    for (const chainId of [...byChain.keys()].sort()) {
      const group = byChain.get(chainId)!;
      const kind = group[0]!.chain.kind;
      const now = new Date();
      const [head] = await tx
        .insert(auditChains)
        .values({ chainId, kind, headSeq: group.length, headHash: GENESIS_HASH, headAt: now })
        .onConflictDoUpdate({
          target: auditChains.chainId,
          set: { headSeq: sql`${auditChains.headSeq} + ${group.length}` },
        })
        .returning({
          headSeq: auditChains.headSeq,
          headHash: auditChains.headHash,
          headAt: auditChains.headAt,
        });
      // Times never go back within a chain (instances' clocks may differ a little): a time range
      // is then a range of sequence numbers.
      const at = new Date(Math.max(now.getTime(), head!.headAt.getTime())).toISOString();
      let seq = head!.headSeq - group.length;
      let prevHash = head!.headHash;
      const rows: (typeof auditEvents.$inferInsert)[] = [];
      for (const e of group) {
        seq++;
        const unhashed: UnhashedEntry = {
          id: randomUUID(),
          [chainKey(kind)]: chainId,
          seq,
          occurredAt: at,
          actor: e.actor.tokenId
            ? { type: e.actor.type, id: e.actor.id, email: e.actor.email, tokenId: e.actor.tokenId }
            : { type: e.actor.type, id: e.actor.id, email: e.actor.email },
          action: e.action,
          target: { type: e.target.type, id: e.target.id },
          before: redact(e.before),
          after: redact(e.after),
          ip: e.meta.ip,
          userAgent: e.meta.userAgent,
          requestId: e.meta.requestId,
          prevHash,
        };
        const hash = entryHash(unhashed);
        const entry = { ...unhashed, hash } as AuditEntry;
        written.push(entry);
        rows.push({
          chainId,
          seq,
          id: entry.id,
          occurredAt: new Date(at),
          actorType: entry.actor.type,
          actorId: entry.actor.id,
          actorEmail: entry.actor.email,
          actorTokenId: entry.actor.tokenId ?? null,
          action: entry.action,
          targetType: entry.target.type,
          targetId: entry.target.id,
          before: entry.before,
          after: entry.after,
          ip: entry.ip,
          userAgent: entry.userAgent,
          requestId: entry.requestId,
          prevHash,
          hash,
          mac: entryMac(this.signingKey, hash),
          macKeyId: this.signingKey.keyId,
        });
        prevHash = hash;
      }
      // The entries and the new head in one statement (one round trip fewer per command).
      const values = sql.join(
        rows.map(
          (
            r,
          ) => sql`(${r.chainId}::uuid, ${r.seq}, ${r.id}::uuid, ${at}::timestamptz, ${r.actorType}, ${r.actorId},
            ${r.actorEmail}, ${r.actorTokenId ?? null}::uuid, ${r.action}, ${r.targetType}, ${r.targetId}, ${json(r.before)}::jsonb,
            ${json(r.after)}::jsonb, ${r.ip}, ${r.userAgent}, ${r.requestId}, ${r.prevHash}, ${r.hash}, ${r.mac},
            ${r.macKeyId})`,
        ),
        sql`, `,
      );
      await tx.execute(sql`WITH entries AS (
          INSERT INTO audit_events (chain_id, seq, id, occurred_at, actor_type, actor_id, actor_email, actor_token_id, action,
            target_type, target_id, before, after, ip, user_agent, request_id, prev_hash, hash, mac, mac_key_id)
          VALUES ${values})
        UPDATE audit_chains SET head_hash = ${prevHash}, head_at = ${at}::timestamptz WHERE chain_id = ${chainId}::uuid`);
    }
    return written;
  }

  /** The entry a command's change record becomes, in its one chain. */
  entryFor(change: ChangeRecord, meta: RequestMeta): NewEntry {
    return {
      chain: chainOf(change),
      actor: auditActor(change.actor),
      action: change.action,
      target: change.target,
      before: change.before ?? null,
      after: change.after ?? null,
      meta,
    };
  }

  /** Appends in a transaction of its own (events that are not a command: a refused request). */
  async appendNow(entries: readonly NewEntry[]): Promise<AuditEntry[]> {
    return this.database.db.transaction((tx) => this.append(tx, entries));
  }

  async chainHead(executor: Executor, chainId: string) {
    const [row] = await executor.select().from(auditChains).where(eq(auditChains.chainId, chainId));
    return row;
  }

  /** Entries `fromSeq..toSeq` in order, read in batches (bounded memory for any length). */
  async *readEntries(
    executor: Executor,
    chainId: string,
    range: { fromSeq: number; toSeq: number },
    batch = 2_000,
  ): AsyncGenerator<AuditRow[]> {
    let next = range.fromSeq;
    while (next <= range.toSeq) {
      const rows = await executor
        .select()
        .from(auditEvents)
        .where(
          and(
            eq(auditEvents.chainId, chainId),
            gte(auditEvents.seq, next),
            lte(auditEvents.seq, range.toSeq),
          ),
        )
        .orderBy(asc(auditEvents.seq))
        .limit(batch);
      if (rows.length === 0) return;
      yield rows;
      next = rows[rows.length - 1]!.seq + 1;
    }
  }

  async checkpoints(executor: Executor, chainId: string, fromSeq = 0): Promise<Checkpoint[]> {
    const rows = await executor
      .select()
      .from(auditCheckpoints)
      .where(and(eq(auditCheckpoints.chainId, chainId), gte(auditCheckpoints.seq, fromSeq)))
      .orderBy(asc(auditCheckpoints.seq));
    return rows.map(checkpointFromRow);
  }

  /** A checkpoint with its chain key, as served and exported. */
  withChain(kind: ChainKind, chainId: string, cp: Checkpoint): Checkpoint {
    return { [chainKey(kind)]: chainId, ...cp } as Checkpoint;
  }

  /**
   * Verifies a chain up to `toSeq` (default: the head, which must then match the chain's record)
   * against every signed checkpoint in range. From its anchor (the start, or the checkpoint
   * retention left), or with `sinceCheckpoint` from the latest valid checkpoint at or before
   * `toSeq` (what signing a new checkpoint needs: the entries since the last one).
   */
  async verify(
    executor: Executor,
    chain: ChainRef,
    options: { toSeq?: number; sinceCheckpoint?: boolean } = {},
  ): Promise<VerifyReport> {
    const head = await this.chainHead(executor, chain.id);
    if (!head) return new ChainVerifier({ seq: 0, hash: GENESIS_HASH, signed: true }).finish();
    const whole = options.toSeq === undefined;
    const end = options.toSeq ?? head.headSeq;
    const keys = await this.trustedKeys(executor);
    const valid: Checkpoint[] = [];
    const bad: Array<{ cp: Checkpoint; reason: FailureReason; detail: string }> = [];
    for (const cp of await this.checkpoints(executor, chain.id, head.startSeq - 1)) {
      // Checking the whole chain, a checkpoint past the recorded head means the end was cut off
      // (and the head wound back): it stays in, to be reported as truncation.
      if (cp.seq > end && !whole) continue;
      const problem = checkpointProblem(keys, chain.kind, chain.id, cp);
      if (problem) bad.push({ cp, ...problem });
      else valid.push(cp);
    }
    // What this installation signed itself is what it builds on (an anchor, or skipping the
    // authenticator check before it): a key merely listed in the database could be anyone's.
    const own = valid.filter((cp) => cp.keyId === this.signingKey.keyId);
    let anchor: { seq: number; hash: string; signed: boolean } | undefined;
    if (options.sinceCheckpoint && own.length > 0) {
      const latest = own[own.length - 1]!;
      anchor = { seq: latest.seq, hash: latest.hash, signed: true };
    } else if (head.startSeq <= 1) anchor = { seq: 0, hash: GENESIS_HASH, signed: true };
    else {
      const cut = own.find((cp) => cp.seq === head.startSeq - 1);
      if (cut) anchor = { seq: cut.seq, hash: cut.hash, signed: true };
    }
    const verifier = new ChainVerifier(anchor);
    for (const { cp, reason, detail } of bad) {
      if (!anchor || cp.seq > anchor.seq) verifier.fail(cp.seq, reason, detail);
    }
    for (const cp of valid) if (!anchor || cp.seq > anchor.seq) verifier.addCheckpoint(cp);
    const fromSeq = anchor ? anchor.seq + 1 : head.startSeq;
    const lastSigned = own.reduce((max, cp) => Math.max(max, cp.seq <= end ? cp.seq : 0), 0);
    /** The latest retention record seen: what the chain's start must agree with. */
    let pruned: { through: unknown; anchorHash: unknown } | undefined;
    for await (const rows of this.readEntries(executor, chain.id, { fromSeq, toSeq: end }, VERIFY_BATCH)) {
      for (const row of rows) {
        verifier.push(row.seq, row.prevHash, row.hash, entryHash(entryFromRow(chain.kind, row)));
        // Past the last signed checkpoint nothing but this key vouches for an entry: it must
        // carry this installation's authenticator (a chain extended through SQL has none).
        if (row.seq > lastSigned && !verifier.failed) this.checkAuthenticator(verifier, row);
        if (row.action === PRUNED_ACTION) {
          const after = row.after as { removedThroughSeq?: unknown; anchor?: { hash?: unknown } } | null;
          pruned = { through: after?.removedThroughSeq, anchorHash: after?.anchor?.hash };
        }
      }
      if (verifier.failed) break;
    }
    if (whole && head.startSeq > 1 && !options.sinceCheckpoint) {
      // Retention moves the start and records it in the same transaction; a start moved without
      // that record (or past it) means entries were deleted another way.
      const anchorHash = anchor?.hash;
      if (!pruned || pruned.through !== head.startSeq - 1 || pruned.anchorHash !== anchorHash) {
        const from =
          typeof pruned?.through === 'number' && pruned.through < head.startSeq ? pruned.through + 1 : 1;
        verifier.fail(
          from,
          'missing_entry',
          `entries ${from} to ${head.startSeq - 1} are gone, but retention did not remove them`,
        );
      }
    }
    return verifier.finish(whole ? { seq: head.headSeq, hash: head.headHash } : { seq: end });
  }

  private checkAuthenticator(verifier: ChainVerifier, row: AuditRow): void {
    if (row.macKeyId !== this.signingKey.keyId) {
      verifier.fail(
        row.seq,
        'unauthenticated_entry',
        `entry ${row.seq} was written under key ${row.macKeyId}, which this instance does not hold ` +
          '(instances sharing a database must share AUDIT_SIGNING_KEY)',
      );
    } else if (!entryMacValid(this.signingKey, row.hash, row.mac)) {
      verifier.fail(
        row.seq,
        'unauthenticated_entry',
        `entry ${row.seq} was not written by this installation`,
      );
    }
  }

  /**
   * Verifies a whole chain on one snapshot of the database (the head, the checkpoints and the
   * entries as of one instant), so a write landing meanwhile cannot look like tampering.
   */
  async verifySnapshot(chain: ChainRef): Promise<VerifyReport> {
    return this.database.db.transaction((tx) => this.verify(tx, chain), {
      isolationLevel: 'repeatable read',
      accessMode: 'read only',
    });
  }

  /**
   * A signed checkpoint for entry `seq`, made in the caller's transaction unless one by this key
   * exists. Nothing is signed without first verifying the entries since the last checkpoint: a
   * signature never vouches for a chain that was already altered. Undefined when that check fails.
   */
  async ensureCheckpoint(tx: Tx, chain: ChainRef, seq: number): Promise<Checkpoint | undefined> {
    const [existing] = await tx
      .select()
      .from(auditCheckpoints)
      .where(
        and(
          eq(auditCheckpoints.chainId, chain.id),
          eq(auditCheckpoints.seq, seq),
          eq(auditCheckpoints.keyId, this.signingKey.keyId),
        ),
      );
    if (existing) return this.withChain(chain.kind, chain.id, checkpointFromRow(existing));
    const report = await this.verify(tx, chain, { toSeq: seq, sinceCheckpoint: true });
    if (!report.ok || report.headSeq !== seq || !report.headHash) {
      this.logError(
        new Error(report.detail ?? 'nothing to sign'),
        `audit chain ${chain.kind}:${chain.id} failed verification; no checkpoint signed for entry ${seq}`,
      );
      return undefined;
    }
    await this.registerKey(tx);
    const cp = signCheckpoint(this.signingKey, chain.kind, chain.id, {
      seq,
      hash: report.headHash,
      signedAt: new Date().toISOString(),
    });
    await tx
      .insert(auditCheckpoints)
      .values({
        chainId: chain.id,
        seq,
        hash: cp.hash,
        signedAt: new Date(cp.signedAt),
        keyId: cp.keyId,
        signature: cp.signature,
      })
      .onConflictDoNothing();
    await tx
      .update(auditChains)
      .set({ checkpointedSeq: sql`greatest(${auditChains.checkpointedSeq}, ${seq})` })
      .where(eq(auditChains.chainId, chain.id));
    return cp;
  }

  /**
   * Signs the head of every chain that grew since its last checkpoint (the periodic job). Safe to
   * run on several instances at once: each chain is taken by one of them.
   */
  async checkpointAll(): Promise<number> {
    let signed = 0;
    const stale = await this.database.db
      .select({ chainId: auditChains.chainId, kind: auditChains.kind })
      .from(auditChains)
      .where(sql`${auditChains.checkpointedSeq} < ${auditChains.headSeq}`);
    for (const { chainId, kind } of stale) {
      try {
        await this.database.db.transaction(async (tx) => {
          const [head] = await tx
            .select({ headSeq: auditChains.headSeq })
            .from(auditChains)
            .where(eq(auditChains.chainId, chainId))
            .for('update', { skipLocked: true });
          if (!head) return;
          if (await this.ensureCheckpoint(tx, { kind: kind as ChainKind, id: chainId }, head.headSeq))
            signed++;
        });
      } catch (err) {
        this.logError(err, `could not checkpoint audit chain ${chainId}`);
      }
    }
    return signed;
  }

  /** The last entry at or before a time (a time range is a sequence range: times never go back). */
  async seqAt(
    executor: Executor,
    chainId: string,
    bound: { before?: Date; from?: Date },
  ): Promise<number | undefined> {
    if (bound.before) {
      const [row] = await executor
        .select({ seq: auditEvents.seq })
        .from(auditEvents)
        .where(and(eq(auditEvents.chainId, chainId), sql`${auditEvents.occurredAt} < ${bound.before}`))
        .orderBy(desc(auditEvents.seq))
        .limit(1);
      return row?.seq;
    }
    const [row] = await executor
      .select({ seq: auditEvents.seq })
      .from(auditEvents)
      .where(and(eq(auditEvents.chainId, chainId), gte(auditEvents.occurredAt, bound.from!)))
      .orderBy(asc(auditEvents.seq))
      .limit(1);
    return row?.seq;
  }
}

/** Which chain a command's record goes to: its org's, else the user's own account log. */
export function chainOf(change: ChangeRecord): ChainRef {
  if (change.orgId) return { kind: 'org', id: change.orgId };
  if (change.actor.type === 'user') return { kind: 'user', id: change.actor.userId };
  if (change.target.type === 'user') return { kind: 'user', id: change.target.id };
  return { kind: 'instance', id: INSTANCE_CHAIN_ID };
}
