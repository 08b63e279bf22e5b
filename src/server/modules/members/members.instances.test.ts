import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres } from '../../../../test/support/database.ts';
import { addMember, as, createOrg, expectStatus } from '../../../../test/support/orgs.ts';

/**
 * Two instances on one PostgreSQL database, as in production: a change made through one is in
 * force on the other's very next request, although that one had the member's access cached.
 */
describe.skipIf(!onPostgres)('access changes across instances (PostgreSQL)', () => {
  let one: TestApp;
  let two: TestApp;
  beforeAll(async () => {
    one = await createTestApp();
    two = await createTestApp({}, one.db);
  });
  afterAll(async () => {
    await two?.close();
    await one?.close();
  });

  const membersUrl = (orgId: string) => `/api/v1/orgs/${orgId}/members`;

  it('a removal on one instance ends access on the other at the next request', async () => {
    const org = await createOrg(one.app);
    const dev = await addMember(one.app, org, 'developer', {}, one.mail);
    for (let round = 0; round < 20; round++) {
      // Cached on instance two.
      expectStatus(await as(two.app, dev).get(membersUrl(org.orgId)), 200);
      expect(two.app.gatehouse.bus.cache('memberships')?.has(dev.userId)).toBe(true);
      expectStatus(await as(one.app, org.owner).delete(`${membersUrl(org.orgId)}/${dev.userId}`), 204);
      expectStatus(await as(two.app, dev).get(membersUrl(org.orgId)), 404);
      // Back in, for the next round.
      await one.db.database.pool!.query(
        `UPDATE memberships SET status = 'active', removed_at = NULL WHERE org_id = $1 AND user_id = $2`,
        [org.orgId, dev.userId],
      );
      // A write behind the commands' back: drop the cached memberships as a command would.
      for (const instance of [one, two]) instance.app.gatehouse.bus.dropLocal('memberships', dev.userId);
    }
  });

  it('a role change, and an edit of the role’s permissions, hold on the other instance at once', async () => {
    const org = await createOrg(one.app);
    const dev = await addMember(one.app, org, 'developer', {}, one.mail);
    const invite = () =>
      as(two.app, dev).post(`/api/v1/orgs/${org.orgId}/invitations`, {
        emails: [`x-${Date.now()}@example.test`],
        role: 'viewer',
      });
    expectStatus(await invite(), 403);
    expectStatus(
      await as(one.app, org.owner).patch(`${membersUrl(org.orgId)}/${dev.userId}`, { role: 'admin' }),
      200,
    );
    expectStatus(await invite(), 201);

    // Taking members:read away from Developer is seen by a developer on instance two at once.
    expectStatus(
      await as(one.app, org.owner).patch(`${membersUrl(org.orgId)}/${dev.userId}`, { role: 'developer' }),
      200,
    );
    expectStatus(await as(two.app, dev).get(membersUrl(org.orgId)), 200);
    const developer = expectStatus(
      await as(one.app, org.owner).get(`/api/v1/orgs/${org.orgId}/roles/developer`),
      200,
    ).json();
    const without = developer.permissions.filter((p: string) => p !== 'members:read');
    expectStatus(
      await as(one.app, org.owner).patch(`/api/v1/orgs/${org.orgId}/roles/developer`, {
        permissions: without,
      }),
      200,
    );
    expectStatus(await as(two.app, dev).get(membersUrl(org.orgId)), 403);
  });

  it('deleting the organization on one instance ends every member’s access on the other', async () => {
    const org = await createOrg(one.app);
    const dev = await addMember(one.app, org, 'developer', {}, one.mail);
    expectStatus(await as(two.app, dev).get(membersUrl(org.orgId)), 200);
    expectStatus(
      await as(one.app, org.owner).delete(`/api/v1/orgs/${org.orgId}`, { password: org.owner.password }),
      204,
    );
    expectStatus(await as(two.app, dev).get(membersUrl(org.orgId)), 404);
    expectStatus(await as(two.app, org.owner).get(membersUrl(org.orgId)), 404);
  });
});
