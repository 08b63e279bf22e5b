import type { KeyObject } from 'node:crypto';
import { type ChainKind, GENESIS_HASH, sha256Hex } from './entry.ts';
import { type Checkpoint, checkpointSignatureValid } from './keys.ts';

export type FailureReason =
  | 'hash_mismatch'
  | 'broken_link'
  | 'missing_entry'
  | 'out_of_order'
  | 'checkpoint_mismatch'
  | 'bad_signature'
  | 'unknown_key'
  | 'truncated'
  | 'unanchored_start'
  | 'head_mismatch'
  | 'malformed'
  | 'unsigned_tail';

export interface VerifyReport {
  ok: boolean;
  /** Entries checked. */
  checked: number;
  firstSeq: number | null;
  headSeq: number | null;
  headHash: string | null;
  /** The highest sequence number a valid signed checkpoint vouches for. */
  signedSeq: number | null;
  /** The first entry that is not what was written (absent when ok). */
  firstBadSeq?: number;
  reason?: FailureReason;
  detail?: string;
}

/**
 * Walks one chain in sequence order. The caller hashes each entry (from database columns or from
 * exported bytes) and feeds the result; this decides. The first failure is kept and named by the
 * first sequence number that is not what was written:
 * - an entry whose content does not hash to its stored hash: that entry;
 * - an entry that does not commit to the one before it (its `prevHash`): the one before, which was
 *   changed and re-hashed — unless it is the chain's start, then this one;
 * - a sequence number skipped (deleted entries) or repeated / going back (inserted, reordered):
 *   the number expected there;
 * - a signed checkpoint whose hash differs from the entry it names: that entry;
 * - a signed checkpoint beyond the last entry: the entry after the last (truncation).
 */
export class ChainVerifier {
  private lastSeq: number | null;
  private lastHash: string | null;
  private firstSeq: number | null = null;
  private checked = 0;
  private signedSeq: number | null = null;
  private failure: { seq: number; reason: FailureReason; detail: string } | undefined;
  /** Checkpoints not reached yet, by sequence number. */
  private readonly pending = new Map<number, Checkpoint>();

  /**
   * @param anchor what the first entry must follow: `{seq: 0, hash: GENESIS_HASH}` for a chain
   *   kept whole, or the signed checkpoint left where retention cut it; undefined when the start
   *   is unknown (the first entry is then taken as it is, and the report is not ok).
   */
  constructor(anchor?: { seq: number; hash: string; signed: boolean }) {
    this.lastSeq = anchor ? anchor.seq : null;
    this.lastHash = anchor ? anchor.hash : null;
    if (anchor?.signed) this.signedSeq = anchor.seq;
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  get head(): { seq: number | null; hash: string | null } {
    return { seq: this.lastSeq, hash: this.lastHash };
  }

  fail(seq: number, reason: FailureReason, detail: string): void {
    if (!this.failure) this.failure = { seq, reason, detail };
  }

  /** A checkpoint whose signature has been checked. */
  addCheckpoint(cp: Checkpoint): void {
    if (this.lastSeq !== null && cp.seq <= this.lastSeq) {
      if (cp.seq === this.lastSeq) this.checkCheckpoint(cp, this.lastHash as string);
      // An older checkpoint than the walk's position is not checkable here; it is ignored.
      return;
    }
    const existing = this.pending.get(cp.seq);
    if (existing && existing.hash !== cp.hash) {
      this.fail(cp.seq, 'checkpoint_mismatch', `two signed checkpoints disagree on entry ${cp.seq}`);
    }
    this.pending.set(cp.seq, cp);
  }

  /**
   * One entry, in file or sequence order: its sequence number, the `prevHash` and `hash` it
   * carries, and the hash of its content as computed by the caller.
   */
  push(seq: number, prevHash: string, storedHash: string, computedHash: string): void {
    if (this.failure) return;
    if (this.lastSeq === null) {
      // Unknown start: take the first entry's word for what came before.
      this.lastSeq = seq - 1;
      this.lastHash = prevHash;
      if (seq === 1 && prevHash !== GENESIS_HASH) {
        this.fail(1, 'broken_link', 'the first entry does not start the chain');
        return;
      }
      if (seq !== 1) {
        this.fail(seq, 'unanchored_start', `nothing signed vouches for what precedes entry ${seq}`);
        return;
      }
    }
    const expected = this.lastSeq + 1;
    if (seq !== expected) {
      this.fail(
        expected,
        seq > expected ? 'missing_entry' : 'out_of_order',
        seq > expected
          ? `entry ${expected} is missing (the next entry present is ${seq})`
          : `entry ${seq} appears where entry ${expected} belongs`,
      );
      return;
    }
    this.firstSeq ??= seq;
    if (computedHash !== storedHash) {
      this.fail(seq, 'hash_mismatch', `entry ${seq} does not match its hash: its content was changed`);
      return;
    }
    if (prevHash !== this.lastHash) {
      const atStart = this.checked === 0;
      this.fail(
        atStart ? seq : seq - 1,
        'broken_link',
        atStart
          ? `entry ${seq} does not follow the anchor it should follow`
          : `entry ${seq} does not follow entry ${seq - 1}: entry ${seq - 1} was changed`,
      );
      return;
    }
    this.lastSeq = seq;
    this.lastHash = storedHash;
    this.checked++;
    const cp = this.pending.get(seq);
    if (cp) {
      this.pending.delete(seq);
      this.checkCheckpoint(cp, storedHash);
    }
  }

  private checkCheckpoint(cp: Checkpoint, hash: string): void {
    if (cp.hash !== hash) {
      this.fail(
        cp.seq,
        'checkpoint_mismatch',
        `entry ${cp.seq} differs from the checkpoint signed at ${cp.signedAt}: the chain was rewritten up to it`,
      );
      return;
    }
    if (this.signedSeq === null || cp.seq > this.signedSeq) this.signedSeq = cp.seq;
  }

  /**
   * The verdict. `expectedHead` is what the chain's own record says the head is (the database
   * check passes it); signed checkpoints beyond the last entry mean entries were cut off the end.
   */
  finish(expectedHead?: { seq: number; hash?: string }): VerifyReport {
    if (!this.failure && this.pending.size > 0) {
      const beyond = Math.max(...this.pending.keys());
      const seq = (this.lastSeq ?? 0) + 1;
      this.fail(
        seq,
        'truncated',
        `a checkpoint signed for entry ${beyond} exists, but the entries end before ${seq}`,
      );
    }
    if (!this.failure && expectedHead && this.lastSeq !== null && expectedHead.seq !== this.lastSeq) {
      const seq = Math.min(expectedHead.seq, this.lastSeq) + 1;
      this.fail(
        seq,
        'truncated',
        `the chain's head is entry ${expectedHead.seq}, the entries end at ${this.lastSeq}`,
      );
    }
    if (
      !this.failure &&
      expectedHead?.hash !== undefined &&
      expectedHead.seq === this.lastSeq &&
      expectedHead.hash !== this.lastHash
    ) {
      this.fail(
        this.lastSeq as number,
        'head_mismatch',
        `entry ${this.lastSeq} differs from the chain's recorded head`,
      );
    }
    const known = this.lastSeq !== null && this.lastSeq > 0;
    const head = { headSeq: known ? this.lastSeq : null, headHash: known ? this.lastHash : null };
    const report: VerifyReport = {
      ok: !this.failure,
      checked: this.checked,
      firstSeq: this.firstSeq,
      ...head,
      signedSeq: this.signedSeq,
    };
    if (this.failure) {
      report.firstBadSeq = this.failure.seq;
      report.reason = this.failure.reason;
      report.detail = this.failure.detail;
    }
    return report;
  }
}

/** Checks a checkpoint's signature against the keys a verifier trusts (by key id). */
export function checkpointProblem(
  keys: ReadonlyMap<string, KeyObject>,
  kind: ChainKind,
  chainId: string,
  cp: Checkpoint,
): { reason: FailureReason; detail: string } | undefined {
  const key = keys.get(cp.keyId);
  if (!key)
    return {
      reason: 'unknown_key',
      detail: `checkpoint ${cp.seq} is signed by key ${cp.keyId}, which is not trusted here`,
    };
  if (!checkpointSignatureValid(key, kind, chainId, cp)) {
    return { reason: 'bad_signature', detail: `the signature of checkpoint ${cp.seq} is not valid` };
  }
  return undefined;
}

const HASH_FIELD = ',"hash":"';
const PREV_FIELD = ',"prevHash":"';
const SEQ_FIELD = ',"seq":';
const ID_FIELD = ',"id":"';
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Splits one exported JSON Lines entry into what the chain needs without parsing the JSON: the
 * line is canonical JSON, so its last `,"hash":"…"` is the top-level one (every member after it
 * is a string, number or the `{id,type}` target, none of which can contain that sequence
 * unescaped), and removing it leaves exactly the bytes that were hashed. An edited line can only
 * make the hash disagree.
 */
export function splitEntryLine(
  line: string,
): { seq: number; prevHash: string; hash: string; computed: string } | undefined {
  const h = line.lastIndexOf(HASH_FIELD);
  if (h < 0) return undefined;
  const hash = line.slice(h + HASH_FIELD.length, h + HASH_FIELD.length + 64);
  if (line.charCodeAt(h + HASH_FIELD.length + 64) !== 34 /* " */ || !HEX64.test(hash)) return undefined;
  // Where canonical JSON puts it: right before the top-level id, the last `,"id":"` of the line
  // (the target's id comes first in its object, after `{`).
  const idAt = h + HASH_FIELD.length + 65;
  if (!line.startsWith(ID_FIELD, idAt) || line.lastIndexOf(ID_FIELD) !== idAt) return undefined;
  const p = line.lastIndexOf(PREV_FIELD);
  const prevHash = line.slice(p + PREV_FIELD.length, p + PREV_FIELD.length + 64);
  if (p < h || !HEX64.test(prevHash)) return undefined;
  const s = line.lastIndexOf(SEQ_FIELD);
  if (s < p) return undefined;
  let end = s + SEQ_FIELD.length;
  let seq = 0;
  for (let c = line.charCodeAt(end); c >= 48 && c <= 57; c = line.charCodeAt(++end))
    seq = seq * 10 + (c - 48);
  if (end === s + SEQ_FIELD.length || line.charCodeAt(end) !== 44 /* , */) return undefined;
  const body = line.slice(0, h) + line.slice(idAt);
  return { seq, prevHash, hash, computed: sha256Hex(body) };
}
