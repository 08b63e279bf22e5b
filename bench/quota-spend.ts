/**
 * What the guarded quota spend costs a scan's transaction on PostgreSQL: 16 concurrent clients on
 * one Enterprise organization, each running transactions that insert a scan row and then call
 * spendTokens (the org's pool, the member's budget and a two-level department chain, guarded, plus
 * the ledger rows and the threshold check), next to the same transactions doing only the scan
 * insert, in the same run. Every client spends as its own member; all 16 sit in one
 * department under a parent, so the pool and both department counters are hot rows every spend
 * queues on (the worst case: one busy organization). Phases alternate spend / plain (ABAB) so
 * drift hits both alike; each runs PHASE_MS after a warm-up, on a fresh database (dropped at the end).
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/quota-spend.ts
 *   BENCH_PHASE_MS=5000 BENCH_ROUNDS=2 (defaults)
 */
import { sql } from 'drizzle-orm';
import { spendTokens } from '../src/server/modules/quota/index.ts';
import { type Database, openDatabase } from '../src/server/platform/db/client.ts';
import { migrateDatabase } from '../src/server/platform/db/migrate.ts';
import {
  applications,
  departmentMembers,
  departments,
  memberships,
  organizations,
  quotaBoosts,
  roles,
  scans,
  users,
} from '../src/server/platform/db/schema.ts';
import { machineLine } from './lib.ts';
import { createBenchDatabase, dropBenchDatabase } from './pg.ts';

const CLIENTS = 16;
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 5_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP_MS = 1_000;
const TARGET_RATIO = 0.5;

interface Fixture {
  orgId: string;
  applicationId: string;
  userIds: string[];
}

async function seed(database: Database): Promise<Fixture> {
  const db = database.db;
  const [org] = await db
    .insert(organizations)
    .values({ name: 'Bench Co', slug: `bench-${Date.now()}`, plan: 'enterprise' })
    .returning({ id: organizations.id });
  const orgId = org!.id;
  const [role] = await db
    .insert(roles)
    .values({ orgId, slug: 'developer', name: 'Developer', permissions: ['scans:create'], builtin: true })
    .returning({ id: roles.id });
  const made = await db
    .insert(users)
    .values(
      Array.from({ length: CLIENTS }, (_, i) => ({
        email: `bench-${i}@example.test`,
        name: `Bench ${i}`,
        passwordHash: 'x',
      })),
    )
    .returning({ id: users.id });
  const userIds = made.map((u) => u.id);
  await db.insert(memberships).values(userIds.map((userId) => ({ orgId, userId, roleId: role!.id })));
  const [parent] = await db
    .insert(departments)
    .values({ orgId, name: 'Engineering', monthlyBudget: 2_000_000_000 })
    .returning({ id: departments.id });
  const [child] = await db
    .insert(departments)
    .values({ orgId, name: 'Backend', parentId: parent!.id, monthlyBudget: 2_000_000_000 })
    .returning({ id: departments.id });
  await db
    .insert(departmentMembers)
    .values(userIds.map((userId) => ({ orgId, userId, departmentId: child!.id })));
  // A pool no phase can exhaust: every spend must pass, as a busy month's do.
  await db.insert(quotaBoosts).values({
    orgId,
    tokens: 2_000_000_000,
    expiresAt: new Date(Date.now() + 86_400_000),
  });
  const [app] = await db
    .insert(applications)
    .values({ orgId, name: 'bench-app' })
    .returning({ id: applications.id });
  return { orgId, applicationId: app!.id, userIds };
}

type Mode = 'spend' | 'plain';

async function oneTransaction(database: Database, f: Fixture, userId: string, mode: Mode): Promise<void> {
  await database.db.transaction(async (tx) => {
    const charges = [
      { module: 'dependencies' as const, tokens: 10 },
      { module: 'sast' as const, tokens: 15 },
    ];
    const [scan] = await tx
      .insert(scans)
      .values({
        orgId: f.orgId,
        applicationId: f.applicationId,
        modules: charges.map((c) => c.module),
        status: 'completed',
        tokens: mode === 'spend' ? 25 : 0,
        createdBy: userId,
      })
      .returning({ id: scans.id });
    // Last before COMMIT, as spendTokens asks: the org's counters stay locked only from here.
    if (mode === 'spend') await spendTokens(tx, { orgId: f.orgId, userId, scanId: scan!.id, charges });
  });
}

/** Transactions per second over `ms`, 16 clients each looping one transaction at a time. */
async function phase(database: Database, f: Fixture, mode: Mode, ms: number): Promise<number> {
  const until = performance.now() + ms;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    f.userIds.map(async (userId) => {
      while (performance.now() < until) {
        await oneTransaction(database, f, userId, mode);
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const { name, url } = await createBenchDatabase();
  const database = await openDatabase({ databaseUrl: url, poolSize: CLIENTS + 1 });
  try {
    await migrateDatabase(database);
    const f = await seed(database);
    await phase(database, f, 'spend', WARMUP_MS);
    await phase(database, f, 'plain', WARMUP_MS);
    const results: Record<Mode, number[]> = { spend: [], plain: [] };
    for (let round = 0; round < ROUNDS; round++) {
      results.spend.push(await phase(database, f, 'spend', PHASE_MS));
      results.plain.push(await phase(database, f, 'plain', PHASE_MS));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const spend = mean(results.spend);
    const plain = mean(results.plain);
    // Every spend passed and none was lost: the ledger and the pool agree.
    const [check] = (
      (await database.db.execute(
        sql`SELECT (SELECT sum(used)::int FROM quota_counters WHERE org_id = ${f.orgId} AND (subject = 'org' OR subject LIKE 'org:%')) AS pool,
                   (SELECT coalesce(sum(tokens), 0)::int FROM quota_ledger WHERE org_id = ${f.orgId}) AS ledger`,
      )) as unknown as { rows: { pool: number; ledger: number }[] }
    ).rows;
    console.log(machineLine());
    console.log(
      `quota spend, ${CLIENTS} concurrent clients, one organization, PostgreSQL (${ROUNDS}×${PHASE_MS} ms each)`,
    );
    console.log(
      `  scan insert + spendTokens : ${spend.toFixed(0)} transactions/s  (rounds: ${results.spend.map((r) => r.toFixed(0)).join(', ')})`,
    );
    console.log(
      `  scan insert only (baseline): ${plain.toFixed(0)} transactions/s  (rounds: ${results.plain.map((r) => r.toFixed(0)).join(', ')})`,
    );
    console.log(`  ratio: ${(spend / plain).toFixed(2)} (target ≥ ${TARGET_RATIO})`);
    console.log(
      `  pool counter ${check?.pool} = ledger ${check?.ledger}: ${check?.pool === check?.ledger ? 'consistent' : 'MISMATCH'}`,
    );
  } finally {
    await database.close();
    await dropBenchDatabase(name);
  }
}

await main();
