import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { queryRows } from '../../../../test/support/database.ts';
import { addMember, as, createOrg, expectStatus, type Person } from '../../../../test/support/orgs.ts';
import { type Receiver, startReceiver } from '../../../../test/support/receiver.ts';

/**
 * The webhooks routes: creating (the secret answered once, sealed at rest), reading, changing,
 * deleting, rotating, the limit per org, refusals of junk and of addresses the guard refuses,
 * every route's permission both ways, and other organizations' ids answered as unknown ones.
 */

let t: TestApp;
let receiver: Receiver;
let org: { orgId: string; owner: Person };

const at = (orgId: string, rest = '') => `/api/v1/orgs/${orgId}/webhooks${rest}`;

function expectProblem(res: LightMyRequestResponse, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toContain('application/problem+json');
  expect(res.json()).toMatchObject({ status, code });
}

async function createWebhook(who: Person, orgId: string, body: Record<string, unknown> = {}) {
  const res = await as(t.app, who).post(at(orgId), {
    url: receiver.url,
    events: ['scan.completed'],
    ...body,
  });
  return expectStatus(res, 201).json() as { id: string; secret: string; url: string; events: string[] };
}

beforeAll(async () => {
  t = await createTestApp({ outbound: { allowlist: ['127.0.0.1/32'] } });
  receiver = await startReceiver();
  org = await createOrg(t.app, { name: 'Hooks Inc' });
});
afterAll(async () => {
  await receiver?.close();
  await t?.close();
});

describe('POST /orgs/:orgId/webhooks', () => {
  it('creates a webhook and answers its secret once; it is stored sealed and never shown again', async () => {
    const res = await as(t.app, org.owner).post(at(org.orgId), {
      url: receiver.url,
      events: ['finding.created', 'scan.completed', 'scan.completed'],
      description: '  CI bridge  ',
    });
    const created = expectStatus(res, 201).json();
    expect(created).toMatchObject({
      url: receiver.url,
      // Catalog order, once each.
      events: ['scan.completed', 'finding.created'],
      description: 'CI bridge',
      enabled: true,
      disabledReason: null,
      failingSince: null,
    });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(created.secret.slice('whsec_'.length), 'base64').length).toBeGreaterThanOrEqual(24);

    const one = expectStatus(await as(t.app, org.owner).get(at(org.orgId, `/${created.id}`)), 200);
    const list = expectStatus(await as(t.app, org.owner).get(at(org.orgId)), 200);
    for (const body of [one.body, list.body]) {
      expect(body).not.toContain(created.secret);
      expect(body).not.toContain('whsec_');
      expect(body).not.toContain('gh1.');
    }
    expect(one.json()).not.toHaveProperty('secret');
    const [row] = await queryRows<{ secret: string }>(
      t.db.database.db,
      sql`SELECT secret FROM webhooks WHERE id = ${created.id}`,
    );
    expect(row!.secret.startsWith('gh1.')).toBe(true);
    expect(row!.secret).not.toContain(created.secret.slice(6));

    const audit = expectStatus(
      await as(t.app, org.owner).get(`/api/v1/orgs/${org.orgId}/audit-events?action=webhook.created`),
      200,
    ).json();
    expect(audit.items[0]).toMatchObject({
      action: 'webhook.created',
      target: { type: 'webhook', id: created.id },
      after: { url: receiver.url, events: ['scan.completed', 'finding.created'], enabled: true },
    });
    expect(JSON.stringify(audit)).not.toContain(created.secret);
  });

  it('refuses junk with a 400 naming the field, and creates nothing', async () => {
    const before = (await as(t.app, org.owner).get(at(org.orgId, '?limit=200'))).json().items.length;
    const cases: Array<[Record<string, unknown>, string, string?]> = [
      [{ url: '', events: ['scan.started'] }, 'validation_failed', '/body/url'],
      [{ url: receiver.url, events: [] }, 'validation_failed', '/body/events'],
      [{ url: receiver.url, events: ['scan.exploded'] }, 'validation_failed', '/body/events/0'],
      [{ url: receiver.url, events: ['webhook.test'] }, 'validation_failed', '/body/events/0'],
      [{ url: receiver.url }, 'validation_failed'],
      [{ url: receiver.url, events: ['scan.started'], secret: 'mine' }, 'validation_failed'],
      [{ url: receiver.url, events: ['scan.started'], description: 'x'.repeat(501) }, 'validation_failed'],
      [{ url: 'not a url', events: ['scan.started'] }, 'url_not_allowed', '/body/url'],
      [{ url: 'ftp://127.0.0.1/x', events: ['scan.started'] }, 'url_not_allowed', '/body/url'],
      [{ url: 'https://user:pass@127.0.0.1/x', events: ['scan.started'] }, 'url_not_allowed', '/body/url'],
    ];
    for (const [body, code, field] of cases) {
      const res = await as(t.app, org.owner).post(at(org.orgId), body);
      expectProblem(res, 400, code);
      if (field) expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
    }
    const after = (await as(t.app, org.owner).get(at(org.orgId, '?limit=200'))).json().items.length;
    expect(after).toBe(before);
  });

  it('refuses addresses the outbound guard refuses (decided without connecting): 400 url_not_allowed', async () => {
    // Only 127.0.0.1 is allowlisted in this app: every other loopback, private or metadata
    // address is refused on its spelling alone.
    for (const url of [
      'http://127.0.0.2:9/hook',
      'http://[::1]:9/hook',
      'http://0x7f000002/hook',
      'https://10.0.0.7/hook',
      'https://192.168.1.1/hook',
      'http://169.254.169.254/latest/meta-data',
      'https://[fd00::1]/hook',
      'https://100.64.0.1/hook',
      'http://0.0.0.0/hook',
    ]) {
      const res = await as(t.app, org.owner).post(at(org.orgId), { url, events: ['scan.started'] });
      expectProblem(res, 400, 'url_not_allowed');
      expect(res.json().errors[0].field).toBe('/body/url');
    }
    // Editing to such an address is refused too, and changes nothing.
    const hook = await createWebhook(org.owner, org.orgId);
    expectProblem(
      await as(t.app, org.owner).patch(at(org.orgId, `/${hook.id}`), { url: 'http://127.0.0.2:9/x' }),
      400,
      'url_not_allowed',
    );
    expect((await as(t.app, org.owner).get(at(org.orgId, `/${hook.id}`))).json().url).toBe(receiver.url);
  });

  it('allows 20 webhooks per organization, then answers 409 webhook_limit', async () => {
    const full = await createOrg(t.app, { name: 'Full Hooks' });
    for (let i = 0; i < 20; i++) await createWebhook(full.owner, full.orgId, { description: `hook ${i}` });
    const res = await as(t.app, full.owner).post(at(full.orgId), {
      url: receiver.url,
      events: ['scan.started'],
    });
    expectProblem(res, 409, 'webhook_limit');
    const page = expectStatus(await as(t.app, full.owner).get(at(full.orgId, '?limit=15')), 200).json();
    expect(page.items).toHaveLength(15);
    const rest = expectStatus(
      await as(t.app, full.owner).get(at(full.orgId, `?limit=15&cursor=${page.nextCursor}`)),
      200,
    ).json();
    expect(rest.items).toHaveLength(5);
    expect(rest.nextCursor).toBeNull();
  });
});

describe('PATCH, DELETE and rotate-secret', () => {
  it('changes what was asked, records it, and answers 404 for an unknown webhook', async () => {
    const hook = await createWebhook(org.owner, org.orgId);
    const res = await as(t.app, org.owner).patch(at(org.orgId, `/${hook.id}`), {
      events: ['member.added', 'scan.started'],
      description: 'Renamed',
      enabled: false,
    });
    expect(expectStatus(res, 200).json()).toMatchObject({
      events: ['scan.started', 'member.added'],
      description: 'Renamed',
      enabled: false,
    });
    expectProblem(
      await as(t.app, org.owner).patch(at(org.orgId, `/${hook.id}`), {}),
      400,
      'validation_failed',
    );
    expectProblem(
      await as(t.app, org.owner).patch(at(org.orgId, `/${randomUUID()}`), { enabled: true }),
      404,
      'not_found',
    );
    const audit = expectStatus(
      await as(t.app, org.owner).get(
        `/api/v1/orgs/${org.orgId}/audit-events?action=webhook.updated&targetId=${hook.id}`,
      ),
      200,
    ).json();
    expect(audit.items[0]).toMatchObject({
      before: { enabled: true, events: ['scan.completed'] },
      after: { enabled: false, events: ['scan.started', 'member.added'], description: 'Renamed' },
    });
  });

  it('rotates the secret: a new one answered once, the previous one still signing for 24 hours', async () => {
    const hook = await createWebhook(org.owner, org.orgId);
    const res = expectStatus(
      await as(t.app, org.owner).post(at(org.orgId, `/${hook.id}/rotate-secret`)),
      200,
    );
    const { secret, previousSecretExpiresAt } = res.json();
    expect(secret).toMatch(/^whsec_/);
    expect(secret).not.toBe(hook.secret);
    const overlap = Date.parse(previousSecretExpiresAt) - Date.now();
    expect(overlap).toBeGreaterThan(23 * 3_600_000);
    expect(overlap).toBeLessThanOrEqual(24 * 3_600_000);
    const shown = expectStatus(await as(t.app, org.owner).get(at(org.orgId, `/${hook.id}`)), 200);
    expect(shown.json().previousSecretExpiresAt).toBe(previousSecretExpiresAt);
    expect(shown.body).not.toContain('whsec_');
  });

  it('deletes a webhook with its delivery log', async () => {
    const hook = await createWebhook(org.owner, org.orgId);
    expectStatus(await as(t.app, org.owner).post(at(org.orgId, `/${hook.id}/test`)), 200);
    expectStatus(await as(t.app, org.owner).delete(at(org.orgId, `/${hook.id}`)), 204);
    expectProblem(await as(t.app, org.owner).get(at(org.orgId, `/${hook.id}`)), 404, 'not_found');
    expectProblem(await as(t.app, org.owner).get(at(org.orgId, `/${hook.id}/deliveries`)), 404, 'not_found');
    const rows = await queryRows<{ n: number }>(
      t.db.database.db,
      sql`SELECT count(*)::int AS n FROM webhook_deliveries WHERE webhook_id = ${hook.id}`,
    );
    expect(rows[0]!.n).toBe(0);
    expectProblem(await as(t.app, org.owner).delete(at(org.orgId, `/${hook.id}`)), 404, 'not_found');
  });
});

describe('webhooks:manage on every route', () => {
  it('a Developer (without it) gets 403 on each; an Admin (with it) gets through', async () => {
    const dev = await addMember(t.app, org, 'developer', {}, t.mail);
    const admin = await addMember(t.app, org, 'admin', {}, t.mail);
    const hook = await createWebhook(org.owner, org.orgId);
    expectStatus(await as(t.app, org.owner).post(at(org.orgId, `/${hook.id}/test`)), 200);
    const [attempt] = expectStatus(
      await as(t.app, org.owner).get(at(org.orgId, `/${hook.id}/deliveries`)),
      200,
    ).json().items;
    const routes: Array<[string, (who: Person) => Promise<LightMyRequestResponse>, number]> = [
      ['list', (w) => as(t.app, w).get(at(org.orgId)), 200],
      [
        'create',
        (w) => as(t.app, w).post(at(org.orgId), { url: receiver.url, events: ['scan.started'] }),
        201,
      ],
      ['read', (w) => as(t.app, w).get(at(org.orgId, `/${hook.id}`)), 200],
      ['edit', (w) => as(t.app, w).patch(at(org.orgId, `/${hook.id}`), { description: 'by admin' }), 200],
      ['rotate', (w) => as(t.app, w).post(at(org.orgId, `/${hook.id}/rotate-secret`)), 200],
      ['test', (w) => as(t.app, w).post(at(org.orgId, `/${hook.id}/test`)), 200],
      ['deliveries', (w) => as(t.app, w).get(at(org.orgId, `/${hook.id}/deliveries`)), 200],
      [
        'redeliver',
        (w) => as(t.app, w).post(at(org.orgId, `/${hook.id}/deliveries/${attempt.id}/redeliver`)),
        202,
      ],
      ['delete', (w) => as(t.app, w).delete(at(org.orgId, `/${hook.id}`)), 204],
    ];
    for (const [name, send] of routes) {
      const refused = await send(dev);
      expect(refused.statusCode, `${name}: ${refused.body}`).toBe(403);
      expect(refused.json()).toMatchObject({
        code: 'permission_denied',
        params: { permission: 'webhooks:manage' },
      });
    }
    // Nothing the Developer asked for happened.
    expect((await as(t.app, org.owner).get(at(org.orgId, `/${hook.id}`))).json().description).toBeNull();
    for (const [name, send, status] of routes) {
      const res = await send(admin);
      expect(res.statusCode, `${name}: ${res.body}`).toBe(status);
    }
  });
});

describe('other organizations', () => {
  it("answers 404 for another org's webhook and delivery ids, and changes neither org", async () => {
    const b = await createOrg(t.app, { name: 'Other Hooks' });
    const theirs = await createWebhook(b.owner, b.orgId);
    expectStatus(await as(t.app, b.owner).post(at(b.orgId, `/${theirs.id}/test`)), 200);
    const [theirAttempt] = (await as(t.app, b.owner).get(at(b.orgId, `/${theirs.id}/deliveries`))).json()
      .items;
    const mine = await createWebhook(org.owner, org.orgId);
    const before = (await as(t.app, b.owner).get(at(b.orgId, `/${theirs.id}`))).json();
    const owner = as(t.app, org.owner);
    for (const res of [
      await owner.get(at(org.orgId, `/${theirs.id}`)),
      await owner.patch(at(org.orgId, `/${theirs.id}`), { enabled: false }),
      await owner.post(at(org.orgId, `/${theirs.id}/rotate-secret`)),
      await owner.post(at(org.orgId, `/${theirs.id}/test`)),
      await owner.get(at(org.orgId, `/${theirs.id}/deliveries`)),
      await owner.post(at(org.orgId, `/${theirs.id}/deliveries/${theirAttempt.id}/redeliver`)),
      await owner.post(at(org.orgId, `/${mine.id}/deliveries/${theirAttempt.id}/redeliver`)),
      await owner.delete(at(org.orgId, `/${theirs.id}`)),
      // B's own path, A's owner is no member there: as for an org that does not exist.
      await owner.get(at(b.orgId, `/${theirs.id}`)),
      await owner.get(at(b.orgId)),
    ]) {
      expectProblem(res, 404, 'not_found');
    }
    expect((await as(t.app, b.owner).get(at(b.orgId, `/${theirs.id}`))).json()).toEqual(before);
    const attempts = (await as(t.app, b.owner).get(at(b.orgId, `/${theirs.id}/deliveries`))).json().items;
    expect(attempts).toHaveLength(1);
  });
});
