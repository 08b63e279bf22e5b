/**
 * SCIM provisioning, as an identity provider drives it.
 *  (a) Users created by POST /scim/v2/Users, 8 concurrent (an IdP's import): users/s and p99;
 *      baseline in the same run: GET /scim/v2/ServiceProviderConfig with the same token and
 *      concurrency (the token check and the request log, no provisioning).
 *  (b) A filtered lookup (`userName eq`, what Okta and Entra send before creating anyone) p95 in
 *      an org of BENCH_SCIM_ORG_USERS (default 100,000) SCIM users, the bulk seeded in SQL;
 *      baseline: the same lookup in the org of (a).
 *
 *   node --import tsx bench/scim.ts
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/scim.ts
 */
import os from 'node:os';
import { sql } from 'drizzle-orm';
import { call, machineLine, ms, percentile } from './lib.ts';
import { withBenchGatehouse } from './server.ts';

const POSTS = Number(process.env.BENCH_SCIM_POSTS ?? 10_000);
const CONCURRENCY = 8;
const ORG_USERS = Number(process.env.BENCH_SCIM_ORG_USERS ?? 100_000);
const LOOKUPS = 300;

const postgres = Boolean(process.env.DATABASE_URL);
console.log(machineLine());

async function scim(base: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { 'content-type': 'application/scim+json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Runs `count` requests, `CONCURRENCY` at a time; each one's latency and the whole rate. */
async function pool(count: number, one: (i: number) => Promise<number>, expected: number) {
  const times: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t0 = performance.now();
        const status = await one(i);
        times.push(performance.now() - t0);
        if (status !== expected) throw new Error(`request ${i} answered ${status}`);
      }
    }),
  );
  return { perSecond: count / ((performance.now() - started) / 1000), times };
}

async function orgWithToken(base: string, cookie: string, name: string) {
  const org = JSON.parse(
    (await call(base, 'POST', '/api/v1/orgs', { name, plan: 'enterprise' }, cookie)).text,
  );
  const res = await call(base, 'POST', `/api/v1/orgs/${org.id}/scim-tokens`, { name: 'bench' }, cookie);
  if (res.status !== 201) throw new Error(`SCIM token: ${res.status} ${res.text}`);
  return { orgId: org.id as string, token: JSON.parse(res.text).token as string };
}

const lookup = (base: string, token: string, userName: string) =>
  scim(base, token, 'GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);

await withBenchGatehouse(
  'scim',
  { postgres, env: { SIGNUP_MAX_PER_IP: '100000' } },
  async ({ server, database }) => {
    const base = server.url;
    console.log(
      `server on ${database}; load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    const owner = await call(base, 'POST', '/api/v1/auth/signup', {
      email: 'owner@scim-bench.example',
      password: 'violet-anchor-meadow-42',
      name: 'Bench Owner',
    });
    const cookie = owner.cookie!;
    const a = await orgWithToken(base, cookie, 'SCIM bench');

    const baseline = await pool(
      POSTS,
      () => scim(base, a.token, 'GET', '/scim/v2/ServiceProviderConfig'),
      200,
    );
    const posts = await pool(
      POSTS,
      (i) =>
        scim(base, a.token, 'POST', '/scim/v2/Users', {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: `person-${i}@scim-bench.example`,
          name: { givenName: 'Person', familyName: String(i) },
          emails: [{ value: `person-${i}@scim-bench.example`, type: 'work', primary: true }],
          active: true,
        }),
      201,
    );
    console.log(
      `(a) SCIM POST /Users, ${CONCURRENCY} concurrent   ${posts.perSecond.toFixed(0)} users/s, p99 ${ms(percentile(posts.times, 99), 1)} (${POSTS} users)`,
    );
    console.log(
      `    baseline GET ServiceProviderConfig ${baseline.perSecond.toFixed(0)} requests/s, p99 ${ms(percentile(baseline.times, 99), 1)}`,
    );

    // (b) A large org, seeded in SQL: accounts, memberships and SCIM users.
    const b = await orgWithToken(base, cookie, 'SCIM bench large');
    const db = server.database.db;
    const seeded = performance.now();
    for (let from = 0; from < ORG_USERS; from += 10_000) {
      const to = Math.min(ORG_USERS, from + 10_000) - 1;
      await db.execute(sql`
        WITH made AS (
          INSERT INTO users (email, name, password_hash, email_verified_at)
          SELECT 'big-' || g || '@scim-bench.example', 'Big ' || g, '!sso', now()
          FROM generate_series(${from}::int, ${to}::int) AS g
          RETURNING id, email
        ), joined AS (
          INSERT INTO memberships (org_id, user_id, role_id)
          SELECT ${b.orgId}::uuid, made.id, (SELECT id FROM roles WHERE org_id = ${b.orgId}::uuid AND slug = 'viewer')
          FROM made RETURNING user_id
        )
        INSERT INTO scim_users (org_id, user_id, user_name, active, emails)
        SELECT ${b.orgId}::uuid, made.id, made.email, true,
               jsonb_build_array(jsonb_build_object('value', made.email, 'type', 'work', 'primary', true))
        FROM made`);
    }
    for (const table of ['users', 'memberships', 'scim_users']) await db.execute(sql.raw(`ANALYZE ${table}`));
    console.log(
      `    seeded ${ORG_USERS} SCIM users in ${((performance.now() - seeded) / 1000).toFixed(0)} s`,
    );
    const big: number[] = [];
    const small: number[] = [];
    for (let i = 0; i < LOOKUPS; i++) {
      let t0 = performance.now();
      if ((await lookup(base, b.token, `big-${(i * 7919) % ORG_USERS}@scim-bench.example`)) !== 200) {
        throw new Error('lookup failed');
      }
      big.push(performance.now() - t0);
      t0 = performance.now();
      await lookup(base, a.token, `person-${(i * 31) % POSTS}@scim-bench.example`);
      small.push(performance.now() - t0);
    }
    console.log(
      `(b) filtered lookup (userName eq) in ${ORG_USERS} users  p50 ${ms(percentile(big, 50), 1)} / p95 ${ms(percentile(big, 95), 1)}`,
    );
    console.log(
      `    baseline in ${POSTS} users                p50 ${ms(percentile(small, 50), 1)} / p95 ${ms(percentile(small, 95), 1)}`,
    );
  },
);
