import { and, desc, eq, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/client.ts';
import { applications, findings, scanFindings, scanSarif, scans, users } from '../../platform/db/schema.ts';
import { keysetBefore, type TimeCursor } from '../../platform/http/paging.ts';
import type { PolicyResult, Severity } from '../policies/index.ts';
import type { ParsedFinding } from './scans.sarif.ts';

/** Rows per upsert: few round trips for 25,000 results, each statement's locks and memory bounded. */
const FINDINGS_BATCH = 2_000;

export interface SeenFinding {
  id: string;
  title: string;
  severity: Severity;
  status: string;
  /** It was resolved and this scan reopened it. */
  reopened: boolean;
  /** This scan saw it first: its row was inserted, not updated (also under concurrent scans). */
  created: boolean;
  /** What the log said of it (a new finding's fields, for its `finding.created` event). */
  parsed: ParsedFinding;
}

/**
 * Records what a scan saw in its application's findings: a new fingerprint is a new open finding;
 * one already known is seen again (`last_seen_at`, `occurrences + 1`, `last_scan_id`, and the
 * result's current words and severity), and reopened if it had been resolved. The known rows are
 * locked first, in fingerprint order, so the status read is the status replaced.
 */
export async function upsertFindings(
  tx: Executor,
  orgId: string,
  applicationId: string,
  scanId: string,
  parsed: readonly ParsedFinding[],
  at: Date,
): Promise<SeenFinding[]> {
  const seen: SeenFinding[] = [];
  for (let start = 0; start < parsed.length; start += FINDINGS_BATCH) {
    const batch = parsed.slice(start, start + FINDINGS_BATCH);
    const fingerprints = sql.param(batch.map((f) => f.fingerprint));
    const known = await tx
      .select({ fingerprint: findings.fingerprint, status: findings.status })
      .from(findings)
      .where(
        and(
          eq(findings.orgId, orgId),
          eq(findings.applicationId, applicationId),
          sql`${findings.fingerprint} = ANY(${fingerprints}::text[])`,
        ),
      )
      .orderBy(findings.fingerprint)
      .for('update');
    const wasResolved = new Set(known.filter((k) => k.status === 'resolved').map((k) => k.fingerprint));
    // One statement per batch whatever its size, the rows as parallel arrays (a parameter per
    // column, not per value: binding 14 values a row cost more than the insert itself). An
    // inserted row has no deleting transaction yet (xmax = 0); an updated one has this one's.
    const column = (pick: (f: ParsedFinding) => string | null) => sql.param(batch.map(pick));
    const time = sql`${at.toISOString()}::timestamptz`;
    const rows = await tx
      .execute(
        sql`INSERT INTO ${findings} (org_id, application_id, fingerprint, rule_id, title, message, severity,
                                     location, tool, first_seen_at, last_seen_at, last_scan_id, updated_at)
            SELECT ${orgId}::uuid, ${applicationId}::uuid, f.fingerprint, f.rule_id, f.title, f.message,
                   f.severity, f.location::jsonb, f.tool, ${time}, ${time}, ${scanId}::uuid, ${time}
              FROM unnest(${fingerprints}::text[], ${column((f) => f.ruleId)}::text[],
                          ${column((f) => f.title)}::text[], ${column((f) => f.message)}::text[],
                          ${column((f) => f.severity)}::text[],
                          ${column((f) => (f.location ? JSON.stringify(f.location) : null))}::text[],
                          ${column((f) => f.tool)}::text[])
                   AS f(fingerprint, rule_id, title, message, severity, location, tool)
            ON CONFLICT (org_id, application_id, fingerprint) DO UPDATE SET
              rule_id = excluded.rule_id,
              title = excluded.title,
              message = excluded.message,
              severity = excluded.severity,
              location = excluded.location,
              tool = excluded.tool,
              last_seen_at = excluded.last_seen_at,
              last_scan_id = excluded.last_scan_id,
              occurrences = findings.occurrences + 1,
              status = CASE WHEN findings.status = 'resolved' THEN 'open' ELSE findings.status END,
              resolved_at = CASE WHEN findings.status = 'resolved' THEN NULL ELSE findings.resolved_at END,
              updated_at = excluded.updated_at
            RETURNING id, fingerprint, title, severity, status, (xmax = 0) AS created`,
      )
      .then(
        (r) =>
          (
            r as unknown as {
              rows: Array<{
                id: string;
                fingerprint: string;
                title: string;
                severity: string;
                status: string;
                created: boolean;
              }>;
            }
          ).rows,
      );
    const byFingerprint = new Map(batch.map((f) => [f.fingerprint, f]));
    for (const row of rows) {
      seen.push({
        id: row.id,
        title: row.title,
        severity: row.severity as Severity,
        status: row.status,
        reopened: wasResolved.has(row.fingerprint),
        created: row.created,
        parsed: byFingerprint.get(row.fingerprint)!,
      });
    }
  }
  return seen;
}

export async function linkScanFindings(
  tx: Executor,
  orgId: string,
  scanId: string,
  findingIds: readonly string[],
): Promise<void> {
  if (findingIds.length === 0) return;
  await tx.execute(
    sql`INSERT INTO ${scanFindings} (org_id, scan_id, finding_id)
        SELECT ${orgId}::uuid, ${scanId}::uuid, f FROM unnest(${sql.param(findingIds)}::uuid[]) AS f`,
  );
}

export interface SeverityCounts {
  total: number;
  critical: number;
  high: number;
  medium: number;
  low: number;
}

export async function insertScan(
  tx: Executor,
  values: {
    id: string;
    orgId: string;
    applicationId: string;
    modules: string[];
    status: 'pending' | 'completed';
    tokens: number;
    createdBy: string | null;
    tokenId: string | null;
    tools: string[];
    counts: SeverityCounts;
    policy: PolicyResult;
    createdAt: Date;
  },
): Promise<void> {
  const { counts, ...rest } = values;
  await tx.insert(scans).values({
    ...rest,
    findingsTotal: counts.total,
    findingsCritical: counts.critical,
    findingsHigh: counts.high,
    findingsMedium: counts.medium,
    findingsLow: counts.low,
    completedAt: values.status === 'completed' ? values.createdAt : null,
  });
}

export async function insertScanSarif(
  tx: Executor,
  orgId: string,
  scanId: string,
  gzip: Buffer,
  bytes: number,
): Promise<void> {
  await tx.insert(scanSarif).values({ orgId, scanId, gzip, bytes });
}

const scanColumns = {
  id: scans.id,
  applicationId: scans.applicationId,
  applicationName: applications.name,
  status: scans.status,
  modules: scans.modules,
  tokens: scans.tokens,
  tools: scans.tools,
  createdBy: scans.createdBy,
  createdByEmail: users.email,
  tokenId: scans.tokenId,
  findingsTotal: scans.findingsTotal,
  findingsCritical: scans.findingsCritical,
  findingsHigh: scans.findingsHigh,
  findingsMedium: scans.findingsMedium,
  findingsLow: scans.findingsLow,
  policy: scans.policy,
  createdAt: scans.createdAt,
  completedAt: scans.completedAt,
  hasSarif: sql<boolean>`EXISTS (SELECT 1 FROM ${scanSarif} WHERE ${scanSarif.orgId} = ${scans.orgId} AND ${scanSarif.scanId} = ${scans.id})`,
};

export type ScanRow = {
  id: string;
  applicationId: string;
  applicationName: string;
  status: string;
  modules: string[];
  tokens: number;
  tools: string[];
  createdBy: string | null;
  createdByEmail: string | null;
  tokenId: string | null;
  findingsTotal: number;
  findingsCritical: number;
  findingsHigh: number;
  findingsMedium: number;
  findingsLow: number;
  policy: unknown;
  createdAt: Date;
  completedAt: Date | null;
  hasSarif: boolean;
};

function selectScans(db: Executor) {
  return db
    .select(scanColumns)
    .from(scans)
    .innerJoin(
      applications,
      and(eq(applications.orgId, scans.orgId), eq(applications.id, scans.applicationId)),
    )
    .leftJoin(users, eq(users.id, scans.createdBy));
}

export async function findScan(db: Executor, orgId: string, id: string): Promise<ScanRow | undefined> {
  const [row] = await selectScans(db).where(and(eq(scans.orgId, orgId), eq(scans.id, id)));
  return row;
}

export interface ScanFilter {
  applicationId?: string;
  status?: string;
  createdBy?: string;
}

export async function listScans(
  db: Executor,
  orgId: string,
  page: { limit: number; after?: TimeCursor } & ScanFilter,
): Promise<ScanRow[]> {
  const conditions: SQL[] = [eq(scans.orgId, orgId)];
  if (page.applicationId) conditions.push(eq(scans.applicationId, page.applicationId));
  if (page.status) conditions.push(eq(scans.status, page.status));
  if (page.createdBy) conditions.push(eq(scans.createdBy, page.createdBy));
  if (page.after) conditions.push(keysetBefore(scans.createdAt, scans.id, page.after));
  return selectScans(db)
    .where(and(...conditions))
    .orderBy(desc(scans.createdAt), desc(scans.id))
    .limit(page.limit);
}

/** The scan's row, held for its deletion. */
export async function lockScan(tx: Executor, orgId: string, id: string) {
  const [row] = await tx
    .select({
      id: scans.id,
      applicationId: scans.applicationId,
      modules: scans.modules,
      tokens: scans.tokens,
    })
    .from(scans)
    .where(and(eq(scans.orgId, orgId), eq(scans.id, id)))
    .for('update');
  return row;
}

/** Deletes a scan with its links and stored log; its findings and the tokens spent stay. */
export async function deleteScanRow(tx: Executor, orgId: string, id: string): Promise<void> {
  await tx.delete(scans).where(and(eq(scans.orgId, orgId), eq(scans.id, id)));
}

export async function readScanSarif(db: Executor, orgId: string, id: string) {
  const [row] = await db
    .select({ gzip: scanSarif.gzip, bytes: scanSarif.bytes })
    .from(scanSarif)
    .where(and(eq(scanSarif.orgId, orgId), eq(scanSarif.scanId, id)));
  return row;
}

const SEVERITY_ORDER = sql`CASE ${findings.severity} WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END`;

export const scanFindingColumns = {
  id: findings.id,
  applicationId: findings.applicationId,
  ruleId: findings.ruleId,
  title: findings.title,
  message: findings.message,
  severity: findings.severity,
  status: findings.status,
  assigneeId: findings.assigneeId,
  location: findings.location,
  tool: findings.tool,
  fingerprint: findings.fingerprint,
  firstSeenAt: findings.firstSeenAt,
  lastSeenAt: findings.lastSeenAt,
  occurrences: findings.occurrences,
};

export type ScanFindingRow = {
  id: string;
  applicationId: string;
  ruleId: string;
  title: string;
  message: string | null;
  severity: string;
  status: string;
  assigneeId: string | null;
  location: unknown;
  tool: string | null;
  fingerprint: string;
  firstSeenAt: Date;
  lastSeenAt: Date;
  occurrences: number;
};

/**
 * The findings a scan saw, most severe first, then by id; `after` continues from the last one
 * of a previous page (its severity rank and id).
 */
export async function listScanFindings(
  db: Executor,
  orgId: string,
  scanId: string,
  page: { limit: number; after?: { rank: number; id: string }; severity?: string },
): Promise<ScanFindingRow[]> {
  const conditions: SQL[] = [eq(scanFindings.orgId, orgId), eq(scanFindings.scanId, scanId)];
  if (page.severity) conditions.push(eq(findings.severity, page.severity));
  if (page.after)
    conditions.push(sql`(${SEVERITY_ORDER}, ${findings.id}) > (${page.after.rank}, ${page.after.id}::uuid)`);
  return db
    .select(scanFindingColumns)
    .from(scanFindings)
    .innerJoin(findings, and(eq(findings.orgId, scanFindings.orgId), eq(findings.id, scanFindings.findingId)))
    .where(and(...conditions))
    .orderBy(SEVERITY_ORDER, findings.id)
    .limit(page.limit);
}

/**
 * Scan retention (Settings → Data & Privacy): deletes the org's scans created before `cutoff`
 * (their links to findings and their stored logs go with them), then the findings left with no
 * scan. A finding is left with no scan when, after those scans are gone, no scan of the org links
 * to it and it was last seen before the cutoff: a finding a scan inside the retention saw stays
 * (that scan still links to it, and its `last_seen_at` is that scan's time), and so does one seen
 * inside the retention whose scans were deleted by hand since. The tokens the scans spent stay
 * spent (the quota ledger names scans by id, without a foreign key). Returns what went.
 */
export async function deleteScanResultsBefore(
  tx: Executor,
  orgId: string,
  cutoff: Date,
): Promise<{ scans: number; findings: number }> {
  // Counted in SQL: a backlog of a hundred thousand scans needs no list of their ids in memory.
  const count = async (statement: SQL) => {
    const result = (await tx.execute(
      sql`WITH gone AS (${statement} RETURNING 1) SELECT count(*)::int AS n FROM gone`,
    )) as unknown as { rows: { n: number }[] };
    return result.rows[0]?.n ?? 0;
  };
  const at = cutoff.toISOString();
  const scansGone = await count(
    sql`DELETE FROM ${scans} WHERE ${scans.orgId} = ${orgId} AND ${scans.createdAt} < ${at}::timestamptz`,
  );
  const findingsGone = await count(sql`DELETE FROM ${findings} f
     WHERE f.org_id = ${orgId} AND f.last_seen_at < ${at}::timestamptz
       AND NOT EXISTS (SELECT 1 FROM ${scanFindings} sf WHERE sf.org_id = f.org_id AND sf.finding_id = f.id)`);
  return { scans: scansGone, findings: findingsGone };
}
