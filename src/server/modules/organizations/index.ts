import type { FastifyInstance } from 'fastify';
import { Organization, organizationsRoutes } from './organizations.routes.ts';

/** Organizations: creation, the profile and logo, deletion. */
export async function organizationsModule(app: FastifyInstance): Promise<void> {
  app.addSchema(Organization);
  organizationsRoutes(app);
}
