import fs from 'node:fs';
import zlib from 'node:zlib';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { queryRows } from '../../../../test/support/database.ts';
import {
  addMember,
  as,
  createOrg,
  createPersonalToken,
  expectStatus,
  type Person,
} from '../../../../test/support/orgs.ts';

const fixture = (name: string) => JSON.parse(fs.readFileSync(`test/fixtures/sarif/${name}.sarif`, 'utf8'));

describe('scans: SARIF uploads, findings, tokens and policies', () => {
  let t: TestApp;
  let org: { orgId: string; owner: Person };
  let appId: string;
  const base = () => `/api/v1/orgs/${org.orgId}`;
  const rows = <T>(query: ReturnType<typeof sql>) => queryRows<T>(t.db.database.db, query);
  const used = async (orgId = org.orgId) =>
    (
      await rows<{ used: number }>(
        sql`SELECT sum(used)::int AS used FROM quota_counters WHERE org_id = ${orgId} AND (subject = 'org' OR subject LIKE 'org:%')`,
      )
    )[0]?.used ?? 0;

  beforeAll(async () => {
    t = await createTestApp();
    org = await createOrg(t.app, { plan: 'enterprise' });
    appId = expectStatus(
      await as(t.app, org.owner).post(`${base()}/applications`, { name: 'web' }),
      201,
    ).json().id;
  });
  afterAll(async () => {
    await t?.close();
  });

  const upload = (log: unknown, modules = ['sast'], application = appId) =>
    as(t.app, org.owner).post(`${base()}/scans`, { applicationId: application, modules, sarif: log });

  it('creates a completed scan from a SARIF log: counts, tokens, findings linked, the log kept', async () => {
    const before = await used();
    const res = expectStatus(await upload(fixture('codeql'), ['sast', 'secrets']), 201).json();
    expect(res).toMatchObject({
      status: 'completed',
      modules: ['sast', 'secrets'],
      tokens: 20,
      findings: { total: 4, critical: 1, high: 1, medium: 1, low: 1 },
      policy: { passed: true, violations: [] },
    });
    expect(await used()).toBe(before + 20);
    const ledger = await rows<{ module: string; tokens: number; user_id: string }>(
      sql`SELECT module, tokens, user_id FROM quota_ledger WHERE scan_id = ${res.id} ORDER BY module`,
    );
    expect(ledger).toEqual([
      { module: 'sast', tokens: 15, user_id: org.owner.userId },
      { module: 'secrets', tokens: 5, user_id: org.owner.userId },
    ]);
    const detail = expectStatus(await as(t.app, org.owner).get(`${base()}/scans/${res.id}`), 200).json();
    expect(detail).toMatchObject({
      id: res.id,
      hasSarif: true,
      tools: ['CodeQL'],
      application: { name: 'web' },
    });
    const findings = expectStatus(await as(t.app, org.owner).get(detail.findingsPath), 200).json();
    expect(findings.items.map((f: { severity: string }) => f.severity)).toEqual([
      'critical',
      'high',
      'medium',
      'low',
    ]);
    const sarif = expectStatus(
      await as(t.app, org.owner).get(`${base()}/scans/${res.id}/export?format=sarif`),
      200,
    );
    expect(sarif.headers['content-type']).toContain('application/sarif+json');
    expect(sarif.json()).toEqual(fixture('codeql'));
  });

  it('the same file twice: no duplicate findings, occurrences 2; twice in one scan still counts once', async () => {
    const app = expectStatus(
      await as(t.app, org.owner).post(`${base()}/applications`, { name: 'twice' }),
      201,
    ).json();
    const first = expectStatus(await upload(fixture('trivy'), ['dependencies'], app.id), 201).json();
    const second = expectStatus(await upload(fixture('trivy'), ['dependencies'], app.id), 201).json();
    expect(second.findings.total).toBe(3);
    const found = await rows<{ occurrences: number; last_scan_id: string }>(
      sql`SELECT occurrences, last_scan_id FROM findings WHERE application_id = ${app.id}`,
    );
    expect(found).toHaveLength(3);
    expect(found.every((f) => f.occurrences === 2 && f.last_scan_id === second.id)).toBe(true);
    const doubled = fixture('trivy');
    doubled.runs.push(structuredClone(doubled.runs[0]));
    const third = expectStatus(await upload(doubled, ['dependencies'], app.id), 201).json();
    expect(third.findings).toEqual({ total: 3, critical: 1, high: 1, medium: 1, low: 0 });
    const after = await rows<{ occurrences: number }>(
      sql`SELECT occurrences FROM findings WHERE application_id = ${app.id}`,
    );
    expect(after.map((f) => f.occurrences)).toEqual([3, 3, 3]);
    // Another application's findings are its own.
    expect(first.id).not.toBe(second.id);
  });

  it('a resolved finding seen again reopens, recorded as the system', async () => {
    const app = expectStatus(
      await as(t.app, org.owner).post(`${base()}/applications`, { name: 'reopen' }),
      201,
    ).json();
    expectStatus(await upload(fixture('semgrep'), ['sast'], app.id), 201);
    const [resolved] = await rows<{ id: string }>(
      sql`UPDATE findings SET status = 'resolved', resolved_at = now()
          WHERE application_id = ${app.id} AND rule_id LIKE 'python.lang.security.audit%' RETURNING id`,
    );
    const again = expectStatus(await upload(fixture('semgrep'), ['sast'], app.id), 201).json();
    const [row] = await rows<{ status: string; resolved_at: Date | null }>(
      sql`SELECT status, resolved_at FROM findings WHERE id = ${resolved!.id}`,
    );
    expect(row).toEqual({ status: 'open', resolved_at: null });
    const events = expectStatus(
      await as(t.app, org.owner).get(`${base()}/audit-events?action=finding.reopened`),
      200,
    ).json();
    const entry = events.items.find((e: { target: { id: string } }) => e.target.id === resolved!.id);
    expect(entry).toMatchObject({ actor: { type: 'system' }, after: { status: 'open', scanId: again.id } });
  });

  it('fails a policy the findings break, and says which findings', async () => {
    const app = expectStatus(
      await as(t.app, org.owner).post(`${base()}/applications`, { name: 'policy' }),
      201,
    ).json();
    const [policy] = await rows<{ id: string }>(
      sql`INSERT INTO policies (org_id, name, fail_on, application_ids) VALUES (${org.orgId}, 'No criticals', 'critical', ARRAY[${app.id}]::uuid[]) RETURNING id`,
    );
    const res = expectStatus(await upload(fixture('trivy'), ['dependencies'], app.id), 201).json();
    expect(res.policy).toMatchObject({
      passed: false,
      violations: [{ policyId: policy!.id, name: 'No criticals', failOn: 'critical', findingCount: 1 }],
    });
    const detail = expectStatus(await as(t.app, org.owner).get(`${base()}/scans/${res.id}`), 200).json();
    expect(detail.policy).toEqual(res.policy);
  });

  it('takes the log as the whole body (application/sarif+json), gzip-encoded too', async () => {
    const raw = Buffer.from(JSON.stringify(fixture('trivy')));
    const send = (payload: Buffer, headers: Record<string, string>) =>
      t.app.inject({
        method: 'POST',
        url: `${base()}/scans?applicationId=${appId}&modules=dependencies,secrets`,
        headers: {
          cookie: org.owner.cookie,
          origin: 'http://localhost:3000',
          'content-type': 'application/sarif+json',
          ...headers,
        },
        payload,
      });
    const plain = expectStatus(await send(raw, {}), 201).json();
    expect(plain).toMatchObject({ modules: ['dependencies', 'secrets'], tokens: 15, findings: { total: 3 } });
    const zipped = expectStatus(await send(zlib.gzipSync(raw), { 'content-encoding': 'gzip' }), 201).json();
    expect(zipped.findings.total).toBe(3);
    // The JSON form may be gzip-encoded as well.
    const json = await t.app.inject({
      method: 'POST',
      url: `${base()}/scans`,
      headers: {
        cookie: org.owner.cookie,
        origin: 'http://localhost:3000',
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      },
      payload: zlib.gzipSync(JSON.stringify({ applicationId: appId, modules: ['api'] })),
    });
    expect(expectStatus(json, 201).json()).toMatchObject({
      status: 'pending',
      tokens: 20,
      findings: { total: 0 },
    });
    // A broken log in the whole body is pointed at from /body.
    const broken = fixture('trivy');
    broken.runs[0].results[1].level = 'fatal';
    const bad = await send(Buffer.from(JSON.stringify(broken)), {});
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors.map((e: { field: string }) => e.field)).toContain(
      '/body/runs/0/results/1/level',
    );
    // Missing query fields are named where they belong.
    const noApp = await t.app.inject({
      method: 'POST',
      url: `${base()}/scans?modules=sast`,
      headers: {
        cookie: org.owner.cookie,
        origin: 'http://localhost:3000',
        'content-type': 'application/sarif+json',
      },
      payload: raw,
    });
    expect(noApp.statusCode).toBe(400);
    expect(noApp.json().errors[0].field).toBe('/querystring/applicationId');
  });

  /** Uploads a dependencies scan of `log` and reads the detail of every finding it saw. */
  async function uploadAndRead(log: unknown) {
    const scan = expectStatus(
      await as(t.app, org.owner).post(`${base()}/scans`, {
        applicationId: appId,
        modules: ['dependencies'],
        sarif: log,
      }),
      201,
    ).json();
    const seen = expectStatus(
      await as(t.app, org.owner).get(`${base()}/scans/${scan.id}/findings`),
      200,
    ).json();
    return Promise.all(
      seen.items.map(
        async (f: { id: string }) =>
          expectStatus(await as(t.app, org.owner).get(`${base()}/findings/${f.id}`), 200).json() as {
            message: string | null;
            location: { path: string } | null;
          },
      ),
    );
  }

  it('takes a log whose messages carry terminal colours and control characters, without them', async () => {
    const log = fixture('trivy');
    log.runs[0].results[0].message.text = '\u001b[31mCritical\u001b[0m: bad \u0007package\ud800';
    const messages = (await uploadAndRead(log)).map((d) => d.message);
    expect(messages).toContain('Critical: bad package\ufffd');
    // Anywhere else, such text is still refused.
    const named = await as(t.app, org.owner).post(`${base()}/applications`, { name: 'bad\u0007name' });
    expect(named.statusCode).toBe(400);
  });

  it('keeps quotes, backslashes, braces, commas and the word NULL in messages and paths exactly', async () => {
    const log = fixture('trivy');
    const odd = 'say "hi", {a,b} \\ back\\slash NULL';
    log.runs[0].results[0].message.text = odd;
    log.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri = 'src/{x},"y"/NULL.py';
    const found = (await uploadAndRead(log)).find((d) => d.message === odd);
    expect(found?.location?.path).toBe('src/{x},"y"/NULL.py');
  });

  it('malformed SARIF: 400 invalid_sarif with the pointer, nothing created, nothing charged', async () => {
    const before = await used();
    const [{ n: scansBefore }] = (await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM scans`)) as [
      { n: number },
    ];
    const log = fixture('codeql');
    log.runs[0].results[3].level = 'severe';
    const res = await upload(log);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('invalid_sarif');
    expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(
      '/body/sarif/runs/0/results/3/level',
    );
    expect(await used()).toBe(before);
    const [{ n: scansAfter }] = (await rows<{ n: number }>(sql`SELECT count(*)::int AS n FROM scans`)) as [
      { n: number },
    ];
    expect(scansAfter).toBe(scansBefore);
    expect((await upload({ version: '2.1.0' })).json().code).toBe('invalid_sarif');
  });

  it('limits: 413 past 10 MiB on the wire, 413 for a gzip bomb, 400 past GitHub’s result limits', async () => {
    const headers = {
      cookie: org.owner.cookie,
      origin: 'http://localhost:3000',
      'content-type': 'application/sarif+json',
    };
    const url = `${base()}/scans?applicationId=${appId}&modules=sast`;
    const big = Buffer.alloc(10 * 1024 * 1024 + 10, 0x20);
    expect((await t.app.inject({ method: 'POST', url, headers, payload: big })).statusCode).toBe(413);
    // 200 MiB of spaces compresses to about 200 KiB.
    const bomb = zlib.gzipSync(Buffer.alloc(200 * 1024 * 1024, 0x20));
    const res = await t.app.inject({
      method: 'POST',
      url,
      headers: { ...headers, 'content-encoding': 'gzip' },
      payload: bomb,
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('payload_too_large');
    const notGzip = await t.app.inject({
      method: 'POST',
      url,
      headers: { ...headers, 'content-encoding': 'gzip' },
      payload: 'nope',
    });
    expect(notGzip.statusCode).toBe(400);
    const br = await t.app.inject({
      method: 'POST',
      url,
      headers: { ...headers, 'content-encoding': 'br' },
      payload: '{}',
    });
    expect(br.statusCode).toBe(415);
    const results = Array.from({ length: 25_001 }, (_, i) => ({ ruleId: 'r', message: { text: `m${i}` } }));
    const tooMany = await upload({ version: '2.1.0', runs: [{ tool: { driver: { name: 'x' } }, results }] });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().errors[0]).toMatchObject({
      field: '/body/sarif/runs/0/results',
      reason: 'maxItems',
    });
  }, 120_000);

  it('quota: 409 quota_exhausted and nothing created when the pool cannot cover it', async () => {
    const free = await createOrg(t.app, { plan: 'free' });
    const freeBase = `/api/v1/orgs/${free.orgId}`;
    const app = expectStatus(
      await as(t.app, free.owner).post(`${freeBase}/applications`, { name: 'svc' }),
      201,
    ).json();
    const post = (modules: string[], sarif?: unknown) =>
      as(t.app, free.owner).post(`${freeBase}/scans`, {
        applicationId: app.id,
        modules,
        ...(sarif ? { sarif } : {}),
      });
    expectStatus(await post(['api', 'sast', 'secrets']), 201); // 40 of 48
    const refused = await post(['sast'], fixture('codeql'));
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({
      code: 'quota_exhausted',
      params: { subject: 'organization', limit: 48, used: 40, tokens: 15 },
    });
    expect(await used(free.orgId)).toBe(40);
    const counts = await rows<{ scans: number; findings: number; ledger: number }>(sql`
      SELECT (SELECT count(*)::int FROM scans WHERE org_id = ${free.orgId}) AS scans,
             (SELECT count(*)::int FROM findings WHERE org_id = ${free.orgId}) AS findings,
             (SELECT count(*)::int FROM quota_ledger WHERE org_id = ${free.orgId}) AS ledger`);
    expect(counts).toEqual([{ scans: 1, findings: 0, ledger: 3 }]);
    // Crossing 50 and 75 % is recorded once each.
    const events = expectStatus(
      await as(t.app, free.owner).get(`${freeBase}/audit-events?action=quota.threshold_reached`),
      200,
    ).json();
    expect(events.items.map((e: { after: { percent: number } }) => e.after.percent).sort()).toEqual([50, 75]);
  });

  it('lists with filters and a cursor, deletes (findings and spent tokens stay), exports CSV safely', async () => {
    const app = expectStatus(
      await as(t.app, org.owner).post(`${base()}/applications`, { name: 'listing' }),
      201,
    ).json();
    const ids: string[] = [];
    for (const modules of [['sast'], ['secrets'], ['api']]) {
      ids.push(
        expectStatus(
          await upload(modules[0] === 'sast' ? fixture('semgrep') : undefined, modules, app.id),
          201,
        ).json().id,
      );
    }
    const page1 = expectStatus(
      await as(t.app, org.owner).get(`${base()}/scans?applicationId=${app.id}&limit=2`),
      200,
    ).json();
    expect(page1.items.map((s: { id: string }) => s.id)).toEqual([ids[2], ids[1]]);
    const page2 = expectStatus(
      await as(t.app, org.owner).get(
        `${base()}/scans?applicationId=${app.id}&limit=2&cursor=${page1.nextCursor}`,
      ),
      200,
    ).json();
    expect(page2).toMatchObject({ items: [{ id: ids[0] }], nextCursor: null });
    const pending = expectStatus(
      await as(t.app, org.owner).get(`${base()}/scans?applicationId=${app.id}&status=pending`),
      200,
    ).json();
    expect(pending.items).toHaveLength(2);
    const mine = expectStatus(
      await as(t.app, org.owner).get(`${base()}/scans?createdBy=${org.owner.userId}&limit=200`),
      200,
    ).json();
    expect(mine.items.length).toBeGreaterThanOrEqual(3);

    const csv = expectStatus(
      await as(t.app, org.owner).get(`${base()}/scans/${ids[0]}/export?format=csv`),
      200,
    );
    expect(csv.headers['content-type']).toContain('text/csv');
    const lines = csv.body.trim().split('\r\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]!.startsWith('id,severity,status,ruleId,title,message,path')).toBe(true);
    // The path `=cmd|' /C calc'!A0.py` stays text in a spreadsheet.
    expect(csv.body).toContain(`'=cmd|' /C calc'!A0.py`);
    expect(csv.body).not.toMatch(/(^|,)=cmd/m);
    const json = expectStatus(
      await as(t.app, org.owner).get(`${base()}/scans/${ids[0]}/export?format=json`),
      200,
    ).json();
    expect(json.findings).toHaveLength(3);
    expect(json.scan.id).toBe(ids[0]);
    expect((await as(t.app, org.owner).get(`${base()}/scans/${ids[1]}/export?format=sarif`)).statusCode).toBe(
      404,
    );

    const before = await used();
    expectStatus(await as(t.app, org.owner).delete(`${base()}/scans/${ids[0]}`), 204);
    expect((await as(t.app, org.owner).get(`${base()}/scans/${ids[0]}`)).statusCode).toBe(404);
    expect((await as(t.app, org.owner).delete(`${base()}/scans/${ids[0]}`)).statusCode).toBe(404);
    expect(await used()).toBe(before);
    const kept = await rows<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM findings WHERE application_id = ${app.id}`,
    );
    expect(kept[0]!.n).toBe(3);
    const ledger = await rows<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM quota_ledger WHERE scan_id = ${ids[0]}`,
    );
    expect(ledger[0]!.n).toBe(1);
  });

  it('automation and personal tokens upload; the automation token charges no member', async () => {
    const bot = expectStatus(
      await as(t.app, org.owner).post(`${base()}/automation-tokens`, {
        name: 'ci',
        role: 'developer',
        scopes: ['write'],
      }),
      201,
    ).json();
    const viaBot = await t.app.inject({
      method: 'POST',
      url: `${base()}/scans?applicationId=${appId}&modules=secrets`,
      headers: { authorization: `Bearer ${bot.token}`, 'content-type': 'application/sarif+json' },
      payload: JSON.stringify(fixture('semgrep')),
    });
    const scan = expectStatus(viaBot, 201).json();
    const [ledger] = await rows<{ user_id: string | null }>(
      sql`SELECT user_id FROM quota_ledger WHERE scan_id = ${scan.id}`,
    );
    expect(ledger!.user_id).toBeNull();
    const [row] = await rows<{ created_by: string | null; token_id: string }>(
      sql`SELECT created_by, token_id FROM scans WHERE id = ${scan.id}`,
    );
    expect(row).toEqual({ created_by: null, token_id: bot.id });

    const personal = await createPersonalToken(t.app, org.owner, org.orgId, ['write']);
    const viaPersonal = await t.app.inject({
      method: 'POST',
      url: `${base()}/scans`,
      headers: { authorization: `Bearer ${personal.token}` },
      payload: { applicationId: appId, modules: ['secrets'] },
    });
    const mine = expectStatus(viaPersonal, 201).json();
    const [charged] = await rows<{ user_id: string | null }>(
      sql`SELECT user_id FROM quota_ledger WHERE scan_id = ${mine.id}`,
    );
    expect(charged!.user_id).toBe(org.owner.userId);
    const listed = expectStatus(await as(t.app, org.owner).get(`${base()}/scans/${mine.id}`), 200).json();
    expect(listed).toMatchObject({ viaToken: true, createdBy: { id: org.owner.userId } });
  });

  it('permissions: each route refuses a member without its permission and lets one with it', async () => {
    const viewer = await addMember(t.app, org, 'viewer', {}, t.mail);
    const developer = await addMember(t.app, org, 'developer', {}, t.mail);
    const role = expectStatus(
      await as(t.app, org.owner).post(`${base()}/roles`, {
        name: 'Nobody much',
        slug: 'nobody-much',
        permissions: ['members:read'],
      }),
      201,
    ).json();
    const nobody = await addMember(t.app, org, role.slug, {}, t.mail);
    const scan = expectStatus(await upload(fixture('trivy'), ['dependencies']), 201).json();
    const denied = async (who: Person, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) => {
      const r =
        method === 'GET'
          ? await as(t.app, who).get(url)
          : method === 'POST'
            ? await as(t.app, who).post(url, payload)
            : await as(t.app, who).delete(url);
      expect(r.statusCode, `${method} ${url}`).toBe(403);
      expect(r.json().code).toBe('permission_denied');
    };
    await denied(nobody, 'GET', `${base()}/scans`);
    await denied(nobody, 'GET', `${base()}/scans/${scan.id}`);
    await denied(nobody, 'GET', `${base()}/scans/${scan.id}/findings`);
    await denied(nobody, 'GET', `${base()}/scans/${scan.id}/export?format=csv`);
    await denied(viewer, 'POST', `${base()}/scans`, { applicationId: appId, modules: ['sast'] });
    await denied(developer, 'DELETE', `${base()}/scans/${scan.id}`);
    expectStatus(await as(t.app, viewer).get(`${base()}/scans`), 200);
    expectStatus(await as(t.app, viewer).get(`${base()}/scans/${scan.id}`), 200);
    expectStatus(await as(t.app, viewer).get(`${base()}/scans/${scan.id}/findings`), 200);
    expectStatus(await as(t.app, viewer).get(`${base()}/scans/${scan.id}/export?format=json`), 200);
    expectStatus(
      await as(t.app, developer).post(`${base()}/scans`, { applicationId: appId, modules: ['secrets'] }),
      201,
    );
    expectStatus(await as(t.app, org.owner).delete(`${base()}/scans/${scan.id}`), 204);
  });

  it('cross-tenant: another org’s application or scan is not found', async () => {
    const other = await createOrg(t.app);
    const otherApp = expectStatus(
      await as(t.app, other.owner).post(`/api/v1/orgs/${other.orgId}/applications`, { name: 'theirs' }),
      201,
    ).json();
    const theirScan = expectStatus(
      await as(t.app, other.owner).post(`/api/v1/orgs/${other.orgId}/scans`, {
        applicationId: otherApp.id,
        modules: ['secrets'],
      }),
      201,
    ).json();
    const before = await used();
    expect((await upload(fixture('trivy'), ['sast'], otherApp.id)).statusCode).toBe(404);
    expect(await used()).toBe(before);
    for (const path of ['', '/findings', '/export?format=json']) {
      expect((await as(t.app, org.owner).get(`${base()}/scans/${theirScan.id}${path}`)).statusCode).toBe(404);
    }
    expect((await as(t.app, org.owner).delete(`${base()}/scans/${theirScan.id}`)).statusCode).toBe(404);
    expect(
      (await as(t.app, org.owner).get(`${base()}/scans?applicationId=${otherApp.id}`)).json().items,
    ).toEqual([]);
  });
});
