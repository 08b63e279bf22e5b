import type { KeyObject } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEntry, entryHash } from '../../src/server/platform/audit/entry.ts';
import { parsePublicKey } from '../../src/server/platform/audit/keys.ts';
import { verifyExportLines } from '../../src/server/platform/audit/verify-file.ts';
import { auditEvents } from '../../src/server/platform/db/schema.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../support/orgs.ts';

/**
 * Entries name who and what in words, kept in the entry itself: readable after the member is
 * renamed or gone, in the list and in every export; entries written before they had words still
 * verify, online and offline.
 */

let t: TestApp;
let org: { orgId: string; owner: Person };
let dev: Person;
/** A name a spreadsheet would run as a formula. */
const FORMULA_NAME = '=HYPERLINK("http://evil.test/","Dana")';

const at = (rest = '') => `/api/v1/orgs/${org.orgId}${rest}`;

async function entries(query = ''): Promise<AuditEntry[]> {
  return expectStatus(await as(t.app, org.owner).get(at(`/audit-events?limit=200${query}`)), 200).json()
    .items;
}

async function publishedKeys(): Promise<Map<string, KeyObject>> {
  const res = expectStatus(await t.app.inject({ method: 'GET', url: '/api/v1/audit-keys' }), 200).json();
  return new Map(
    res.items.map((k: { keyId: string; publicKey: string }) => [k.keyId, parsePublicKey(k.publicKey)]),
  );
}

beforeAll(async () => {
  t = await createTestApp();
  org = await createOrg(t.app, { name: 'Words Inc', plan: 'pro' });
  dev = await addMember(t.app, org, 'developer', { name: FORMULA_NAME }, t.mail);
  expectStatus(await as(t.app, org.owner).patch(at(`/members/${dev.userId}`), { role: 'admin' }), 200);
});
afterAll(async () => {
  await t?.close();
});

describe('a member’s entries keep their words', () => {
  it('Developer → Admin is readable from the entry alone, after the member renamed themself and was removed', async () => {
    expectStatus(await as(t.app, dev).patch('/api/v1/me', { name: 'Dana Renamed' }), 200);
    // Their own account log names them too (GET /me/audit-events).
    const own = expectStatus(await as(t.app, dev).get('/api/v1/me/audit-events?action=user.updated'), 200);
    expect(own.json().items[0].target).toEqual({
      type: 'user',
      id: dev.userId,
      email: dev.email,
      name: 'Dana Renamed',
    });
    expectStatus(await as(t.app, org.owner).delete(at(`/members/${dev.userId}`)), 204);
    const [changed] = await entries('&action=member.role_changed');
    expect(changed).toMatchObject({
      target: { type: 'member', id: dev.userId, email: dev.email, name: FORMULA_NAME },
      before: { role: 'developer', roleName: 'Developer' },
      after: { role: 'admin', roleName: 'Admin' },
    });
    expect(entryHash(changed!)).toBe(changed!.hash);
    // The removal names them as they were then; the list filters on the target's id as before.
    const [removed] = await entries(`&targetId=${dev.userId}&action=member.removed`);
    expect(removed!.target).toEqual({
      type: 'member',
      id: dev.userId,
      email: dev.email,
      name: 'Dana Renamed',
    });
    expect(removed!.before).toEqual({ role: 'admin', roleName: 'Admin', status: 'active' });
  });

  it('CSV carries the words as its last two columns, a formula defused', async () => {
    const res = expectStatus(await as(t.app, org.owner).get(at('/audit-events/export?format=csv')), 200);
    const [header, ...rows] = res.body.trimEnd().split('\r\n');
    expect(header!.split(',').slice(-3)).toEqual(['actorTokenId', 'targetName', 'targetEmail']);
    const changed = rows.find((r) => r.includes(',member.role_changed,'));
    // The name holds a quote and a comma: quoted, after the apostrophe that keeps it text.
    expect(changed!.endsWith(`,"'=HYPERLINK(""http://evil.test/"",""Dana"")",${dev.email}`)).toBe(true);
  });
});

describe('entries written before targets had words', () => {
  it('are stored without them, listed without the keys, and verify online and offline beside new ones', async () => {
    // What the writer stores for a target without words is what every entry was before: the
    // columns empty, the hash over `{type, id}`.
    const [old] = await t.app.gatehouse.audit.appendNow([
      {
        chain: { kind: 'org', id: org.orgId },
        actor: { type: 'user', id: org.owner.userId, email: org.owner.email },
        action: 'member.role_changed',
        target: { type: 'member', id: dev.userId },
        before: { role: 'developer' },
        after: { role: 'admin' },
        meta: { ip: null, userAgent: null, requestId: null },
      },
    ]);
    const [row] = await t.db.database.db
      .select({ name: auditEvents.targetName, email: auditEvents.targetEmail })
      .from(auditEvents)
      .where(and(eq(auditEvents.chainId, org.orgId), eq(auditEvents.seq, old!.seq)));
    expect(row).toEqual({ name: null, email: null });
    // One more entry with words after it.
    expectStatus(await as(t.app, org.owner).patch(at(), { name: 'Words Renamed' }), 200);

    const listed = await entries();
    const shown = listed.find((e) => e.seq === old!.seq)!;
    expect(shown.target).toEqual({ type: 'member', id: dev.userId });
    expect(Object.keys(shown.target)).toEqual(['type', 'id']);
    expect(entryHash(shown)).toBe(old!.hash);
    expect(listed[0]!.target).toEqual({ type: 'organization', id: org.orgId, name: 'Words Renamed' });

    const verified = expectStatus(await as(t.app, org.owner).get(at('/audit-events/verify')), 200).json();
    expect(verified).toMatchObject({ ok: true, headSeq: listed[0]!.seq });
    const jsonl = expectStatus(await as(t.app, org.owner).get(at('/audit-events/export?format=jsonl')), 200);
    const lines = jsonl.body.split('\n').filter((line) => line !== '');
    expect(lines.some((line) => line.includes('"target":{"email":'))).toBe(true);
    const report = await verifyExportLines(lines, await publishedKeys());
    expect(report).toMatchObject({
      ok: true,
      firstSeq: 1,
      headSeq: listed[0]!.seq,
      signedSeq: listed[0]!.seq,
    });
  });
});
