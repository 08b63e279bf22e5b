import type { FastifyInstance } from 'fastify';
import { purgeScimRequests } from './scim.repository.ts';
import { scimRoutes } from './scim.routes.ts';

/**
 * SCIM 2.0 provisioning: the org's SCIM tokens and request log, and `/scim/v2`, through which
 * its identity provider creates, updates, deactivates and deletes members and groups.
 */
export async function scimModule(app: FastifyInstance): Promise<void> {
  scimRoutes(app);
  const { database } = app.gatehouse;
  const purge = setInterval(() => {
    purgeScimRequests(database.db).catch((err) => app.log.error({ err }, 'SCIM request log purge failed'));
  }, 10 * 60_000);
  purge.unref();
  app.addHook('onClose', async () => clearInterval(purge));
}
