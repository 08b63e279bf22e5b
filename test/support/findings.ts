import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { queryRows } from './database.ts';

export type Severity = 'critical' | 'high' | 'medium' | 'low';
export type FindingStatus = 'open' | 'triaged' | 'false_positive' | 'mitigated' | 'resolved';

export interface SeedFinding {
  severity?: Severity;
  status?: FindingStatus;
  title?: string;
  ruleId?: string;
  path?: string;
  assigneeId?: string | null;
  message?: string;
  /** Seconds before now it was last seen (default: the finding's index, so the first is newest). */
  secondsAgo?: number;
}

/**
 * An application of the org, written straight to the database: findings belong to one, and the
 * applications API is not what these tests are about.
 */
export async function seedApplication(app: FastifyInstance, orgId: string, name?: string): Promise<string> {
  const [row] = await queryRows<{ id: string }>(
    app.gatehouse.database.db,
    sql`INSERT INTO applications (org_id, name) VALUES (${orgId}, ${name ?? `app-${randomBytes(4).toString('hex')}`})
        RETURNING id`,
  );
  return row!.id;
}

/**
 * Findings of an application, written straight to the database as SARIF ingestion would leave
 * them. Returns their ids in the order given; the first given is the most recently seen.
 */
export async function seedFindings(
  app: FastifyInstance,
  orgId: string,
  applicationId: string,
  specs: readonly SeedFinding[],
): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, spec] of specs.entries()) {
    const ago = spec.secondsAgo ?? i;
    const path = spec.path ?? `src/file-${i}.ts`;
    const [row] = await queryRows<{ id: string }>(
      app.gatehouse.database.db,
      sql`INSERT INTO findings (org_id, application_id, fingerprint, rule_id, title, message, severity,
            status, assignee_id, location, tool, first_seen_at, last_seen_at, resolved_at)
          VALUES (${orgId}, ${applicationId}, ${`fp-${randomBytes(8).toString('hex')}`},
            ${spec.ruleId ?? `rule-${i}`}, ${spec.title ?? `Finding ${i}`}, ${spec.message ?? null},
            ${spec.severity ?? 'medium'}, ${spec.status ?? 'open'}, ${spec.assigneeId ?? null},
            ${JSON.stringify({ path, startLine: i + 1 })}::jsonb, 'semgrep',
            now() - make_interval(secs => ${ago + 3600}), now() - make_interval(secs => ${ago}),
            ${spec.status === 'resolved' ? sql`now()` : null})
          RETURNING id`,
    );
    ids.push(row!.id);
  }
  return ids;
}

/** A scan of the application that saw the findings (for a finding's "seen in" list). */
export async function seedScan(
  app: FastifyInstance,
  orgId: string,
  applicationId: string,
  findingIds: readonly string[],
): Promise<string> {
  const db = app.gatehouse.database.db;
  const [scan] = await queryRows<{ id: string }>(
    db,
    sql`INSERT INTO scans (org_id, application_id, modules, status, tokens, completed_at)
        VALUES (${orgId}, ${applicationId}, ARRAY['sast'], 'completed', 15, now()) RETURNING id`,
  );
  for (const findingId of findingIds) {
    await db.execute(
      sql`INSERT INTO scan_findings (org_id, scan_id, finding_id) VALUES (${orgId}, ${scan!.id}, ${findingId})`,
    );
  }
  return scan!.id;
}
