import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, ORIGIN, type TestApp } from '../../../../test/support/app.ts';
import { queryRows } from '../../../../test/support/database.ts';
import { type FakeProviders, startFakeProviders } from '../../../../test/support/fake-providers.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';

/**
 * The integrations registry against real APIs on loopback (allowlisted in this app): adding (the
 * secret sealed, never answered), testing with the provider's usual header (the status it leaves,
 * the service's refusal in words), changing (a secret only ever goes to the base URL it was given
 * for), removing, the config's rules, junk, permissions and other organizations.
 */

let t: TestApp;
let fake: FakeProviders;
let org: { orgId: string; owner: Person };

const at = (orgId: string, rest = '') => `/api/v1/orgs/${orgId}/integrations${rest}`;

function expectProblem(res: LightMyRequestResponse, status: number, code: string, field?: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toContain('application/problem+json');
  expect(res.json()).toMatchObject({ status, code });
  if (field) expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
}

const github = (extra: Record<string, unknown> = {}) => ({
  kind: 'scm',
  provider: 'github',
  name: `GitHub ${randomUUID().slice(0, 8)}`,
  config: { baseUrl: fake.url, organization: 'acme' },
  secret: fake.keys.github,
  ...extra,
});

async function add(who: Person, orgId: string, body: Record<string, unknown>) {
  return expectStatus(await as(t.app, who).post(at(orgId), body), 201).json() as {
    id: string;
    name: string;
    status: string;
  };
}

beforeAll(async () => {
  t = await createTestApp({ outbound: { allowlist: ['127.0.0.1/32'] } });
  fake = await startFakeProviders();
  org = await createOrg(t.app, { name: 'Integrated Inc' });
});
afterAll(async () => {
  await fake?.close();
  await t?.close();
});

describe('POST / GET …/integrations', () => {
  it('adds an integration: untested, the secret sealed at rest and never answered, the creation audited without it', async () => {
    const settings = {
      organization: 'acme',
      repositories: ['api', 'web'],
      autoScan: true,
      maxRepos: 5,
      team: null,
    };
    const res = await as(t.app, org.owner).post(
      at(org.orgId),
      github({ name: '  Main GitHub  ', config: { baseUrl: `${fake.url}/`, ...settings } }),
    );
    const created = expectStatus(res, 201).json();
    expect(created).toMatchObject({
      kind: 'scm',
      provider: 'github',
      name: 'Main GitHub',
      config: { baseUrl: fake.url, ...settings },
      hasSecret: true,
      status: 'untested',
      lastCheckedAt: null,
      lastError: null,
      lastTest: null,
    });
    const one = expectStatus(await as(t.app, org.owner).get(at(org.orgId, `/${created.id}`)), 200);
    const list = expectStatus(await as(t.app, org.owner).get(at(org.orgId)), 200);
    expect(list.json().items.map((i: { id: string }) => i.id)).toContain(created.id);
    for (const body of [res.body, one.body, list.body]) {
      expect(body).not.toContain(fake.keys.github);
      expect(body).not.toContain('gh1.');
    }
    const [row] = await queryRows<{ secret: string }>(
      t.db.database.db,
      sql`SELECT secret FROM integrations WHERE id = ${created.id}`,
    );
    expect(row!.secret.startsWith(`gh1.${t.app.gatehouse.secrets.currentKeyId}.`)).toBe(true);
    const audit = expectStatus(
      await as(t.app, org.owner).get(
        `/api/v1/orgs/${org.orgId}/audit-events?action=integration.created&targetId=${created.id}`,
      ),
      200,
    ).json();
    expect(audit.items[0]).toMatchObject({
      target: { type: 'integration', id: created.id, name: 'Main GitHub' },
      after: {
        kind: 'scm',
        provider: 'github',
        name: 'Main GitHub',
        config: { baseUrl: fake.url },
        secretSet: true,
      },
    });
    expect(JSON.stringify(audit)).not.toContain(fake.keys.github);
  });

  it('lists newest first in pages, of one kind when asked', async () => {
    const other = await createOrg(t.app, { name: 'Many Integrations' });
    for (let i = 0; i < 3; i++) await add(other.owner, other.orgId, github({ name: `scm ${i}` }));
    await add(other.owner, other.orgId, {
      kind: 'chat',
      provider: 'generic',
      name: 'Chat bridge',
      config: { baseUrl: `${fake.url}/generic` },
    });
    const first = expectStatus(await as(t.app, other.owner).get(at(other.orgId, '?limit=2')), 200).json();
    expect(first.items.map((i: { name: string }) => i.name)).toEqual(['Chat bridge', 'scm 2']);
    const rest = expectStatus(
      await as(t.app, other.owner).get(at(other.orgId, `?limit=2&cursor=${first.nextCursor}`)),
      200,
    ).json();
    expect(rest.items.map((i: { name: string }) => i.name)).toEqual(['scm 1', 'scm 0']);
    expect(rest.nextCursor).toBeNull();
    const chat = expectStatus(await as(t.app, other.owner).get(at(other.orgId, '?kind=chat')), 200).json();
    expect(chat.items).toHaveLength(1);
    expect(chat.items[0]).toMatchObject({ name: 'Chat bridge', hasSecret: false });
  });

  it('allows 100 integrations per organization, then answers 409 integration_limit', async () => {
    const full = await createOrg(t.app, { name: 'Full Integrations' });
    await t.db.database.db.execute(sql`
      INSERT INTO integrations (org_id, kind, provider, name, config)
      SELECT ${full.orgId}, 'scm', 'generic', 'seeded ' || n, ${JSON.stringify({ baseUrl: fake.url })}::jsonb
        FROM generate_series(1, 99) AS n`);
    await add(full.owner, full.orgId, github({ name: 'The hundredth' }));
    const res = await as(t.app, full.owner).post(at(full.orgId), github());
    expectProblem(res, 409, 'integration_limit');
    expect(res.json().params).toEqual({ limit: 100 });
  });

  it('creations at once never pass the limit: two places left, six asking, two made', async () => {
    const racing = await createOrg(t.app, { name: 'Racing Integrations' });
    await t.db.database.db.execute(sql`
      INSERT INTO integrations (org_id, kind, provider, name, config)
      SELECT ${racing.orgId}, 'scm', 'generic', 'seeded ' || n, ${JSON.stringify({ baseUrl: fake.url })}::jsonb
        FROM generate_series(1, 98) AS n`);
    const results = await Promise.all(
      Array.from({ length: 6 }, () => as(t.app, racing.owner).post(at(racing.orgId), github())),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 201, 409, 409, 409, 409]);
    for (const r of results.filter((r) => r.statusCode === 409)) expectProblem(r, 409, 'integration_limit');
    const [{ n }] = (await queryRows<{ n: number }>(
      t.db.database.db,
      sql`SELECT count(*)::int AS n FROM integrations WHERE org_id = ${racing.orgId}`,
    )) as [{ n: number }];
    expect(n).toBe(100);
  });

  it('refuses a second integration of the same name (case aside) with 409', async () => {
    await add(org.owner, org.orgId, github({ name: 'Ticket Desk' }));
    expectProblem(
      await as(t.app, org.owner).post(at(org.orgId), github({ name: 'ticket desk' })),
      409,
      'conflict',
    );
  });
});

describe('POST …/integrations/:id/test', () => {
  it('GitHub: a bearer token to /user; connected, then failing with the refusal in words after a wrong secret', async () => {
    const created = await add(org.owner, org.orgId, github());
    const seen = fake.requests.length;
    const ok = expectStatus(
      await as(t.app, org.owner).post(at(org.orgId, `/${created.id}/test`)),
      200,
    ).json();
    expect(ok).toMatchObject({ ok: true, status: 200, code: 'ok' });
    expect(ok.detail).toMatch(/^Connected in \d+ ms: the service took the secret \(200\)\.$/);
    const [request] = fake.requests.slice(seen);
    expect(request).toMatchObject({ method: 'GET', path: '/user' });
    expect(request!.headers.authorization).toBe(`Bearer ${fake.keys.github}`);
    const connected = expectStatus(
      await as(t.app, org.owner).get(at(org.orgId, `/${created.id}`)),
      200,
    ).json();
    expect(connected).toMatchObject({
      status: 'connected',
      lastCheckedAt: ok.testedAt,
      lastError: null,
      lastTest: ok,
    });

    // A new secret (a wrong one): untested until tested again, then failing with GitHub's words.
    const patched = expectStatus(
      await as(t.app, org.owner).patch(at(org.orgId, `/${created.id}`), {
        secret: 'ghp_revokedToken000000000000000000000',
      }),
      200,
    ).json();
    expect(patched).toMatchObject({ status: 'untested', lastTest: null, hasSecret: true });
    const failed = expectStatus(
      await as(t.app, org.owner).post(at(org.orgId, `/${created.id}/test`)),
      200,
    ).json();
    expect(failed).toMatchObject({
      ok: false,
      status: 401,
      code: 'unauthorized',
      providerMessage: 'Bad credentials',
    });
    expect(failed.detail).toBe('The service refused the secret (401): Bad credentials');
    const failing = expectStatus(await as(t.app, org.owner).get(at(org.orgId, `/${created.id}`)), 200).json();
    expect(failing).toMatchObject({
      status: 'failing',
      lastCheckedAt: failed.testedAt,
      lastError: 'The service refused the secret (401): Bad credentials',
    });
    // A new name alone keeps what the last test said.
    const renamed = expectStatus(
      await as(t.app, org.owner).patch(at(org.orgId, `/${created.id}`), {
        name: `Renamed ${created.id.slice(0, 6)}`,
      }),
      200,
    ).json();
    expect(renamed.status).toBe('failing');
  });

  it('GitLab takes PRIVATE-TOKEN; a generic service the header its config names, or a bearer token', async () => {
    const gitlab = await add(org.owner, org.orgId, {
      kind: 'scm',
      provider: 'gitlab',
      name: 'GitLab',
      config: { baseUrl: `${fake.url}/api/v4` },
      secret: fake.keys.gitlab,
    });
    const seen = fake.requests.length;
    expect(
      expectStatus(await as(t.app, org.owner).post(at(org.orgId, `/${gitlab.id}/test`)), 200).json().ok,
    ).toBe(true);
    expect(fake.requests[seen]).toMatchObject({ path: '/api/v4/user' });
    expect(fake.requests[seen]!.headers['private-token']).toBe(fake.keys.gitlab);

    const custom = await add(org.owner, org.orgId, {
      kind: 'registry',
      provider: 'generic',
      name: 'Internal registry',
      config: { baseUrl: `${fake.url}/generic/health`, authHeader: 'X-Api-Key' },
      secret: fake.keys.generic,
    });
    const before = fake.requests.length;
    expect(
      expectStatus(await as(t.app, org.owner).post(at(org.orgId, `/${custom.id}/test`)), 200).json(),
    ).toMatchObject({
      ok: true,
      status: 200,
    });
    expect(fake.requests[before]!.headers['x-api-key']).toBe(fake.keys.generic);
    expect(fake.requests[before]!.headers.authorization).toBeUndefined();

    const wrong = await add(org.owner, org.orgId, {
      kind: 'cloud',
      provider: 'generic',
      name: 'Cloud API',
      config: { baseUrl: `${fake.url}/generic` },
      secret: 'not-the-generic-key-0000',
    });
    const refused = expectStatus(
      await as(t.app, org.owner).post(at(org.orgId, `/${wrong.id}/test`)),
      200,
    ).json();
    expect(refused).toMatchObject({ ok: false, status: 403, code: 'forbidden' });
    expect(refused.detail).toBe(
      'The service refused access with the secret (403): The key is not valid for this service.',
    );
  });

  it('Jira Cloud: the email and the secret as Basic; a refusal quoting the credential as sent has it masked', async () => {
    const jira = await add(org.owner, org.orgId, {
      kind: 'ticketing',
      provider: 'jira',
      name: 'Jira Cloud',
      config: { baseUrl: fake.url, email: fake.jiraEmail },
      secret: fake.keys.jira,
    });
    const seen = fake.requests.length;
    expect(
      expectStatus(await as(t.app, org.owner).post(at(org.orgId, `/${jira.id}/test`)), 200).json().ok,
    ).toBe(true);
    const basic = (secret: string) => Buffer.from(`${fake.jiraEmail}:${secret}`, 'utf8').toString('base64');
    expect(fake.requests[seen]).toMatchObject({ path: '/rest/api/2/myself' });
    expect(fake.requests[seen]!.headers.authorization).toBe(`Basic ${basic(fake.keys.jira)}`);

    const wrong = 'jira-wrong-token-9876543210';
    expectStatus(await as(t.app, org.owner).patch(at(org.orgId, `/${jira.id}`), { secret: wrong }), 200);
    const refused = expectStatus(
      await as(t.app, org.owner).post(at(org.orgId, `/${jira.id}/test`)),
      200,
    ).json();
    expect(refused).toMatchObject({ ok: false, status: 401, code: 'unauthorized' });
    expect(refused.providerMessage).toContain('[redacted]');
    // Neither the secret nor the header it went in (base64 of email:secret, as good as the secret).
    const shown = expectStatus(await as(t.app, org.owner).get(at(org.orgId, `/${jira.id}`)), 200).body;
    for (const text of [JSON.stringify(refused), shown]) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(basic(wrong));
      expect(text).not.toContain(basic(wrong).slice(8, 24));
    }
  });

  it('reports an address the outbound guard refuses as url_not_allowed (failing), and an unknown id as 404', async () => {
    const created = await add(org.owner, org.orgId, github());
    const closed = await createTestApp({}, t.db);
    try {
      const seen = fake.requests.length;
      const res = expectStatus(
        await as(closed.app, org.owner).post(at(org.orgId, `/${created.id}/test`)),
        200,
      ).json();
      expect(res).toMatchObject({ ok: false, status: null, code: 'url_not_allowed' });
      expect(res.detail).toContain('The address is not allowed');
      expect(fake.requests.length).toBe(seen);
      expect(
        expectStatus(await as(t.app, org.owner).get(at(org.orgId, `/${created.id}`)), 200).json(),
      ).toMatchObject({
        status: 'failing',
        lastError: res.detail,
      });
      // Adding one there is refused outright.
      expectProblem(
        await as(closed.app, org.owner).post(at(org.orgId), github()),
        400,
        'url_not_allowed',
        '/body/config/baseUrl',
      );
    } finally {
      await closed.close();
    }
    expectProblem(await as(t.app, org.owner).post(at(org.orgId, `/${randomUUID()}/test`)), 404, 'not_found');
  });
});

describe('PATCH and DELETE', () => {
  it('a secret only goes to the base URL it was given for: moving it needs the secret again, or null', async () => {
    const created = await add(org.owner, org.orgId, github());
    const elsewhere = { baseUrl: `${fake.url}/mirror`, organization: 'acme' };
    expectProblem(
      await as(t.app, org.owner).patch(at(org.orgId, `/${created.id}`), { config: elsewhere }),
      400,
      'validation_failed',
      '/body/secret',
    );
    expect(
      expectStatus(await as(t.app, org.owner).get(at(org.orgId, `/${created.id}`)), 200).json().config
        .baseUrl,
    ).toBe(fake.url);
    const dropped = expectStatus(
      await as(t.app, org.owner).patch(at(org.orgId, `/${created.id}`), { config: elsewhere, secret: null }),
      200,
    ).json();
    expect(dropped).toMatchObject({ config: elsewhere, hasSecret: false, status: 'untested' });
    const audit = expectStatus(
      await as(t.app, org.owner).get(
        `/api/v1/orgs/${org.orgId}/audit-events?action=integration.updated&targetId=${created.id}`,
      ),
      200,
    ).json();
    expect(audit.items[0]).toMatchObject({
      before: { config: { baseUrl: fake.url } },
      after: { config: elsewhere, secretRemoved: true },
    });
    // The same config again, no secret: nothing changed, nothing recorded.
    expectStatus(
      await as(t.app, org.owner).patch(at(org.orgId, `/${created.id}`), { config: elsewhere }),
      200,
    );
    const again = expectStatus(
      await as(t.app, org.owner).get(
        `/api/v1/orgs/${org.orgId}/audit-events?action=integration.updated&targetId=${created.id}`,
      ),
      200,
    ).json();
    expect(again.items).toHaveLength(1);
  });

  it('disconnects: 204, audited, gone with its secret; a second time 404', async () => {
    const created = await add(org.owner, org.orgId, github());
    expectStatus(await as(t.app, org.owner).delete(at(org.orgId, `/${created.id}`)), 204);
    expectProblem(await as(t.app, org.owner).get(at(org.orgId, `/${created.id}`)), 404, 'not_found');
    const rows = await queryRows<{ n: number }>(
      t.db.database.db,
      sql`SELECT count(*)::int AS n FROM integrations WHERE id = ${created.id}`,
    );
    expect(rows[0]!.n).toBe(0);
    const audit = expectStatus(
      await as(t.app, org.owner).get(
        `/api/v1/orgs/${org.orgId}/audit-events?action=integration.deleted&targetId=${created.id}`,
      ),
      200,
    ).json();
    expect(audit.items[0]).toMatchObject({ before: { provider: 'github', secretSet: true } });
    expectProblem(await as(t.app, org.owner).delete(at(org.orgId, `/${created.id}`)), 404, 'not_found');
  });
});

describe('junk and the config’s rules', () => {
  it('refuses a base URL whose query carries a secret: the config is shown and audited as it is', async () => {
    const count = async () =>
      (
        await queryRows<{ n: number }>(
          t.db.database.db,
          sql`SELECT count(*)::int AS n FROM integrations WHERE org_id = ${org.orgId}`,
        )
      )[0]!.n;
    const before = await count();
    for (const query of [
      'access_token=abc123',
      'api_key=abc123',
      'apikey=abc123',
      'private_token=abc123',
      'client_secret=abc123',
      'sig=abc123',
      'key=abc123',
      `q=${fake.keys.github}`,
      fake.keys.github,
      `first=1&Token=abc123`,
    ]) {
      const res = await as(t.app, org.owner).post(
        at(org.orgId),
        github({ config: { baseUrl: `${fake.url}/api?${query}` } }),
      );
      expectProblem(res, 400, 'validation_failed', '/body/config/baseUrl');
      expect(res.json().errors[0].reason).toBe('secret_in_config');
      expect(res.body).not.toContain('abc123');
      expect(res.body).not.toContain(fake.keys.github);
    }
    expect(await count()).toBe(before);
    const created = await add(org.owner, org.orgId, github());
    expectProblem(
      await as(t.app, org.owner).patch(at(org.orgId, `/${created.id}`), {
        config: { baseUrl: `${fake.url}?access_token=abc123` },
        secret: fake.keys.github,
      }),
      400,
      'validation_failed',
      '/body/config/baseUrl',
    );
    // A query that is no secret is kept as it is.
    const versioned = await add(
      org.owner,
      org.orgId,
      github({ config: { baseUrl: `${fake.url}/api?api-version=7.1&per_page=1` } }),
    );
    expect(
      expectStatus(await as(t.app, org.owner).get(at(org.orgId, `/${versioned.id}`)), 200).json().config
        .baseUrl,
    ).toBe(`${fake.url}/api?api-version=7.1&per_page=1`);
  });

  it('answers 400 problems naming the field (never 5xx), and adds nothing', async () => {
    const count = async () =>
      (
        await queryRows<{ n: number }>(
          t.db.database.db,
          sql`SELECT count(*)::int AS n FROM integrations WHERE org_id = ${org.orgId}`,
        )
      )[0]!.n;
    const before = await count();
    const cases: Array<[unknown, string, string?]> = [
      [{}, 'validation_failed'],
      [github({ kind: 'vcs' }), 'validation_failed', '/body/kind'],
      [github({ provider: 'jira' }), 'validation_failed', '/body/provider'],
      [github({ provider: 'sourceforge' }), 'validation_failed', '/body/provider'],
      [github({ name: '' }), 'validation_failed', '/body/name'],
      [github({ name: '   ' }), 'validation_failed', '/body/name'],
      [github({ name: 'n'.repeat(101) }), 'validation_failed', '/body/name'],
      [github({ config: {} }), 'validation_failed', '/body/config/baseUrl'],
      [github({ config: 'https://api.github.com' }), 'validation_failed', '/body/config'],
      [github({ config: { baseUrl: fake.url, token: 'abc' } }), 'validation_failed', '/body/config/token'],
      [
        github({ config: { baseUrl: fake.url, clientSecret: 'abc' } }),
        'validation_failed',
        '/body/config/clientSecret',
      ],
      [
        github({ config: { baseUrl: fake.url, api_key: 'abc' } }),
        'validation_failed',
        '/body/config/api_key',
      ],
      [
        github({ config: { baseUrl: fake.url, note: fake.keys.github } }),
        'validation_failed',
        '/body/config/note',
      ],
      [github({ config: { baseUrl: fake.url, nested: { deep: true } } }), 'validation_failed'],
      [github({ config: { baseUrl: fake.url, 'bad key!': 1 } }), 'validation_failed'],
      [github({ config: { baseUrl: fake.url, long: 'x'.repeat(1025) } }), 'validation_failed'],
      [
        github({
          config: Object.fromEntries([
            ['baseUrl', fake.url],
            ...Array.from({ length: 20 }, (_, i) => [`k${i}`, i]),
          ]),
        }),
        'validation_failed',
      ],
      [
        github({
          config: {
            baseUrl: fake.url,
            ...Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, 'y'.repeat(1000)])),
          },
        }),
        'validation_failed',
        '/body/config',
      ],
      [
        github({ config: { baseUrl: fake.url, authHeader: 'X-Api-Key' } }),
        'validation_failed',
        '/body/config/authHeader',
      ],
      [
        github({ provider: 'generic', config: { baseUrl: fake.url, authHeader: 'Host' } }),
        'validation_failed',
        '/body/config/authHeader',
      ],
      [
        github({ provider: 'generic', config: { baseUrl: fake.url, authHeader: 'X-Key\r\nInjected' } }),
        'validation_failed',
        '/body/config/authHeader',
      ],
      [github({ config: { baseUrl: 'not a url' } }), 'url_not_allowed', '/body/config/baseUrl'],
      [
        github({ config: { baseUrl: 'http://169.254.169.254/latest' } }),
        'url_not_allowed',
        '/body/config/baseUrl',
      ],
      [github({ config: { baseUrl: 'https://10.1.2.3' } }), 'url_not_allowed', '/body/config/baseUrl'],
      [github({ config: { baseUrl: `${fake.url}#x` } }), 'validation_failed', '/body/config/baseUrl'],
      [github({ secret: '' }), 'validation_failed', '/body/secret'],
      [github({ secret: 'line\nbreak' }), 'validation_failed', '/body/secret'],
      [github({ secret: 's'.repeat(8193) }), 'validation_failed', '/body/secret'],
      [github({ status: 'connected' }), 'validation_failed'],
      [[], 'validation_failed'],
      ['text', 'validation_failed'],
    ];
    for (const [body, code, field] of cases) {
      const res = await t.app.inject({
        method: 'POST',
        url: at(org.orgId),
        headers: { cookie: org.owner.cookie, origin: ORIGIN, 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });
      expectProblem(res, 400, code, field);
    }
    expect(await count()).toBe(before);
    const created = await add(org.owner, org.orgId, github());
    for (const [body, field] of [
      [{}, undefined],
      [{ kind: 'chat' }, undefined],
      [{ config: { baseUrl: fake.url, password: 'x' } }, '/body/config/password'],
      [{ name: null }, '/body/name'],
      [{ secret: 42 }, '/body/secret'],
    ] as Array<[unknown, string | undefined]>) {
      expectProblem(
        await as(t.app, org.owner).patch(at(org.orgId, `/${created.id}`), body),
        400,
        'validation_failed',
        field,
      );
    }
    for (const id of ['not-a-uuid', '0', `${created.id}x`]) {
      expectProblem(await as(t.app, org.owner).get(at(org.orgId, `/${id}`)), 400, 'validation_failed');
    }
    expectProblem(await as(t.app, org.owner).get(at(org.orgId, '?kind=nothing')), 400, 'validation_failed');
    expectProblem(await as(t.app, org.owner).get(at(org.orgId, '?cursor=forged')), 400, 'validation_failed');
  });
});

describe('permissions and other organizations', () => {
  it('integrations:read lists (Cyberoper too), integrations:manage changes; a Developer or Viewer gets 403', async () => {
    const cyberoper = await addMember(t.app, org, 'cyberoper', {}, t.mail);
    const developer = await addMember(t.app, org, 'developer', {}, t.mail);
    const viewer = await addMember(t.app, org, 'viewer', {}, t.mail);
    const created = await add(cyberoper, org.orgId, github());
    expectStatus(await as(t.app, cyberoper).get(at(org.orgId)), 200);
    expectStatus(await as(t.app, cyberoper).post(at(org.orgId, `/${created.id}/test`)), 200);
    const state = expectStatus(await as(t.app, org.owner).get(at(org.orgId, `/${created.id}`)), 200).json();
    for (const who of [developer, viewer]) {
      for (const [res, permission] of [
        [await as(t.app, who).get(at(org.orgId)), 'integrations:read'],
        [await as(t.app, who).get(at(org.orgId, `/${created.id}`)), 'integrations:read'],
        [await as(t.app, who).post(at(org.orgId), github()), 'integrations:manage'],
        [
          await as(t.app, who).patch(at(org.orgId, `/${created.id}`), { name: 'taken over' }),
          'integrations:manage',
        ],
        [await as(t.app, who).post(at(org.orgId, `/${created.id}/test`)), 'integrations:manage'],
        [await as(t.app, who).delete(at(org.orgId, `/${created.id}`)), 'integrations:manage'],
      ] as Array<[LightMyRequestResponse, string]>) {
        expectProblem(res, 403, 'permission_denied');
        expect(res.json().params).toEqual({ permission });
      }
    }
    expect(expectStatus(await as(t.app, org.owner).get(at(org.orgId, `/${created.id}`)), 200).json()).toEqual(
      state,
    );
  });

  it("answers 404 for another org's integration ids, and changes neither org", async () => {
    const b = await createOrg(t.app, { name: 'Other Integrations' });
    const theirs = await add(b.owner, b.orgId, github({ name: 'Their GitHub' }));
    const before = expectStatus(await as(t.app, b.owner).get(at(b.orgId, `/${theirs.id}`)), 200).json();
    const seen = fake.requests.length;
    const owner = as(t.app, org.owner);
    for (const res of [
      await owner.get(at(org.orgId, `/${theirs.id}`)),
      await owner.patch(at(org.orgId, `/${theirs.id}`), { name: 'mine now' }),
      await owner.post(at(org.orgId, `/${theirs.id}/test`)),
      await owner.delete(at(org.orgId, `/${theirs.id}`)),
      // B's own paths: A's owner is no member there.
      await owner.get(at(b.orgId)),
      await owner.get(at(b.orgId, `/${theirs.id}`)),
      await owner.post(at(b.orgId, `/${theirs.id}/test`)),
    ]) {
      expectProblem(res, 404, 'not_found');
    }
    expect(fake.requests.length).toBe(seen);
    expect(expectStatus(await as(t.app, b.owner).get(at(b.orgId, `/${theirs.id}`)), 200).json()).toEqual(
      before,
    );
    const mine = expectStatus(await owner.get(at(org.orgId, '?limit=200')), 200).json();
    expect(mine.items.map((i: { id: string }) => i.id)).not.toContain(theirs.id);
  });
});
