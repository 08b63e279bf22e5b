import { isPlan } from '../../../contracts/plans.ts';
import { OWNER_ROLE } from '../../../contracts/roles.ts';
import { invalidateMemberships, ORGS_CACHE } from '../../platform/access/access.ts';
import { USERS_CACHE } from '../../platform/auth/sessions.ts';
import { type CommandContext, defineCommand } from '../../platform/command.ts';
import { AppError, ConflictError, UnauthenticatedError } from '../../platform/errors/app-error.ts';
import { lockJob, reviveJob } from '../../platform/outbox/index.ts';
import {
  findUserByEmail,
  lockUserByEmail,
  mailSecurityNotice,
  resetTwoFactor,
  setUserDisabled,
} from '../accounts/index.ts';
import { carryOutPlanChange, preparePlanChange } from '../billing/index.ts';
import {
  admitMember,
  alertOwnersOfPromotion,
  assertMayOwnAnother,
  emitMemberAdded,
  emitRoleChanged,
  grantSsoBypass,
  lockMember,
  setMemberRole,
} from '../members/index.ts';
import {
  endOrganization,
  isSlugTaken,
  lockDeletedOrgs,
  lockLiveOrgBySlug,
  orgTarget,
  restoreOrgRow,
  setOrgSuspended,
} from '../organizations/index.ts';
import { SCAN_MODULES, type ScanModule, setModuleCost } from '../quota/index.ts';
import { findRoleBySlug } from '../roles/index.ts';

/**
 * What the installation's operators do from the CLI, on the server's own database: suspend,
 * unsuspend, delete and re-plan organizations, disable and enable accounts, and make someone an
 * Owner of an organization (break-glass). Each runs as `{type: 'operator'}` and records the
 * operator's reason in its entry: in the organization's log for what concerns one, else in the
 * installation's.
 */

/** What an operator named does not exist (the CLI answers it as a usage error). */
export class OperatorNotFoundError extends AppError {
  constructor(detail: string) {
    super(404, 'not_found', 'Not found', detail);
  }
}

/** What an operator named is not one thing (the CLI answers it as a usage error). */
export class OperatorAmbiguousError extends AppError {
  constructor(detail: string) {
    super(400, 'validation_failed', 'Ambiguous', detail);
  }
}

interface Reasoned {
  /** Why, in the operator's words: kept in the entry's `after`. */
  reason: string;
}

function asOperator(ctx: CommandContext): void {
  // Only the CLI runs these, as the operator; nothing else may borrow them.
  if (ctx.actor.type !== 'operator') throw new UnauthenticatedError();
}

async function liveOrg(ctx: CommandContext, slug: string) {
  const org = await lockLiveOrgBySlug(ctx.tx, slug);
  if (!org) throw new OperatorNotFoundError(`No live organization has the slug "${slug}".`);
  return org;
}

async function account(ctx: CommandContext, email: string) {
  const user = await lockUserByEmail(ctx.tx, email);
  if (!user) throw new OperatorNotFoundError(`No account has the email ${email}.`);
  return user;
}

/** Set or lift a suspension; `changed` false when it already was as asked (nothing recorded). */
async function suspension(ctx: CommandContext, input: Reasoned & { slug: string }, suspended: boolean) {
  asOperator(ctx);
  const org = await liveOrg(ctx, input.slug);
  if (org.suspended === suspended) {
    ctx.unchanged();
    return { org, changed: false };
  }
  await setOrgSuspended(ctx.tx, org.id, suspended);
  // Every instance decides its next request to the org afresh.
  await ctx.invalidate(ORGS_CACHE, org.id);
  ctx.record({
    orgId: org.id,
    target: orgTarget(org),
    before: { suspended: !suspended },
    after: { suspended, reason: input.reason },
  });
  return { org, changed: true };
}

export const suspendOrganization = defineCommand({
  action: 'org.suspended',
  run: (ctx, input: Reasoned & { slug: string }) => suspension(ctx, input, true),
});

export const unsuspendOrganization = defineCommand({
  action: 'org.unsuspended',
  run: (ctx, input: Reasoned & { slug: string }) => suspension(ctx, input, false),
});

/**
 * The same change as a billing manager's (billing.subscription): the plan on the org, the
 * subscription's period, credit and a plan_change invoice for a positive amount due, the cycle
 * kept. The operator overrides what the org uses beyond the new plan (members over its limit,
 * custom roles, SCIM tokens…): the change goes ahead, and the answer lists them so the operator
 * can tell the org what to undo; the entry records them too.
 */
export const changeOrganizationPlan = defineCommand({
  action: 'org.plan_changed',
  async run(ctx, input: Reasoned & { slug: string; plan: string }) {
    asOperator(ctx);
    if (!isPlan(input.plan)) throw new OperatorNotFoundError(`There is no plan "${input.plan}".`);
    const org = await liveOrg(ctx, input.slug);
    if (org.plan === input.plan) {
      ctx.unchanged();
      return { org, changed: false, blockers: [], amountDue: 0, invoiceNumber: null };
    }
    // The cycle stays as it is: only the plan is the operator's to set here.
    const prepared = await preparePlanChange(
      ctx.tx,
      org.id,
      org.plan,
      { plan: input.plan },
      {
        planSelection: 'operator',
        byOperator: true,
        lock: true,
      },
    );
    const { invoice, after } = await carryOutPlanChange(ctx, org.id, org.plan, prepared);
    const blockers = prepared.blockers.map((b) => ({ kind: b.kind, count: b.count, detail: b.detail }));
    ctx.record({
      orgId: org.id,
      target: orgTarget(org),
      before: { plan: org.plan },
      after: {
        plan: input.plan,
        reason: input.reason,
        amountDue: after.amountDue,
        invoiceNumber: after.invoiceNumber,
        ...(blockers.length > 0 ? { overridden: blockers } : {}),
      },
    });
    return {
      org: { ...org, plan: input.plan },
      changed: true,
      blockers,
      amountDue: after.amountDue,
      invoiceNumber: invoice?.number ?? null,
    };
  },
});

/** The same deletion as an Owner's through the API (endOrganization), by an operator. */
export const deleteOrganizationAsOperator = defineCommand({
  action: 'org.deleted',
  async run(ctx, input: Reasoned & { slug: string }) {
    asOperator(ctx);
    const org = await liveOrg(ctx, input.slug);
    await endOrganization(ctx, org.id, null);
    ctx.record({
      orgId: org.id,
      target: orgTarget(org),
      before: { slug: org.slug, name: org.name, plan: org.plan },
      after: { reason: input.reason },
    });
    return { org };
  },
});

const DAY_MS = 86_400_000;

/**
 * Brings a deleted organization back within its grace period (ORG_PURGE_GRACE_DAYS; after it,
 * the purge takes its data): live again with its members, roles and data as they were, under its
 * slug, or under `slug` when another organization has taken its own since. Its tokens stay
 * revoked (deletion revoked them; nobody could vouch for a token brought back). Named by id, or by
 * slug when only one deleted organization had it.
 */
export const restoreOrganization = defineCommand({
  action: 'org.restored',
  constraints: {
    organizations_slug_key: () =>
      new ConflictError(
        'Another organization took the slug meanwhile: try again, or choose another with --slug.',
      ),
  },
  async run(ctx, input: Reasoned & { org: string; slug?: string; graceDays: number; now?: Date }) {
    asOperator(ctx);
    const found = await lockDeletedOrgs(ctx.tx, input.org);
    if (found.length === 0) {
      throw new OperatorNotFoundError(
        `No deleted organization has the id or slug "${input.org}" (one already purged cannot be restored).`,
      );
    }
    if (found.length > 1) {
      throw new OperatorAmbiguousError(
        `${found.length} deleted organizations had the slug "${input.org}": name one by its id (` +
          found.map((o) => `${o.id}, deleted ${o.deletedAt.toISOString()}`).join('; ') +
          ').',
      );
    }
    const org = found[0]!;
    const purgeFrom = new Date(org.deletedAt.getTime() + input.graceDays * DAY_MS);
    if ((input.now ?? new Date()) >= purgeFrom) {
      throw new ConflictError(
        `${org.slug} was deleted on ${org.deletedAt.toISOString()}, more than ${input.graceDays} days ago ` +
          '(ORG_PURGE_GRACE_DAYS): its grace period is over and its data is being purged; it cannot be restored.',
      );
    }
    const slug = input.slug ?? org.slug;
    if (await isSlugTaken(ctx.tx, slug)) {
      throw new ConflictError(
        input.slug
          ? `The slug "${slug}" is taken by a live organization: choose another with --slug.`
          : `The slug "${slug}" was taken by another organization after ${org.slug} was deleted: ` +
              'restore it under another one with --slug <new-slug>.',
        'slug_taken',
      );
    }
    await restoreOrgRow(ctx.tx, org.id, input.slug);
    // Every instance lets its members in again from the next request.
    await ctx.invalidate(ORGS_CACHE, org.id);
    ctx.record({
      orgId: org.id,
      target: orgTarget(org),
      before: { deletedAt: org.deletedAt.toISOString(), slug: org.slug },
      after: { deletedAt: null, slug, reason: input.reason },
    });
    return { org: { ...org, slug }, previousSlug: org.slug };
  },
});

/**
 * Disabling ends the account's sessions at once; its personal tokens are refused while it stays
 * disabled (not revoked: enabling it gives them back, and its owner can revoke them then), and
 * signing in is refused as a wrong password is.
 */
export const disableUser = defineCommand({
  action: 'user.disabled',
  async run(ctx, input: Reasoned & { email: string }) {
    asOperator(ctx);
    // The row lock orders this against a sign-in in flight: it commits first (and its session
    // ends here) or sees the account disabled.
    const user = await account(ctx, input.email);
    if (user.disabled) {
      ctx.unchanged();
      return { user, changed: false, sessionsEnded: 0 };
    }
    await setUserDisabled(ctx.tx, user.id, true);
    const sessionsEnded = await ctx.services.sessions.revoke(ctx, user.id);
    // Sessions and personal tokens look the account up through this cache on every request.
    await ctx.invalidate(USERS_CACHE, user.id);
    ctx.record({
      target: { type: 'user', id: user.id, email: user.email, name: user.name },
      before: { disabled: false },
      after: { disabled: true, sessionsEnded, reason: input.reason },
    });
    return { user, changed: true, sessionsEnded };
  },
});

export const enableUser = defineCommand({
  action: 'user.enabled',
  async run(ctx, input: Reasoned & { email: string }) {
    asOperator(ctx);
    const user = await account(ctx, input.email);
    if (!user.disabled) {
      ctx.unchanged();
      return { user, changed: false };
    }
    await setUserDisabled(ctx.tx, user.id, false);
    await ctx.invalidate(USERS_CACHE, user.id);
    ctx.record({
      target: { type: 'user', id: user.id, email: user.email, name: user.name },
      before: { disabled: true },
      after: { disabled: false, reason: input.reason },
    });
    return { user, changed: true };
  },
});

/**
 * For an account whose owner lost both their authenticator and their recovery codes: 2FA is turned
 * off (secret and recovery codes gone) and every session ends, so whoever held one must sign in
 * again with the password alone, and the owner sets 2FA up afresh. The operator is expected to
 * have proven who asks (the reason says how).
 */
export const resetUserTwoFactor = defineCommand({
  action: 'user.2fa_reset',
  async run(ctx, input: Reasoned & { email: string }) {
    asOperator(ctx);
    const user = await account(ctx, input.email);
    if (!(await resetTwoFactor(ctx.tx, user.id))) {
      ctx.unchanged();
      return { user, changed: false, sessionsEnded: 0 };
    }
    const sessionsEnded = await ctx.services.sessions.revoke(ctx, user.id);
    // twoFactorEnabled is read from this cache on every request.
    await ctx.invalidate(USERS_CACHE, user.id);
    await mailSecurityNotice(ctx, user, 'two_factor_reset');
    ctx.record({
      target: { type: 'user', id: user.id, email: user.email, name: user.name },
      before: { twoFactorEnabled: true },
      after: { twoFactorEnabled: false, sessionsEnded, reason: input.reason },
    });
    return { user, changed: true, sessionsEnded };
  },
});

/**
 * Break-glass: makes an existing account an Owner of an organization, whether it is a member (its
 * role becomes Owner) or not (an active Owner membership, a removed one brought back). The cap on
 * the organizations one person may own holds here as everywhere (409 `org_limit`): the operator
 * sets that cap (ORGS_MAX_OWNED_PER_USER) and can raise it, or pick another account. The plan's
 * member limit does not stop it: the point is to give the organization back an Owner, who can
 * then make room. The organization's owners are told by email, as of every promotion.
 */
/** How long break-glass lets its Owner past the org's enforced SSO. */
export const BREAK_GLASS_SSO_BYPASS_MS = 24 * 3_600_000;

export const breakGlass = defineCommand({
  action: 'member.break_glass',
  async run(ctx, input: Reasoned & { slug: string; email: string; maxOwnedPerUser: number }) {
    asOperator(ctx);
    const org = await liveOrg(ctx, input.slug);
    // Read without its lock: the membership is locked first, then the user (assertMayOwnAnother),
    // the order every grant of ownership takes.
    const user = await findUserByEmail(ctx.tx, input.email);
    if (!user) throw new OperatorNotFoundError(`No account has the email ${input.email}.`);
    if (user.disabled) {
      throw new ConflictError(`The account ${user.email} is disabled: enable it first.`);
    }
    const member = await lockMember(ctx.tx, org.id, user.id);
    const active = member !== undefined && member.status !== 'removed';
    // The way in when the org enforces SSO and its IdP fails: for a day, this member's sessions
    // reach the org however they were signed in (granted whether or not SSO is enforced now).
    const ssoBypassUntil = new Date(Date.now() + BREAK_GLASS_SSO_BYPASS_MS);
    if (active && member.role === OWNER_ROLE) {
      await grantSsoBypass(ctx.tx, org.id, user.id, ssoBypassUntil);
      await invalidateMemberships(ctx, org.id, [user.id]);
      ctx.record({
        orgId: org.id,
        target: { type: 'member', id: user.id, email: user.email, name: user.name },
        before: { role: OWNER_ROLE, status: 'active' },
        after: {
          role: OWNER_ROLE,
          status: 'active',
          ssoBypassUntil: ssoBypassUntil.toISOString(),
          reason: input.reason,
        },
      });
      return { org, user, changed: false, was: OWNER_ROLE };
    }
    await assertMayOwnAnother(ctx.tx, user.id, input.maxOwnedPerUser, user.email);
    const owner = await findRoleBySlug(ctx.tx, org.id, OWNER_ROLE);
    if (!owner) throw new Error(`organization ${org.id} has no Owner role`);
    // The owners as they were are told (the new one knows).
    await alertOwnersOfPromotion(ctx, { orgId: org.id, orgName: org.name }, user.email, owner.name);
    if (active) await setMemberRole(ctx.tx, org.id, user.id, owner.id);
    else await admitMember(ctx.tx, org.id, user.id, owner.id);
    await grantSsoBypass(ctx.tx, org.id, user.id, ssoBypassUntil);
    await invalidateMemberships(ctx, org.id, [user.id]);
    const who = { userId: user.id, email: user.email, name: user.name };
    if (active) {
      await emitRoleChanged(ctx, org.id, who, {
        from: member.role,
        to: OWNER_ROLE,
        toName: owner.name,
        reason: 'break_glass',
      });
    } else {
      await emitMemberAdded(ctx, org.id, who, { slug: OWNER_ROLE, name: owner.name }, 'break_glass');
    }
    ctx.record({
      orgId: org.id,
      target: { type: 'member', id: user.id, email: user.email, name: user.name },
      before: active ? { role: member.role, roleName: member.roleName, status: 'active' } : null,
      after: {
        role: OWNER_ROLE,
        roleName: owner.name,
        status: 'active',
        ssoBypassUntil: ssoBypassUntil.toISOString(),
        reason: input.reason,
      },
    });
    return { org, user, changed: true, was: active ? member.role : null };
  },
});

/**
 * Tokens one scan module costs, for the whole installation (recorded in the installation's log):
 * scans made afterwards spend the new cost; those made before keep what they spent.
 */
export const changeModuleCost = defineCommand({
  action: 'module_cost.changed',
  async run(ctx, input: Reasoned & { module: string; tokens: number }) {
    asOperator(ctx);
    if (!(SCAN_MODULES as readonly string[]).includes(input.module)) {
      throw new OperatorNotFoundError(
        `There is no module "${input.module}": the modules are ${SCAN_MODULES.join(', ')}.`,
      );
    }
    const module = input.module as ScanModule;
    const { before, changed } = await setModuleCost(ctx.tx, module, input.tokens);
    if (!changed) {
      ctx.unchanged();
      return { module, tokens: input.tokens, changed: false };
    }
    ctx.record({
      target: { type: 'module_cost', id: module, name: module },
      before: { tokens: before },
      after: { tokens: input.tokens, reason: input.reason },
    });
    return { module, tokens: input.tokens, changed: true };
  },
});

/**
 * A dead outbox job (an email or a delivery given up) is due again: the servers' workers try it
 * once more, and a further failure leaves it dead. Recorded in its organization's log when it
 * belongs to one, else in the installation's; the job is named by id and kind, never by what it
 * carries.
 */
export const retryOutboxJob = defineCommand({
  action: 'outbox.job_retried',
  async run(ctx, input: Reasoned & { id: string }) {
    asOperator(ctx);
    const job = await lockJob(ctx.tx, input.id);
    if (!job) throw new OperatorNotFoundError(`No outbox job has the id ${input.id}.`);
    if (job.state !== 'dead') {
      throw new ConflictError(`The job is ${job.state}, not dead: only a job given up is retried.`);
    }
    await reviveJob(ctx.tx, job.id);
    ctx.record({
      orgId: job.orgId,
      target: { type: 'outbox_job', id: job.id, name: job.kind },
      before: { state: 'dead', attempts: job.attempts },
      after: { state: 'pending', reason: input.reason },
    });
    return job;
  },
});
