import { PERMISSIONS, type Permission } from './permissions.ts';

export const OWNER_ROLE = 'owner';
export const ADMIN_ROLE = 'admin';

export interface BuiltinRole {
  slug: string;
  name: string;
  description: string;
  permissions: readonly Permission[];
}

const EVERYONE: Permission[] = [
  'findings:read',
  'scans:read',
  'scans:export',
  'applications:read',
  'policies:read',
  'members:read',
];
const CONTRIBUTORS: Permission[] = [
  'findings:update',
  'findings:mark_false_positive',
  'remediations:create',
  'scans:create',
];
const OPERATORS: Permission[] = [
  'policies:manage',
  'integrations:read',
  'integrations:manage',
  'applications:manage',
  'scanners:configure',
  'analytics:read',
  'compliance:read',
  'quota:read',
];
const ADMINISTRATORS: Permission[] = [
  'remediations:approve',
  'scans:delete',
  'applications:delete',
  'webhooks:manage',
  'audit:read',
  'audit:export',
  'settings:read',
  'settings:update',
  'members:manage',
  'roles:manage',
  'sso:manage',
  'api_keys:manage',
  'quota:manage',
];

/** Catalog order, so stored and displayed permission lists read the same everywhere. */
const ordered = (groups: Permission[][]): Permission[] => {
  const set = new Set(groups.flat());
  return PERMISSIONS.filter((p) => set.has(p));
};

/**
 * The five built-in roles. Every organization gets its own copy; the copies
 * of Admin, Cyberoper, Developer and Viewer have editable permission sets, Owner's never: an
 * Owner always holds every permission, including ones added to the catalog later.
 */
export const BUILTIN_ROLES: readonly BuiltinRole[] = [
  {
    slug: OWNER_ROLE,
    name: 'Owner',
    description: 'Full control, including billing, data export, deletion and ownership transfer.',
    permissions: [...PERMISSIONS],
  },
  {
    slug: ADMIN_ROLE,
    name: 'Admin',
    description: 'Manages members, roles, settings, SSO, tokens and the audit log.',
    permissions: ordered([EVERYONE, CONTRIBUTORS, OPERATORS, ADMINISTRATORS]),
  },
  {
    slug: 'cyberoper',
    name: 'Cyberoper',
    description: 'Security operations: policies, integrations, applications and scanners.',
    permissions: ordered([EVERYONE, CONTRIBUTORS, OPERATORS]),
  },
  {
    slug: 'developer',
    name: 'Developer',
    description: 'Works with scans and findings.',
    permissions: ordered([EVERYONE, CONTRIBUTORS]),
  },
  {
    slug: 'viewer',
    name: 'Viewer',
    description: 'Read-only access to findings, scans, applications, policies and members.',
    permissions: ordered([EVERYONE]),
  },
];

export const BUILTIN_ROLE_SLUGS: ReadonlySet<string> = new Set(BUILTIN_ROLES.map((r) => r.slug));

/** Roles whose grant raises an alert to the organization's owners. */
export const PRIVILEGED_ROLES: ReadonlySet<string> = new Set([OWNER_ROLE, ADMIN_ROLE]);
