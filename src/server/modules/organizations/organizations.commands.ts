import { createHash, randomBytes } from 'node:crypto';
import { entitlements, isPlan, PLAN_CATALOG, PLANS } from '../../../contracts/plans.ts';
import { OWNER_ROLE } from '../../../contracts/roles.ts';
import { invalidateMemberships, ORGS_CACHE } from '../../platform/access/access.ts';
import { allowlistOf, isAllowed, parseCidr } from '../../platform/access/cidr.ts';
import { orgAccess } from '../../platform/access/guard.ts';
import { type CommandContext, defineCommand } from '../../platform/command.ts';
import {
  AppError,
  ConflictError,
  PermissionDeniedError,
  RateLimitedError,
  UnauthenticatedError,
  ValidationError,
} from '../../platform/errors/app-error.ts';
import { actorMeetsTwoFactor, lockUser } from '../accounts/index.ts';
import { revokeTokens } from '../api-tokens/index.ts';
// The file, not the billing module's index: billing depends on this module, not the reverse.
import { PlanSelectionError, startSubscription } from '../billing/billing.subscription.apply.ts';
import { admitMember, assertMayOwnAnother } from '../members/index.ts';
import { insertBuiltinRoles } from '../roles/index.ts';
import {
  creationWaitSeconds,
  deleteLogo,
  findOrg,
  findSecurity,
  insertOrg,
  isSlugTaken,
  markOrgDeleted,
  type OrgProfileChanges,
  type OrgRow,
  type OrgSecurity,
  updateOrg,
  updateSecurity,
  upsertLogo,
} from './organizations.repository.ts';

const MAX_SLUG_LENGTH = 40;

/** A live organization's slug is unique (case-insensitive); a concurrent taker wins at insert. */
const slugIsUnique = {
  organizations_slug_key: () => new ConflictError('The slug is taken by another organization.', 'slug_taken'),
};

/** A slug from a name: lowercase ASCII letters, digits and single dashes. */
export function slugFromName(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_SLUG_LENGTH)
    .replace(/-+$/, '');
  return slug.length >= 2 ? slug : `org-${slug}`.replace(/-+$/, '');
}

export const snapshot = (o: OrgRow) => ({
  slug: o.slug,
  name: o.name,
  description: o.description,
  contactEmail: o.contactEmail,
  website: o.website,
  industry: o.industry,
  teamEmails: o.teamEmails,
  invoiceRecipients: o.invoiceRecipients,
  plan: o.plan,
});

/** An organization as the audit trail names it (its name as of the change). */
export const orgTarget = (o: Pick<OrgRow, 'id' | 'name'>) => ({
  type: 'organization',
  id: o.id,
  name: o.name,
});

/** How many organizations one user may create and own (the server's settings). */
export interface CreationLimits {
  maxCreatedPerUserPerDay: number;
  maxOwnedPerUser: number;
}

export const createOrganization = defineCommand({
  action: 'org.created',
  constraints: slugIsUnique,
  async run(
    ctx,
    input: OrgProfileChanges & {
      name: string;
      slug?: string;
      plan: string;
      limits: CreationLimits;
      /** PLAN_SELECTION: under `operator`, organizations start on the free plan only. */
      planSelection?: 'open' | 'operator';
    },
  ) {
    if (ctx.actor.type !== 'user') throw new UnauthenticatedError();
    if (input.planSelection === 'operator' && input.plan !== 'free') throw new PlanSelectionError();
    // The user's row lock serializes their creations: concurrent ones cannot all pass the limits.
    if (!(await lockUser(ctx.tx, ctx.actor.userId))) throw new UnauthenticatedError();
    const { limits, planSelection: _planSelection, ...fields } = input;
    const wait = await creationWaitSeconds(ctx.tx, ctx.actor.userId, limits.maxCreatedPerUserPerDay);
    if (wait !== undefined) {
      throw new RateLimitedError(
        wait,
        `You may create ${limits.maxCreatedPerUserPerDay} organizations a day; try again later.`,
      );
    }
    await assertMayOwnAnother(ctx.tx, ctx.actor.userId, limits.maxOwnedPerUser);
    const explicitSlug = input.slug !== undefined;
    const derived = slugFromName(input.name);
    const suffixed = () =>
      `${derived.slice(0, MAX_SLUG_LENGTH - 7).replace(/-+$/, '')}-${randomBytes(3).toString('hex')}`;
    let slug = fields.slug ?? derived;
    if (!explicitSlug && (await isSlugTaken(ctx.tx, slug))) slug = suffixed();
    let created = await insertOrg(ctx.tx, { ...fields, slug, createdBy: ctx.actor.userId });
    // A derived slug that a concurrent creation took after the check above: the caller named no
    // slug, so take another rather than refuse.
    for (let attempt = 0; !created && !explicitSlug && attempt < 3; attempt++) {
      slug = suffixed();
      created = await insertOrg(ctx.tx, { ...fields, slug, createdBy: ctx.actor.userId });
    }
    if (!created) throw new ConflictError(`The slug "${slug}" is taken.`, 'slug_taken');
    const roles = await insertBuiltinRoles(ctx.tx, created.id);
    const owner = roles.find((r) => r.slug === OWNER_ROLE)!;
    await admitMember(ctx.tx, created.id, ctx.actor.userId, owner.id);
    // The creator's cached memberships (all of them, one entry) do not have this org yet.
    await invalidateMemberships(ctx, created.id, [ctx.actor.userId]);
    // A paid plan from the start is billed as an upgrade from free would be: a period from today.
    if (isPlan(input.plan)) await startSubscription(ctx.tx, created.id, input.plan);
    const org = (await findOrg(ctx.tx, created.id))!;
    ctx.record({ orgId: org.id, target: orgTarget(org), after: snapshot(org) });
    return { org, role: OWNER_ROLE };
  },
});

export const updateOrganization = defineCommand({
  action: 'org.updated',
  constraints: slugIsUnique,
  permission: 'settings:update',
  orgLock: 'exclusive',
  async run(ctx, input: OrgProfileChanges) {
    const { orgId } = orgAccess(ctx);
    const before = (await findOrg(ctx.tx, orgId))!;
    const held = before as Record<string, unknown>;
    if (Object.entries(input).every(([key, value]) => JSON.stringify(held[key]) === JSON.stringify(value))) {
      ctx.unchanged();
      return before;
    }
    if (input.slug !== undefined && (await isSlugTaken(ctx.tx, input.slug, orgId))) {
      throw new ConflictError(`The slug "${input.slug}" is taken.`, 'slug_taken');
    }
    await updateOrg(ctx.tx, orgId, input);
    const after = (await findOrg(ctx.tx, orgId))!;
    if (input.name !== undefined || input.slug !== undefined) await ctx.invalidate(ORGS_CACHE, orgId);
    ctx.record({
      target: orgTarget(after),
      before: snapshot(before),
      after: snapshot(after),
    });
    return after;
  },
});

export const setLogo = defineCommand({
  action: 'org.logo_changed',
  permission: 'settings:update',
  async run(ctx, input: { contentType: string; bytes: Buffer }) {
    const { orgId, orgName } = orgAccess(ctx);
    const sha256 = createHash('sha256').update(input.bytes).digest('hex');
    await upsertLogo(ctx.tx, orgId, { contentType: input.contentType, bytes: input.bytes, sha256 });
    ctx.record({
      target: { type: 'organization', id: orgId, name: orgName },
      after: { logo: { contentType: input.contentType, bytes: input.bytes.length, sha256 } },
    });
  },
});

export const removeLogo = defineCommand({
  action: 'org.logo_removed',
  permission: 'settings:update',
  async run(ctx) {
    const { orgId, orgName } = orgAccess(ctx);
    const removed = await deleteLogo(ctx.tx, orgId);
    ctx.record({
      target: { type: 'organization', id: orgId, name: orgName },
      after: { logoRemoved: removed },
    });
  },
});

/**
 * Deletion ends every member's access at once (the org is no longer live) and frees the slug.
 * The rows stay, for the operator and the audit trail, until the data is purged.
 */
export const deleteOrganization = defineCommand({
  action: 'org.deleted',
  permission: 'org:delete',
  orgLock: 'exclusive',
  async run(ctx) {
    const { orgId, roleSlug, userId } = orgAccess(ctx);
    // Deletion is the Owner's alone, whatever another role was given.
    if (roleSlug !== OWNER_ROLE) throw new PermissionDeniedError('org:delete');
    const before = (await findOrg(ctx.tx, orgId))!;
    await endOrganization(ctx, orgId, userId);
    ctx.record({ target: orgTarget(before), before: snapshot(before) });
  },
});

/**
 * What deleting an organization does, whoever deletes it (its Owner through the API, an operator
 * from the CLI): the row is marked deleted, so every member's access ends on every instance at
 * commit and the slug is free; its tokens are revoked. Call with the organization locked.
 */
export async function endOrganization(
  ctx: Pick<CommandContext, 'tx' | 'invalidate'>,
  orgId: string,
  revokedBy: string | null,
): Promise<void> {
  await markOrgDeleted(ctx.tx, orgId);
  await ctx.invalidate(ORGS_CACHE, orgId);
  // Its tokens die with it (personal ones would otherwise still read their owner's account).
  await revokeTokens(ctx, { orgId }, revokedBy);
}

/** The idle minutes every plan may choose (the product's default); others are Enterprise's. */
export const STANDARD_IDLE_MINUTES = 30;
/** Blocks one allowlist may hold: room for every office and VPN, not a place for a blocklist. */
export const MAX_ALLOWLIST_ENTRIES = 100;

const PLAN_FEATURE_WORDS = {
  ipAllowlist: 'An IP allowlist',
  customSessionTimeout: 'An idle timeout other than 30 minutes',
  fixVerification: 'Fix verification',
  deepAiEnrichment: 'Deep AI enrichment',
} as const;

/** A setting the org's plan lacks: 403 `plan_limit`, naming the plan that has it. */
export class PolicyPlanError extends AppError {
  constructor(feature: keyof typeof PLAN_FEATURE_WORDS, plan: string) {
    const needs = PLANS.find((p) => PLAN_CATALOG[p][feature]);
    const what = PLAN_FEATURE_WORDS[feature];
    super(
      403,
      'plan_limit',
      'Plan limit reached',
      `${what} is not part of the ${entitlements(plan).name} plan${needs ? `; it needs the ${PLAN_CATALOG[needs].name} plan` : ''}.`,
      { params: { feature, plan, ...(needs ? { requiredPlan: needs } : {}) } },
    );
  }
}

/** The change would refuse the one making it: 409 `would_lock_out`, saying why. */
export class WouldLockOutError extends AppError {
  constructor(reason: 'ip_allowlist' | 'two_factor' | 'sso', address: string | null) {
    super(
      409,
      'would_lock_out',
      'Conflict',
      reason === 'ip_allowlist'
        ? `Your own address (${address ?? 'unknown'}) is outside the new allowlist: this change would lock you out. Add it first.`
        : reason === 'sso'
          ? 'You are not signed in through this organization’s identity provider: enforcing SSO would lock you out. Sign in with SSO first (the test sign-in shows whether it works), then enforce it.'
          : 'You use neither two-factor authentication nor a passkey sign-in yourself: requiring it would lock you out. Turn two-factor authentication on for your account, or sign in with a passkey, first.',
      { params: { reason, ...(reason === 'ip_allowlist' ? { address } : {}) } },
    );
  }
}

/**
 * The allowlist as stored: each entry parsed and written canonically, duplicates (after
 * normalising) dropped, order kept. Bad entries are named by their index in what was sent.
 */
export function normalizeAllowlist(entries: readonly string[]): string[] {
  const errors: Array<{ field: string; message: string; reason: string; params?: Record<string, unknown> }> =
    [];
  if (entries.length > MAX_ALLOWLIST_ENTRIES) {
    errors.push({
      field: '/body/ipAllowlist',
      message: `must have at most ${MAX_ALLOWLIST_ENTRIES} entries`,
      reason: 'maxItems',
      params: { limit: MAX_ALLOWLIST_ENTRIES },
    });
  }
  const out: string[] = [];
  entries.forEach((entry, i) => {
    const cidr = parseCidr(entry);
    if (cidr === 'cidr_invalid') {
      errors.push({
        field: `/body/ipAllowlist/${i}`,
        message: 'is not an IP address or CIDR block',
        reason: cidr,
      });
    } else if (cidr === 'cidr_host_bits') {
      errors.push({
        field: `/body/ipAllowlist/${i}`,
        message: 'has bits set past its prefix length (write the network address)',
        reason: cidr,
      });
    } else if (!out.includes(cidr.text)) {
      out.push(cidr.text);
    }
  });
  if (errors.length > 0) throw new ValidationError(errors);
  return out;
}

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Settings → Security. The org's row is held exclusively, so two admins' changes apply one after
 * the other and each entry's before/after is exact. The org's cached entry (policy included) is
 * dropped on every instance at commit: the allowlist, require-2FA and every member's idle limit
 * (derived from it, see AccessResolver.idleLimit) hold from the next request on.
 */
export const updateSecurityPolicy = defineCommand({
  action: 'org.security_updated',
  permission: 'settings:update',
  orgLock: 'exclusive',
  async run(ctx, input: Partial<OrgSecurity>): Promise<OrgSecurity> {
    const { orgId, orgName, plan } = orgAccess(ctx);
    const before = (await findSecurity(ctx.tx, orgId))!;
    const after: OrgSecurity = {
      require2fa: input.require2fa ?? before.require2fa,
      sessionIdleMinutes:
        input.sessionIdleMinutes !== undefined ? input.sessionIdleMinutes : before.sessionIdleMinutes,
      ipAllowlist:
        input.ipAllowlist !== undefined ? normalizeAllowlist(input.ipAllowlist) : before.ipAllowlist,
    };
    const allowlistChanged = !sameList(after.ipAllowlist, before.ipAllowlist);
    const idleChanged = after.sessionIdleMinutes !== before.sessionIdleMinutes;
    if (!allowlistChanged && !idleChanged && after.require2fa === before.require2fa) {
      ctx.unchanged();
      return before;
    }
    // Only what changes is gated: an org that left Enterprise may still clear what it set then.
    const { ipAllowlist: mayAllowlist, customSessionTimeout } = entitlements(plan);
    if (allowlistChanged && after.ipAllowlist.length > 0 && !mayAllowlist)
      throw new PolicyPlanError('ipAllowlist', plan);
    if (
      idleChanged &&
      after.sessionIdleMinutes !== null &&
      after.sessionIdleMinutes !== STANDARD_IDLE_MINUTES &&
      !customSessionTimeout
    ) {
      throw new PolicyPlanError('customSessionTimeout', plan);
    }
    // Whoever makes the change must still get in afterwards, by the rules the door applies.
    if (
      allowlistChanged &&
      after.ipAllowlist.length > 0 &&
      !isAllowed(allowlistOf(after.ipAllowlist)!, ctx.meta.ip ?? undefined)
    ) {
      throw new WouldLockOutError('ip_allowlist', ctx.meta.ip);
    }
    if (after.require2fa && !before.require2fa && ctx.actor.type === 'user') {
      // Locked: turning 2FA off (which an org requiring it refuses) waits for this to commit.
      const user = await lockUser(ctx.tx, ctx.actor.userId);
      if (!user || !(await actorMeetsTwoFactor(ctx, user))) throw new WouldLockOutError('two_factor', null);
    }
    await updateSecurity(ctx.tx, orgId, after);
    await ctx.invalidate(ORGS_CACHE, orgId);
    ctx.record({
      target: { type: 'organization', id: orgId, name: orgName },
      before: { ...before },
      after: { ...after },
    });
    return after;
  },
});
