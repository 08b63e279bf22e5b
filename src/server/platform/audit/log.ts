import type { KeyObject } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { and, asc, desc, eq, gte, lte, sql } from 'drizzle-orm';
import type { Actor, ChangeRecord, RequestMeta } from '../actor.ts';
import type { Database, Executor, Tx } from '../db/client.ts';
import { liveOrganization } from '../db/live.ts';
import { auditChains, auditCheckpoints, auditEvents, auditKeys, organizations } from '../db/schema.ts';
import { ConflictError } from '../errors/app-error.ts';
import { emitEvent } from '../outbox/outbox.ts';
import {
  type AuditActor,
  type AuditEntry,
  type AuditTarget,
  auditTarget,
  type ChainKind,
  chainKey,
  entryHash,
  GENESIS_HASH,
  INSTANCE_CHAIN_ID,
  type UnhashedEntry,
} from './entry.ts';
import { HashPool } from './hash-pool.ts';
import { type Checkpoint, entryMac, parsePublicKey, type SigningKey, signCheckpoint } from './keys.ts';
import { type HashedBatch, readRowBatch } from './row-hash.ts';
import { type AuditRow, PRUNED_ACTION } from './rows.ts';
import { ChainVerifier, checkpointProblem, type FailureReason, type VerifyReport } from './verify.ts';

export { type AuditRow, entryFromRow, PRUNED_ACTION } from './rows.ts';

export interface ChainRef {
  kind: ChainKind;
  id: string;
}

/** What a writer supplies; sequence, time and hashes are the chain's to assign. */
export interface NewEntry {
  chain: ChainRef;
  actor: AuditActor;
  action: string;
  target: AuditTarget;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  meta: RequestMeta;
}

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
    case 'scim':
      return { type: 'scim', id: actor.tokenId, email: null };
    case 'system':
      return { type: 'system', id: null, email: null };
    case 'operator':
      return { type: 'operator', id: null, email: null };
    case 'anonymous':
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

/** Entries read at a time for verification: one hash task each. */
const VERIFY_BATCH = 2_000;

/** What is left of a chain in the database: its entries' range and its signed checkpoints. */
interface HeadlessRange {
  minSeq: number | null;
  maxSeq: number | null;
  checkpoints: number;
}

/** What a retention entry says it removed, and the checkpoint it left. */
function prunedRecord(after: Record<string, unknown> | null): { through: unknown; anchorHash: unknown } {
  const recorded = after as { removedThroughSeq?: unknown; anchor?: { hash?: unknown } } | null;
  return { through: recorded?.removedThroughSeq, anchorHash: recorded?.anchor?.hash };
}

/** The verdict on a chain whose head record is gone (see `AuditLog.verify`). */
function headlessReport(report: VerifyReport, range: HeadlessRange): VerifyReport {
  const missing =
    `the chain's head record is missing while ${describeHeadless(range)}: ` +
    'where the log ends (and whether entries were cut off it) cannot be confirmed';
  return {
    ...report,
    ok: false,
    firstBadSeq: report.ok ? (report.headSeq ?? 0) + 1 : (report.firstBadSeq as number),
    reason: 'missing_head',
    detail: report.ok ? missing : `${missing}; besides, ${report.detail} (${report.reason})`,
  };
}

function describeHeadless(range: HeadlessRange): string {
  const entries = range.maxSeq === null ? 'no entries' : `entries ${range.minSeq} to ${range.maxSeq}`;
  const checkpoints = `${range.checkpoints} signed checkpoint${range.checkpoints === 1 ? '' : 's'}`;
  return `${entries} and ${checkpoints} remain`;
}

/**
 * The tamper-evident log: appends hash-chained entries in the caller's transaction, signs
 * checkpoints, verifies chains and prunes by retention.
 */
export class AuditLog {
  /**
   * Hashes entries for verification off the main thread (threads start on first use): one
   * thread fewer than the cores, so that a verification leaves a core to the requests (and the
   * database, when it runs on the same machine). Reading the rows bounds its pace anyway.
   */
  private readonly hashPool: HashPool;

  constructor(
    private readonly database: Database,
    readonly signingKey: SigningKey,
    private readonly logError: (err: unknown, msg: string) => void,
  ) {
    this.hashPool = new HashPool(logError, Math.max(1, Math.min(os.availableParallelism() - 1, 8)));
  }

  private keyRegistered = false;

  /**
   * Entries this instance has appended, by chain kind (the metrics read it): counted when written
   * in their transaction, so a transaction rolled back afterwards still counts.
   */
  readonly appended = new Map<ChainKind, number>();

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
      // A chain whose head row was just created must have nothing: entries or checkpoints left
      // without a head mean the row was deleted behind the database's back. Starting over at 1
      // would collide with them, and rebuilding a head from the last entry left would accept
      // whatever was cut off the end, so nothing more is written until the head is restored.
      if (head!.headSeq === group.length) await this.assertNothingHeadless(tx, kind, chainId);
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
          target: auditTarget(e.target),
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
          targetName: entry.target.name ?? null,
          targetEmail: entry.target.email ?? null,
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
            ${r.actorEmail}, ${r.actorTokenId ?? null}::uuid, ${r.action}, ${r.targetType}, ${r.targetId}, ${r.targetName ?? null}, ${r.targetEmail ?? null}, ${json(r.before)}::jsonb,
            ${json(r.after)}::jsonb, ${r.ip}, ${r.userAgent}, ${r.requestId}, ${r.prevHash}, ${r.hash}, ${r.mac},
            ${r.macKeyId})`,
        ),
        sql`, `,
      );
      await tx.execute(sql`WITH entries AS (
          INSERT INTO audit_events (chain_id, seq, id, occurred_at, actor_type, actor_id, actor_email, actor_token_id, action,
            target_type, target_id, target_name, target_email, before, after, ip, user_agent, request_id, prev_hash, hash, mac, mac_key_id)
          VALUES ${values})
        UPDATE audit_chains SET head_hash = ${prevHash}, head_at = ${at}::timestamptz WHERE chain_id = ${chainId}::uuid`);
      this.appended.set(kind, (this.appended.get(kind) ?? 0) + rows.length);
    }
    return written;
  }

  /** Refuses to start a chain over entries or checkpoints that exist without their head. */
  private async assertNothingHeadless(tx: Tx, kind: ChainKind, chainId: string): Promise<void> {
    const orphaned = await this.headlessRange(tx, chainId);
    if (orphaned) {
      throw new ConflictError(
        `The audit log of this ${kind === 'org' ? 'organization' : kind} has lost its head record ` +
          `(${describeHeadless(orphaned)}): nothing more is written to it until an operator restores ` +
          'the audit_chains row from a backup. GET audit-events/verify reports missing_head.',
        'audit_verification_failed',
      );
    }
  }

  /** What a chain holds in the database, when it has entries or checkpoints (with or without a head). */
  private async headlessRange(executor: Executor, chainId: string): Promise<HeadlessRange | undefined> {
    // float8: exact for any sequence number, and read back as a number by every driver.
    const [entries] = await executor
      .select({
        minSeq: sql<number | null>`min(${auditEvents.seq})::float8`,
        maxSeq: sql<number | null>`max(${auditEvents.seq})::float8`,
      })
      .from(auditEvents)
      .where(eq(auditEvents.chainId, chainId));
    const [signed] = await executor
      .select({ count: sql<number>`count(*)::float8` })
      .from(auditCheckpoints)
      .where(eq(auditCheckpoints.chainId, chainId));
    const range: HeadlessRange = {
      minSeq: entries?.minSeq ?? null,
      maxSeq: entries?.maxSeq ?? null,
      checkpoints: Number(signed?.count ?? 0),
    };
    return range.maxSeq === null && range.checkpoints === 0 ? undefined : range;
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
   * retention left), or with `sinceCheckpoint` from the latest valid checkpoint this installation
   * signed at or before `toSeq`: the entries since then, and that the entry it names is still the
   * one signed (what signing a new checkpoint needs, and what the API checks by default).
   *
   * The entries are read here in batches and hashed on the hash pool's threads, the next batch
   * read while the last is hashed; the verdict is reached here, in sequence order.
   *
   * A chain with entries or checkpoints but no head record fails (`missing_head`): without it,
   * entries cut off the end together with their checkpoints would go unnoticed.
   */
  async verify(
    executor: Executor,
    chain: ChainRef,
    options: { toSeq?: number; sinceCheckpoint?: boolean } = {},
  ): Promise<VerifyReport> {
    const since = options.sinceCheckpoint === true;
    let head: { startSeq: number; headSeq: number; headHash: string | undefined } | undefined =
      await this.chainHead(executor, chain.id);
    let headless: HeadlessRange | undefined;
    if (!head) {
      headless = await this.headlessRange(executor, chain.id);
      if (!headless) return new ChainVerifier({ seq: 0, hash: GENESIS_HASH, signed: true }).finish();
      // What is left is checked as far as it goes, from where it starts to where it ends.
      head = { startSeq: headless.minSeq ?? 1, headSeq: headless.maxSeq ?? 0, headHash: undefined };
    }
    const whole = options.toSeq === undefined;
    const end = options.toSeq ?? head.headSeq;
    const keys = await this.trustedKeys(executor);
    // Checking the whole chain, a checkpoint past the recorded head means the end was cut off
    // (and the head wound back): it stays in, to be reported as truncation.
    const inRange = (await this.checkpoints(executor, chain.id, head.startSeq - 1)).filter(
      (cp) => whole || cp.seq <= end,
    );
    const problems = new Map<Checkpoint, { reason: FailureReason; detail: string } | undefined>();
    const problemOf = (cp: Checkpoint) => {
      if (!problems.has(cp)) problems.set(cp, checkpointProblem(keys, chain.kind, chain.id, cp));
      return problems.get(cp);
    };
    // What this installation signed itself is what it builds on (an anchor, or skipping the
    // authenticator check before it): a key merely listed in the database could be anyone's.
    const ownValid = (cp: Checkpoint) => cp.keyId === this.signingKey.keyId && !problemOf(cp);
    // Where retention cut the chain, the checkpoint it left of the last entry it removed.
    const cut =
      head.startSeq > 1 ? inRange.find((cp) => cp.seq === head.startSeq - 1 && ownValid(cp)) : undefined;
    let anchor: { seq: number; hash: string; signed: boolean } | undefined;
    if (since) {
      // The newest valid one; signatures below it are not needed.
      for (let i = inRange.length - 1; i >= 0 && !anchor; i--) {
        const cp = inRange[i]!;
        if (ownValid(cp)) anchor = { seq: cp.seq, hash: cp.hash, signed: true };
      }
    }
    if (!anchor) {
      if (head.startSeq <= 1) anchor = { seq: 0, hash: GENESIS_HASH, signed: true };
      else if (cut) anchor = { seq: cut.seq, hash: cut.hash, signed: true };
    }
    const after = (cp: Checkpoint) => !anchor || cp.seq > anchor.seq;
    const verifier = new ChainVerifier(anchor);
    for (const cp of inRange) {
      const problem = after(cp) ? problemOf(cp) : undefined;
      if (problem) verifier.fail(cp.seq, problem.reason, problem.detail);
    }
    for (const cp of inRange) if (after(cp) && !problemOf(cp)) verifier.addCheckpoint(cp);
    const fromSeq = anchor ? anchor.seq + 1 : head.startSeq;
    // Below a checkpoint verification starts from, nothing is checked (nor needed).
    let lastSigned = since && anchor && anchor.seq <= end ? anchor.seq : 0;
    for (const cp of inRange) {
      if ((!since || after(cp)) && cp.seq <= end && cp.seq > lastSigned && ownValid(cp)) lastSigned = cp.seq;
    }
    // From a checkpoint, its own entry is read too: it must still be the one signed.
    const signedEntry =
      since && anchor && anchor.seq >= Math.max(1, head.startSeq) && anchor.seq <= end ? anchor : undefined;
    /** The latest retention record seen: what the chain's start must agree with. */
    let pruned: { through: unknown; anchorHash: unknown } | undefined;
    let expectSigned = signedEntry !== undefined;
    const range = { fromSeq: signedEntry ? signedEntry.seq : fromSeq, toSeq: end };
    for await (const batch of this.hashedBatches(executor, chain, range)) {
      for (let i = 0; i < batch.seq.length && !verifier.failed; i++) {
        const seq = batch.seq[i]!;
        if (expectSigned) {
          expectSigned = false;
          if (this.checkSignedEntry(verifier, signedEntry!, batch, i)) continue;
        }
        verifier.push(seq, batch.prevHash[i]!, batch.hash[i]!, batch.computed[i]!);
        // Past the last signed checkpoint nothing but this key vouches for an entry: it must
        // carry this installation's authenticator (a chain extended through SQL has none).
        if (seq > lastSigned && !verifier.failed) this.checkAuthenticator(verifier, batch, i);
        const after = batch.pruned[i];
        if (after) pruned = prunedRecord(after);
      }
      if (verifier.failed) break;
    }
    if (expectSigned) {
      verifier.fail(
        signedEntry!.seq,
        'missing_entry',
        `entry ${signedEntry!.seq}, which a signed checkpoint vouches for, is missing`,
      );
    }
    if (whole && head.startSeq > 1) {
      // Retention moves the start and records it in the same transaction; a start moved without
      // that record (or past it) means entries were deleted another way. From a checkpoint, the
      // record is looked up rather than met on the way.
      const record = since ? await this.latestPruned(executor, chain.id, end) : pruned;
      if (!record || record.through !== head.startSeq - 1 || record.anchorHash !== cut?.hash) {
        const from =
          typeof record?.through === 'number' && record.through < head.startSeq ? record.through + 1 : 1;
        verifier.fail(
          from,
          'missing_entry',
          `entries ${from} to ${head.startSeq - 1} are gone, but retention did not remove them`,
        );
      }
    }
    const report = verifier.finish(
      whole
        ? { seq: head.headSeq, ...(head.headHash !== undefined ? { hash: head.headHash } : {}) }
        : { seq: end },
    );
    return headless ? headlessReport(report, headless) : report;
  }

  /**
   * The entry a checkpoint the verification starts from names: it must still hash to what was
   * signed. True when it is that entry (checked; the walk goes on after it).
   */
  private checkSignedEntry(
    verifier: ChainVerifier,
    signed: { seq: number; hash: string },
    batch: HashedBatch,
    i: number,
  ): boolean {
    const seq = batch.seq[i]!;
    if (seq !== signed.seq) {
      verifier.fail(
        signed.seq,
        'missing_entry',
        `entry ${signed.seq}, which a signed checkpoint vouches for, is missing`,
      );
    } else if (batch.computed[i] !== batch.hash[i]) {
      verifier.fail(seq, 'hash_mismatch', `entry ${seq} does not match its hash: its content was changed`);
    } else if (batch.hash[i] !== signed.hash) {
      verifier.fail(
        seq,
        'checkpoint_mismatch',
        `entry ${seq} differs from the checkpoint signed for it: the chain was rewritten up to it`,
      );
    }
    return !verifier.failed;
  }

  /**
   * A chain's entries `fromSeq..toSeq` in order, hashed and authenticated, a batch at a time:
   * each batch read here as one text (the next while earlier ones are hashed), taken apart and
   * hashed on the pool's threads.
   */
  private async *hashedBatches(
    executor: Executor,
    chain: ChainRef,
    range: { fromSeq: number; toSeq: number },
  ): AsyncGenerator<HashedBatch> {
    const inFlight: Array<Promise<HashedBatch>> = [];
    const mac = { keyId: this.signingKey.keyId, macKey: this.signingKey.macKey };
    let next = range.fromSeq;
    while (next <= range.toSeq) {
      const batch = await readRowBatch(
        executor,
        chain.id,
        { fromSeq: next, toSeq: range.toSeq },
        VERIFY_BATCH,
      );
      if (!batch) break;
      next = batch.lastSeq + 1;
      const task = this.hashPool.hash(chain.kind, batch.rows, mac);
      // A walk that stops early leaves tasks unawaited: their failures are not unhandled.
      task.catch(() => undefined);
      inFlight.push(task);
      if (inFlight.length > this.hashPool.size) yield await inFlight.shift()!;
    }
    while (inFlight.length > 0) yield await inFlight.shift()!;
  }

  /** The last retention record at or before `toSeq` (found through the action index). */
  private async latestPruned(executor: Executor, chainId: string, toSeq: number) {
    const [row] = await executor
      .select({ after: auditEvents.after })
      .from(auditEvents)
      .where(
        and(
          eq(auditEvents.chainId, chainId),
          eq(auditEvents.action, PRUNED_ACTION),
          lte(auditEvents.seq, toSeq),
        ),
      )
      .orderBy(desc(auditEvents.seq))
      .limit(1);
    return row ? prunedRecord(row.after) : undefined;
  }

  /** How many threads hash entries for verification (the cores, up to 8). */
  get hashThreads(): number {
    return this.hashPool.size;
  }

  /** Stops the hash pool's threads (the app's close). */
  close(): Promise<void> {
    return this.hashPool.close();
  }

  private checkAuthenticator(verifier: ChainVerifier, batch: HashedBatch, i: number): void {
    if (batch.macValid[i]) return;
    const seq = batch.seq[i]!;
    const keyId = batch.macKeyId[i];
    if (keyId !== this.signingKey.keyId) {
      verifier.fail(
        seq,
        'unauthenticated_entry',
        `entry ${seq} was written under key ${keyId}, which this instance does not hold ` +
          '(instances sharing a database must share AUDIT_SIGNING_KEY)',
      );
    } else {
      verifier.fail(seq, 'unauthenticated_entry', `entry ${seq} was not written by this installation`);
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
    const inserted = await tx
      .insert(auditCheckpoints)
      .values({
        chainId: chain.id,
        seq,
        hash: cp.hash,
        signedAt: new Date(cp.signedAt),
        keyId: cp.keyId,
        signature: cp.signature,
      })
      .onConflictDoNothing()
      .returning({ seq: auditCheckpoints.seq });
    if (inserted.length > 0 && chain.kind === 'org') await this.announceCheckpoint(tx, chain.id, cp);
    await tx
      .update(auditChains)
      .set({ checkpointedSeq: sql`greatest(${auditChains.checkpointedSeq}, ${seq})` })
      .where(eq(auditChains.chainId, chain.id));
    return cp;
  }

  /**
   * Sends a new checkpoint of an organization's log to its subscribers (`audit.checkpoint`), in
   * the transaction that signs it: whoever receives it outside the installation holds the log's
   * head as signed, and a later export cut short of it (entries removed from the end together
   * with their checkpoints, the head wound back) fails `gatehouse audit verify --checkpoints`.
   * The data is the checkpoint itself: `{orgId, seq, hash, signedAt, keyId, signature}`, the
   * signature Ed25519 over the canonical JSON of `{orgId, seq, hash, signedAt}` under the key
   * `keyId` names (GET /api/v1/audit-keys). A deleted organization's checkpoints go to nobody.
   */
  private async announceCheckpoint(tx: Tx, orgId: string, cp: Checkpoint): Promise<void> {
    const [live] = await tx
      .select({ id: organizations.id })
      .from(organizations)
      .where(and(eq(organizations.id, orgId), liveOrganization()));
    if (!live) return;
    const { seq, hash, signedAt, keyId, signature } = cp;
    await emitEvent(tx, {
      type: 'audit.checkpoint',
      orgId,
      data: { orgId, seq, hash, signedAt, keyId, signature },
    });
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

/**
 * Which chain a command's record goes to: its org's, else the user's own account log. An
 * operator's change that concerns no organization (an account disabled or enabled) goes to the
 * installation's log, which records what operators did.
 */
export function chainOf(change: ChangeRecord): ChainRef {
  if (change.orgId) return { kind: 'org', id: change.orgId };
  if (change.actor.type === 'operator') return { kind: 'instance', id: INSTANCE_CHAIN_ID };
  if (change.actor.type === 'user') return { kind: 'user', id: change.actor.userId };
  if (change.target.type === 'user') return { kind: 'user', id: change.target.id };
  return { kind: 'instance', id: INSTANCE_CHAIN_ID };
}
