import type { FastifyInstance } from 'fastify';
import { registerSealedColumn } from '../../platform/secrets/rotate.ts';
import { secretContext } from './integrations.commands.ts';
import { Integration, integrationsRoutes } from './integrations.routes.ts';

export { countIntegrations } from './integrations.repository.ts';

// `gatehouse secrets rotate` re-seals the integrations' secrets; the context names the org and the row.
registerSealedColumn({
  table: 'integrations',
  idColumn: 'id',
  orgColumn: 'org_id',
  sealedColumn: 'secret',
  contextColumns: ['org_id'],
  context: (row) => secretContext(String(row.org_id), String(row.id)),
});

/**
 * The integrations registry: each organization's connections to SCM, ticketing, registries,
 * clouds and chat, with their secrets sealed at rest and a connection test through the outbound
 * guard that says whether the service takes the secret.
 */
export async function integrationsModule(app: FastifyInstance): Promise<void> {
  app.addSchema(Integration);
  integrationsRoutes(app);
}
