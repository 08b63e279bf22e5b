import { sql } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { queryRows } from '../../../../test/support/database.ts';
import {
  AZURE_API_VERSION,
  type FakeProviders,
  startFakeProviders,
} from '../../../../test/support/fake-providers.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';
import { apiKeyContext } from './ai-connections.commands.ts';

/**
 * BYO-AI connections against OpenAI-compatible and Azure OpenAI APIs on loopback (allowlisted in
 * this app, as an operator allows an on-premises gateway): saving (the key sealed, never answered,
 * kept only for the provider and base URL it was given for), the connection test (the provider's
 * refusal in words, the model checked, the outcome kept), the outbound guard refusing the same
 * address where it is not allowlisted, junk, permissions and other organizations.
 */

let t: TestApp;
let fake: FakeProviders;
let org: { orgId: string; owner: Person };
const KEY = () => fake.keys.openai;

const at = (orgId: string, purpose = 'remediator', rest = '') =>
  `/api/v1/orgs/${orgId}/ai-connections/${purpose}${rest}`;

function expectProblem(res: LightMyRequestResponse, status: number, code: string, field?: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toContain('application/problem+json');
  expect(res.json()).toMatchObject({ status, code });
  if (field) expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
}

const compatible = (extra: Record<string, unknown> = {}) => ({
  provider: 'openai_compatible',
  baseUrl: fake.openaiBase,
  apiKey: KEY(),
  model: 'gpt-4o-mini',
  ...extra,
});

async function entries(orgId: string, action: string) {
  return expectStatus(
    await as(t.app, org.owner).get(`/api/v1/orgs/${orgId}/audit-events?action=${action}&limit=200`),
    200,
  ).json().items as Array<{ target: { id: string; name: string }; before: unknown; after: unknown }>;
}

beforeAll(async () => {
  t = await createTestApp({ outbound: { allowlist: ['127.0.0.1/32'] } });
  fake = await startFakeProviders();
  org = await createOrg(t.app, { name: 'Bring Your Own AI' });
});
afterAll(async () => {
  await fake?.close();
  await t?.close();
});
beforeEach(() => {
  fake.keys.openai = 'sk-proj-fake0123456789abcdefghijklmnopqrstuv';
  fake.models = ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small'];
});

describe('GET / PUT / DELETE …/ai-connections/:purpose', () => {
  it('answers configured: false while none is saved', async () => {
    const fresh = await createOrg(t.app, { name: 'No AI Yet' });
    for (const purpose of ['remediator', 'validator']) {
      const res = expectStatus(await as(t.app, fresh.owner).get(at(fresh.orgId, purpose)), 200);
      expect(res.json()).toEqual({
        purpose,
        configured: false,
        provider: null,
        baseUrl: null,
        model: null,
        deployment: null,
        apiVersion: null,
        hasApiKey: false,
        apiKeyHint: null,
        lastTest: null,
        updatedAt: null,
      });
    }
  });

  it('saves a connection: the key sealed at rest, never answered (a hint of its last four at most), the change audited without it', async () => {
    const res = expectStatus(
      await as(t.app, org.owner).put(at(org.orgId), compatible({ baseUrl: `${fake.openaiBase}/` })),
      200,
    );
    expect(res.json()).toMatchObject({
      purpose: 'remediator',
      configured: true,
      provider: 'openai_compatible',
      // No trailing slash.
      baseUrl: fake.openaiBase,
      model: 'gpt-4o-mini',
      deployment: null,
      apiVersion: null,
      hasApiKey: true,
      apiKeyHint: KEY().slice(-4),
      lastTest: null,
    });
    const read = expectStatus(await as(t.app, org.owner).get(at(org.orgId)), 200);
    for (const body of [res.body, read.body]) {
      expect(body).not.toContain(KEY());
      expect(body).not.toContain(KEY().slice(0, 12));
      expect(body).not.toContain('gh1.');
    }
    const [row] = await queryRows<{ api_key: string }>(
      t.db.database.db,
      sql`SELECT api_key FROM ai_connections WHERE org_id = ${org.orgId} AND purpose = 'remediator'`,
    );
    expect(row!.api_key.startsWith(`gh1.${t.app.gatehouse.secrets.currentKeyId}.`)).toBe(true);
    expect(row!.api_key).not.toContain(KEY());
    const [entry] = await entries(org.orgId, 'ai_connection.updated');
    expect(entry).toMatchObject({
      target: { name: 'AI remediator' },
      before: null,
      after: {
        purpose: 'remediator',
        provider: 'openai_compatible',
        baseUrl: fake.openaiBase,
        model: 'gpt-4o-mini',
        apiKeyChanged: true,
      },
    });
    expect(JSON.stringify(entry)).not.toContain(KEY().slice(-8));
  });

  it('keeps the stored key when none is given, for the same provider and base URL only', async () => {
    expectStatus(await as(t.app, org.owner).put(at(org.orgId), compatible()), 200);
    const before = (await entries(org.orgId, 'ai_connection.updated')).length;
    // The same settings again, the same key or none: nothing changed, nothing recorded.
    expectStatus(await as(t.app, org.owner).put(at(org.orgId), compatible()), 200);
    const { apiKey: _, ...withoutKey } = compatible();
    expectStatus(await as(t.app, org.owner).put(at(org.orgId), withoutKey), 200);
    expect((await entries(org.orgId, 'ai_connection.updated')).length).toBe(before);
    // Another model, no key: kept, and it still works.
    const changed = expectStatus(
      await as(t.app, org.owner).put(at(org.orgId), { ...withoutKey, model: 'gpt-4o' }),
      200,
    );
    expect(changed.json()).toMatchObject({ model: 'gpt-4o', hasApiKey: true });
    expect(
      expectStatus(await as(t.app, org.owner).post(at(org.orgId, 'remediator', '/test')), 200).json().ok,
    ).toBe(true);
    // Elsewhere, the key must be given again: it never follows the settings to another server.
    expectProblem(
      await as(t.app, org.owner).put(at(org.orgId), { ...withoutKey, baseUrl: `${fake.url}/other/v1` }),
      400,
      'validation_failed',
      '/body/apiKey',
    );
    expectProblem(
      await as(t.app, org.owner).put(at(org.orgId), {
        ...withoutKey,
        provider: 'openai',
        baseUrl: fake.openaiBase,
      }),
      400,
      'validation_failed',
      '/body/apiKey',
    );
    expect(expectStatus(await as(t.app, org.owner).get(at(org.orgId)), 200).json().baseUrl).toBe(
      fake.openaiBase,
    );
    // And with no connection at all, a key is required.
    const fresh = await createOrg(t.app, { name: 'Keyless' });
    expectProblem(
      await as(t.app, fresh.owner).put(at(fresh.orgId), withoutKey),
      400,
      'validation_failed',
      '/body/apiKey',
    );
  });

  it('two first saves at once make one connection, whose key is the one last saved', async () => {
    const race = await createOrg(t.app, { name: 'Racing AI' });
    const keys = ['sk-race-first-0123456789abcdef', 'sk-race-second-0123456789abcdef'];
    const results = await Promise.all(
      keys.map((apiKey) => as(t.app, race.owner).put(at(race.orgId), compatible({ apiKey }))),
    );
    for (const res of results) expectStatus(res, 200);
    const rows = await queryRows<{ id: string; api_key: string }>(
      t.db.database.db,
      sql`SELECT id, api_key FROM ai_connections WHERE org_id = ${race.orgId}`,
    );
    expect(rows).toHaveLength(1);
    const stored = t.app.gatehouse.secrets.open(rows[0]!.api_key, apiKeyContext(race.orgId, rows[0]!.id));
    expect(keys).toContain(stored);
    // Each save is recorded, the second one on top of the first.
    const saves = expectStatus(
      await as(t.app, race.owner).get(`/api/v1/orgs/${race.orgId}/audit-events?action=ai_connection.updated`),
      200,
    ).json().items;
    expect(saves).toHaveLength(2);
    expect(saves.map((e: { before: unknown }) => e.before === null).sort()).toEqual([false, true]);
    expect(expectStatus(await as(t.app, race.owner).get(at(race.orgId)), 200).json().apiKeyHint).toBe(
      stored.slice(-4),
    );
  });

  it('removes a connection, audited without the key; a second removal is 404', async () => {
    const other = await createOrg(t.app, { name: 'Removing AI' });
    expectStatus(await as(t.app, other.owner).put(at(other.orgId, 'validator'), compatible()), 200);
    expectStatus(await as(t.app, other.owner).delete(at(other.orgId, 'validator')), 204);
    expect(
      expectStatus(await as(t.app, other.owner).get(at(other.orgId, 'validator')), 200).json().configured,
    ).toBe(false);
    const rows = await queryRows<{ n: number }>(
      t.db.database.db,
      sql`SELECT count(*)::int AS n FROM ai_connections WHERE org_id = ${other.orgId}`,
    );
    expect(rows[0]!.n).toBe(0);
    const removed = expectStatus(
      await as(t.app, other.owner).get(
        `/api/v1/orgs/${other.orgId}/audit-events?action=ai_connection.deleted`,
      ),
      200,
    ).json().items;
    expect(removed[0]).toMatchObject({
      target: { type: 'ai_connection', name: 'AI validator' },
      before: { purpose: 'validator', provider: 'openai_compatible', model: 'gpt-4o-mini' },
    });
    expect(JSON.stringify(removed)).not.toContain(KEY());
    expectProblem(await as(t.app, other.owner).delete(at(other.orgId, 'validator')), 404, 'not_found');
  });
});

describe('POST …/ai-connections/:purpose/test', () => {
  it('lists the models with the key: ok, the status, the latency, and the outcome kept on the connection', async () => {
    expectStatus(await as(t.app, org.owner).put(at(org.orgId), compatible()), 200);
    const seen = fake.requests.length;
    const res = expectStatus(await as(t.app, org.owner).post(at(org.orgId, 'remediator', '/test')), 200);
    const result = res.json();
    expect(result).toMatchObject({ ok: true, status: 200, code: 'ok', providerMessage: null });
    expect(result.detail).toMatch(
      /^Connected in \d+ ms: the provider took the API key and offers gpt-4o-mini\.$/,
    );
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(Date.parse(result.testedAt)).toBeGreaterThan(Date.now() - 60_000);
    const [request] = fake.requests.slice(seen);
    expect(request).toMatchObject({ method: 'GET', path: '/v1/models' });
    expect(request!.headers.authorization).toBe(`Bearer ${KEY()}`);
    expect(expectStatus(await as(t.app, org.owner).get(at(org.orgId)), 200).json().lastTest).toEqual(result);
    // Saving new settings clears it: it said nothing about them.
    expectStatus(await as(t.app, org.owner).put(at(org.orgId), compatible({ model: 'gpt-4o' })), 200);
    expect(expectStatus(await as(t.app, org.owner).get(at(org.orgId)), 200).json().lastTest).toBeNull();
  });

  it("reports the provider's refusal of a wrong key in words (401, its message), with the key masked", async () => {
    expectStatus(await as(t.app, org.owner).put(at(org.orgId), compatible()), 200);
    const stored = KEY();
    fake.keys.openai = 'sk-proj-rotatedAtTheProvider0123456789';
    const res = expectStatus(await as(t.app, org.owner).post(at(org.orgId, 'remediator', '/test')), 200);
    const result = res.json();
    expect(result).toMatchObject({ ok: false, status: 401, code: 'unauthorized' });
    expect(result.detail).toBe(
      'The provider refused the API key (401): Incorrect API key provided: [redacted]. You can find your API key at https://platform.openai.com/account/api-keys.',
    );
    expect(result.providerMessage).toContain('Incorrect API key provided: [redacted].');
    // The fake quoted the whole key back: none of it gets through, answered or kept.
    expect(res.body).not.toContain(stored.slice(8, 20));
    expect(expectStatus(await as(t.app, org.owner).get(at(org.orgId)), 200).json().lastTest).toMatchObject({
      ok: false,
      code: 'unauthorized',
    });
  });

  it('says when the provider does not offer the model, and when the answer is not a model list', async () => {
    expectStatus(await as(t.app, org.owner).put(at(org.orgId), compatible({ model: 'gpt-9-ultra' })), 200);
    const missing = expectStatus(
      await as(t.app, org.owner).post(at(org.orgId, 'remediator', '/test')),
      200,
    ).json();
    expect(missing).toMatchObject({ ok: false, status: 200, code: 'model_not_found' });
    expect(missing.detail).toBe('Model gpt-9-ultra is not offered by this provider (it lists 3 models).');
    // A base URL where no model list is: the fake's 404.
    expectStatus(
      await as(t.app, org.owner).put(at(org.orgId), compatible({ baseUrl: `${fake.url}/nothing-here` })),
      200,
    );
    const lost = expectStatus(
      await as(t.app, org.owner).post(at(org.orgId, 'remediator', '/test')),
      200,
    ).json();
    expect(lost).toMatchObject({ ok: false, status: 404, code: 'not_found' });
    expect(lost.detail).toContain('The provider answered 404 (not found): check the base URL');
  });

  it('tests Azure OpenAI: the api-key header, the api-version, the model by its versioned id', async () => {
    const azure = {
      provider: 'azure_openai',
      baseUrl: fake.url,
      apiKey: fake.keys.azure,
      model: 'gpt-4o-mini',
      deployment: 'fixes-prod',
      apiVersion: AZURE_API_VERSION,
    };
    expect(
      expectStatus(await as(t.app, org.owner).put(at(org.orgId, 'validator'), azure), 200).json(),
    ).toMatchObject({
      provider: 'azure_openai',
      deployment: 'fixes-prod',
      apiVersion: AZURE_API_VERSION,
      apiKeyHint: fake.keys.azure.slice(-4),
    });
    const seen = fake.requests.length;
    const ok = expectStatus(await as(t.app, org.owner).post(at(org.orgId, 'validator', '/test')), 200).json();
    expect(ok).toMatchObject({ ok: true, status: 200, code: 'ok' });
    const [request] = fake.requests.slice(seen);
    expect(request!.path).toBe(`/openai/models?api-version=${AZURE_API_VERSION}`);
    expect(request!.headers['api-key']).toBe(fake.keys.azure);
    expect(request!.headers.authorization).toBeUndefined();

    // A wrong key, tried before saving it: Azure's refusal in words, nothing saved.
    const wrong = expectStatus(
      await as(t.app, org.owner).post(at(org.orgId, 'validator', '/test'), {
        ...azure,
        apiKey: 'f'.repeat(32),
      }),
      200,
    ).json();
    expect(wrong).toMatchObject({ ok: false, status: 401, code: 'unauthorized' });
    expect(wrong.detail).toMatch(
      /^The provider refused the API key \(401\): Access denied due to invalid subscription key/,
    );
    // An API version the resource does not know: 404 in Azure's words.
    const { apiKey: _, ...keyless } = azure;
    const version = expectStatus(
      await as(t.app, org.owner).post(at(org.orgId, 'validator', '/test'), {
        ...keyless,
        apiVersion: '2023-01-01',
      }),
      200,
    ).json();
    expect(version).toMatchObject({ ok: false, status: 404, code: 'not_found' });
    expect(version.detail).toContain('check the endpoint and the API version (Resource not found)');
    // The stored connection is as saved, its last test the one of the saved settings.
    expect(
      expectStatus(await as(t.app, org.owner).get(at(org.orgId, 'validator')), 200).json().lastTest,
    ).toMatchObject({ ok: true });
  });

  it('tests settings before they are saved, with the stored key for the same endpoint only; 404 with none saved', async () => {
    expectStatus(await as(t.app, org.owner).put(at(org.orgId), compatible()), 200);
    const { apiKey: _, ...keyless } = compatible();
    const draft = expectStatus(
      await as(t.app, org.owner).post(at(org.orgId, 'remediator', '/test'), { ...keyless, model: 'gpt-4o' }),
      200,
    ).json();
    expect(draft).toMatchObject({ ok: true, code: 'ok' });
    expect(draft.detail).toContain('offers gpt-4o.');
    // Not kept: the saved connection's model is still the one tested... not at all yet.
    expect(expectStatus(await as(t.app, org.owner).get(at(org.orgId)), 200).json()).toMatchObject({
      model: 'gpt-4o-mini',
      lastTest: null,
    });
    const seen = fake.requests.length;
    expectProblem(
      await as(t.app, org.owner).post(at(org.orgId, 'remediator', '/test'), {
        ...keyless,
        baseUrl: `${fake.url}/elsewhere/v1`,
      }),
      400,
      'validation_failed',
      '/body/apiKey',
    );
    expect(fake.requests.length).toBe(seen);
    const fresh = await createOrg(t.app, { name: 'Untested AI' });
    expectProblem(
      await as(t.app, fresh.owner).post(at(fresh.orgId, 'remediator', '/test')),
      404,
      'not_found',
    );
  });
});

describe('the outbound guard', () => {
  let closed: TestApp;
  beforeAll(async () => {
    // The same installation without the allowlist: loopback is refused.
    closed = await createTestApp({}, t.db);
  });
  afterAll(async () => {
    await closed?.close();
  });

  it('refuses an address it does not allow: the test reports url_not_allowed, saving and trying answer 400', async () => {
    expectStatus(await as(t.app, org.owner).put(at(org.orgId), compatible()), 200);
    const seen = fake.requests.length;
    const refused = expectStatus(
      await as(closed.app, org.owner).post(at(org.orgId, 'remediator', '/test')),
      200,
    ).json();
    expect(refused).toMatchObject({ ok: false, status: null, code: 'url_not_allowed' });
    expect(refused.detail).toBe('The address is not allowed: the host is 127.0.0.1, a loopback address.');
    expectProblem(
      await as(closed.app, org.owner).put(at(org.orgId), compatible()),
      400,
      'url_not_allowed',
      '/body/baseUrl',
    );
    expectProblem(
      await as(closed.app, org.owner).post(at(org.orgId, 'remediator', '/test'), compatible()),
      400,
      'url_not_allowed',
      '/body/baseUrl',
    );
    expect(fake.requests.length).toBe(seen);
    // Where the address is allowed, the same connection works.
    expect(
      expectStatus(await as(t.app, org.owner).post(at(org.orgId, 'remediator', '/test')), 200).json().ok,
    ).toBe(true);
  });

  it('resolves a saved name again at each test: once it answers an address not allowed, nothing is sent', async () => {
    // An installation whose resolver we hold: the gateway's name first answers the allowlisted
    // loopback address, then others (DNS rebinding, or a record changed after the save).
    let answer = '127.0.0.1';
    const resolving = await createTestApp({ outbound: { allowlist: ['127.0.0.1/32'] } }, t.db, {
      outboundLookup: async (hostname) => {
        if (hostname !== 'models.gateway.test')
          throw Object.assign(new Error(hostname), { code: 'ENOTFOUND' });
        return [{ address: answer, family: answer.includes(':') ? 6 : 4 }];
      },
    });
    try {
      const rebinding = await createOrg(resolving.app, { name: 'Rebinding AI' });
      const url = at(rebinding.orgId, 'remediator', '/test');
      const baseUrl = `http://models.gateway.test:${new URL(fake.url).port}/v1`;
      expectStatus(
        await as(resolving.app, rebinding.owner).put(at(rebinding.orgId), compatible({ baseUrl })),
        200,
      );
      expect(expectStatus(await as(resolving.app, rebinding.owner).post(url), 200).json().ok).toBe(true);
      const seen = fake.requests.length;
      for (const address of [
        '127.0.0.2',
        '::1',
        '::ffff:127.0.0.2',
        '169.254.169.254',
        '::ffff:a9fe:a9fe',
        '10.0.0.7',
      ]) {
        answer = address;
        const result = expectStatus(await as(resolving.app, rebinding.owner).post(url), 200).json();
        expect(result, address).toMatchObject({ ok: false, status: null, code: 'url_not_allowed' });
        // The kind of address, never the address the name resolved to.
        expect(result.detail).not.toContain(address);
      }
      expect(fake.requests.length).toBe(seen);
    } finally {
      await resolving.close();
    }
  });

  it('refuses private, link-local and metadata addresses whatever the allowlist', async () => {
    for (const baseUrl of [
      'http://127.0.0.2:9/v1',
      'http://169.254.169.254/latest',
      'https://10.0.0.7/v1',
      'https://[::1]/v1',
      'https://user:pass@api.openai.com/v1',
    ]) {
      expectProblem(
        await as(t.app, org.owner).put(at(org.orgId), compatible({ baseUrl })),
        400,
        'url_not_allowed',
        '/body/baseUrl',
      );
    }
  });
});

describe('junk', () => {
  it('answers 400 problems (never 5xx) and changes nothing', async () => {
    expectStatus(await as(t.app, org.owner).put(at(org.orgId), compatible()), 200);
    const before = expectStatus(await as(t.app, org.owner).get(at(org.orgId)), 200).json();
    const azure = {
      provider: 'azure_openai',
      baseUrl: fake.url,
      apiKey: 'k'.repeat(32),
      model: 'gpt-4o-mini',
    };
    const cases: Array<[unknown, string, string?]> = [
      [{}, 'validation_failed'],
      [compatible({ provider: 'anthropic' }), 'validation_failed', '/body/provider'],
      [{ provider: 'openai_compatible', baseUrl: fake.openaiBase, apiKey: KEY() }, 'validation_failed'],
      [compatible({ model: '' }), 'validation_failed', '/body/model'],
      [compatible({ model: 'gpt 4o' }), 'validation_failed', '/body/model'],
      [compatible({ model: 'm'.repeat(201) }), 'validation_failed', '/body/model'],
      [compatible({ apiKey: '' }), 'validation_failed', '/body/apiKey'],
      [compatible({ apiKey: 'sk-with space' }), 'validation_failed', '/body/apiKey'],
      [compatible({ apiKey: 'sk-line\nbreak' }), 'validation_failed', '/body/apiKey'],
      [compatible({ apiKey: 'k'.repeat(4097) }), 'validation_failed', '/body/apiKey'],
      [compatible({ apiKey: 42 }), 'validation_failed', '/body/apiKey'],
      [compatible({ baseUrl: '' }), 'validation_failed', '/body/baseUrl'],
      [compatible({ baseUrl: 'not a url' }), 'url_not_allowed', '/body/baseUrl'],
      [compatible({ baseUrl: 'ftp://127.0.0.1/v1' }), 'url_not_allowed', '/body/baseUrl'],
      [compatible({ baseUrl: `${fake.openaiBase}?key=1` }), 'validation_failed', '/body/baseUrl'],
      [compatible({ baseUrl: `${fake.openaiBase}#top` }), 'validation_failed', '/body/baseUrl'],
      [compatible({ deployment: 'prod' }), 'validation_failed', '/body/deployment'],
      [compatible({ apiVersion: AZURE_API_VERSION }), 'validation_failed', '/body/apiVersion'],
      [
        { ...compatible(), provider: 'openai_compatible', baseUrl: undefined },
        'validation_failed',
        '/body/baseUrl',
      ],
      [azure, 'validation_failed', '/body/deployment'],
      [{ ...azure, deployment: 'd', apiVersion: 'latest' }, 'validation_failed', '/body/apiVersion'],
      [
        { ...azure, deployment: '../etc', apiVersion: AZURE_API_VERSION },
        'validation_failed',
        '/body/deployment',
      ],
      [compatible({ temperature: 2 }), 'validation_failed'],
      [[], 'validation_failed'],
      ['a string', 'validation_failed'],
    ];
    for (const [body, code, field] of cases) {
      const res = await t.app.inject({
        method: 'PUT',
        url: at(org.orgId),
        headers: {
          cookie: org.owner.cookie,
          origin: 'http://localhost:3000',
          'content-type': 'application/json',
        },
        payload: JSON.stringify(body),
      });
      expectProblem(res, 400, code, field);
      // An empty body is no junk to the test route: it tests the saved connection.
      if (JSON.stringify(body) === '{}') continue;
      const tried = await t.app.inject({
        method: 'POST',
        url: at(org.orgId, 'remediator', '/test'),
        headers: {
          cookie: org.owner.cookie,
          origin: 'http://localhost:3000',
          'content-type': 'application/json',
        },
        payload: JSON.stringify(body),
      });
      expect(tried.statusCode, `${JSON.stringify(body)}: ${tried.body}`).toBe(400);
    }
    for (const purpose of ['auditor', 'REMEDIATOR', '%00', 'remediator%20']) {
      expectProblem(await as(t.app, org.owner).get(at(org.orgId, purpose)), 400, 'validation_failed');
    }
    expect(expectStatus(await as(t.app, org.owner).get(at(org.orgId)), 200).json()).toEqual(before);
  });
});

describe('permissions and other organizations', () => {
  it('settings:read reads, settings:update changes and tests; roles without them get 403, strangers 404', async () => {
    const admin = await addMember(t.app, org, 'admin', {}, t.mail);
    const developer = await addMember(t.app, org, 'developer', {}, t.mail);
    const cyberoper = await addMember(t.app, org, 'cyberoper', {}, t.mail);
    // A custom role that may read the settings and not change them.
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/roles`, {
        slug: 'settings-reader',
        name: 'Settings reader',
        permissions: ['settings:read', 'members:read'],
      }),
      201,
    );
    const reader = await addMember(t.app, org, 'settings-reader', {}, t.mail);
    expectStatus(await as(t.app, admin).put(at(org.orgId), compatible()), 200);
    expectStatus(await as(t.app, admin).post(at(org.orgId, 'remediator', '/test')), 200);
    expectStatus(await as(t.app, reader).get(at(org.orgId)), 200);
    const state = expectStatus(await as(t.app, org.owner).get(at(org.orgId)), 200).json();
    for (const who of [developer, cyberoper]) {
      const res = await as(t.app, who).get(at(org.orgId));
      expectProblem(res, 403, 'permission_denied');
      expect(res.json().params).toEqual({ permission: 'settings:read' });
    }
    for (const who of [developer, cyberoper, reader]) {
      for (const res of [
        await as(t.app, who).put(at(org.orgId), compatible({ model: 'gpt-4o' })),
        await as(t.app, who).post(at(org.orgId, 'remediator', '/test')),
        await as(t.app, who).delete(at(org.orgId)),
      ]) {
        expectProblem(res, 403, 'permission_denied');
        expect(res.json().params).toEqual({ permission: 'settings:update' });
      }
    }
    expect(expectStatus(await as(t.app, org.owner).get(at(org.orgId)), 200).json()).toEqual(state);

    // Another organization's owner, on this org's paths: as for an org that does not exist.
    const other = await createOrg(t.app, { name: 'Elsewhere AI' });
    for (const res of [
      await as(t.app, other.owner).get(at(org.orgId)),
      await as(t.app, other.owner).put(at(org.orgId), compatible()),
      await as(t.app, other.owner).post(at(org.orgId, 'remediator', '/test')),
      await as(t.app, other.owner).delete(at(org.orgId)),
    ]) {
      expectProblem(res, 404, 'not_found');
    }
    // Their own org has nothing of this one's.
    expect(expectStatus(await as(t.app, other.owner).get(at(other.orgId)), 200).json().configured).toBe(
      false,
    );
    expectProblem(
      await as(t.app, other.owner).post(at(other.orgId, 'remediator', '/test')),
      404,
      'not_found',
    );
    expect(expectStatus(await as(t.app, org.owner).get(at(org.orgId)), 200).json()).toEqual(state);
  });
});
