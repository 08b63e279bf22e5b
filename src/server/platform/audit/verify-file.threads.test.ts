import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { THREADS_FROM_BYTES, verifyExportFile } from '../../../cli/audit-verify.ts';
import { type AuditEntry, entryHash, entryLine, GENESIS_HASH } from './entry.ts';
import { HashPool } from './hash-pool.ts';
import { type Checkpoint, signCheckpoint, signingKeyFrom } from './keys.ts';
import { splitLineBatch } from './line-batch.ts';
import { MAX_LINE_BYTES, verifyExportReader, verifyExportStream } from './verify-file.ts';

const ORG = '0190a0b0-0000-7000-8000-00000000000a';
const OTHER_ORG = '0190a0b0-0000-7000-8000-00000000000b';
const key = signingKeyFrom(generateKeyPairSync('ed25519').privateKey);
const keys = new Map([[key.keyId, createPublicKey(key.privateKey)]]);

function chain(
  count: number,
  orgId = ORG,
  userAgent = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)',
): AuditEntry[] {
  const out: AuditEntry[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= count; seq++) {
    const entry: AuditEntry = {
      id: `0190a0b0-0000-7000-8000-${String(seq).padStart(12, '0')}`,
      orgId,
      seq,
      occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
      actor: { type: 'user', id: '0190a0b0-0000-7000-8000-0000000000ff', email: 'ana@example.com' },
      action: 'org.updated',
      target: { type: 'organization', id: orgId, name: `Acme, "Security" ${seq}` },
      before: { name: `Acme ${seq - 1}`, hash: 'not the top-level one' },
      after: { name: `Acme ${seq}`, note: seq % 7 === 0 ? ',"hash":"x"' : null },
      ip: seq % 3 === 0 ? null : '192.0.2.7',
      userAgent,
      requestId: `req-${seq}`,
      prevHash,
      hash: '',
    };
    entry.hash = entryHash(entry);
    prevHash = entry.hash;
    out.push(entry);
  }
  return out;
}

const checkpointOf = (entry: AuditEntry, orgId = ORG): Checkpoint =>
  signCheckpoint(key, 'org', orgId, { seq: entry.seq, hash: entry.hash, signedAt: entry.occurredAt });
const checkpointLine = (entry: AuditEntry) => JSON.stringify({ checkpoint: checkpointOf(entry) });

const entries = chain(60);
const lines = [...entries.map(entryLine), checkpointLine(entries.at(-1)!)];

function relinked(entry: AuditEntry, changes: Partial<AuditEntry>): string {
  const changed = { ...entry, ...changes };
  changed.hash = entryHash(changed);
  return entryLine(changed);
}

/** The chain with entry `seq` changed and every entry after it hashed and linked again. */
function rewrittenFrom(seq: number): AuditEntry[] {
  const out = entries.map((e) => ({ ...e }));
  out[seq - 1]!.action = 'org.renamed';
  for (let i = seq - 1; i < out.length; i++) {
    out[i]!.prevHash = i === 0 ? GENESIS_HASH : out[i - 1]!.hash;
    out[i]!.hash = entryHash(out[i]!);
  }
  return out;
}

/** The log as the file holds it, with each tampering a verifier must name. */
const variants: Record<string, { lines: string[]; extra?: Checkpoint[]; crlf?: boolean }> = {
  intact: { lines },
  'crlf and blank lines': { lines: [...lines.slice(0, 20), '', '', ...lines.slice(20), ''], crlf: true },
  edited: { lines: lines.map((l, i) => (i === 33 ? l.replace('Acme 34', 'Acme 43') : l)) },
  'edited and re-hashed': {
    lines: lines.map((l, i) => (i === 33 ? relinked(entries[33]!, { action: 'x' }) : l)),
  },
  'replaced whole': {
    lines: lines.map((l, i) =>
      i === 40 ? relinked(entries[40]!, { prevHash: entries[39]!.hash.replace(/^./, 'f') }) : l,
    ),
  },
  deleted: { lines: lines.filter((_, i) => i !== 25) },
  'inserted copy': { lines: [...lines.slice(0, 26), lines[25]!, ...lines.slice(26)] },
  swapped: { lines: [...lines.slice(0, 10), lines[11]!, lines[10]!, ...lines.slice(12)] },
  'not an entry': { lines: lines.map((l, i) => (i === 44 ? '{"action":"nope"}' : l)) },
  'bad checkpoint line': { lines: [...lines.slice(0, 30), '{"checkpoint":{"seq":"x"}}', ...lines.slice(30)] },
  'checkpoints in the middle': {
    lines: [...lines.slice(0, 30), checkpointLine(entries[29]!), ...lines.slice(30)],
  },
  'saved checkpoints inside runs': {
    lines,
    extra: [checkpointOf(entries[4]!), checkpointOf(entries[37]!), checkpointOf(entries[58]!)],
  },
  'rewritten from entry 12 on, caught by a saved checkpoint inside a run': {
    lines: [...rewrittenFrom(12).map(entryLine), lines.at(-1)!],
    extra: [checkpointOf(entries[20]!)],
  },
  'cut short': { lines: lines.slice(0, 50), extra: [checkpointOf(entries[59]!)] },
  unsigned: { lines: lines.slice(0, -1) },
  'leading checkpoint, later start': { lines: [checkpointLine(entries[9]!), ...lines.slice(10)] },
  'foreign entry': {
    lines: [...lines.slice(0, 35), entryLine(chain(36, OTHER_ORG)[35]!), ...lines.slice(36)],
  },
};

function fileOf(variant: { lines: string[]; crlf?: boolean }): Buffer {
  return Buffer.from(`${variant.lines.join(variant.crlf ? '\r\n' : '\n')}\n`);
}

async function* chunksOf(bytes: Buffer, size: number) {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** The pool's interface, run on this thread: the same batches without starting threads. */
let batches = 0;
const here = {
  size: 2,
  splitLines: async (bytes: ArrayBuffer, length: number) => {
    batches++;
    return { batch: splitLineBatch(Buffer.from(bytes, 0, length), length), bytes };
  },
};

const pool = new HashPool((err) => {
  throw err;
});
afterAll(() => pool.close());

describe('verification on the hash pool’s threads', () => {
  it('gives the same report as one line at a time, for every tampering and wherever chunks end', async () => {
    for (const [name, variant] of Object.entries(variants)) {
      const file = fileOf(variant);
      const expected = await verifyExportStream(chunksOf(file, file.length), keys, variant.extra);
      for (const size of [97, 1024, 4000, file.length]) {
        const report = await verifyExportStream(chunksOf(file, size), keys, variant.extra, { pool: here });
        expect({ name, size, report }).toEqual({ name, size, report: expected });
      }
      const threaded = await verifyExportStream(chunksOf(file, 4000), keys, variant.extra, { pool });
      expect({ name, report: threaded }).toEqual({ name, report: expected });
      // Read straight into the chunks, a few bytes or many at a time.
      for (const most of [333, 70_000]) {
        let at = 0;
        const read = async (into: Buffer) => {
          const n = file.copy(into, 0, at, Math.min(file.length, at + most));
          at += n;
          return n;
        };
        const report = await verifyExportReader(read, keys, variant.extra ?? [], pool);
        expect({ name, most, report }).toEqual({ name, most, report: expected });
      }
    }
    expect(batches).toBeGreaterThan(Object.keys(variants).length * 4);
  });

  it('finds each tampering where one line at a time finds it', async () => {
    const verdict = async (name: string) => {
      const variant = variants[name]!;
      const r = await verifyExportStream(chunksOf(fileOf(variant), 1024), keys, variant.extra, { pool });
      return r.ok ? 'ok' : `${r.reason}@${r.firstBadSeq}`;
    };
    expect(await verdict('intact')).toBe('ok');
    expect(await verdict('crlf and blank lines')).toBe('ok');
    expect(await verdict('edited')).toBe('hash_mismatch@34');
    expect(await verdict('edited and re-hashed')).toBe('broken_link@34');
    expect(await verdict('replaced whole')).toBe('broken_link@41');
    expect(await verdict('deleted')).toBe('missing_entry@26');
    expect(await verdict('inserted copy')).toBe('out_of_order@27');
    expect(await verdict('swapped')).toBe('missing_entry@11');
    expect(await verdict('not an entry')).toBe('malformed@45');
    expect(await verdict('checkpoints in the middle')).toBe('ok');
    expect(await verdict('saved checkpoints inside runs')).toBe('ok');
    expect(await verdict('rewritten from entry 12 on, caught by a saved checkpoint inside a run')).toBe(
      'checkpoint_mismatch@21',
    );
    expect(await verdict('cut short')).toBe('truncated@51');
    expect(await verdict('unsigned')).toBe('unsigned_tail@1');
    expect(await verdict('leading checkpoint, later start')).toBe('ok');
    expect(await verdict('foreign entry')).toBe('foreign_entry@36');
  });

  it('the command’s verifier takes threads for a long file and reports as it does without', async () => {
    const long = chain(THREADS_FROM_BYTES / 600, ORG, `agent ${'x'.repeat(500)}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-threads-'));
    try {
      const intact = path.join(dir, 'intact.jsonl');
      const edited = path.join(dir, 'edited.jsonl');
      const text = `${[...long.map(entryLine), JSON.stringify({ checkpoint: checkpointOf(long.at(-1)!) })].join('\n')}\n`;
      fs.writeFileSync(intact, text);
      fs.writeFileSync(edited, text.replace('"name":"Acme 9000"', '"name":"Acme 9001"'));
      expect(fs.statSync(intact).size).toBeGreaterThan(THREADS_FROM_BYTES);
      expect(await verifyExportFile(intact, keys)).toMatchObject({
        ok: true,
        checked: long.length,
        signedSeq: long.length,
      });
      expect(await verifyExportFile(edited, keys)).toMatchObject({
        ok: false,
        firstBadSeq: 9000,
        reason: 'hash_mismatch',
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // Four passes over a line of 64 MiB: about 25 s on a quiet 2-core machine, more when it is busy.
  it('a line past MAX_LINE_BYTES is refused wherever the chunks end, with threads or without', {
    timeout: 180_000,
  }, async () => {
    const long = Buffer.alloc(MAX_LINE_BYTES + 10, 0x61);
    const head = Buffer.from(`${lines.slice(0, 5).join('\n')}\n`);
    const file = Buffer.concat([head, long, Buffer.from(`\n${lines.slice(5).join('\n')}\n`)]);
    const reports = [
      await verifyExportStream(chunksOf(file, file.length), keys),
      await verifyExportStream(chunksOf(file, 1 << 20), keys),
      await verifyExportStream(chunksOf(file, file.length), keys, [], { pool: here }),
      await verifyExportStream(chunksOf(file, 1 << 20), keys, [], { pool }),
    ];
    expect(reports[0]).toMatchObject({ ok: false, reason: 'malformed', firstBadSeq: 6 });
    expect(reports[0]!.detail).toBe(
      `line 6 is longer than ${MAX_LINE_BYTES} bytes: not an exported audit entry`,
    );
    for (const report of reports) expect(report).toEqual(reports[0]);
  });

  it('a line longer than the limit is named as it is without threads', async () => {
    const variant = { lines: [...lines.slice(0, 5), `{"action":"${'x'.repeat(3000)}"}`, ...lines.slice(5)] };
    const file = fileOf(variant);
    const expected = await verifyExportStream(chunksOf(file, 512), keys);
    expect(await verifyExportStream(chunksOf(file, 512), keys, [], { pool: here })).toEqual(expected);
    expect(expected).toMatchObject({ ok: false, reason: 'malformed', firstBadSeq: 6, firstBadLine: 6 });
  });
});
