/**
 * Load and faults: Gatehouse's production shape — several instances on one PostgreSQL behind a
 * load balancer — under a mixed workload, then under faults, then checked.
 *
 *   npm run load                      (PostgreSQL at DATABASE_URL or 127.0.0.1:5432, loopback only)
 *   LOAD_SECONDS=20 LOAD_FAULT_SECONDS=45 LOAD_WORKERS=24 LOAD_FAULTS=kill,pg npm run load
 *
 * 1. Three `gatehouse serve` processes on a fresh database of their own, sharing the signing and
 *    secrets keys, behind test/load/balancer.ts; six organizations (one on Scale, whose pool runs
 *    out, five on Enterprise) with members, an automation token, an application and a webhook to
 *    a receiver on loopback.
 * 2. The mixed workload — sign-ins, role changes, invitations, scans spending the quota, audit
 *    reads, member lists; webhooks fan out from the role changes and scans — for LOAD_SECONDS on
 *    1, then 2, then 3 instances: requests/s and p99 each.
 * 3. On 3 instances for LOAD_FAULT_SECONDS: one instance SIGKILLed (and started again 8 s later,
 *    as systemd would), then PostgreSQL restarted (`pg_ctlcluster … restart`; needs root and a
 *    local cluster). Errors during each fault and the time until requests succeed again.
 * 4. Afterwards: every acknowledged write is there (scans, invitations, each member's last
 *    acknowledged role), every org's audit chain verifies, no pool overspent (the ledger equals
 *    the scans' tokens and stays within the limit), every webhook delivery recorded reached the
 *    receiver, none twice at the same time, the acknowledged role changes each delivered; the
 *    instances that were not killed answer without having been restarted.
 * Exits 1 when a check fails.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { freePort, machineLine, percentile, prng, removeDir, sleep, tempDir } from '../../bench/lib.ts';
import { createBenchDatabase, dropBenchDatabase } from '../../bench/pg.ts';
import { type Backend, startBalancer } from './balancer.ts';

const SECONDS = Number(process.env.LOAD_SECONDS ?? 20);
const FAULT_SECONDS = Number(process.env.LOAD_FAULT_SECONDS ?? 45);
const WORKERS = Number(process.env.LOAD_WORKERS ?? 24);
const FAULTS = new Set((process.env.LOAD_FAULTS ?? 'kill,pg').split(',').filter(Boolean));
const ORGS = 6;
const PASSWORD = 'violet-anchor-meadow-42';
const BIN = path.resolve('bin/gatehouse.mjs');

// ---------- instances ----------

interface Instance extends Backend {
  dir: string;
  env: NodeJS.ProcessEnv;
  child: ChildProcess | null;
  pid: number | null;
  starts: number;
  log: string[];
}

async function waitReady(inst: Instance, timeoutMs: number): Promise<void> {
  const { port } = inst;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!inst.child) throw new Error(`instance ${inst.name} exited: ${inst.log.slice(-5).join('')}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.status === 200) return;
    } catch {}
    await sleep(200);
  }
  throw new Error(`instance on ${port} not ready after ${timeoutMs} ms`);
}

function launch(inst: Instance): void {
  const child = spawn(process.execPath, [BIN, 'serve'], { env: inst.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (d: Buffer) => {
    inst.log.push(d.toString());
    if (inst.log.length > 200) inst.log.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  inst.child = child;
  inst.pid = child.pid ?? null;
  inst.starts++;
  child.on('exit', () => {
    if (inst.child === child) inst.child = null;
  });
}

async function startInstances(
  databaseUrl: string,
  publicUrl: string,
  count: number,
  instances: Instance[],
): Promise<Instance[]> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const shared = {
    DATABASE_URL: databaseUrl,
    HOST: '127.0.0.1',
    PUBLIC_URL: publicUrl,
    LOG_LEVEL: 'warn',
    AUDIT_SIGNING_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    SECRETS_KEY: randomBytes(32).toString('base64'),
    OUTBOUND_ALLOWLIST: '127.0.0.1/32',
    WEBHOOK_RETRY_SCHEDULE: '1,2,5,10,20',
    DATABASE_POOL_SIZE: '10',
    LOGIN_MAX_PER_ACCOUNT: '100000',
    LOGIN_MAX_FAILURES_PER_IP: '100000',
    SIGNUP_MAX_PER_IP: '100000',
    INVITATIONS_MAX_PER_ORG_PER_HOUR: '100000',
    SESSION_MAX_PER_USER: '1000',
  };
  for (let i = 0; i < count; i++) {
    const port = await freePort();
    const dir = tempDir(`load-i${i + 1}`);
    instances.push({
      name: `i${i + 1}`,
      port,
      up: false,
      dir,
      env: { ...process.env, ...shared, PORT: String(port), DATA_DIR: dir },
      child: null,
      pid: null,
      starts: 0,
      log: [],
    });
  }
  // The first applies the migrations; the others find them applied.
  launch(instances[0]!);
  await waitReady(instances[0]!, 120_000);
  for (const inst of instances.slice(1)) launch(inst);
  await Promise.all(instances.map((inst) => waitReady(inst, 120_000)));
  return instances;
}

// ---------- HTTP client ----------

// biome-ignore lint/suspicious/noExplicitAny: the answers of many routes, read field by field
type Loose = any;

interface Answer {
  status: number;
  json: Loose;
}

async function request(
  base: string,
  method: string,
  urlPath: string,
  options: { body?: unknown; cookie?: string; bearer?: string } = {},
): Promise<Answer & { cookie?: string }> {
  const res = await fetch(`${base}${urlPath}`, {
    method,
    headers: {
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.cookie ? { cookie: options.cookie } : {}),
      ...(options.bearer ? { authorization: `Bearer ${options.bearer}` } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: Loose = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  const cookie = res.headers
    .getSetCookie()
    .find((c) => c.startsWith('gatehouse_session='))
    ?.split(';')[0];
  return { status: res.status, json, ...(cookie ? { cookie } : {}) };
}

async function must(
  base: string,
  method: string,
  urlPath: string,
  expected: number,
  options: { body?: unknown; cookie?: string; bearer?: string } = {},
) {
  const res = await request(base, method, urlPath, options);
  if (res.status !== expected) {
    throw new Error(`${method} ${urlPath} answered ${res.status}: ${JSON.stringify(res.json)}`);
  }
  return res;
}

// ---------- the receiver ----------

interface Receipt {
  id: string;
  start: number;
  end: number;
}

async function startReceiver() {
  const receipts: Receipt[] = [];
  const server = http.createServer((req, res) => {
    const start = Date.now();
    req.resume();
    req.on('end', () => {
      // A short answer time, so that two deliveries of one event at once would overlap visibly.
      setTimeout(() => {
        receipts.push({ id: String(req.headers['webhook-id'] ?? ''), start, end: Date.now() });
        res.writeHead(204).end();
      }, 15);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    receipts,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

// ---------- setup ----------

interface Member {
  userId: string;
  email: string;
  /** The last role a change of it was acknowledged to; null once a change's outcome is unknown. */
  role: string | null;
}

interface Org {
  id: string;
  plan: string;
  ownerCookie: string;
  token: string;
  appId: string;
  members: Member[];
  scans: string[];
  invitations: string[];
  roleChanges: number;
}

async function signUp(base: string, label: string) {
  const email = `${label}-${randomBytes(5).toString('hex')}@example.test`;
  const res = await must(base, 'POST', '/api/v1/auth/signup', 201, {
    body: { email, password: PASSWORD, name: label },
  });
  return { email, cookie: res.cookie!, userId: res.json.user.id as string };
}

async function setUp(base: string, hookUrl: string, workers: number): Promise<Org[]> {
  const orgs: Org[] = [];
  for (let o = 0; o < ORGS; o++) {
    const owner = await signUp(base, `owner${o}`);
    const plan = o === 0 ? 'pro' : 'enterprise';
    const org = (
      await must(base, 'POST', '/api/v1/orgs', 201, {
        body: { name: `Load ${o}`, plan },
        cookie: owner.cookie,
      })
    ).json;
    const app = (
      await must(base, 'POST', `/api/v1/orgs/${org.id}/applications`, 201, {
        body: { name: 'service' },
        cookie: owner.cookie,
      })
    ).json;
    const token = (
      await must(base, 'POST', `/api/v1/orgs/${org.id}/automation-tokens`, 201, {
        body: { name: 'ci', role: 'developer', scopes: ['write'] },
        cookie: owner.cookie,
      })
    ).json;
    await must(base, 'POST', `/api/v1/orgs/${org.id}/webhooks`, 201, {
      body: { url: hookUrl, events: ['member.role_changed', 'scan.started'] },
      cookie: owner.cookie,
    });
    const link = (await must(base, 'POST', `/api/v1/orgs/${org.id}/join-link`, 201, { cookie: owner.cookie }))
      .json;
    orgs.push({
      id: org.id,
      plan,
      ownerCookie: owner.cookie,
      token: token.token,
      appId: app.id,
      members: [],
      scans: [],
      invitations: [],
      roleChanges: 0,
    });
    // One member per worker of this org: a worker's changes to its member are sequential, so the
    // last acknowledged role is the one the member must have.
    for (let w = o; w < workers; w += ORGS) {
      const person = await signUp(base, `member${w}`);
      const join = await must(base, 'POST', '/api/v1/join-requests', 202, {
        body: { token: link.token },
        cookie: person.cookie,
      });
      await must(base, 'POST', `/api/v1/orgs/${org.id}/join-requests/${join.json.id}/approve`, 200, {
        body: { role: 'developer' },
        cookie: owner.cookie,
      });
      orgs[o]!.members.push({ userId: person.userId, email: person.email, role: 'developer' });
    }
  }
  return orgs;
}

// ---------- the workload ----------

interface Sample {
  at: number;
  op: string;
  ms: number;
  ok: boolean;
  status: number;
}

type Op = 'signin' | 'role' | 'invite' | 'scan' | 'audit' | 'members';
const MIX: Array<[Op, number]> = [
  ['signin', 8],
  ['role', 14],
  ['invite', 8],
  ['scan', 25],
  ['audit', 25],
  ['members', 20],
];

function pick(random: () => number): Op {
  const total = MIX.reduce((s, [, w]) => s + w, 0);
  let r = random() * total;
  for (const [op, w] of MIX) {
    r -= w;
    if (r < 0) return op;
  }
  return 'audit';
}

async function runOp(
  base: string,
  org: Org,
  member: Member,
  op: Op,
): Promise<{ ok: boolean; status: number }> {
  switch (op) {
    case 'signin': {
      const res = await request(base, 'POST', '/api/v1/auth/login', {
        body: { email: member.email, password: PASSWORD },
      });
      return { ok: res.status === 200, status: res.status };
    }
    case 'role': {
      const to = member.role === 'viewer' ? 'developer' : 'viewer';
      const before = member.role;
      member.role = null; // unknown until acknowledged
      try {
        const res = await request(base, 'PATCH', `/api/v1/orgs/${org.id}/members/${member.userId}`, {
          body: { role: to },
          cookie: org.ownerCookie,
        });
        if (res.status === 200) {
          member.role = to;
          // A change from a known role is a change, with its event; from an unknown one it may
          // have been no change at all (the lost request had already made it).
          if (before !== null) org.roleChanges++;
        } else if (res.status < 500 && res.status !== 429) member.role = before; // refused: unchanged
        return { ok: res.status === 200, status: res.status };
      } catch {
        return { ok: false, status: 0 };
      }
    }
    case 'invite': {
      const res = await request(base, 'POST', `/api/v1/orgs/${org.id}/invitations`, {
        body: { emails: [`invitee-${randomBytes(5).toString('hex')}@example.test`], role: 'viewer' },
        cookie: org.ownerCookie,
      });
      if (res.status === 201) org.invitations.push(res.json.items[0].id);
      return { ok: res.status === 201, status: res.status };
    }
    case 'scan': {
      const res = await request(base, 'POST', `/api/v1/orgs/${org.id}/scans`, {
        body: { applicationId: org.appId, modules: ['dependencies'] },
        bearer: org.token,
      });
      if (res.status === 201) org.scans.push(res.json.id);
      const refused = res.status === 409 && res.json?.code === 'quota_exhausted';
      return { ok: res.status === 201 || refused, status: res.status };
    }
    case 'audit': {
      const res = await request(base, 'GET', `/api/v1/orgs/${org.id}/audit-events?limit=50`, {
        cookie: org.ownerCookie,
      });
      return { ok: res.status === 200, status: res.status };
    }
    case 'members': {
      const res = await request(base, 'GET', `/api/v1/orgs/${org.id}/members?limit=50`, {
        cookie: org.ownerCookie,
      });
      return { ok: res.status === 200, status: res.status };
    }
  }
}

async function runLoad(base: string, orgs: Org[], seconds: number, seed: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  const stopAt = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, w) => {
      const random = prng(seed * 1000 + w);
      const org = orgs[w % ORGS]!;
      const member = org.members[Math.floor(w / ORGS)]!;
      while (Date.now() < stopAt) {
        const op = pick(random);
        const started = performance.now();
        let result: { ok: boolean; status: number };
        try {
          result = await runOp(base, org, member, op);
        } catch {
          result = { ok: false, status: 0 };
        }
        samples.push({ at: Date.now(), op, ms: performance.now() - started, ...result });
        // A failed request is retried after a pause, as a client would, rather than in a tight loop.
        if (!result.ok) await sleep(100);
      }
    }),
  );
  return samples;
}

function summary(label: string, samples: Sample[], seconds: number): string {
  const ok = samples.filter((s) => s.ok);
  const errors = samples.length - ok.length;
  const p50 = percentile(
    ok.map((s) => s.ms),
    50,
  );
  const p99 = percentile(
    ok.map((s) => s.ms),
    99,
  );
  return `${label.padEnd(28)} ${(ok.length / seconds).toFixed(0).padStart(5)} req/s   p50 ${p50.toFixed(1)} ms   p99 ${p99.toFixed(1)} ms   errors ${errors}`;
}

function statusesOf(samples: Sample[]): string {
  const counts = new Map<string, number>();
  for (const s of samples)
    if (!s.ok) counts.set(`${s.op} ${s.status}`, (counts.get(`${s.op} ${s.status}`) ?? 0) + 1);
  return [...counts].map(([k, v]) => `${k}×${v}`).join(', ') || 'none';
}

/** Errors from `from` until the next fault (or the end) and when requests last failed after `from`. */
function faultWindow(samples: Sample[], from: number, until: number) {
  const inWindow = samples.filter((s) => s.at >= from && s.at < until);
  const errors = inWindow.filter((s) => !s.ok);
  const lastError = errors.reduce((m, s) => Math.max(m, s.at), from);
  return {
    errors: errors.length,
    requests: inWindow.length,
    recoveredAfterMs: lastError - from,
    detail: statusesOf(inWindow),
  };
}

// ---------- checks ----------

async function checks(
  base: string,
  db: pg.Client,
  orgs: Org[],
  receipts: Receipt[],
  instances: Instance[],
  untouched: Map<string, number>,
) {
  const failures: string[] = [];
  const fail = (what: string) => {
    failures.push(what);
    process.stdout.write(`  ✗ ${what}\n`);
  };
  // Outbox drained: every event dispatched to the webhooks (a dispatch the killed instance had
  // claimed waits out its lease) and every delivery delivered, or the deadline passes.
  const deadline = Date.now() + 180_000;
  for (;;) {
    const { rows } = await db.query(
      `SELECT (SELECT count(*)::int FROM outbox_jobs WHERE state = 'pending' AND kind = 'event.dispatch') AS dispatching,
              (SELECT count(*)::int FROM webhook_deliveries d
                WHERE NOT EXISTS (SELECT 1 FROM webhook_attempts a WHERE a.delivery_id = d.id AND a.state = 'delivered')) AS undelivered`,
    );
    if (rows[0].dispatching === 0 && rows[0].undelivered === 0) break;
    if (Date.now() > deadline) {
      fail(
        `after 180 s, ${rows[0].dispatching} events not dispatched and ${rows[0].undelivered} deliveries not delivered`,
      );
      break;
    }
    await sleep(1000);
  }

  let scans = 0;
  let invitations = 0;
  let roleChecks = 0;
  for (const org of orgs) {
    const { rows: scanRows } = await db.query('SELECT id FROM scans WHERE org_id = $1', [org.id]);
    const present = new Set(scanRows.map((r) => r.id));
    const lost = org.scans.filter((id) => !present.has(id));
    if (lost.length) fail(`org ${org.id}: ${lost.length} acknowledged scans missing`);
    scans += org.scans.length;
    const { rows: invRows } = await db.query('SELECT id FROM invitations WHERE org_id = $1', [org.id]);
    const invPresent = new Set(invRows.map((r) => r.id));
    const invLost = org.invitations.filter((id) => !invPresent.has(id));
    if (invLost.length) fail(`org ${org.id}: ${invLost.length} acknowledged invitations missing`);
    invitations += org.invitations.length;
    const members = (
      await must(base, 'GET', `/api/v1/orgs/${org.id}/members?limit=200`, 200, { cookie: org.ownerCookie })
    ).json.items as Array<{ userId: string; role: string }>;
    for (const m of org.members) {
      if (m.role === null) continue;
      roleChecks++;
      const now = members.find((x) => x.userId === m.userId)?.role;
      if (now !== m.role) fail(`org ${org.id}: member ${m.userId} is ${now}, last acknowledged ${m.role}`);
    }
    const verify = (
      await must(base, 'GET', `/api/v1/orgs/${org.id}/audit-events/verify`, 200, { cookie: org.ownerCookie })
    ).json;
    if (!verify.ok) fail(`org ${org.id}: audit chain does not verify (first bad seq ${verify.firstBadSeq})`);
    const usage = (await must(base, 'GET', `/api/v1/orgs/${org.id}/usage`, 200, { cookie: org.ownerCookie }))
      .json;
    const { rows: spent } = await db.query(
      `SELECT (SELECT coalesce(sum(tokens), 0)::int FROM quota_ledger WHERE org_id = $1 AND month = $2) AS ledger,
              (SELECT coalesce(sum(tokens), 0)::int FROM scans WHERE org_id = $1) AS scans`,
      [org.id, usage.month],
    );
    if (usage.used > usage.limit) fail(`org ${org.id}: used ${usage.used} over the limit ${usage.limit}`);
    if (spent[0].ledger !== spent[0].scans || spent[0].ledger !== usage.used) {
      fail(`org ${org.id}: ledger ${spent[0].ledger}, scans ${spent[0].scans}, pool ${usage.used} disagree`);
    }
    const { rows: changed } = await db.query(
      `SELECT count(*)::int AS n FROM webhook_deliveries WHERE org_id = $1 AND type = 'member.role_changed'`,
      [org.id],
    );
    if (changed[0].n < org.roleChanges) {
      fail(
        `org ${org.id}: ${org.roleChanges} role changes acknowledged, ${changed[0].n} member.role_changed events`,
      );
    }
  }
  const { rows: deliveries } = await db.query('SELECT event_id FROM webhook_deliveries');
  const got = new Map<string, Receipt[]>();
  for (const r of receipts) got.set(r.id, [...(got.get(r.id) ?? []), r]);
  const missing = deliveries.filter((d) => !got.has(d.event_id));
  if (missing.length)
    fail(`${missing.length} of ${deliveries.length} webhook events never reached the receiver`);
  let overlapping = 0;
  let repeated = 0;
  for (const list of got.values()) {
    if (list.length > 1) repeated++;
    const sorted = [...list].sort((a, b) => a.start - b.start);
    for (let i = 1; i < sorted.length; i++) if (sorted[i]!.start < sorted[i - 1]!.end) overlapping++;
  }
  if (overlapping) fail(`${overlapping} webhook events delivered twice at the same time`);
  for (const inst of instances) {
    const before = untouched.get(inst.name);
    if (before === undefined) continue;
    if (inst.pid !== before || inst.starts !== 1) fail(`${inst.name} was restarted`);
    const res = await request(`http://127.0.0.1:${inst.port}`, 'GET', '/api/v1/me', {
      cookie: orgs[0]!.ownerCookie,
    }).catch((err: Error) => ({ status: 0, error: err.message }));
    if (res.status !== 200) {
      fail(`${inst.name} answers /me with ${res.status || 'no answer'} after the faults`);
      process.stdout.write(`    ${inst.name} log tail:\n${inst.log.slice(-8).join('')}\n`);
    }
  }
  process.stdout.write(
    `  checked: ${scans} acknowledged scans, ${invitations} invitations, ${roleChecks} members' roles, ` +
      `${orgs.length} audit chains and pools, ${deliveries.length} webhook events ` +
      `(${receipts.length} receipts, ${repeated} events received more than once, never at the same time)\n`,
  );
  return failures;
}

// ---------- main ----------

function pgCluster(): { version: string; name: string } | null {
  try {
    const version = fs.readdirSync('/etc/postgresql').sort().at(-1);
    return version ? { version, name: 'main' } : null;
  } catch {
    return null;
  }
}

async function main() {
  process.stdout.write(
    `== Load and faults: 3 instances on one PostgreSQL behind a loopback balancer ==\n${machineLine()}\n`,
  );
  process.stdout.write(
    `workload: ${WORKERS} clients, mix ${MIX.map(([op, w]) => `${op} ${w}%`).join(', ')}\n`,
  );
  const database = await createBenchDatabase();
  const receiver = await startReceiver();
  const db = new pg.Client({ connectionString: database.url });
  const instances: Instance[] = [];
  let balancer: Awaited<ReturnType<typeof startBalancer>> | undefined;
  let failed = false;
  try {
    const lbPort = await freePort();
    await startInstances(database.url, `http://127.0.0.1:${lbPort}`, 3, instances);
    balancer = await startBalancer(instances);
    const base = balancer.url;
    const orgs = await setUp(base, receiver.url, WORKERS);
    process.stdout.write(`set up ${orgs.length} orgs, ${WORKERS} members, webhooks to ${receiver.url}\n\n`);

    // Steady state with 1, 2 and 3 instances.
    const rates: number[] = [];
    for (const n of [1, 2, 3]) {
      balancer.use(instances.slice(0, n).map((i) => i.name));
      const samples = await runLoad(base, orgs, SECONDS, n);
      rates.push(samples.filter((s) => s.ok).length / SECONDS);
      process.stdout.write(`${summary(`${n} instance${n > 1 ? 's' : ''}`, samples, SECONDS)}\n`);
      if (samples.some((s) => !s.ok)) process.stdout.write(`  refused or failed: ${statusesOf(samples)}\n`);
    }
    process.stdout.write(
      `scaling: 2 instances ${(rates[1]! / rates[0]!).toFixed(2)}× and 3 instances ${(rates[2]! / rates[0]!).toFixed(2)}× one instance\n\n`,
    );

    // Faults on 3 instances.
    balancer.use([]);
    const untouched = new Map(instances.filter((i) => i.name !== 'i2').map((i) => [i.name, i.pid!]));
    const start = Date.now();
    const marks: Array<{ what: string; at: number }> = [];
    const cluster = pgCluster();
    const faults = (async () => {
      if (FAULTS.has('kill')) {
        await sleep(8000);
        marks.push({ what: 'SIGKILL i2', at: Date.now() });
        instances[1]!.child?.kill('SIGKILL');
        await sleep(8000);
        marks.push({ what: 'i2 started again', at: Date.now() });
        launch(instances[1]!);
      }
      if (FAULTS.has('pg')) {
        if (!cluster) {
          process.stdout.write('  (no local PostgreSQL cluster: the restart is skipped)\n');
          return;
        }
        await sleep(Math.max(0, start + 26_000 - Date.now()));
        marks.push({ what: 'PostgreSQL restart', at: Date.now() });
        execFileSync(
          'pg_ctlcluster',
          ['--skip-systemctl-redirect', cluster.version, cluster.name, 'restart'],
          {
            stdio: 'ignore',
          },
        );
        marks.push({ what: 'PostgreSQL back', at: Date.now() });
      }
    })();
    const samples = await runLoad(base, orgs, FAULT_SECONDS, 9);
    await faults;
    process.stdout.write(`${summary('3 instances with faults', samples, FAULT_SECONDS)}\n`);
    const faultMarks = marks.filter((m) => m.what === 'SIGKILL i2' || m.what === 'PostgreSQL restart');
    faultMarks.forEach((m, i) => {
      const until = faultMarks[i + 1]?.at ?? start + FAULT_SECONDS * 1000;
      const w = faultWindow(samples, m.at, until);
      process.stdout.write(
        `  ${m.what.padEnd(20)} at +${((m.at - start) / 1000).toFixed(1)} s: ${w.errors} errors of ${w.requests} requests, ` +
          `requests succeed again ${(w.recoveredAfterMs / 1000).toFixed(1)} s after (${w.detail})\n`,
      );
    });
    const pgBack = marks.find((m) => m.what === 'PostgreSQL back');
    const pgDown = marks.find((m) => m.what === 'PostgreSQL restart');
    if (pgBack && pgDown)
      process.stdout.write(
        `  (PostgreSQL itself was down ${((pgBack.at - pgDown.at) / 1000).toFixed(1)} s)\n`,
      );

    await db.connect();
    process.stdout.write('\nchecks:\n');
    const failures = await checks(base, db, orgs, receiver.receipts, instances, untouched);
    failed = failures.length > 0;
    process.stdout.write(failed ? `FAILED: ${failures.length} checks\n` : 'all checks passed\n');
  } catch (err) {
    failed = true;
    process.stdout.write(`harness error: ${(err as Error).stack}\n`);
    for (const inst of instances)
      process.stdout.write(`--- ${inst.name} log tail ---\n${inst.log.slice(-20).join('')}\n`);
  } finally {
    await db.end().catch(() => {});
    await balancer?.close();
    for (const inst of instances) {
      inst.child?.kill('SIGTERM');
    }
    await sleep(1500);
    for (const inst of instances) {
      inst.child?.kill('SIGKILL');
      removeDir(inst.dir);
    }
    await receiver.close();
    await dropBenchDatabase(database.name).catch(() => {});
  }
  process.exit(failed ? 1 : 0);
}

await main();
