import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { seedApplication, seedFindings } from '../../../../test/support/findings.ts';
import {
  addMember,
  as,
  createOrg,
  createPersonalToken,
  expectStatus,
  type Person,
} from '../../../../test/support/orgs.ts';

let t: TestApp;
let base: URL;
let org: Awaited<ReturnType<typeof createOrg>>;
let dev: Person;
let findings: string[];

beforeAll(async () => {
  t = await createTestApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = new URL(`http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/mcp`);
  org = await createOrg(t.app);
  dev = await addMember(t.app, org, 'developer', { name: 'Dee Dev' }, t.mail);
  const app = await seedApplication(t.app, org.orgId, 'payments');
  findings = await seedFindings(t.app, org.orgId, app, [
    { severity: 'critical', title: 'SQL injection in login', path: 'src/login.py' },
    { severity: 'low', title: 'Verbose errors' },
    { severity: 'high', title: 'SQL injection in search', status: 'triaged' },
  ]);
  // Another org's finding: out of every token's reach here.
  const other = await createOrg(t.app);
  const otherApp = await seedApplication(t.app, other.orgId);
  findings.push(...(await seedFindings(t.app, other.orgId, otherApp, [{ title: 'Elsewhere' }])));
});
afterAll(async () => {
  await t?.close();
});

/** An MCP client speaking to the server over real HTTP on loopback, with a bearer token. */
async function connect(token: string): Promise<Client> {
  const client = new Client({ name: 'test-ide', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(base, {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

const json = (result: unknown) =>
  JSON.parse(((result as CallToolResult).content[0] as { text: string }).text);

describe('POST /mcp', () => {
  it('lists its tools and reads findings with a personal token, in the token’s organization only', async () => {
    const { token } = await createPersonalToken(t.app, dev, org.orgId, ['read']);
    const client = await connect(token);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name).sort()).toEqual([
        'get_finding',
        'list_applications',
        'list_findings',
        'list_scans',
        'update_finding_status',
      ]);
      const all = await client.callTool({ name: 'list_findings', arguments: {} });
      expect(all.isError).toBeFalsy();
      expect(json(all).items.map((f: { id: string }) => f.id)).toEqual(findings.slice(0, 3));
      const filtered = json(
        await client.callTool({
          name: 'list_findings',
          arguments: { severity: ['critical', 'high'], q: 'sql inj', limit: 1 },
        }),
      );
      expect(filtered.items.map((f: { id: string }) => f.id)).toEqual([findings[0]]);
      const next = json(
        await client.callTool({
          name: 'list_findings',
          arguments: { severity: ['critical', 'high'], q: 'sql inj', cursor: filtered.nextCursor },
        }),
      );
      expect(next.items.map((f: { id: string }) => f.id)).toEqual([findings[2]]);

      const one = json(await client.callTool({ name: 'get_finding', arguments: { id: findings[0] } }));
      expect(one).toMatchObject({
        id: findings[0],
        title: 'SQL injection in login',
        application: { name: 'payments' },
        location: { path: 'src/login.py' },
      });
      const foreign = await client.callTool({ name: 'get_finding', arguments: { id: findings[3] } });
      expect(foreign.isError).toBe(true);
      expect(json(foreign)).toMatchObject({ code: 'not_found', status: 404 });
      // Arguments outside the tool's schema never reach the API.
      const junk = await client.callTool({ name: 'get_finding', arguments: { id: 'not-an-id' } });
      expect(junk.isError).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('lists applications and scans through the same routes as the API, scans filtered by application', async () => {
    const owner = as(t.app, org.owner);
    const made = expectStatus(
      await owner.post(`/api/v1/orgs/${org.orgId}/applications`, { name: 'billing' }),
      201,
    );
    const scan = expectStatus(
      await owner.post(`/api/v1/orgs/${org.orgId}/scans`, {
        applicationId: made.json().id,
        modules: ['secrets'],
      }),
      201,
    ).json();
    const { token } = await createPersonalToken(t.app, dev, org.orgId, ['read']);
    const client = await connect(token);
    try {
      const apps = json(await client.callTool({ name: 'list_applications', arguments: {} }));
      expect(apps.items.map((a: { name: string }) => a.name)).toEqual(['billing', 'payments']);
      const scans = json(
        await client.callTool({ name: 'list_scans', arguments: { applicationId: made.json().id } }),
      );
      expect(scans.items.map((s: { id: string }) => s.id)).toEqual([scan.id]);
      const none = json(
        await client.callTool({ name: 'list_scans', arguments: { applicationId: apps.items[1].id } }),
      );
      expect(none.items).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('updates a status with a write token; a read token is refused with the API’s code', async () => {
    const reader = await connect((await createPersonalToken(t.app, dev, org.orgId, ['read'])).token);
    const writer = await connect((await createPersonalToken(t.app, dev, org.orgId, ['write'])).token);
    try {
      const refused = await reader.callTool({
        name: 'update_finding_status',
        arguments: { id: findings[1], status: 'triaged' },
      });
      expect(refused.isError).toBe(true);
      expect(json(refused)).toMatchObject({ code: 'permission_denied', status: 403 });

      const done = await writer.callTool({
        name: 'update_finding_status',
        arguments: { id: findings[1], status: 'resolved' },
      });
      expect(done.isError).toBeFalsy();
      expect(json(done)).toMatchObject({
        id: findings[1],
        status: 'resolved',
        resolvedAt: expect.any(String),
      });
      // The change is the member's, through their token, in the org's log.
      const log = expectStatus(
        await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/audit-events?action=finding.updated`),
        200,
      ).json();
      expect(log.items[0]).toMatchObject({
        actor: { type: 'user', id: dev.userId },
        target: { type: 'finding', id: findings[1] },
        after: { status: 'resolved' },
      });
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it('a token whose owner was demoted to Viewer loses findings:update at once', async () => {
    const member = await addMember(t.app, org, 'developer', { name: 'Soon Viewer' }, t.mail);
    const client = await connect((await createPersonalToken(t.app, member, org.orgId, ['write'])).token);
    try {
      const before = await client.callTool({
        name: 'update_finding_status',
        arguments: { id: findings[0], status: 'triaged' },
      });
      expect(before.isError).toBeFalsy();
      expectStatus(
        await as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}/members/${member.userId}`, {
          role: 'viewer',
        }),
        200,
      );
      const after = await client.callTool({
        name: 'update_finding_status',
        arguments: { id: findings[0], status: 'open' },
      });
      expect(after.isError).toBe(true);
      expect(json(after)).toMatchObject({
        code: 'permission_denied',
        params: { permission: 'findings:update' },
      });
      // Reading is still within a Viewer's role.
      expect(
        (await client.callTool({ name: 'get_finding', arguments: { id: findings[0] } })).isError,
      ).toBeFalsy();
    } finally {
      await client.close();
    }
  });

  it('refuses cookies, automation tokens and requests without a valid token', async () => {
    const init = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    };
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const post = (extra: Record<string, string>) =>
      t.app.inject({ method: 'POST', url: '/mcp', headers: { ...headers, ...extra }, payload: init });

    const anonymous = await post({});
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().code).toBe('unauthenticated');
    const cookie = await post({ cookie: org.owner.cookie, origin: 'http://localhost:3000' });
    expect(cookie.statusCode).toBe(401);
    expect(cookie.json().detail).toContain('personal API token');
    expect((await post({ authorization: 'Bearer gtp_nope' })).statusCode).toBe(401);

    const automation = expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/automation-tokens`, {
        name: 'ci',
        role: 'admin',
      }),
      201,
    ).json().token;
    const bot = await post({ authorization: `Bearer ${automation}` });
    expect(bot.statusCode).toBe(403);
    expect(bot.json()).toMatchObject({ code: 'permission_denied' });
    expect(bot.json().detail).toContain('personal');

    const { token } = await createPersonalToken(t.app, dev, org.orgId, ['read']);
    const ok = await post({ authorization: `Bearer ${token}` });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().result.serverInfo.name).toBe('gatehouse');
    // Stateless: no stream to open or session to end.
    expect(
      (await t.app.inject({ method: 'GET', url: '/mcp', headers: { authorization: `Bearer ${token}` } }))
        .statusCode,
    ).toBe(405);
  });
});
