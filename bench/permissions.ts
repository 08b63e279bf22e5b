/**
 * Permission decisions in process: Gatehouse's real AccessResolver against casbin on the same RBAC
 * model, in the same run.
 *
 * Model (seeded, reproducible): one organization with the 5 built-in roles and 20 custom roles
 * (random subsets of the 36-permission catalog), 1,000 users each holding one role. Gatehouse runs
 * over a real embedded database (PGlite, migrated, rows inserted) with real InvalidatingCache
 * instances on the LocalBus, as buildApp wires them; every member's access is resolved once to
 * warm the caches. casbin gets the same roles and assignments as an "RBAC with domains" model
 * (user has role in org, role has permission resource:action).
 *
 * Timed over one pre-generated random sequence of (user, permission) queries, checked first to give
 * identical answers everywhere (mismatches must be 0):
 *   - gatehouse decideCached(org, user, permission)         (sync, cached facts only)
 *   - gatehouse (await resolve(org, user)).permissions.has() (the async path a request takes)
 *   - casbin enforcer.enforceSync(user, org, resource, action)   <- the baseline
 *   - casbin CachedEnforcer await enforce(...)  (casbin's decision memo; for reference)
 * Each after a warm-up round, ROUNDS timed rounds, median reported. casbin evaluates its matcher
 * once per p-rule for every request (~500 µs-2 ms a decision here), so the sequence is kept at a
 * size it can check in well under a minute, Gatehouse rounds repeat it, and casbin's timed rounds
 * use its first CASBIN_QUERIES queries.
 *
 *   node --import tsx bench/permissions.ts
 *   BENCH_ROUNDS=7 BENCH_USERS=1000 BENCH_QUERIES=10000 BENCH_CASBIN_QUERIES=2000 (defaults)
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { newCachedEnforcer, newEnforcer, newModelFromString, StringAdapter } from 'casbin';
import { PERMISSIONS, type Permission } from '../src/contracts/permissions.ts';
import { BUILTIN_ROLES, OWNER_ROLE } from '../src/contracts/roles.ts';
import {
  createAccessResolver,
  MEMBERSHIPS_CACHE,
  ORGS_CACHE,
  ROLES_CACHE,
  rolePermissions,
} from '../src/server/platform/access/access.ts';
import { createInvalidationBus } from '../src/server/platform/cache/cache.ts';
import { openDatabase } from '../src/server/platform/db/client.ts';
import { migrateDatabase } from '../src/server/platform/db/migrate.ts';
import { memberships, organizations, roles, users } from '../src/server/platform/db/schema.ts';
import { machineLine, median, prng, removeDir, sleep, tempDir } from './lib.ts';

const SEED = 20_240_601;
const CUSTOM_ROLES = 20;
const USERS = Number(process.env.BENCH_USERS ?? 1000);
const QUERIES = Number(process.env.BENCH_QUERIES ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
/** Gatehouse rounds repeat the sequence so each lasts long enough to time well (>= ~100 ms). */
const GATEHOUSE_REPEAT = 100;
/** casbin rounds run this many queries from the start of the sequence (it is far slower). */
const CASBIN_QUERIES = Number(process.env.BENCH_CASBIN_QUERIES ?? 2_000);
const TARGET_RATE = 1_000_000;
const TARGET_RATIO = 10;

const rate = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k/s` : `${n.toFixed(0)} /s`;
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

interface RoleSpec {
  slug: string;
  name: string;
  builtin: boolean;
  permissions: Permission[];
  /** Relative share of members holding it. */
  weight: number;
}

function buildModel(random: () => number): RoleSpec[] {
  const builtinWeights: Record<string, number> = {
    owner: 0.5,
    admin: 4,
    cyberoper: 12,
    developer: 40,
    viewer: 23.5,
  };
  const specs: RoleSpec[] = BUILTIN_ROLES.map((r) => ({
    slug: r.slug,
    name: r.name,
    builtin: true,
    permissions: [...r.permissions],
    weight: builtinWeights[r.slug] ?? 1,
  }));
  for (let i = 1; i <= CUSTOM_ROLES; i++) {
    // Each custom role grants a random share (15-85 %) of the catalog, never nothing.
    const density = 0.15 + random() * 0.7;
    let permissions = PERMISSIONS.filter(() => random() < density);
    if (permissions.length === 0) permissions = [PERMISSIONS[Math.floor(random() * PERMISSIONS.length)]!];
    specs.push({
      slug: `custom-${i}`,
      name: `Custom ${i}`,
      builtin: false,
      permissions,
      weight: 1,
    });
  }
  return specs;
}

function pickWeighted<T extends { weight: number }>(items: readonly T[], random: () => number): T {
  const total = items.reduce((sum, item) => sum + item.weight, 0);
  let x = random() * total;
  for (const item of items) {
    x -= item.weight;
    if (x < 0) return item;
  }
  return items[items.length - 1]!;
}

interface Rate {
  /** Median decisions per wall-clock second. */
  wall: number;
  /** Median decisions per second of this process's CPU time (what the loop gets with a core of its own). */
  cpu: number;
}

/**
 * Decisions per second of `run`, which makes `count` decisions: median over ROUNDS after a warm-up.
 * Both per wall-clock second and per CPU second: on a loaded machine (other processes on the two
 * cores) the wall-clock figure measures the neighbours too, the CPU-time one does not.
 */
async function measure(label: string, count: number, run: () => number | Promise<number>): Promise<Rate> {
  await run(); // warm-up (JIT, inline caches)
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const granted = await run();
    const elapsed = performance.now() - started;
    const used = process.cpuUsage(cpuBefore);
    if (granted < 0) throw new Error('unreachable'); // keeps the result alive
    wall.push((count / elapsed) * 1000);
    cpu.push((count / (used.user + used.system)) * 1e6);
  }
  const result = { wall: median(wall), cpu: median(cpu) };
  process.stdout.write(
    `  ${label.padEnd(56)} wall ${rate(result.wall).padStart(10)}  cpu ${rate(result.cpu).padStart(10)}   rounds (wall) ${wall.map(rate).join(', ')}\n`,
  );
  return result;
}

/** The machine's load, printed with the figures: this is a shared 2-core VM. */
function loadLine(): string {
  const [one, five] = os.loadavg();
  let pressure = '';
  try {
    const some = fs.readFileSync('/proc/pressure/cpu', 'utf8').match(/some avg10=([0-9.]+)/);
    if (some) pressure = `, CPU pressure (some, 10 s) ${some[1]} %`;
  } catch {
    // not Linux, or no PSI
  }
  return `load average ${one!.toFixed(2)} (1 min) ${five!.toFixed(2)} (5 min) on ${os.cpus().length} CPUs${pressure}`;
}

async function main(): Promise<void> {
  const random = prng(SEED);
  const specs = buildModel(random);
  const dataDir = tempDir('permissions');
  const database = await openDatabase({ dataDir });
  try {
    await migrateDatabase(database);
    const { db } = database;

    // --- the model in the database -------------------------------------------------------------
    const [org] = await db
      .insert(organizations)
      .values({ slug: 'bench-perm', name: 'Bench Permissions', plan: 'enterprise' })
      .returning({ id: organizations.id });
    const orgId = org!.id;
    const roleRows = await db
      .insert(roles)
      .values(
        specs.map((s) => ({
          orgId,
          slug: s.slug,
          name: s.name,
          builtin: s.builtin,
          permissions: s.permissions,
        })),
      )
      .returning({ id: roles.id, slug: roles.slug });
    const roleIdBySlug = new Map(roleRows.map((r) => [r.slug, r.id]));
    const userRows = await db
      .insert(users)
      .values(
        Array.from({ length: USERS }, (_, i) => ({
          email: `member${i}@bench.example`,
          name: `Member ${i}`,
          passwordHash: 'not-a-hash',
        })),
      )
      .returning({ id: users.id });
    const userIds = userRows.map((u) => u.id);
    const userRole = userIds.map(() => pickWeighted(specs, random));
    await db.insert(memberships).values(
      userIds.map((userId, i) => ({
        orgId,
        userId,
        roleId: roleIdBySlug.get(userRole[i]!.slug)!,
        // Recent activity: warming the caches writes no activity rows meanwhile.
        lastActiveAt: new Date(),
      })),
    );

    // --- Gatehouse's resolver, wired as buildApp wires it ----------------------------------------
    const bus = await createInvalidationBus(database, undefined, () => {});
    const resolver = createAccessResolver(db, bus, (err, msg) =>
      process.stderr.write(`${msg}: ${String(err)}\n`),
    );
    const caches = [ORGS_CACHE, MEMBERSHIPS_CACHE, ROLES_CACHE].map((name) => bus.cache(name)!);
    for (const userId of userIds) {
      const access = await resolver.resolve(orgId, userId);
      if (!access) throw new Error(`member ${userId} did not resolve`);
    }
    await sleep(50); // let any fire-and-forget activity write finish

    // --- casbin: RBAC with domains ---------------------------------------------------------------
    const modelText = `
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.obj == p.obj && r.act == p.act
`;
    const policyLines: string[] = [];
    for (const spec of specs) {
      // What Gatehouse grants the role (an Owner: the whole catalog), spelled as casbin policies.
      for (const permission of rolePermissions(spec.slug, spec.permissions)) {
        const [resource, action] = permission.split(':');
        policyLines.push(`p, role:${spec.slug}, ${orgId}, ${resource}, ${action}`);
      }
    }
    userIds.forEach((userId, i) => {
      policyLines.push(`g, ${userId}, role:${userRole[i]!.slug}, ${orgId}`);
    });
    const policyText = policyLines.join('\n');
    const enforcer = await newEnforcer(newModelFromString(modelText), new StringAdapter(policyText));
    const cachedEnforcer = await newCachedEnforcer(
      newModelFromString(modelText),
      new StringAdapter(policyText),
    );

    // --- the query sequence ------------------------------------------------------------------------
    const qUser: string[] = new Array(QUERIES);
    const qPermission: Permission[] = new Array(QUERIES);
    const qResource: string[] = new Array(QUERIES);
    const qAction: string[] = new Array(QUERIES);
    for (let i = 0; i < QUERIES; i++) {
      const permission = PERMISSIONS[Math.floor(random() * PERMISSIONS.length)]!;
      const [resource, action] = permission.split(':') as [string, string];
      qUser[i] = userIds[Math.floor(random() * userIds.length)]!;
      qPermission[i] = permission;
      qResource[i] = resource;
      qAction[i] = action;
    }

    // --- same answers everywhere, on the whole sequence --------------------------------------------
    // casbin first (it is slow: the resolver's cache entries could outlive their 5-minute TTL while
    // it runs), each engine also against the model itself; then the resolver's caches are warmed
    // again and its answers compared with casbin's, right before it is timed.
    const specOf = new Map(userIds.map((id, i) => [id, userRole[i]!]));
    const want = (i: number) => {
      const spec = specOf.get(qUser[i]!)!;
      return spec.slug === OWNER_ROLE || spec.permissions.includes(qPermission[i]!);
    };
    const casbinAnswers = new Uint8Array(QUERIES);
    let casbinVsModel = 0;
    let cachedVsCasbin = 0;
    let granted = 0;
    const checkStarted = performance.now();
    for (let i = 0; i < QUERIES; i++) {
      const answer = enforcer.enforceSync(qUser[i]!, orgId, qResource[i]!, qAction[i]!);
      casbinAnswers[i] = answer ? 1 : 0;
      if (answer !== want(i)) casbinVsModel++;
      if ((await cachedEnforcer.enforce(qUser[i]!, orgId, qResource[i]!, qAction[i]!)) !== answer)
        cachedVsCasbin++;
      if (answer) granted++;
    }
    const checkSeconds = (performance.now() - checkStarted) / 1000;
    // Fresh entries (5-minute TTL) for the comparison and the timing that follow.
    for (const cache of caches) cache.clear();
    for (const userId of userIds) await resolver.resolve(orgId, userId);
    let syncVsCasbin = 0;
    let asyncVsCasbin = 0;
    for (let i = 0; i < QUERIES; i++) {
      const answer = casbinAnswers[i] === 1;
      if (resolver.decideCached(orgId, qUser[i]!, qPermission[i]!) !== answer) syncVsCasbin++;
      if ((await resolver.resolve(orgId, qUser[i]!))?.permissions.has(qPermission[i]!) !== answer)
        asyncVsCasbin++;
    }

    const customPerms = specs.filter((s) => !s.builtin).map((s) => s.permissions.length);
    process.stdout.write('== Permission decisions in process: Gatehouse AccessResolver vs casbin ==\n');
    process.stdout.write(`${machineLine()}\n`);
    process.stdout.write(`load before timing: ${loadLine()}\n`);
    process.stdout.write(
      `model: 1 org, ${specs.length} roles (5 built-in + ${CUSTOM_ROLES} custom, ${Math.min(...customPerms)}-${Math.max(...customPerms)} of ${PERMISSIONS.length} permissions each), ${fmt(USERS)} members; seed ${SEED}\n`,
    );
    process.stdout.write(
      `gatehouse: AccessResolver over PGlite (migrated), InvalidatingCache x3 on the LocalBus, every member resolved once (caches warm)\n`,
    );
    process.stdout.write(
      `casbin ${casbinVersion()}: RBAC with domains (r = sub, dom, obj, act; g = _, _, _; some(allow)), ${fmt(policyLines.length - USERS)} p-rules + ${fmt(USERS)} g-rules\n`,
    );
    process.stdout.write(
      `queries: ${fmt(QUERIES)} random (member, permission) pairs, ${((granted / QUERIES) * 100).toFixed(1)} % granted (checked in ${checkSeconds.toFixed(1)} s)\n`,
    );
    const mismatches = syncVsCasbin + asyncVsCasbin + casbinVsModel + cachedVsCasbin;
    process.stdout.write(
      `check on the whole sequence: mismatches ${mismatches} (decideCached vs casbin ${syncVsCasbin}, resolve().has vs casbin ${asyncVsCasbin}, casbin vs model ${casbinVsModel}, casbin cached vs casbin ${cachedVsCasbin})\n`,
    );
    if (mismatches > 0) {
      process.exitCode = 1;
      throw new Error('the engines disagree: not timing');
    }
    process.stdout.write(
      `timing: 1 warm-up + ${ROUNDS} rounds each, median; gatehouse rounds ${fmt(QUERIES * GATEHOUSE_REPEAT)} decisions (the sequence ${GATEHOUSE_REPEAT}x), casbin enforceSync rounds its first ${fmt(CASBIN_QUERIES)}, CachedEnforcer rounds the sequence once\n`,
    );

    // --- timing --------------------------------------------------------------------------------
    const n = QUERIES;
    const casbinN = Math.min(CASBIN_QUERIES, QUERIES);
    let unresolved = 0;
    const sync = await measure('gatehouse decideCached(org, user, permission)', n * GATEHOUSE_REPEAT, () => {
      let yes = 0;
      for (let r = 0; r < GATEHOUSE_REPEAT; r++) {
        for (let i = 0; i < n; i++) {
          const decision = resolver.decideCached(orgId, qUser[i]!, qPermission[i]!);
          if (decision) yes++;
          else if (decision === undefined) unresolved++;
        }
      }
      return yes;
    });
    const viaResolve = await measure(
      'gatehouse (await resolve(org, user)).permissions.has(p)',
      n * GATEHOUSE_REPEAT,
      async () => {
        let yes = 0;
        for (let r = 0; r < GATEHOUSE_REPEAT; r++) {
          for (let i = 0; i < n; i++) {
            const access = await resolver.resolve(orgId, qUser[i]!);
            if (access?.permissions.has(qPermission[i]!)) yes++;
          }
        }
        return yes;
      },
    );
    if (unresolved > 0) throw new Error(`decideCached found ${unresolved} decisions uncached while timed`);
    const casbin = await measure('baseline: casbin enforceSync(user, org, res, act)', casbinN, () => {
      let yes = 0;
      for (let i = 0; i < casbinN; i++)
        if (enforcer.enforceSync(qUser[i]!, orgId, qResource[i]!, qAction[i]!)) yes++;
      return yes;
    });
    const casbinCached = await measure('reference: casbin CachedEnforcer await enforce(...)', n, async () => {
      let yes = 0;
      for (let i = 0; i < n; i++)
        if (await cachedEnforcer.enforce(qUser[i]!, orgId, qResource[i]!, qAction[i]!)) yes++;
      return yes;
    });

    process.stdout.write(`load after timing: ${loadLine()}\n`);
    const verdict = (ok: boolean) => (ok ? 'MET' : 'MISSED');
    const line = (label: string, r: Rate, note = '') =>
      `${label.padEnd(34)} ${fmt(r.wall).padStart(11)} /s wall ${fmt(r.cpu).padStart(11)} /s CPU${note}\n`;
    process.stdout.write(
      line(
        'gatehouse decideCached',
        sync,
        `   target >= ${fmt(TARGET_RATE)}: wall ${verdict(sync.wall >= TARGET_RATE)}, CPU ${verdict(sync.cpu >= TARGET_RATE)}`,
      ),
    );
    process.stdout.write(line('gatehouse await resolve + has', viaResolve));
    process.stdout.write(line('baseline: casbin enforceSync', casbin));
    process.stdout.write(line('casbin CachedEnforcer (async)', casbinCached));
    const ratio = sync.cpu / casbin.cpu;
    const ratioWall = sync.wall / casbin.wall;
    process.stdout.write(
      `ratio decideCached / casbin enforceSync: ${ratioWall.toFixed(0)}x wall, ${ratio.toFixed(0)}x CPU   target >= ${TARGET_RATIO}x -> ${verdict(Math.min(ratio, ratioWall) >= TARGET_RATIO)}\n`,
    );
    process.stdout.write(
      `ratio resolve+has / casbin enforceSync: ${(viaResolve.cpu / casbin.cpu).toFixed(0)}x CPU; resolve+has / casbin CachedEnforcer (both async, memoized): ${(viaResolve.cpu / casbinCached.cpu).toFixed(2)}x CPU\n`,
    );
    await bus.close();
  } finally {
    await database.close();
    removeDir(dataDir);
  }
}

/** The installed casbin's version, as its package says. */
function casbinVersion(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve('casbin');
  const manifest = path.join(main.slice(0, main.lastIndexOf(`${path.sep}lib${path.sep}`)), 'package.json');
  return (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string }).version;
}

await main();
