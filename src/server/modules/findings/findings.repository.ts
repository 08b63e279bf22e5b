import { and, asc, desc, eq, inArray, isNull, type SQL, Subquery, sql } from 'drizzle-orm';
import type { FindingSeverity, FindingStatus, FindingView } from '../../../contracts/findings.ts';
import type { Executor } from '../../platform/db/client.ts';
import {
  applications,
  findingComments,
  findings,
  remediations,
  SEARCH_KEY_DROPPED,
  scanFindings,
  scans,
  users,
} from '../../platform/db/schema.ts';
import { keysetBefore, type TimeCursor } from '../../platform/http/paging.ts';
import {
  indexTermsOf,
  keyTrigrams,
  type SearchTrigramSample,
  trigramWordChars,
} from './findings.search-terms.ts';

export {
  FINDING_SEVERITIES,
  FINDING_STATUSES,
  type FindingSeverity,
  type FindingStatus,
} from '../../../contracts/findings.ts';

export type FindingLocation = NonNullable<FindingView['location']>;

/** A finding as the list reads it (the wire's FindingView, with times as Dates). */
export interface FindingRow extends Omit<FindingView, 'firstSeenAt' | 'lastSeenAt' | 'location'> {
  location: FindingLocation | null;
  firstSeenAt: Date;
  lastSeenAt: Date;
}

const listColumns = {
  id: findings.id,
  applicationId: findings.applicationId,
  ruleId: findings.ruleId,
  title: findings.title,
  severity: sql<FindingSeverity>`${findings.severity}`,
  status: sql<FindingStatus>`${findings.status}`,
  assigneeId: findings.assigneeId,
  location: sql<FindingLocation | null>`${findings.location}`,
  fingerprint: findings.fingerprint,
  firstSeenAt: findings.firstSeenAt,
  lastSeenAt: findings.lastSeenAt,
  occurrences: findings.occurrences,
};

/**
 * What the inner queries of pageOf select: the list's columns and the search text, not the whole
 * row (a search's walk sorts its rows when the org is small, and a wider row tips that plan).
 */
const SEARCHED_ROW = sql.join(
  [...Object.keys(listColumns).map((key) => findings[key as keyof typeof listColumns]), findings.searchText],
  sql`, `,
);

export interface FindingFilter {
  severities?: readonly FindingSeverity[];
  statuses?: readonly FindingStatus[];
  /** A member's id, or null for the unassigned. */
  assigneeId?: string | null;
  applicationId?: string;
  /** Part of the title, rule or path, any case (already trimmed, non-empty). */
  q?: string;
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * How many of the newest matching-by-filter findings a search reads before it asks the trigram
 * index: a common term fills its page among them, so it never pays for the index's posting lists.
 */
const FIRST_WALK_ROWS = 10_000;

const NEWEST_FIRST = [desc(findings.lastSeenAt), desc(findings.id)];
const NEWEST_FIRST_SQL = sql`ORDER BY ${findings.lastSeenAt} DESC, ${findings.id} DESC`;

/**
 * One page of the org's findings, newest first by `last_seen_at` (keyset on it and the id).
 *
 * Plans (see bench/findings-list.ts, 1,000,000 findings in one org): each equality filter has an
 * index `(org_id, <column>, last_seen_at, id)` that serves the order, so a page reads its rows
 * and stops; status and severity together have `(org_id, status, severity, last_seen_at, id)`,
 * without which a rare pair (false positives among the criticals) walks every row of the status. Several severities or statuses are several such ordered scans merged (`IN` on the
 * leading columns of those indexes would read every matching row and sort them). A search
 * first reads the FIRST_WALK_ROWS newest rows that pass the other filters: a common term fills
 * the page there. A rarer one is answered from the trigram index on the search key (the search
 * text without separators, `findingSearchKey`), asked for the term's rarest trigrams
 * (findings.search-terms.ts; matching them is necessary, the LIKE on the search text decides),
 * behind a planning fence (`OFFSET 0`) so that PostgreSQL collects the few matches and sorts
 * them rather than walking the whole list testing each row. A term without three letters or
 * digits in a row (as pg_trgm counts them: beyond ASCII the database's locale decides) has no
 * trigram to look up: the list is walked, testing each row.
 *
 * `search`, the sample of trigram frequencies, is the route's; without it the index is asked for
 * the whole term.
 */
export async function listFindings(
  db: Executor,
  orgId: string,
  filter: FindingFilter,
  page: { limit: number; after?: TimeCursor },
  search?: SearchTrigramSample,
): Promise<FindingRow[]> {
  const where = baseConditions(orgId, filter, page.after);
  const q = filter.q;
  if (q === undefined) return orderedPage(db, where, filter, page.limit);
  // The term is lowered by the database, as the search text and key were: JavaScript's lowering
  // differs beyond ASCII (a final sigma, a dotted capital I).
  const containing = (term: string) => sql`lower(${`%${escapeLike(term)}%`})`;
  const match = sql`${findings.searchText} LIKE ${containing(q)}`;
  const key = searchKeyOf(q);
  // No trigram to look up: the ordered walk with the match as a filter, stopping at the page.
  const walk = () => orderedPage(db, and(where, match)!, filter, page.limit);
  if (keyTrigrams(key).length === 0) return walk();
  const walked = await pageOf(
    db,
    sql`SELECT ${SEARCHED_ROW} FROM ${findings} WHERE ${where} ${NEWEST_FIRST_SQL} LIMIT ${FIRST_WALK_ROWS}`,
    page.limit,
    match,
  );
  if (walked.length === page.limit) return walked;
  // The walk read every finding that passes the other filters (a small org, a narrow filter):
  // its matches are all there are. Cheaper than the trigram index, whose candidates span every org.
  const [seen] = await db
    .execute(
      sql`SELECT count(*)::int AS n FROM (SELECT 1 FROM ${findings} WHERE ${where} LIMIT ${FIRST_WALK_ROWS + 1}) w`,
    )
    .then((r) => (r as unknown as { rows: { n: number }[] }).rows);
  if ((seen?.n ?? 0) <= FIRST_WALK_ROWS) return walked;
  const shares = await search?.current();
  let terms = indexTermsOf(key, shares);
  // Words beyond ASCII: whether pg_trgm sees a trigram in them is the database's locale's call.
  if (terms.length === 0) terms = indexTermsOf(key, shares, await trigramWordChars(db, key));
  if (terms.length === 0) return walk();
  const keyMatches = terms.map((term) => sql`${findings.searchKey} LIKE ${containing(term)}`);
  return pageOf(
    db,
    sql`SELECT ${SEARCHED_ROW} FROM ${findings} WHERE ${and(where, ...keyMatches, match)} OFFSET 0`,
    page.limit,
  );
}

const DROPPED_FROM_KEY = new Set(SEARCH_KEY_DROPPED);

/**
 * The search key (see findingSearchKey) of a term: the same characters left out. They have no
 * case, so lowering the term before or after gives the same key.
 */
export const searchKeyOf = (term: string) => [...term].filter((c) => !DROPPED_FROM_KEY.has(c)).join('');

/**
 * A page, in list order, of the findings rows that `rows` (SQL selecting SEARCHED_ROW) yields
 * and `match` keeps. The subquery is aliased `findings`, so the list's columns read from it.
 */
function pageOf(db: Executor, rows: SQL, limit: number, match?: SQL) {
  const from = new Subquery(rows, { id: findings.id }, 'findings');
  return db
    .select(listColumns)
    .from(from)
    .where(match)
    .orderBy(...NEWEST_FIRST)
    .limit(limit);
}

function baseConditions(orgId: string, filter: FindingFilter, after: TimeCursor | undefined): SQL {
  const conditions: SQL[] = [eq(findings.orgId, orgId)];
  if (filter.assigneeId === null) conditions.push(isNull(findings.assigneeId));
  else if (filter.assigneeId !== undefined) conditions.push(eq(findings.assigneeId, filter.assigneeId));
  if (filter.applicationId) conditions.push(eq(findings.applicationId, filter.applicationId));
  if (filter.severities?.length) conditions.push(inArray(findings.severity, [...filter.severities]));
  if (filter.statuses?.length) conditions.push(inArray(findings.status, [...filter.statuses]));
  if (after) conditions.push(keysetBefore(findings.lastSeenAt, findings.id, after));
  return and(...conditions)!;
}

/**
 * A page in list order. With several severities or statuses asked for, one ordered, limited scan
 * per (severity, status) pair, merged: each reads at most a page from its own index range
 * (`findings_org_status_severity_idx` when both are asked for).
 */
async function orderedPage(
  db: Executor,
  where: SQL,
  filter: FindingFilter,
  limit: number,
): Promise<FindingRow[]> {
  // One part per (severity, status) pair asked for: each an ordered scan of one index range.
  const severities = filter.severities?.length ? filter.severities : [undefined];
  const statuses = filter.statuses?.length ? filter.statuses : [undefined];
  const pairs = severities.flatMap((severity) => statuses.map((status) => [severity, status] as const));
  const split =
    pairs.length > 1
      ? pairs.map(([severity, status]) =>
          and(
            severity ? eq(findings.severity, severity) : undefined,
            status ? eq(findings.status, status) : undefined,
          ),
        )
      : undefined;
  if (!split) {
    return db
      .select(listColumns)
      .from(findings)
      .where(where)
      .orderBy(...NEWEST_FIRST)
      .limit(limit);
  }
  const parts = split.map(
    (one) =>
      sql`(SELECT ${SEARCHED_ROW} FROM ${findings} WHERE ${and(where, one)} ${NEWEST_FIRST_SQL} LIMIT ${limit})`,
  );
  return pageOf(db, sql.join(parts, sql` UNION ALL `), limit);
}

export interface FindingDetailRow extends FindingRow {
  message: string | null;
  tool: string | null;
  applicationName: string;
  assigneeName: string | null;
  assigneeEmail: string | null;
  resolvedAt: Date | null;
  updatedAt: Date;
}

const detailColumns = {
  ...listColumns,
  message: findings.message,
  tool: findings.tool,
  applicationName: applications.name,
  assigneeName: users.name,
  assigneeEmail: users.email,
  resolvedAt: findings.resolvedAt,
  updatedAt: findings.updatedAt,
};

const selectDetail = (db: Executor) =>
  db
    .select(detailColumns)
    .from(findings)
    .innerJoin(
      applications,
      and(eq(applications.orgId, findings.orgId), eq(applications.id, findings.applicationId)),
    )
    .leftJoin(users, eq(users.id, findings.assigneeId));

/** One finding of the org, or undefined (another org's is not found). */
export async function findFinding(
  db: Executor,
  orgId: string,
  id: string,
): Promise<FindingDetailRow | undefined> {
  const [row] = await selectDetail(db).where(and(eq(findings.orgId, orgId), eq(findings.id, id)));
  return row;
}

/** Same, with the finding's row locked for the rest of the transaction. */
export async function lockFinding(
  tx: Executor,
  orgId: string,
  id: string,
): Promise<FindingDetailRow | undefined> {
  const [row] = await selectDetail(tx)
    .where(and(eq(findings.orgId, orgId), eq(findings.id, id)))
    .for('update', { of: findings });
  return row;
}

/**
 * Sets status and assignee. `resolved_at` is set while the status is `resolved`: stamped when it
 * becomes resolved, kept while it stays so, cleared when it leaves.
 */
export async function updateFinding(
  tx: Executor,
  orgId: string,
  id: string,
  change: { status: FindingStatus; assigneeId: string | null },
): Promise<{ resolvedAt: Date | null; updatedAt: Date }> {
  const [row] = await tx
    .update(findings)
    .set({
      status: change.status,
      assigneeId: change.assigneeId,
      resolvedAt:
        change.status === 'resolved'
          ? sql`CASE WHEN ${findings.status} = 'resolved' THEN ${findings.resolvedAt} ELSE now() END`
          : null,
      updatedAt: sql`now()`,
    })
    .where(and(eq(findings.orgId, orgId), eq(findings.id, id)))
    .returning({ resolvedAt: findings.resolvedAt, updatedAt: findings.updatedAt });
  return row!;
}

/** The most recent scans that saw the finding. */
export async function listFindingScans(db: Executor, orgId: string, findingId: string, limit: number) {
  return db
    .select({ id: scans.id, status: scans.status, modules: scans.modules, createdAt: scans.createdAt })
    .from(scanFindings)
    .innerJoin(scans, and(eq(scans.orgId, scanFindings.orgId), eq(scans.id, scanFindings.scanId)))
    .where(and(eq(scanFindings.orgId, orgId), eq(scanFindings.findingId, findingId)))
    .orderBy(desc(scans.createdAt), desc(scans.id))
    .limit(limit);
}

export async function countComments(db: Executor, orgId: string, findingId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(findingComments)
    .where(and(eq(findingComments.findingId, findingId), eq(findingComments.orgId, orgId)));
  return row?.n ?? 0;
}

export interface CommentRow {
  id: string;
  body: string;
  authorId: string | null;
  authorName: string | null;
  createdAt: Date;
}

export async function insertComment(
  tx: Executor,
  orgId: string,
  input: { findingId: string; authorId: string | null; body: string },
): Promise<{ id: string; createdAt: Date }> {
  const [row] = await tx
    .insert(findingComments)
    .values({ orgId, ...input })
    .returning({ id: findingComments.id, createdAt: findingComments.createdAt });
  return row!;
}

const commentColumns = {
  id: findingComments.id,
  body: findingComments.body,
  authorId: findingComments.authorId,
  authorName: users.name,
  createdAt: findingComments.createdAt,
};

export async function findComment(db: Executor, orgId: string, id: string): Promise<CommentRow | undefined> {
  const [row] = await db
    .select(commentColumns)
    .from(findingComments)
    .leftJoin(users, eq(users.id, findingComments.authorId))
    .where(and(eq(findingComments.orgId, orgId), eq(findingComments.id, id)));
  return row;
}

/** A finding's comments, oldest first (keyset on created_at, id). */
export async function listComments(
  db: Executor,
  orgId: string,
  findingId: string,
  page: { limit: number; after?: TimeCursor },
): Promise<CommentRow[]> {
  const conditions = [eq(findingComments.findingId, findingId), eq(findingComments.orgId, orgId)];
  if (page.after) {
    conditions.push(
      sql`(${findingComments.createdAt}, ${findingComments.id}) > (${page.after.createdAt.toISOString()}::timestamptz, ${page.after.id}::uuid)`,
    );
  }
  return db
    .select(commentColumns)
    .from(findingComments)
    .leftJoin(users, eq(users.id, findingComments.authorId))
    .where(and(...conditions))
    .orderBy(asc(findingComments.createdAt), asc(findingComments.id))
    .limit(page.limit);
}

export interface RemediationRow {
  id: string;
  findingId: string;
  summary: string;
  patch: string | null;
  status: 'proposed' | 'approved';
  createdBy: string | null;
  createdByName: string | null;
  createdAt: Date;
  approvedBy: string | null;
  approvedAt: Date | null;
}

const remediationColumns = {
  id: remediations.id,
  findingId: remediations.findingId,
  summary: remediations.summary,
  patch: remediations.patch,
  status: sql<'proposed' | 'approved'>`${remediations.status}`,
  createdBy: remediations.createdBy,
  createdByName: users.name,
  createdAt: remediations.createdAt,
  approvedBy: remediations.approvedBy,
  approvedAt: remediations.approvedAt,
};

/** A finding's remediations, oldest first (a finding has few). */
export async function listRemediations(
  db: Executor,
  orgId: string,
  findingId: string,
): Promise<RemediationRow[]> {
  return db
    .select(remediationColumns)
    .from(remediations)
    .leftJoin(users, eq(users.id, remediations.createdBy))
    .where(and(eq(remediations.orgId, orgId), eq(remediations.findingId, findingId)))
    .orderBy(asc(remediations.createdAt), asc(remediations.id))
    .limit(200);
}

export async function findRemediation(
  db: Executor,
  orgId: string,
  id: string,
): Promise<RemediationRow | undefined> {
  const [row] = await db
    .select(remediationColumns)
    .from(remediations)
    .leftJoin(users, eq(users.id, remediations.createdBy))
    .where(and(eq(remediations.orgId, orgId), eq(remediations.id, id)));
  return row;
}

export async function insertRemediation(
  tx: Executor,
  orgId: string,
  input: { findingId: string; summary: string; patch: string | null; createdBy: string | null },
): Promise<string> {
  const [row] = await tx
    .insert(remediations)
    .values({ orgId, ...input })
    .returning({ id: remediations.id });
  return row!.id;
}

/**
 * Approves a proposed remediation. The `status = 'proposed'` condition is the guard: of two
 * approvals racing, the second waits on the row and then finds it approved (no row: false).
 */
export async function approveProposed(
  tx: Executor,
  orgId: string,
  id: string,
  approvedBy: string | null,
): Promise<boolean> {
  const rows = await tx
    .update(remediations)
    .set({ status: 'approved', approvedBy, approvedAt: sql`now()` })
    .where(and(eq(remediations.orgId, orgId), eq(remediations.id, id), eq(remediations.status, 'proposed')))
    .returning({ id: remediations.id });
  return rows.length === 1;
}

/** Statuses a finding is still to be dealt with in (neither resolved, mitigated nor a false positive). */
const OPEN_STATUSES = ['open', 'triaged'] as const;

/**
 * What an executive summary says of findings: those open now by severity; per month (UTC,
 * `YYYY-MM`) of the period, how many were first seen and how many resolved; and the mean time
 * from first seen to resolved of those resolved within the period, in hours (null when none was).
 */
export async function findingFigures(
  db: Executor,
  orgId: string,
  period: { from: Date; to: Date },
): Promise<{
  openBySeverity: Record<FindingSeverity, number>;
  months: { month: string; found: number; resolved: number }[];
  resolvedInPeriod: number;
  meanHoursToResolve: number | null;
}> {
  const from = period.from.toISOString();
  const to = period.to.toISOString();
  const open = await db
    .select({ severity: findings.severity, n: sql<number>`count(*)::int` })
    .from(findings)
    .where(and(eq(findings.orgId, orgId), inArray(findings.status, [...OPEN_STATUSES])))
    .groupBy(findings.severity);
  const openBySeverity: Record<FindingSeverity, number> = { critical: 0, high: 0, medium: 0, low: 0 };
  for (const row of open) openBySeverity[row.severity as FindingSeverity] = row.n;
  const found = await db
    .select({
      month: sql<string>`to_char(${findings.firstSeenAt} AT TIME ZONE 'UTC', 'YYYY-MM')`,
      n: sql<number>`count(*)::int`,
    })
    .from(findings)
    .where(
      and(
        eq(findings.orgId, orgId),
        sql`${findings.firstSeenAt} >= ${from}::timestamptz AND ${findings.firstSeenAt} < ${to}::timestamptz`,
      ),
    )
    .groupBy(sql`1`);
  const resolved = await db
    .select({
      month: sql<string>`to_char(${findings.resolvedAt} AT TIME ZONE 'UTC', 'YYYY-MM')`,
      n: sql<number>`count(*)::int`,
      hours: sql<number>`sum(extract(epoch FROM ${findings.resolvedAt} - ${findings.firstSeenAt}) / 3600)::float8`,
    })
    .from(findings)
    .where(
      and(
        eq(findings.orgId, orgId),
        eq(findings.status, 'resolved'),
        sql`${findings.resolvedAt} >= ${from}::timestamptz AND ${findings.resolvedAt} < ${to}::timestamptz`,
      ),
    )
    .groupBy(sql`1`);
  const months = new Map<string, { month: string; found: number; resolved: number }>();
  const at = (month: string) => {
    const entry = months.get(month) ?? { month, found: 0, resolved: 0 };
    months.set(month, entry);
    return entry;
  };
  for (const row of found) at(row.month).found = row.n;
  let resolvedInPeriod = 0;
  let hours = 0;
  for (const row of resolved) {
    at(row.month).resolved = row.n;
    resolvedInPeriod += row.n;
    hours += Number(row.hours);
  }
  return {
    openBySeverity,
    months: [...months.values()].sort((a, b) => a.month.localeCompare(b.month)),
    resolvedInPeriod,
    meanHoursToResolve: resolvedInPeriod > 0 ? hours / resolvedInPeriod : null,
  };
}
