import type { FastifyInstance } from 'fastify';
import { accountLifecycleRoutes } from './account-lifecycle.routes.ts';

/**
 * The end of an account's life and what its owner may take along first: the personal data
 * download and the account's deletion. Apart from accounts because deletion leaves every
 * organization (members) and revokes tokens (api-tokens), which themselves depend on accounts.
 */
export async function accountLifecycleModule(app: FastifyInstance): Promise<void> {
  accountLifecycleRoutes(app);
}
