import { randomBytes } from 'node:crypto';
import type { ScimPatchOperation } from 'scim-patch';
import { entitlements } from '../../../contracts/plans.ts';
import { OWNER_ROLE } from '../../../contracts/roles.ts';
import { invalidateMemberships } from '../../platform/access/access.ts';
import type { LockedOrg } from '../../platform/access/guard.ts';
import { lockLiveOrg, orgAccess } from '../../platform/access/guard.ts';
import { hashSecret } from '../../platform/auth/secrets.ts';
import { USERS_CACHE } from '../../platform/auth/sessions.ts';
import { type CommandContext, defineCommand } from '../../platform/command.ts';
import {
  assertFound,
  ConflictError,
  PlanLimitError,
  UnauthenticatedError,
} from '../../platform/errors/app-error.ts';
import { insertUser, lockUser, lockUserByEmail, markEmailVerified } from '../accounts/index.ts';
import {
  admitMember,
  alertOwnersOfPromotion,
  assertSeatsFor,
  departOrganization,
  emitMemberAdded,
  emitRoleChanged,
  lockMember,
  setMemberRole,
} from '../members/index.ts';
import { findRoleById, findRoleBySlug, isPrivileged } from '../roles/index.ts';
import { DEFAULT_SSO_ROLE, findSsoSettings, listGroupMappings, NO_PASSWORD } from '../sso/index.ts';
import {
  addGroupMembers,
  countLiveScimTokens,
  deleteScimGroup,
  deleteScimUser,
  existingScimUserIds,
  findAccount,
  findScimUserByAccount,
  findScimUserByUserName,
  insertScimGroup,
  insertScimToken,
  insertScimUser,
  listGroupMembers,
  listGroupsOfUsers,
  listScimGroups,
  listUserGroupNames,
  lockLiveScimToken,
  lockScimGroup,
  lockScimUser,
  removeGroupMembers,
  revokeScimToken,
  type ScimUserValues,
  updateScimGroup,
  updateScimUser,
} from './scim.repository.ts';
import {
  accountEmail,
  applyPatch,
  type GroupValues,
  groupResource,
  personName,
  readGroup,
  readUser,
  ScimError,
  userResource,
} from './scim.resources.ts';

/** Live SCIM tokens an organization may hold (one per IdP app, with room for a rotation). */
export const MAX_SCIM_TOKENS = 20;
export const SCIM_TOKEN_PREFIX = 'scim_';

function requireScimPlan(plan: string): void {
  if (!entitlements(plan).scim) {
    throw new PlanLimitError(`SCIM provisioning is not part of the ${entitlements(plan).name} plan.`);
  }
}

export const createScimToken = defineCommand({
  action: 'scim_token.created',
  permission: 'sso:manage',
  // Serialized per organization, so the live-token limit holds.
  orgLock: 'exclusive',
  async run(ctx, input: { name: string }) {
    const access = orgAccess(ctx);
    if (ctx.actor.type !== 'user') throw new UnauthenticatedError();
    requireScimPlan(access.plan);
    if ((await countLiveScimTokens(ctx.tx, access.orgId)) >= MAX_SCIM_TOKENS) {
      throw new ConflictError(
        `The organization already has ${MAX_SCIM_TOKENS} SCIM tokens. Revoke one first.`,
        'token_limit',
      );
    }
    const token = SCIM_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const lastFour = token.slice(-4);
    const row = await insertScimToken(ctx.tx, {
      orgId: access.orgId,
      name: input.name,
      tokenHash: hashSecret(token),
      lastFour,
      createdBy: ctx.actor.userId,
    });
    ctx.record({
      target: { type: 'scim_token', id: row.id, name: input.name },
      after: { name: input.name },
    });
    return { id: row.id, name: input.name, createdAt: row.createdAt, lastFour, token };
  },
});

export const revokeScimTokenCommand = defineCommand({
  action: 'scim_token.revoked',
  permission: 'sso:manage',
  async run(ctx, input: { id: string }) {
    const access = orgAccess(ctx);
    const token = await revokeScimToken(ctx.tx, access.orgId, input.id);
    assertFound(token, 'token');
    ctx.record({
      target: { type: 'scim_token', id: token.id, name: token.name },
      before: { name: token.name },
    });
  },
});

// ---- what the identity provider does (actor `scim`) ----

/**
 * The org of the SCIM token that acts, locked (every SCIM change of one org takes turns), and the
 * token asked again under that lock, as an API token is: revoked since the request was let in,
 * it changes nothing.
 */
async function scimOrg(ctx: CommandContext): Promise<LockedOrg> {
  if (ctx.actor.type !== 'scim') throw new UnauthenticatedError();
  const org = await lockLiveOrg(ctx.tx, ctx.actor.orgId);
  if (!org) throw new ScimError(404, 'This organization no longer exists.');
  if (!(await lockLiveScimToken(ctx.tx, org.id, ctx.actor.tokenId))) {
    throw new ScimError(401, 'Send a valid SCIM token as a bearer token.');
  }
  if (org.suspended) throw new ScimError(403, 'This organization is suspended.');
  if (!entitlements(org.plan).scim) throw new ScimError(403, 'SCIM provisioning is not part of this plan.');
  return org;
}

const memberTarget = (account: { id: string; email: string; name: string }) => ({
  type: 'member',
  id: account.id,
  email: account.email,
  name: account.name,
});

/** The role SCIM gives a newcomer: the SSO settings' default role, else Viewer; never Owner. */
async function defaultRole(ctx: CommandContext, orgId: string) {
  const settings = await findSsoSettings(ctx.tx, orgId);
  const role = settings.defaultRoleId
    ? await findRoleById(ctx.tx, orgId, settings.defaultRoleId)
    : await findRoleBySlug(ctx.tx, orgId, DEFAULT_SSO_ROLE);
  if (!role || role.slug === OWNER_ROLE) {
    throw new ScimError(409, 'The organization’s default SSO role is gone or cannot be given by SCIM.');
  }
  return role;
}

/** Makes the account an active member with `role` (seats counted), and says so. */
async function admit(
  ctx: CommandContext,
  org: LockedOrg,
  account: { id: string; email: string; name: string },
  role: { id: string; slug: string; name: string; permissions: string[] },
) {
  await assertSeatsFor(ctx.tx, org.id, org.plan, 1);
  await admitMember(ctx.tx, org.id, account.id, role.id);
  await invalidateMemberships(ctx, org.id, [account.id]);
  await emitMemberAdded(
    ctx,
    org.id,
    { userId: account.id, email: account.email, name: account.name },
    role,
    'scim',
  );
  if (isPrivileged(role))
    await alertOwnersOfPromotion(ctx, { orgId: org.id, orgName: org.name }, account.email, role.name);
}

/**
 * Creates a SCIM User: the account with its email (or the existing one, linked), and, when it is
 * active, the membership with the SSO default role. A userName already provisioned is 409
 * `uniqueness`, so a POST repeated after a timeout makes no twin.
 */
export const provisionScimUser = defineCommand({
  action: 'member.provisioned',
  alsoRecords: ['member.deactivated'],
  async run(ctx, input: { values: ScimUserValues }) {
    const org = await scimOrg(ctx);
    const { values } = input;
    if (await findScimUserByUserName(ctx.tx, org.id, values.userName)) {
      throw new ScimError(409, 'A user with this userName exists.', 'uniqueness');
    }
    const email = accountEmail(values);
    let account = await lockUserByEmail(ctx.tx, email);
    let created = false;
    if (account) {
      if (account.disabled || account.deleted)
        throw new ScimError(409, 'The account with this email is disabled.', 'uniqueness');
      // Only an account that proved the address: someone who signed up with it unproven must never
      // be admitted to the org whose IdP provisions its real owner (account pre-hijacking).
      if (!account.emailVerified) {
        throw new ScimError(
          409,
          'An account with this email exists but has not verified it; it can be provisioned once it has.',
          'uniqueness',
        );
      }
      if (await findScimUserByAccount(ctx.tx, org.id, account.id)) {
        throw new ScimError(409, 'Another SCIM user is linked to the account with this email.', 'uniqueness');
      }
    } else {
      const made = await insertUser(ctx.tx, { email, name: personName(values), passwordHash: NO_PASSWORD });
      if (!made) throw new ScimError(409, 'The account was created meanwhile; retry.', 'uniqueness');
      // The IdP vouches for its people's addresses, as an SSO sign-in does.
      await markEmailVerified(ctx.tx, made.id);
      account = await lockUser(ctx.tx, made.id);
      created = true;
    }
    const person = { id: account!.id, email: account!.email, name: account!.name };
    const member = await lockMember(ctx.tx, org.id, person.id);
    // A member already here keeps their role, and it is theirs, not SCIM's: mappings leave it be.
    let scimRoleId: string | null = null;
    let role: { slug: string; name: string } | null = null;
    if (values.active && member?.status !== 'active') {
      const given = await defaultRole(ctx, org.id);
      await admit(ctx, org, person, given);
      scimRoleId = given.id;
      role = given;
    } else if (!values.active && member?.status === 'active') {
      // A member the IdP already holds disabled (its first sync of someone who left): their access
      // ends now, as a deactivation's would; otherwise SCIM would say inactive while they stay in.
      const ended = await endAccess(ctx, org.id, person.id);
      ctx.record({
        action: 'member.deactivated',
        orgId: org.id,
        target: memberTarget(person),
        before: { active: true, ...(ended ? { role: ended } : {}) },
        after: { active: false, via: 'scim' },
      });
    }
    const row = await insertScimUser(ctx.tx, org.id, { ...values, userId: person.id, scimRoleId });
    if (!row) throw new ScimError(409, 'A user with this userName exists.', 'uniqueness');
    if (created) await ctx.invalidate(USERS_CACHE, person.id);
    ctx.record({
      orgId: org.id,
      target: memberTarget(person),
      after: {
        via: 'scim',
        userName: values.userName,
        active: values.active,
        ...(role ? { role: role.slug, roleName: role.name } : {}),
        ...(member?.status === 'active' ? { linkedMember: true } : {}),
        ...(created ? { accountCreated: true } : {}),
      },
    });
    return row.id;
  },
});

/**
 * Ends the member's access to the org now (the members module's departure: memberships dropped
 * on every instance, their personal tokens for the org revoked), never the last Owner's.
 */
async function endAccess(ctx: CommandContext, orgId: string, userId: string): Promise<string | null> {
  const member = await lockMember(ctx.tx, orgId, userId);
  if (member?.status !== 'active') return null;
  await departOrganization(ctx, orgId, userId, false, 'deprovisioned');
  return member.role;
}

const DIFFED: ReadonlyArray<keyof ScimUserValues> = [
  'userName',
  'externalId',
  'active',
  'name',
  'displayName',
  'emails',
  'enterprise',
  'attributes',
];

/**
 * Replaces a SCIM User's attributes: with the values of a PUT, or with a PATCH's operations,
 * applied here to the user as it is under its row lock (applied to a copy read before, two
 * PATCHes at once would each write back the other's old values: a rename could undo a
 * deactivation). `active` going false ends the member's access at once; going true restores the
 * membership (the role it had, or the default role for someone never admitted; never Owner).
 */
export const replaceScimUser = defineCommand({
  action: 'scim.user_updated',
  alsoRecords: ['member.deactivated', 'member.reactivated'],
  async run(
    ctx,
    input: { id: string; values: ScimUserValues } | { id: string; operations: ScimPatchOperation[] },
  ) {
    const org = await scimOrg(ctx);
    const row = await lockScimUser(ctx.tx, org.id, input.id);
    if (!row) throw new ScimError(404, 'No such user.');
    let values: ScimUserValues;
    if ('values' in input) values = input.values;
    else {
      const groups = (await listGroupsOfUsers(ctx.tx, org.id, [row.id])).map((g) => ({
        value: g.groupId,
        display: g.displayName,
      }));
      values = readUser(applyPatch(userResource(row, '', groups), input.operations));
    }
    if (values.userName.toLowerCase() !== row.userName.toLowerCase()) {
      const other = await findScimUserByUserName(ctx.tx, org.id, values.userName);
      if (other && other.id !== row.id)
        throw new ScimError(409, 'A user with this userName exists.', 'uniqueness');
    }
    const changed = DIFFED.filter(
      (k) => JSON.stringify(row[k] ?? null) !== JSON.stringify(values[k] ?? null),
    );
    if (changed.length === 0) {
      ctx.unchanged();
      return;
    }
    const account = (await findAccount(ctx.tx, row.userId))!;
    let scimRoleId = row.scimRoleId;
    if (row.active && !values.active) {
      const role = await endAccess(ctx, org.id, row.userId);
      ctx.record({
        action: 'member.deactivated',
        orgId: org.id,
        target: memberTarget(account),
        before: { active: true, ...(role ? { role } : {}) },
        after: { active: false, via: 'scim' },
      });
    } else if (!row.active && values.active) {
      const member = await lockMember(ctx.tx, org.id, row.userId);
      let role: { slug: string } | null = null;
      if (member?.status !== 'active') {
        const previous = member ? await findRoleById(ctx.tx, org.id, member.roleId) : undefined;
        const given = previous && previous.slug !== OWNER_ROLE ? previous : await defaultRole(ctx, org.id);
        await admit(ctx, org, account, given);
        // The role it had is SCIM's again only if SCIM had given it; a default role is SCIM's.
        if (given !== previous) scimRoleId = given.id;
        role = given;
      }
      ctx.record({
        action: 'member.reactivated',
        orgId: org.id,
        target: memberTarget(account),
        before: { active: false },
        after: { active: true, via: 'scim', ...(role ? { role: role.slug } : {}) },
      });
    }
    await updateScimUser(ctx.tx, org.id, row.id, { ...values, scimRoleId });
    const pick = (v: Record<string, unknown>) => Object.fromEntries(changed.map((k) => [k, v[k] ?? null]));
    ctx.record({
      orgId: org.id,
      target: memberTarget(account),
      before: pick(row as unknown as Record<string, unknown>),
      after: pick(values as unknown as Record<string, unknown>),
    });
  },
});

/** DELETE of a SCIM User: the member's access ends at once; the account stays (it is the person's). */
export const deprovisionScimUser = defineCommand({
  action: 'member.deprovisioned',
  async run(ctx, input: { id: string }) {
    const org = await scimOrg(ctx);
    const row = await lockScimUser(ctx.tx, org.id, input.id);
    if (!row) throw new ScimError(404, 'No such user.');
    const account = (await findAccount(ctx.tx, row.userId))!;
    const role = await endAccess(ctx, org.id, row.userId);
    await deleteScimUser(ctx.tx, org.id, row.id);
    ctx.record({
      orgId: org.id,
      target: memberTarget(account),
      before: { userName: row.userName, active: row.active, ...(role ? { role } : {}) },
      after: { via: 'scim' },
    });
  },
});

// ---- groups ----

/**
 * The role the org's SSO group mappings give a SCIM user for the groups they are in now (the
 * oldest mapping that matches a group's displayName), applied when their role is still the one
 * SCIM last gave (nobody changed it by hand since); never Owner, never over an Owner.
 */
async function applyMappedRole(ctx: CommandContext, org: LockedOrg, scimUserId: string): Promise<void> {
  const row = await lockScimUser(ctx.tx, org.id, scimUserId);
  if (row?.memberStatus !== 'active' || row.roleId === null || row.roleId !== row.scimRoleId) return;
  const groups = new Set((await listUserGroupNames(ctx.tx, org.id, row.id)).map((g) => g.toLowerCase()));
  const mapping = (await listGroupMappings(ctx.tx, org.id)).find((m) => groups.has(m.idpGroup.toLowerCase()));
  if (!mapping || mapping.roleId === row.roleId) return;
  const member = await lockMember(ctx.tx, org.id, row.userId);
  const role = await findRoleById(ctx.tx, org.id, mapping.roleId);
  if (!member || !role || role.slug === OWNER_ROLE || member.role === OWNER_ROLE) return;
  await setMemberRole(ctx.tx, org.id, row.userId, role.id);
  await updateScimUser(ctx.tx, org.id, row.id, { scimRoleId: role.id });
  await invalidateMemberships(ctx, org.id, [row.userId]);
  await emitRoleChanged(ctx, org.id, member, {
    from: member.role,
    to: role.slug,
    toName: role.name,
    reason: 'changed',
  });
  if (isPrivileged(role) && !isPrivileged({ slug: member.role, permissions: member.rolePermissions })) {
    await alertOwnersOfPromotion(ctx, { orgId: org.id, orgName: org.name }, member.email, role.name);
  }
  ctx.record({
    action: 'member.role_changed',
    orgId: org.id,
    target: { type: 'member', id: member.userId, email: member.email, name: member.name },
    before: { role: member.role, roleName: member.roleName },
    after: { role: role.slug, roleName: role.name, via: 'scim', idpGroup: mapping.idpGroup },
  });
}

async function assertMembersExist(ctx: CommandContext, orgId: string, ids: readonly string[]) {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  const found = await existingScimUserIds(
    ctx.tx,
    orgId,
    ids.filter((id) => uuid.test(id)),
  );
  const missing = ids.find((id) => !found.has(id));
  if (missing !== undefined) throw new ScimError(400, `No user with id ${missing}.`, 'invalidValue');
}

async function assertGroupNameFree(ctx: CommandContext, orgId: string, displayName: string, self?: string) {
  const [other] = await listScimGroups(ctx.tx, orgId, { displayName });
  if (other && other.id !== self)
    throw new ScimError(409, 'A group with this displayName exists.', 'uniqueness');
}

export const createScimGroup = defineCommand({
  action: 'scim.group_created',
  alsoRecords: ['member.role_changed'],
  async run(ctx, input: { values: GroupValues }) {
    const org = await scimOrg(ctx);
    const { values } = input;
    await assertGroupNameFree(ctx, org.id, values.displayName);
    await assertMembersExist(ctx, org.id, values.members);
    const group = await insertScimGroup(ctx.tx, org.id, {
      displayName: values.displayName,
      externalId: values.externalId,
    });
    if (!group) throw new ScimError(409, 'A group with this displayName exists.', 'uniqueness');
    await addGroupMembers(ctx.tx, org.id, group.id, values.members);
    for (const id of values.members) await applyMappedRole(ctx, org, id);
    ctx.record({
      orgId: org.id,
      target: { type: 'scim_group', id: group.id, name: group.displayName },
      after: { displayName: group.displayName, externalId: group.externalId, members: values.members.length },
    });
    return group.id;
  },
});

/**
 * Replaces a group's name and members: with the values of a PUT, or with a PATCH's operations
 * applied here, to the members the group has under its row lock (so that concurrent additions and
 * removals, as Entra sends them one member each, all land). Added members get the mapped role.
 */
export const replaceScimGroup = defineCommand({
  action: 'scim.group_updated',
  alsoRecords: ['member.role_changed'],
  async run(
    ctx,
    input: { id: string; values: GroupValues } | { id: string; operations: ScimPatchOperation[] },
  ) {
    const org = await scimOrg(ctx);
    const group = await lockScimGroup(ctx.tx, org.id, input.id);
    if (!group) throw new ScimError(404, 'No such group.');
    const members = await listGroupMembers(ctx.tx, org.id, [group.id]);
    const current = new Set(members.map((m) => m.scimUserId));
    // Members as IdPs name them, by value alone: Entra removes `{value}` objects from the list.
    const values =
      'values' in input
        ? input.values
        : readGroup(
            applyPatch(
              { ...groupResource(group, '', []), members: members.map((m) => ({ value: m.scimUserId })) },
              input.operations,
            ),
          );
    if (values.displayName.toLowerCase() !== group.displayName.toLowerCase()) {
      await assertGroupNameFree(ctx, org.id, values.displayName, group.id);
    }
    await assertMembersExist(ctx, org.id, values.members);
    const wanted = new Set(values.members);
    const added = values.members.filter((id) => !current.has(id));
    const removed = [...current].filter((id) => !wanted.has(id));
    const renamed = values.displayName !== group.displayName || values.externalId !== group.externalId;
    if (!renamed && added.length === 0 && removed.length === 0) {
      ctx.unchanged();
      return;
    }
    if (renamed) await updateScimGroup(ctx.tx, org.id, group.id, values);
    await removeGroupMembers(ctx.tx, org.id, group.id, removed);
    await addGroupMembers(ctx.tx, org.id, group.id, added);
    for (const id of added) await applyMappedRole(ctx, org, id);
    ctx.record({
      orgId: org.id,
      target: { type: 'scim_group', id: group.id, name: values.displayName },
      before: renamed ? { displayName: group.displayName, externalId: group.externalId } : null,
      after: {
        ...(renamed ? { displayName: values.displayName, externalId: values.externalId } : {}),
        ...(added.length > 0 ? { membersAdded: added } : {}),
        ...(removed.length > 0 ? { membersRemoved: removed } : {}),
      },
    });
  },
});

export const removeScimGroup = defineCommand({
  action: 'scim.group_deleted',
  async run(ctx, input: { id: string }) {
    const org = await scimOrg(ctx);
    const group = await lockScimGroup(ctx.tx, org.id, input.id);
    if (!group) throw new ScimError(404, 'No such group.');
    await deleteScimGroup(ctx.tx, org.id, group.id);
    ctx.record({
      orgId: org.id,
      target: { type: 'scim_group', id: group.id, name: group.displayName },
      before: { displayName: group.displayName, externalId: group.externalId },
    });
  },
});
