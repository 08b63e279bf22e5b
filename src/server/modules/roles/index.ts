import type { FastifyInstance } from 'fastify';
import { Role, rolesRoutes } from './roles.routes.ts';

export { roleForAssignment } from './roles.commands.ts';
export { isPrivileged } from './roles.privilege.ts';
export { findRoleById, findRoleBySlug, insertBuiltinRoles, type RoleRow } from './roles.repository.ts';

/** Roles and permissions: the fixed catalog, and each organization's built-in and custom roles. */
export async function rolesModule(app: FastifyInstance): Promise<void> {
  app.addSchema(Role);
  rolesRoutes(app);
}
