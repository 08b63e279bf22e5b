import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/support/app.ts';
import { runCli as run, tempDirs } from '../../test/support/cli.ts';
import { createTestDatabase, queryRows, type TestDatabase } from '../../test/support/database.ts';
import { as, createOrg, expectStatus, type Person } from '../../test/support/orgs.ts';
import { openDatabase } from '../server/platform/db/client.ts';
import { migrateDatabase } from '../server/platform/db/migrate.ts';

/**
 * `gatehouse operator orgs list --deleted` and `gatehouse operator orgs restore`, spawned as
 * operators run them, on the test's database: a deleted organization comes back within its grace
 * period (ORG_PURGE_GRACE_DAYS), not after it, and not under a slug another organization has taken
 * since (unless the operator names another). As in operator.test.ts, on the embedded database the
 * app is closed while the command runs.
 */

const dirs = tempDirs('gatehouse-cli-restore-');
let pg: TestDatabase | undefined;
let dataDir: string;
let env: Record<string, string>;
let live: TestApp | undefined;

async function openApp(): Promise<TestApp> {
  if (pg) {
    live ??= await createTestApp({ dataDir }, pg);
    return live;
  }
  const database = await openDatabase({ dataDir });
  await migrateDatabase(database);
  const t = await createTestApp({ dataDir }, { database, url: undefined, destroy: () => database.close() });
  live = {
    ...t,
    close: async () => {
      await t.close();
      await database.close();
    },
  };
  return live;
}

async function app(): Promise<TestApp> {
  return live ?? (await openApp());
}

async function operator(args: string[]) {
  if (!pg && live) {
    await live.close();
    live = undefined;
  }
  return run(args, env);
}

beforeAll(async () => {
  dataDir = dirs.make();
  if (process.env.DATABASE_URL) pg = await createTestDatabase();
  env = {
    DATA_DIR: dataDir,
    DATABASE_URL: pg?.url ?? '',
    LOG_LEVEL: 'warn',
    AUDIT_SIGNING_KEY: '',
    AUDIT_SIGNING_KEY_FILE: '',
    SMTP_URL: '',
  };
  await openApp();
});
afterAll(async () => {
  await live?.close();
  await pg?.destroy();
  dirs.cleanup();
});

const base = (orgId: string) => `/api/v1/orgs/${orgId}`;

async function deleted(name: string): Promise<{ orgId: string; slug: string; owner: Person }> {
  const t = await app();
  const org = await createOrg(t.app, { name });
  expectStatus(await as(t.app, org.owner).delete(base(org.orgId), { password: org.owner.password }), 204);
  return org;
}

async function entries(orgId: string) {
  const t = await app();
  return queryRows<{ action: string; actor_type: string; before: unknown; after: unknown }>(
    t.app.gatehouse.database.db,
    sql`SELECT action, actor_type, before, after FROM audit_events WHERE chain_id = ${orgId} ORDER BY seq`,
  );
}

// Each test spawns the command several times (a few seconds each on a busy machine).
const CLI_TIMEOUT = 240_000;

describe('gatehouse operator orgs restore', () => {
  it('lists deleted organizations with when they are purged, and brings one back within its grace period, audited', {
    timeout: CLI_TIMEOUT,
  }, async () => {
    const org = await deleted('Comeback Inc');
    const listed = await operator(['operator', 'orgs', 'list', '--deleted', '--json']);
    expect(listed.code, listed.out).toBe(0);
    const row = (JSON.parse(listed.out) as Array<Record<string, string>>).find((o) => o.id === org.orgId)!;
    expect(row).toMatchObject({ slug: org.slug, name: 'Comeback Inc', plan: 'pro' });
    expect(new Date(row.purgeAfter!).getTime() - new Date(row.deletedAt!).getTime()).toBe(30 * 86_400_000);

    expect((await operator(['operator', 'orgs', 'restore', org.slug])).code).toBe(2);
    const restored = await operator([
      'operator',
      'orgs',
      'restore',
      org.slug,
      '--reason',
      'deleted by mistake',
    ]);
    expect(restored.out).toContain(`restored ${org.slug}: its members have their access back`);
    expect(restored.code).toBe(0);

    const t = await app();
    expect(expectStatus(await as(t.app, org.owner).get(base(org.orgId)), 200).json()).toMatchObject({
      name: 'Comeback Inc',
      slug: org.slug,
    });
    expect((await entries(org.orgId)).at(-1)).toMatchObject({
      action: 'org.restored',
      actor_type: 'operator',
      after: { deletedAt: null, slug: org.slug, reason: 'deleted by mistake' },
    });
    expect(
      expectStatus(
        await as(t.app, org.owner).get(`${base(org.orgId)}/audit-events/verify?full=true`),
        200,
      ).json(),
    ).toMatchObject({ ok: true });
    // Live again: not in the deleted list.
    const after = await operator(['operator', 'orgs', 'list', '--deleted', '--json']);
    expect((JSON.parse(after.out) as Array<{ id: string }>).map((o) => o.id)).not.toContain(org.orgId);
  });

  it('refuses while its slug is taken by another organization, and restores it under another slug when told', {
    timeout: CLI_TIMEOUT,
  }, async () => {
    const org = await deleted('Slug Holder');
    const t = await app();
    const taker = expectStatus(
      await as(t.app, org.owner).post('/api/v1/orgs', { name: 'Newcomer', slug: org.slug }),
      201,
    ).json();
    const refused = await operator([
      'operator',
      'orgs',
      'restore',
      org.slug,
      '--reason',
      'asked by the owner',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain(
      `The slug "${org.slug}" was taken by another organization after ${org.slug} was deleted`,
    );
    expect(refused.out).toContain('--slug');

    const other = await operator([
      'operator',
      'orgs',
      'restore',
      org.orgId,
      '--slug',
      `${org.slug}-old`,
      '--reason',
      'asked by the owner',
    ]);
    expect(other.out).toContain(`restored ${org.slug}-old (was ${org.slug})`);
    expect(other.code).toBe(0);
    const back = await app();
    expect(expectStatus(await as(back.app, org.owner).get(base(org.orgId)), 200).json().slug).toBe(
      `${org.slug}-old`,
    );
    expect(expectStatus(await as(back.app, org.owner).get(base(taker.id)), 200).json().slug).toBe(org.slug);
  });

  it('refuses past the grace period, names the candidates when a slug is ambiguous, and says when nothing matches', {
    timeout: CLI_TIMEOUT,
  }, async () => {
    const old = await deleted('Long Gone');
    const t = await app();
    await t.app.gatehouse.database.db.execute(
      sql`UPDATE organizations SET deleted_at = now() - interval '31 days' WHERE id = ${old.orgId}`,
    );
    const late = await operator(['operator', 'orgs', 'restore', old.orgId, '--reason', 'too late']);
    expect(late.code).toBe(1);
    expect(late.out).toContain('more than 30 days ago (ORG_PURGE_GRACE_DAYS)');

    // Two deleted organizations that had one slug (one after the other).
    const first = await deleted('Twice');
    const again = await app();
    const second = expectStatus(
      await as(again.app, first.owner).post('/api/v1/orgs', { name: 'Twice again', slug: first.slug }),
      201,
    ).json();
    expectStatus(
      await as(again.app, first.owner).delete(base(second.id), { password: first.owner.password }),
      204,
    );
    const ambiguous = await operator(['operator', 'orgs', 'restore', first.slug, '--reason', 'which one']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.out).toContain(first.orgId);
    expect(ambiguous.out).toContain(second.id);

    const none = await operator(['operator', 'orgs', 'restore', 'no-such-org', '--reason', 'typo']);
    expect(none.code).toBe(2);
    expect(none.out).toContain('No deleted organization has the id or slug "no-such-org"');
  });
});
