import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyContext } from '../../src/server/modules/ai-connections/ai-connections.commands.ts';
import { secretContext } from '../../src/server/modules/integrations/integrations.commands.ts';
import { loadSecretsKey } from '../../src/server/platform/secrets/keys.ts';
import { rotateSecrets } from '../../src/server/platform/secrets/rotate.ts';
import { Secrets } from '../../src/server/platform/secrets/secrets.ts';
import { createTestApp, ORIGIN, type TestApp } from '../support/app.ts';
import { queryRows } from '../support/database.ts';
import { AZURE_API_VERSION, type FakeProviders, startFakeProviders } from '../support/fake-providers.ts';
import { createOrg, expectStatus, type Person } from '../support/orgs.ts';

/**
 * The secrets of AI connections and integrations stay secret: every one is given to the API in
 * every way it can be (saved, replaced, tried before saving, refused with junk beside it, quoted
 * back by a provider that refused it), and then no API answer, no log line, no audit entry, no
 * outbox row and no other column of any table holds it; its own column holds only ciphertext.
 * Then a key rotation re-seals both columns, and an instance holding only the new key uses them.
 */

let t: TestApp;
let fake: FakeProviders;
let org: { orgId: string; owner: Person };
/** Every answer the API gave in this file, as sent (headers and body). */
const answers: string[] = [];

async function send(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  payload?: unknown,
): Promise<LightMyRequestResponse> {
  const res = await t.app.inject({
    method,
    url,
    headers: {
      cookie: org.owner.cookie,
      origin: ORIGIN,
      ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
  });
  answers.push(`${JSON.stringify(res.headers)}\n${res.body}`);
  return res;
}

const ai = (purpose: string, rest = '') => `/api/v1/orgs/${org.orgId}/ai-connections/${purpose}${rest}`;
const integrations = (rest = '') => `/api/v1/orgs/${org.orgId}/integrations${rest}`;

/** Every row of every table of the database, as JSON text, by table. */
async function everyRow(): Promise<Map<string, string[]>> {
  const tables = await queryRows<{ name: string }>(
    t.db.database.db,
    sql`SELECT table_name AS name FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const out = new Map<string, string[]>();
  for (const { name } of tables) {
    const rows = await queryRows<{ row: string }>(
      t.db.database.db,
      sql`SELECT row_to_json(x)::text AS row FROM ${sql.identifier(name)} x`,
    );
    out.set(
      name,
      rows.map((r) => r.row),
    );
  }
  return out;
}

beforeAll(async () => {
  t = await createTestApp({ logLevel: 'debug', outbound: { allowlist: ['127.0.0.1/32'] } });
  fake = await startFakeProviders();
  org = await createOrg(t.app, { name: 'Secret Keepers' });
});
afterAll(async () => {
  await fake?.close();
  await t?.close();
});

describe('secrets of AI connections and integrations', () => {
  /** Every secret this file hands the API, valid or not. */
  const given: string[] = [];
  const secret = (label: string) => {
    const value = `${label}-${randomBytes(12).toString('hex')}`;
    given.push(value);
    return value;
  };

  it('appear in no answer, log line, audit entry, outbox row or other column; their columns hold ciphertext', async () => {
    given.push(fake.keys.openai, fake.keys.azure, fake.keys.github, fake.keys.gitlab, fake.keys.generic);
    const compatible = { provider: 'openai_compatible', baseUrl: fake.openaiBase, model: 'gpt-4o-mini' };
    const azure = {
      provider: 'azure_openai',
      baseUrl: fake.url,
      model: 'gpt-4o-mini',
      deployment: 'validate',
      apiVersion: AZURE_API_VERSION,
    };

    // AI connections: saved, tested, read; a wrong key (which the fake quotes back) saved and
    // tested; keys tried before saving; keys beside junk.
    expectStatus(await send('PUT', ai('remediator'), { ...compatible, apiKey: fake.keys.openai }), 200);
    expect(expectStatus(await send('POST', ai('remediator', '/test')), 200).json().ok).toBe(true);
    expectStatus(await send('PUT', ai('validator'), { ...azure, apiKey: fake.keys.azure }), 200);
    expect(expectStatus(await send('POST', ai('validator', '/test')), 200).json().ok).toBe(true);
    const wrong = secret('sk-wrong');
    expectStatus(await send('PUT', ai('remediator'), { ...compatible, apiKey: wrong }), 200);
    expect(expectStatus(await send('POST', ai('remediator', '/test')), 200).json().code).toBe('unauthorized');
    expectStatus(
      await send('POST', ai('remediator', '/test'), { ...compatible, apiKey: secret('sk-draft') }),
      200,
    );
    expectStatus(
      await send('POST', ai('validator', '/test'), { ...azure, apiKey: secret('azure-draft') }),
      200,
    );
    expectStatus(
      await send('PUT', ai('remediator'), { ...compatible, model: 'has space', apiKey: secret('sk-junk') }),
      400,
    );
    expectStatus(
      await send('PUT', ai('remediator'), {
        ...compatible,
        baseUrl: 'http://10.0.0.1/v1',
        apiKey: secret('sk-ssrf'),
      }),
      400,
    );
    expectStatus(
      await send('POST', ai('remediator', '/test'), {
        ...compatible,
        baseUrl: 'ftp://x',
        apiKey: secret('sk-ssrf2'),
      }),
      400,
    );
    expectStatus(await send('PUT', ai('remediator'), { ...compatible, apiKey: fake.keys.openai }), 200);
    expectStatus(await send('POST', ai('remediator', '/test')), 200);
    for (const purpose of ['remediator', 'validator']) expectStatus(await send('GET', ai(purpose)), 200);

    // Integrations: added with secrets, tested, a secret replaced by a wrong one and tested, a
    // secret beside junk, a secret-looking config refused.
    const gh = expectStatus(
      await send('POST', integrations(), {
        kind: 'scm',
        provider: 'github',
        name: 'GitHub',
        config: { baseUrl: fake.url },
        secret: fake.keys.github,
      }),
      201,
    ).json();
    expectStatus(await send('POST', integrations(`/${gh.id}/test`)), 200);
    expectStatus(await send('PATCH', integrations(`/${gh.id}`), { secret: secret('ghp_wrong') }), 200);
    expect(expectStatus(await send('POST', integrations(`/${gh.id}/test`)), 200).json().code).toBe(
      'unauthorized',
    );
    const gl = expectStatus(
      await send('POST', integrations(), {
        kind: 'scm',
        provider: 'gitlab',
        name: 'GitLab',
        config: { baseUrl: `${fake.url}/api/v4` },
        secret: fake.keys.gitlab,
      }),
      201,
    ).json();
    expectStatus(await send('POST', integrations(`/${gl.id}/test`)), 200);
    const generic = expectStatus(
      await send('POST', integrations(), {
        kind: 'registry',
        provider: 'generic',
        name: 'Registry',
        config: { baseUrl: `${fake.url}/generic`, authHeader: 'X-Api-Key' },
        secret: fake.keys.generic,
      }),
      201,
    ).json();
    expectStatus(await send('POST', integrations(`/${generic.id}/test`)), 200);
    expectStatus(
      await send('POST', integrations(), {
        kind: 'scm',
        provider: 'github',
        name: 'Junk',
        config: { baseUrl: 'http://169.254.169.254/' },
        secret: secret('ghp_junk'),
      }),
      400,
    );
    expectStatus(
      await send('POST', integrations(), {
        kind: 'scm',
        provider: 'github',
        name: 'Leaky',
        config: { baseUrl: fake.url, token: secret('config-token') },
      }),
      400,
    );
    expectStatus(await send('GET', integrations()), 200);
    expectStatus(await send('GET', integrations(`/${gh.id}`)), 200);
    // One removed: its entry keeps what it was, never its secret.
    expectStatus(await send('DELETE', integrations(`/${gl.id}`)), 204);
    expectStatus(await send('GET', `/api/v1/orgs/${org.orgId}/audit-events?limit=200`), 200);
    await t.drainOutbox();
    // The organization's export (Settings → Data & Privacy): every file of the zip, as text.
    const asked = expectStatus(await send('POST', `/api/v1/orgs/${org.orgId}/exports`), 202).json();
    await t.drainOutbox();
    const zip = await t.app.inject({
      method: 'GET',
      url: `/api/v1/orgs/${org.orgId}/exports/${asked.id}/download`,
      headers: { cookie: org.owner.cookie },
    });
    expectStatus(zip, 200);
    const exported = Object.entries(unzipSync(new Uint8Array(zip.rawPayload)))
      .map(([name, bytes]) => `${name}\n${strFromU8(bytes)}`)
      .join('\n');
    expect(exported).toContain('ai_connection.updated');

    // The fake really was handed them (so the checks below look for text that went through).
    const sent = fake.requests.map((r) => JSON.stringify(r.headers)).join('\n');
    for (const value of [
      fake.keys.openai,
      fake.keys.azure,
      fake.keys.github,
      fake.keys.gitlab,
      fake.keys.generic,
      wrong,
    ]) {
      expect(sent).toContain(value);
    }

    const logs = t.logs.join('\n');
    expect(logs.length).toBeGreaterThan(1000);
    const rows = await everyRow();
    const auditRows = rows.get('audit_events') ?? [];
    expect(auditRows.some((r) => r.includes('ai_connection.updated'))).toBe(true);
    expect(auditRows.some((r) => r.includes('integration.deleted'))).toBe(true);
    for (const value of given) {
      // A run of it long enough to be a quote of it, as well as the whole.
      for (const piece of [value, value.slice(0, 16), value.slice(-16)]) {
        expect(
          answers.filter((a) => a.includes(piece)),
          `an answer holds ${piece}`,
        ).toEqual([]);
        expect(logs.includes(piece), `the log holds ${piece}`).toBe(false);
        expect(exported.includes(piece), `the export holds ${piece}`).toBe(false);
        for (const [table, tableRows] of rows) {
          expect(
            tableRows.filter((r) => r.includes(piece)),
            `${table} holds ${piece}`,
          ).toEqual([]);
        }
      }
    }

    // The sealed columns hold envelopes that open, for their own row only, to what was given.
    const secrets = t.app.gatehouse.secrets;
    const keys = await queryRows<{ id: string; org_id: string; purpose: string; api_key: string }>(
      t.db.database.db,
      sql`SELECT id, org_id, purpose, api_key FROM ai_connections WHERE org_id = ${org.orgId} ORDER BY purpose`,
    );
    expect(keys.map((k) => [k.purpose, secrets.open(k.api_key, apiKeyContext(k.org_id, k.id))])).toEqual([
      ['remediator', fake.keys.openai],
      ['validator', fake.keys.azure],
    ]);
    expect(() => secrets.open(keys[0]!.api_key, apiKeyContext(keys[1]!.org_id, keys[1]!.id))).toThrow();
    const stored = await queryRows<{ id: string; org_id: string; secret: string }>(
      t.db.database.db,
      sql`SELECT id, org_id, secret FROM integrations WHERE org_id = ${org.orgId}`,
    );
    expect(stored).toHaveLength(2);
    for (const row of stored) expect(row.secret).toMatch(/^gh1\.[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]+$/);
    expect(
      secrets.open(stored.find((r) => r.id === generic.id)!.secret, secretContext(org.orgId, generic.id)),
    ).toBe(fake.keys.generic);
  });

  it('are re-sealed by a key rotation, and used by an instance that holds only the new key', async () => {
    const oldKey = loadSecretsKey({ dataDir: t.config.dataDir, generate: false });
    const newKey = randomBytes(32);
    const rotated = new Secrets(newKey, [oldKey]);
    const report = await rotateSecrets(t.db.database, rotated);
    for (const column of ['ai_connections.api_key', 'integrations.secret']) {
      const entry = report.columns.find((c) => c.column === column);
      expect(entry, column).toBeDefined();
      expect(entry!.failures).toEqual([]);
      expect(entry!.resealed).toBeGreaterThanOrEqual(2);
    }
    const newOnly = new Secrets(newKey);
    const oldOnly = new Secrets(oldKey);
    const keys = await queryRows<{ id: string; org_id: string; api_key: string }>(
      t.db.database.db,
      sql`SELECT id, org_id, api_key FROM ai_connections`,
    );
    for (const k of keys) {
      expect(k.api_key.startsWith(`gh1.${newOnly.currentKeyId}.`)).toBe(true);
      expect(() => oldOnly.open(k.api_key, apiKeyContext(k.org_id, k.id))).toThrow();
      newOnly.open(k.api_key, apiKeyContext(k.org_id, k.id));
    }
    const stored = await queryRows<{ id: string; org_id: string; secret: string }>(
      t.db.database.db,
      sql`SELECT id, org_id, secret FROM integrations WHERE secret IS NOT NULL`,
    );
    for (const row of stored) {
      expect(row.secret.startsWith(`gh1.${newOnly.currentKeyId}.`)).toBe(true);
      newOnly.open(row.secret, secretContext(row.org_id, row.id));
    }
    expect((await rotateSecrets(t.db.database, rotated)).resealed).toBe(0);

    // An instance with the new key alone: the connection and the integrations still test.
    const fresh = await createTestApp(
      {
        outbound: { allowlist: ['127.0.0.1/32'] },
        secrets: { key: newKey, keyFile: undefined, previousKeys: [] },
      },
      t.db,
    );
    try {
      const as = (method: 'GET' | 'POST', url: string) =>
        fresh.app.inject({ method, url, headers: { cookie: org.owner.cookie, origin: ORIGIN } });
      expect(expectStatus(await as('POST', ai('remediator', '/test')), 200).json()).toMatchObject({
        ok: true,
      });
      expect(expectStatus(await as('POST', ai('validator', '/test')), 200).json()).toMatchObject({
        ok: true,
      });
      const list = expectStatus(await as('GET', integrations()), 200).json();
      const registry = list.items.find((i: { name: string }) => i.name === 'Registry');
      expect(expectStatus(await as('POST', integrations(`/${registry.id}/test`)), 200).json()).toMatchObject({
        ok: true,
      });
    } finally {
      await fresh.close();
    }
  });
});
