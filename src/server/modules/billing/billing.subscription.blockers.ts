import { entitlements } from '../../../contracts/plans.ts';
import type { Executor } from '../../platform/db/client.ts';
import { countSeats } from '../members/index.ts';
import { readPlanUsage } from './billing.subscription.repository.ts';

export const BLOCKER_KINDS = [
  'members',
  'custom_roles',
  'scim_tokens',
  'ip_allowlist',
  'session_timeout',
  'budgets',
] as const;
export type BlockerKind = (typeof BLOCKER_KINDS)[number];

/** Something the org uses that `plan` does not allow: to be undone before moving to it. */
export interface PlanBlocker {
  kind: BlockerKind;
  /** How many there are (members and pending invitations, assigned members, tokens, entries…). */
  count: number;
  /** The plan's limit, where it has one (members). */
  limit?: number;
  detail: string;
}

/**
 * What stands between the org and `plan`. Settings a plan merely stops honouring (fix
 * verification, deep AI enrichment) are not listed: they switch off by themselves. Security and
 * spending rules that would silently stop applying (IP allowlist, an idle timeout other than 30
 * minutes, budgets) are, as are members over the limit, custom roles in use and live SCIM tokens.
 */
export async function findPlanBlockers(db: Executor, orgId: string, plan: string): Promise<PlanBlocker[]> {
  const terms = entitlements(plan);
  const blockers: PlanBlocker[] = [];
  const [seats, usage] = await Promise.all([countSeats(db, orgId), readPlanUsage(db, orgId)]);
  if (terms.maxMembers !== null && seats > terms.maxMembers) {
    blockers.push({
      kind: 'members',
      count: seats,
      limit: terms.maxMembers,
      detail: `${seats} members and pending invitations; the ${terms.name} plan allows ${terms.maxMembers}: remove members or cancel invitations.`,
    });
  }
  if (!terms.customRoles && usage.customRoleMembers > 0) {
    blockers.push({
      kind: 'custom_roles',
      count: usage.customRoleMembers,
      detail: `${usage.customRoleMembers} member(s) hold a custom role; the ${terms.name} plan has built-in roles only: move them to a built-in role.`,
    });
  }
  if (!terms.scim && usage.liveScimTokens > 0) {
    blockers.push({
      kind: 'scim_tokens',
      count: usage.liveScimTokens,
      detail: `${usage.liveScimTokens} SCIM token(s) are live; the ${terms.name} plan has no SCIM provisioning: revoke them.`,
    });
  }
  if (!terms.ipAllowlist && usage.ipAllowlist > 0) {
    blockers.push({
      kind: 'ip_allowlist',
      count: usage.ipAllowlist,
      detail: `The IP allowlist has ${usage.ipAllowlist} entr${usage.ipAllowlist === 1 ? 'y' : 'ies'}; the ${terms.name} plan has none: clear it.`,
    });
  }
  if (!terms.customSessionTimeout && usage.customSessionTimeout) {
    blockers.push({
      kind: 'session_timeout',
      count: 1,
      detail: `The idle timeout is not 30 minutes; the ${terms.name} plan keeps the standard one: set it back.`,
    });
  }
  const budgets = usage.departmentBudgets + usage.memberBudgets;
  if (!terms.budgets && budgets > 0) {
    blockers.push({
      kind: 'budgets',
      count: budgets,
      detail: `${budgets} department or member budget(s) are set; the ${terms.name} plan has no budgets: clear them.`,
    });
  }
  return blockers;
}
