import fs from 'node:fs';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoints, runAuditVerify, witnessedFor } from '../../src/cli/audit-verify.ts';
import type { Checkpoint } from '../../src/server/platform/audit/keys.ts';
import type { Tx } from '../../src/server/platform/db/client.ts';
import { auditChains, auditEvents } from '../../src/server/platform/db/schema.ts';
import type { PlatformEvent } from '../../src/server/platform/outbox/index.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { runCli, tempDirs } from '../support/cli.ts';
import { as, createOrg, expectStatus } from '../support/orgs.ts';

/**
 * Someone with the database and its superuser can cut entries off the end of a log together with
 * the checkpoints that covered them and wind the chain's head back: what is left is a shorter log
 * that verifies, in the installation and in its exports. A receiver of the `audit.checkpoint`
 * event outside the installation holds the checkpoints signed before the cut; with them,
 * `gatehouse audit verify --checkpoints` catches it.
 */

const dirs = tempDirs('gatehouse-audit-witness-');
let t: TestApp;
let dir: string;
let keysFile: string;
/** What the receiver got: the bodies of every event delivered to it, one a line. */
let witnessFile: string;

const base = (orgId: string) => `/api/v1/orgs/${orgId}`;

beforeAll(async () => {
  t = await createTestApp();
  dir = dirs.make();
  witnessFile = path.join(dir, 'received.ndjson');
  fs.writeFileSync(witnessFile, '');
  // The receiver: it keeps each event's body as a webhook would carry it, whatever its type.
  t.app.gatehouse.outbox.subscribe('witness', async (event: PlatformEvent) => {
    fs.appendFileSync(
      witnessFile,
      `${JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data })}\n`,
    );
  });
  const keys = expectStatus(await t.app.inject({ method: 'GET', url: '/api/v1/audit-keys' }), 200);
  keysFile = path.join(dir, 'audit-keys.json');
  fs.writeFileSync(keysFile, keys.body);
});
afterAll(async () => {
  await t?.close();
  dirs.cleanup();
});

/** Runs `change` with triggers off, as a superuser with direct access could. */
async function behindTheTrigger(change: (tx: Tx) => Promise<unknown>): Promise<void> {
  await t.db.database.db.transaction(async (tx) => {
    await tx.execute(sql`SET LOCAL session_replication_role = replica`);
    await change(tx);
  });
}

/** Cuts a log back to `keep` entries, its checkpoints past them and its head too: a clean cut. */
async function cutTail(orgId: string, keep: number): Promise<void> {
  const [last] = await t.db.database.db
    .select()
    .from(auditEvents)
    .where(sql`${auditEvents.chainId} = ${orgId} AND ${auditEvents.seq} = ${keep}`);
  await behindTheTrigger(async (tx) => {
    await tx.execute(sql`DELETE FROM audit_events WHERE chain_id = ${orgId} AND seq > ${keep}`);
    await tx.execute(sql`DELETE FROM audit_checkpoints WHERE chain_id = ${orgId} AND seq > ${keep}`);
    await tx
      .update(auditChains)
      .set({ headSeq: keep, headHash: last!.hash, checkpointedSeq: 0 })
      .where(eq(auditChains.chainId, orgId));
  });
}

/** An org whose log grew past two checkpoints the receiver got. */
async function witnessedOrg(): Promise<{ orgId: string; owner: ReturnType<typeof as>; witnessed: number[] }> {
  const org = await createOrg(t.app, { plan: 'pro', name: 'Witnessed' });
  const owner = as(t.app, org.owner);
  for (let i = 0; i < 5; i++)
    expectStatus(await owner.patch(base(org.orgId), { name: `Witnessed ${i}` }), 200);
  const first = expectStatus(await owner.post(`${base(org.orgId)}/audit-checkpoints`), 201).json();
  for (let i = 5; i < 9; i++)
    expectStatus(await owner.patch(base(org.orgId), { name: `Witnessed ${i}` }), 200);
  await t.app.gatehouse.audit.checkpointAll();
  await t.drainOutbox();
  const witnessed = received(org.orgId)
    .map((cp) => cp.seq)
    .sort((a, b) => a - b);
  expect(witnessed[0]).toBe(first.seq);
  return { orgId: org.orgId, owner, witnessed };
}

function received(orgId: string): Checkpoint[] {
  return loadCheckpoints(witnessFile).filter((cp) => cp.orgId === orgId);
}

async function exportTo(owner: ReturnType<typeof as>, orgId: string, name: string): Promise<string> {
  const res = expectStatus(await owner.get(`${base(orgId)}/audit-events/export?format=jsonl`), 200);
  const file = path.join(dir, name);
  fs.writeFileSync(file, res.body);
  return file;
}

/** The command in this process: exit code and what it printed. */
async function verify(file: string, args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const sink = { write: (text: string) => (out += text) };
  const code = await runAuditVerify(
    file,
    { publicKey: [keysFile], ...(args.includes('--checkpoints') ? { checkpoints: witnessFile } : {}) },
    sink,
    sink,
  );
  return { code, out };
}

describe('a log cut after a witnessed checkpoint', () => {
  it('verifies in the installation and on its own, and fails against the checkpoints the receiver holds', async () => {
    const { orgId, owner, witnessed } = await witnessedOrg();
    const head = Math.max(...witnessed);
    expect(witnessed.length).toBeGreaterThanOrEqual(2);
    const keep = witnessed[0]! + 1;
    expect(keep).toBeLessThan(head);
    // Before the cut the export verifies against what the receiver holds.
    const whole = await exportTo(owner, orgId, 'whole.jsonl');
    const before = await verify(whole, ['--checkpoints']);
    expect(before.out).toMatch(/^OK: .*, witnessed through seq \d+\n$/);
    expect(before.code).toBe(0);
    // The export signed its end too; the receiver has it once the event is delivered.
    await t.drainOutbox();
    const last = Math.max(...received(orgId).map((cp) => cp.seq));
    expect(last).toBeGreaterThanOrEqual(head);

    await cutTail(orgId, keep);
    // The installation cannot tell: its log is whole as far as it knows.
    const report = expectStatus(await owner.get(`${base(orgId)}/audit-events/verify?full=true`), 200).json();
    expect(report).toMatchObject({ ok: true, headSeq: keep });
    const cut = await exportTo(owner, orgId, 'cut.jsonl');
    const alone = await verify(cut, []);
    expect(alone.out).toMatch(new RegExp(`^OK: ${keep} entries .*signed through seq ${keep}`));
    expect(alone.code).toBe(0);

    // The receiver's checkpoints catch it: the entries after `keep` were witnessed, then removed.
    const caught = await runCli(
      ['audit', 'verify', cut, '--public-key', keysFile, '--checkpoints', witnessFile],
      {},
    );
    expect(caught.out).toContain(`FAIL at seq ${keep + 1} (truncated)`);
    expect(caught.out).toContain(
      `vouches for entries through ${last}: entries ${keep + 1} to ${last} were cut off the end of the log after they were witnessed`,
    );
    expect(caught.code).toBe(1);
    const json = await runCli(
      ['audit', 'verify', cut, '--public-key', keysFile, '--checkpoints', witnessFile, '--json'],
      {},
    );
    expect(JSON.parse(json.out)).toMatchObject({
      ok: false,
      reason: 'truncated',
      firstBadSeq: keep + 1,
      headSeq: keep,
      witnessed: { throughSeq: last },
    });
  });

  it('fails against them too when the cut log grew again through the application (checkpoint_mismatch)', async () => {
    const { orgId, owner, witnessed } = await witnessedOrg();
    const head = Math.max(...witnessed);
    const keep = witnessed[0]! + 1;
    await cutTail(orgId, keep);
    // Ordinary changes after the cut: entries with this installation's authenticator, signed again.
    for (let i = 0; i < head - keep + 2; i++)
      expectStatus(await owner.patch(base(orgId), { name: `Regrown ${i}` }), 200);
    const report = expectStatus(await owner.get(`${base(orgId)}/audit-events/verify?full=true`), 200).json();
    expect(report.ok).toBe(true);
    const regrown = await exportTo(owner, orgId, 'regrown.jsonl');
    expect((await verify(regrown, [])).code).toBe(0);
    const caught = await verify(regrown, ['--checkpoints']);
    expect(caught.out).toMatch(
      new RegExp(`^FAIL at seq ${head} \\(checkpoint_mismatch\\): entry ${head} differs`),
    );
    expect(caught.code).toBe(1);
  });
});

describe('the checkpoints a receiver gathered', () => {
  it('are read from webhook bodies, their data, event records or exported lines, skipping other events', () => {
    const lines = fs.readFileSync(witnessFile, 'utf8').trim().split('\n');
    const bodies = lines.map((line) => JSON.parse(line));
    const checkpoints = bodies.filter((b) => b.type === 'audit.checkpoint');
    expect(checkpoints.length).toBeGreaterThan(0);
    const forms: Record<string, string> = {
      'bodies.ndjson': `${lines.join('\n')}\n`,
      'data.ndjson': checkpoints.map((b) => JSON.stringify(b.data)).join('\n'),
      'array.json': JSON.stringify(checkpoints),
      'pretty.json': JSON.stringify({ items: checkpoints.map((b) => b.data) }, null, 2),
      'crlf.ndjson': `${lines.join('\r\n')}\r\n`,
      'events.json': JSON.stringify(checkpoints.map((b) => ({ id: 'evt_1', orgId: b.data.orgId, ...b }))),
      'export-lines.ndjson': checkpoints.map((b) => JSON.stringify({ checkpoint: b.data })).join('\n'),
      'one.json': JSON.stringify(checkpoints[0]),
    };
    const expected = checkpoints.map((b) => b.data);
    for (const [name, text] of Object.entries(forms)) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      expect(loadCheckpoints(file), name).toEqual(name === 'one.json' ? expected.slice(0, 1) : expected);
    }
    const mixed = path.join(dir, 'mixed.ndjson');
    fs.writeFileSync(
      mixed,
      [
        JSON.stringify({ type: 'scan.completed', timestamp: 'x', data: {} }),
        JSON.stringify(checkpoints[0]),
      ].join('\n'),
    );
    expect(loadCheckpoints(mixed)).toEqual(expected.slice(0, 1));
  });

  it('count only for the log the export holds; a file of other logs only is a usage error', async () => {
    const one = await createOrg(t.app, { plan: 'pro' });
    const two = await createOrg(t.app, { plan: 'pro' });
    for (const org of [one, two])
      expectStatus(await as(t.app, org.owner).post(`${base(org.orgId)}/audit-checkpoints`), 201);
    const exported = await exportTo(as(t.app, one.owner), one.orgId, 'one.jsonl');
    await t.drainOutbox();
    const all = loadCheckpoints(witnessFile);
    const own = witnessedFor({ kind: 'org', id: one.orgId }, all, witnessFile);
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((cp) => cp.orgId === one.orgId)).toBe(true);
    const onlyTwo = path.join(dir, 'only-two.ndjson');
    fs.writeFileSync(
      onlyTwo,
      all
        .filter((cp) => cp.orgId === two.orgId)
        .map((cp) => JSON.stringify(cp))
        .join('\n'),
    );
    const res = await runCli(
      ['audit', 'verify', exported, '--public-key', keysFile, '--checkpoints', onlyTwo],
      {},
    );
    expect(res.code).toBe(2);
    expect(res.out).toContain(`none of the org ${one.orgId} whose log the export holds`);
    // The whole file, other organizations' checkpoints included, checks the export as it should.
    const whole = await verify(exported, ['--checkpoints']);
    expect(whole.out).toContain(`witnessed through seq ${Math.max(...own.map((cp) => cp.seq))}\n`);
    expect(whole.code).toBe(0);
  });

  it('are read a line at a time: a receiver’s log of every event may be far larger than memory', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const owner = as(t.app, org.owner);
    expectStatus(await owner.post(`${base(org.orgId)}/audit-checkpoints`), 201);
    const exported = await exportTo(owner, org.orgId, 'large-witness.jsonl');
    await t.drainOutbox();
    const own = received(org.orgId);
    expect(own.length).toBeGreaterThan(0);
    // What a receiver of every event holds: its checkpoints among a great many other events
    // (audit.entry carries every entry), here 80 MiB of them, read by a command given 32 MiB.
    const large = path.join(dir, 'every-event.ndjson');
    const other = `${JSON.stringify({
      type: 'audit.entry',
      timestamp: new Date().toISOString(),
      data: { class_uid: 6003, message: 'org.updated organization x'.padEnd(1000, '.') },
    })}\n`;
    const block = other.repeat(Math.ceil((1024 * 1024) / other.length));
    const fd = fs.openSync(large, 'w');
    try {
      fs.writeSync(fd, fs.readFileSync(witnessFile));
      for (let written = 0; written < 80 * 1024 * 1024; written += block.length) fs.writeSync(fd, block);
      fs.writeSync(
        fd,
        `${own.map((cp) => JSON.stringify({ type: 'audit.checkpoint', data: cp })).join('\n')}\n`,
      );
    } finally {
      fs.closeSync(fd);
    }
    const res = await runCli(
      ['audit', 'verify', exported, '--public-key', keysFile, '--checkpoints', large],
      {
        NODE_OPTIONS: '--max-old-space-size=32',
      },
    );
    fs.rmSync(large);
    expect(res.out).toContain(`witnessed through seq ${Math.max(...own.map((cp) => cp.seq))}\n`);
    expect(res.code).toBe(0);
  });

  it('must hold a checkpoint: a file of none vouches for nothing and is a usage error', async () => {
    const org = await createOrg(t.app, { plan: 'pro' });
    const exported = await exportTo(as(t.app, org.owner), org.orgId, 'unwitnessed.jsonl');
    const others = path.join(dir, 'no-checkpoints.ndjson');
    fs.writeFileSync(others, `${JSON.stringify({ type: 'scan.completed', timestamp: 'x', data: {} })}\n`);
    const empty = path.join(dir, 'empty.ndjson');
    fs.writeFileSync(empty, '');
    for (const file of [others, empty]) {
      const res = await runCli(
        ['audit', 'verify', exported, '--public-key', keysFile, '--checkpoints', file],
        {},
      );
      expect(res.out).toContain(`the checkpoints file ${file} holds no checkpoint`);
      expect(res.code).toBe(2);
    }
  });
});
