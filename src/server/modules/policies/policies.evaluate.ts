import { eq } from 'drizzle-orm';
import { FINDING_SEVERITIES, type FindingSeverity, severityRank } from '../../../contracts/findings.ts';
import type { Executor } from '../../platform/db/client.ts';
import { policies } from '../../platform/db/schema.ts';

/** The severities most severe first, as the contract has them. */
export const SEVERITIES = FINDING_SEVERITIES;
export type Severity = FindingSeverity;

/** A finding fails a policy when its rank is at least the policy's `failOn`. */
export { severityRank };

/** Statuses that no longer fail a build: the team judged the finding harmless or fixed. */
const SETTLED = new Set(['false_positive', 'resolved']);

export interface PolicyViolation {
  policyId: string;
  name: string;
  failOn: Severity;
  findingIds: string[];
}

export interface PolicyResult {
  passed: boolean;
  violations: PolicyViolation[];
}

/**
 * Whether a scan passes every policy of its org that applies to it: a policy applies when its
 * modules (none: all) share one with the scan's and its applications (none: all) include the
 * scan's. It fails on any finding the scan saw at or above its `failOn` that is not settled
 * (false positive or resolved).
 */
export async function evaluatePolicies(
  tx: Executor,
  orgId: string,
  scan: { applicationId: string; modules: readonly string[] },
  seen: readonly { id: string; severity: Severity; status: string }[],
): Promise<PolicyResult> {
  const rows = await tx
    .select({
      id: policies.id,
      name: policies.name,
      failOn: policies.failOn,
      modules: policies.modules,
      applicationIds: policies.applicationIds,
    })
    .from(policies)
    .where(eq(policies.orgId, orgId))
    .orderBy(policies.createdAt, policies.id);
  const violations: PolicyViolation[] = [];
  for (const policy of rows) {
    const modulesApply = policy.modules.length === 0 || policy.modules.some((m) => scan.modules.includes(m));
    const appApplies =
      policy.applicationIds.length === 0 || policy.applicationIds.includes(scan.applicationId);
    if (!modulesApply || !appApplies) continue;
    const threshold = severityRank(policy.failOn as Severity);
    const findingIds = seen
      .filter((f) => !SETTLED.has(f.status) && severityRank(f.severity) >= threshold)
      .map((f) => f.id);
    if (findingIds.length > 0) {
      violations.push({
        policyId: policy.id,
        name: policy.name,
        failOn: policy.failOn as Severity,
        findingIds,
      });
    }
  }
  return { passed: violations.length === 0, violations };
}
