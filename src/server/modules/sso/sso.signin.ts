import { OWNER_ROLE } from '../../../contracts/roles.ts';
import { invalidateMemberships } from '../../platform/access/access.ts';
import { lockLiveOrg } from '../../platform/access/guard.ts';
import { NO_PASSWORD } from '../../platform/auth/passwords.ts';
import { USERS_CACHE } from '../../platform/auth/sessions.ts';
import { defineCommand } from '../../platform/command.ts';
import { AppError, OrgSuspendedError } from '../../platform/errors/app-error.ts';
import { insertUser, lockUser, lockUserByEmail, markEmailVerified, trustDevice } from '../accounts/index.ts';
import { lockLiveInvitationByEmail, markInvitation } from '../invitations/index.ts';
import {
  admitMember,
  alertOwnersOfPromotion,
  assertSeatsFor,
  emitMemberAdded,
  lockMember,
} from '../members/index.ts';
import { findRoleById, findRoleBySlug, isPrivileged } from '../roles/index.ts';
import {
  deleteIdentity,
  findIdentity,
  findSsoSettings,
  insertIdentity,
  listGroupMappings,
  type SsoProtocol,
  touchIdentity,
} from './sso.repository.ts';

/** What the identity provider vouched for, once its answer was validated. */
export interface SsoIdentity {
  protocol: SsoProtocol;
  /** The OIDC `sub` or the SAML NameID, whole. */
  subject: string;
  email: string | null;
  /** The IdP says the address is its owner's (OIDC `email_verified`; a SAML IdP's assertion). */
  emailVerified: boolean;
  name: string | null;
  groups: string[];
}

/**
 * An SSO sign-in refused after the IdP answered (no email, not a member…). `reason` is for the audit log and the server's log (never shown raw to
 * the browser); the status and code are what the sign-in page explains.
 */
export class SsoRefusedError extends AppError {
  constructor(
    readonly reason: string,
    detail: string,
    status = 401,
  ) {
    super(status, 'sso_failed', 'Single sign-on failed', detail);
  }
}

/**
 * The IdP names an account that exists here and is not linked to this identity yet. Linking
 * needs proof that the person holds that account, not only the IdP's word for the address: a
 * session of that very account in this browser. (An IdP run by an org's admin could otherwise
 * sign in as anyone whose email it claims, and reach their other organizations.)
 */
export class SsoLinkRequiredError extends AppError {
  readonly reason = 'link_required';
  constructor() {
    super(
      409,
      'sso_link_required',
      'Sign in to link your account',
      'An account with this email already exists. Sign in to it first (password or passkey), then sign in with SSO again: the two are linked then.',
    );
  }
}

/** The person is neither a member nor invited, and the org does not provision accounts. */
export class SsoNotMemberError extends AppError {
  readonly reason = 'not_member';
  constructor() {
    super(
      403,
      'sso_failed',
      'Not a member',
      'Your identity provider vouched for you, but you are not a member of this organization and it does not add members on their first sign-in. Ask an Admin to invite you.',
    );
  }
}

/** The role a first sign-in gets: the first mapping (oldest first) whose group the IdP sent, else the default. */
export async function roleForGroups(
  db: Parameters<typeof listGroupMappings>[0],
  orgId: string,
  groups: readonly string[],
  defaultRoleId: string | null,
): Promise<
  { roleId: string; role: string; roleName: string; permissions: string[]; via: string | null } | undefined
> {
  const wanted = new Set(groups);
  const mapping = (await listGroupMappings(db, orgId)).find((m) => wanted.has(m.idpGroup));
  const role = mapping
    ? await findRoleById(db, orgId, mapping.roleId)
    : defaultRoleId
      ? await findRoleById(db, orgId, defaultRoleId)
      : await findRoleBySlug(db, orgId, DEFAULT_SSO_ROLE);
  return role
    ? {
        roleId: role.id,
        role: role.slug,
        roleName: role.name,
        permissions: role.permissions,
        via: mapping?.idpGroup ?? null,
      }
    : undefined;
}

/** The role of a member provisioned by SSO when the org names none. */
export const DEFAULT_SSO_ROLE = 'viewer';

export interface SsoSignInInput {
  orgId: string;
  identity: SsoIdentity;
  /** The account signed in in this browser now, if any: the proof that links an existing account. */
  currentUserId: string | null;
  previousSession: { id: string; userId: string } | undefined;
  device: { deviceId: string; userId: string } | undefined;
}

/**
 * The end of an SSO sign-in, once the IdP's answer was validated: who it is (the linked
 * identity, else an account linked or made by the contract's rules), their membership (kept as
 * it is for a returning member; made from an invitation, or by just-in-time provisioning with
 * the group mappings, on the first), and a session that knows this org's IdP signed it in. One
 * transaction: a refusal leaves nothing behind.
 */
export const ssoSignIn = defineCommand({
  action: 'user.signed_in',
  alsoRecords: ['member.signed_in', 'member.provisioned'],
  async run(ctx, input: SsoSignInInput) {
    const { identity } = input;
    // PostgreSQL's text holds no NUL: an IdP's value carrying one (an XML `&#0;`, a JSON
    // `\u0000`) would fail the first query that names it. Refused as unreadable, not a 500.
    if ([identity.subject, identity.email, identity.name].some((v) => v?.includes('\u0000'))) {
      throw new SsoRefusedError('malformed', 'Your identity provider sent an identity that cannot be read.');
    }
    const org = await lockLiveOrg(ctx.tx, input.orgId);
    if (!org) throw new SsoRefusedError('org_gone', 'This organization no longer exists.');
    if (org.suspended) throw new OrgSuspendedError();
    const settings = await findSsoSettings(ctx.tx, org.id);
    // The person's live invitation, read (and locked) once: the linking, account and membership
    // steps below all ask for it, always for the same address.
    let invitationLookup: ReturnType<typeof lockLiveInvitationByEmail> | undefined;
    const liveInvitation = (email: string) =>
      (invitationLookup ??= lockLiveInvitationByEmail(ctx.tx, org.id, email));

    let userId: string;
    let linked = false;
    let created = false;
    let known = await findIdentity(ctx.tx, org.id, identity.protocol, identity.subject);
    // Linked to an account its owner deleted since: the link went with it.
    if (known && (await lockUser(ctx.tx, known.userId))?.deleted) {
      await deleteIdentity(ctx.tx, org.id, identity.protocol, identity.subject);
      known = undefined;
    }
    if (known) {
      userId = known.userId;
    } else {
      if (!identity.email) {
        throw new SsoRefusedError(
          'no_email',
          'Your identity provider sent no email address for you; ask an Admin to have it send one.',
        );
      }
      if (!identity.emailVerified) {
        throw new SsoRefusedError(
          'email_unverified',
          'Your identity provider does not vouch for your email address, so it cannot sign you in here.',
        );
      }
      const existing = await lockUserByEmail(ctx.tx, identity.email);
      if (existing) {
        if (existing.disabled) throw new SsoRefusedError('account_disabled', 'This account is disabled.');
        // Linked only with the account's own proof, and only an address the account has proven.
        if (input.currentUserId !== existing.id || !existing.emailVerified) throw new SsoLinkRequiredError();
        // And only to an org the person chose: one they are a member of, or invited to. An org's
        // IdP (its admins' to configure) never links an account that never joined it, so it can
        // never sign in as someone to reach their other organizations.
        const joined = await lockMember(ctx.tx, org.id, existing.id);
        if ((!joined || joined.status === 'removed') && !(await liveInvitation(identity.email))) {
          throw new SsoNotMemberError();
        }
        userId = existing.id;
      } else {
        // A new account: only for someone the org will admit (invited, or provisioned).
        const invited = await liveInvitation(identity.email);
        if (!invited && !settings.jitProvisioning) throw new SsoNotMemberError();
        const made = await insertUser(ctx.tx, {
          email: identity.email,
          name: (identity.name?.trim() || identity.email.split('@')[0] || identity.email).slice(0, 200),
          passwordHash: NO_PASSWORD,
        });
        if (!made)
          throw new SsoRefusedError('raced', 'Another sign-in made this account meanwhile; try again.', 409);
        await markEmailVerified(ctx.tx, made.id);
        userId = made.id;
        created = true;
      }
      if (!(await insertIdentity(ctx.tx, org.id, { ...identity, userId }))) {
        throw new SsoRefusedError('raced', 'Another sign-in linked this identity meanwhile; try again.', 409);
      }
      linked = true;
    }

    const user = await lockUser(ctx.tx, userId);
    if (!user || user.disabled) throw new SsoRefusedError('account_disabled', 'This account is disabled.');

    // The membership: a returning member keeps theirs as it is (group mappings apply on the first
    // sign-in only); someone removed comes back only by a new invitation.
    const member = await lockMember(ctx.tx, org.id, user.id);
    let provisioned: {
      role: string;
      roleName: string;
      permissions: string[];
      via: 'invitation' | 'jit';
      group: string | null;
    } | null = null;
    if (!member || member.status === 'removed') {
      const invited = await liveInvitation(user.email);
      if (invited) {
        await admitMember(ctx.tx, org.id, user.id, invited.roleId);
        await markInvitation(ctx.tx, org.id, invited.id, { status: 'accepted', userId: user.id });
        provisioned = {
          role: invited.role,
          roleName: invited.roleName,
          permissions: invited.rolePermissions,
          via: 'invitation',
          group: null,
        };
      } else if (settings.jitProvisioning && !member) {
        const role = await roleForGroups(ctx.tx, org.id, identity.groups, settings.defaultRoleId);
        if (!role) throw new SsoRefusedError('no_role', 'The organization’s default SSO role is gone.', 409);
        // Never an Owner by an IdP's say-so (mappings refuse it too); seats as for an invitation.
        if (role.role === OWNER_ROLE) throw new SsoRefusedError('owner_role', 'SSO cannot make Owners.', 409);
        await assertSeatsFor(ctx.tx, org.id, org.plan, 1);
        await admitMember(ctx.tx, org.id, user.id, role.roleId);
        provisioned = { ...role, via: 'jit', group: role.via };
      } else {
        throw new SsoNotMemberError();
      }
      await invalidateMemberships(ctx, org.id, [user.id]);
      await emitMemberAdded(
        ctx,
        org.id,
        { userId: user.id, email: user.email, name: user.name },
        { slug: provisioned.role, name: provisioned.roleName },
        provisioned.via === 'invitation' ? 'invitation' : 'sso',
      );
      // The owners are told of a privileged newcomer, as of every promotion.
      if (isPrivileged({ slug: provisioned.role, permissions: provisioned.permissions })) {
        await alertOwnersOfPromotion(
          ctx,
          { orgId: org.id, orgName: org.name },
          user.email,
          provisioned.roleName,
        );
      }
    }
    if (!linked) await touchIdentity(ctx.tx, org.id, identity.protocol, identity.subject, identity.email);
    if (created) await ctx.invalidate(USERS_CACHE, user.id);

    if (input.previousSession) {
      await ctx.services.sessions.revoke(ctx, input.previousSession.userId, {
        onlyId: input.previousSession.id,
      });
    }
    const session = await ctx.services.sessions.create(ctx, user.id, ctx.meta, {
      amr: ['sso'],
      ssoOrgId: org.id,
    });
    const deviceToken = await trustDevice(ctx.tx, user.id, input.device);
    const actor = { type: 'user' as const, userId: user.id, email: user.email };
    const how = { method: 'sso', protocol: identity.protocol, orgId: org.id, subject: identity.subject };
    ctx.record({
      target: { type: 'session', id: session.id },
      after: {
        userId: user.id,
        ...how,
        ip: ctx.meta.ip,
        userAgent: ctx.meta.userAgent,
        ...(linked ? { linked: true } : {}),
        ...(created ? { accountCreated: true } : {}),
        ...(session.displaced.length > 0 ? { sessionsEnded: session.displaced } : {}),
      },
      actor,
    });
    if (provisioned) {
      ctx.record({
        action: 'member.provisioned',
        orgId: org.id,
        target: { type: 'member', id: user.id, email: user.email, name: user.name },
        after: {
          role: provisioned.role,
          roleName: provisioned.roleName,
          via: provisioned.via,
          ...(provisioned.group ? { idpGroup: provisioned.group } : {}),
          protocol: identity.protocol,
        },
        actor,
      });
    }
    ctx.record({
      action: 'member.signed_in',
      orgId: org.id,
      target: { type: 'session', id: session.id },
      after: { ...how, ...(linked ? { linked: true } : {}) },
      actor,
    });
    const { passwordHash: _hash, disabled: _disabled, deleted: _deleted, ...publicUser } = user;
    return { user: publicUser, session, deviceToken, org: { id: org.id, slug: org.slug } };
  },
});
