// Who acts and what a change looks like: plain types every layer may import. This module imports
// nothing from the platform, so it can never close an import cycle.

/**
 * Who acts: a user (signed in, or through one of their personal tokens: `tokenId`), an
 * organization's automation token, the system, an operator of the installation (the `gatehouse
 * operator` and `break-glass` commands, run on the server's own database), an organization's
 * identity provider through one of its SCIM tokens, or nobody yet.
 */
export type Actor =
  | { type: 'anonymous' }
  | { type: 'system' }
  | { type: 'operator' }
  | { type: 'user'; userId: string; email: string; sessionId?: string; tokenId?: string }
  | { type: 'token'; tokenId: string; orgId: string; name: string }
  | { type: 'scim'; tokenId: string; orgId: string; name: string };

export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

/**
 * What a change was made to: its type and id, and, so that the entry stays readable after the
 * thing is renamed or gone, its `name` (a person's, a role's, a token's, an organization's) and
 * `email` (a member, user or invitee). Both are present only when known: entries written without
 * them hash as they always have. Names are text people typed: whoever shows them escapes them.
 */
export interface AuditTarget {
  type: string;
  id: string;
  name?: string;
  email?: string;
}

/** The change a command made, as the audit trail will show it. */
export interface ChangeRecord {
  action: string;
  orgId: string | null;
  target: AuditTarget;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  /** The actor once the command has run (sign-up and login create who acts). */
  actor: Actor;
}

/** Who acts, in words, for messages to people (an email address, a token's name, the system). */
export function describeActor(actor: Actor): string {
  switch (actor.type) {
    case 'user':
      return actor.email;
    case 'token':
      return `the automation token "${actor.name}"`;
    case 'scim':
      return `the identity provider (SCIM token "${actor.name}")`;
    case 'operator':
      return 'an operator of this installation';
    default:
      return 'the system';
  }
}

/** Who acts, as events name them (`EventActor` of the contract): a type and an id, never a secret. */
export function eventActor(actor: Actor): { type: Actor['type']; id: string | null } {
  switch (actor.type) {
    case 'user':
      return { type: 'user', id: actor.userId };
    case 'token':
      return { type: 'token', id: actor.tokenId };
    case 'scim':
      return { type: 'scim', id: actor.tokenId };
    default:
      return { type: actor.type, id: null };
  }
}

/**
 * Who acts, as an event names them for the people it is told to (notifications put it in each
 * reader's words): a person by email, an automation token by name, an operator; null for the
 * system.
 */
export type ActorRef = { email: string } | { token: string } | { operator: true } | null;

export function actorRef(actor: Actor): ActorRef {
  switch (actor.type) {
    case 'user':
      return { email: actor.email };
    case 'token':
    case 'scim':
      return { token: actor.name };
    case 'operator':
      return { operator: true };
    default:
      return null;
  }
}
