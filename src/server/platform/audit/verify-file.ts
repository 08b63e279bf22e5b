import type { KeyObject } from 'node:crypto';
import type { ChainKind } from './entry.ts';
import { GENESIS_HASH } from './entry.ts';
import type { HashPool } from './hash-pool.ts';
import type { Checkpoint } from './keys.ts';
import { isCheckpointLine, type LineBatch, MAX_LINE_BYTES } from './line-batch.ts';
import {
  asBuffer,
  ChainVerifier,
  checkpointProblem,
  type FailureReason,
  latin1,
  type SplitEntry,
  splitEntryBytes,
  type VerifyReport,
} from './verify.ts';

export interface FileVerifyReport extends VerifyReport {
  /** The chain the signed checkpoints name. */
  chain?: { kind: ChainKind; id: string };
  /** The key id of the valid checkpoint at `signedSeq` (absent when only the chain's start vouches). */
  signedBy?: string;
  /** The line (from 1) that holds the problem, when it is a line's own: not an entry, or another log's. */
  firstBadLine?: number;
}

/** The log a checkpoint names (`orgId`, `userId` or `instanceId`). */
export function chainOfCheckpoint(cp: Checkpoint): { kind: ChainKind; id: string } | undefined {
  if (typeof cp.orgId === 'string') return { kind: 'org', id: cp.orgId };
  if (typeof cp.userId === 'string') return { kind: 'user', id: cp.userId };
  const instanceId = (cp as { instanceId?: unknown }).instanceId;
  if (typeof instanceId === 'string') return { kind: 'instance', id: instanceId };
  return undefined;
}

function readCheckpoint(line: string): Checkpoint | undefined {
  try {
    const cp = (JSON.parse(line) as { checkpoint?: Checkpoint }).checkpoint;
    if (
      cp &&
      Number.isSafeInteger(cp.seq) &&
      cp.seq >= 0 &&
      typeof cp.hash === 'string' &&
      typeof cp.signedAt === 'string' &&
      typeof cp.keyId === 'string' &&
      typeof cp.signature === 'string'
    ) {
      return cp;
    }
  } catch {
    // not JSON
  }
  return undefined;
}

type Problem = { seq: number; reason: FailureReason; detail: string };

export { MAX_LINE_BYTES };

/**
 * The state of one export's verification, fed one line at a time (text or UTF-8 bytes, without
 * its line break): `line()` answers false once the verdict is reached and nothing more can change
 * it.
 */
class ExportVerifier {
  private verifier: ChainVerifier | undefined;
  private chain: { kind: ChainKind; id: string } | undefined;
  /** Checkpoints seen before the first entry: one of them may anchor the start. */
  private readonly leading: Checkpoint[] = [];
  private readonly problems: Problem[] = [];
  /** Valid checkpoints' signing keys, by the entry they vouch for. */
  private readonly signers = new Map<number, string>();
  /** The entry accepted last: a second, different entry claiming its place is an insertion. */
  private last: { seq: number; prevHash: string; hash: string } | undefined;
  private lineNo = 0;
  /** The chain the file's first entry names (null: none): every entry after it must name the same. */
  private firstChain: string | null | undefined;
  private firstBadLine: number | undefined;

  constructor(
    private readonly keys: ReadonlyMap<string, KeyObject>,
    extraCheckpoints: readonly Checkpoint[],
  ) {
    for (const cp of extraCheckpoints) this.acceptCheckpoint(cp);
  }

  private acceptCheckpoint(cp: Checkpoint): void {
    const of = chainOfCheckpoint(cp);
    if (!of) {
      this.problems.push({ seq: cp.seq, reason: 'malformed', detail: `checkpoint ${cp.seq} names no chain` });
      return;
    }
    if (this.chain && (this.chain.kind !== of.kind || this.chain.id !== of.id)) {
      this.problems.push({
        seq: cp.seq,
        reason: 'malformed',
        detail: `checkpoint ${cp.seq} belongs to another log`,
      });
      return;
    }
    this.chain = of;
    const problem = checkpointProblem(this.keys, of.kind, of.id, cp);
    if (problem) {
      this.problems.push({ seq: cp.seq, ...problem });
      return;
    }
    if (!this.signers.has(cp.seq)) this.signers.set(cp.seq, cp.keyId);
    if (this.verifier) this.verifier.addCheckpoint(cp);
    else this.leading.push(cp);
  }

  line(raw: string | Uint8Array): boolean {
    const bytes = asBuffer(raw);
    return this.lineAt(bytes, 0, bytes.length);
  }

  /** The line at bytes[start, end), its line break excluded; the bytes are not kept. */
  lineAt(bytes: Buffer, start: number, end: number): boolean {
    if (end - start > MAX_LINE_BYTES) {
      this.lineTooLong();
      return false;
    }
    this.lineNo++;
    if (end > start && bytes[end - 1] === 13 /* \r */) end--;
    if (end === start) return true;
    if (isCheckpointLine(bytes, start, end)) {
      this.checkpointLine(bytes.toString('utf8', start, end));
      return true;
    }
    return this.entry(splitEntryBytes(bytes, start, end, this.last?.hash));
  }

  /**
   * A chunk's lines as a hash pool thread split and hashed them (line-batch.ts), `bytes` the
   * chunk: the same verdict as feeding its lines one by one.
   */
  batch(batch: LineBatch, bytes: Buffer): boolean {
    const hashOf = (index: number) => latin1(bytes, batch.hashAt[index]!, batch.hashAt[index]! + 64);
    for (const item of batch.items) {
      if (item.kind === 'long') {
        this.lineNo += item.blank;
        this.lineTooLong();
        return false;
      }
      this.lineNo += item.blank + 1;
      if (item.kind === 'checkpoint') {
        this.checkpointLine(item.text);
        continue;
      }
      if (item.kind === 'bad') {
        if (!this.entry(undefined)) return false;
        continue;
      }
      if (!this.entry(item.first)) return false;
      if (item.count === 1) continue;
      const verifier = this.verifier!;
      const firstSeq = item.first.seq;
      const at = (seq: number) => hashOf(item.from + seq - firstSeq);
      if (verifier.undecided) {
        // The first entry's link broke: the second tells which of the two was changed.
        this.lineNo++;
        const second = at(firstSeq + 1);
        verifier.push(firstSeq + 1, item.first.hash, second, second);
        return false;
      }
      verifier.advance(item.lastSeq, at);
      this.lineNo += item.count - 1;
      if (verifier.failed) return false;
      this.last = { seq: item.lastSeq, prevHash: at(item.lastSeq - 1), hash: item.lastHash };
    }
    this.lineNo += batch.trailingBlank;
    return true;
  }

  private checkpointLine(text: string): void {
    const cp = readCheckpoint(text);
    if (cp) this.acceptCheckpoint(cp);
    else {
      const at = (this.verifier?.head.seq ?? 0) + 1;
      this.problems.push({
        seq: at,
        reason: 'malformed',
        detail: `line ${this.lineNo} is not a checkpoint`,
      });
    }
  }

  /** An entry line as split (undefined: the line is not an entry). */
  private entry(entry: SplitEntry | undefined): boolean {
    let verifier = this.verifier;
    if (!verifier) {
      const firstSeq = entry?.seq ?? 1;
      const anchor = this.leading.find((cp) => cp.seq === firstSeq - 1);
      verifier = anchor
        ? new ChainVerifier({ seq: anchor.seq, hash: anchor.hash, signed: true })
        : firstSeq === 1
          ? new ChainVerifier({ seq: 0, hash: GENESIS_HASH, signed: true })
          : new ChainVerifier();
      for (const cp of this.leading) if (cp !== anchor) verifier.addCheckpoint(cp);
      this.verifier = verifier;
    }
    if (!entry) {
      this.firstBadLine ??= this.lineNo;
      verifier.fail(
        (verifier.head.seq ?? 0) + 1,
        'malformed',
        `line ${this.lineNo} is not an exported audit entry`,
      );
      return false;
    }
    const chainId = entry.chainId ?? null;
    if (this.firstChain === undefined) this.firstChain = chainId;
    else if (chainId !== this.firstChain) {
      // An entry of another log spliced in: whatever its links, it is not part of this one.
      this.firstBadLine = this.lineNo;
      verifier.fail(
        (verifier.head.seq ?? 0) + 1,
        'foreign_entry',
        `line ${this.lineNo} (seq ${entry.seq}) belongs to another log (${chainId ?? 'none named'}), ` +
          `not to ${this.firstChain ?? 'the unnamed one'} whose log the file's first entry starts`,
      );
      return false;
    }
    const last = this.last;
    if (last && entry.seq === last.seq && entry.prevHash === last.prevHash && entry.hash !== last.hash) {
      // Two different entries claim the same place in the chain: whichever is the original, the
      // entry at that sequence number is not (only) what was written.
      verifier.fail(
        entry.seq,
        'out_of_order',
        `two different entries claim seq ${entry.seq}, each following entry ${entry.seq - 1}: one was inserted`,
      );
      return false;
    }
    verifier.push(entry.seq, entry.prevHash, entry.hash, entry.computed);
    if (verifier.failed) return false;
    this.last = entry;
    return true;
  }

  /** A line longer than MAX_LINE_BYTES (wherever chunks end): not an entry; nothing after it is read. */
  lineTooLong(): void {
    this.lineNo++;
    const at = (this.verifier?.head.seq ?? 0) + 1;
    this.problems.push({
      seq: at,
      reason: 'malformed',
      detail: `line ${this.lineNo} is longer than ${MAX_LINE_BYTES} bytes: not an exported audit entry`,
    });
  }

  finish(): FileVerifyReport {
    let verifier = this.verifier;
    if (!verifier) {
      // No entry at all: any signed checkpoint names entries that should be here.
      verifier = new ChainVerifier({ seq: 0, hash: GENESIS_HASH, signed: true });
      for (const cp of this.leading) verifier.addCheckpoint(cp);
    }
    // A problem with a checkpoint counts where it sits in the chain, unless the chain broke earlier.
    for (const p of this.problems.sort((a, b) => a.seq - b.seq)) verifier.fail(p.seq, p.reason, p.detail);
    const report: FileVerifyReport = verifier.finish();
    if (report.ok && report.headSeq !== null && (report.signedSeq ?? 0) < report.headSeq) {
      const from = (report.signedSeq ?? 0) + 1;
      Object.assign(report, {
        ok: false,
        firstBadSeq: from,
        reason: 'unsigned_tail',
        detail: `entries from ${from} on are not vouched for by a signed checkpoint: they could have been rewritten`,
      });
    }
    const signer = report.signedSeq === null ? undefined : this.signers.get(report.signedSeq);
    if (signer) report.signedBy = signer;
    if (this.chain) report.chain = this.chain;
    if (
      this.firstBadLine !== undefined &&
      (report.reason === 'malformed' || report.reason === 'foreign_entry')
    )
      report.firstBadLine = this.firstBadLine;
    return report;
  }
}

/**
 * Verifies an exported JSON Lines audit log offline, with the public keys the verifier trusts
 * (by key id), plus any checkpoints held separately (e.g. saved from GET audit-checkpoints
 * earlier, to catch a file cut short together with its last checkpoint). OK only when every entry
 * is intact, in order, anchored at its start and vouched for up to the last one by a valid
 * signature; otherwise the first sequence number that is not what was written. Lines may be text
 * or UTF-8 bytes, without their line breaks.
 */
export async function verifyExportLines(
  lines: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  keys: ReadonlyMap<string, KeyObject>,
  extraCheckpoints: readonly Checkpoint[] = [],
): Promise<FileVerifyReport> {
  const state = new ExportVerifier(keys, extraCheckpoints);
  for await (const line of lines) if (!state.line(line)) break;
  return state.finish();
}

/**
 * The same from the file's bytes as they are read (e.g. an fs.ReadStream with large chunks): the
 * lines are found in each chunk without decoding it or allocating a string per line, and only a
 * line that straddles two chunks is copied. Stops reading at the first failure.
 *
 * With `pool`, the chunks' lines are split and hashed on its threads, several chunks at once,
 * and the verdicts are taken in file order: the same report, on every core.
 */
export async function verifyExportStream(
  chunks: AsyncIterable<Uint8Array | string>,
  keys: ReadonlyMap<string, KeyObject>,
  extraCheckpoints: readonly Checkpoint[] = [],
  options: { pool?: Pick<HashPool, 'splitLines' | 'size'> } = {},
): Promise<FileVerifyReport> {
  const state = new ExportVerifier(keys, extraCheckpoints);
  if (options.pool) return verifyOnThreads(chunks, state, options.pool);
  /** The start of a line whose end is in a later chunk, in pieces (copied: a source may reuse its buffer). */
  const carry: Buffer[] = [];
  let carried = 0;
  let going = true;
  for await (const piece of chunks) {
    const chunk = asBuffer(piece);
    let start = 0;
    let nl = chunk.indexOf(10);
    if (carried > 0 && nl >= 0) {
      carry.push(chunk.subarray(0, nl));
      going = state.line(Buffer.concat(carry));
      carry.length = 0;
      carried = 0;
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    for (; going && nl >= 0; nl = chunk.indexOf(10, start)) {
      going = state.lineAt(chunk, start, nl);
      start = nl + 1;
    }
    if (!going) break;
    if (start < chunk.length) {
      carry.push(Buffer.from(chunk.subarray(start)));
      carried += chunk.length - start;
      if (carried > MAX_LINE_BYTES) {
        state.lineTooLong();
        going = false;
        break;
      }
    }
  }
  if (going && carried > 0) state.line(Buffer.concat(carry));
  return state.finish();
}

/**
 * verifyExportStream on the pool's threads: each chunk's complete lines (with the start of the
 * line the chunk before left open) are copied into memory of their own, which moves to a thread
 * and back; up to two chunks a thread are out at a time, and the answers are applied in file order.
 */
function verifyOnThreads(
  chunks: AsyncIterable<Uint8Array | string>,
  state: ExportVerifier,
  pool: Pick<HashPool, 'splitLines' | 'size'>,
): Promise<FileVerifyReport> {
  const iterator = chunks[Symbol.asyncIterator]();
  let pending: Buffer | undefined;
  return verifyInto(
    async (into) => {
      if (!pending) {
        const next = await iterator.next();
        if (next.done) return 0;
        pending = asBuffer(next.value);
      }
      const n = pending.copy(into, 0);
      pending = n < pending.length ? pending.subarray(n) : undefined;
      return n;
    },
    state,
    pool,
  );
}

/**
 * Verifies an export read straight into the memory its chunks are split in, on the pool's
 * threads (`read` fills the buffer it is given from where the last read ended, and answers the
 * bytes read, 0 at the end): the same report as verifyExportStream, without copying each chunk
 * once more. What the command line uses on a long file.
 */
export async function verifyExportReader(
  read: (into: Buffer) => Promise<number>,
  keys: ReadonlyMap<string, KeyObject>,
  extraCheckpoints: readonly Checkpoint[],
  pool: Pick<HashPool, 'splitLines' | 'size'>,
): Promise<FileVerifyReport> {
  return verifyInto(read, new ExportVerifier(keys, extraCheckpoints), pool);
}

/** The bytes a chunk is read into, beyond the start of a line carried over from the one before. */
const CHUNK_BYTES = 1 << 20;

async function verifyInto(
  read: (into: Buffer) => Promise<number>,
  state: ExportVerifier,
  pool: Pick<HashPool, 'splitLines' | 'size'>,
): Promise<FileVerifyReport> {
  const inFlight: Array<{ length: number; answer: Promise<{ batch: LineBatch; bytes: ArrayBuffer }> }> = [];
  const spare: ArrayBuffer[] = [];
  let going = true;
  /** The oldest chunk's answer, applied; its memory is used again. */
  const applyOldest = async () => {
    const { length, answer } = inFlight.shift()!;
    const { batch, bytes } = await answer;
    if (going) going = state.batch(batch, Buffer.from(bytes, 0, length));
    spare.push(bytes);
  };
  /** The start of a line whose end is not read yet (a copy). */
  let carry: Buffer | undefined;
  try {
    for (;;) {
      const carried = carry?.length ?? 0;
      let memory = spare.pop();
      if (!memory || memory.byteLength < carried + CHUNK_BYTES)
        memory = new ArrayBuffer(carried + CHUNK_BYTES);
      const buffer = Buffer.from(memory);
      if (carry) carry.copy(buffer, 0);
      const n = await read(buffer.subarray(carried, carried + CHUNK_BYTES));
      if (n === 0) {
        spare.push(memory);
        break;
      }
      const end = carried + n;
      const nl = buffer.lastIndexOf(10, end - 1);
      if (nl < 0) {
        carry = Buffer.from(buffer.subarray(0, end));
        spare.push(memory);
        if (carry.length > MAX_LINE_BYTES) {
          while (inFlight.length > 0) await applyOldest();
          if (going) state.lineTooLong();
          going = false;
          carry = undefined;
          break;
        }
        continue;
      }
      carry = nl + 1 < end ? Buffer.from(buffer.subarray(nl + 1, end)) : undefined;
      inFlight.push({ length: nl + 1, answer: pool.splitLines(memory, nl + 1) });
      while (inFlight.length > 2 * pool.size || (inFlight.length > 0 && !going)) await applyOldest();
      if (!going) break;
    }
    while (inFlight.length > 0) await applyOldest();
    if (going && carry) state.line(carry);
    return state.finish();
  } finally {
    // Stopped early or failed: let the threads finish with what they were given.
    await Promise.allSettled(inFlight.map((f) => f.answer));
  }
}
