/**
 * The member list of an organization with 100,000 members, on PostgreSQL: latency of a name/email
 * search page, of the first page, and of the 500th page by cursor (plus a role filter and the
 * inactive filter), through the real HTTP route and as the bare repository query.
 *
 * A fresh database of its own (gatehouse_bench_<random>, dropped at the end) on the server of
 * DATABASE_URL, migrated. Data (seeded, the same on every run): 120,000 users with varied names
 * and emails (first/last-name lists with a skewed surname distribution, several email shapes and
 * domains); one organization with 100,000 current members (varied roles, joined over two years,
 * about a quarter inactive) and 2,000 removed ones; four other organizations with 17,500 members
 * between them. Loaded with multi-row INSERT ... SELECT FROM unnest(...), then ANALYZE.
 *
 * Measured: GET /api/v1/orgs/:orgId/members over loopback HTTP (buildApp, quiet, listening on
 * 127.0.0.1, fetch with keep-alive), signed in as the org's owner with a real session cookie; and
 * listMembers() on the app's own pool (what the handler runs, without HTTP, auth and JSON).
 * Baselines from the same run: `SELECT 1` through the same pool, and GET /healthz over the same
 * HTTP client. SAMPLES samples per case after a warm-up, the cases interleaved round-robin so
 * drift hits them alike; p50/p95/p99 (nearest rank). Any case whose p95 misses the target has its
 * EXPLAIN (ANALYZE, BUFFERS) printed (BENCH_EXPLAIN=all prints every case's).
 *
 *   node --import tsx bench/member-search.ts
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test   (default; only a new database is touched)
 *   BENCH_SAMPLES=300 BENCH_EXPLAIN=all BENCH_KEEP_DB=1 (keeps the database, named in the output)
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { Writable } from 'node:stream';
import { drizzle } from 'drizzle-orm/node-postgres';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { buildApp } from '../src/server/app.ts';
import { loadConfig } from '../src/server/config.ts';
import {
  containsPattern,
  listMembers,
  type MemberFilter,
} from '../src/server/modules/members/members.repository.ts';
import { type Database, type Db, openDatabase } from '../src/server/platform/db/client.ts';
import { migrateDatabase } from '../src/server/platform/db/migrate.ts';
import * as schema from '../src/server/platform/db/schema.ts';
import { decodeCursor } from '../src/server/platform/http/paging.ts';
import { machineLine, prng, removeDir, tempDir } from './lib.ts';
import { ADMIN_URL, admin, assertLoopback } from './pg.ts';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 300);
const WARMUP = 20;
const EXPLAIN_ALL = process.env.BENCH_EXPLAIN === 'all';
/** Keep the database afterwards (for EXPLAIN by hand); it is named in the output. */
const KEEP_DB = process.env.BENCH_KEEP_DB === '1';
const SEED = 7_340_021;
const MEMBERS = 100_000;
const REMOVED = 2_000;
const EXTRA_USERS = 18_000;
const OTHER_ORGS = [10_000, 5_000, 2_000, 500];
const PAGE_SIZE = 50;
const DEEP_PAGE = 500;
const TARGET_P95_MS = 20;
const PASSWORD = 'violet-anchor-meadow-42';
const DAY_MS = 86_400_000;

const random = prng(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

function pickWeighted<T>(items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((sum, [, w]) => sum + w, 0);
  let x = random() * total;
  for (const [item, w] of items) {
    x -= w;
    if (x < 0) return item;
  }
  return items[items.length - 1]![0];
}

/** A version-4-shaped uuid from the seeded generator (ids, hence tie-breaks, are reproducible too). */
function seededUuid(): string {
  const bytes = Array.from({ length: 16 }, () => Math.floor(random() * 256));
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// --- names and emails ----------------------------------------------------------------------------

const FIRST_NAMES =
  `James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard
Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Margaret Mark
Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian
Dorothy George Melissa Timothy Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia
Jacob Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott
Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine Alexander Debra Frank Rachel Patrick
Carolyn Raymond Janet Jack Catherine Dennis Maria Jerry Heather Tyler Diane Aaron Ruth Jose Julie Adam Olivia Nathan
Joyce Henry Virginia Douglas Victoria Zachary Kelly Peter Lauren Kyle Christina Ethan Joan Walter Evelyn Noah Judith
Jeremy Megan Christian Andrea Keith Cheryl Roger Hannah Terry Jacqueline Gerald Martha Harold Gloria Sean Teresa
Austin Ann Carl Sara Arthur Madison Lawrence Frances Dylan Kathryn Jesse Janice Jordan Jean Bryan Abigail Billy
Alice Joe Julia Bruce Judy Gabriel Sophia Logan Grace Albert Denise Willie Amber Alan Doris Juan Marilyn Wayne Danielle
Elijah Beverly Randy Isabella Roy Theresa Vincent Diana Ralph Natalie Eugene Brittany Russell Charlotte Bobby Marie
Mason Kayla Philip Alexis Louis Lori Aiko Hiroshi Yuki Kenji Mei Wei Jun Li Priya Arjun Ananya Rahul Fatima Omar
Aisha Yusuf Leila Hamid Chidi Ngozi Kwame Amara Sven Ingrid Lars Astrid Matteo Giulia Luca Chiara Pierre Camille
Lucas Chloe Mateo Valentina Diego Camila Santiago Lucia Dmitri Olga Ivan Natasha Tomasz Agnieszka Jakub Zofia`
    .split(/\s+/)
    .filter(Boolean);

const LAST_NAMES =
  `Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez
Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis
Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell
Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales
Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson
Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross
Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez
Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant
Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald
Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter
Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose
Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner
Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott
Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman Johnston
Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval Okafor Adeyemi Nakamura Tanaka Suzuki Yamamoto
Kowalski Nowak Novak Horvat Lindqvist Johansson Nielsen Jensen Rossi Russo Ferrari Esposito Bianchi Dubois Laurent
Lefebvre Moreau Schneider Fischer Weber Becker Schulz Ivanov Petrov Sokolov Singh Sharma Gupta Iyer Reddy Khan Ahmed
Hussain Rahman Wang Zhang Liu Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo Lin Ho Chung Park Choi Jung Kang Cho Yoon Mensah
Boateng Owusu Abubakar Ndlovu Dlamini Papadopoulos Haddad Nasser Cohen Levy Friedman Katz Oconnor Obrien Murray
Byrne Kavanagh Gallagher Doyle Quinn MacLeod Fraser Campbell Stewart`
    .split(/\s+/)
    .filter(Boolean);

/** Surnames are skewed: weight 1/(rank + 10) puts the commonest near 2-3 %, the rarest near 0.1 %. */
const SURNAMES: (readonly [string, number])[] = [...new Set(LAST_NAMES)].map((name, rank) => [
  name,
  1 / (rank + 10),
]);

const PERSONAL_DOMAINS: (readonly [string, number])[] = [
  ['gmail.com', 30],
  ['outlook.com', 9],
  ['yahoo.com', 5],
  ['icloud.com', 4],
  ['proton.me', 3],
  ['hotmail.com', 3],
  ['fastmail.com', 1],
];
const COMPANY_DOMAINS: (readonly [string, number])[] = [
  ['northwind-security.com', 30],
  ['eu.northwind-security.com', 6],
  ['contractors.northwind-security.com', 3],
  ['blueharbor.io', 3],
  ['kestrel-labs.dev', 2],
];

interface Person {
  id: string;
  name: string;
  email: string;
}

const usedEmails = new Set<string>();

function person(): Person {
  const first = pick(FIRST_NAMES);
  const last = pickWeighted(SURNAMES);
  const middle = random() < 0.1 ? ` ${String.fromCharCode(65 + Math.floor(random() * 26))}.` : '';
  const f = first.toLowerCase();
  const l = last.toLowerCase();
  const local = pickWeighted<string>([
    [`${f}.${l}`, 40],
    [`${f}${l}`, 12],
    [`${f[0]}${l}`, 15],
    [`${f[0]}.${l}`, 8],
    [`${f}_${l}`, 8],
    [`${f}.${l}${10 + Math.floor(random() * 90)}`, 10],
    [`${l}.${f}`, 7],
  ]);
  const domain = random() < 0.55 ? pickWeighted(COMPANY_DOMAINS) : pickWeighted(PERSONAL_DOMAINS);
  let email = `${local}@${domain}`;
  for (let n = 2; usedEmails.has(email); n++) email = `${local}${n}@${domain}`;
  usedEmails.add(email);
  return { id: seededUuid(), name: `${first}${middle} ${last}`, email };
}

// --- loading -------------------------------------------------------------------------------------

async function insertUsers(pool: pg.Pool, people: Person[]): Promise<void> {
  const BATCH = 10_000;
  for (let start = 0; start < people.length; start += BATCH) {
    const batch = people.slice(start, start + BATCH);
    await pool.query(
      `INSERT INTO users (id, email, name, password_hash)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])`,
      [
        batch.map((p) => p.id),
        batch.map((p) => p.email),
        batch.map((p) => p.name),
        batch.map(() => 'not-a-password-hash'),
      ],
    );
  }
}

interface MembershipRow {
  userId: string;
  roleId: string;
  status: 'active' | 'removed';
  joinedAt: number;
  lastActiveAt: number | null;
  removedAt: number | null;
}

async function insertMemberships(pool: pg.Pool, orgId: string, rows: MembershipRow[]): Promise<void> {
  const BATCH = 10_000;
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  for (let start = 0; start < rows.length; start += BATCH) {
    const batch = rows.slice(start, start + BATCH);
    await pool.query(
      `INSERT INTO memberships (org_id, user_id, role_id, status, joined_at, last_active_at, removed_at)
       SELECT $1::uuid, * FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[])`,
      [
        orgId,
        batch.map((r) => r.userId),
        batch.map((r) => r.roleId),
        batch.map((r) => r.status),
        batch.map((r) => iso(r.joinedAt)),
        batch.map((r) => iso(r.lastActiveAt)),
        batch.map((r) => iso(r.removedAt)),
      ],
    );
  }
}

/** Joined over two years; ~75 % active within 30 days, the rest inactive (old or no activity). */
function membership(userId: string, roleId: string, now: number, removed = false): MembershipRow {
  const joinedAt = now - Math.floor(random() * 730 * DAY_MS) - 60_000;
  const since = now - joinedAt;
  let lastActiveAt: number | null;
  const kind = random();
  if (removed) lastActiveAt = joinedAt + Math.floor(random() * since * 0.5);
  else if (kind < 0.75 || since < 31 * DAY_MS)
    lastActiveAt = now - Math.floor(random() * Math.min(since, 29 * DAY_MS));
  else if (kind < 0.95) lastActiveAt = joinedAt + Math.floor(random() * (since - 31 * DAY_MS));
  else lastActiveAt = null;
  return {
    userId,
    roleId,
    status: removed ? 'removed' : 'active',
    joinedAt,
    lastActiveAt,
    removedAt: removed ? (lastActiveAt ?? joinedAt) + Math.floor(random() * DAY_MS) : null,
  };
}

// --- HTTP ----------------------------------------------------------------------------------------

async function post(url: string, body: unknown, cookie?: string): Promise<Response> {
  // No Origin header: a non-browser client, which the CSRF check lets through.
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(body),
  });
}

interface Page {
  items: { userId: string; name: string; email: string; role: string; status: string }[];
  nextCursor: string | null;
}

// --- statistics ----------------------------------------------------------------------------------

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

interface Stats {
  p50: number;
  p95: number;
  p99: number;
}

function stats(values: readonly number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

const fmtStats = (s: Stats) =>
  `${s.p50.toFixed(2).padStart(7)} ${s.p95.toFixed(2).padStart(7)} ${s.p99.toFixed(2).padStart(7)}`;

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

// --- the run -------------------------------------------------------------------------------------

interface Case {
  label: string;
  /** Query string of the HTTP request (without `?`). */
  query: string;
  filter: MemberFilter;
  after?: { createdAt: Date; id: string };
  /** Current members the filter matches (SQL count), for the table. */
  matches?: number;
  http: number[];
  bare: number[];
}

async function main(): Promise<void> {
  assertLoopback(ADMIN_URL);
  const dbName = `gatehouse_bench_${randomBytes(6).toString('hex')}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  const databaseUrl = url.toString();
  const dataDir = tempDir('member-search');
  await admin(`CREATE DATABASE ${dbName}`);
  let database: Database | undefined;
  let app: FastifyInstance | undefined;
  // The server's own warnings (quiet: warn and above), summarized with the figures.
  const serverWarnings: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        try {
          const entry = JSON.parse(line) as { msg?: string; error?: { message?: string } };
          serverWarnings.push(
            `${entry.msg ?? line}${entry.error?.message ? ` (${entry.error.message})` : ''}`,
          );
        } catch {
          serverWarnings.push(line);
        }
      }
      done();
    },
  });
  try {
    const config = loadConfig({
      DATABASE_URL: databaseUrl,
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
    });
    database = await openDatabase({ databaseUrl, poolSize: config.databasePoolSize });
    await migrateDatabase(database);
    const pool = database.pool!;
    app = await buildApp({ config, database, quiet: true, logStream });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });

    // The owner signs up and creates the organizations through the API.
    const signup = await post(`${base}/api/v1/auth/signup`, {
      email: 'owner@northwind-security.com',
      password: PASSWORD,
      name: 'Olivia Owner',
    });
    if (signup.status !== 201) throw new Error(`sign-up failed: ${signup.status} ${await signup.text()}`);
    const cookie = signup.headers
      .getSetCookie()
      .find((c) => c.startsWith('gatehouse_session='))
      ?.split(';')[0];
    if (!cookie) throw new Error('sign-up answered without a session cookie');
    const orgIds: string[] = [];
    for (const name of [
      'Northwind Security',
      'Blue Harbor',
      'Kestrel Labs',
      'Fjord Analytics',
      'Pine Ridge',
    ]) {
      const created = await post(`${base}/api/v1/orgs`, { name, plan: 'enterprise' }, cookie);
      const body = await created.text();
      if (created.status !== 201) throw new Error(`creating ${name} failed: ${created.status} ${body}`);
      orgIds.push((JSON.parse(body) as { id: string }).id);
    }
    const orgId = orgIds[0]!;
    await pool.query(
      `INSERT INTO roles (org_id, slug, name, permissions) VALUES
         ($1, 'auditor', 'Auditor', ARRAY['findings:read','audit:read','audit:export','compliance:read','members:read']),
         ($1, 'release-manager', 'Release manager', ARRAY['findings:read','scans:read','scans:create','applications:read','applications:manage'])`,
      [orgId],
    );
    const roleRows = (
      await pool.query<{ org_id: string; slug: string; id: string }>('SELECT org_id, slug, id FROM roles')
    ).rows;
    const roleId = (org: string, slug: string) =>
      roleRows.find((r) => r.org_id === org && r.slug === slug)!.id;

    // Users and memberships.
    const loadStarted = performance.now();
    const people = Array.from({ length: MEMBERS + REMOVED + EXTRA_USERS }, person);
    await insertUsers(pool, people);
    const now = Date.now();
    const mainRoles: (readonly [string, number])[] = [
      ['owner', 0.05],
      ['admin', 2],
      ['cyberoper', 10],
      ['developer', 50],
      ['viewer', 32],
      ['auditor', 4],
      ['release-manager', 2],
    ];
    const mainRows = people
      .slice(0, MEMBERS + REMOVED)
      .map((p, i) => membership(p.id, roleId(orgId, pickWeighted(mainRoles)), now, i >= MEMBERS));
    await insertMemberships(pool, orgId, mainRows);
    const otherRoles: (readonly [string, number])[] = [
      ['admin', 3],
      ['cyberoper', 12],
      ['developer', 50],
      ['viewer', 35],
    ];
    for (const [k, size] of OTHER_ORGS.entries()) {
      const other = orgIds[k + 1]!;
      const chosen = new Set<number>();
      while (chosen.size < size) chosen.add(Math.floor(random() * people.length));
      await insertMemberships(
        pool,
        other,
        [...chosen].map((i) => membership(people[i]!.id, roleId(other, pickWeighted(otherRoles)), now)),
      );
    }
    await pool.query('ANALYZE');
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const counts = (
      await pool.query<{ users: number; memberships: number; current: number; inactive: number }>(
        `SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM memberships) AS memberships,
                count(*) FILTER (WHERE status = 'active')::int AS current,
                count(*) FILTER (WHERE status = 'active'
                  AND coalesce(last_active_at, joined_at) < now() - make_interval(days => 30))::int AS inactive
           FROM memberships WHERE org_id = $1`,
        [orgId],
      )
    ).rows[0]!;

    // Search terms, chosen from the generated data by what they match (the same on every run).
    const current = people.slice(0, MEMBERS);
    const matchCount = (q: string) => {
      const needle = q.toLowerCase();
      let n = 0;
      for (const p of current) if (p.name.toLowerCase().includes(needle) || p.email.includes(needle)) n++;
      return n;
    };
    const closest = (candidates: string[], target: number) =>
      candidates
        .map((q) => [q, Math.abs(matchCount(q) - target)] as const)
        .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))[0]![0];
    // A surname that is no part of another one (so its matches are its bearers, and emails).
    const surnameCandidates = [...new Set(LAST_NAMES)].filter(
      (n) => n.length >= 6 && !LAST_NAMES.some((o) => o !== n && o.toLowerCase().includes(n.toLowerCase())),
    );
    const surname = closest(surnameCandidates, MEMBERS * 0.005);
    const fullNames = new Map<string, number>();
    for (const p of current) {
      const name = p.name.replace(/ [A-Z]\. /, ' ');
      fullNames.set(name, (fullNames.get(name) ?? 0) + 1);
    }
    const rareName = closest(
      [...fullNames]
        .filter(([, n]) => n >= 3 && n <= 5)
        .map(([name]) => name)
        .slice(0, 200),
      4,
    );
    const rareBigram = closest(['qz', 'xq', 'zx', 'jq', 'vx', 'qj', 'yq', 'wz'], 10);

    const cases: Case[] = [
      {
        label: `search surname "${surname}"`,
        query: `q=${encodeURIComponent(surname)}`,
        filter: { q: surname },
      },
      { label: 'search part of a domain "northwind"', query: 'q=northwind', filter: { q: 'northwind' } },
      {
        label: `search rare full name "${rareName}"`,
        query: `q=${encodeURIComponent(rareName)}`,
        filter: { q: rareName },
      },
      { label: 'search 2 characters "ma"', query: 'q=ma', filter: { q: 'ma' } },
      {
        label: `search 2 characters, rare "${rareBigram}"`,
        query: `q=${rareBigram}`,
        filter: { q: rareBigram },
      },
      { label: 'first page (no filter)', query: '', filter: {} },
      { label: `page ${DEEP_PAGE} by cursor (no filter)`, query: '', filter: {} },
      { label: 'role=admin, first page', query: 'role=admin', filter: { roleId: roleId(orgId, 'admin') } },
      {
        label: 'status=inactive, first page',
        query: 'status=inactive',
        filter: { status: 'inactive' as const },
      },
    ].map((c) => ({ ...c, http: [], bare: [] }));
    const deep = cases[6]!;

    // Matches per case (current members, as the list counts them).
    for (const c of cases) {
      const conditions = [`m.org_id = $1`, `m.status = 'active'`];
      const params: unknown[] = [orgId];
      if (c.filter.q) {
        // The list's own rule: one or two characters match the start of a name or email.
        params.push(c.filter.q.length < 3 ? `${c.filter.q.toLowerCase()}%` : containsPattern(c.filter.q));
        conditions.push(`(lower(u.name) LIKE $2 OR lower(u.email) LIKE $2)`);
      }
      if (c.filter.roleId) {
        params.push(c.filter.roleId);
        conditions.push(`m.role_id = $2`);
      }
      if (c.filter.status === 'inactive')
        conditions.push(`coalesce(m.last_active_at, m.joined_at) < now() - make_interval(days => 30)`);
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM memberships m JOIN users u ON u.id = m.user_id WHERE ${conditions.join(' AND ')}`,
        params,
      );
      c.matches = rows[0]!.n;
    }

    const membersUrl = `${base}/api/v1/orgs/${orgId}/members`;
    const getPage = async (query: string): Promise<Page> => {
      const response = await fetch(`${membersUrl}?limit=${PAGE_SIZE}${query ? `&${query}` : ''}`, {
        headers: { cookie },
      });
      const text = await response.text();
      if (response.status !== 200)
        throw new Error(`GET members?${query} answered ${response.status}: ${text}`);
      return JSON.parse(text) as Page;
    };

    // Walk the cursors once to page DEEP_PAGE.
    const walkStarted = performance.now();
    let cursor: string | null = null;
    for (let page = 1; page < DEEP_PAGE; page++) {
      const result: Page = await getPage(cursor ? `cursor=${cursor}` : '');
      if (!result.nextCursor) throw new Error(`the list ended at page ${page}`);
      cursor = result.nextCursor;
    }
    const walkSeconds = (performance.now() - walkStarted) / 1000;
    deep.query = `cursor=${cursor}`;
    deep.after = decodeCursor(cursor!);

    // Sanity: every case answers 200, the HTTP page is the bare query's page, search results match.
    const bareRows = (c: Case) =>
      listMembers(database!.db, orgId, c.filter, {
        limit: PAGE_SIZE + 1,
        ...(c.after ? { after: c.after } : {}),
      });
    for (const c of cases) {
      const page = await getPage(c.query);
      const rows = (await bareRows(c)).slice(0, PAGE_SIZE);
      const same = page.items.map((i) => i.userId).join() === rows.map((r) => r.userId).join();
      if (!same) throw new Error(`${c.label}: the HTTP page and listMembers differ`);
      if (page.items.length !== Math.min(PAGE_SIZE, c.matches!) && c !== deep)
        throw new Error(`${c.label}: ${page.items.length} items for ${c.matches} matches`);
      const needle = c.filter.q?.toLowerCase();
      if (
        needle &&
        !page.items.every((i) => i.name.toLowerCase().includes(needle) || i.email.includes(needle))
      )
        throw new Error(`${c.label}: an item does not match`);
    }

    // Timing: warm-up, then SAMPLES rounds, each case once per round, HTTP then bare.
    const select1: number[] = [];
    const healthz: number[] = [];
    const timeHttp = async (path: string, headers: Record<string, string>) => {
      const started = performance.now();
      const response = await fetch(`${base}${path}`, { headers });
      await response.arrayBuffer();
      const elapsed = performance.now() - started;
      if (response.status !== 200) throw new Error(`${path} answered ${response.status}`);
      return elapsed;
    };
    const casePath = (c: Case) =>
      `/api/v1/orgs/${orgId}/members?limit=${PAGE_SIZE}${c.query ? `&${c.query}` : ''}`;
    const loadBefore = loadLine();
    for (let round = -WARMUP; round < SAMPLES; round++) {
      let started = performance.now();
      await pool.query('SELECT 1');
      const s1 = performance.now() - started;
      const hz = await timeHttp('/healthz', {});
      if (round >= 0) {
        select1.push(s1);
        healthz.push(hz);
      }
      for (const c of cases) {
        const http = await timeHttp(casePath(c), { cookie });
        started = performance.now();
        await bareRows(c);
        const bare = performance.now() - started;
        if (round >= 0) {
          c.http.push(http);
          c.bare.push(bare);
        }
      }
    }
    const loadAfter = loadLine();
    const busHealthy = app.gatehouse.bus.healthy;

    process.stdout.write('== Member list with 100,000 members on PostgreSQL: search and pages ==\n');
    process.stdout.write(`${machineLine()}\n`);
    const version = (await pool.query<{ server_version: string }>('SHOW server_version')).rows[0]!
      .server_version;
    process.stdout.write(
      `PostgreSQL ${version}, database ${dbName} (fresh, ${KEEP_DB ? 'kept' : 'dropped after'}); pool of ${config.databasePoolSize}\n`,
    );
    process.stdout.write(
      `data: ${counts.users.toLocaleString('en-US')} users, ${counts.memberships.toLocaleString('en-US')} memberships in ${orgIds.length} orgs; the org: ${counts.current.toLocaleString('en-US')} current members (${counts.inactive.toLocaleString('en-US')} inactive) + ${REMOVED.toLocaleString('en-US')} removed; loaded + ANALYZE in ${loadSeconds.toFixed(1)} s; seed ${SEED}\n`,
    );
    process.stdout.write(
      `walked ${DEEP_PAGE - 1} pages of ${PAGE_SIZE} by cursor over HTTP in ${walkSeconds.toFixed(1)} s (${((walkSeconds * 1000) / (DEEP_PAGE - 1)).toFixed(1)} ms/page)\n`,
    );
    process.stdout.write(
      `samples: ${SAMPLES} per case after ${WARMUP} warm-up rounds, cases interleaved; HTTP = fetch over loopback with the owner's session cookie, limit=${PAGE_SIZE}; bare = listMembers(db, org, filter, {limit: ${PAGE_SIZE + 1}}) on the app's pool\n`,
    );
    process.stdout.write(`load before: ${loadBefore}\nload after:  ${loadAfter}\n`);
    process.stdout.write(
      `server warnings during the run: ${serverWarnings.length}${serverWarnings.length ? ` (${[...new Set(serverWarnings)].slice(0, 3).join('; ')})` : ''}; cache bus healthy at the end: ${busHealthy ? 'yes' : 'NO'}\n\n`,
    );
    process.stdout.write(
      `${'case'.padEnd(44)} ${'matches'.padStart(8)}   ${'HTTP p50     p95     p99'.padStart(24)}   ${'bare p50     p95     p99'.padStart(24)}  target p95 <= ${TARGET_P95_MS} ms (HTTP)\n`,
    );
    process.stdout.write(
      `${'baseline: SELECT 1 (same pool)'.padEnd(44)} ${''.padStart(8)}   ${''.padStart(24)}   ${fmtStats(stats(select1)).padStart(24)}\n`,
    );
    process.stdout.write(
      `${'baseline: GET /healthz (same client)'.padEnd(44)} ${''.padStart(8)}   ${fmtStats(stats(healthz)).padStart(24)}\n`,
    );
    const missed: Case[] = [];
    for (const c of cases) {
      const http = stats(c.http);
      const bare = stats(c.bare);
      const ok = http.p95 <= TARGET_P95_MS;
      if (!ok) missed.push(c);
      const matches =
        c === deep
          ? `#${((DEEP_PAGE - 1) * PAGE_SIZE + 1).toLocaleString('en-US')}+`
          : c.matches!.toLocaleString('en-US');
      process.stdout.write(
        `${c.label.padEnd(44)} ${matches.padStart(8)}   ${fmtStats(http).padStart(24)}   ${fmtStats(bare).padStart(24)}  ${ok ? 'MET' : 'MISSED'}\n`,
      );
    }
    process.stdout.write('(ms; matches = current members the filter matches; page 500 starts at that row)\n');
    process.stdout.write(
      `target: p95 <= ${TARGET_P95_MS} ms for every case -> ${missed.length === 0 ? 'MET' : `MISSED by ${missed.length} case(s): ${missed.map((c) => c.label).join('; ')}`}\n`,
    );

    // Plans: the exact SQL listMembers sends, captured through a logging drizzle on the same pool.
    const explainCases = EXPLAIN_ALL ? cases : missed;
    if (explainCases.length > 0) {
      let captured: { text: string; params: unknown[] } | undefined;
      const logging = drizzle({
        client: pool,
        schema,
        logger: { logQuery: (text, params) => (captured = { text, params }) },
      }) as unknown as Db;
      for (const c of explainCases) {
        captured = undefined;
        await listMembers(logging, orgId, c.filter, {
          limit: PAGE_SIZE + 1,
          ...(c.after ? { after: c.after } : {}),
        });
        if (!captured) continue;
        const { text, params } = captured as { text: string; params: unknown[] };
        const plan = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, params);
        process.stdout.write(`\n-- EXPLAIN (ANALYZE, BUFFERS): ${c.label}\n`);
        process.stdout.write(`-- ${text.replace(/\s+/g, ' ')}\n`);
        process.stdout.write(`-- params ${JSON.stringify(params)}\n`);
        process.stdout.write(`${plan.rows.map((r) => r['QUERY PLAN']).join('\n')}\n`);
      }
    }
  } finally {
    await app?.close().catch(() => {});
    await database?.close().catch(() => {});
    if (KEEP_DB) process.stdout.write(`kept database ${dbName} (BENCH_KEEP_DB): drop it when done\n`);
    else await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    removeDir(dataDir);
  }
}

await main();
