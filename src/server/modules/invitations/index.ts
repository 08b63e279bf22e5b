import type { FastifyInstance } from 'fastify';
import { Invitation, invitationsRoutes } from './invitations.routes.ts';

export { lockLiveInvitationByEmail, markInvitation } from './invitations.repository.ts';

/** Invitations by email, the share link and its approval queue. */
export async function invitationsModule(app: FastifyInstance): Promise<void> {
  app.addSchema(Invitation);
  invitationsRoutes(app);
}
