import type { FastifyInstance } from 'fastify';
import { Member, membersRoutes } from './members.routes.ts';

export { roleForAssignment } from '../roles/index.ts';
export { alertOwnersOfPromotion } from './members.alerts.ts';
export {
  departOrganization,
  emitMemberAdded,
  emitRoleChanged,
  eventMember,
  keepsAnOwner,
  LastOwnerError,
} from './members.commands.ts';
export { assertMayOwnAnother } from './members.ownership.ts';
export {
  admitMember,
  assertSeatsFor,
  countActiveMembers,
  countMembersByRole,
  countSeats,
  filterMembersToTell,
  findActiveMemberByEmail,
  findMember,
  grantSsoBypass,
  listActiveOrgIds,
  listMembers,
  listMembersHolding,
  listMembersToTell,
  listOwnerEmails,
  listUserMembershipHistory,
  lockMember,
  setMemberRole,
} from './members.repository.ts';
export { presentMember } from './members.routes.ts';

/** Members: the list, role changes, removal, leaving, ownership transfer. */
export async function membersModule(app: FastifyInstance): Promise<void> {
  app.addSchema(Member);
  membersRoutes(app);
}
