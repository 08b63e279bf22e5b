/**
 * Scan admission under contention, on PostgreSQL: how many scans per second one organization
 * gets accepted when 16 CI jobs upload at once, next to plain inserts of the same rows.
 *
 * A Gatehouse runs in this process on a fresh database of the server of DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test; loopback only; the database is dropped at the end).
 * Each org is on Enterprise with a boost large enough that the pool never runs out during the
 * timed runs; each client has its own application (so clients never wait on each other's
 * findings rows: what they share is the org's pool counter and its audit chain) and every
 * client of an org sends through one automation token (write scope, Developer role: it charges
 * the pool only, no member budget). Each request is `POST /api/v1/orgs/{orgId}/scans` with
 * `{applicationId, modules: ['dependencies'], sarif}` and the Trivy fixture as the log (3 results,
 * 10 tokens). The clients run closed-loop from a worker thread (bench/post-load.ts); the server
 * has the main thread.
 *
 * Targets, each run twice for BENCH_DURATION/2 s in ABBA order after a short warm-up:
 *   db-plain      baseline: CLIENTS loops each inserting a scan row and its ledger row in one
 *                 transaction, through Gatehouse's own pool (drizzle), no quota counter
 *   db-spend      the same scan row, then the real guarded spend (`spendTokens`: one of the
 *                 pool's slots UPDATE ... WHERE used + n <= allotted, and the ledger row), all
 *                 CLIENTS on one org: admission under contention, the figure (target >= 0.5 of
 *                 db-plain)
 *   http-one-org  the route, CLIENTS clients of one org
 *   http-16-orgs  the route, each client in an org of its own: no shared counter or audit chain
 * Then an exhaustion race: CLIENTS clients against a Scale org's 1,000 tokens until each is
 * refused (409 quota_exhausted): exactly 100 scans must be accepted. At the end, for every org
 * that spent, the pool counter must equal the sum of its scans' tokens and of its ledger.
 *
 *   node --import tsx bench/scan-admission.ts
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/scan-admission.ts
 *   BENCH_DURATION=10 BENCH_CLIENTS=16                         (defaults; s per target, clients)
 *   BENCH_SCANS=2000            (also stop each run at this many accepted; requests in flight finish)
 *   BENCH_DURATION=2 BENCH_SCANS=50                            (smoke run)
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { sql } from 'drizzle-orm';
import { monthOf, spendTokens } from '../src/server/modules/quota/index.ts';
import type { Db } from '../src/server/platform/db/client.ts';
import { quotaLedger, scans } from '../src/server/platform/db/schema.ts';
import { machineLine, ms, percentile, signUp } from './lib.ts';
import { type PostClient, type PostLoadResult, postLoad } from './post-load.ts';
import { created, withBenchGatehouse } from './server.ts';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 16);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const MAX_SCANS = process.env.BENCH_SCANS ? Number(process.env.BENCH_SCANS) : undefined;
const WARMUP_S = Math.min(2, DURATION_S / 2);
/** Far more than any run accepts: the timed runs never meet the pool's end. */
const BOOST_TOKENS = 500_000_000;
const MODULE = 'dependencies';
const SARIF = JSON.parse(
  fs.readFileSync(new URL('../test/fixtures/sarif/trivy.sarif', import.meta.url), 'utf8'),
) as unknown;

type Target = 'db-plain' | 'db-spend' | 'http-one-org' | 'http-16-orgs';
const LABELS: Record<Target, string> = {
  'db-plain': 'baseline: db scan + ledger row',
  'db-spend': 'db scan + spendTokens, one org',
  'http-one-org': 'POST /scans, one org',
  'http-16-orgs': `POST /scans, ${CLIENTS} orgs`,
};

interface Run {
  elapsedMs: number;
  accepted: number;
  latencies: number[];
  /** Main-thread busy time during the run (ms). */
  busyMs: number;
  statuses: Record<string, number>;
  firstUnexpected?: string;
}

interface Org {
  id: string;
  token: string;
  apps: string[];
}

/** An org on `plan` with `apps` applications and an automation token that may create scans. */
async function makeOrg(
  base: string,
  db: Db,
  cookie: string,
  name: string,
  plan: 'pro' | 'enterprise',
  apps: number,
  boost: number,
): Promise<Org> {
  const org = await created<{ id: string }>(base, '/api/v1/orgs', { name, plan }, cookie);
  const applications: string[] = [];
  for (let i = 0; i < apps; i++) {
    const app = await created<{ id: string }>(
      base,
      `/api/v1/orgs/${org.id}/applications`,
      { name: `service-${i}` },
      cookie,
    );
    applications.push(app.id);
  }
  const token = await created<{ token: string }>(
    base,
    `/api/v1/orgs/${org.id}/automation-tokens`,
    { name: 'ci', role: 'developer', scopes: ['write'] },
    cookie,
  );
  if (boost > 0) {
    await db.execute(
      sql`INSERT INTO quota_boosts (org_id, tokens, expires_at) VALUES (${org.id}, ${boost}, now() + interval '1 day')`,
    );
  }
  return { id: org.id, token: token.token, apps: applications };
}

function httpClients(base: string, orgs: Org[]): PostClient[] {
  return Array.from({ length: CLIENTS }, (_, i) => {
    const org = orgs[i % orgs.length]!;
    return {
      url: `${base}/api/v1/orgs/${org.id}/scans`,
      headers: { authorization: `Bearer ${org.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        applicationId: org.apps[i % org.apps.length],
        modules: [MODULE],
        sarif: SARIF,
      }),
    };
  });
}

async function viaHttp(clients: PostClient[], seconds: number, maxAccepted?: number): Promise<Run> {
  const before = performance.eventLoopUtilization();
  const result: PostLoadResult = await postLoad(clients, {
    seconds,
    ...(maxAccepted !== undefined ? { maxAccepted } : {}),
  });
  const busyMs = performance.eventLoopUtilization(before).active;
  return { ...result, busyMs };
}

/**
 * CLIENTS loops on Gatehouse's own pool, each a transaction per scan: the scan row as the route
 * writes it, then either its ledger row alone or the real guarded spend (counter and ledger).
 */
async function viaDatabase(
  db: Db,
  org: Org,
  spend: boolean,
  seconds: number,
  maxAccepted?: number,
): Promise<Run> {
  const before = performance.eventLoopUtilization();
  const latencies: number[] = [];
  let accepted = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      const applicationId = org.apps[i % org.apps.length]!;
      while (performance.now() < deadline && (maxAccepted === undefined || accepted < maxAccepted)) {
        const sent = performance.now();
        await db.transaction(async (tx) => {
          const id = randomUUID();
          const at = new Date();
          await tx.insert(scans).values({
            id,
            orgId: org.id,
            applicationId,
            modules: [MODULE],
            status: 'completed',
            tokens: 10,
            tools: ['Trivy'],
            findingsTotal: 3,
            findingsHigh: 2,
            findingsMedium: 1,
            createdAt: at,
            completedAt: at,
          });
          if (spend) {
            await spendTokens(tx, {
              orgId: org.id,
              userId: null,
              scanId: id,
              charges: [{ module: MODULE, tokens: 10 }],
              at,
            });
          } else {
            await tx.insert(quotaLedger).values({
              orgId: org.id,
              month: monthOf(at),
              scanId: id,
              userId: null,
              module: MODULE,
              tokens: 10,
              createdAt: at,
            });
          }
        });
        accepted++;
        latencies.push(performance.now() - sent);
      }
    }),
  );
  return {
    elapsedMs: performance.now() - started,
    accepted,
    latencies,
    busyMs: performance.eventLoopUtilization(before).active,
    statuses: {},
  };
}

const rate = (runs: Run[]) =>
  runs.reduce((s, r) => s + r.accepted, 0) / (runs.reduce((s, r) => s + r.elapsedMs, 0) / 1000);

function summary(label: string, runs: Run[]): string {
  const latencies = runs.flatMap((r) => r.latencies);
  const accepted = runs.reduce((s, r) => s + r.accepted, 0);
  const busy = runs.reduce((s, r) => s + r.busyMs, 0) / Math.max(1, accepted);
  return `${label.padEnd(34)} ${rate(runs).toFixed(0).padStart(6)} scans/s   p50 ${ms(percentile(latencies, 50), 1)}   p99 ${ms(percentile(latencies, 99), 1)}   main thread ${ms(busy, 2)}/scan   (${accepted} accepted)`;
}

await withBenchGatehouse(
  'scan-admission',
  { postgres: true, env: { ORGS_MAX_CREATED_PER_USER_PER_DAY: '1000' } },
  async ({ server, config, database }) => {
    const base = server.url;
    const db = server.database.db;
    process.stdout.write(
      `== scan admission under contention: POST /api/v1/orgs/{orgId}/scans vs plain inserts (PostgreSQL) ==\n${machineLine()}\n`,
    );
    process.stdout.write(
      `${database}, pool ${config.databasePoolSize} connections; ${CLIENTS} closed-loop clients; ${DURATION_S} s per target (2 runs of ${DURATION_S / 2} s, ABBA) after ${WARMUP_S} s warm-up${MAX_SCANS ? `; each run stops at ${MAX_SCANS} accepted` : ''}\n`,
    );

    const cookie = await signUp(base);
    const shared = await makeOrg(base, db, cookie, 'Bench shared', 'enterprise', CLIENTS, BOOST_TOKENS);
    const own: Org[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      own.push(await makeOrg(base, db, cookie, `Bench own ${i}`, 'enterprise', 1, BOOST_TOKENS));
    }
    const plainOrg = await makeOrg(base, db, cookie, 'Bench plain', 'enterprise', CLIENTS, 0);
    const spendOrg = await makeOrg(base, db, cookie, 'Bench spend', 'enterprise', CLIENTS, BOOST_TOKENS);

    const sharedClients = httpClients(base, [shared]);
    const ownClients = httpClients(base, own);
    const run = (target: Target, seconds: number, max?: number): Promise<Run> => {
      switch (target) {
        case 'db-plain':
          return viaDatabase(db, plainOrg, false, seconds, max);
        case 'db-spend':
          return viaDatabase(db, spendOrg, true, seconds, max);
        case 'http-one-org':
          return viaHttp(sharedClients, seconds, max);
        case 'http-16-orgs':
          return viaHttp(ownClients, seconds, max);
      }
    };

    const targets: Target[] = ['db-plain', 'db-spend', 'http-one-org', 'http-16-orgs'];
    const accepted = new Map<string, number>();
    const count = (target: Target, r: Run) => {
      if (target === 'http-one-org') accepted.set(shared.id, (accepted.get(shared.id) ?? 0) + r.accepted);
      if (target === 'http-16-orgs') {
        // Clients are spread over the orgs in turn; the per-org check below uses the counts of rows.
        accepted.set('own', (accepted.get('own') ?? 0) + r.accepted);
      }
    };
    const unexpected: string[] = [];
    for (const target of targets) {
      const r = await run(target, WARMUP_S);
      count(target, r);
      if (r.firstUnexpected) unexpected.push(`${target} (warm-up): ${r.firstUnexpected}`);
    }
    const runs = Object.fromEntries(targets.map((t) => [t, [] as Run[]])) as Record<Target, Run[]>;
    for (const target of [...targets, ...[...targets].reverse()]) {
      const r = await run(target, DURATION_S / 2, MAX_SCANS);
      count(target, r);
      runs[target].push(r);
      if (r.firstUnexpected) unexpected.push(`${target}: ${r.firstUnexpected}`);
      process.stdout.write(
        `  run ${target.padEnd(13)} ${(r.accepted / (r.elapsedMs / 1000)).toFixed(0).padStart(6)} scans/s  (${r.accepted} in ${ms(r.elapsedMs)}; statuses ${JSON.stringify(r.statuses)})\n`,
      );
    }
    for (const target of targets) process.stdout.write(`${summary(LABELS[target], runs[target])}\n`);
    const ratio = (a: Target, b: Target) => (rate(runs[a]) / rate(runs[b])).toFixed(2);
    process.stdout.write(
      `ratio db-spend / db-plain: ${ratio('db-spend', 'db-plain')}  (the figure, target >= 0.5: admission from one org's pool next to plain inserts of the same rows)\n` +
        `ratio http-one-org / http-16-orgs: ${ratio('http-one-org', 'http-16-orgs')}  (what sharing one org's pool and audit chain costs the route)\n` +
        `ratio http-one-org / db-plain: ${ratio('http-one-org', 'db-plain')}  (the whole route against two bare inserts: its own work, auth, SARIF, findings, audit)\n`,
    );

    // The pool's end under the same contention: a Scale org's 1,000 tokens are 100 scans of 10.
    const scale = await makeOrg(base, db, cookie, 'Bench exhaust', 'pro', CLIENTS, 0);
    const exhaust = await postLoad(httpClients(base, [scale]), { seconds: 120, stopOnStatus: 409 });
    process.stdout.write(
      `exhaustion race: ${CLIENTS} clients against 1,000 tokens -> ${exhaust.accepted} accepted, statuses ${JSON.stringify(exhaust.statuses)} in ${ms(exhaust.elapsedMs)}\n`,
    );
    if (exhaust.firstUnexpected) unexpected.push(`exhaustion: ${exhaust.firstUnexpected}`);

    // Never overspent: every org's pool counter is the sum of its scans' tokens and of its ledger.
    const month = monthOf(new Date());
    const orgIds = [shared.id, ...own.map((o) => o.id), spendOrg.id, scale.id];
    const checks = (await db.execute(sql`
      SELECT o.id,
             coalesce((SELECT sum(used) FROM quota_counters c WHERE c.org_id = o.id AND c.month = ${month} AND (c.subject = 'org' OR c.subject LIKE 'org:%')), 0)::bigint AS used,
             (SELECT coalesce(sum(tokens), 0) FROM scans s WHERE s.org_id = o.id)::bigint AS scan_tokens,
             (SELECT count(*) FROM scans s WHERE s.org_id = o.id)::bigint AS scans,
             (SELECT coalesce(sum(tokens), 0) FROM quota_ledger l WHERE l.org_id = o.id)::bigint AS ledger
        FROM organizations o WHERE o.id IN (${sql.join(
          orgIds.map((id) => sql`${id}::uuid`),
          sql`, `,
        )})`)) as unknown as {
      rows: { id: string; used: number; scan_tokens: number; scans: number; ledger: number }[];
    };
    const rows = new Map(checks.rows.map((r) => [r.id, r]));
    const mismatched = checks.rows.filter((r) => r.used !== r.scan_tokens || r.used !== r.ledger);
    const sharedRow = rows.get(shared.id)!;
    const ownScans = own.reduce((s, o) => s + Number(rows.get(o.id)?.scans ?? 0), 0);
    const scaleRow = rows.get(scale.id)!;
    const ok =
      mismatched.length === 0 &&
      checks.rows.length === orgIds.length &&
      sharedRow.scans === accepted.get(shared.id) &&
      ownScans === accepted.get('own') &&
      exhaust.accepted === 100 &&
      scaleRow.used === 1000 &&
      scaleRow.scans === 100 &&
      unexpected.length === 0;
    process.stdout.write(
      `check: counter = sum of scan tokens = ledger for ${checks.rows.length} orgs -> ${mismatched.length === 0 ? 'yes' : `NO (${JSON.stringify(mismatched)})`}\n` +
        `check: one org: ${sharedRow.scans} scan rows for ${accepted.get(shared.id)} answers 201, counter ${sharedRow.used}; ${CLIENTS} orgs: ${ownScans} rows for ${accepted.get('own')} answers 201\n` +
        `check: exhaustion: ${exhaust.accepted} accepted, counter ${scaleRow.used} of 1000, ${scaleRow.scans} scan rows -> ${exhaust.accepted === 100 && scaleRow.used === 1000 && scaleRow.scans === 100 ? 'yes' : 'NO'}\n` +
        `check: every other answer was 201 -> ${unexpected.length === 0 ? 'yes' : `NO: ${unexpected.join(' | ')}`}\n` +
        `overall: ${ok ? 'ok' : 'FAILED'}\n`,
    );
    if (!ok) process.exitCode = 1;
  },
);
