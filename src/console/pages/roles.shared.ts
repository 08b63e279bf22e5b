import type { PermissionEntry, Role } from '../../contracts/wire.ts';

/** A role as GET /orgs/:orgId/roles presents it. */
export type RoleView = Role;

export type CatalogEntry = PermissionEntry;

/** Unsaved matrix cells: role slug → permission → the state wanted (only cells that differ). */
export type Drafts = Record<string, Record<string, boolean>>;

export const OWNER = 'owner';

export const colId = (slug: string) => `roles-col-${slug}`;

export const roleUrl = (orgId: string, slug: string) => `/orgs/${orgId}/roles/${encodeURIComponent(slug)}`;
