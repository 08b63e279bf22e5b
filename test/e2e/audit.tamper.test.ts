import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryHash } from '../../src/server/platform/audit/entry.ts';
import { signingKeyFrom, signCheckpoint as signWith } from '../../src/server/platform/audit/keys.ts';
import { entryFromRow } from '../../src/server/platform/audit/log.ts';
import type { Tx } from '../../src/server/platform/db/client.ts';
import { pgErrorCode } from '../../src/server/platform/db/errors.ts';
import {
  auditChains,
  auditCheckpoints,
  auditEvents,
  auditKeys,
} from '../../src/server/platform/db/schema.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { as, createOrg, expectStatus } from '../support/orgs.ts';

/**
 * The audit log against someone with direct database access: the trigger stops ordinary
 * connections, and whoever gets past it (a superuser switching triggers off) is caught by
 * verification, which names the first entry that is not what was written. Once a chain fails,
 * nothing new is signed for it: no checkpoint, no export.
 */

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

type Client = ReturnType<typeof as>;
interface LoggedOrg {
  orgId: string;
  owner: Client;
}

const base = (orgId: string) => `/api/v1/orgs/${orgId}`;

/** A pro org whose log holds `count` entries: org.created, then profile changes. */
async function orgWithEntries(count: number): Promise<LoggedOrg> {
  const org = await createOrg(t.app, { plan: 'pro' });
  const owner = as(t.app, org.owner);
  for (let i = 2; i <= count; i++)
    expectStatus(await owner.patch(base(org.orgId), { name: `Name ${i}` }), 200);
  return { orgId: org.orgId, owner };
}

/** Runs `change` with triggers off, as a superuser with direct access could. */
async function behindTheTrigger(change: (tx: Tx) => Promise<unknown>): Promise<void> {
  await t.db.database.db.transaction(async (tx) => {
    await tx.execute(sql`SET LOCAL session_replication_role = replica`);
    await change(tx);
  });
}

function rows(orgId: string) {
  return t.db.database.db
    .select()
    .from(auditEvents)
    .where(eq(auditEvents.chainId, orgId))
    .orderBy(asc(auditEvents.seq));
}

async function head(orgId: string) {
  const [row] = await t.db.database.db.select().from(auditChains).where(eq(auditChains.chainId, orgId));
  return row!;
}

/**
 * GET …/audit-events/verify: by default from the last checkpoint this installation signed (the
 * whole chain once anything is found wrong), `full` the whole chain.
 */
async function verify(org: LoggedOrg, scope: 'default' | 'full' = 'default') {
  const query = scope === 'full' ? '?full=true' : '';
  return expectStatus(await org.owner.get(`${base(org.orgId)}/audit-events/verify${query}`), 200).json();
}

async function signCheckpoint(org: LoggedOrg) {
  return expectStatus(await org.owner.post(`${base(org.orgId)}/audit-checkpoints`), 201).json();
}

async function checkpointCount(orgId: string): Promise<number> {
  const cps = await t.db.database.db
    .select()
    .from(auditCheckpoints)
    .where(eq(auditCheckpoints.chainId, orgId));
  return cps.length;
}

/** An Ed25519 signature with one bit flipped: still 64 bytes, no longer valid. */
function flipped(signature: string): string {
  const bytes = Buffer.from(signature, 'base64url');
  bytes[0] = bytes[0]! ^ 1;
  return bytes.toString('base64url');
}

/**
 * The chain now fails verification: signing a checkpoint and exporting are both refused
 * (409 audit_verification_failed), and the refusals add nothing to the log or its checkpoints.
 */
async function expectNothingSigned(org: LoggedOrg): Promise<void> {
  const before = { head: await head(org.orgId), checkpoints: await checkpointCount(org.orgId) };
  const signed = expectStatus(await org.owner.post(`${base(org.orgId)}/audit-checkpoints`), 409);
  expect(signed.json().code).toBe('audit_verification_failed');
  for (const format of ['jsonl', 'csv', 'json']) {
    const exported = expectStatus(
      await org.owner.get(`${base(org.orgId)}/audit-events/export?format=${format}`),
      409,
    );
    expect(exported.json().code).toBe('audit_verification_failed');
  }
  expect(await head(org.orgId)).toEqual(before.head);
  expect(await checkpointCount(org.orgId)).toBe(before.checkpoints);
}

/**
 * Appends an entry through SQL on an ordinary connection, perfectly linked into the chain (right
 * seq, prevHash and hash) and moving the head, as someone who can write to the database could.
 */
async function appendForged(orgId: string): Promise<{ seq: number; hash: string }> {
  const org = { orgId };
  const [last] = (await rows(org.orgId)).slice(-1);
  const fake = {
    ...entryFromRow('org', last!),
    id: randomUUID(),
    seq: last!.seq + 1,
    action: 'member.role_changed',
    after: { role: 'owner' },
    prevHash: last!.hash,
  };
  const hash = entryHash(fake);
  // An ordinary connection can insert rows: the hash chain alone cannot tell this one apart.
  await t.db.database.db.transaction(async (tx) => {
    await tx.insert(auditEvents).values({
      chainId: org.orgId,
      seq: fake.seq,
      id: fake.id,
      occurredAt: new Date(fake.occurredAt),
      actorType: fake.actor.type,
      actorId: fake.actor.id,
      actorEmail: fake.actor.email,
      action: fake.action,
      targetType: fake.target.type,
      targetId: fake.target.id,
      targetName: fake.target.name ?? null,
      targetEmail: fake.target.email ?? null,
      before: fake.before,
      after: fake.after,
      ip: fake.ip,
      userAgent: fake.userAgent,
      requestId: fake.requestId,
      prevHash: fake.prevHash,
      hash,
      mac: 'forged',
      macKeyId: t.app.gatehouse.audit.signingKey.keyId,
    });
    await tx
      .update(auditChains)
      .set({ headSeq: fake.seq, headHash: hash })
      .where(eq(auditChains.chainId, org.orgId));
  });
  return { seq: fake.seq, hash };
}

describe('the audit_events trigger', () => {
  it('refuses UPDATE, DELETE and TRUNCATE from an ordinary connection, and nothing changes', async () => {
    const org = await orgWithEntries(4);
    const before = await rows(org.orgId);
    const db = t.db.database.db;
    const attempts = [
      sql`UPDATE audit_events SET action = 'org.deleted' WHERE chain_id = ${org.orgId} AND seq = 2`,
      sql`UPDATE audit_events SET after = NULL WHERE chain_id = ${org.orgId}`,
      sql`DELETE FROM audit_events WHERE chain_id = ${org.orgId} AND seq = 4`,
      sql`DELETE FROM audit_events WHERE chain_id = ${org.orgId}`,
      sql`TRUNCATE audit_events`,
    ];
    for (const attempt of attempts) {
      const err = await db.execute(attempt).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, 'the statement was refused').toBeDefined();
      expect(pgErrorCode(err)).toBe('42501');
    }
    // Also inside a transaction that declares itself as retention, for entries still in the chain.
    const pruning = await db
      .transaction(async (tx) => {
        await tx.execute(sql`SELECT set_config('gatehouse.audit_prune', 'on', true)`);
        await tx.execute(sql`DELETE FROM audit_events WHERE chain_id = ${org.orgId} AND seq = 1`);
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(pgErrorCode(pruning)).toBe('42501');
    expect(await rows(org.orgId)).toEqual(before);
    expect(await verify(org)).toMatchObject({ ok: true, checked: 4, headSeq: 4 });
  });
});

describe('GET /orgs/:orgId/audit-events/verify after tampering behind the trigger', () => {
  it('names an entry whose content was changed (hash_mismatch)', async () => {
    const org = await orgWithEntries(5);
    await behindTheTrigger((tx) =>
      tx
        .update(auditEvents)
        .set({ actorEmail: 'someone-else@example.test' })
        .where(sql`${auditEvents.chainId} = ${org.orgId} AND ${auditEvents.seq} = 3`),
    );
    expect(await verify(org)).toMatchObject({
      ok: false,
      firstBadSeq: 3,
      reason: 'hash_mismatch',
      checked: 2,
    });
    await expectNothingSigned(org);
  });

  it('names an entry deleted from the middle (missing_entry)', async () => {
    const org = await orgWithEntries(5);
    await behindTheTrigger((tx) =>
      tx.execute(sql`DELETE FROM audit_events WHERE chain_id = ${org.orgId} AND seq = 3`),
    );
    expect(await verify(org)).toMatchObject({ ok: false, firstBadSeq: 3, reason: 'missing_entry' });
    await expectNothingSigned(org);
  });

  it('names the first of two entries that were swapped', async () => {
    const org = await orgWithEntries(5);
    await behindTheTrigger(async (tx) => {
      const at = (seq: number) => sql`chain_id = ${org.orgId} AND seq = ${seq}`;
      await tx.execute(sql`UPDATE audit_events SET seq = -1 WHERE ${at(2)}`);
      await tx.execute(sql`UPDATE audit_events SET seq = 2 WHERE ${at(4)}`);
      await tx.execute(sql`UPDATE audit_events SET seq = 4 WHERE ${at(-1)}`);
    });
    const swapped = await rows(org.orgId);
    expect(swapped.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(await verify(org)).toMatchObject({ ok: false, firstBadSeq: 2, reason: 'hash_mismatch' });
    await expectNothingSigned(org);
  });

  it('names the first of two entries whose contents were swapped under their sequence numbers', async () => {
    const org = await orgWithEntries(5);
    const [second, fourth] = [(await rows(org.orgId))[1]!, (await rows(org.orgId))[3]!];
    await behindTheTrigger(async (tx) => {
      const contentOf = ({ chainId: _c, seq: _s, id: _i, ...content }: typeof second) => content;
      // ids are unique: move them through a placeholder as the contents trade places.
      await tx
        .update(auditEvents)
        .set({ ...contentOf(fourth), id: '00000000-0000-4000-8000-000000000000' })
        .where(sql`${auditEvents.chainId} = ${org.orgId} AND ${auditEvents.seq} = 2`);
      await tx
        .update(auditEvents)
        .set({ ...contentOf(second), id: second.id })
        .where(sql`${auditEvents.chainId} = ${org.orgId} AND ${auditEvents.seq} = 4`);
      await tx
        .update(auditEvents)
        .set({ id: fourth.id })
        .where(sql`${auditEvents.chainId} = ${org.orgId} AND ${auditEvents.seq} = 2`);
    });
    expect(await verify(org)).toMatchObject({ ok: false, firstBadSeq: 2, reason: 'hash_mismatch' });
  });

  it('names an entry that was changed and re-hashed: it lacks this installation’s authenticator', async () => {
    const org = await orgWithEntries(5);
    const original = (await rows(org.orgId))[2]!;
    const forged = { ...entryFromRow('org', original), after: { name: 'Forged' } };
    await behindTheTrigger((tx) =>
      tx
        .update(auditEvents)
        .set({ after: forged.after, hash: entryHash(forged) })
        .where(sql`${auditEvents.chainId} = ${org.orgId} AND ${auditEvents.seq} = 3`),
    );
    // The forged entry is consistent with itself; its authenticator and the next link give it away.
    const [row] = (await rows(org.orgId)).filter((r) => r.seq === 3);
    expect(entryHash(entryFromRow('org', row!))).toBe(row!.hash);
    expect(await verify(org)).toMatchObject({ ok: false, firstBadSeq: 3, reason: 'unauthenticated_entry' });
    await expectNothingSigned(org);
  });

  it('names a signed entry that was changed and re-hashed, through the next entry’s link (broken_link)', async () => {
    const org = await orgWithEntries(5);
    await signCheckpoint(org);
    const original = (await rows(org.orgId))[2]!;
    const forged = { ...entryFromRow('org', original), after: { name: 'Forged' } };
    await behindTheTrigger((tx) =>
      tx
        .update(auditEvents)
        .set({ after: forged.after, hash: entryHash(forged) })
        .where(sql`${auditEvents.chainId} = ${org.orgId} AND ${auditEvents.seq} = 3`),
    );
    expect(await verify(org, 'full')).toMatchObject({
      ok: false,
      firstBadSeq: 3,
      reason: 'broken_link',
      scope: 'full',
    });
    // Entries below the last checkpoint are not read again by default (only the one it names).
    expect(await verify(org)).toMatchObject({ ok: true, scope: 'since_checkpoint', firstSeq: 6, checked: 1 });
  });

  it('names the head when the last entry was changed and re-hashed', async () => {
    const org = await orgWithEntries(4);
    const last = (await rows(org.orgId))[3]!;
    const forged = { ...entryFromRow('org', last), after: { name: 'Forged' } };
    await behindTheTrigger((tx) =>
      tx
        .update(auditEvents)
        .set({ after: forged.after, hash: entryHash(forged) })
        .where(sql`${auditEvents.chainId} = ${org.orgId} AND ${auditEvents.seq} = 4`),
    );
    expect(await verify(org)).toMatchObject({ ok: false, firstBadSeq: 4, reason: 'unauthenticated_entry' });
  });

  it('names an entry appended through SQL with a perfectly linked hash, and signs nothing after it', async () => {
    const org = await orgWithEntries(3);
    const forged = await appendForged(org.orgId);
    expect(await verify(org)).toMatchObject({
      ok: false,
      firstBadSeq: forged.seq,
      reason: 'unauthenticated_entry',
    });
    await expectNothingSigned(org);
  });

  it('is not fooled by a key and a checkpoint added to the database to vouch for a forged entry', async () => {
    const org = await orgWithEntries(3);
    const forged = await appendForged(org.orgId);
    const intruder = signingKeyFrom(generateKeyPairSync('ed25519').privateKey);
    const cp = signWith(intruder, 'org', org.orgId, {
      seq: forged.seq,
      hash: forged.hash,
      signedAt: new Date().toISOString(),
    });
    // Inserting is what an ordinary connection may still do on these tables.
    await t.db.database.db
      .insert(auditKeys)
      .values({ keyId: intruder.keyId, algorithm: 'Ed25519', publicKey: intruder.publicKey });
    await t.db.database.db.insert(auditCheckpoints).values({
      chainId: org.orgId,
      seq: cp.seq,
      hash: cp.hash,
      signedAt: new Date(cp.signedAt),
      keyId: cp.keyId,
      signature: cp.signature,
    });
    expect(await verify(org)).toMatchObject({
      ok: false,
      firstBadSeq: forged.seq,
      reason: 'unauthenticated_entry',
    });
    await expectNothingSigned(org);
  });

  it('reports entries cut off the end after a checkpoint was signed (truncated)', async () => {
    const org = await orgWithEntries(5);
    const cp = await signCheckpoint(org);
    expect(cp).toMatchObject({ orgId: org.orgId, seq: 5 });
    // The checkpoint request itself is entry 6.
    expect(await verify(org)).toMatchObject({ ok: true, headSeq: 6, signedSeq: 5 });
    await behindTheTrigger((tx) =>
      tx.execute(sql`DELETE FROM audit_events WHERE chain_id = ${org.orgId} AND seq >= 4`),
    );
    expect(await verify(org)).toMatchObject({ ok: false, firstBadSeq: 4, reason: 'truncated' });
    await expectNothingSigned(org);
  });

  it('reports a cut end through the signed checkpoint even when the chain head was wound back too', async () => {
    const org = await orgWithEntries(5);
    await signCheckpoint(org);
    const third = (await rows(org.orgId))[2]!;
    await behindTheTrigger(async (tx) => {
      await tx.execute(sql`DELETE FROM audit_events WHERE chain_id = ${org.orgId} AND seq >= 4`);
      await tx
        .update(auditChains)
        .set({ headSeq: 3, headHash: third.hash })
        .where(eq(auditChains.chainId, org.orgId));
    });
    expect(await verify(org)).toMatchObject({ ok: false, firstBadSeq: 4, reason: 'truncated' });
  });

  it('reports a checkpoint whose signature was altered (bad_signature)', async () => {
    const org = await orgWithEntries(5);
    const cp = await signCheckpoint(org);
    const forge = (tx: Tx) =>
      tx
        .update(auditCheckpoints)
        .set({ signature: flipped(cp.signature) })
        .where(sql`${auditCheckpoints.chainId} = ${org.orgId} AND ${auditCheckpoints.seq} = ${cp.seq}`);
    // Checkpoints are written once: an ordinary connection cannot change one.
    await expect(t.db.database.db.transaction(forge)).rejects.toThrow();
    await behindTheTrigger(forge);
    expect(await verify(org)).toMatchObject({
      ok: false,
      firstBadSeq: cp.seq,
      reason: 'bad_signature',
    });
    await expectNothingSigned(org);
  });

  it('reports a checkpoint attributed to a key nobody published (unknown_key)', async () => {
    const org = await orgWithEntries(3);
    const cp = await signCheckpoint(org);
    await behindTheTrigger((tx) =>
      tx
        .update(auditCheckpoints)
        .set({ keyId: 'not-a-published-key' })
        .where(sql`${auditCheckpoints.chainId} = ${org.orgId} AND ${auditCheckpoints.seq} = ${cp.seq}`),
    );
    expect(await verify(org)).toMatchObject({ ok: false, firstBadSeq: cp.seq, reason: 'unknown_key' });
  });

  it('reports a chain emptied by moving its start without retention, on an ordinary connection', async () => {
    const org = await orgWithEntries(4);
    await t.app.gatehouse.audit.checkpointAll();
    // The start moves only for a transaction that declares itself retention…
    await expect(
      t.db.database.db.execute(
        sql`UPDATE audit_chains SET start_seq = head_seq + 1 WHERE chain_id = ${org.orgId}`,
      ),
    ).rejects.toThrow();
    // …which any connection can declare; but then no `audit.pruned` entry matches the new start.
    await t.db.database.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT set_config('gatehouse.audit_prune', 'on', true)`);
      await tx.execute(sql`UPDATE audit_chains SET start_seq = head_seq + 1 WHERE chain_id = ${org.orgId}`);
      await tx.execute(sql`DELETE FROM audit_events WHERE chain_id = ${org.orgId}`);
    });
    expect(await rows(org.orgId)).toEqual([]);
    expect(await verify(org)).toMatchObject({ ok: false, firstBadSeq: 1, reason: 'missing_entry' });
  });

  it('refuses to wind a chain head back or delete a chain or a published key, on an ordinary connection', async () => {
    const org = await orgWithEntries(3);
    await t.app.gatehouse.audit.registerKey();
    const db = t.db.database.db;
    await expect(
      db.execute(sql`UPDATE audit_chains SET head_seq = 1 WHERE chain_id = ${org.orgId}`),
    ).rejects.toThrow();
    await expect(db.execute(sql`DELETE FROM audit_chains WHERE chain_id = ${org.orgId}`)).rejects.toThrow();
    await expect(db.execute(sql`DELETE FROM audit_keys`)).rejects.toThrow();
    await expect(db.execute(sql`TRUNCATE audit_checkpoints`)).rejects.toThrow();
    expect((await head(org.orgId))!.headSeq).toBe(3);
    expect((await verify(org)).ok).toBe(true);
  });

  it('leaves other organizations’ chains verifying', async () => {
    const tampered = await orgWithEntries(3);
    const bystander = await orgWithEntries(3);
    await behindTheTrigger((tx) =>
      tx.execute(sql`DELETE FROM audit_events WHERE chain_id = ${tampered.orgId} AND seq = 2`),
    );
    expect(await verify(tampered)).toMatchObject({ ok: false, firstBadSeq: 2 });
    expect(await verify(bystander)).toMatchObject({ ok: true, checked: 3 });
    expect(await signCheckpoint(bystander)).toMatchObject({ seq: 3 });
  });
});

describe('GET /orgs/:orgId/audit-events/verify by default: from the last signed checkpoint', () => {
  it('checks the entries since the last checkpoint and the entry it names; full=true the whole chain', async () => {
    const org = await orgWithEntries(5);
    await signCheckpoint(org);
    expect(await verify(org)).toEqual({
      ok: true,
      checked: 1,
      firstSeq: 6,
      headSeq: 6,
      headHash: (await head(org.orgId)).headHash,
      signedSeq: 5,
      scope: 'since_checkpoint',
    });
    expect(await verify(org, 'full')).toMatchObject({ ok: true, checked: 6, firstSeq: 1, scope: 'full' });
  });

  it('names an entry changed after the checkpoint, as the whole chain’s check names it', async () => {
    const org = await orgWithEntries(4);
    await signCheckpoint(org);
    expectStatus(await org.owner.patch(base(org.orgId), { name: 'After' }), 200);
    await behindTheTrigger((tx) =>
      tx
        .update(auditEvents)
        .set({ action: 'org.deleted' })
        .where(sql`${auditEvents.chainId} = ${org.orgId} AND ${auditEvents.seq} = 6`),
    );
    expect(await verify(org)).toMatchObject({
      ok: false,
      firstBadSeq: 6,
      reason: 'hash_mismatch',
      scope: 'full',
    });
  });

  it('names the checkpointed entry itself when it was changed and re-hashed', async () => {
    const org = await orgWithEntries(4);
    const cp = await signCheckpoint(org);
    const original = (await rows(org.orgId))[cp.seq - 1]!;
    const forged = { ...entryFromRow('org', original), after: { name: 'Forged' } };
    await behindTheTrigger((tx) =>
      tx
        .update(auditEvents)
        .set({ after: forged.after, hash: entryHash(forged) })
        .where(sql`${auditEvents.chainId} = ${org.orgId} AND ${auditEvents.seq} = ${cp.seq}`),
    );
    expect(await verify(org)).toMatchObject({ ok: false, firstBadSeq: cp.seq, scope: 'full' });
    await expectNothingSigned(org);
  });

  it('reports a start moved without retention without reading the chain', async () => {
    const org = await orgWithEntries(4);
    await t.app.gatehouse.audit.checkpointAll();
    await t.db.database.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT set_config('gatehouse.audit_prune', 'on', true)`);
      await tx.execute(sql`UPDATE audit_chains SET start_seq = 3 WHERE chain_id = ${org.orgId}`);
      await tx.execute(sql`DELETE FROM audit_events WHERE chain_id = ${org.orgId} AND seq < 3`);
    });
    const since = await t.app.gatehouse.audit.verify(
      t.db.database.db,
      { kind: 'org', id: org.orgId },
      { sinceCheckpoint: true },
    );
    expect(since).toMatchObject({ ok: false, firstBadSeq: 1, reason: 'missing_entry' });
  });
});

describe('a chain whose head record was deleted behind the trigger', () => {
  const deleteHead = (orgId: string) =>
    behindTheTrigger((tx) => tx.delete(auditChains).where(eq(auditChains.chainId, orgId)));

  it('fails verification, naming the missing head, in either scope', async () => {
    const org = await orgWithEntries(4);
    await signCheckpoint(org);
    await deleteHead(org.orgId);
    for (const scope of ['default', 'full'] as const) {
      const report = await verify(org, scope);
      expect(report).toMatchObject({ ok: false, reason: 'missing_head', firstBadSeq: 6, headSeq: 5 });
      expect(report.detail).toMatch(
        /head record is missing while entries 1 to 5 and 1 signed checkpoint remain/,
      );
    }
  });

  it('names an entry rewritten before the head was deleted, and the missing head', async () => {
    const org = await orgWithEntries(5);
    await signCheckpoint(org);
    await behindTheTrigger(async (tx) => {
      await tx
        .update(auditEvents)
        .set({ action: 'org.deleted' })
        .where(sql`${auditEvents.chainId} = ${org.orgId} AND ${auditEvents.seq} = 2`);
      await tx.delete(auditChains).where(eq(auditChains.chainId, org.orgId));
    });
    const report = await verify(org);
    expect(report).toMatchObject({ ok: false, reason: 'missing_head', firstBadSeq: 2 });
    expect(report.detail).toMatch(
      /head record is missing.*; besides, entry 2 does not match its hash.*\(hash_mismatch\)$/,
    );
  });

  it('takes no more writes: 409 audit_verification_failed naming the head, and nothing is written', async () => {
    const org = await orgWithEntries(3);
    await deleteHead(org.orgId);
    const before = await rows(org.orgId);
    const refused = expectStatus(await org.owner.patch(base(org.orgId), { name: 'Later' }), 409);
    expect(refused.json()).toMatchObject({ code: 'audit_verification_failed' });
    expect(refused.json().detail).toMatch(
      /lost its head record \(entries 1 to 3 and 0 signed checkpoints remain\)/,
    );
    // Concurrent writers are refused alike; none starts the chain over.
    const attempts = await Promise.all(
      [1, 2, 3].map((i) => org.owner.patch(base(org.orgId), { name: `Later ${i}` })),
    );
    expect(attempts.map((r) => r.statusCode)).toEqual([409, 409, 409]);
    expect(await rows(org.orgId)).toEqual(before);
    const [chain] = await t.db.database.db
      .select()
      .from(auditChains)
      .where(eq(auditChains.chainId, org.orgId));
    expect(chain).toBeUndefined();
    await t.app.gatehouse.audit.checkpointAll();
    expect(await checkpointCount(org.orgId)).toBe(0);
    expect(await verify(org)).toMatchObject({ ok: false, reason: 'missing_head' });
  });

  it('still starts a chain that never had entries', async () => {
    const org = await orgWithEntries(1);
    expect(await verify(org)).toMatchObject({ ok: true, checked: 1 });
  });
});
