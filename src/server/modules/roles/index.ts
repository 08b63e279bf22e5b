import type { FastifyInstance } from 'fastify';
import { Role, rolesRoutes } from './roles.routes.ts';

export { roleForAssignment } from './roles.commands.ts';
export { isPrivileged } from './roles.privilege.ts';
export {
  findRoleById,
  findRoleBySlug,
  insertBuiltinRoles,
  listRoles,
  type RoleRow,
} from './roles.repository.ts';
export { presentRole } from './roles.routes.ts';

/** Roles and permissions: the fixed catalog, and each organization's built-in and custom roles. */
export async function rolesModule(app: FastifyInstance): Promise<void> {
  app.addSchema(Role);
  rolesRoutes(app);
}
