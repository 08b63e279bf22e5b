import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { ComplianceFramework, ReportStatus } from '../../../contracts/reports.ts';
import type { Executor } from '../../platform/db/client.ts';
import { reports, users } from '../../platform/db/schema.ts';
import { keysetBefore, type TimeCursor } from '../../platform/http/paging.ts';

export type ReportKind = 'compliance' | 'executive';

export interface ReportRow {
  id: string;
  orgId: string;
  kind: ReportKind;
  framework: ComplianceFramework | null;
  periodFrom: Date;
  periodTo: Date;
  status: ReportStatus;
  error: string | null;
  /**
   * While the report is being built, `{progress}` (percent); once ready, the figures the
   * document states.
   */
  summary: Record<string, unknown> | null;
  sizeBytes: number | null;
  sha256: string | null;
  requestedBy: string | null;
  requestedByEmail: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

// Never the PDF itself: lists and status reads stay small; readReportPdf fetches the bytes.
const columns = {
  id: reports.id,
  orgId: reports.orgId,
  kind: reports.kind,
  framework: reports.framework,
  periodFrom: reports.periodFrom,
  periodTo: reports.periodTo,
  status: reports.status,
  error: reports.error,
  summary: reports.summary,
  sizeBytes: reports.sizeBytes,
  sha256: reports.sha256,
  requestedBy: reports.requestedBy,
  requestedByEmail: users.email,
  createdAt: reports.createdAt,
  finishedAt: reports.finishedAt,
};

const selectReports = (db: Executor) =>
  db.select(columns).from(reports).leftJoin(users, eq(users.id, reports.requestedBy));

export async function insertReport(
  tx: Executor,
  values: {
    orgId: string;
    kind: ReportKind;
    framework: ComplianceFramework | null;
    periodFrom: Date;
    periodTo: Date;
    requestedBy: string | null;
  },
): Promise<string> {
  const [row] = await tx.insert(reports).values(values).returning({ id: reports.id });
  return row!.id;
}

/** The org's report of a kind, by id (another org's, or another kind's, is not found). */
export async function findReport(
  db: Executor,
  orgId: string,
  kind: ReportKind,
  id: string,
): Promise<ReportRow | undefined> {
  const [row] = await selectReports(db).where(
    and(eq(reports.orgId, orgId), eq(reports.kind, kind), eq(reports.id, id)),
  );
  return row as ReportRow | undefined;
}

/** The same report (kind, framework, period) still being built, if any: asking twice builds one. */
export async function findReportUnderWay(
  db: Executor,
  orgId: string,
  ask: { kind: ReportKind; framework: ComplianceFramework | null; periodFrom: Date; periodTo: Date },
): Promise<ReportRow | undefined> {
  const [row] = await selectReports(db)
    .where(
      and(
        eq(reports.orgId, orgId),
        eq(reports.kind, ask.kind),
        ask.framework ? eq(reports.framework, ask.framework) : isNull(reports.framework),
        eq(reports.periodFrom, ask.periodFrom),
        eq(reports.periodTo, ask.periodTo),
        inArray(reports.status, ['pending', 'running']),
      ),
    )
    .limit(1);
  return row as ReportRow | undefined;
}

/** How many of the org's reports (of any kind) wait or are being built. */
export async function countReportsUnderWay(db: Executor, orgId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(reports)
    .where(and(eq(reports.orgId, orgId), inArray(reports.status, ['pending', 'running'])));
  return row?.n ?? 0;
}

/** Newest first, keyset-paged. */
export async function listReports(
  db: Executor,
  orgId: string,
  kind: ReportKind,
  page: { limit: number; after?: TimeCursor },
): Promise<ReportRow[]> {
  const conditions = [eq(reports.orgId, orgId), eq(reports.kind, kind)];
  if (page.after) conditions.push(keysetBefore(reports.createdAt, reports.id, page.after));
  const rows = await selectReports(db)
    .where(and(...conditions))
    .orderBy(desc(reports.createdAt), desc(reports.id))
    .limit(page.limit);
  return rows as ReportRow[];
}

/**
 * An attempt at building the report begins (again, after a crash or a failure): running, at 0 %.
 * Undefined when there is nothing to build (ready, failed, or gone with its organization).
 */
export async function startReport(db: Executor, orgId: string, id: string): Promise<ReportRow | undefined> {
  const [row] = await db
    .update(reports)
    .set({ status: 'running', summary: { progress: 0 }, error: null })
    .where(and(eq(reports.orgId, orgId), eq(reports.id, id), inArray(reports.status, ['pending', 'running'])))
    .returning({ id: reports.id, orgId: reports.orgId, kind: reports.kind });
  if (!row) return undefined;
  const [full] = await selectReports(db).where(and(eq(reports.orgId, orgId), eq(reports.id, id)));
  return full as ReportRow | undefined;
}

export async function setReportProgress(
  db: Executor,
  orgId: string,
  id: string,
  progress: number,
): Promise<void> {
  await db
    .update(reports)
    .set({ summary: { progress } })
    .where(and(eq(reports.orgId, orgId), eq(reports.id, id), eq(reports.status, 'running')));
}

/** The document is built: ready, with its bytes and the figures it states. */
export async function finishReport(
  db: Executor,
  orgId: string,
  id: string,
  done: { pdf: Buffer; sha256: string; summary: Record<string, unknown> },
): Promise<boolean> {
  const rows = await db
    .update(reports)
    .set({
      status: 'ready',
      pdf: done.pdf,
      sizeBytes: done.pdf.length,
      sha256: done.sha256,
      summary: done.summary,
      finishedAt: sql`now()`,
    })
    .where(and(eq(reports.orgId, orgId), eq(reports.id, id), eq(reports.status, 'running')))
    .returning({ id: reports.id });
  return rows.length > 0;
}

/** The report will not be built: failed, with why in words. */
export async function failReport(db: Executor, orgId: string, id: string, error: string): Promise<void> {
  await db
    .update(reports)
    .set({ status: 'failed', error, summary: null, finishedAt: sql`now()` })
    .where(
      and(eq(reports.orgId, orgId), eq(reports.id, id), inArray(reports.status, ['pending', 'running'])),
    );
}

/** The attempt failed and the job will try again: the report waits. */
export async function markReportRetrying(db: Executor, orgId: string, id: string): Promise<void> {
  await db
    .update(reports)
    .set({ status: 'pending', summary: { progress: 0 } })
    .where(and(eq(reports.orgId, orgId), eq(reports.id, id), eq(reports.status, 'running')));
}

/** A ready report's PDF. */
export async function readReportPdf(db: Executor, orgId: string, id: string): Promise<Buffer | undefined> {
  const [row] = await db
    .select({ pdf: reports.pdf })
    .from(reports)
    .where(and(eq(reports.orgId, orgId), eq(reports.id, id), eq(reports.status, 'ready')));
  return row?.pdf ?? undefined;
}
