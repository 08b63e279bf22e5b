import { entitlements, PLAN_CATALOG } from '../../../contracts/plans.ts';
import {
  type ComplianceFramework,
  FRAMEWORK_NAMES,
  FRAMEWORK_PLAN,
  REPORT_MAX_DAYS,
} from '../../../contracts/reports.ts';
import { orgAccess } from '../../platform/access/guard.ts';
import { type CommandContext, defineCommand } from '../../platform/command.ts';
import { AppError, RateLimitedError, ValidationError } from '../../platform/errors/app-error.ts';
import { REPORT_JOB } from './reports.jobs.ts';
import {
  countReportsUnderWay,
  findReport,
  findReportUnderWay,
  insertReport,
  type ReportKind,
  type ReportRow,
} from './reports.repository.ts';

const DAY_MS = 86_400_000;

/**
 * Reports of one org waiting or being built at once, at most: each is a job and a PDF kept in the
 * database, so one member cannot fill the queue (or the disk) with them. Asking for more answers
 * 429 until one is done.
 */
export const REPORTS_UNDER_WAY_MAX = 5;

/** The earliest a period may start: nothing in any installation is older. */
const EARLIEST = Date.UTC(2000, 0, 1);

/** The org's plan lacks the report: 403 `plan_limit`, naming the plan that has it. */
export class ReportPlanError extends AppError {
  constructor(what: string, plan: string, needs: 'pro' | 'enterprise', feature: string) {
    super(
      403,
      'plan_limit',
      'Plan limit reached',
      `${what} is not part of the ${entitlements(plan).name} plan; it needs the ${PLAN_CATALOG[needs].name} plan.`,
      { params: { feature, plan, requiredPlan: needs } },
    );
  }
}

/**
 * The period asked for: `from` before `to`, at most REPORT_MAX_DAYS long, starting in the past and
 * ending no later than the end of the current UTC day (a range picked up to "today" is allowed; the
 * report covers up to the moment it is built).
 */
export function checkPeriod(from: Date, to: Date, now = new Date()): void {
  const errors = [];
  const endOfToday = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  if (from.getTime() < EARLIEST)
    errors.push({ field: '/body/from', message: 'must not be before 2000-01-01', reason: 'too_early' });
  else if (from.getTime() >= now.getTime())
    errors.push({ field: '/body/from', message: 'must be in the past', reason: 'in_future' });
  if (to.getTime() <= from.getTime())
    errors.push({ field: '/body/to', message: 'must be after from', reason: 'before_from' });
  else if (to.getTime() - from.getTime() > REPORT_MAX_DAYS * DAY_MS)
    errors.push({
      field: '/body/to',
      message: `must be within ${REPORT_MAX_DAYS} days of from`,
      reason: 'too_long',
    });
  if (to.getTime() > endOfToday)
    errors.push({
      field: '/body/to',
      message: 'must not be later than the end of today (UTC)',
      reason: 'in_future',
    });
  if (errors.length > 0) throw new ValidationError(errors, 'The period is not one a report can cover.');
}

/** Writes the report (pending) and the job that builds it; the same report under way is answered instead. */
async function request(
  ctx: CommandContext,
  ask: { kind: ReportKind; framework: ComplianceFramework | null; from: Date; to: Date },
): Promise<ReportRow> {
  const { orgId, orgName, userId } = orgAccess(ctx);
  const values = { kind: ask.kind, framework: ask.framework, periodFrom: ask.from, periodTo: ask.to };
  const underWay = await findReportUnderWay(ctx.tx, orgId, values);
  if (underWay) {
    ctx.unchanged();
    return underWay;
  }
  // The org row is held exclusively (the commands' orgLock): requests at once count in turn.
  if ((await countReportsUnderWay(ctx.tx, orgId)) >= REPORTS_UNDER_WAY_MAX) {
    throw new RateLimitedError(
      30,
      `${REPORTS_UNDER_WAY_MAX} reports of this organization are being built: ask again once one of them is ready.`,
    );
  }
  const id = await insertReport(ctx.tx, { orgId, ...values, requestedBy: userId });
  await ctx.enqueue({ kind: REPORT_JOB, payload: { reportId: id }, orgId, dedupeKey: `report:${id}` });
  const name =
    ask.kind === 'compliance' && ask.framework
      ? `${FRAMEWORK_NAMES[ask.framework]} report`
      : 'Executive summary';
  ctx.record({
    target: { type: 'report', id, name: `${name} of ${orgName}` },
    after: {
      kind: ask.kind,
      ...(ask.framework ? { framework: ask.framework } : {}),
      from: ask.from.toISOString(),
      to: ask.to.toISOString(),
    },
  });
  return (await findReport(ctx.tx, orgId, ask.kind, id))!;
}

/**
 * A compliance report for a framework and a period, built in the background. Compliance reports
 * need a plan with them (entitlements(plan).complianceReports); HIPAA and PCI DSS need Enterprise.
 */
export const requestComplianceReport = defineCommand({
  action: 'compliance_report.generated',
  permission: 'compliance:read',
  orgLock: 'exclusive',
  async run(ctx, input: { framework: ComplianceFramework; from: Date; to: Date }): Promise<ReportRow> {
    const { plan } = orgAccess(ctx);
    checkPeriod(input.from, input.to);
    const needs = FRAMEWORK_PLAN[input.framework];
    if (!entitlements(plan).complianceReports)
      throw new ReportPlanError('Compliance reports are', plan, 'pro', 'complianceReports');
    if (needs === 'enterprise' && plan !== 'enterprise')
      throw new ReportPlanError(
        `A ${FRAMEWORK_NAMES[input.framework]} compliance report is`,
        plan,
        'enterprise',
        `complianceReports.${input.framework}`,
      );
    return request(ctx, { kind: 'compliance', framework: input.framework, from: input.from, to: input.to });
  },
});

/** The executive summary of a period (any paid plan), built in the background. */
export const requestExecutiveReport = defineCommand({
  action: 'report.generated',
  permission: 'analytics:read',
  orgLock: 'exclusive',
  async run(ctx, input: { from: Date; to: Date }): Promise<ReportRow> {
    const { plan } = orgAccess(ctx);
    checkPeriod(input.from, input.to);
    // Paid plans are those with reports; the catalog has no separate entitlement for the summary.
    if (!entitlements(plan).complianceReports)
      throw new ReportPlanError('The executive summary is', plan, 'pro', 'executiveReports');
    return request(ctx, { kind: 'executive', framework: null, from: input.from, to: input.to });
  },
});
