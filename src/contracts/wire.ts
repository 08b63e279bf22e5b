/**
 * The JSON shapes the API answers with, as clients read them (times as RFC 3339 strings). The
 * console imports these instead of describing server rows itself; the route schemas
 * (TypeBox, src/server/modules) are the authority and these follow them.
 */
import type { LocalizationSettings } from './settings.ts';

export interface Me {
  user: {
    id: string;
    email: string;
    name: string;
    locale: string | null;
    timezone: string | null;
    emailVerified: boolean;
    /** TOTP 2FA is on: what an organization requiring 2FA asks of its members. */
    twoFactorEnabled: boolean;
    /** Passkeys the user has registered. */
    passkeyCount?: number;
  };
  memberships: Array<{
    /** `suspended`: by the installation's operators; its routes answer 403 org_suspended. */
    org: {
      id: string;
      slug: string;
      name: string;
      suspended: boolean;
      /** Settings → Language: what the console follows in this org when the user chose nothing. */
      localization: LocalizationSettings;
    };
    role: string;
    permissions: string[];
  }>;
  /** This session (absent for a personal token): how it was signed in, RFC 8176 names (`hwk`: a passkey). */
  session?: { amr: string[] };
}

/** One of the signed-in user's passkeys (GET /me/passkeys). */
export interface PasskeyView {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Member {
  userId: string;
  email: string;
  name: string;
  role: string;
  status: string;
  joinedAt: string;
  lastActiveAt: string | null;
}

/** A role as GET /orgs/:orgId/roles presents it. */
export interface Role {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  builtin: boolean;
  /** Whether its permissions can change (every role but Owner). */
  editable: boolean;
  permissions: string[];
  /** Active members holding it (the list gives it; a single role's answer does not). */
  memberCount?: number;
}

/** One permission of the catalog (GET /permissions). */
export interface PermissionEntry {
  key: string;
  resource: string;
  action: string;
  description: string;
}

export interface Invitation {
  id: string;
  email: string;
  role: string;
  status: string;
  expiresAt: string;
}

export interface TokenView {
  id: string;
  name: string;
  role?: string | null;
  scopes: string[];
  permissions?: string[];
  status: string;
  hint: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

export interface CreatedToken extends TokenView {
  token: string;
}

export interface UsageEntry {
  at: string;
  ip: string | null;
  method: string;
  route: string;
  status: number;
  count: number;
}

/** The organization profile (GET /orgs/:orgId). */
export interface Organization {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  contactEmail: string | null;
  website: string | null;
  industry: string | null;
  teamEmails: string[];
  invoiceRecipients: string[];
  plan: string;
  /** What the plan allows; `name` is the plan's display name. */
  entitlements: { name: string; [entitlement: string]: unknown };
  /** Same-origin path of the logo (versioned), or null when there is none. */
  logoUrl: string | null;
  createdAt: string;
  updatedAt: string;
}

/** An organization's security policy (GET /orgs/:orgId/security). */
export interface OrgSecurity {
  require2fa: boolean;
  /** Null: the installation's timeout (`defaultSessionIdleMinutes`). */
  sessionIdleMinutes: number | null;
  /** Canonical CIDR blocks; empty: any address. */
  ipAllowlist: string[];
  defaultSessionIdleMinutes: number;
  /** The caller's address as the server sees it. */
  yourAddress: string | null;
}

/** A request to join through the share link, waiting for an admin. */
export interface JoinRequest {
  id: string;
  userId: string;
  email: string;
  name: string;
  status: string;
  createdAt: string;
}

/** The share link's state; its URL is only ever shown when created or rotated. */
export interface JoinLinkState {
  enabled: boolean;
  createdAt: string | null;
}

/** What an invitation link is for (POST /invitations/preview). */
export interface InvitationPreview {
  org: { id: string; name: string };
  email: string;
  role: string;
  roleName: string;
}

/** A security policy (GET /orgs/{orgId}/policies). */
export interface PolicyView {
  id: string;
  name: string;
  description: string | null;
  failOn: 'critical' | 'high' | 'medium' | 'low';
  modules: string[];
  applicationIds: string[];
  createdAt: string;
  updatedAt: string;
}

/** GET /orgs/:orgId/usage: the shared token pool in a month. */
export interface UsageReport {
  month: string;
  plan: string;
  limit: number;
  boosts: number;
  used: number;
  remaining: number;
  byModule: { module: string; tokens: number }[];
  /** userId null: automation tokens. */
  byMember: { userId: string | null; email: string | null; tokens: number }[];
  byDepartment: {
    id: string;
    name: string;
    parentId: string | null;
    budget: number | null;
    tokens: number;
  }[];
  trend: { month: string; used: number; limit: number }[];
}

/** A department (team) with its monthly budget (null: none) and members. */
export interface DepartmentView {
  id: string;
  name: string;
  parentId: string | null;
  monthlyBudget: number | null;
  memberIds: string[];
  members: { userId: string; email: string; name: string }[];
  createdAt: string;
  updatedAt: string;
}

/** A member's own monthly budget, with what they spent this month. */
export interface MemberBudgetView {
  userId: string;
  email: string;
  name: string;
  monthlyTokens: number;
  used: number;
}

/** Tokens added to the pool for 30 days. */
export interface QuotaBoostView {
  id: string;
  tokens: number;
  createdAt: string;
  expiresAt: string;
  active: boolean;
  createdBy: { id: string; email: string | null } | null;
}
