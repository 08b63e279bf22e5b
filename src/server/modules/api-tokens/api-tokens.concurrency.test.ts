import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { onPostgres } from '../../../../test/support/database.ts';
import { as, createOrg, expectStatus, withToken } from '../../../../test/support/orgs.ts';
import { apiTokens, auditEvents } from '../../platform/db/schema.ts';
import { MAX_PERSONAL_TOKENS } from './api-tokens.commands.ts';

/**
 * Tokens under concurrent requests on PostgreSQL: a revocation is a clean cut (every change the
 * token made is in the log before the revocation, none after, and nothing it sends afterwards
 * passes), and the live-token limit is never overspent.
 */
describe.skipIf(!onPostgres)('API tokens under concurrent requests (PostgreSQL)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a revocation racing the token’s own writes: no write lands after it, none passes after it', async () => {
    for (let round = 0; round < 5; round++) {
      const org = await createOrg(t.app);
      const created = expectStatus(
        await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/automation-tokens`, {
          name: 'racer',
          role: 'admin',
        }),
        201,
      ).json();
      const bot = withToken(t.app, created.token);
      const writes = Array.from({ length: 24 }, (_, i) =>
        bot.patch(`/api/v1/orgs/${org.orgId}`, { description: `write ${i}` }),
      );
      const revoke = as(t.app, org.owner).delete(`/api/v1/orgs/${org.orgId}/automation-tokens/${created.id}`);
      const [revoked, ...answers] = await Promise.all([revoke, ...writes]);
      expectStatus(revoked, 204);
      for (const a of answers) expect([200, 401], a.body).toContain(a.statusCode);

      // Once the revocation has answered, the token is dead everywhere.
      const after = await Promise.all(
        Array.from({ length: 8 }, () => bot.patch(`/api/v1/orgs/${org.orgId}`, { description: 'late' })),
      );
      for (const a of after) expect(a.statusCode).toBe(401);

      const log = await t.db.database.db
        .select({ seq: auditEvents.seq, action: auditEvents.action, actorId: auditEvents.actorId })
        .from(auditEvents)
        .where(eq(auditEvents.chainId, org.orgId))
        .orderBy(auditEvents.seq);
      const revokedAt = log.find((e) => e.action === 'token.revoked')!.seq;
      const byToken = log.filter((e) => e.actorId === created.id);
      expect(byToken.length).toBe(answers.filter((a) => a.statusCode === 200).length);
      for (const e of byToken) expect(e.seq).toBeLessThan(revokedAt);
    }
  });

  it('never lets a user hold more live personal tokens than the limit', async () => {
    const org = await createOrg(t.app);
    const owner = as(t.app, org.owner);
    const ahead = 4;
    // Fill up to a few short of the limit with one INSERT (what is under test is the last few).
    await t.db.database.db.insert(apiTokens).values(
      Array.from({ length: MAX_PERSONAL_TOKENS - ahead }, (_, i) => ({
        kind: 'personal',
        orgId: org.orgId,
        userId: org.owner.userId,
        name: `filler ${i}`,
        scopes: ['read'],
        tokenHash: Buffer.from(`${org.orgId}-${i}`.padEnd(32, '.')),
        lastFour: 'xxxx',
        createdBy: org.owner.userId,
      })),
    );
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        owner.post('/api/v1/me/tokens', { name: `racer ${i}`, orgId: org.orgId, scopes: ['read'] }),
      ),
    );
    expect(answers.filter((a) => a.statusCode === 201)).toHaveLength(ahead);
    for (const a of answers.filter((x) => x.statusCode !== 201)) {
      expect(a.statusCode).toBe(409);
      expect(a.json().code).toBe('token_limit');
    }
    const [count] = await t.db.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(apiTokens)
      .where(and(eq(apiTokens.userId, org.owner.userId)));
    expect(count!.n).toBe(MAX_PERSONAL_TOKENS);
  });
});
