import type { KeyObject } from 'node:crypto';
import { asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { as, createOrg, expectStatus } from '../../../../test/support/orgs.ts';
import { parsePublicKey } from '../../platform/audit/keys.ts';
import { verifyExportLines } from '../../platform/audit/verify-file.ts';
import { pgErrorCode } from '../../platform/db/errors.ts';
import { auditChains, auditCheckpoints, auditEvents } from '../../platform/db/schema.ts';
import { runAuditRetention } from './audit-log.jobs.ts';

/**
 * Retention removes a chain's oldest entries by plan (Free 30 days, Scale 90, Enterprise 730),
 * leaving a signed checkpoint of the last one removed as the new anchor and an `audit.pruned`
 * entry that continues the chain. The job acts "as of" a time; tests pass a future one.
 */

const DAY = 86_400_000;
const inDays = (days: number) => new Date(Date.now() + days * DAY);

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

type Client = ReturnType<typeof as>;
const base = (orgId: string) => `/api/v1/orgs/${orgId}`;

/** An org of the plan whose log holds `count` entries: org.created, then profile changes. */
async function orgWithEntries(plan: 'free' | 'pro' | 'enterprise', count: number) {
  const org = await createOrg(t.app, { plan });
  const owner = as(t.app, org.owner);
  for (let i = 2; i <= count; i++)
    expectStatus(await owner.patch(base(org.orgId), { name: `Name ${i}` }), 200);
  return { orgId: org.orgId, owner };
}

async function chainOf(orgId: string) {
  const [head] = await t.db.database.db.select().from(auditChains).where(eq(auditChains.chainId, orgId));
  const seqs = (
    await t.db.database.db
      .select({ seq: auditEvents.seq })
      .from(auditEvents)
      .where(eq(auditEvents.chainId, orgId))
      .orderBy(asc(auditEvents.seq))
  ).map((r) => r.seq);
  return { startSeq: head!.startSeq, headSeq: head!.headSeq, seqs };
}

async function verify(owner: Client, orgId: string) {
  return expectStatus(await owner.get(`${base(orgId)}/audit-events/verify`), 200).json();
}

async function publishedKeys(): Promise<Map<string, KeyObject>> {
  const res = expectStatus(await t.app.inject({ method: 'GET', url: '/api/v1/audit-keys' }), 200).json();
  return new Map(
    res.items.map((k: { keyId: string; publicKey: string }) => [k.keyId, parsePublicKey(k.publicKey)]),
  );
}

describe('runAuditRetention', () => {
  it('prunes a Free org’s entries past 30 days, keeps the anchor checkpoint and continues the chain', async () => {
    const { orgId, owner } = await orgWithEntries('free', 3);
    // An older checkpoint (entry 3); the request itself is entry 4; one more change is entry 5.
    expectStatus(await owner.post(`${base(orgId)}/audit-checkpoints`), 201);
    expectStatus(await owner.patch(base(orgId), { name: 'Before retention' }), 200);
    const before = expectStatus(await owner.get(`${base(orgId)}/audit-events`), 200).json().items;
    expect(before.map((e: { seq: number }) => e.seq)).toEqual([5, 4, 3, 2, 1]);

    expect(await runAuditRetention(t.app, inDays(31))).toBeGreaterThanOrEqual(1);

    expect(await chainOf(orgId)).toEqual({ startSeq: 6, headSeq: 6, seqs: [6] });
    const after = expectStatus(await owner.get(`${base(orgId)}/audit-events`), 200).json().items;
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({
      seq: 6,
      action: 'audit.pruned',
      actor: { type: 'system', id: null, email: null },
      target: { type: 'organization', id: orgId },
      prevHash: before[0].hash,
      after: { removedFromSeq: 1, removedThroughSeq: 5, retentionDays: 30 },
    });
    // Only the anchor is left: the checkpoint of entry 3 named entries that are gone.
    const cps = expectStatus(await owner.get(`${base(orgId)}/audit-checkpoints`), 200).json().items;
    expect(cps.map((cp: { seq: number }) => cp.seq)).toEqual([5]);
    expect(cps[0]).toMatchObject({ orgId, hash: before[0].hash });
    expect(after[0].after.anchor).toEqual({ seq: 5, hash: before[0].hash, keyId: cps[0].keyId });

    expect(await verify(owner, orgId)).toMatchObject({
      ok: true,
      firstSeq: 6,
      checked: 1,
      headSeq: 6,
      signedSeq: 5,
    });
    // The chain goes on from there.
    expectStatus(await owner.patch(base(orgId), { name: 'After retention' }), 200);
    expect(await verify(owner, orgId)).toMatchObject({ ok: true, firstSeq: 6, checked: 2, headSeq: 7 });
    // Nothing younger than the cutoff is left to prune.
    await runAuditRetention(t.app, inDays(-1));
    expect((await chainOf(orgId)).seqs).toEqual([6, 7]);
  });

  it('keeps a Scale org’s entries at 31 days and prunes them at 91; the export still verifies offline', async () => {
    const { orgId, owner } = await orgWithEntries('pro', 4);
    await runAuditRetention(t.app, inDays(31));
    expect(await chainOf(orgId)).toEqual({ startSeq: 1, headSeq: 4, seqs: [1, 2, 3, 4] });

    await runAuditRetention(t.app, inDays(91));
    expect(await chainOf(orgId)).toEqual({ startSeq: 5, headSeq: 5, seqs: [5] });
    expect(await verify(owner, orgId)).toMatchObject({ ok: true, firstSeq: 5, headSeq: 5 });

    const res = expectStatus(await owner.get(`${base(orgId)}/audit-events/export?format=jsonl`), 200);
    const lines = res.body.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0]!).checkpoint).toMatchObject({ orgId, seq: 4 });
    expect(JSON.parse(lines[1]!)).toMatchObject({ seq: 5, action: 'audit.pruned' });
    expect(JSON.parse(lines[2]!).checkpoint).toMatchObject({ orgId, seq: 5 });
    const report = await verifyExportLines(lines, await publishedKeys());
    expect(report).toMatchObject({
      ok: true,
      firstSeq: 5,
      headSeq: 5,
      signedSeq: 5,
      chain: { kind: 'org', id: orgId },
    });
    // A file cut short together with its last checkpoint no longer vouches for its end.
    const cut = await verifyExportLines(lines.slice(0, 2), await publishedKeys());
    expect(cut).toMatchObject({ ok: false, firstBadSeq: 5, reason: 'unsigned_tail' });
  });

  it('keeps an Enterprise org’s entries at 91 days and prunes them at 731', async () => {
    const { orgId, owner } = await orgWithEntries('enterprise', 3);
    await runAuditRetention(t.app, inDays(91));
    expect(await chainOf(orgId)).toEqual({ startSeq: 1, headSeq: 3, seqs: [1, 2, 3] });
    await runAuditRetention(t.app, inDays(731));
    expect(await chainOf(orgId)).toEqual({ startSeq: 4, headSeq: 4, seqs: [4] });
    expect(await verify(owner, orgId)).toMatchObject({ ok: true, firstSeq: 4 });
  });

  it('leaves a chain that fails verification whole, and says so in the log', async () => {
    const { orgId, owner } = await orgWithEntries('free', 4);
    await t.db.database.db.transaction(async (tx) => {
      await tx.execute(sql`SET LOCAL session_replication_role = replica`);
      await tx.execute(
        sql`UPDATE audit_events SET after = '{"name":"Forged"}' WHERE chain_id = ${orgId} AND seq = 2`,
      );
    });
    const logged = t.logs.length;
    await runAuditRetention(t.app, inDays(31));
    expect(await chainOf(orgId)).toEqual({ startSeq: 1, headSeq: 4, seqs: [1, 2, 3, 4] });
    expect(await verify(owner, orgId)).toMatchObject({ ok: false, firstBadSeq: 2, reason: 'hash_mismatch' });
    const cps = await t.db.database.db
      .select()
      .from(auditCheckpoints)
      .where(eq(auditCheckpoints.chainId, orgId));
    expect(cps).toEqual([]);
    const failure = t.logs
      .slice(logged)
      .map((line) => JSON.parse(line) as { msg?: string; chainId?: string })
      .find((entry) => entry.chainId === orgId);
    expect(failure?.msg).toBe('audit retention failed');
  });

  it('deletes through the retention path only: the same DELETE is refused without it', async () => {
    const { orgId } = await orgWithEntries('free', 3);
    const db = t.db.database.db;
    const refused = async (statement: Promise<unknown>) =>
      pgErrorCode(
        await statement.then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
    const deleteAll = sql`DELETE FROM audit_events WHERE chain_id = ${orgId}`;
    expect(await refused(db.execute(deleteAll))).toBe('42501');
    // Declared as retention, but the entries are still part of the chain (its start has not moved).
    expect(
      await refused(
        db.transaction(async (tx) => {
          await tx.execute(sql`SELECT set_config('gatehouse.audit_prune', 'on', true)`);
          await tx.execute(deleteAll);
        }),
      ),
    ).toBe('42501');
    // The declaration lasts for its transaction only.
    expect(await refused(db.execute(deleteAll))).toBe('42501');
    expect((await chainOf(orgId)).seqs).toEqual([1, 2, 3]);

    await runAuditRetention(t.app, inDays(31));
    expect(await chainOf(orgId)).toEqual({ startSeq: 4, headSeq: 4, seqs: [4] });
    // What retention left is as protected as before.
    expect(await refused(db.execute(deleteAll))).toBe('42501');
    expect((await chainOf(orgId)).seqs).toEqual([4]);
  });
});
