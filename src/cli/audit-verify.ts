/**
 * `gatehouse audit verify FILE --public-key KEY`: checks an exported JSON Lines audit log offline,
 * with nothing but the file, the public keys the verifier trusts and, optionally, checkpoints held
 * outside the installation (`--checkpoints`): saved from GET /api/v1/orgs/:orgId/audit-checkpoints,
 * or gathered by a receiver of the `audit.checkpoint` event. They catch a log cut short together
 * with its last checkpoints, even when the database's own head was wound back to match. The file
 * is read as a stream: memory stays bounded by the longest line, whatever the length of the log.
 */
import type { KeyObject } from 'node:crypto';
import fs from 'node:fs';
import { availableParallelism } from 'node:os';
import { HashPool } from '../server/platform/audit/hash-pool.ts';
import { type Checkpoint, keyIdOf, parsePublicKey } from '../server/platform/audit/keys.ts';
import {
  chainOfCheckpoint,
  type FileVerifyReport,
  MAX_LINE_BYTES,
  verifyExportReader,
  verifyExportStream,
} from '../server/platform/audit/verify-file.ts';

/** Something wrong with how the command was called (exit code 2), not with the log. */
export class UsageError extends Error {}

export interface AuditVerifyOptions {
  publicKey?: string[];
  checkpoints?: string;
  json?: boolean;
}

const PEM_BLOCK = /-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g;

function isFile(value: string): boolean {
  try {
    return fs.statSync(value).isFile();
  } catch {
    return false;
  }
}

function readText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}

/**
 * The keys in one text: SPKI PEM (one or more blocks), a JWK, one key as GET /api/v1/audit-keys
 * lists it, that whole response (`{items: [...]}`) or an array of such, or raw base64url keys
 * separated by commas or white space.
 */
function keysInText(text: string): KeyObject[] {
  const value = text.trim();
  if (value.startsWith('-----BEGIN')) {
    return (value.match(PEM_BLOCK) ?? [value]).map((pem) => parsePublicKey(pem));
  }
  if (value.startsWith('{') || value.startsWith('[')) {
    const json = JSON.parse(value) as unknown;
    const items = Array.isArray(json)
      ? json
      : json && typeof json === 'object' && Array.isArray((json as { items?: unknown }).items)
        ? (json as { items: unknown[] }).items
        : [json];
    return items.map((item) => parsePublicKey(JSON.stringify(item)));
  }
  return value
    .split(/[\s,]+/)
    .filter((part) => part !== '')
    .map((part) => parsePublicKey(part));
}

/**
 * The trusted keys by key id, from `--public-key` values: each a file holding keys or the keys
 * themselves. The key id is recomputed from each key (RFC 7638), never taken from the input.
 */
export function loadPublicKeys(values: readonly string[]): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  const add = (value: string) => {
    const fromFile = isFile(value);
    const text = fromFile ? readText(value, 'the public key file') : value;
    let found: KeyObject[];
    try {
      found = keysInText(text);
    } catch (err) {
      const why = (err as Error).message;
      if (fromFile) {
        throw new UsageError(
          `the public key file ${value} holds no Ed25519 public key (PEM, JWK or base64url): ${why}`,
        );
      }
      if (/[/\\]|\.(pem|json|jwk|pub|key|txt)$/i.test(value)) {
        throw new UsageError(`the public key file ${value} does not exist`);
      }
      throw new UsageError(
        `--public-key ${value} is neither a file nor an Ed25519 public key (PEM, JWK or base64url): ${why}`,
      );
    }
    for (const key of found) {
      if (key.asymmetricKeyType !== 'ed25519') {
        throw new UsageError(`--public-key ${value}: audit checkpoints are signed with Ed25519 keys`);
      }
      keys.set(keyIdOf(key), key);
    }
  };
  for (const value of values) {
    // A JSON or PEM value may itself hold commas; anything else may be a comma-separated list.
    const pieces =
      isFile(value) || /^\s*(\{|\[|-----BEGIN)/.test(value)
        ? [value]
        : value.split(',').filter((v) => v.trim() !== '');
    for (const piece of pieces) add(piece.trim());
  }
  if (keys.size === 0) throw new UsageError('--public-key names no key');
  return keys;
}

/**
 * The checkpoint one item holds: a checkpoint, an export's `{"checkpoint": …}` line, or an
 * `audit.checkpoint` event — as a webhook delivered it (`{type, timestamp, data}`) or as the
 * platform emits it (`{id, type, orgId, timestamp, data}`). Undefined for an event of another type
 * (a receiver's log may hold every event it was sent).
 */
function checkpointOf(value: unknown, where: string): Checkpoint | undefined {
  let item = value;
  if (item && typeof item === 'object' && 'checkpoint' in item)
    item = (item as { checkpoint: unknown }).checkpoint;
  else if (item && typeof item === 'object' && typeof (item as { type?: unknown }).type === 'string') {
    const event = item as { type: string; data?: unknown };
    if (event.type !== 'audit.checkpoint') return undefined;
    item = event.data;
  }
  const cp = item as Partial<Checkpoint> | null;
  if (
    !cp ||
    typeof cp !== 'object' ||
    !Number.isSafeInteger(cp.seq) ||
    (cp.seq as number) < 0 ||
    typeof cp.hash !== 'string' ||
    typeof cp.signedAt !== 'string' ||
    typeof cp.keyId !== 'string' ||
    typeof cp.signature !== 'string'
  ) {
    throw new UsageError(`${where} is not a signed checkpoint (seq, hash, signedAt, keyId, signature)`);
  }
  const { orgId, userId, seq, hash, signedAt, keyId, signature } = cp as Checkpoint;
  const instanceId = (cp as { instanceId?: unknown }).instanceId;
  return {
    ...(orgId !== undefined ? { orgId } : {}),
    ...(userId !== undefined ? { userId } : {}),
    ...(instanceId !== undefined ? { instanceId } : {}),
    seq: seq as number,
    hash: hash as string,
    signedAt: signedAt as string,
    keyId: keyId as string,
    signature: signature as string,
  } as Checkpoint;
}

/** The items a JSON value holds: an array's, a `{items: [...]}` response's, or the value itself. */
function itemsOf(json: unknown): unknown[] {
  if (Array.isArray(json)) return json;
  if (json && typeof json === 'object' && Array.isArray((json as { items?: unknown }).items))
    return (json as { items: unknown[] }).items;
  return [json];
}

/**
 * A file's non-blank lines, read a chunk at a time: memory holds one chunk and one line, whatever
 * the file's length. A line longer than `MAX_LINE_BYTES` is a usage error.
 */
function* fileLines(file: string, chunkBytes = 1 << 20): Generator<{ text: string; no: number }> {
  const fd = fs.openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(chunkBytes);
    const carry: Buffer[] = [];
    let carried = 0;
    let no = 0;
    const line = (piece: Buffer) => {
      no++;
      const bytes = carried > 0 ? Buffer.concat([...carry, piece]) : piece;
      carry.length = 0;
      carried = 0;
      const text = bytes.toString('utf8');
      return text.trim() === '' ? undefined : { text, no };
    };
    for (;;) {
      const bytesRead = fs.readSync(fd, chunk, 0, chunkBytes, null);
      if (bytesRead === 0) break;
      const read = chunk.subarray(0, bytesRead);
      let start = 0;
      for (let nl = read.indexOf(10); nl !== -1; nl = read.indexOf(10, start)) {
        const found = line(read.subarray(start, nl));
        if (found) yield found;
        start = nl + 1;
      }
      if (start < bytesRead) {
        // The start of a line that goes on in the next chunk (copied: the chunk is read into again).
        carry.push(Buffer.from(read.subarray(start)));
        carried += bytesRead - start;
        if (carried > MAX_LINE_BYTES) {
          throw new UsageError(
            `line ${no + 1} of the checkpoints file ${file} is longer than ${MAX_LINE_BYTES} bytes`,
          );
        }
      }
    }
    if (carried > 0) {
      const found = line(Buffer.alloc(0));
      if (found) yield found;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Checkpoints held outside the installation: the GET audit-checkpoints response (`{items: [...]}`),
 * an array, or JSON Lines — of checkpoints, of an export's checkpoint lines, or of
 * `audit.checkpoint` events (their bodies as a receiver got them, or their `data`). Events of
 * other types are skipped. JSON Lines are read a line at a time and only the checkpoints kept: a
 * receiver's log of every event it was sent may be far larger than memory.
 */
export function loadCheckpoints(file: string): Checkpoint[] {
  const found: Checkpoint[] = [];
  try {
    let first = true;
    for (const { text, no } of fileLines(file)) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        // Not JSON Lines: one JSON document over several lines (a saved response, pretty-printed).
        if (first) return loadDocument(file);
        throw new UsageError(`line ${no} of the checkpoints file ${file} is not JSON`);
      }
      first = false;
      const items = itemsOf(json);
      const alone = items.length === 1 && items[0] === json;
      for (const [i, item] of items.entries()) {
        const cp = checkpointOf(item, alone ? `line ${no} of ${file}` : `item ${i} of line ${no} of ${file}`);
        if (cp) found.push(cp);
      }
    }
    return found;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read the checkpoints file ${file}: ${(err as Error).message}`);
  }
}

/** The checkpoints in a file holding one JSON document. */
function loadDocument(file: string): Checkpoint[] {
  const text = readText(file, 'the checkpoints file');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`the checkpoints file ${file} is not JSON: ${(err as Error).message}`);
  }
  return itemsOf(json).flatMap((item, i) => checkpointOf(item, `item ${i} of ${file}`) ?? []);
}

type ChainRef = { kind: 'org' | 'user' | 'instance'; id: string };

/** The log an export belongs to, from its first entry or checkpoint line (undefined: neither found). */
export async function chainOfExport(file: string): Promise<ChainRef | undefined> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const buffer = Buffer.alloc(256 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    for (const line of buffer.toString('utf8', 0, bytesRead).split('\n')) {
      let item: Record<string, unknown>;
      try {
        item = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (!item || typeof item !== 'object') continue;
      const named = (item.checkpoint ?? item) as Record<string, unknown>;
      const chain = chainOfCheckpoint(named as unknown as Checkpoint);
      if (chain) return chain;
    }
    return undefined;
  } finally {
    await handle.close();
  }
}

const sameChain = (a: ChainRef | undefined, b: ChainRef | undefined) =>
  !!a && !!b && a.kind === b.kind && a.id === b.id;

/**
 * Of the checkpoints held outside, those of the export's own log (a receiver may gather several
 * organizations' checkpoints in one file). Refuses a file that holds no checkpoint, or checkpoints
 * of other logs only: checking against it would vouch for nothing.
 */
export function witnessedFor(
  chain: ChainRef | undefined,
  checkpoints: readonly Checkpoint[],
  file: string,
): Checkpoint[] {
  if (checkpoints.length === 0) {
    throw new UsageError(`the checkpoints file ${file} holds no checkpoint: it would vouch for nothing`);
  }
  if (!chain) return [...checkpoints];
  const own = checkpoints.filter((cp) => {
    const of = chainOfCheckpoint(cp);
    return !of || sameChain(of, chain);
  });
  if (checkpoints.length > 0 && own.length === 0) {
    throw new UsageError(
      `the checkpoints file ${file} holds ${checkpoints.length} checkpoint${checkpoints.length === 1 ? '' : 's'}, ` +
        `none of the ${chain.kind} ${chain.id} whose log the export holds`,
    );
  }
  return own;
}

function assertFile(file: string): void {
  if (!isFile(file)) {
    throw new UsageError(
      fs.existsSync(file)
        ? `${file} is not a file`
        : `${file} does not exist (expected an exported .jsonl file)`,
    );
  }
}

/**
 * The file's bytes, a large chunk at a time, in two buffers taking turns: the next chunk is read
 * while the current one is checked, and nothing is allocated per read. A chunk is valid until the
 * next one is asked for.
 */
export async function* readChunks(file: string, size = 1 << 20): AsyncGenerator<Buffer> {
  const handle = await fs.promises.open(file, 'r');
  let filling = Buffer.allocUnsafe(size);
  let spare = Buffer.allocUnsafe(size);
  let position = 0;
  let pending = handle.read(filling, 0, size, position);
  try {
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) return;
      position += bytesRead;
      const chunk = filling.subarray(0, bytesRead);
      [filling, spare] = [spare, filling];
      pending = handle.read(filling, 0, size, position);
      yield chunk;
    }
  } finally {
    // A read may still be under way when the caller stops early: let it end before closing.
    await pending.catch(() => undefined);
    await handle.close();
  }
}

/** Verifies an export file, reading it as a stream of large chunks. */
export async function verifyExportFile(
  file: string,
  keys: ReadonlyMap<string, KeyObject>,
  checkpoints: readonly Checkpoint[] = [],
): Promise<FileVerifyReport> {
  assertFile(file);
  // A long log is split and hashed on a thread per core; a short one is done before threads start.
  const pool =
    fs.statSync(file).size >= THREADS_FROM_BYTES && availableParallelism() > 1
      ? new HashPool((err, msg) => process.stderr.write(`${msg}: ${(err as Error).message}\n`))
      : undefined;
  try {
    if (pool) {
      const handle = await fs.promises.open(file, 'r');
      try {
        let position = 0;
        const read = async (into: Buffer) => {
          const { bytesRead } = await handle.read(into, 0, into.length, position);
          position += bytesRead;
          return bytesRead;
        };
        return await verifyExportReader(read, keys, checkpoints, pool);
      } catch {
        // A thread failed (the file's own problems are a report, not an error): on this one.
      } finally {
        await pool.close();
        await handle.close();
      }
    }
    return await verifyExportStream(readChunks(file), keys, checkpoints);
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** The size from which verifyExportFile uses threads (starting them costs tens of milliseconds). */
export const THREADS_FROM_BYTES = 8 * 1024 * 1024;

/** What the checkpoints held outside (`--checkpoints`) covered: how many, up to which entry. */
export interface Witnessed {
  checkpoints: number;
  throughSeq: number | null;
}

/** The one-line verdict. */
export function describeReport(report: FileVerifyReport & { witnessed?: Witnessed }): string {
  const witnessedSeq = report.witnessed?.throughSeq ?? null;
  if (!report.ok) {
    const line = report.firstBadLine === undefined ? '' : `, line ${report.firstBadLine}`;
    const cut =
      report.reason === 'truncated' && witnessedSeq !== null && witnessedSeq >= (report.firstBadSeq ?? 0)
        ? `; a checkpoint held outside the installation (--checkpoints) vouches for entries through ${witnessedSeq}: ` +
          `entries ${report.firstBadSeq} to ${witnessedSeq} were cut off the end of the log after they were witnessed`
        : '';
    return `FAIL at seq ${report.firstBadSeq}${line} (${report.reason}): ${report.detail}${cut}`;
  }
  if (report.checked === 0) return 'FAIL: the file holds no audit entries';
  const signer = report.signedBy ? ` by key ${report.signedBy}` : '';
  // Whose log it is: a valid export of another organization verifies just as well.
  const chain = report.chain ? ` of ${report.chain.kind} ${report.chain.id}` : '';
  const witness = witnessedSeq === null ? '' : `, witnessed through seq ${witnessedSeq}`;
  return (
    `OK: ${report.checked} ${report.checked === 1 ? 'entry' : 'entries'}${chain} (seq ${report.firstSeq}–${report.headSeq}), ` +
    `head ${report.headSeq} ${report.headHash}, signed through seq ${report.signedSeq}${signer}${witness}`
  );
}

/**
 * The command: prints the verdict (or the report as JSON) and returns the exit code: 0 when the
 * file verifies, 1 when it does not (or holds no entries), 2 on a usage error.
 */
export async function runAuditVerify(
  file: string,
  options: AuditVerifyOptions,
  out: { write(text: string): unknown } = process.stdout,
  err: { write(text: string): unknown } = process.stderr,
): Promise<number> {
  try {
    if (!options.publicKey || options.publicKey.length === 0) {
      throw new UsageError(
        'audit verify needs --public-key KEY (a file or the key; GET /api/v1/audit-keys lists them)',
      );
    }
    assertFile(file);
    const keys = loadPublicKeys(options.publicKey);
    const checkpoints = options.checkpoints
      ? witnessedFor(await chainOfExport(file), loadCheckpoints(options.checkpoints), options.checkpoints)
      : [];
    const report: FileVerifyReport & { witnessed?: Witnessed } = await verifyExportFile(
      file,
      keys,
      checkpoints,
    );
    if (options.checkpoints) {
      report.witnessed = {
        checkpoints: checkpoints.length,
        throughSeq: checkpoints.length === 0 ? null : Math.max(...checkpoints.map((cp) => cp.seq)),
      };
    }
    const ok = report.ok && report.checked > 0;
    if (options.json) {
      const shown =
        ok || !report.ok ? report : { ...report, ok: false, detail: 'the file holds no audit entries' };
      out.write(`${JSON.stringify(shown, null, 2)}\n`);
    } else {
      out.write(`${describeReport(report)}\n`);
    }
    return ok ? 0 : 1;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err.write(`gatehouse audit verify: ${e.message}\n`);
    return 2;
  }
}
