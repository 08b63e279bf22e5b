import type { FastifyInstance } from 'fastify';
import { apiTokensRoutes, OrgToken, PersonalToken } from './api-tokens.routes.ts';

export { revokeTokens } from './api-tokens.commands.ts';
export {
  countOrgLiveTokens,
  listPersonalTokenHistory,
  orgHasLiveToken,
  orgsWithPersonalTokens,
} from './api-tokens.repository.ts';

/** API tokens: personal tokens, the organization's automation tokens and their usage log. */
export async function apiTokensModule(app: FastifyInstance): Promise<void> {
  app.addSchema(PersonalToken);
  app.addSchema(OrgToken);
  apiTokensRoutes(app);
}
