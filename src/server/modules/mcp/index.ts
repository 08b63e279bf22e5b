import type { FastifyInstance } from 'fastify';
import { mcpRoutes } from './mcp.routes.ts';

/** The MCP endpoint: IDE assistants read and triage findings with a personal API token. */
export async function mcpModule(app: FastifyInstance): Promise<void> {
  mcpRoutes(app);
}
