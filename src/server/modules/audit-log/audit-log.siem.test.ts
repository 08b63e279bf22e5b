/**
 * The audit log for SIEMs and witnesses: the OCSF export, the `audit.checkpoint` event each
 * signed checkpoint emits, and the batched reading an `audit.entry` stream uses.
 */
import type { KeyObject } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';
import { type AuditEntry, entryHash } from '../../platform/audit/entry.ts';
import { type Checkpoint, checkpointSignatureValid, parsePublicKey } from '../../platform/audit/keys.ts';
import { outboxJobs } from '../../platform/db/schema.ts';
import type { PlatformEvent } from '../../platform/outbox/index.ts';
import { MAX_ENTRIES_AFTER, readOrgEntriesAfter, toOcsf } from './index.ts';

let t: TestApp;
let org: { orgId: string; owner: Person };
let logged: AuditEntry[];

const base = (orgId: string) => `/api/v1/orgs/${orgId}`;

async function listAll(who: Person, orgId: string): Promise<AuditEntry[]> {
  const res = expectStatus(await as(t.app, who).get(`${base(orgId)}/audit-events?limit=200`), 200).json();
  return (res.items as AuditEntry[]).reverse();
}

async function publishedKeys(): Promise<Map<string, KeyObject>> {
  const res = expectStatus(await t.app.inject({ method: 'GET', url: '/api/v1/audit-keys' }), 200).json();
  return new Map(
    res.items.map((k: { keyId: string; publicKey: string }) => [k.keyId, parsePublicKey(k.publicKey)]),
  );
}

/** The `audit.checkpoint` events emitted for an org so far, oldest first (as the outbox holds them). */
async function checkpointEvents(orgId: string): Promise<PlatformEvent<Checkpoint>[]> {
  const rows = await t.db.database.db
    .select({ payload: outboxJobs.payload })
    .from(outboxJobs)
    .where(
      and(
        eq(outboxJobs.kind, 'event.dispatch'),
        eq(outboxJobs.orgId, orgId),
        sql`${outboxJobs.payload}->>'type' = 'audit.checkpoint'`,
      ),
    )
    .orderBy(sql`(${outboxJobs.payload}->'data'->>'seq')::int`);
  return rows.map((r) => r.payload as PlatformEvent<Checkpoint>);
}

beforeAll(async () => {
  t = await createTestApp();
  org = await createOrg(t.app, { plan: 'pro', name: 'Siem Corp' });
  const dev = await addMember(t.app, org, 'developer', {}, t.mail);
  const owner = as(t.app, org.owner);
  expectStatus(await owner.patch(`${base(org.orgId)}/members/${dev.userId}`, { role: 'viewer' }), 200);
  for (let i = 0; i < 3; i++) expectStatus(await owner.patch(base(org.orgId), { name: `Siem ${i}` }), 200);
  logged = await listAll(org.owner, org.orgId);
});
afterAll(async () => {
  await t?.close();
});

describe('GET …/audit-events/export?format=ocsf', () => {
  it('streams one OCSF event per entry, in order, as NDJSON', async () => {
    const res = expectStatus(
      await as(t.app, org.owner).get(`${base(org.orgId)}/audit-events/export?format=ocsf`),
      200,
    );
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(
      /^attachment; filename="gatehouse-audit-.+\.ocsf\.jsonl"$/,
    );
    const events = res.body
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line));
    // Only events: no checkpoint lines.
    expect(events).toHaveLength(logged.length);
    expect(events).toEqual(logged.map((e) => JSON.parse(JSON.stringify(toOcsf(e)))));
    for (const [i, event] of events.entries()) {
      expect(event.metadata).toMatchObject({
        uid: logged[i]!.id,
        sequence: logged[i]!.seq,
        tenant_uid: org.orgId,
      });
      expect(entryHash(event.unmapped)).toBe(logged[i]!.hash);
    }
    const classes = events.map(
      (e: { class_uid: number; activity_id: number }) => `${e.class_uid}/${e.activity_id}`,
    );
    expect(classes[0]).toBe('6003/1'); // org.created
    expect(
      events.find(
        (e: { metadata: { event_code: string } }) => e.metadata.event_code === 'member.role_changed',
      ),
    ).toMatchObject({
      class_uid: 3006,
      activity_id: 1,
      privileges: ['Viewer'],
      group: { uid: org.orgId, type: 'Organization' },
    });
  });

  it('records the export like the others, format ocsf', async () => {
    const entries = await listAll(org.owner, org.orgId);
    const exported = entries.filter((e) => e.action === 'audit.exported');
    expect(exported.at(-1)?.after).toMatchObject({ format: 'ocsf' });
  });

  it('refuses an unknown format with 400', async () => {
    const res = await as(t.app, org.owner).get(`${base(org.orgId)}/audit-events/export?format=cef`);
    expect(res.statusCode).toBe(400);
  });
});

describe('the audit.checkpoint event', () => {
  it('is emitted once for each checkpoint signed, with all a witness needs to verify it later', async () => {
    const before = (await checkpointEvents(org.orgId)).length;
    const cp = expectStatus(
      await as(t.app, org.owner).post(`${base(org.orgId)}/audit-checkpoints`),
      201,
    ).json();
    const events = await checkpointEvents(org.orgId);
    expect(events).toHaveLength(before + 1);
    const event = events.find((e) => e.data.seq === cp.seq)!;
    expect(event).toMatchObject({ type: 'audit.checkpoint', orgId: org.orgId });
    expect(event.data).toEqual({
      orgId: org.orgId,
      seq: cp.seq,
      hash: cp.hash,
      signedAt: cp.signedAt,
      keyId: cp.keyId,
      signature: cp.signature,
    });
    // Verifiable with nothing but the published key.
    const keys = await publishedKeys();
    expect(checkpointSignatureValid(keys.get(event.data.keyId)!, 'org', org.orgId, event.data)).toBe(true);
    const entries = await listAll(org.owner, org.orgId);
    expect(entries.find((e) => e.seq === cp.seq)?.hash).toBe(event.data.hash);
    // Asking again for the same head signs nothing new and emits nothing.
    const again = await t.app.gatehouse.database.db.transaction((tx) =>
      t.app.gatehouse.audit.ensureCheckpoint(tx, { kind: 'org', id: org.orgId }, cp.seq),
    );
    expect(again?.signature).toBe(cp.signature);
    expect(await checkpointEvents(org.orgId)).toHaveLength(before + 1);
  });

  it('is emitted by the periodic checkpoints too, and is delivered to subscribers', async () => {
    const received: PlatformEvent[] = [];
    t.app.gatehouse.outbox.subscribe('test-witness', async (event) => {
      if (event.type === 'audit.checkpoint' && event.orgId === org.orgId) received.push(event);
    });
    expectStatus(await as(t.app, org.owner).patch(base(org.orgId), { name: 'Siem periodic' }), 200);
    const head = (await listAll(org.owner, org.orgId)).at(-1)!;
    expect(await t.app.gatehouse.audit.checkpointAll()).toBeGreaterThanOrEqual(1);
    await t.drainOutbox();
    expect(received.map((e) => e.data.seq)).toContain(head.seq);
    expect(received.find((e) => e.data.seq === head.seq)?.data.hash).toBe(head.hash);
  });

  it('is not emitted for a user’s own account log, nor for a deleted organization', async () => {
    const before = await t.db.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(outboxJobs)
      .where(sql`${outboxJobs.payload}->>'type' = 'audit.checkpoint'`);
    const userId = org.owner.userId;
    // A new entry in the owner's account log, so that its checkpoint is a new one.
    expectStatus(await as(t.app, org.owner).patch('/api/v1/me', { name: 'Renamed Owner' }), 200);
    const userHead = await t.app.gatehouse.audit.chainHead(t.db.database.db, userId);
    const userCheckpoints = () => t.app.gatehouse.audit.checkpoints(t.db.database.db, userId);
    const userBefore = (await userCheckpoints()).length;
    const signed = await t.app.gatehouse.database.db.transaction((tx) =>
      t.app.gatehouse.audit.ensureCheckpoint(tx, { kind: 'user', id: userId }, userHead!.headSeq),
    );
    expect(signed).toBeDefined();
    expect(await userCheckpoints()).toHaveLength(userBefore + 1);

    const doomed = await createOrg(t.app, { plan: 'pro' });
    await t.db.database.db.execute(
      sql`UPDATE organizations SET deleted_at = now() WHERE id = ${doomed.orgId}`,
    );
    const doomedHead = await t.app.gatehouse.audit.chainHead(t.db.database.db, doomed.orgId);
    const cp = await t.app.gatehouse.database.db.transaction((tx) =>
      t.app.gatehouse.audit.ensureCheckpoint(tx, { kind: 'org', id: doomed.orgId }, doomedHead!.headSeq),
    );
    expect(cp).toBeDefined();
    expect(await t.app.gatehouse.audit.checkpoints(t.db.database.db, doomed.orgId)).toHaveLength(1);
    const after = await t.db.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(outboxJobs)
      .where(sql`${outboxJobs.payload}->>'type' = 'audit.checkpoint'`);
    expect(after[0]!.n).toBe(before[0]!.n);
  });
});

describe('readOrgEntriesAfter', () => {
  it('reads an org’s entries after a sequence number, in order, a bounded batch at a time', async () => {
    const all = await listAll(org.owner, org.orgId);
    const read: AuditEntry[] = [];
    let after = 0;
    for (;;) {
      const batch = await readOrgEntriesAfter(t.db.database.db, org.orgId, after, 3);
      expect(batch.length).toBeLessThanOrEqual(3);
      if (batch.length === 0) break;
      read.push(...batch);
      after = batch.at(-1)!.seq;
    }
    const head = await t.app.gatehouse.audit.chainHead(t.db.database.db, org.orgId);
    expect(read.map((e) => e.seq)).toEqual(Array.from({ length: head!.headSeq }, (_, i) => i + 1));
    expect(read.slice(0, all.length)).toEqual(all);
    expect(read.every((e) => e.orgId === org.orgId && entryHash(e) === e.hash)).toBe(true);
    expect(await readOrgEntriesAfter(t.db.database.db, org.orgId, head!.headSeq)).toEqual([]);
    // Another organization's entries never appear; a limit past the cap is held to it.
    const other = await createOrg(t.app, { plan: 'pro' });
    expect((await readOrgEntriesAfter(t.db.database.db, other.orgId, 0, 10_000)).map((e) => e.orgId)).toEqual(
      [other.orgId],
    );
    expect(MAX_ENTRIES_AFTER).toBe(1_000);
  });
});
