/**
 * What the audit log costs a write: role changes per second through the real HTTP route
 * (PATCH /api/v1/orgs/:orgId/members/:userId) with 16 concurrent clients on PostgreSQL, with every
 * change appended to the org's hash chain, next to the same server built without the audit hook
 * (`unaudited`, a benchmark-only switch) in the same run.
 *
 * Two shapes: 16 owners each changing roles in their own organization (16 chains, the common
 * case), and 16 admins of one organization changing roles there at once (one chain; role changes
 * also take the org's row lock, so they queue either way). Phases alternate audited /
 * unaudited (ABAB) so drift hits both alike; each phase runs PHASE_MS after a warm-up. One server
 * at a time on a fresh database of its own (dropped at the end).
 *
 *   node --import tsx bench/audit-write.ts     BENCH_PHASE_MS=5000 BENCH_ROUNDS=2
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/server/app.ts';
import { loadConfig } from '../src/server/config.ts';
import { type Database, openDatabase } from '../src/server/platform/db/client.ts';
import { migrateDatabase } from '../src/server/platform/db/migrate.ts';
import { call, machineLine, removeDir, tempDir } from './lib.ts';
import { createBenchDatabase, dropBenchDatabase } from './pg.ts';

const CLIENTS = 16;
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 5_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const WARMUP_MS = 1_000;
const PASSWORD = 'violet-anchor-meadow-42';

interface Client {
  cookie: string;
  orgId: string;
  /** Members this client flips between developer and viewer. */
  targets: string[];
}

async function signUp(base: string, email: string): Promise<string> {
  const res = await call(base, 'POST', '/api/v1/auth/signup', {
    email,
    password: PASSWORD,
    name: email.split('@')[0],
  });
  if (res.status !== 201 || !res.cookie) throw new Error(`sign-up failed: ${res.status} ${res.text}`);
  return res.cookie;
}

/** Users made members directly in SQL (the invitation flow is not what is measured). */
async function addMembers(
  database: Database,
  orgId: string,
  count: number,
  role: string,
  label: string,
): Promise<string[]> {
  const { rows } = await database.pool!.query<{ id: string }>(
    `WITH u AS (
       INSERT INTO users (email, name, password_hash)
       SELECT $2 || '-' || g || '@bench.test', 'Member ' || g, 'x' FROM generate_series(1, $3) g
       RETURNING id)
     INSERT INTO memberships (org_id, user_id, role_id)
     SELECT $1, u.id, (SELECT id FROM roles WHERE org_id = $1 AND slug = $4) FROM u
     RETURNING user_id AS id`,
    [orgId, label, count, role],
  );
  return rows.map((r) => r.id);
}

async function phase(
  base: string,
  clients: Client[],
  ms: number,
): Promise<{ done: number; failed: number; seconds: number }> {
  let done = 0;
  let failed = 0;
  let stop = false;
  const started = performance.now();
  await Promise.all(
    clients.map(async (c, n) => {
      let i = n;
      while (!stop) {
        const target = c.targets[i % c.targets.length]!;
        const role = Math.floor(i / c.targets.length) % 2 === 0 ? 'viewer' : 'developer';
        i++;
        const res = await call(
          base,
          'PATCH',
          `/api/v1/orgs/${c.orgId}/members/${target}`,
          { role },
          c.cookie,
        );
        if (res.status === 200) done++;
        else failed++;
        if (performance.now() - started >= ms) stop = true;
      }
    }),
  );
  return { done, failed, seconds: (performance.now() - started) / 1000 };
}

async function main(): Promise<void> {
  const { name, url } = await createBenchDatabase();
  const dataDir = tempDir('audit-write');
  let database: Database | undefined;
  const warnings: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      warnings.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  try {
    const config = loadConfig({
      DATABASE_URL: url,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      SIGNUP_MAX_PER_IP: '1000',
    });
    database = await openDatabase({ databaseUrl: url, poolSize: 20 });
    await migrateDatabase(database);
    const start = async (unaudited: boolean) => {
      const app: FastifyInstance = await buildApp({
        config,
        database: database!,
        quiet: true,
        logStream,
        unaudited,
      });
      return { app, base: await app.listen({ host: '127.0.0.1', port: 0 }) };
    };

    // Setup through the audited server: owners, orgs, members.
    const setup = await start(false);
    const spread: Client[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const cookie = await signUp(setup.base, `owner-${i}@bench.test`);
      const org = await call(
        setup.base,
        'POST',
        '/api/v1/orgs',
        { name: `Org ${i}`, plan: 'enterprise' },
        cookie,
      );
      if (org.status !== 201) throw new Error(`org: ${org.status} ${org.text}`);
      const orgId = (JSON.parse(org.text) as { id: string }).id;
      spread.push({ cookie, orgId, targets: await addMembers(database, orgId, 20, 'developer', `m${i}`) });
    }
    // One org, 16 admins, each with members of their own to flip.
    const shared = spread[0]!.orgId;
    const admins = await addMembers(database, shared, CLIENTS, 'admin', 'admin');
    await database.pool!.query(
      `UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE email = 'owner-0@bench.test') WHERE email LIKE 'admin-%@bench.test'`,
    );
    const one: Client[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      const login = await call(setup.base, 'POST', '/api/v1/auth/login', {
        email: `admin-${i + 1}@bench.test`,
        password: PASSWORD,
      });
      if (login.status !== 200 || !login.cookie) throw new Error(`login: ${login.status} ${login.text}`);
      one.push({
        cookie: login.cookie,
        orgId: shared,
        targets: await addMembers(database, shared, 5, 'developer', `s${i}`),
      });
    }
    void admins;
    await setup.app.close();

    const results: Record<string, { audited: number[]; unaudited: number[] }> = {
      '16 orgs, 16 clients': { audited: [], unaudited: [] },
      '1 org, 16 clients': { audited: [], unaudited: [] },
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (const unaudited of round % 2 === 0 ? [false, true] : [true, false]) {
        const server = await start(unaudited);
        for (const [label, clients] of [
          ['16 orgs, 16 clients', spread],
          ['1 org, 16 clients', one],
        ] as const) {
          await phase(server.base, clients, WARMUP_MS);
          const r = await phase(server.base, clients, PHASE_MS);
          if (r.failed > 0) throw new Error(`${label}: ${r.failed} requests failed`);
          results[label]![unaudited ? 'unaudited' : 'audited'].push(r.done / r.seconds);
        }
        await server.app.close();
      }
    }
    const { rows } = await database.pool!.query<{ n: string }>('SELECT count(*) AS n FROM audit_events');
    process.stdout.write(`${machineLine()}\n`);
    process.stdout.write(
      `PostgreSQL, ${CLIENTS} concurrent HTTP clients, ${PHASE_MS / 1000} s phases, ${ROUNDS} rounds (ABAB)\n`,
    );
    for (const [label, r] of Object.entries(results)) {
      const a = Math.max(...r.audited);
      const u = Math.max(...r.unaudited);
      process.stdout.write(
        `${label.padEnd(22)} audited ${a.toFixed(0)} changes/s (runs ${r.audited.map((x) => x.toFixed(0)).join(', ')}); ` +
          `unaudited ${u.toFixed(0)}/s (runs ${r.unaudited.map((x) => x.toFixed(0)).join(', ')}); ratio ${(a / u).toFixed(2)} (target ≥ 0.5)\n`,
      );
    }
    process.stdout.write(`audit entries written: ${rows[0]!.n}\n`);
    if (warnings.length)
      process.stdout.write(`server warnings: ${warnings.length} (first: ${warnings[0]})\n`);
  } finally {
    await database?.close();
    await dropBenchDatabase(name);
    removeDir(dataDir);
  }
}

await main();
