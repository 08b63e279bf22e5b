import { PERMISSIONS, type Permission } from './permissions.ts';

/**
 * API tokens. A token reads `<prefix><32 base62 characters of randomness><6 base62 characters of
 * checksum>`: the prefix tells a secret scanner what it found (and whose kind), the checksum
 * (CRC-32 of prefix + random part, base62, zero-padded) lets it tell a real token from a look-alike
 * without asking the server. 32 base62 characters carry 190 bits of randomness.
 */
export const PERSONAL_TOKEN_PREFIX = 'gtp_';
export const AUTOMATION_TOKEN_PREFIX = 'gta_';
export const TOKEN_RANDOM_LENGTH = 32;
export const TOKEN_CHECKSUM_LENGTH = 6;
export const TOKEN_LENGTH = 4 + TOKEN_RANDOM_LENGTH + TOKEN_CHECKSUM_LENGTH;
/** A token as a regular expression, for secret scanners and log redaction. */
export const TOKEN_PATTERN = /\bgt[pa]_[0-9A-Za-z]{38}\b/;

export type TokenKind = 'personal' | 'automation';

export const TOKEN_SCOPES = ['read', 'write', 'admin'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** Lifetimes a token may be given, in days; null never expires. */
export const TOKEN_LIFETIMES_DAYS = [30, 90, null] as const;
export const AUTOMATION_TOKEN_LIFETIMES_DAYS = [30, 90, 365, null] as const;

/**
 * Permissions no token carries, whatever its scope and role: deleting the organization and giving
 * it away take a person at a console, with their password.
 */
export const NEVER_BY_TOKEN: ReadonlySet<Permission> = new Set<Permission>(['org:delete', 'org:transfer']);

const READ: readonly Permission[] = [
  'findings:read',
  'scans:read',
  'scans:export',
  'applications:read',
  'policies:read',
  'integrations:read',
  'analytics:read',
  'compliance:read',
  'audit:read',
  'audit:export',
  'settings:read',
  'members:read',
  'quota:read',
  'billing:read',
];

/** Work on the security data itself: findings, scans, applications, policies, integrations. */
const WRITE: readonly Permission[] = [
  'findings:update',
  'findings:mark_false_positive',
  'remediations:create',
  'remediations:approve',
  'scans:create',
  'scans:delete',
  'scanners:configure',
  'applications:manage',
  'applications:delete',
  'policies:manage',
  'integrations:manage',
];

/** Running the organization: members, roles, SSO, tokens, webhooks, settings, quota, billing. */
const ADMIN: readonly Permission[] = [
  'webhooks:manage',
  'settings:update',
  'members:manage',
  'roles:manage',
  'sso:manage',
  'api_keys:manage',
  'quota:manage',
  'billing:manage',
  'org:export',
];

/**
 * What each scope lets a token do, before the role narrows it. Scopes nest: `write` includes
 * `read`, `admin` includes both. Every catalog permission but `NEVER_BY_TOKEN` is in `admin` (a test
 * holds the three lists to that, so a permission added to the catalog must be given a scope).
 */
export const SCOPE_PERMISSIONS: Record<TokenScope, readonly Permission[]> = {
  read: PERMISSIONS.filter((p) => READ.includes(p)),
  write: PERMISSIONS.filter((p) => READ.includes(p) || WRITE.includes(p)),
  admin: PERMISSIONS.filter((p) => READ.includes(p) || WRITE.includes(p) || ADMIN.includes(p)),
};

/** The permissions a set of scopes allows (their union). */
export function scopePermissions(scopes: readonly TokenScope[]): ReadonlySet<Permission> {
  const out = new Set<Permission>();
  for (const scope of scopes) for (const p of SCOPE_PERMISSIONS[scope]) out.add(p);
  return out;
}

/** Scopes de-duplicated, in catalog order (what is stored and shown). */
export function tokenScopesOrdered(scopes: readonly TokenScope[]): TokenScope[] {
  return TOKEN_SCOPES.filter((s) => scopes.includes(s));
}
