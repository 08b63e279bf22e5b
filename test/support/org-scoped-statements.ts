import { sql } from 'drizzle-orm';
import type { Database } from '../../src/server/platform/db/client.ts';
import { queryRows } from './database.ts';
import { tablesOf } from './statement-capture.ts';

/**
 * Statements that touch an organization's tables without naming `org_id`, for the check that
 * the schema could be distributed by organization (see README, "Past one PostgreSQL"): under
 * Citus such a statement goes to every shard. Allowed, each for its reason:
 */
const ALLOWED: Array<{ why: string; test: (statement: string) => boolean }> = [
  {
    why: 'credentials looked up by their hash before the organization is known (routed by a reference lookup under Citus)',
    test: (s) => /"?(token_hash|hash)"? = \$\d/.test(s) && /^select/i.test(s),
  },
  {
    why: 'retention sweeps over every organization by an indexed time: background work, run on every shard in parallel',
    test: (s) => /^delete from/i.test(s) && /(expires_at|created_at)"? < (now\(\)|\$\d)/i.test(s),
  },
  {
    why: "a person's own tokens across their organizations (account-level)",
    test: (s) => /^select count\(\*\)::int from "api_tokens" where \(\("api_tokens"."user_id" = \$1/i.test(s),
  },
];

/** Tables without which a statement needs no organization: the queue, global or account data. */
const NOT_ORG_TABLES = new Set(['outbox_jobs', 'billing_provider_events', 'organizations']);

export async function unscopedStatements(db: Database['db'], statements: Iterable<string>) {
  const rows = await queryRows<{ table_name: string }>(
    db,
    sql`SELECT DISTINCT table_name FROM information_schema.columns
         WHERE table_schema = 'public' AND column_name = 'org_id'`,
  );
  const orgTables = new Set(rows.map((r) => r.table_name).filter((t) => !NOT_ORG_TABLES.has(t)));
  let checked = 0;
  const unscoped: string[] = [];
  for (const statement of statements) {
    const touched = tablesOf(statement).filter((t) => orgTables.has(t));
    if (touched.length === 0) continue;
    checked++;
    if (/\borg_id\b/.test(statement)) continue;
    if (ALLOWED.some((a) => a.test(statement))) continue;
    unscoped.push(`[${touched.join(',')}] ${statement.slice(0, 300)}`);
  }
  return { checked, unscoped: unscoped.sort() };
}
