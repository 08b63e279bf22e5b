import { OWNER_ROLE } from '../../../contracts/roles.ts';
import { invalidateMemberships, rolePermissions } from '../../platform/access/access.ts';
import { assertCanGrant } from '../../platform/access/grants.ts';
import { lockLiveOrg, orgAccess } from '../../platform/access/guard.ts';
import { normalizeEmail } from '../../platform/auth/email.ts';
import { generateSecret, hashSecret } from '../../platform/auth/secrets.ts';
import { USERS_CACHE } from '../../platform/auth/sessions.ts';
import { type CommandContext, defineCommand } from '../../platform/command.ts';
import {
  AppError,
  assertFound,
  ConflictError,
  OrgSuspendedError,
  RateLimitedError,
  UnauthenticatedError,
  ValidationError,
} from '../../platform/errors/app-error.ts';
import { queueEmail } from '../../platform/mail/queue.ts';
import { lockUser, markEmailVerified } from '../accounts/index.ts';
import {
  admitMember,
  alertOwnersOfPromotion,
  assertMayOwnAnother,
  assertSeatsFor,
  emitMemberAdded,
  findActiveMemberByEmail,
  listOwnerEmails,
  roleForAssignment,
} from '../members/index.ts';
import { isPrivileged } from '../roles/index.ts';
import { invitationLetter, joinApprovedLetter, joinRequestLetter } from './invitations.mail.ts';
import {
  decideJoinRequest,
  deleteJoinLink,
  findInvitationOrgByToken,
  findJoinLinkOrg,
  findPendingByEmail,
  insertInvitation,
  insertJoinRequest,
  lockInvitation,
  lockInvitationByToken,
  lockJoinRequest,
  markInvitation,
  recordSends,
  renewInvitation,
  sendsWaitSeconds,
  upsertJoinLink,
} from './invitations.repository.ts';

export const INVITATION_TTL_MS = 7 * 24 * 3_600_000;

/** Unknown, expired, cancelled and replaced tokens all answer this way: a token's past is no one's business. */
export class InviteExpiredError extends AppError {
  constructor(detail = 'This invitation link has expired or is no longer valid. Ask for a new one.') {
    super(410, 'invite_expired', 'Invitation expired', detail);
  }
}

/** The link in an invitation email. The token travels in the fragment: never in server logs or Referer. */
export const invitationLink = (publicUrl: string, token: string) =>
  `${publicUrl}/invitations/accept#token=${token}`;
export const joinLink = (publicUrl: string, token: string) => `${publicUrl}/join#token=${token}`;

function requireUser(ctx: CommandContext): { userId: string; email: string } {
  if (ctx.actor.type !== 'user') throw new UnauthenticatedError();
  return ctx.actor;
}

const assertSeats = (ctx: CommandContext, orgId: string, plan: string, extra: number) =>
  assertSeatsFor(ctx.tx, orgId, plan, extra);

/** How many invitation emails may go out (the server's settings). */
export interface SendLimits {
  maxPerOrgPerHour: number;
  maxResendsPerDay: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Invitation emails go to any address a member types: an organization sends at most so many an
 * hour, and one address is sent an invitation again at most so many times a day, whatever the
 * instance. The address's budget counts every invitation email the organization sent it in the
 * last day, whichever invitation carried it: cancelling and inviting again starts no new one.
 */
async function assertSendAllowed(
  ctx: CommandContext,
  orgId: string,
  limits: SendLimits,
  emails: string[],
): Promise<void> {
  const count = emails.length;
  // More at once than any hour allows would never go out: waiting cannot help, so no 429.
  if (count > limits.maxPerOrgPerHour) {
    throw new ValidationError([
      {
        field: '/body/emails',
        message: `must not hold more than the ${limits.maxPerOrgPerHour} invitation emails an organization may send an hour`,
        reason: 'maxItems',
        params: { limit: limits.maxPerOrgPerHour },
      },
    ]);
  }
  const orgWait = await sendsWaitSeconds(ctx.tx, { orgId }, HOUR_MS, limits.maxPerOrgPerHour, count);
  if (orgWait !== undefined) {
    throw new RateLimitedError(
      orgWait,
      `This organization may send ${limits.maxPerOrgPerHour} invitation emails an hour; try again later.`,
    );
  }
  for (const email of emails) {
    // The first email of the day, then `maxResendsPerDay` more.
    const wait = await sendsWaitSeconds(ctx.tx, { orgId, email }, DAY_MS, limits.maxResendsPerDay + 1, 1);
    if (wait !== undefined) {
      throw new RateLimitedError(
        wait,
        `An address may be sent an invitation again ${limits.maxResendsPerDay} times a day, cancelled invitations included; try again later.`,
      );
    }
  }
}

/** Queues one invitation email, in the language of the account at its address if there is one. */
async function mailInvitation(
  ctx: CommandContext,
  p: { to: string; inviter: string; orgName: string; roleName: string; link: string; expiresAt: Date },
): Promise<void> {
  // An address with no account (most invitations) reads the organization's language.
  await queueEmail(ctx, p.to, (language) => invitationLetter(language, p));
}

export interface InvitationView {
  id: string;
  email: string;
  role: string;
  status: 'pending';
  expiresAt: Date;
}

export const inviteMembers = defineCommand({
  action: 'member.invited',
  permission: 'members:manage',
  orgLock: 'exclusive',
  async run(
    ctx,
    input: { emails: string[]; role: string; inviterName: string; publicUrl: string; limits: SendLimits },
  ): Promise<InvitationView[]> {
    const access = orgAccess(ctx);
    const role = await roleForAssignment(ctx, input.role);
    assertCanGrant(access, rolePermissions(role.slug, role.permissions), { role: role.slug });
    const emails = [...new Set(input.emails.map(normalizeEmail))];
    const members: string[] = [];
    for (const email of emails) {
      if (await findActiveMemberByEmail(ctx.tx, access.orgId, email)) members.push(email);
    }
    if (members.length > 0) {
      throw new ConflictError(`Already members: ${members.join(', ')}.`, 'already_member');
    }
    const pending = new Map<string, { id: string; expiresAt: Date }>();
    for (const email of emails) {
      const found = await findPendingByEmail(ctx.tx, access.orgId, email);
      if (found) pending.set(email, found);
    }
    // A live pending invitation already holds its seat; renewing it takes none.
    const now = Date.now();
    const extra = emails.filter((e) => (pending.get(e)?.expiresAt.getTime() ?? 0) <= now).length;
    await assertSeats(ctx, access.orgId, access.plan, extra);
    await assertSendAllowed(ctx, access.orgId, input.limits, emails);
    const expiresAt = new Date(now + INVITATION_TTL_MS);
    const created: InvitationView[] = [];
    for (const email of emails) {
      const token = generateSecret();
      const existing = pending.get(email);
      const values = { tokenHash: hashSecret(token), expiresAt, roleId: role.id, invitedBy: access.userId };
      let id: string;
      if (existing) {
        await renewInvitation(ctx.tx, access.orgId, existing.id, values);
        id = existing.id;
      } else {
        id = (await insertInvitation(ctx.tx, { ...values, orgId: access.orgId, email })).id;
      }
      created.push({ id, email, role: role.slug, status: 'pending', expiresAt });
      await mailInvitation(ctx, {
        to: email,
        inviter: input.inviterName,
        orgName: access.orgName,
        roleName: role.name,
        link: invitationLink(input.publicUrl, token),
        expiresAt,
      });
    }
    await recordSends(
      ctx.tx,
      access.orgId,
      created.map(({ id, email }) => ({ invitationId: id, resend: pending.has(email) })),
    );
    ctx.record({
      target: { type: 'organization', id: access.orgId, name: access.orgName },
      after: {
        role: role.slug,
        roleName: role.name,
        invitations: created.map(({ id, email }) => ({ id, email })),
      },
    });
    return created;
  },
});

export const resendInvitation = defineCommand({
  action: 'invite.resent',
  permission: 'members:manage',
  orgLock: 'exclusive',
  async run(
    ctx,
    input: { id: string; inviterName: string; publicUrl: string; limits: SendLimits },
  ): Promise<InvitationView> {
    const access = orgAccess(ctx);
    const invitation = await lockInvitation(ctx.tx, access.orgId, input.id);
    assertFound(invitation, 'invitation');
    if (invitation.status === 'accepted' || invitation.status === 'cancelled') {
      throw new ConflictError(`The invitation was ${invitation.status}; invite the person again instead.`);
    }
    // A new link grants the role anew: only a role within the actor's reach, as when inviting.
    assertCanGrant(access, rolePermissions(invitation.role, invitation.rolePermissions), {
      invitation: invitation.id,
      role: invitation.role,
    });
    // An expired invitation gave its seat back; renewing it takes one again.
    if (invitation.status === 'expired') await assertSeats(ctx, access.orgId, access.plan, 1);
    await assertSendAllowed(ctx, access.orgId, input.limits, [invitation.email]);
    const token = generateSecret();
    const expiresAt = new Date(Date.now() + INVITATION_TTL_MS);
    await renewInvitation(ctx.tx, access.orgId, invitation.id, { tokenHash: hashSecret(token), expiresAt });
    await mailInvitation(ctx, {
      to: invitation.email,
      inviter: input.inviterName,
      orgName: access.orgName,
      roleName: invitation.roleName,
      link: invitationLink(input.publicUrl, token),
      expiresAt,
    });
    await recordSends(ctx.tx, access.orgId, [{ invitationId: invitation.id, resend: true }]);
    ctx.record({
      target: { type: 'invitation', id: invitation.id, email: invitation.email },
      before: { expiresAt: invitation.expiresAt.toISOString() },
      after: { expiresAt: expiresAt.toISOString(), email: invitation.email },
    });
    return {
      id: invitation.id,
      email: invitation.email,
      role: invitation.role,
      status: 'pending',
      expiresAt,
    };
  },
});

export const cancelInvitation = defineCommand({
  action: 'invite.cancelled',
  permission: 'members:manage',
  orgLock: 'exclusive',
  async run(ctx, input: { id: string }) {
    const access = orgAccess(ctx);
    const invitation = await lockInvitation(ctx.tx, access.orgId, input.id);
    assertFound(invitation, 'invitation');
    if (invitation.status === 'accepted' || invitation.status === 'cancelled') {
      throw new ConflictError(`The invitation was already ${invitation.status}.`);
    }
    await markInvitation(ctx.tx, access.orgId, invitation.id, { status: 'cancelled' });
    ctx.record({
      target: { type: 'invitation', id: invitation.id, email: invitation.email },
      before: {
        email: invitation.email,
        role: invitation.role,
        roleName: invitation.roleName,
        status: invitation.status,
      },
    });
  },
});

/**
 * Accepting: at most once, by the signed-in user the invitation was sent to. Runs under the
 * organization's lock and the invitation's row lock, so of any number of concurrent accepts one
 * succeeds and the rest find it accepted (409); the membership's primary key is the last wall.
 */
export const acceptInvitation = defineCommand({
  action: 'invite.accepted',
  async run(ctx, input: { token: string; maxOwnedPerUser: number }) {
    const user = requireUser(ctx);
    const tokenHash = hashSecret(input.token);
    const found = await findInvitationOrgByToken(ctx.tx, tokenHash);
    if (!found) throw new InviteExpiredError();
    // Lock order everywhere: organization, then the rows under it.
    const org = await lockLiveOrg(ctx.tx, found.orgId);
    if (!org) throw new InviteExpiredError();
    const invitation = await lockInvitationByToken(ctx.tx, tokenHash);
    if (!invitation || invitation.status === 'cancelled' || invitation.status === 'expired') {
      throw new InviteExpiredError();
    }
    if (invitation.status === 'accepted') {
      throw new ConflictError('This invitation has already been used.', 'invite_used');
    }
    if (normalizeEmail(invitation.email) !== normalizeEmail(user.email)) {
      throw new AppError(
        403,
        'invite_email_mismatch',
        'Invitation is for another email',
        'This invitation was sent to another email address. Sign in with that address to accept it.',
      );
    }
    // Told only to the person the invitation is for, once the link is shown to be theirs.
    if (org.suspended) throw new OrgSuspendedError();
    // The account is held until this commits: one deleted or disabled meanwhile is not admitted
    // (its sessions end with it, but this request was already past the door).
    const account = await lockUser(ctx.tx, user.userId);
    if (!account || account.disabled) throw new UnauthenticatedError();
    if (invitation.role === OWNER_ROLE) await assertMayOwnAnother(ctx.tx, user.userId, input.maxOwnedPerUser);
    const admitted = await admitMember(ctx.tx, org.id, user.userId, invitation.roleId);
    if (!admitted)
      throw new ConflictError('You are already a member of this organization.', 'already_member');
    await markInvitation(ctx.tx, org.id, invitation.id, { status: 'accepted', userId: user.userId });
    await invalidateMemberships(ctx, org.id, [user.userId]);
    // The invitation was mailed to this address and its link followed: the address is proven.
    if (await markEmailVerified(ctx.tx, user.userId)) await ctx.invalidate(USERS_CACHE, user.userId);
    if (isPrivileged({ slug: invitation.role, permissions: invitation.rolePermissions })) {
      await alertOwnersOfPromotion(
        ctx,
        { orgId: org.id, orgName: org.name },
        user.email,
        invitation.roleName,
      );
    }
    const invitee = await ctx.services.sessions.user(user.userId);
    await emitMemberAdded(
      ctx,
      org.id,
      { userId: user.userId, email: user.email, name: invitee?.name ?? '' },
      { slug: invitation.role, name: invitation.roleName },
      'invitation',
    );
    ctx.record({
      orgId: org.id,
      target: { type: 'invitation', id: invitation.id, email: invitation.email, name: invitee?.name },
      after: { userId: user.userId, role: invitation.role, roleName: invitation.roleName },
    });
    return { org: { id: org.id, slug: org.slug, name: org.name }, role: invitation.role };
  },
});

export const rotateJoinLink = defineCommand({
  action: 'join_link.rotated',
  permission: 'members:manage',
  orgLock: 'exclusive',
  async run(ctx, input: { publicUrl: string }) {
    const access = orgAccess(ctx);
    const token = generateSecret();
    const { createdAt } = await upsertJoinLink(ctx.tx, access.orgId, hashSecret(token), access.userId);
    ctx.record({
      target: { type: 'organization', id: access.orgId, name: access.orgName },
      after: { joinLink: 'rotated' },
    });
    return { token, url: joinLink(input.publicUrl, token), createdAt };
  },
});

export const disableJoinLink = defineCommand({
  action: 'join_link.disabled',
  permission: 'members:manage',
  orgLock: 'exclusive',
  async run(ctx) {
    const access = orgAccess(ctx);
    const existed = await deleteJoinLink(ctx.tx, access.orgId);
    ctx.record({
      target: { type: 'organization', id: access.orgId, name: access.orgName },
      after: { joinLink: existed ? 'disabled' : 'none' },
    });
  },
});

export const requestToJoin = defineCommand({
  action: 'join_request.created',
  async run(ctx, input: { token: string }) {
    const user = requireUser(ctx);
    const linked = await findJoinLinkOrg(ctx.tx, hashSecret(input.token));
    if (!linked) throw new InviteExpiredError('This join link is no longer valid. Ask for a new one.');
    const org = await lockLiveOrg(ctx.tx, linked.id);
    if (!org) throw new InviteExpiredError('This join link is no longer valid. Ask for a new one.');
    // No request (nor an email to its owners) while an operator holds the organization suspended.
    if (org.suspended) throw new OrgSuspendedError();
    if (await findActiveMemberByEmail(ctx.tx, org.id, user.email)) {
      throw new ConflictError('You are already a member of this organization.', 'already_member');
    }
    const request = await insertJoinRequest(ctx.tx, org.id, user.userId);
    if (request.created) {
      const owners = await listOwnerEmails(ctx.tx, org.id);
      for (const to of owners) {
        await queueEmail(ctx, to, (language) =>
          joinRequestLetter(language, { email: user.email, orgName: org.name }),
        );
      }
    }
    const requester = await ctx.services.sessions.user(user.userId);
    ctx.record({
      orgId: org.id,
      target: { type: 'join_request', id: request.id, email: user.email, name: requester?.name },
      after: { userId: user.userId },
    });
    return { id: request.id, status: 'pending' as const, createdAt: request.createdAt, org: linked };
  },
});

export const approveJoinRequest = defineCommand({
  action: 'join_request.approved',
  permission: 'members:manage',
  orgLock: 'exclusive',
  async run(ctx, input: { id: string; role: string; maxOwnedPerUser: number }) {
    const access = orgAccess(ctx);
    const request = await lockJoinRequest(ctx.tx, access.orgId, input.id);
    assertFound(request, 'join request');
    if (request.status !== 'pending') throw new ConflictError(`The request was already ${request.status}.`);
    // The requester's account, held until this commits: one deleted or disabled by an operator
    // since it asked is not admitted.
    const requester = await lockUser(ctx.tx, request.userId);
    if (!requester || requester.disabled) {
      throw new ConflictError(
        'This account was deleted or disabled since it asked to join; deny the request instead.',
      );
    }
    const role = await roleForAssignment(ctx, input.role);
    assertCanGrant(access, rolePermissions(role.slug, role.permissions), {
      joinRequest: request.id,
      role: role.slug,
    });
    // Someone also invited by email who joins through the link instead: the invitation already
    // holds the seat this membership takes, and is superseded (else it would hold a second one).
    const invited = await findPendingByEmail(ctx.tx, access.orgId, request.email);
    const holdsSeat = invited !== undefined && invited.expiresAt.getTime() > Date.now();
    await assertSeats(ctx, access.orgId, access.plan, holdsSeat ? 0 : 1);
    if (role.slug === OWNER_ROLE) {
      await assertMayOwnAnother(ctx.tx, request.userId, input.maxOwnedPerUser, request.email);
    }
    const admitted = await admitMember(ctx.tx, access.orgId, request.userId, role.id);
    if (!admitted)
      throw new ConflictError('They are already a member; deny the request instead.', 'already_member');
    if (invited) await markInvitation(ctx.tx, access.orgId, invited.id, { status: 'cancelled' });
    await decideJoinRequest(ctx.tx, access.orgId, request.id, 'approved', access.userId);
    await invalidateMemberships(ctx, access.orgId, [request.userId]);
    await emitMemberAdded(
      ctx,
      access.orgId,
      { userId: request.userId, email: request.email, name: request.name },
      role,
      'join_request',
    );
    if (isPrivileged(role)) await alertOwnersOfPromotion(ctx, access, request.email, role.name);
    await queueEmail(ctx, request.email, (language) =>
      joinApprovedLetter(language, { orgName: access.orgName, roleName: role.name }),
    );
    ctx.record({
      target: { type: 'join_request', id: request.id, email: request.email, name: request.name },
      after: {
        userId: request.userId,
        role: role.slug,
        roleName: role.name,
        ...(invited ? { supersededInvitation: invited.id } : {}),
      },
    });
    return { userId: request.userId, role: role.slug };
  },
});

export const denyJoinRequest = defineCommand({
  action: 'join_request.denied',
  permission: 'members:manage',
  orgLock: 'exclusive',
  async run(ctx, input: { id: string }) {
    const access = orgAccess(ctx);
    const request = await lockJoinRequest(ctx.tx, access.orgId, input.id);
    assertFound(request, 'join request');
    if (request.status !== 'pending') throw new ConflictError(`The request was already ${request.status}.`);
    // The requester's account, held until this commits: one deleted or disabled by an operator
    // since it asked is not admitted.
    const requester = await lockUser(ctx.tx, request.userId);
    if (!requester || requester.disabled) {
      throw new ConflictError(
        'This account was deleted or disabled since it asked to join; deny the request instead.',
      );
    }
    await decideJoinRequest(ctx.tx, access.orgId, request.id, 'denied', access.userId);
    ctx.record({
      target: { type: 'join_request', id: request.id, email: request.email, name: request.name },
      after: { userId: request.userId },
    });
  },
});
