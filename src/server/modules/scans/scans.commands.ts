import { randomUUID } from 'node:crypto';
import type { FindingCreatedData, ScanCompletedData, ScanStartedData } from '../../../contracts/events.ts';
import { orgAccess } from '../../platform/access/guard.ts';
import { eventActor } from '../../platform/actor.ts';
import { type CommandContext, defineCommand } from '../../platform/command.ts';
import { assertFound } from '../../platform/errors/app-error.ts';
import { findApplication, lockOrgApplications } from '../applications/index.ts';
import { evaluatePolicies, type PolicyResult } from '../policies/index.ts';
import { readModuleCosts, type ScanModule, spendTokens } from '../quota/index.ts';
import {
  deleteScanRow,
  insertScan,
  insertScanSarif,
  linkScanFindings,
  lockScan,
  type SeverityCounts,
  upsertFindings,
} from './scans.repository.ts';
import type { ParsedFinding } from './scans.sarif.ts';

/** How many finding ids a policy violation carries in the answer and the scan's row. */
export const VIOLATION_IDS_SHOWN = 100;

export interface NewScanInput {
  applicationId: string;
  modules: ScanModule[];
  /** The validated log's findings and its gzip, or none for a scan whose results come later. */
  results?: { findings: ParsedFinding[]; tools: string[]; gzip: Buffer; bytes: number };
}

export interface CreatedScan {
  id: string;
  applicationId: string;
  status: 'pending' | 'completed';
  modules: ScanModule[];
  tokens: number;
  findings: SeverityCounts;
  policy: PolicyResult & { violations: Array<PolicyResult['violations'][number] & { findingCount: number }> };
  createdAt: Date;
}

const noFindings = (): SeverityCounts => ({ total: 0, critical: 0, high: 0, medium: 0, low: 0 });

/**
 * A scan of one application: its tokens are taken from the month's pool (and the member's and
 * department's budgets) in the same transaction that records it and its findings, so a scan the
 * quota cannot cover leaves nothing behind. The spend comes last: spenders of one org queue on
 * the pool's row only for the moment it takes, not for a whole ingestion.
 */
export const createScan = defineCommand({
  action: 'scan.created',
  permission: 'scans:create',
  alsoRecords: ['finding.reopened', 'quota.threshold_reached'],
  async run(ctx, input: NewScanInput): Promise<CreatedScan> {
    const started = Date.now();
    const access = orgAccess(ctx);
    const orgId = access.orgId;
    // Held (KEY SHARE) until commit: a deletion of the application waits for the scan and takes
    // it with it, instead of leaving the scan's rows to fail their foreign key (a 500). Scans of
    // one application still run side by side.
    await lockOrgApplications(ctx.tx, orgId, [input.applicationId]);
    const application = await findApplication(ctx.tx, orgId, input.applicationId);
    // Another organization's application is as unknown as one that never existed.
    assertFound(application, 'application');
    const costs = await readModuleCosts(ctx.tx);
    const charges = input.modules.map((module) => ({ module, tokens: costs[module] }));
    const tokens = charges.reduce((sum, c) => sum + c.tokens, 0);
    const scanId = randomUUID();
    const at = new Date();

    const counts = noFindings();
    let policy: PolicyResult = { passed: true, violations: [] };
    let seen: Awaited<ReturnType<typeof upsertFindings>> = [];
    if (input.results) {
      seen = await upsertFindings(ctx.tx, orgId, input.applicationId, scanId, input.results.findings, at);
      for (const f of seen) counts[f.severity]++;
      counts.total = seen.length;
      policy = await evaluatePolicies(
        ctx.tx,
        orgId,
        { applicationId: input.applicationId, modules: input.modules },
        seen,
      );
    }
    const shownPolicy = {
      passed: policy.passed,
      violations: policy.violations.map((v) => ({
        ...v,
        findingIds: v.findingIds.slice(0, VIOLATION_IDS_SHOWN),
        findingCount: v.findingIds.length,
      })),
    };
    const status = input.results ? ('completed' as const) : ('pending' as const);
    await insertScan(ctx.tx, {
      id: scanId,
      orgId,
      applicationId: input.applicationId,
      modules: input.modules,
      status,
      tokens,
      createdBy: access.userId,
      tokenId: access.tokenId ?? null,
      tools: input.results?.tools ?? [],
      counts,
      policy: shownPolicy,
      createdAt: at,
    });
    if (input.results) {
      await linkScanFindings(
        ctx.tx,
        orgId,
        scanId,
        seen.map((f) => f.id),
      );
      await insertScanSarif(ctx.tx, orgId, scanId, input.results.gzip, input.results.bytes);
    }

    const spent = await spendTokens(ctx.tx, { orgId, userId: access.userId, scanId, charges, at });

    ctx.record({
      target: { type: 'scan', id: scanId, name: application.name },
      after: {
        applicationId: input.applicationId,
        modules: input.modules,
        status,
        tokens,
        findings: counts,
        policyPassed: policy.passed,
      },
    });
    for (const f of seen) {
      if (!f.reopened) continue;
      ctx.record({
        action: 'finding.reopened',
        actor: { type: 'system' },
        target: { type: 'finding', id: f.id, name: f.title },
        before: { status: 'resolved' },
        after: { status: 'open', scanId, applicationId: input.applicationId },
      });
    }
    await emitScanEvents(ctx, {
      orgId,
      scanId,
      application: { id: application.id, name: application.name },
      modules: input.modules,
      tokens,
      tools: input.results?.tools ?? [],
      at,
      counts,
      policy,
      results: input.results ? seen : undefined,
      durationMs: Date.now() - started,
    });
    for (const percent of spent.thresholdsReached) {
      ctx.record({
        action: 'quota.threshold_reached',
        target: { type: 'organization', id: orgId, name: access.orgName },
        after: { percent, month: spent.month, used: spent.used, limit: spent.limit },
      });
    }
    return {
      id: scanId,
      applicationId: input.applicationId,
      status,
      modules: input.modules,
      tokens,
      findings: counts,
      policy: shownPolicy,
      createdAt: at,
    };
  },
});

/**
 * A scan's events, emitted with it: `scan.started`; with results, `scan.completed` and one
 * `finding.created` per finding it saw first. They travel together in few outbox rows (however
 * many findings), in this order.
 */
async function emitScanEvents(
  ctx: CommandContext,
  scan: {
    orgId: string;
    scanId: string;
    application: { id: string; name: string };
    modules: ScanModule[];
    tokens: number;
    tools: string[];
    at: Date;
    counts: SeverityCounts;
    policy: PolicyResult;
    results: Awaited<ReturnType<typeof upsertFindings>> | undefined;
    durationMs: number;
  },
): Promise<void> {
  const { orgId, scanId, application, at } = scan;
  const createdAt = at.toISOString();
  const started: ScanStartedData = {
    orgId,
    scan: { id: scanId, modules: scan.modules, tokens: scan.tokens, createdAt },
    application,
    startedBy: eventActor(ctx.actor),
  };
  const events: Array<{ type: string; orgId: string; data: Record<string, unknown>; at?: Date }> = [
    { type: 'scan.started', orgId, data: { ...started }, at },
  ];
  if (scan.results) {
    const created = scan.results.filter((f) => f.created);
    const completed: ScanCompletedData = {
      orgId,
      scan: {
        id: scanId,
        status: 'completed',
        modules: scan.modules,
        tokens: scan.tokens,
        tools: scan.tools,
        createdAt,
        completedAt: createdAt,
      },
      application,
      counts: scan.counts,
      newFindings: created.length,
      modules: scan.modules,
      durationMs: scan.durationMs,
      policy: { passed: scan.policy.passed, violations: scan.policy.violations.length },
    };
    events.push({ type: 'scan.completed', orgId, data: { ...completed } });
    for (const f of created) {
      const data: FindingCreatedData = {
        orgId,
        finding: {
          id: f.id,
          applicationId: application.id,
          ruleId: f.parsed.ruleId,
          title: f.title,
          severity: f.severity,
          status: 'open',
          location: f.parsed.location,
          fingerprint: f.parsed.fingerprint,
          tool: f.parsed.tool,
          firstSeenAt: createdAt,
        },
        scan: { id: scanId },
        application,
      };
      events.push({ type: 'finding.created', orgId, data: { ...data }, at });
    }
  }
  await ctx.emitMany(events);
}

/** Deletes a scan and what only it held (its links, its stored log); findings and spent tokens stay. */
export const deleteScan = defineCommand({
  action: 'scan.deleted',
  permission: 'scans:delete',
  async run(ctx, input: { id: string }): Promise<void> {
    const orgId = orgAccess(ctx).orgId;
    const scan = await lockScan(ctx.tx, orgId, input.id);
    assertFound(scan, 'scan');
    await deleteScanRow(ctx.tx, orgId, input.id);
    ctx.record({
      target: { type: 'scan', id: scan.id },
      before: { applicationId: scan.applicationId, modules: scan.modules, tokens: scan.tokens },
    });
  },
});
