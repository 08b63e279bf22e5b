import type { FastifyInstance } from 'fastify';
import { setupRoutes } from './setup.routes.ts';

/** The setup checklist of a new organization (its home page), read from what the other modules hold. */
export async function setupModule(app: FastifyInstance): Promise<void> {
  setupRoutes(app);
}
