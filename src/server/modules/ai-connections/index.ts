import type { FastifyInstance } from 'fastify';
import { registerSealedColumn } from '../../platform/secrets/rotate.ts';
import { apiKeyContext } from './ai-connections.commands.ts';
import { AiConnection, aiConnectionsRoutes } from './ai-connections.routes.ts';

// `gatehouse secrets rotate` re-seals the API keys; the context names the org and the row.
registerSealedColumn({
  table: 'ai_connections',
  idColumn: 'id',
  orgColumn: 'org_id',
  sealedColumn: 'api_key',
  contextColumns: ['org_id'],
  context: (row) => apiKeyContext(String(row.org_id), String(row.id)),
});

/**
 * BYO-AI: each organization's own AI provider per purpose (remediator, validator) — OpenAI, Azure
 * OpenAI or an OpenAI-compatible API — with its key sealed at rest and a connection test that
 * lists the provider's models through the outbound guard.
 */
export async function aiConnectionsModule(app: FastifyInstance): Promise<void> {
  app.addSchema(AiConnection);
  aiConnectionsRoutes(app);
}
