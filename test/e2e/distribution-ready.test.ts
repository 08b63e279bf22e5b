import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, queryRows, type TestDatabase } from '../support/database.ts';

/**
 * Readiness for a sharded PostgreSQL (Citus), read from the migrated schema's catalog. Distributed
 * by `org_id`, a table's every primary key and unique index must include `org_id`: Citus enforces
 * uniqueness only within a shard, and refuses to distribute a table whose unique indexes leave the
 * distribution column out. Every table is accounted for: distributed by `org_id`, kept whole on
 * every node (a reference table: account-level and catalog data), or one of the exceptions below
 * with the reason and what Citus would make of it.
 *
 * Migration 0021 gave every such key `org_id` (primary keys on `id` alone became `(org_id, id)`),
 * and the tables that reached their organization through a parent the column itself. The test
 * fails when a new table, index or foreign key leaves `org_id` out without a reason below.
 */

/** Unique indexes without `org_id` on tables that have it, kept on purpose. */
const EXCEPTIONS: Record<string, string> = {
  // Credentials looked up before the org is known (a bearer token, an invitation or join link, a
  // SCIM token): the hash is the lookup key. Under Citus: a reference table `token_hash → org_id`
  // (or the hash sent with an org prefix) routes the lookup; uniqueness across orgs rests on
  // 256-bit randomness, which a per-shard unique index cannot check anyway.
  'api_tokens.api_tokens_token_hash_key': 'token looked up by its hash alone',
  'invitations.invitations_token_hash_key': 'invitation link looked up by its hash alone',
  'join_links.join_links_token_hash_key': 'share link looked up by its hash alone',
  'scim_tokens.scim_tokens_hash_key': 'SCIM token looked up by its hash alone',
  // Global by product rule: one organization claims an email domain for SSO discovery. Citus: a
  // reference table (small, read on every "Sign in with SSO").
  'sso_domains.sso_domains_pkey': 'a domain belongs to one organization installation-wide',
  // The payment provider's event id is global and the event arrives before its org is known
  // (replay protection). Citus: a reference or coordinator-local table; org_id is an attribute.
  'billing_provider_events.billing_provider_events_pkey': "keyed by the provider's event id",
  // The work queue: org_id is nullable (mail to a person has none), claimed with SKIP LOCKED across
  // orgs and deduplicated by a global key. Citus: a coordinator-local table (or distributed by id
  // with the worker claiming per shard); never colocated with org data.
  'outbox_jobs.outbox_jobs_pkey': 'the installation-wide job queue',
  'outbox_jobs.outbox_jobs_dedupe_key_idx': 'the installation-wide job queue',
  // A member's notifications, deduplicated per person across orgs: account-level by nature.
  // Citus: distributed by user_id (colocated with the account tables) rather than by org.
  'notifications.notifications_user_dedupe_key': "deduplicated per person, across the person's orgs",
  'notifications.notifications_pkey': 'keyed by (user_id, id), with the dedupe key, for the same reason',
};

/** Tables without `org_id`, each with what Citus would make of it. */
const WITHOUT_ORG_ID: Record<string, string> = {
  // Account-level: a person's own data, across their organizations. Reference tables (replicated
  // to every node, joinable with any shard); the write-heavy ones (sessions, login_attempts,
  // webauthn_challenges) could instead stay local to the coordinator.
  users: 'reference',
  sessions: 'reference',
  account_tokens: 'reference',
  passkeys: 'reference',
  recovery_codes: 'reference',
  trusted_devices: 'reference',
  webauthn_challenges: 'reference',
  notification_preferences: 'reference',
  login_attempts: 'reference',
  // Installation-wide catalogs and counters, small.
  module_costs: 'reference',
  audit_keys: 'reference',
  invoice_sequence: 'reference',
  // The organization itself: distributed by its id, the value every org table's org_id holds.
  organizations: 'distributed by id',
  outbox_attempts: 'coordinator-local with outbox_jobs',
  // Audit chains are per org and per user (chain_id is the org's or the user's id): an org's
  // chain could be distributed by chain_id colocated with organizations; a user's chain then lives
  // on the shard its id hashes to, which Citus allows (the chain is read alone).
  audit_chains: 'distributed by chain_id',
  audit_events: 'distributed by chain_id',
  audit_checkpoints: 'distributed by chain_id',
};

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.destroy();
});

async function tables(): Promise<{ name: string; hasOrgId: boolean }[]> {
  return queryRows<{ name: string; hasOrgId: boolean }>(
    db.database.db,
    sql`SELECT t.table_name AS "name",
               EXISTS (SELECT 1 FROM information_schema.columns c
                        WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name
                          AND c.column_name = 'org_id') AS "hasOrgId"
          FROM information_schema.tables t
         WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE'
         ORDER BY 1`,
  );
}

/** Primary keys and unique indexes of tables with org_id that leave it out (`table.index`). */
async function uniqueWithoutOrgId(): Promise<string[]> {
  const rows = await queryRows<{ name: string }>(
    db.database.db,
    sql`SELECT t.relname || '.' || i.relname AS "name"
          FROM pg_index ix
          JOIN pg_class t ON t.oid = ix.indrelid
          JOIN pg_class i ON i.oid = ix.indexrelid
          JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = 'public' AND ix.indisunique
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = 'org_id' AND NOT a.attisdropped)
           AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                            WHERE a.attrelid = t.oid AND a.attname = 'org_id' AND a.attnum = ANY (ix.indkey))
         ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

describe('the schema, distributed by org_id (Citus)', () => {
  it('has org_id in every unique index of the tables that have it, but for the listed exceptions', async () => {
    const gaps = await uniqueWithoutOrgId();
    for (const name of Object.keys(EXCEPTIONS)) {
      expect(gaps, `exception ${name} no longer exists: strike it`).toContain(name);
    }
    expect(gaps.filter((g) => !(g in EXCEPTIONS))).toEqual([]);
  });

  it('accounts for every table without org_id: reference, or distributed by another key', async () => {
    const all = await tables();
    const without = all.filter((t) => !t.hasOrgId).map((t) => t.name);
    expect(without.sort()).toEqual(Object.keys(WITHOUT_ORG_ID).sort());
    // Every table with org_id is named nowhere above as a reference table.
    const references = Object.entries(WITHOUT_ORG_ID)
      .filter(([, how]) => how === 'reference')
      .map(([name]) => name);
    expect(all.filter((t) => t.hasOrgId && references.includes(t.name))).toEqual([]);
  });

  it('has org_id in every foreign key between org tables', async () => {
    // Under Citus a foreign key between distributed tables must include the distribution column
    // (to a reference table it may be anything).
    const rows = await queryRows<{ name: string }>(
      db.database.db,
      sql`SELECT c.conrelid::regclass::text || ' -> ' || c.confrelid::regclass::text AS "name"
            FROM pg_constraint c
           WHERE c.contype = 'f'
             AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attname = 'org_id')
             AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.confrelid AND a.attname = 'org_id')
             AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                              WHERE a.attrelid = c.conrelid AND a.attname = 'org_id' AND a.attnum = ANY (c.conkey))
           ORDER BY 1`,
    );
    expect(rows.map((r) => r.name)).toEqual([]);
  });
});
