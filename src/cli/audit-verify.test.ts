import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/support/app.ts';
import { runCli, tempDirs } from '../../test/support/cli.ts';
import { as, createOrg, expectStatus } from '../../test/support/orgs.ts';
import { type AuditEntry, entryHash, entryLine } from '../server/platform/audit/entry.ts';
import { keyIdOf, parsePublicKey } from '../server/platform/audit/keys.ts';
import { verifyExportLines, verifyExportStream } from '../server/platform/audit/verify-file.ts';

const dirs = tempDirs('gatehouse-audit-verify-');
/** Each test runs the command as a process (several at once): generous on a busy machine. */
const CLI_TIMEOUT = 120_000;

let t: TestApp;
let dir: string;
/** The export as the API sent it, line by line (entries, then the trailing checkpoint). */
let lines: string[];
let entries: AuditEntry[];
let orgId: string;
let keyId: string;
let keyPemFile: string;
let keysResponseFile: string;
let rawKey: string;
let checkpointsFile: string;

/** Writes `content` (lines, or text as it is) to a file in the test folder; returns its path. */
function save(name: string, content: string[] | string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, Array.isArray(content) ? `${content.join('\n')}\n` : content);
  return file;
}

/** `gatehouse audit verify FILE ARGS --json`, the report parsed. */
async function verifyJson(file: string, args: string[] = ['--public-key', keyPemFile]) {
  const { code, out } = await runCli(['audit', 'verify', file, ...args, '--json'], {});
  return { code, report: JSON.parse(out) };
}

const chunksOf = async function* (bytes: Buffer, size: number) {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
};

beforeAll(async () => {
  t = await createTestApp();
  dir = dirs.make();
  const org = await createOrg(t.app, { plan: 'pro', name: 'Acme Security' });
  orgId = org.orgId;
  const owner = as(t.app, org.owner);
  for (let i = 1; i <= 12; i++) {
    expectStatus(await owner.patch(`/api/v1/orgs/${org.orgId}`, { name: `Acme Security ${i}` }), 200);
  }
  const exported = expectStatus(
    await owner.get(`/api/v1/orgs/${org.orgId}/audit-events/export?format=jsonl`),
    200,
  );
  lines = exported.body.trimEnd().split('\n');
  entries = lines.slice(0, -1).map((line) => JSON.parse(line) as AuditEntry);

  const keys = expectStatus(await t.app.inject({ method: 'GET', url: '/api/v1/audit-keys' }), 200).json();
  const current = keys.items.find((k: { current: boolean }) => k.current);
  keyId = current.keyId;
  rawKey = current.publicKey;
  keyPemFile = save('gatehouse-audit.pem', current.publicKeyPem);
  keysResponseFile = save('audit-keys.json', JSON.stringify(keys));
  // Saved after the export, which signed a checkpoint of its last entry.
  const checkpoints = expectStatus(await owner.get(`/api/v1/orgs/${org.orgId}/audit-checkpoints`), 200);
  checkpointsFile = save('checkpoints.json', checkpoints.body);
});

afterAll(async () => {
  await t?.close();
  dirs.cleanup();
});

describe('the export under test', () => {
  it('holds the org’s whole log: its creation, twelve renames, then a checkpoint of the last entry', () => {
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(entries.slice(1).every((e) => e.action === 'org.updated')).toBe(true);
    for (const e of entries) expect(entryHash(e)).toBe(e.hash);
    const trailer = JSON.parse(lines.at(-1)!).checkpoint;
    expect(trailer).toMatchObject({ seq: 13, hash: entries[12]!.hash, keyId });
    const saved = JSON.parse(fs.readFileSync(checkpointsFile, 'utf8')).items;
    expect(saved.some((cp: { seq: number }) => cp.seq === 13)).toBe(true);
  });
});

describe('gatehouse audit verify', { timeout: CLI_TIMEOUT }, () => {
  it('accepts the export as downloaded: count, range, head and the key that signed it', async () => {
    const file = save('export.jsonl', lines);
    const { code, out } = await runCli(['audit', 'verify', file, '--public-key', keyPemFile], {});
    expect(out).toBe(
      `OK: 13 entries of org ${orgId} (seq 1–13), head 13 ${entries[12]!.hash}, signed through seq 13 by key ${keyId}\n`,
    );
    expect(code).toBe(0);
  });

  it('takes the key raw, from the /audit-keys response, or in a comma-separated list', async () => {
    const file = save('export.jsonl', lines);
    const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x as string;
    const runs = await Promise.all([
      verifyJson(file, ['--public-key', rawKey]),
      verifyJson(file, ['--public-key', keysResponseFile]),
      verifyJson(file, ['--public-key', `${other},${rawKey}`]),
    ]);
    for (const { code, report } of runs) {
      expect(report).toMatchObject({ ok: true, checked: 13, headSeq: 13, headHash: entries[12]!.hash });
      expect(code).toBe(0);
    }
  });

  it('names the edited entry (hash_mismatch) in its one-line verdict and exits 1', async () => {
    const edited = [...lines];
    edited[4] = entryLine({ ...entries[4]!, after: { ...entries[4]!.after, name: 'Mallory Holdings' } });
    expect(edited[4]).not.toBe(lines[4]);
    const file = save('edited.jsonl', edited);
    const { code, out } = await runCli(['audit', 'verify', file, '--public-key', keyPemFile], {});
    expect(out).toMatch(/^FAIL at seq 5 \(hash_mismatch\): .+\n$/);
    expect(code).toBe(1);
  });

  it('names the tampering with the first sequence number that is not what was written', async () => {
    const forged: AuditEntry = {
      ...entries[8]!,
      id: '0190a0b0-0000-7000-8000-000000000009',
      after: { name: 'Forged Name' },
      prevHash: entries[7]!.hash,
    };
    forged.hash = entryHash(forged);
    const swapped = [...lines];
    [swapped[9], swapped[10]] = [swapped[10]!, swapped[9]!];
    const trailer = JSON.parse(lines.at(-1)!);
    const signature: string = trailer.checkpoint.signature;
    const badSignature = JSON.stringify({
      checkpoint: {
        ...trailer.checkpoint,
        signature: `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`,
      },
    });
    const strangerKey = save(
      'stranger.pem',
      generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    );
    const cases = [
      { name: 'deleted', lines: lines.filter((_, i) => i !== 6), seq: 7, reason: 'missing_entry' },
      {
        name: 'inserted',
        lines: [...lines.slice(0, 8), entryLine(forged), ...lines.slice(8)],
        seq: 9,
        reason: 'out_of_order',
      },
      { name: 'swapped', lines: swapped, seq: 10, reason: 'missing_entry' },
      {
        name: 'cut-short',
        lines: lines.slice(0, 11),
        args: ['--public-key', keysResponseFile, '--checkpoints', checkpointsFile],
        seq: 12,
        reason: 'truncated',
      },
      { name: 'unsigned', lines: lines.slice(0, -1), seq: 1, reason: 'unsigned_tail' },
      {
        name: 'stranger-key',
        lines,
        args: ['--public-key', strangerKey],
        seq: 13,
        reason: 'unknown_key',
      },
      {
        name: 'bad-signature',
        lines: [...lines.slice(0, -1), badSignature],
        seq: 13,
        reason: 'bad_signature',
      },
    ];
    const runs = await Promise.all(cases.map((c) => verifyJson(save(`${c.name}.jsonl`, c.lines), c.args)));
    const verdicts = runs.map(({ code, report }, i) => ({
      name: cases[i]!.name,
      code,
      ok: report.ok,
      seq: report.firstBadSeq,
      reason: report.reason,
    }));
    expect(verdicts).toEqual(
      cases.map((c) => ({ name: c.name, code: 1, ok: false, seq: c.seq, reason: c.reason })),
    );
  });

  it('without the saved checkpoints, a file cut short with its last checkpoint still shows its tail unsigned', async () => {
    const { code, report } = await verifyJson(save('cut-short-alone.jsonl', lines.slice(0, 11)));
    expect(report).toMatchObject({ ok: false, reason: 'unsigned_tail', headSeq: 11 });
    expect(code).toBe(1);
  });

  it('refuses bad usage with exit code 2 and a clear message', async () => {
    const file = save('export.jsonl', lines);
    const [missing, badKey, noKey, badCheckpoints] = await Promise.all([
      runCli(['audit', 'verify', path.join(dir, 'nope.jsonl'), '--public-key', keyPemFile], {}),
      runCli(['audit', 'verify', file, '--public-key', 'not-a-key'], {}),
      runCli(['audit', 'verify', file], {}),
      runCli(['audit', 'verify', file, '--public-key', keyPemFile, '--checkpoints', file], {}),
    ]);
    expect(missing).toMatchObject({ code: 2 });
    expect(missing.out).toContain('nope.jsonl does not exist');
    expect(badKey).toMatchObject({ code: 2 });
    expect(badKey.out).toContain('--public-key not-a-key is neither a file nor an Ed25519 public key');
    expect(noKey).toMatchObject({ code: 2 });
    expect(noKey.out).toContain('needs --public-key');
    expect(badCheckpoints).toMatchObject({ code: 2 });
    expect(badCheckpoints.out).toContain('is not a signed checkpoint');
  });

  it('refuses a file with no entries (exit 1); one holding a valid checkpoint was cut short', async () => {
    const { code, out } = await runCli(
      ['audit', 'verify', save('checkpoint-only.jsonl', lines.slice(-1)), '--public-key', keyPemFile],
      {},
    );
    expect(out).toMatch(/^FAIL at seq 1 \(truncated\): /);
    expect(code).toBe(1);
    const empty = await runCli(['audit', 'verify', save('empty.jsonl', []), '--public-key', keyPemFile], {});
    expect(empty.out).toBe('FAIL: the file holds no audit entries\n');
    expect(empty.code).toBe(1);
  });
});

describe('verifyExportLines / verifyExportStream', () => {
  const trusted = () => {
    const key = parsePublicKey(rawKey);
    return new Map([[keyIdOf(key), key]]);
  };

  it('reads lines as text or bytes, and a stream cut anywhere, CRLF line ends or none at the end alike', async () => {
    const expected = await verifyExportLines(lines, trusted());
    expect(expected).toMatchObject({ ok: true, checked: 13, signedSeq: 13, signedBy: keyId });
    expect(
      await verifyExportLines(
        lines.map((l) => Buffer.from(l)),
        trusted(),
      ),
    ).toEqual(expected);
    const file = Buffer.from(`${lines.join('\n')}\n`);
    const crlf = Buffer.from(lines.join('\r\n'));
    for (const size of [1, 7, 64, 1000, file.length]) {
      expect(await verifyExportStream(chunksOf(file, size), trusted())).toEqual(expected);
      expect(await verifyExportStream(chunksOf(crlf, size), trusted())).toEqual(expected);
    }
  });

  it('hashes the exact bytes: a character re-encoded as a JSON escape no longer matches', async () => {
    const escaped = [...lines];
    escaped[2] = escaped[2]!.replace('"action":"org.updated"', '"action":"org\\u002eupdated"');
    expect(JSON.parse(escaped[2]!)).toEqual(entries[2]);
    expect(await verifyExportLines(escaped, trusted())).toMatchObject({
      ok: false,
      firstBadSeq: 3,
      reason: 'hash_mismatch',
    });
  });

  it('names the place of an entry copied in again after itself', async () => {
    const repeated = [...lines.slice(0, 6), lines[5]!, ...lines.slice(6)];
    expect(await verifyExportLines(repeated, trusted())).toMatchObject({
      ok: false,
      firstBadSeq: 7,
      reason: 'out_of_order',
    });
  });

  it('takes a hash member only right before the top-level id', async () => {
    // The same bytes with the hash member moved into the object before it.
    const line = lines[3]!;
    const member = `,"hash":"${entries[3]!.hash}"`;
    const moved = line.replace(member, '').replace('"before":{', `"before":{"x":1${member},`);
    const report = await verifyExportLines([...lines.slice(0, 3), moved, ...lines.slice(4)], trusted());
    expect(report).toMatchObject({ ok: false, firstBadSeq: 4, reason: 'malformed' });
  });

  it('names the first entry of another organization’s log as foreign, at its place and line', async () => {
    // Another org's export: its entries verify on their own, but not inside this file.
    const other = await createOrg(t.app, { plan: 'pro', name: 'Other Org' });
    const exported = expectStatus(
      await as(t.app, other.owner).get(`/api/v1/orgs/${other.orgId}/audit-events/export?format=jsonl`),
      200,
    );
    const foreign = exported.body.split('\n')[0]!;
    const relinked = (line: string, seq: number) => {
      const entry = { ...JSON.parse(line), seq, prevHash: entries[seq - 2]!.hash } as AuditEntry;
      entry.hash = entryHash(entry);
      return entryLine(entry);
    };
    expect(JSON.parse(foreign).orgId).toBe(other.orgId);
    const cases = [
      // Appended after the last entry, before the trailing checkpoint (its seq 1 is no help).
      { lines: [...lines.slice(0, -1), foreign, lines.at(-1)!], seq: 14, line: 14 },
      // In place of entry 5.
      { lines: [...lines.slice(0, 4), foreign, ...lines.slice(5)], seq: 5, line: 5 },
      // The same entry re-linked into this chain as entry 5 (seq, prevHash and hash all fit).
      { lines: [...lines.slice(0, 4), relinked(foreign, 5), ...lines.slice(4)], seq: 5, line: 5 },
    ];
    for (const c of cases) {
      const report = await verifyExportLines(c.lines, trusted());
      expect(report).toMatchObject({
        ok: false,
        firstBadSeq: c.seq,
        firstBadLine: c.line,
        reason: 'foreign_entry',
      });
      expect(report.detail).toContain(other.orgId);
    }
    const { code, out } = await runCli(
      ['audit', 'verify', save('foreign.jsonl', cases[0]!.lines), '--public-key', keyPemFile],
      {},
    );
    expect(code).toBe(1);
    expect(out).toMatch(
      /^FAIL at seq 14, line 14 \(foreign_entry\): line 14 \(seq 1\) belongs to another log/,
    );
  });

  it('trusts only the keys it is given', async () => {
    const stranger = createPublicKey(generateKeyPairSync('ed25519').privateKey);
    const report = await verifyExportLines(lines, new Map([[keyIdOf(stranger), stranger]]));
    expect(report).toMatchObject({ ok: false, firstBadSeq: 13, reason: 'unknown_key' });
  });
});
