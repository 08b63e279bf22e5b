import { type SplitEntry, splitEntryBytes } from './verify.ts';

/**
 * What one chunk of an exported log holds, in file order, as the hash pool's threads hand it back
 * to the verifier (verify-file.ts):
 * - `run`: entries that follow one another without a flaw a verifier could find inside the run
 *   (each matches its hash, names the same chain, and commits to the entry before it with the
 *   next sequence number). Only the first is given whole; it still goes through every check, since
 *   how it joins what came before is the verifier's to judge. The others are vouched for by the
 *   thread, which hashed them; their stored hashes stay in the chunk at `hashAt`.
 * - `checkpoint`: a line that starts as a checkpoint does, as text.
 * - `bad`: a line that is not an exported entry.
 * `blank` counts the empty lines right before the item.
 */
export type LineItem =
  | {
      kind: 'run';
      blank: number;
      first: SplitEntry;
      /** Entries in the run, the first included. */
      count: number;
      lastSeq: number;
      lastHash: string;
      /** Index in `hashAt` of the first entry's hash. */
      from: number;
    }
  | { kind: 'checkpoint'; blank: number; text: string }
  | { kind: 'bad'; blank: number }
  /** A line longer than MAX_LINE_BYTES: the verdict; the lines after it are not split. */
  | { kind: 'long'; blank: number };

export interface LineBatch {
  items: LineItem[];
  /**
   * Where each entry's stored hash (64 hex digits) starts in the chunk, runs' entries in file
   * order: a checkpoint that names an entry inside a run is checked against it.
   */
  hashAt: Int32Array;
  /** The empty lines after the last item. */
  trailingBlank: number;
}

/**
 * Longest line a verifier reads (its bytes before the line break), whether it lies within one
 * chunk or across several: far beyond any entry (the before/after objects of one change), small
 * enough that a file without line breaks cannot exhaust memory.
 */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

const CHECKPOINT_BYTES = Buffer.from('{"checkpoint":');

/** Whether the line at bytes[start, end) starts as a checkpoint line does. */
export function isCheckpointLine(bytes: Uint8Array, start: number, end: number): boolean {
  // An entry line starts `{"action"`: the third byte tells them apart before any comparison.
  if (end - start < CHECKPOINT_BYTES.length || bytes[start + 2] !== CHECKPOINT_BYTES[2]) return false;
  for (let i = 0; i < CHECKPOINT_BYTES.length; i++)
    if (bytes[start + i] !== CHECKPOINT_BYTES[i]) return false;
  return true;
}

/** The shortest line that can hold an entry (its hash member and top-level id at least). */
const MIN_ENTRY_BYTES = 81;

/**
 * Splits and hashes every line of `bytes[0, length)`, complete lines only (the last may lack its
 * line break). Runs on the hash pool's threads; the verifier decides from what it returns.
 */
export function splitLineBatch(bytes: Buffer, length: number): LineBatch {
  const items: LineItem[] = [];
  const hashAt = new Int32Array(Math.ceil(length / MIN_ENTRY_BYTES) + 1);
  let entries = 0;
  let blank = 0;
  let run: Extract<LineItem, { kind: 'run' }> | undefined;
  for (let start = 0; start < length; ) {
    let end = bytes.indexOf(10, start);
    if (end < 0 || end > length) end = length;
    const next = end + 1;
    if (end - start > MAX_LINE_BYTES) {
      items.push({ kind: 'long', blank });
      return { items, hashAt: hashAt.subarray(0, entries), trailingBlank: 0 };
    }
    if (end > start && bytes[end - 1] === 13 /* \r */) end--;
    if (end === start) {
      blank++;
      run = undefined;
      start = next;
      continue;
    }
    if (isCheckpointLine(bytes, start, end)) {
      items.push({ kind: 'checkpoint', blank, text: bytes.toString('utf8', start, end) });
      blank = 0;
      run = undefined;
      start = next;
      continue;
    }
    const entry = splitEntryBytes(bytes, start, end, run?.lastHash);
    start = next;
    if (!entry) {
      items.push({ kind: 'bad', blank });
      blank = 0;
      run = undefined;
      continue;
    }
    const intact = entry.hash === entry.computed;
    if (
      run &&
      intact &&
      entry.seq === run.lastSeq + 1 &&
      entry.prevHash === run.lastHash &&
      entry.chainId === run.first.chainId
    ) {
      run.count++;
      run.lastSeq = entry.seq;
      run.lastHash = entry.hash;
      hashAt[entries++] = entry.hashAt!;
      continue;
    }
    const item: Extract<LineItem, { kind: 'run' }> = {
      kind: 'run',
      blank,
      first: entry,
      count: 1,
      lastSeq: entry.seq,
      lastHash: entry.hash,
      from: entries,
    };
    hashAt[entries++] = entry.hashAt!;
    items.push(item);
    blank = 0;
    // An entry that does not match its hash ends the run it starts: the verifier stops there.
    run = intact ? item : undefined;
  }
  return { items, hashAt: hashAt.subarray(0, entries), trailingBlank: blank };
}
