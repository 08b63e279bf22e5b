import type { FastifyInstance } from 'fastify';
import { registerSealedColumn } from '../../platform/secrets/rotate.ts';
import { clientSecretContext } from './sso.commands.ts';
import { purgeSsoRequests } from './sso.requests.repository.ts';
import { ssoRoutes } from './sso.routes.ts';

export { NO_PASSWORD } from '../../platform/auth/passwords.ts';
export { findSsoSettings, listGroupMappings, listUserIdentities, ssoCoverage } from './sso.repository.ts';
export { scimBaseUrl } from './sso.routes.ts';
export { DEFAULT_SSO_ROLE } from './sso.signin.ts';

// `gatehouse secrets rotate` re-seals the OIDC client secrets; the context names the org.
registerSealedColumn({
  table: 'sso_oidc',
  idColumn: 'org_id',
  sealedColumn: 'client_secret',
  context: (row) => clientSecretContext(String(row.org_id)),
});

/**
 * Single sign-on per organization: OIDC and SAML identity providers, enforcement, just-in-time
 * provisioning with group mappings, and the browser's side of signing in through them.
 */
export async function ssoModule(app: FastifyInstance): Promise<void> {
  ssoRoutes(app);
  const { database } = app.gatehouse;
  const purge = setInterval(() => {
    purgeSsoRequests(database.db).catch((err) => app.log.error({ err }, 'SSO housekeeping failed'));
  }, 10 * 60_000);
  purge.unref();
  app.addHook('onClose', async () => clearInterval(purge));
}
