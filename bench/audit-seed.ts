/**
 * Seeding for the audit benchmarks: appends entries to an org's chain straight in PostgreSQL,
 * each one exactly what `AuditLog.append` would have written (same fields, canonical hash,
 * `prevHash` links, the server key's authenticator).
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { entryHash, type UnhashedEntry } from '../src/server/platform/audit/entry.ts';
import { entryMac, loadSigningKey, type SigningKey } from '../src/server/platform/audit/keys.ts';
import { call } from './lib.ts';

/** Rows per INSERT while seeding (one JSON document each, unpacked by PostgreSQL). */
const SEED_BATCH = 5_000;

const USER_AGENTS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0.0.0',
  'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0 Ubuntu',
  'gatehouse-terraform-provider/1.4.2 (+https://registry.terraform.io) go-http/1.1',
];
const ROLES = ['viewer', 'developer', 'admin', 'billing'];

/** The change an entry records: a few kinds, with before/after shaped as commands write them. */
function change(i: number) {
  const n = (i * 7919) % 100_003;
  const role = ROLES[n % 4]!;
  switch (i % 4) {
    case 0:
      return {
        action: 'member.role_changed',
        target: { type: 'user', id: randomUUID() },
        before: { role, email: `m${n}@acme.example` },
        after: { role: ROLES[(n + 1) % 4]!, email: `m${n}@acme.example` },
      };
    case 1:
      return {
        action: 'member.invited',
        target: { type: 'invitation', id: randomUUID() },
        before: null,
        after: { email: `h${n}@acme.example`, role, expiresAt: '2026-07-01T12:00:00.000Z' },
      };
    case 2:
      return {
        action: 'api_token.created',
        target: { type: 'api_token', id: randomUUID() },
        before: null,
        after: { name: `ci-deploy-${n}`, scopes: ['audit:read'], expiresAt: '2026-12-31T00:00:00.000Z' },
      };
    default:
      return {
        action: 'sso.connection_updated',
        target: { type: 'sso_connection', id: randomUUID() },
        before: { enabled: false, protocol: 'oidc' },
        after: { enabled: true, protocol: 'oidc' },
      };
  }
}

/**
 * Appends `count` entries to an org's chain in one transaction, computed as `AuditLog.append`
 * computes them. The chain's head row is locked first (as `append` locks it), so nothing else can
 * write to the chain meanwhile; times run from the head's time to now, never backwards.
 */
export async function seedChain(
  pool: pg.Pool,
  key: SigningKey,
  orgId: string,
  actor: { id: string; email: string },
  count: number,
): Promise<{ headSeq: number; seconds: number; indexSeconds: number; indexes: number }> {
  const started = performance.now();
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ head_seq: number; head_hash: string; head_at: Date }>(
      'SELECT head_seq, head_hash, head_at FROM audit_chains WHERE chain_id = $1 FOR UPDATE',
      [orgId],
    );
    const head = rows[0];
    if (!head) throw new Error('the org has no audit chain yet');
    // The secondary indexes are dropped for the load and rebuilt from their own definitions
    // before commit (several times faster than maintaining them row by row); the primary key
    // stays, so a sequence number written twice still fails.
    const { rows: indexes } = await client.query<{ name: string; definition: string }>(
      `SELECT indexname AS name, indexdef AS definition FROM pg_indexes
        WHERE schemaname = current_schema() AND tablename = 'audit_events'
          AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'audit_events'::regclass)`,
    );
    for (const index of indexes) await client.query(`DROP INDEX "${index.name}"`);
    const fromMs = head.head_at.getTime();
    const span = Math.max(0, Date.now() - fromMs);
    let prevHash = head.head_hash;
    let seq = head.head_seq;
    let at = head.head_at;
    // One INSERT in flight while the next batch is computed: PostgreSQL and JS overlap.
    let inFlight: Promise<unknown> | undefined;
    for (let done = 0; done < count; ) {
      const size = Math.min(SEED_BATCH, count - done);
      const batch: unknown[] = [];
      for (let k = 0; k < size; k++) {
        const i = done + k;
        seq++;
        at = new Date(fromMs + Math.floor((span * (i + 1)) / count));
        const c = change(i);
        const occurredAt = at.toISOString();
        const unhashed: UnhashedEntry = {
          id: randomUUID(),
          orgId,
          seq,
          occurredAt,
          actor: { type: 'user', id: actor.id, email: actor.email },
          action: c.action,
          target: c.target,
          before: c.before,
          after: c.after,
          ip: `198.51.100.${(i % 250) + 1}`,
          userAgent: USER_AGENTS[i % USER_AGENTS.length]!,
          requestId: randomUUID(),
          prevHash,
        };
        const hash = entryHash(unhashed);
        batch.push({
          chain_id: orgId,
          seq,
          id: unhashed.id,
          occurred_at: occurredAt,
          actor_type: 'user',
          actor_id: actor.id,
          actor_email: actor.email,
          action: c.action,
          target_type: c.target.type,
          target_id: c.target.id,
          before: c.before,
          after: c.after,
          ip: unhashed.ip,
          user_agent: unhashed.userAgent,
          request_id: unhashed.requestId,
          prev_hash: prevHash,
          hash,
          mac: entryMac(key, hash),
          mac_key_id: key.keyId,
        });
        prevHash = hash;
      }
      await inFlight;
      inFlight = client.query(
        'INSERT INTO audit_events SELECT * FROM json_populate_recordset(NULL::audit_events, $1::json)',
        [JSON.stringify(batch)],
      );
      done += size;
    }
    await inFlight;
    const loaded = performance.now();
    await client.query("SET LOCAL maintenance_work_mem = '256MB'");
    for (const index of indexes) await client.query(index.definition);
    const indexSeconds = (performance.now() - loaded) / 1000;
    await client.query(
      'UPDATE audit_chains SET head_seq = $2, head_hash = $3, head_at = $4 WHERE chain_id = $1',
      [orgId, seq, prevHash, at],
    );
    await client.query('COMMIT');
    return {
      headSeq: seq,
      seconds: (performance.now() - started) / 1000,
      indexSeconds,
      indexes: indexes.length,
    };
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Signs an owner up on the server under test (owner@bench.test), creates an Enterprise org and
 * appends `count` entries to its log, written under the server's own key (generated in its data
 * folder at start) as if it had written them. The owner's session cookie, the org and the seeding.
 */
export async function orgWithLongLog(
  base: string,
  pool: pg.Pool,
  dataDir: string,
  orgName: string,
  count: number,
) {
  const email = 'owner@bench.test';
  const signup = await call(base, 'POST', '/api/v1/auth/signup', {
    email,
    password: 'violet-anchor-meadow-42',
    name: 'Owner',
  });
  if (signup.status !== 201 || !signup.cookie) throw new Error(`sign-up: ${signup.status} ${signup.text}`);
  const cookie = signup.cookie;
  const org = await call(base, 'POST', '/api/v1/orgs', { name: orgName, plan: 'enterprise' }, cookie);
  if (org.status !== 201) throw new Error(`org: ${org.status} ${org.text}`);
  const orgId = (JSON.parse(org.text) as { id: string }).id;
  const { rows: owners } = await pool.query<{ id: string }>('SELECT id FROM users WHERE email = $1', [email]);
  const key = loadSigningKey({ dataDir });
  const seeded = await seedChain(pool, key, orgId, { id: owners[0]!.id, email }, count);
  return { cookie, orgId, seeded };
}
