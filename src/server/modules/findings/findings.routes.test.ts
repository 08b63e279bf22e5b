import { asc, eq, inArray, type SQL, sql } from 'drizzle-orm';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { queryRows } from '../../../../test/support/database.ts';
import { seedApplication, seedFindings, seedScan } from '../../../../test/support/findings.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';
import * as schema from '../../platform/db/schema.ts';
import { auditEvents, findingSearchKey, findings } from '../../platform/db/schema.ts';
import { listFindings, searchKeyOf } from './findings.repository.ts';
import { SearchTrigramSample } from './findings.search-terms.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

type Org = Awaited<ReturnType<typeof createOrg>>;
const at = (orgId: string, rest = '') => `/api/v1/orgs/${orgId}${rest}`;
const ids = (res: { json(): { items: Array<{ id: string }> } }) => res.json().items.map((f) => f.id);

const auditOf = (org: Org) =>
  t.db.database.db
    .select({
      action: auditEvents.action,
      before: auditEvents.before,
      after: auditEvents.after,
      targetId: auditEvents.targetId,
    })
    .from(auditEvents)
    .where(eq(auditEvents.chainId, org.orgId))
    .orderBy(asc(auditEvents.seq));

/** A custom role (pro plan) holding exactly these permissions, and a new member holding it. */
async function memberWith(org: Org, permissions: string[]): Promise<Person> {
  const slug = `r-${Math.random().toString(36).slice(2, 8)}`;
  expectStatus(
    await as(t.app, org.owner).post(at(org.orgId, '/roles'), { slug, name: slug, permissions }),
    201,
  );
  return addMember(t.app, org, slug, {}, t.mail);
}

/**
 * A new org with `total` findings, newest first by i (1 to total), more than a search's first
 * walk reads: the `rare` oldest titled `${rareTitle} ${i}`, the others `Common issue ${i}`; rule
 * `rule.${i % 7}`, path `path` (SQL over i).
 */
async function orgPastTheWalk(total: number, rare: number, rareTitle: string, path: SQL) {
  const org = await createOrg(t.app);
  const app = await seedApplication(t.app, org.orgId, 'monolith');
  await t.db.database.db.execute(sql`
    INSERT INTO findings (org_id, application_id, fingerprint, rule_id, title, severity, status,
                          location, tool, first_seen_at, last_seen_at)
    SELECT ${org.orgId}::uuid, ${app}::uuid, 'fp-' || i, 'rule.' || (i % 7),
           CASE WHEN i > ${total - rare}::int THEN ${rareTitle}::text || ' ' || i ELSE 'Common issue ' || i END,
           'medium', 'open', jsonb_build_object('path', ${path}, 'startLine', 1),
           'semgrep', now() - make_interval(secs => i), now() - make_interval(secs => i)
      FROM generate_series(1, ${total}::int) AS i`);
  return org;
}

describe('GET /orgs/:orgId/findings', () => {
  let org: Org;
  let appA: string;
  let appB: string;
  let f: string[];
  let dev: Person;
  beforeAll(async () => {
    org = await createOrg(t.app);
    dev = await addMember(t.app, org, 'developer', { name: 'Dee Dev' }, t.mail);
    appA = await seedApplication(t.app, org.orgId, 'payments');
    appB = await seedApplication(t.app, org.orgId, 'web');
    f = await seedFindings(t.app, org.orgId, appA, [
      { severity: 'critical', title: 'SQL injection in login', ruleId: 'py.sqli', path: 'src/Auth/login.py' },
      {
        severity: 'high',
        status: 'triaged',
        title: 'Hard-coded secret',
        ruleId: 'secrets.aws',
        path: 'config/prod.env',
        assigneeId: dev.userId,
      },
      {
        severity: 'low',
        status: 'resolved',
        title: 'Verbose error 100%_done',
        ruleId: 'js.errors',
        path: 'web/app.js',
      },
      { severity: 'medium', title: 'Open redirect', ruleId: 'js.redirect', path: 'web/redirect.js' },
    ]);
    f.push(
      ...(await seedFindings(t.app, org.orgId, appB, [
        {
          severity: 'high',
          title: 'Weak hash (MD5)',
          ruleId: 'crypto.md5',
          path: 'lib/hash.go',
          secondsAgo: 10,
        },
      ])),
    );
    // Another org's findings never show.
    const other = await createOrg(t.app);
    const otherApp = await seedApplication(t.app, other.orgId);
    await seedFindings(t.app, other.orgId, otherApp, [
      { severity: 'critical', title: 'SQL injection elsewhere' },
    ]);
  });

  const list = async (query = '') =>
    expectStatus(await as(t.app, org.owner).get(at(org.orgId, `/findings${query}`)), 200);

  it('lists the org’s findings most recently seen first, with the fields of the contract', async () => {
    const res = await list();
    expect(ids(res)).toEqual(f);
    expect(res.json().nextCursor).toBeNull();
    expect(res.json().items[1]).toMatchObject({
      id: f[1],
      applicationId: appA,
      ruleId: 'secrets.aws',
      title: 'Hard-coded secret',
      severity: 'high',
      status: 'triaged',
      assigneeId: dev.userId,
      location: { path: 'config/prod.env', startLine: 2 },
      fingerprint: expect.any(String),
      firstSeenAt: expect.any(String),
      lastSeenAt: expect.any(String),
      occurrences: 1,
    });
  });

  it('filters by severity and status, repeated or as comma lists, and by assignee and application', async () => {
    expect(ids(await list('?severity=high'))).toEqual([f[1], f[4]]);
    expect(ids(await list('?severity=high&severity=critical'))).toEqual([f[0], f[1], f[4]]);
    expect(ids(await list('?severity=high,critical'))).toEqual([f[0], f[1], f[4]]);
    expect(ids(await list('?status=open'))).toEqual([f[0], f[3], f[4]]);
    expect(ids(await list('?status=triaged,resolved'))).toEqual([f[1], f[2]]);
    expect(ids(await list('?status=open&severity=high'))).toEqual([f[4]]);
    expect(ids(await list('?severity=high,critical&status=open,triaged'))).toEqual([f[0], f[1], f[4]]);
    expect(ids(await list('?severity=low&status=resolved,open'))).toEqual([f[2]]);
    expect(ids(await list('?severity=critical&status=false_positive'))).toEqual([]);
    expect(ids(await list(`?assigneeId=${dev.userId}`))).toEqual([f[1]]);
    expect(ids(await list('?assigneeId=none'))).toEqual([f[0], f[2], f[3], f[4]]);
    expect(ids(await list(`?applicationId=${appB}`))).toEqual([f[4]]);
    expect(ids(await list(`?applicationId=${appA}&severity=low,medium`))).toEqual([f[2], f[3]]);
  });

  it('searches an org larger than the first walk through the trigram index: old matches, in list order, only its own', async () => {
    // 10,100 findings, newest first by i; the three rare ones are the oldest, beyond the walk.
    const big = await orgPastTheWalk(
      10_100,
      3,
      'Quokka deserialization',
      sql`'src/mod' || (i % 50) || '/f.py'`,
    );
    const res = expectStatus(
      await as(t.app, big.owner).get(at(big.orgId, '/findings?q=quokka%20deser')),
      200,
    );
    expect(res.json().items.map((i: { title: string }) => i.title)).toEqual([
      'Quokka deserialization 10098',
      'Quokka deserialization 10099',
      'Quokka deserialization 10100',
    ]);
    // The same rare term in another org is not found from here.
    expect(ids(await as(t.app, org.owner).get(at(org.orgId, '/findings?q=quokka%20deser')))).toEqual([]);
    const titles = async (q: string) =>
      expectStatus(await as(t.app, big.owner).get(at(big.orgId, `/findings?q=${q}`)), 200)
        .json()
        .items.map((i: { title: string }) => i.title);
    // Terms across separators (title, rule and path): the index matches them without their
    // separators, the search text decides.
    expect(await titles(encodeURIComponent('n 10099 rule.5 src/mod49/'))).toEqual([
      'Quokka deserialization 10099',
    ]);
    expect(await titles(encodeURIComponent('10100 RULE.6'))).toEqual(['Quokka deserialization 10100']);
    // "deserialization1" is in the search key of all three ("…deserialization10098rule…") but in
    // none of their titles: the key only narrows.
    expect(await titles('deserialization1')).toEqual([]);
    expect(await titles(encodeURIComponent('deserialization/10098'))).toEqual([]);
    // The sample the index's trigrams are chosen by: shares of the findings' keys holding each.
    const errors: unknown[] = [];
    const shares = await new SearchTrigramSample(t.db.database.db, (e) => errors.push(e)).current();
    expect(errors).toEqual([]);
    const [counts] = await queryRows<{ total: number; common: number }>(
      t.db.database.db,
      sql`SELECT count(*)::int AS total, count(*) FILTER (WHERE title LIKE 'Common issue%')::int AS common FROM findings`,
    );
    // "mon" ("Common issue …") is in the big org's 10,097 common findings and maybe a few others.
    expect(shares!.get('mon')).toBeGreaterThanOrEqual(counts!.common / counts!.total);
    expect(shares!.get('mon')).toBeLessThan(1);
    expect(shares!.has('quo')).toBe(false); // 3 of some 10,100: below the share kept
  });

  it('never asks the trigram index for a term pg_trgm takes no trigram from (it would read every org’s)', async () => {
    const big = await orgPastTheWalk(10_010, 2, 'Exponent x²²² overflow', sql`'src/f.py'`);
    // "²" is a digit to JavaScript, not a word character to pg_trgm: a LIKE on the key with it
    // alone gives the index nothing to look up, and GIN answers with every row of the table.
    const [none] = await queryRows<{ n: number }>(
      t.db.database.db,
      sql`SELECT cardinality(show_trgm('²²²'))::int AS n`,
    );
    expect(none!.n).toBe(0);
    const statements: string[] = [];
    const logger = { logQuery: (query: string) => void statements.push(query) };
    const { database } = t.db;
    const db =
      database.kind === 'pglite'
        ? drizzlePglite(database.pglite!, { schema, logger })
        : drizzleNodePg(database.pool!, { schema, logger });
    const sample = new SearchTrigramSample(db, (e) => {
      throw e;
    });
    const search = async (q: string) =>
      (await listFindings(db, big.orgId, { q }, { limit: 51 }, sample)).map((f) => f.title);
    expect(await search('²²²')).toEqual(['Exponent x²²² overflow 10009', 'Exponent x²²² overflow 10010']);
    expect(statements.filter((s) => s.includes('"search_key" LIKE'))).toEqual([]);
    // A term with a trigram to look up is still answered from the index.
    expect(await search('x²²² overflow 10010')).toEqual(['Exponent x²²² overflow 10010']);
    expect(statements.filter((s) => s.includes('"search_key" LIKE'))).not.toEqual([]);
  });

  it('the search key is trigram-indexed, and a term’s key is cut as the column’s is', async () => {
    const db = t.db.database.db;
    const plan = await db.transaction(async (tx) => {
      await tx.execute(sql`SET LOCAL enable_seqscan = off`);
      const rows = await queryRows<{ 'QUERY PLAN': string }>(
        tx,
        sql`EXPLAIN SELECT id FROM ${findings} WHERE ${findings.searchKey} LIKE '%quokka%'`,
      );
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan, plan).toContain('findings_search_trgm_idx');
    const terms = [
      ' !"#$%&\'()*+,-./0123456789:;<=>?@[\\]^_`{|}~',
      'src/auth/login.py:42',
      'ünïcödé — ñ/é',
      'a\tb\nc',
    ];
    for (const term of terms) {
      const [row] = await queryRows<{ key: string }>(
        db,
        sql`SELECT ${findingSearchKey(sql`${term}::text`)} AS key`,
      );
      expect(searchKeyOf(term)).toBe(row!.key);
    }
  });

  it('finds a term in any case as the database lowers the search text, beyond ASCII', async () => {
    const [sigma, dotted] = await seedFindings(t.app, org.orgId, appB, [
      { title: 'ΟΔΟΣ traversal', ruleId: 'gr.path', path: 'lib/odos.go', secondsAgo: 50 },
      { title: 'İzmir encoding', ruleId: 'tr.enc', path: 'lib/izmir.go', secondsAgo: 51 },
    ]);
    try {
      // JavaScript lowers a final capital sigma to "ς" and "İ" to "i" and a combining dot;
      // the search text holds what the database made of them ("σ", "i").
      expect(ids(await list(`?q=${encodeURIComponent('ΟΔΟΣ')}`))).toEqual([sigma]);
      expect(ids(await list(`?q=${encodeURIComponent('οδοσ tr')}`))).toEqual([sigma]);
      expect(ids(await list(`?q=${encodeURIComponent('İZMİR')}`))).toEqual([dotted]);
    } finally {
      await t.db.database.db.delete(findings).where(inArray(findings.id, [sigma!, dotted!]));
    }
  });

  it('searches title, rule and path for a substring in any case, wildcards taken literally', async () => {
    expect(ids(await list('?q=injection'))).toEqual([f[0]]);
    expect(ids(await list('?q=SQL%20INJ'))).toEqual([f[0]]);
    expect(ids(await list('?q=auth%2Flog'))).toEqual([f[0]]);
    expect(ids(await list('?q=crypto.md'))).toEqual([f[4]]);
    expect(ids(await list('?q=web%2F'))).toEqual([f[2], f[3]]);
    expect(ids(await list('?q=js'))).toEqual([f[2], f[3]]);
    expect(ids(await list('?q=%25_'))).toEqual([f[2]]);
    expect(ids(await list('?q=_'))).toEqual([f[2]]);
    expect(ids(await list('?q=%20%20md5%20'))).toEqual([f[4]]);
    expect(ids(await list('?q=nowhere-at-all'))).toEqual([]);
    expect(ids(await list('?q=redirect&severity=critical'))).toEqual([]);
  });

  it('pages by cursor without gaps or repeats, filters kept', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...ids(res));
      cursor = res.json().nextCursor;
    } while (cursor);
    expect(seen).toEqual(f);
    const first = await list('?severity=high,critical&limit=2');
    expect(ids(first)).toEqual([f[0], f[1]]);
    expect(ids(await list(`?severity=high,critical&limit=2&cursor=${first.json().nextCursor}`))).toEqual([
      f[4],
    ]);
    const search = await list('?q=web&limit=1');
    expect(ids(await list(`?q=web&limit=1&cursor=${search.json().nextCursor}`))).toEqual([f[3]]);
  });

  it('refuses junk filters and forged cursors with 400, and answers 403 to no one who may read', async () => {
    for (const query of [
      '?severity=urgent',
      '?severity=high,,low',
      '?status=closed',
      '?assigneeId=someone',
      '?applicationId=1',
      '?q=',
      '?limit=0',
      '?cursor=bm9wZQ',
      '?unknown=1',
    ]) {
      const res = await as(t.app, org.owner).get(at(org.orgId, `/findings${query}`));
      expect(res.statusCode, query).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
    // Every built-in role reads findings; a role without it does not.
    const none = await memberWith(org, ['members:read']);
    const denied = expectStatus(await as(t.app, none).get(at(org.orgId, '/findings')), 403).json();
    expect(denied).toMatchObject({ code: 'permission_denied', params: { permission: 'findings:read' } });
  });
});

describe('GET /orgs/:orgId/findings/:id', () => {
  it('shows the finding with its application, assignee, scans, comment count and remediations', async () => {
    const org = await createOrg(t.app);
    const dev = await addMember(t.app, org, 'developer', { name: 'Dee Dev' }, t.mail);
    const app = await seedApplication(t.app, org.orgId, 'payments');
    const [id] = await seedFindings(t.app, org.orgId, app, [
      { severity: 'high', title: 'XSS', message: 'Unescaped output', assigneeId: dev.userId },
    ]);
    const scan = await seedScan(t.app, org.orgId, app, [id!]);
    const owner = as(t.app, org.owner);
    expectStatus(await owner.post(at(org.orgId, `/findings/${id}/comments`), { body: 'Looking' }), 201);
    expectStatus(
      await owner.post(at(org.orgId, `/findings/${id}/remediations`), { summary: 'Escape it' }),
      201,
    );

    const res = expectStatus(await as(t.app, dev).get(at(org.orgId, `/findings/${id}`)), 200);
    expect(res.headers.etag).toMatch(/^"/);
    expect(res.json()).toMatchObject({
      id,
      title: 'XSS',
      message: 'Unescaped output',
      tool: 'semgrep',
      application: { id: app, name: 'payments' },
      assignee: { id: dev.userId, name: 'Dee Dev', email: dev.email },
      scans: [{ id: scan, status: 'completed', modules: ['sast'] }],
      commentsCount: 1,
      remediations: [{ summary: 'Escape it', status: 'proposed', createdBy: { id: org.owner.userId } }],
      resolvedAt: null,
    });
  });

  it('answers 404 for another org’s finding, through any route', async () => {
    const mine = await createOrg(t.app);
    const theirs = await createOrg(t.app);
    const app = await seedApplication(t.app, theirs.orgId);
    const [id] = await seedFindings(t.app, theirs.orgId, app, [{}]);
    const remediation = expectStatus(
      await as(t.app, theirs.owner).post(at(theirs.orgId, `/findings/${id}/remediations`), {
        summary: 'Fix',
      }),
      201,
    ).json().id;
    const me = as(t.app, mine.owner);
    for (const res of [
      await me.get(at(mine.orgId, `/findings/${id}`)),
      await me.patch(at(mine.orgId, `/findings/${id}`), { status: 'triaged' }),
      await me.get(at(mine.orgId, `/findings/${id}/comments`)),
      await me.post(at(mine.orgId, `/findings/${id}/comments`), { body: 'hi' }),
      await me.get(at(mine.orgId, `/findings/${id}/remediations`)),
      await me.post(at(mine.orgId, `/findings/${id}/remediations`), { summary: 'x' }),
      await me.post(at(mine.orgId, `/remediations/${remediation}/approve`)),
      // The org in the path is theirs: not a member, so the org itself is not found.
      await me.get(at(theirs.orgId, `/findings/${id}`)),
    ]) {
      expect(res.statusCode, res.body).toBe(404);
      expect(res.json().code).toBe('not_found');
    }
    const [row] = await queryRows<{ status: string }>(
      t.db.database.db,
      sql`SELECT status FROM findings WHERE id = ${id}`,
    );
    expect(row!.status).toBe('open');
  });
});

describe('PATCH /orgs/:orgId/findings/:id', () => {
  it('changes status and assignee, keeps resolved_at in step, and audits before and after', async () => {
    const org = await createOrg(t.app);
    const dev = await addMember(t.app, org, 'developer', { name: 'Dee Dev' }, t.mail);
    const app = await seedApplication(t.app, org.orgId);
    const [id] = await seedFindings(t.app, org.orgId, app, [{ title: 'Leaky' }]);
    const me = as(t.app, dev);

    const assigned = expectStatus(
      await me.patch(at(org.orgId, `/findings/${id}`), { assigneeId: dev.userId }),
      200,
    );
    expect(assigned.json()).toMatchObject({
      status: 'open',
      assigneeId: dev.userId,
      assignee: { name: 'Dee Dev' },
    });
    const resolved = expectStatus(
      await me.patch(at(org.orgId, `/findings/${id}`), { status: 'resolved' }),
      200,
    ).json();
    expect(resolved.resolvedAt).toEqual(expect.any(String));
    // Saying it again changes nothing: no entry.
    const again = expectStatus(
      await me.patch(at(org.orgId, `/findings/${id}`), { status: 'resolved', assigneeId: dev.userId }),
      200,
    ).json();
    expect(again.resolvedAt).toBe(resolved.resolvedAt);
    const reopened = expectStatus(
      await me.patch(at(org.orgId, `/findings/${id}`), { status: 'open', assigneeId: null }),
      200,
    ).json();
    expect(reopened).toMatchObject({ status: 'open', resolvedAt: null, assigneeId: null, assignee: null });

    const log = (await auditOf(org)).filter((e) => e.action === 'finding.updated');
    expect(log.map((e) => [e.targetId, e.before, e.after])).toEqual([
      [id, { status: 'open', assigneeId: null }, { status: 'open', assigneeId: dev.userId }],
      [id, { status: 'open', assigneeId: dev.userId }, { status: 'resolved', assigneeId: dev.userId }],
      [id, { status: 'resolved', assigneeId: dev.userId }, { status: 'open', assigneeId: null }],
    ]);
  });

  it('assigns only to members: strangers and removed members are refused with not_a_member', async () => {
    const org = await createOrg(t.app);
    const gone = await addMember(t.app, org, 'developer', {}, t.mail);
    expectStatus(await as(t.app, org.owner).delete(at(org.orgId, `/members/${gone.userId}`)), 204);
    const stranger = (await createOrg(t.app)).owner;
    const app = await seedApplication(t.app, org.orgId);
    const [id] = await seedFindings(t.app, org.orgId, app, [{}]);
    for (const who of [gone.userId, stranger.userId, '00000000-0000-4000-8000-000000000000']) {
      const res = expectStatus(
        await as(t.app, org.owner).patch(at(org.orgId, `/findings/${id}`), { assigneeId: who }),
        400,
      ).json();
      expect(res.code).toBe('validation_failed');
      expect(res.errors).toEqual([
        expect.objectContaining({ field: '/body/assigneeId', reason: 'not_a_member' }),
      ]);
    }
    expect((await auditOf(org)).filter((e) => e.action === 'finding.updated')).toEqual([]);
  });

  it('marking a false positive needs findings:mark_false_positive: refused and audited without it', async () => {
    const org = await createOrg(t.app);
    const triager = await memberWith(org, ['findings:read', 'findings:update']);
    const app = await seedApplication(t.app, org.orgId);
    const [id] = await seedFindings(t.app, org.orgId, app, [{}]);
    const me = as(t.app, triager);
    expectStatus(await me.patch(at(org.orgId, `/findings/${id}`), { status: 'triaged' }), 200);
    const refused = expectStatus(
      await me.patch(at(org.orgId, `/findings/${id}`), { status: 'false_positive' }),
      403,
    ).json();
    expect(refused).toMatchObject({
      code: 'permission_denied',
      params: { permission: 'findings:mark_false_positive' },
    });
    expect(refused.detail).toContain('findings:mark_false_positive');
    const log = await auditOf(org);
    const denied = log.filter((e) => e.action === 'access.denied');
    expect(denied.at(-1)).toMatchObject({
      targetId: 'PATCH /api/v1/orgs/:orgId/findings/:id',
      after: expect.objectContaining({ permission: 'findings:mark_false_positive' }),
    });
    expect(log.filter((e) => e.action === 'finding.updated')).toHaveLength(1);
    // The owner holds it.
    expectStatus(
      await as(t.app, org.owner).patch(at(org.orgId, `/findings/${id}`), { status: 'false_positive' }),
      200,
    );
    // A viewer cannot change findings at all.
    const viewer = await addMember(t.app, org, 'viewer', {}, t.mail);
    expect(
      (await as(t.app, viewer).patch(at(org.orgId, `/findings/${id}`), { status: 'open' })).json(),
    ).toMatchObject({ code: 'permission_denied', params: { permission: 'findings:update' } });
  });

  it('with If-Match, applies only to the finding as read (412 otherwise)', async () => {
    const org = await createOrg(t.app);
    const app = await seedApplication(t.app, org.orgId);
    const [id] = await seedFindings(t.app, org.orgId, app, [{}]);
    const owner = as(t.app, org.owner);
    const etag = expectStatus(await owner.get(at(org.orgId, `/findings/${id}`)), 200).headers.etag as string;
    expectStatus(await owner.patch(at(org.orgId, `/findings/${id}`), { status: 'triaged' }), 200);
    const stale = await t.app.inject({
      method: 'PATCH',
      url: at(org.orgId, `/findings/${id}`),
      headers: { cookie: org.owner.cookie, origin: 'http://localhost:3000', 'if-match': etag },
      payload: { status: 'mitigated' },
    });
    expect(stale.statusCode).toBe(412);
    expect(stale.json().code).toBe('precondition_failed');
    const fresh = expectStatus(await owner.get(at(org.orgId, `/findings/${id}`)), 200).headers.etag as string;
    const ok = await t.app.inject({
      method: 'PATCH',
      url: at(org.orgId, `/findings/${id}`),
      headers: { cookie: org.owner.cookie, origin: 'http://localhost:3000', 'if-match': fresh },
      payload: { status: 'mitigated' },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.headers.etag).not.toBe(fresh);
  });

  it('refuses empty and unknown bodies', async () => {
    const org = await createOrg(t.app);
    const app = await seedApplication(t.app, org.orgId);
    const [id] = await seedFindings(t.app, org.orgId, app, [{}]);
    for (const body of [{}, { status: 'closed' }, { assigneeId: 'x' }, { severity: 'low' }]) {
      expect((await as(t.app, org.owner).patch(at(org.orgId, `/findings/${id}`), body)).statusCode).toBe(400);
    }
  });
});

describe('comments on a finding', () => {
  it('adds trimmed comments, lists them oldest first with their authors, and audits them', async () => {
    const org = await createOrg(t.app);
    const dev = await addMember(t.app, org, 'developer', { name: 'Dee Dev' }, t.mail);
    const viewer = await addMember(t.app, org, 'viewer', {}, t.mail);
    const app = await seedApplication(t.app, org.orgId);
    const [id] = await seedFindings(t.app, org.orgId, app, [{}]);
    const url = at(org.orgId, `/findings/${id}/comments`);
    const first = expectStatus(await as(t.app, dev).post(url, { body: '  First look \n' }), 201).json();
    expect(first).toMatchObject({ body: 'First look', author: { id: dev.userId, name: 'Dee Dev' } });
    expectStatus(await as(t.app, org.owner).post(url, { body: 'Second' }), 201);
    expectStatus(await as(t.app, dev).post(url, { body: 'Third' }), 201);

    const page1 = expectStatus(await as(t.app, viewer).get(`${url}?limit=2`), 200).json();
    expect(page1.items.map((c: { body: string }) => c.body)).toEqual(['First look', 'Second']);
    expect(page1.items[1].author).toEqual({ id: org.owner.userId, name: 'Olivia Owner' });
    const page2 = expectStatus(
      await as(t.app, viewer).get(`${url}?limit=2&cursor=${page1.nextCursor}`),
      200,
    ).json();
    expect(page2).toMatchObject({ items: [{ body: 'Third' }], nextCursor: null });

    for (const body of [
      { body: '   ' },
      { body: '' },
      { body: 'x'.repeat(10_001) },
      {},
      { body: 'a', extra: 1 },
    ]) {
      expect((await as(t.app, dev).post(url, body)).statusCode).toBe(400);
    }
    expectStatus(await as(t.app, dev).post(url, { body: 'x'.repeat(10_000) }), 201);
    expect((await as(t.app, viewer).post(url, { body: 'me too' })).json()).toMatchObject({
      code: 'permission_denied',
      params: { permission: 'findings:update' },
    });
    const log = (await auditOf(org)).filter((e) => e.action === 'finding.commented');
    expect(log).toHaveLength(4);
    expect(log[0]).toMatchObject({ targetId: id, after: { commentId: first.id } });
  });
});

describe('remediations', () => {
  it('a Developer proposes, an Admin approves once; approving again is a 409', async () => {
    const org = await createOrg(t.app);
    const dev = await addMember(t.app, org, 'developer', { name: 'Dee Dev' }, t.mail);
    const admin = await addMember(t.app, org, 'admin', {}, t.mail);
    const app = await seedApplication(t.app, org.orgId);
    const [id] = await seedFindings(t.app, org.orgId, app, [{}]);
    const created = expectStatus(
      await as(t.app, dev).post(at(org.orgId, `/findings/${id}/remediations`), {
        summary: ' Parameterise the query ',
        patch: '--- a\n+++ b\n',
      }),
      201,
    ).json();
    expect(created).toMatchObject({
      findingId: id,
      summary: 'Parameterise the query',
      patch: '--- a\n+++ b\n',
      status: 'proposed',
      createdBy: { id: dev.userId, name: 'Dee Dev' },
      approvedBy: null,
    });
    const approveUrl = at(org.orgId, `/remediations/${created.id}/approve`);
    expect((await as(t.app, dev).post(approveUrl)).json()).toMatchObject({
      code: 'permission_denied',
      params: { permission: 'remediations:approve' },
    });
    const approved = expectStatus(await as(t.app, admin).post(approveUrl), 200).json();
    expect(approved).toMatchObject({
      status: 'approved',
      approvedBy: admin.userId,
      approvedAt: expect.any(String),
    });
    const again = expectStatus(await as(t.app, org.owner).post(approveUrl), 409).json();
    expect(again.code).toBe('conflict');
    const listed = expectStatus(
      await as(t.app, dev).get(at(org.orgId, `/findings/${id}/remediations`)),
      200,
    ).json();
    expect(listed.items).toEqual([approved]);
    const log = (await auditOf(org)).filter((e) => e.action.startsWith('remediation.'));
    expect(log.map((e) => [e.action, e.targetId])).toEqual([
      ['remediation.created', created.id],
      ['remediation.approved', created.id],
    ]);
    // A viewer may not propose.
    const viewer = await addMember(t.app, org, 'viewer', {}, t.mail);
    expect(
      (await as(t.app, viewer).post(at(org.orgId, `/findings/${id}/remediations`), { summary: 'x' }))
        .statusCode,
    ).toBe(403);
  });
});
