import type { FastifyInstance } from 'fastify';
import { Member, membersRoutes } from './members.routes.ts';

export { roleForAssignment } from './members.commands.ts';
export { admitMember, countSeats, findActiveMemberByEmail } from './members.repository.ts';

/** Members: the list, role changes, removal, leaving, ownership transfer. */
export async function membersModule(app: FastifyInstance): Promise<void> {
  app.addSchema(Member);
  membersRoutes(app);
}
