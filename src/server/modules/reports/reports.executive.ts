import { entitlements } from '../../../contracts/plans.ts';
import type { Db } from '../../platform/db/client.ts';
import { renderPdf } from '../../platform/pdf/pdf.ts';
import { findingFigures } from '../findings/index.ts';
import { countMembersByRole } from '../members/index.ts';
import { monthOf, poolLimit, poolUsed } from '../quota/index.ts';
import { type Period, percent, stamp } from './reports.words.ts';

export interface ExecutiveInput {
  orgId: string;
  orgName: string;
  plan: string;
  period: Period;
  generatedAt: Date;
  generatedBy: string;
}

export interface ExecutiveSummary {
  members: number;
  roles: { slug: string; name: string; members: number }[];
  openFindings: Record<string, number>;
  months: { month: string; found: number; resolved: number; tokensUsed: number; tokenLimit: number }[];
  resolvedInPeriod: number;
  meanHoursToResolve: number | null;
}

/** The months (`YYYY-MM`, UTC) a period touches, oldest first. */
export function monthsOf(period: Period): string[] {
  const months: string[] = [];
  const at = new Date(Date.UTC(period.from.getUTCFullYear(), period.from.getUTCMonth(), 1));
  while (at < period.to) {
    months.push(monthOf(at));
    at.setUTCMonth(at.getUTCMonth() + 1);
  }
  return months;
}

const duration = (hours: number | null) => {
  if (hours === null) return 'No finding was resolved in the period';
  if (hours < 48) return `${Math.round(hours * 10) / 10} hours`;
  return `${Math.round((hours / 24) * 10) / 10} days`;
};

/** Reads the figures and draws the one-page executive summary. */
export async function buildExecutiveReport(
  db: Db,
  input: ExecutiveInput,
  progress: (percent: number) => Promise<void>,
): Promise<{ pdf: Buffer; summary: ExecutiveSummary }> {
  const { orgId, period } = input;
  const perRole = await countMembersByRole(db, orgId);
  const findings = await findingFigures(db, orgId, period);
  await progress(40);
  const plan = entitlements(input.plan);
  const current = monthOf(input.generatedAt);
  const found = new Map(findings.months.map((m) => [m.month, m]));
  const months: ExecutiveSummary['months'] = [];
  for (const month of monthsOf(period)) {
    // This month's pool counts its live boosts; a past month's limit is the plan's allowance.
    const limit =
      month === current
        ? (await poolLimit(db, orgId, input.plan, input.generatedAt)).limit
        : plan.tokensPerMonth;
    months.push({
      month,
      found: found.get(month)?.found ?? 0,
      resolved: found.get(month)?.resolved ?? 0,
      tokensUsed: await poolUsed(db, orgId, month),
      tokenLimit: limit,
    });
  }
  await progress(70);
  const members = perRole.reduce((n, r) => n + r.members, 0);
  const summary: ExecutiveSummary = {
    members,
    roles: perRole.map((r) => ({ slug: r.role, name: r.roleName, members: r.members })),
    openFindings: findings.openBySeverity,
    months,
    resolvedInPeriod: findings.resolvedInPeriod,
    meanHoursToResolve: findings.meanHoursToResolve,
  };
  const open = findings.openBySeverity;
  const pdf = await renderPdf(
    {
      title: 'Executive summary',
      subject: `Executive summary for ${input.orgName}`,
      subtitle: `${input.orgName} - ${stamp(period.from)} to ${stamp(period.to)} (UTC)`,
      footer: `${input.orgName} - executive summary - generated ${stamp(input.generatedAt)} UTC by ${input.generatedBy}`,
      createdAt: input.generatedAt,
    },
    (doc) => {
      doc.heading('Members and roles', 2);
      doc.keyValues([
        ['Active members', String(members)],
        ['By role', perRole.map((r) => `${r.roleName} ${r.members}`).join(', ') || 'None'],
      ]);
      doc.heading('Findings', 2);
      doc.keyValues([
        [
          'Open now',
          `${open.critical + open.high + open.medium + open.low}: critical ${open.critical}, high ${open.high}, medium ${open.medium}, low ${open.low}`,
        ],
        ['Resolved in the period', String(findings.resolvedInPeriod)],
        ['Mean time to resolve', duration(findings.meanHoursToResolve)],
      ]);
      doc.heading('Trend and quota by month', 2);
      doc.table(
        [
          { header: 'Month', width: 1.4 },
          { header: 'New findings', width: 1.4, align: 'right' },
          { header: 'Resolved', width: 1.2, align: 'right' },
          { header: 'Tokens used', width: 1.4, align: 'right' },
          { header: 'Limit', width: 1.2, align: 'right' },
          { header: 'Use', width: 1, align: 'right' },
        ],
        months.map((m) => [
          m.month,
          String(m.found),
          String(m.resolved),
          String(m.tokensUsed),
          String(m.tokenLimit),
          percent(m.tokensUsed, m.tokenLimit),
        ]),
      );
      doc.paragraph(
        `Plan: ${plan.name}. Findings open now are those open or triaged; the trend counts findings first seen and resolved in each month (UTC). Mean time to resolve is from first seen to resolved, over the findings resolved in the period.`,
        { muted: true, size: 8.5 },
      );
    },
  );
  await progress(95);
  return { pdf, summary };
}
