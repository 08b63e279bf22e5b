import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, ORIGIN, sessionCookie, type TestApp, verifyEmailInDatabase } from '../support/app.ts';
import { onPostgres, queryRows } from '../support/database.ts';
import { seedApplication, seedFindings } from '../support/findings.ts';
import { addMember, as, createOrg, createPersonalToken, expectStatus, withToken } from '../support/orgs.ts';

/**
 * Attacks on the applications, scans, findings, policies, quota and MCP routes and on
 * re-authentication: each case is what an attacker would try, and what the server must answer.
 */
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
}, 120_000);
afterAll(async () => {
  await t?.close();
});

type Org = Awaited<ReturnType<typeof createOrg>>;
const at = (orgId: string, rest = '') => `/api/v1/orgs/${orgId}${rest}`;

describe('usage months at the edges of the calendar', () => {
  let org: Org;
  beforeAll(async () => {
    org = await createOrg(t.app, { plan: 'enterprise' });
  });

  it('refuses months JavaScript or PostgreSQL cannot count from (no 500, no 19xx trend)', async () => {
    for (const month of ['9999-12', '0000-01', '0099-12', '1969-12', '3000-01']) {
      const res = await as(t.app, org.owner).get(at(org.orgId, `/usage?month=${month}`));
      expect(res.statusCode, month).toBe(400);
      expect(res.json().code).toBe('validation_failed');
      expect(res.json().errors[0].field).toBe('/querystring/month');
    }
  });

  it('answers the last month it takes, with a trend that ends there', async () => {
    const res = expectStatus(await as(t.app, org.owner).get(at(org.orgId, '/usage?month=2999-12')), 200);
    expect(res.json().trend.map((m: { month: string }) => m.month)).toEqual([
      '2999-07',
      '2999-08',
      '2999-09',
      '2999-10',
      '2999-11',
      '2999-12',
    ]);
  });
});

describe("another organization's ids inside bodies", () => {
  let a: Org;
  let b: Org;
  let appA: string;
  let appB: string;
  let findingA: string;
  beforeAll(async () => {
    a = await createOrg(t.app, { plan: 'enterprise' });
    b = await createOrg(t.app, { plan: 'enterprise' });
    appA = await seedApplication(t.app, a.orgId);
    appB = await seedApplication(t.app, b.orgId);
    [findingA] = (await seedFindings(t.app, a.orgId, appA, [{ severity: 'high' }])) as [string];
  });

  it('never lets them through, and tells them apart from nothing', async () => {
    const owner = as(t.app, a.owner);
    const scan = await owner.post(at(a.orgId, '/scans'), { applicationId: appB, modules: ['sast'] });
    expect(scan.statusCode).toBe(404);
    const unknown = await owner.post(at(a.orgId, '/scans'), {
      applicationId: '00000000-0000-4000-8000-000000000000',
      modules: ['sast'],
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().detail).toBe(scan.json().detail);

    expect(
      (await owner.post(at(a.orgId, '/policies'), { name: 'p', failOn: 'high', applicationIds: [appB] }))
        .statusCode,
    ).toBe(400);
    expect(
      (await owner.patch(at(a.orgId, `/findings/${findingA}`), { assigneeId: b.owner.userId })).statusCode,
    ).toBe(400);
    expect(
      (await owner.post(at(a.orgId, '/departments'), { name: 'd', memberIds: [b.owner.userId] })).statusCode,
    ).toBe(400);
    const theirs = expectStatus(
      await as(t.app, b.owner).post(at(b.orgId, '/departments'), { name: 'bd' }),
      201,
    );
    expect(
      (await owner.post(at(a.orgId, '/departments'), { name: 'd2', parentId: theirs.json().id })).statusCode,
    ).toBe(400);
    expect(
      (await owner.put(at(a.orgId, `/members/${b.owner.userId}/budget`), { monthlyTokens: 5 })).statusCode,
    ).toBe(404);

    const [row] = await queryRows<{ n: number }>(
      t.db.database.db,
      sql`SELECT count(*)::int AS n FROM scans WHERE org_id = ${a.orgId}`,
    );
    expect(row!.n).toBe(0);
  });
});

describe('CSV export of text a scanned repository chose', () => {
  it('keeps formulas as text', async () => {
    const org = await createOrg(t.app);
    const app = await seedApplication(t.app, org.orgId);
    const sarif = {
      version: '2.1.0',
      runs: [
        {
          tool: { driver: { name: '=HYPERLINK("http://evil.test")' } },
          results: [
            {
              ruleId: '@SUM(1+1)',
              level: 'error',
              message: { text: '+cmd|/c calc' },
              locations: [{ physicalLocation: { artifactLocation: { uri: '-2+3' } } }],
            },
          ],
        },
      ],
    };
    const scan = expectStatus(
      await as(t.app, org.owner).post(at(org.orgId, '/scans'), {
        applicationId: app,
        modules: ['sast'],
        sarif,
      }),
      201,
    );
    const csv = expectStatus(
      await as(t.app, org.owner).get(at(org.orgId, `/scans/${scan.json().id}/export?format=csv`)),
      200,
    ).body;
    const cells = csv.split('\r\n')[1]!.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/);
    for (const cell of cells) expect(cell.replace(/^"/, '')).not.toMatch(/^[=+\-@]/);
  });
});

describe('MCP', () => {
  let org: Org;
  let finding: string;
  beforeAll(async () => {
    org = await createOrg(t.app);
    const app = await seedApplication(t.app, org.orgId);
    [finding] = (await seedFindings(t.app, org.orgId, app, [{ severity: 'high' }])) as [string];
  });
  const call = (headers: Record<string, string>, name: string, args: object) =>
    t.app.inject({
      method: 'POST',
      url: '/mcp',
      headers: {
        accept: 'application/json, text/event-stream',
        'content-type': 'application/json',
        ...headers,
      },
      payload: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } },
    });
  const toolError = (res: {
    json(): { result: { isError?: boolean; content: Array<{ text: string }> } };
  }) => {
    const { result } = res.json();
    expect(result.isError).toBe(true);
    return JSON.parse(result.content[0]!.text) as { code: string; status: number };
  };

  it('writes nothing with a read token or for a Viewer, and takes no session or automation token', async () => {
    const read = await createPersonalToken(t.app, org.owner, org.orgId, ['read']);
    const asRead = await call({ authorization: `Bearer ${read.token}` }, 'update_finding_status', {
      id: finding,
      status: 'resolved',
    });
    expect(toolError(asRead)).toMatchObject({ code: 'permission_denied', status: 403 });

    const viewer = await addMember(t.app, org, 'viewer', {}, t.mail);
    const viewerToken = await createPersonalToken(t.app, viewer, org.orgId, ['read', 'write']);
    const asViewer = await call({ authorization: `Bearer ${viewerToken.token}` }, 'update_finding_status', {
      id: finding,
      status: 'false_positive',
    });
    expect(toolError(asViewer)).toMatchObject({ code: 'permission_denied', status: 403 });

    const detail = expectStatus(await as(t.app, org.owner).get(at(org.orgId, `/findings/${finding}`)), 200);
    expect(detail.json().status).toBe('open');

    expect((await call({ cookie: org.owner.cookie, origin: ORIGIN }, 'list_findings', {})).statusCode).toBe(
      401,
    );
    const automation = expectStatus(
      await as(t.app, org.owner).post(at(org.orgId, '/automation-tokens'), { name: 'ci', role: 'developer' }),
      201,
    );
    expect(
      (await call({ authorization: `Bearer ${automation.json().token}` }, 'list_findings', {})).statusCode,
    ).toBe(403);
  });

  it("finds nothing of another organization's", async () => {
    const other = await createOrg(t.app);
    const otherApp = await seedApplication(t.app, other.orgId);
    const [theirs] = await seedFindings(t.app, other.orgId, otherApp, [{}]);
    const token = await createPersonalToken(t.app, org.owner, org.orgId, ['read']);
    const res = await call({ authorization: `Bearer ${token.token}` }, 'get_finding', { id: theirs });
    expect(toolError(res)).toMatchObject({ code: 'not_found', status: 404 });
    expect((await withToken(t.app, token.token).get(at(other.orgId, `/findings/${theirs}`))).statusCode).toBe(
      404,
    );
  });
});

describe('re-authentication is per session', () => {
  it("one session's proof does not make another, stale session recent", async () => {
    const org = await createOrg(t.app);
    const person = org.owner;
    await verifyEmailInDatabase(t.app, person.userId);
    const second = sessionCookie(
      expectStatus(
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          headers: { origin: ORIGIN },
          payload: { email: person.email, password: person.password },
        }),
        200,
      ),
    );
    await t.db.database.db.execute(
      sql`UPDATE sessions SET authenticated_at = now() - interval '16 minutes' WHERE user_id = ${person.userId}`,
    );
    expect((await as(t.app, { cookie: second }).post('/api/v1/me/passkeys/options')).json().code).toBe(
      'reauthentication_required',
    );
    expectStatus(
      await as(t.app, person).post('/api/v1/me/reauthenticate', { password: person.password }),
      204,
    );
    expectStatus(await as(t.app, person).post('/api/v1/me/passkeys/options'), 200);
    for (const path of ['/api/v1/me/passkeys/options', '/api/v1/me/2fa/totp']) {
      const res = await as(t.app, { cookie: second }).post(path);
      expect(res.statusCode, path).toBe(403);
      expect(res.json().code).toBe('reauthentication_required');
    }
  });
});

describe("members' email addresses", () => {
  it('reach only roles that may read the members (members:read)', async () => {
    const org = await createOrg(t.app);
    const app = await seedApplication(t.app, org.orgId);
    const [finding] = (await seedFindings(t.app, org.orgId, app, [{ assigneeId: org.owner.userId }])) as [
      string,
    ];
    const scan = expectStatus(
      await as(t.app, org.owner).post(at(org.orgId, '/scans'), { applicationId: app, modules: ['sast'] }),
      201,
    );
    expectStatus(
      await as(t.app, org.owner).post(at(org.orgId, '/roles'), {
        slug: 'triage-bot',
        name: 'Triage bot',
        permissions: ['findings:read', 'scans:read', 'scans:export'],
      }),
      201,
    );
    const reader = await addMember(t.app, org, 'triage-bot', {}, t.mail);
    const who = as(t.app, reader);
    const answers = [
      await who.get(at(org.orgId, `/findings/${finding}`)),
      await who.get(at(org.orgId, '/scans')),
      await who.get(at(org.orgId, `/scans/${scan.json().id}`)),
      await who.get(at(org.orgId, `/scans/${scan.json().id}/export?format=json`)),
    ];
    for (const res of answers) {
      expectStatus(res, 200);
      expect(res.body).not.toContain(org.owner.email);
    }
    expect(answers[0]!.json().assignee).toMatchObject({ id: org.owner.userId, email: null });
    expect(answers[2]!.json().createdBy).toEqual({ id: org.owner.userId, email: null });

    // A Viewer holds members:read: it sees them.
    const viewer = await addMember(t.app, org, 'viewer', {}, t.mail);
    const seen = expectStatus(await as(t.app, viewer).get(at(org.orgId, `/findings/${finding}`)), 200);
    expect(seen.json().assignee.email).toBe(org.owner.email);
    const scanSeen = expectStatus(
      await as(t.app, viewer).get(at(org.orgId, `/scans/${scan.json().id}`)),
      200,
    );
    expect(scanSeen.json().createdBy.email).toBe(org.owner.email);
  });
});

describe('MCP batches', () => {
  it('refuses a batch of a thousand tool calls (each would be an API request; the SDK caps batches at 100) and takes a small one', async () => {
    const org = await createOrg(t.app);
    const app = await seedApplication(t.app, org.orgId);
    const [finding] = (await seedFindings(t.app, org.orgId, app, [{}])) as [string];
    const token = await createPersonalToken(t.app, org.owner, org.orgId, ['read']);
    const batch = (n: number) =>
      t.app.inject({
        method: 'POST',
        url: '/mcp',
        headers: {
          authorization: `Bearer ${token.token}`,
          accept: 'application/json, text/event-stream',
          'content-type': 'application/json',
        },
        payload: Array.from({ length: n }, (_, i) => ({
          jsonrpc: '2.0',
          id: i,
          method: 'tools/call',
          params: { name: 'get_finding', arguments: { id: finding } },
        })),
      });
    const huge = await batch(1_500);
    expect(huge.statusCode).toBe(400);
    expect(huge.json().error.code).toBe(-32600);
    const small = expectStatus(await batch(2), 200);
    expect(small.json()).toHaveLength(2);
  });
});

describe('a stale session minting a lasting credential', () => {
  // A stolen cookie of a session signed in long ago must not mint a token (admin scope included)
  // that outlives the password change and the end of every session.
  it('asks a session that has not proven itself recently to re-authenticate before minting a token', async () => {
    const org = await createOrg(t.app);
    await t.db.database.db.execute(
      sql`UPDATE sessions SET authenticated_at = now() - interval '16 minutes' WHERE user_id = ${org.owner.userId}`,
    );
    const owner = as(t.app, org.owner);
    const personal = await owner.post('/api/v1/me/tokens', {
      name: 'persist',
      orgId: org.orgId,
      scopes: ['read', 'write', 'admin'],
    });
    expect(personal.statusCode).toBe(403);
    expect(personal.json().code).toBe('reauthentication_required');
    const automation = await owner.post(at(org.orgId, '/automation-tokens'), {
      name: 'persist bot',
      role: 'admin',
      scopes: ['read', 'write'],
    });
    expect(automation.statusCode).toBe(403);
    expect(automation.json().code).toBe('reauthentication_required');
    expect((await owner.get('/api/v1/me/tokens')).json().items).toEqual([]);
    expect((await owner.get(at(org.orgId, '/automation-tokens'))).json().items).toEqual([]);

    // Proven again, the same session mints them.
    expectStatus(await owner.post('/api/v1/me/reauthenticate', { password: org.owner.password }), 204);
    expectStatus(
      await owner.post('/api/v1/me/tokens', { name: 'persist', orgId: org.orgId, scopes: ['read'] }),
      201,
    );
  });
});

describe('an application deleted while a scan of it is admitted', () => {
  // PostgreSQL only: PGlite serves one connection, so nothing runs in between. The scan waits on
  // the module costs (held here) after it found the application; the deletion commits meanwhile.
  it.runIf(onPostgres)('either comes first, never a 500 from the foreign key', async () => {
    const org = await createOrg(t.app);
    const app = await seedApplication(t.app, org.orgId);
    const db = t.db.database.db;
    let scan: Promise<{ statusCode: number; body: string }> | undefined;
    let removal: Promise<{ statusCode: number; body: string }> | undefined;
    await db.transaction(async (tx) => {
      await tx.execute(sql`LOCK TABLE module_costs IN ACCESS EXCLUSIVE MODE`);
      scan = as(t.app, org.owner).post(at(org.orgId, '/scans'), { applicationId: app, modules: ['sast'] });
      const waiters = async () =>
        (
          await queryRows<{ n: number }>(db, sql`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted`)
        )[0]!.n;
      while ((await waiters()) === 0) await new Promise((r) => setTimeout(r, 20));
      // The deletion either commits now or waits for the scan: both are fine, a 500 is not.
      let settled = false;
      removal = as(t.app, org.owner)
        .delete(at(org.orgId, `/applications/${app}`))
        .finally(() => {
          settled = true;
        });
      while (!settled && (await waiters()) < 2) await new Promise((r) => setTimeout(r, 20));
    });
    expect((await removal!).statusCode).toBe(204);
    const res = await scan!;
    expect([201, 404], res.body).toContain(res.statusCode);
    const [left] = await queryRows<{ n: number }>(
      db,
      sql`SELECT count(*)::int AS n FROM scans WHERE application_id = ${app}`,
    );
    expect(left!.n).toBe(0);
  });
});
