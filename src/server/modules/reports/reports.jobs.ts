import { createHash } from 'node:crypto';
import type { AuditLog } from '../../platform/audit/log.ts';
import type { Database } from '../../platform/db/client.ts';
import { GiveUp, type JobHandler, type JobInfo } from '../../platform/outbox/index.ts';
import { findOrg } from '../organizations/index.ts';
import { buildComplianceReport } from './reports.compliance.ts';
import { buildExecutiveReport } from './reports.executive.ts';
import {
  failReport,
  finishReport,
  markReportRetrying,
  setReportProgress,
  startReport,
} from './reports.repository.ts';

export const REPORT_JOB = 'report.build';

/** Attempts before a report is given up (failed): the first and these retries, seconds apart. */
export const REPORT_RETRY_DELAYS = [10, 60, 300] as const;

export interface ReportDeps {
  database: Database;
  audit: AuditLog;
}

/**
 * Builds report `reportId` as one attempt, from the start (a crashed or failed attempt left no
 * document: the PDF is written once, with the report made ready). The period ends at the time it
 * is built when it was asked to end later. Returns false when there was nothing to build.
 */
export async function buildReport(deps: ReportDeps, orgId: string, reportId: string): Promise<boolean> {
  const db = deps.database.db;
  const report = await startReport(db, orgId, reportId);
  if (!report) return false;
  const org = await findOrg(db, orgId);
  if (!org) {
    await failReport(db, orgId, reportId, 'The organization was deleted before its report was built.');
    return false;
  }
  const generatedAt = new Date();
  const period = {
    from: report.periodFrom,
    to: report.periodTo > generatedAt ? generatedAt : report.periodTo,
  };
  const common = {
    orgId: org.id,
    orgName: org.name,
    plan: org.plan,
    period,
    generatedAt,
    generatedBy: report.requestedByEmail ?? (report.requestedBy ? report.requestedBy : 'an automation token'),
  };
  const progress = (p: number) => setReportProgress(db, orgId, reportId, p);
  const built =
    report.kind === 'compliance' && report.framework
      ? await buildComplianceReport(db, deps.audit, { ...common, framework: report.framework }, progress)
      : await buildExecutiveReport(db, common, progress);
  return finishReport(db, orgId, reportId, {
    pdf: built.pdf,
    sha256: createHash('sha256').update(built.pdf).digest('hex'),
    summary: { ...built.summary, periodEnd: period.to.toISOString(), generatedAt: generatedAt.toISOString() },
  });
}

/**
 * The job that builds a report. An attempt that fails is tried again (the report waits, pending);
 * once the attempts are spent the report is failed, with the reason in words, and the job dies.
 * A crash mid-build leaves the job's lease to run out: another worker takes it and starts afresh.
 */
export function reportHandler(
  deps: ReportDeps,
  log: (err: unknown, msg: string) => void,
): JobHandler<{ reportId: string }> {
  return {
    kind: REPORT_JOB,
    leaseSeconds: 10 * 60,
    retryDelays: REPORT_RETRY_DELAYS,
    async run(payload, job: JobInfo) {
      // The job carries its report's organization (enqueued with it); one without cannot be built.
      const orgId = job.orgId;
      if (!orgId) throw new GiveUp('the report job names no organization');
      try {
        await buildReport(deps, orgId, payload.reportId);
      } catch (err) {
        log(err, `building report ${payload.reportId} failed (attempt ${job.attempt})`);
        if (job.attempt > REPORT_RETRY_DELAYS.length) {
          await failReport(
            deps.database.db,
            orgId,
            payload.reportId,
            'The report could not be built. Generate it again; if it fails again, the server logs say why.',
          );
          throw new GiveUp((err as Error).message);
        }
        await markReportRetrying(deps.database.db, orgId, payload.reportId);
        throw err;
      }
    },
  };
}
