/**
 * Offline verification of an exported audit log: entries per second through the real verifier,
 * against the bare cost of what it cannot avoid (reading the file, one SHA-256 per line) in the
 * same run.
 *
 * Data (seeded, the same on every run): one organization's chain of ENTRIES entries built in
 * memory with entryHash/entryLine, with realistic fields (user actor with an email, a target,
 * before/after objects of a few fields, an IPv4/IPv6 address, a ~80-character user agent, a
 * request id), written as a JSON Lines export (about 800 bytes a line) in a temporary folder, with
 * the trailing checkpoint signed by a fresh Ed25519 key (signingKeyFrom/signCheckpoint).
 *
 * Measured on one core (the process pins itself with `taskset -c 0` when it can; CPU-time rates
 * are printed too), best of ROUNDS, the file in the page cache:
 *   (a) verifyExportLines over node:readline lines (the library call with the obvious reader)
 *   (b) the CLI's path: verifyExportFile (verifyExportStream over 1 MiB chunks read into one
 *       reused buffer), and once the command itself as a process, start-up included
 *   (c) baseline: crypto.hash('sha256', line) on every line's bytes, the lines already in memory
 *   (c') the same, reading and splitting the file as (d) does (the least any verifier must do)
 *   (d) reading the file and splitting it into lines with the CLI's reader, no hashing
 *   (e) the CLI's path on every core, as the command runs it on a long file: verifyExportReader
 *       (the file read straight into the chunks the threads split) with the hash pool (its threads started beforehand; their start-up is printed apart),
 *       lines split and hashed on the threads, in a process of its own left free to use every
 *       CPU (`taskset -c 0-N`), compared with (c) on one core
 * Targets: (b) >= 400,000 entries/s and >= 0.5 x (c); (e) >= 1 x (c).
 *
 *   node --import tsx bench/audit-verify.ts      BENCH_ENTRIES=1000000 BENCH_ROUNDS=3 BENCH_PIN=0 BENCH_KEEP=1
 */
import { spawnSync } from 'node:child_process';
import { createPublicKey, hash as digest, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadPublicKeys, readChunks } from '../src/cli/audit-verify.ts';
import { type AuditEntry, entryHash, entryLine, GENESIS_HASH } from '../src/server/platform/audit/entry.ts';
import { HashPool } from '../src/server/platform/audit/hash-pool.ts';
import { signCheckpoint, signingKeyFrom } from '../src/server/platform/audit/keys.ts';
import {
  type FileVerifyReport,
  verifyExportLines,
  verifyExportReader,
  verifyExportStream,
} from '../src/server/platform/audit/verify-file.ts';
import { machineLine, prng, removeDir, tempDir } from './lib.ts';

const BIN = fileURLToPath(new URL('../bin/gatehouse.mjs', import.meta.url));
const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Keep the export and its public key (to time `gatehouse audit verify` on them by hand). */
const KEEP = process.env.BENCH_KEEP === '1';
const SEED = 9_120_433;
const TARGET_RATE = 400_000;
const TARGET_RATIO = 0.5;

const THREADS_CHILD = process.env.BENCH_THREADS_CHILD === '1';

// One core: re-run this script pinned to CPU 0 (and say so), unless asked not to or unable to.
if (
  !THREADS_CHILD &&
  process.env.BENCH_PIN !== '0' &&
  process.env.BENCH_PINNED !== '1' &&
  os.cpus().length > 1
) {
  const pinned = spawnSync(
    'taskset',
    ['-c', '0', process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    { stdio: 'inherit', env: { ...process.env, BENCH_PINNED: '1' } },
  );
  if (!pinned.error) process.exit(pinned.status ?? 1);
  process.stdout.write(`(taskset unavailable: ${pinned.error.message}; running unpinned)\n`);
}

const random = prng(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const hex = (n: number) => {
  let out = '';
  while (out.length < n)
    out += Math.floor(random() * 2 ** 32)
      .toString(16)
      .padStart(8, '0');
  return out.slice(0, n);
};
const uuid = () => `${hex(8)}-${hex(4)}-7${hex(3)}-${'89ab'[Math.floor(random() * 4)]}${hex(3)}-${hex(12)}`;

const FIRST = ['ana', 'bruno', 'chen', 'dmitri', 'elena', 'farah', 'goran', 'hana', 'ivan', 'jules'];
const LAST = ['silva', 'novak', 'okafor', 'tanaka', 'muller', 'rossi', 'kowalski', 'haddad'];
const DOMAINS = ['acme-security.example', 'corp.example', 'mail.example.org'];
const ROLES = ['owner', 'admin', 'developer', 'viewer', 'billing', 'auditor'];
const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'gatehouse-terraform-provider/1.4.2 (+https://registry.example/gatehouse) go-http-client/1.1',
];

/** One realistic change: what it was, what it became. */
function change(): Pick<AuditEntry, 'action' | 'target' | 'before' | 'after'> {
  const kind = Math.floor(random() * 4);
  if (kind === 0) {
    const role = pick(ROLES);
    return {
      action: 'member.role_changed',
      target: { type: 'member', id: uuid() },
      before: { role, roleId: uuid() },
      after: { role: pick(ROLES.filter((r) => r !== role)), roleId: uuid() },
    };
  }
  if (kind === 1) {
    return {
      action: 'member.invited',
      target: { type: 'invitation', id: uuid() },
      before: null,
      after: {
        email: `${pick(FIRST)}.${pick(LAST)}@${pick(DOMAINS)}`,
        role: pick(ROLES),
        expiresAt: new Date(1_717_200_000_000 + Math.floor(random() * 1e10)).toISOString(),
      },
    };
  }
  if (kind === 2) {
    return {
      action: 'org.updated',
      target: { type: 'organization', id: 'self' },
      before: { name: `Acme ${hex(4)}`, website: 'https://acme.example' },
      after: { name: `Acme ${hex(4)}`, website: 'https://acme-security.example' },
    };
  }
  return {
    action: 'token.created',
    target: { type: 'api_token', id: uuid() },
    before: null,
    after: { name: `ci-${hex(6)}`, scopes: ['members:read', 'audit:read'], expiresAt: null },
  };
}

/** Writes the chain as an export file; returns what verification must report. */
function writeExport(file: string) {
  const orgId = uuid();
  const people = Array.from({ length: 200 }, () => ({
    id: uuid(),
    email: `${pick(FIRST)}.${pick(LAST)}@${pick(DOMAINS)}`,
  }));
  const fd = fs.openSync(file, 'w');
  let prevHash = GENESIS_HASH;
  let bytes = 0;
  let batch: string[] = [];
  let at = Date.parse('2024-06-01T00:00:00.000Z');
  for (let seq = 1; seq <= ENTRIES; seq++) {
    const who = pick(people);
    const { target, ...rest } = change();
    at += Math.floor(random() * 60_000);
    const entry = {
      id: uuid(),
      orgId,
      seq,
      occurredAt: new Date(at).toISOString(),
      actor: { type: 'user' as const, id: who.id, email: who.email },
      ...rest,
      target: target.id === 'self' ? { type: target.type, id: orgId } : target,
      ip:
        random() < 0.8
          ? `${10 + Math.floor(random() * 200)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`
          : `2001:db8:${hex(4)}::${hex(4)}`,
      userAgent: pick(AGENTS),
      requestId: `req-${hex(16)}`,
      prevHash,
      hash: '',
    } satisfies AuditEntry;
    entry.hash = entryHash(entry);
    prevHash = entry.hash;
    batch.push(entryLine(entry));
    if (batch.length === 10_000) {
      const text = `${batch.join('\n')}\n`;
      bytes += fs.writeSync(fd, text);
      batch = [];
    }
  }
  if (batch.length > 0) bytes += fs.writeSync(fd, `${batch.join('\n')}\n`);
  const key = signingKeyFrom(generateKeyPairSync('ed25519').privateKey);
  const cp = signCheckpoint(key, 'org', orgId, {
    seq: ENTRIES,
    hash: prevHash,
    signedAt: new Date(at).toISOString(),
  });
  bytes += fs.writeSync(fd, `${JSON.stringify({ checkpoint: cp })}\n`);
  fs.closeSync(fd);
  return {
    headHash: prevHash,
    bytes,
    keys: new Map([[key.keyId, createPublicKey(key.privateKey)]]),
    keyId: key.keyId,
    publicKeyPem: key.publicKeyPem,
  };
}

/**
 * Splits the file into lines as the verifier does (the CLI's reader: large chunks in reused
 * buffers, a native newline search); calls `each` with every line's place in its chunk.
 */
async function readSplit(file: string, each: (chunk: Buffer, start: number, end: number) => void) {
  let carry: Buffer | undefined;
  for await (const chunk of readChunks(file)) {
    let start = 0;
    let nl = chunk.indexOf(10);
    if (carry && nl >= 0) {
      const line = Buffer.concat([carry, chunk.subarray(0, nl)]);
      each(line, 0, line.length);
      carry = undefined;
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    for (; nl >= 0; nl = chunk.indexOf(10, start)) {
      each(chunk, start, nl);
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      carry = carry ? Buffer.concat([carry, rest]) : Buffer.from(rest);
    }
  }
  if (carry) each(carry, 0, carry.length);
}

interface Figure {
  wall: number;
  cpu: number;
  rounds: number[];
}

/** Best of ROUNDS (plus one warm-up), as entries per second of wall and of CPU time. */
async function measure(count: number, run: () => Promise<unknown> | unknown): Promise<Figure> {
  await run();
  const rounds: number[] = [];
  let best: Figure = { wall: 0, cpu: 0, rounds };
  for (let r = 0; r < ROUNDS; r++) {
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await run();
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpuBefore);
    const wall = count / seconds;
    rounds.push(wall);
    if (wall > best.wall) best = { wall, cpu: count / ((used.user + used.system) / 1e6), rounds };
  }
  return best;
}

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

function expectVerified(report: FileVerifyReport, headHash: string): void {
  if (!report.ok || report.checked !== ENTRIES || report.headHash !== headHash) {
    throw new Error(`the verifier did not accept the chain: ${JSON.stringify(report)}`);
  }
}

async function main(): Promise<void> {
  const dir = tempDir('audit-verify');
  try {
    const file = path.join(dir, 'export.jsonl');
    const built = performance.now();
    const { headHash, bytes, keys: publicKeys, keyId, publicKeyPem } = writeExport(file);
    fs.writeFileSync(path.join(dir, 'public-key.pem'), publicKeyPem);
    const buildSeconds = (performance.now() - built) / 1000;
    // The in-memory copy for the SHA-256 baseline: the same bytes, line boundaries found beforehand.
    const whole = fs.readFileSync(file);
    const starts: number[] = [];
    const ends: number[] = [];
    for (let s = 0, nl = whole.indexOf(10); nl >= 0; s = nl + 1, nl = whole.indexOf(10, s)) {
      if (whole[s] === 123 && whole[s + 2] === 99) continue; // the checkpoint line
      starts.push(s);
      ends.push(nl);
    }

    process.stdout.write('== Audit export verification: verifier vs raw SHA-256, one core ==\n');
    process.stdout.write(`${machineLine()}\n`);
    process.stdout.write(
      `pinned: ${process.env.BENCH_PINNED === '1' ? 'yes (taskset -c 0)' : 'no'}; load average ${os.loadavg()[0]!.toFixed(2)}\n`,
    );
    process.stdout.write(
      `data: ${fmt(ENTRIES)} entries, ${(bytes / 1e6).toFixed(0)} MB (${(bytes / ENTRIES).toFixed(0)} bytes a line), built and written in ${buildSeconds.toFixed(1)} s; seed ${SEED}; key ${keyId}\n`,
    );
    process.stdout.write(
      `timing: 1 warm-up + best of ${ROUNDS} rounds; entries/s wall (and per CPU-second)\n`,
    );

    const viaReadline = await measure(ENTRIES, async () => {
      const lines = readline.createInterface({
        input: fs.createReadStream(file, { highWaterMark: 1 << 20 }),
        crlfDelay: Number.POSITIVE_INFINITY,
      });
      expectVerified(await verifyExportLines(lines, publicKeys), headHash);
    });
    const viaCli = await measure(ENTRIES, async () => {
      expectVerified(await verifyExportStream(readChunks(file), publicKeys), headHash);
    });
    let sink = 0;
    const rawSha = await measure(ENTRIES, () => {
      for (let i = 0; i < starts.length; i++) {
        sink += digest('sha256', whole.subarray(starts[i]!, ends[i]!)).length;
      }
    });
    const readSha = await measure(ENTRIES, () =>
      readSplit(file, (chunk, start, end) => {
        if (chunk[start] === 123 && chunk[start + 2] === 99) return;
        sink += digest('sha256', chunk.subarray(start, end)).length;
      }),
    );
    let lines = 0;
    const readOnly = await measure(ENTRIES, async () => {
      lines = 0;
      await readSplit(file, () => {
        lines++;
      });
    });
    if (sink === 0 || lines !== ENTRIES + 1) throw new Error(`read ${lines} lines`);

    // On every core, in a process of its own that no pinning holds to one.
    const threaded = threadedFigure(file, path.join(dir, 'public-key.pem'), headHash);

    // The command as users run it, once, on every core: process start-up (and TypeScript loading
    // when there is no fresh bundle) included.
    const started = performance.now();
    const command = spawnSync(
      'taskset',
      [
        '-c',
        EVERY_CPU,
        process.execPath,
        BIN,
        'audit',
        'verify',
        file,
        '--public-key',
        path.join(dir, 'public-key.pem'),
      ],
      { encoding: 'utf8' },
    );
    const commandSeconds = (performance.now() - started) / 1000;
    if (command.status !== 0 || !command.stdout.startsWith(`OK: ${ENTRIES} entries`)) {
      throw new Error(
        `gatehouse audit verify failed (${command.status}): ${command.stdout}${command.stderr}`,
      );
    }

    const row = (label: string, f: Figure, note = '') =>
      `${label.padEnd(52)} ${fmt(f.wall).padStart(10)} /s wall ${fmt(f.cpu).padStart(10)} /s CPU   rounds ${f.rounds.map(fmt).join(', ')}${note}\n`;
    const verdict = (ok: boolean) => (ok ? 'MET' : 'MISSED');
    process.stdout.write(row('(a) verifyExportLines over node:readline', viaReadline));
    process.stdout.write(
      row(
        '(b) CLI path, one thread: verifyExportStream (chunks)',
        viaCli,
        `   target >= ${fmt(TARGET_RATE)}: ${verdict(viaCli.wall >= TARGET_RATE)}`,
      ),
    );
    process.stdout.write(
      `(b') gatehouse audit verify (one run, every core, process start-up included) ${fmt(ENTRIES / commandSeconds).padStart(10)} /s wall   ${commandSeconds.toFixed(2)} s\n`,
    );
    process.stdout.write(
      row(
        `(e) the CLI's path on ${threaded.threads} pool threads, every core`,
        threaded,
        `   target >= 1 x (c): ${verdict(threaded.wall >= rawSha.wall)}`,
      ),
    );
    process.stdout.write(row('(c) baseline: sha256 per line, lines in memory', rawSha));
    process.stdout.write(row("(c') sha256 per line, reading and splitting the file", readSha));
    process.stdout.write(row('(d) read + split the file, no hashing', readOnly));
    process.stdout.write(
      `ratio (b) CLI path / (c) raw sha256: ${(viaCli.wall / rawSha.wall).toFixed(3)} wall, ${(viaCli.cpu / rawSha.cpu).toFixed(3)} CPU   target >= ${TARGET_RATIO} -> ${verdict(viaCli.wall / rawSha.wall >= TARGET_RATIO)}\n`,
    );
    process.stdout.write(
      `(e) thread start-up, once: ${threaded.startup.toFixed(0)} ms (tsx from the sources; the built command loads dist/audit-hash-worker.mjs)\n`,
    );
    process.stdout.write(
      `ratio (e) threads / (c) raw sha256 on one core: ${(threaded.wall / rawSha.wall).toFixed(3)} wall   target >= 1 -> ${verdict(threaded.wall >= rawSha.wall)}\n`,
    );
    process.stdout.write(
      `ratio (a) readline / (c) raw sha256: ${(viaReadline.wall / rawSha.wall).toFixed(2)} wall; (b) / (c') read+sha256: ${(viaCli.wall / readSha.wall).toFixed(2)} wall\n`,
    );
  } finally {
    if (KEEP) process.stdout.write(`kept: ${dir} (export.jsonl, public-key.pem)\n`);
    else removeDir(dir);
  }
}

const EVERY_CPU = `0-${os.cpus().length - 1}`;

/** (e), measured by this script run again as a child on every CPU (see threadsChild). */
function threadedFigure(
  file: string,
  keyFile: string,
  headHash: string,
): Figure & { threads: number; startup: number } {
  const child = spawnSync(
    'taskset',
    ['-c', EVERY_CPU, process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    {
      encoding: 'utf8',
      env: {
        ...process.env,
        BENCH_THREADS_CHILD: '1',
        BENCH_FILE: file,
        BENCH_KEY_FILE: keyFile,
        BENCH_HEAD_HASH: headHash,
      },
    },
  );
  if (child.status !== 0) throw new Error(`the threaded run failed: ${child.stdout}${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!);
}

async function threadsChild(): Promise<void> {
  const file = process.env.BENCH_FILE!;
  const keys = loadPublicKeys([process.env.BENCH_KEY_FILE!]);
  // The threads start once, as in a server or a long verification: their start-up (loading the
  // worker's modules) is a fixed cost, timed on its own; (b') includes it.
  const pool = new HashPool((err) => {
    throw err;
  });
  const started = performance.now();
  await Promise.all(Array.from({ length: pool.size }, () => pool.splitLines(new ArrayBuffer(1), 0)));
  const startup = performance.now() - started;
  const figure = await measure(ENTRIES, async () => {
    const handle = await fs.promises.open(file, 'r');
    let position = 0;
    const read = async (into: Buffer) => {
      const { bytesRead } = await handle.read(into, 0, into.length, position);
      position += bytesRead;
      return bytesRead;
    };
    try {
      expectVerified(await verifyExportReader(read, keys, [], pool), process.env.BENCH_HEAD_HASH!);
    } finally {
      await handle.close();
    }
  });
  await pool.close();
  process.stdout.write(`${JSON.stringify({ ...figure, threads: pool.size, startup })}\n`);
}

if (THREADS_CHILD) await threadsChild();
else await main();
