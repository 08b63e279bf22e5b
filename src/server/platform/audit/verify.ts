import { hash as digest, type KeyObject } from 'node:crypto';
import { type ChainKind, GENESIS_HASH } from './entry.ts';
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
  | 'unauthenticated_entry'
  | 'unsigned_tail'
  | 'missing_head'
  | 'foreign_entry';

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
  /** An entry whose link to the one before broke, until the next entry says which is at fault. */
  private suspect: { seq: number; hash: string } | undefined;
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
    if (this.suspect) {
      this.decideSuspect(seq === this.suspect.seq + 1 && prevHash === this.suspect.hash);
      return;
    }
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
      if (this.checked === 0) {
        this.fail(seq, 'broken_link', `entry ${seq} does not follow the anchor it should follow`);
        return;
      }
      // Either the entry before was changed and re-hashed, or this one was replaced whole: the
      // next entry tells (it follows this one only if this one is the original).
      this.suspect = { seq, hash: storedHash };
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

  /** A link broke at the last entry pushed: the next entry decides which of the two was changed. */
  get undecided(): boolean {
    return this.suspect !== undefined;
  }

  /**
   * Entries up to `toSeq` that follow the last one pushed, each already known to match its hash
   * and to commit to the one before it (the caller checked them as it hashed them): the same as
   * pushing them one by one, with `hashOf(seq)` giving an entry's hash where a checkpoint asks.
   * Only when the walk stands on an accepted entry (not failed, nothing undecided).
   */
  advance(toSeq: number, hashOf: (seq: number) => string): void {
    if (this.failure || this.suspect || this.lastSeq === null || toSeq <= this.lastSeq) return;
    const from = this.lastSeq + 1;
    const due: number[] = [];
    for (const seq of this.pending.keys()) if (seq >= from && seq <= toSeq) due.push(seq);
    due.sort((a, b) => a - b);
    for (const seq of due) {
      const cp = this.pending.get(seq)!;
      this.pending.delete(seq);
      const hash = hashOf(seq);
      this.checked += seq - this.lastSeq;
      this.lastSeq = seq;
      this.lastHash = hash;
      this.checkCheckpoint(cp, hash);
      if (this.failure) return;
    }
    if (toSeq === this.lastSeq) return;
    this.checked += toSeq - this.lastSeq;
    this.lastSeq = toSeq;
    this.lastHash = hashOf(toSeq);
  }

  /** A link broke at `suspect`; `followed`: the entry after it commits to it. */
  private decideSuspect(followed: boolean): void {
    const { seq } = this.suspect!;
    this.suspect = undefined;
    if (followed) {
      this.fail(
        seq - 1,
        'broken_link',
        `entry ${seq} does not follow entry ${seq - 1}: entry ${seq - 1} was changed`,
      );
    } else {
      this.fail(
        seq,
        'broken_link',
        `entry ${seq} follows neither entry ${seq - 1} nor is followed by ${seq + 1}: it was replaced`,
      );
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
    // The last entry broke its link and nothing follows: the entry before it was changed.
    if (this.suspect) this.decideSuspect(true);
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

const HASH_FIELD = Buffer.from(',"hash":"');
const PREV_FIELD = Buffer.from(',"prevHash":"');
const SEQ_FIELD = Buffer.from(',"seq":');
const ID_FIELD = Buffer.from(',"id":"');
/** The chain key members, each followed by a UUID (36 characters) and its closing quote. */
const ORG_FIELD = Buffer.from(',"orgId":"');
const USER_FIELD = Buffer.from(',"userId":"');
const INSTANCE_FIELD = Buffer.from(',"instanceId":"');
const UUID_LENGTH = 36;
/** `,"hash":"` + 64 hex digits + `"`: what comes out of a line to leave the hashed bytes. */
const HASH_MEMBER_LENGTH = HASH_FIELD.length + 65;
const HEX64 = /^[0-9a-f]{64}$/;
/** The hashed bytes of the line being split, reused (and grown) from line to line. */
let scratch = new Uint8Array(16 * 1024);
/** Views of the first N bytes of `scratch`, by N: lines of a log have a few hundred lengths. */
const scratchViews: Uint8Array[] = [];

/** Whether `field` (a `,"key":` sequence) lies at `at`, before `end`; its first two bytes match. */
function fieldAt(bytes: Uint8Array, at: number, end: number, field: Uint8Array): boolean {
  if (at + field.length > end) return false;
  for (let j = 2; j < field.length; j++) if (bytes[at + j] !== field[j]) return false;
  return true;
}

/** Text as its UTF-8 bytes, bytes as a Buffer over the same memory (no copy). */
export function asBuffer(piece: Uint8Array | string): Buffer {
  return typeof piece === 'string'
    ? Buffer.from(piece, 'utf8')
    : Buffer.isBuffer(piece)
      ? piece
      : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
}

/** Bytes as a one-byte string (hex digits): Buffer's own latin1 slice, without argument checks. */
export const latin1 = (bytes: Buffer, start: number, end: number): string =>
  (bytes as Buffer & { latin1Slice(start: number, end: number): string }).latin1Slice(start, end);

export interface SplitEntry {
  seq: number;
  prevHash: string;
  hash: string;
  /** SHA-256 (hex) of the line's bytes without its hash member. */
  computed: string;
  /** The chain the line names: its `orgId`, `userId` or `instanceId` (absent when it names none). */
  chainId?: string;
  /** Where the stored hash's 64 hex digits start in the bytes split. */
  hashAt?: number;
}

/**
 * The value of the UUID member `field` if it lies at `at` (canonical JSON puts each chain key at a
 * fixed place relative to the members around it).
 */
function uuidMemberAt(bytes: Buffer, at: number, end: number, field: Uint8Array): string | undefined {
  const valueAt = at + field.length;
  if (at < 0 || valueAt + UUID_LENGTH >= end || bytes[valueAt + UUID_LENGTH] !== 34 /* " */) return undefined;
  if (bytes[at] !== 44 || bytes[at + 1] !== 34 || !fieldAt(bytes, at, end, field)) return undefined;
  return latin1(bytes, valueAt, valueAt + UUID_LENGTH);
}

/**
 * The chain key of a split line: `orgId` sorts right before `prevHash`, `instanceId` right after
 * the top-level `id`, `userId` last of all.
 */
function chainIdOf(bytes: Buffer, idAt: number, prevAt: number, end: number): string | undefined {
  return (
    uuidMemberAt(bytes, prevAt - ORG_FIELD.length - UUID_LENGTH - 1, end, ORG_FIELD) ??
    uuidMemberAt(bytes, idAt + ID_FIELD.length + UUID_LENGTH + 1, end, INSTANCE_FIELD) ??
    uuidMemberAt(bytes, end - 1 - USER_FIELD.length - UUID_LENGTH - 1, end, USER_FIELD)
  );
}

/**
 * Splits one exported JSON Lines entry into what the chain needs without parsing the JSON: the
 * line is canonical JSON, so its last `,"hash":"…"` is the top-level one (every member after it
 * is a string, number or the `{email?,id,name?,type}` target, none of which can contain that sequence
 * unescaped), and removing it leaves exactly the bytes that were hashed. An edited line can only
 * make the hash disagree.
 *
 * Works on the line's UTF-8 bytes (a string is encoded first): the sequences looked for are
 * ASCII, which never occurs inside a multi-byte UTF-8 character, and the bytes hashed are the
 * file's own, not a decoding of them. `previousHash` (the entry before's hash) only saves work:
 * when the line's `prevHash` spells it, that same string is returned.
 */
export function splitEntryLine(
  line: string | Uint8Array,
  previousHash?: string | null,
): SplitEntry | undefined {
  const bytes = asBuffer(line);
  return splitEntryBytes(bytes, 0, bytes.length, previousHash);
}

/** The same for the line at bytes[start, end) (e.g. within a chunk read from a file). */
export function splitEntryBytes(
  bytes: Buffer,
  start: number,
  end: number,
  previousHash?: string | null,
): SplitEntry | undefined {
  if (end - start < HASH_MEMBER_LENGTH + ID_FIELD.length) return undefined;
  // One pass backwards from the end of the line to its hash member, comma to comma (a native
  // search), finds the last occurrence of each member looked for.
  let h = -1;
  let p = -1;
  let s = -1;
  for (
    let i = bytes.lastIndexOf(44 /* , */, end - ID_FIELD.length);
    i >= start;
    i = i > 0 ? bytes.lastIndexOf(44, i - 1) : -1
  ) {
    if (bytes[i + 1] !== 34 /* " */) continue;
    const k = bytes[i + 2];
    if (k === 104 /* h */) {
      if (fieldAt(bytes, i, end, HASH_FIELD)) {
        h = i;
        break;
      }
    } else if (k === 112 /* p */) {
      if (p < 0 && fieldAt(bytes, i, end, PREV_FIELD)) p = i;
    } else if (k === 115 /* s */) {
      if (s < 0 && fieldAt(bytes, i, end, SEQ_FIELD)) s = i;
    }
  }
  if (h < 0) return undefined;
  const hashAt = h + HASH_FIELD.length;
  const idAt = hashAt + 65;
  // Where canonical JSON puts it: right before the top-level id (the target's own id may follow,
  // after its `email`). The members found after it are the last of their kind in the line.
  if (bytes[idAt - 1] !== 34 /* " */ || bytes[idAt] !== 44 /* , */ || bytes[idAt + 1] !== 34)
    return undefined;
  if (!fieldAt(bytes, idAt, end, ID_FIELD)) return undefined;
  if (p < idAt) return undefined;
  const prevAt = p + PREV_FIELD.length;
  if (prevAt + 64 > end) return undefined;
  // A native copy and a string comparison beat comparing byte by byte in JS.
  let prevHash = latin1(bytes, prevAt, prevAt + 64);
  if (prevHash === previousHash) prevHash = previousHash;
  else if (!HEX64.test(prevHash)) return undefined;
  if (s < p) return undefined;
  const digitsAt = s + SEQ_FIELD.length;
  let at = digitsAt;
  let seq = 0;
  for (let c = bytes[at]!; at < end && c >= 48 && c <= 57; c = bytes[++at]!) seq = seq * 10 + (c - 48);
  if (at === digitsAt || at - digitsAt > 15 || at >= end || bytes[at] !== 44 /* , */) return undefined;
  // The hashed bytes: the line without its hash member, copied once into the reused buffer.
  const length = end - start - HASH_MEMBER_LENGTH;
  if (scratch.length < length) {
    scratch = new Uint8Array(Math.max(length, 2 * scratch.length));
    scratchViews.length = 0;
  }
  // Plain views, not Buffer slices: this runs once a line and they cost less to make.
  scratch.set(new Uint8Array(bytes.buffer, bytes.byteOffset + start, h - start), 0);
  scratch.set(new Uint8Array(bytes.buffer, bytes.byteOffset + idAt, end - idAt), h - start);
  let body = scratchViews[length];
  if (!body) {
    body = new Uint8Array(scratch.buffer, 0, length);
    if (length < 65_536) scratchViews[length] = body;
  }
  const computed = digest('sha256', body, 'hex');
  const hash = latin1(bytes, hashAt, hashAt + 64);
  const chainId = chainIdOf(bytes, idAt, p, end);
  const split: SplitEntry = { seq, prevHash, hash: computed, computed, hashAt };
  if (chainId !== undefined) split.chainId = chainId;
  if (hash === computed) return split;
  if (!HEX64.test(hash)) return undefined;
  split.hash = hash;
  return split;
}
