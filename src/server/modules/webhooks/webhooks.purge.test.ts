import { type SQL, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, queryRows, type TestDatabase } from '../../../../test/support/database.ts';
import type { Executor } from '../../platform/db/client.ts';
import { purgeDeliveries } from './webhooks.repository.ts';

/**
 * The delivery log's retention sweep: deliveries older than the bound go, with their attempts,
 * in every organization; newer ones stay. Each batch deletes its rows by their primary key,
 * (org_id, id): by id alone, which no index leads with, every batch would scan the table.
 */

let t: TestDatabase;
const orgs: string[] = [];
const PER_ORG = 600;

beforeAll(async () => {
  t = await createTestDatabase();
  const db = t.database.db;
  for (const slug of ['purge-a', 'purge-b']) {
    const [org] = await queryRows<{ id: string }>(
      db,
      sql`INSERT INTO organizations (slug, name) VALUES (${slug}, ${slug}) RETURNING id`,
    );
    const orgId = org!.id;
    orgs.push(orgId);
    const [hook] = await queryRows<{ id: string }>(
      db,
      sql`INSERT INTO webhooks (org_id, url, events, secret)
          VALUES (${orgId}, 'https://example.test/h', '{}', 's') RETURNING id`,
    );
    // Even rows a year old, odd rows of the last hour.
    await db.execute(sql`INSERT INTO webhook_deliveries (org_id, webhook_id, event_id, type, body, created_at)
        SELECT ${orgId}, ${hook!.id}, 'evt_' || i, 'member.added', '{}',
               CASE WHEN i % 2 = 0 THEN now() - interval '365 days' ELSE now() - interval '1 hour' END
          FROM generate_series(1, ${PER_ORG}) i`);
    await db.execute(sql`INSERT INTO webhook_attempts (org_id, webhook_id, delivery_id, attempt)
        SELECT org_id, webhook_id, id, 1 FROM webhook_deliveries WHERE org_id = ${orgId}`);
  }
  await db.execute(sql`ANALYZE webhook_deliveries`);
});

afterAll(async () => {
  await t?.destroy();
});

describe('purgeDeliveries', () => {
  it('deletes a batch by the primary key (org_id, id), not by id alone', async () => {
    const db = t.database.db;
    let statement: SQL | undefined;
    const capture = {
      execute: (query: SQL) => {
        statement = query;
        return Promise.resolve({ rows: [], rowCount: 0 });
      },
    } as unknown as Executor;
    await purgeDeliveries(capture, new Date(Date.now() - 86_400_000), 10);
    expect(statement).toBeDefined();
    const plan = await db.transaction(async (tx) => {
      // Only the plan's shape is looked at: no scan of the whole table is to be preferred.
      await tx.execute(sql`SET LOCAL enable_seqscan = off`);
      const rows = await queryRows<{ 'QUERY PLAN': string }>(tx, sql`EXPLAIN ${statement}`);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan, plan).toMatch(/Index Cond: \(\(org_id = [\w"]+\.org_id\) AND \(id = [\w"]+\.id\)\)/);
  });

  it('forgets the old deliveries of every organization with their attempts, and keeps the recent ones', async () => {
    const db = t.database.db;
    let purged = 0;
    for (;;) {
      const n = await purgeDeliveries(db, new Date(Date.now() - 86_400_000), 250);
      purged += n;
      if (n < 250) break;
    }
    expect(purged).toBe(PER_ORG);
    for (const orgId of orgs) {
      const [left] = await queryRows<{ deliveries: number; attempts: number; old: number }>(
        db,
        sql`SELECT (SELECT count(*)::int FROM webhook_deliveries WHERE org_id = ${orgId}) AS deliveries,
                   (SELECT count(*)::int FROM webhook_attempts WHERE org_id = ${orgId}) AS attempts,
                   (SELECT count(*)::int FROM webhook_deliveries
                     WHERE org_id = ${orgId} AND created_at < now() - interval '1 day') AS old`,
      );
      expect(left).toEqual({ deliveries: PER_ORG / 2, attempts: PER_ORG / 2, old: 0 });
    }
  });
});
