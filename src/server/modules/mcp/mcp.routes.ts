import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { UnauthenticatedError } from '../../platform/errors/app-error.ts';
import { apiCaller, buildMcpServer } from './mcp.tools.ts';

const VERSION = '1';

/** JSON-RPC's own "method not allowed": this server keeps no sessions, so there is no stream to open or end. */
function notAllowed(_request: FastifyRequest, reply: FastifyReply) {
  return reply
    .status(405)
    .header('allow', 'POST')
    .send({
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Method not allowed: this MCP server is stateless.' },
      id: null,
    });
}

/**
 * `POST /mcp`: the Model Context Protocol over Streamable HTTP, stateless, for IDE assistants
 * with a personal API token. The route admits the token (personal only); each tool then calls
 * the REST API with it (see mcp.tools.ts), in the token's one organization.
 */
export function mcpRoutes(app: FastifyInstance): void {
  const access = { authenticated: true, personalTokenOnly: true } as const;
  const schema = { tags: ['mcp'], summary: 'MCP (Streamable HTTP, stateless) for a personal API token' };

  app.post('/mcp', { config: { ...access, command: [] }, schema }, async (request, reply) => {
    const token = request.apiToken;
    if (token?.kind !== 'personal') throw new UnauthenticatedError();
    const server = buildMcpServer(apiCaller(app, request, token.orgId), VERSION);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    // From here the transport writes the answer itself.
    reply.hijack();
    reply.raw.setHeader('cache-control', 'no-store');
    reply.raw.setHeader('x-content-type-options', 'nosniff');
    reply.raw.setHeader('x-request-id', request.id);
    reply.raw.on('close', () => {
      void transport.close();
      void server.close();
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(request.raw, reply.raw, request.body);
    } catch (err) {
      request.log.error({ err }, 'MCP request failed');
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(500, { 'content-type': 'application/json' });
        reply.raw.end(
          JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null }),
        );
      }
    }
  });
  app.get(
    '/mcp',
    {
      config: access,
      schema: { ...schema, summary: 'Not allowed (405): this MCP server keeps no sessions' },
    },
    notAllowed,
  );
  app.delete(
    '/mcp',
    {
      config: { ...access, command: [] },
      schema: { ...schema, summary: 'Not allowed (405): this MCP server keeps no sessions' },
    },
    notAllowed,
  );
}
