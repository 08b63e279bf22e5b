import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { FINDING_SEVERITIES, FINDING_STATUSES } from '../../../contracts/findings.ts';

/**
 * How a tool reaches the API: a request of its own, in-process, carrying the caller's own bearer
 * token and address. The token's scopes, its owner's current role, the org's policy (allowlist,
 * suspension) and every audit entry are decided by the same routes and hooks as any other
 * request: the tools add no rule of their own and cannot drift from the API.
 */
export type ApiCaller = (method: 'GET' | 'PATCH', path: string, payload?: object) => Promise<CallToolResult>;

export function apiCaller(app: FastifyInstance, request: FastifyRequest, orgId: string): ApiCaller {
  const authorization = request.headers.authorization!;
  const userAgent = request.headers['user-agent'];
  return async (method, path, payload) => {
    const res = await app.inject({
      method,
      url: `/api/v1/orgs/${orgId}${path}`,
      remoteAddress: request.ip,
      headers: {
        authorization,
        'x-request-id': request.id,
        ...(userAgent ? { 'user-agent': userAgent } : {}),
      },
      ...(payload ? { payload } : {}),
    });
    const text = res.body;
    if (res.statusCode >= 200 && res.statusCode < 300) {
      return { content: [{ type: 'text', text }] };
    }
    // The problem document as it is: its `code` is what a client (or an assistant) acts on.
    let problem: Record<string, unknown>;
    try {
      problem = JSON.parse(text) as Record<string, unknown>;
    } catch {
      problem = {
        status: res.statusCode,
        code: 'internal_error',
        detail: 'The API answered without a problem document.',
      };
    }
    const { code, status, detail, errors, params } = problem;
    return {
      isError: true,
      content: [{ type: 'text', text: JSON.stringify({ code, status, detail, errors, params }) }],
    };
  };
}

const query = (params: Record<string, string | number | readonly string[] | undefined>): string => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) search.append(key, v);
    else search.append(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
};

const Id = z.string().uuid();
const Limit = z.number().int().min(1).max(200).optional().describe('Page size (default 50)');
const Cursor = z.string().max(512).optional().describe('nextCursor of the previous page');
const Severity = z.enum(FINDING_SEVERITIES);
const Status = z.enum(FINDING_STATUSES);

/** The MCP server for one request (stateless: nothing is kept between requests). */
export function buildMcpServer(call: ApiCaller, version: string): McpServer {
  const server = new McpServer({ name: 'gatehouse', version });
  const readOnly = { readOnlyHint: true, openWorldHint: false } as const;

  server.registerTool(
    'list_applications',
    {
      description: "The organization's applications (repositories, services), newest first.",
      inputSchema: { limit: Limit, cursor: Cursor },
      annotations: readOnly,
    },
    async ({ limit, cursor }) => call('GET', `/applications${query({ limit, cursor })}`),
  );

  server.registerTool(
    'list_scans',
    {
      description: "The organization's scans, newest first; filter by application, status or creator.",
      inputSchema: {
        applicationId: Id.optional(),
        status: z.enum(['pending', 'completed', 'failed']).optional(),
        createdBy: Id.optional().describe("A member's user id"),
        limit: Limit,
        cursor: Cursor,
      },
      annotations: readOnly,
    },
    async (args) => call('GET', `/scans${query(args)}`),
  );

  server.registerTool(
    'list_findings',
    {
      description:
        "The organization's findings, most recently seen first. Filters combine; several severities or statuses match any of them; q searches title, rule id and file path.",
      inputSchema: {
        severity: z.array(Severity).max(4).optional(),
        status: z.array(Status).max(5).optional(),
        assigneeId: z
          .union([Id, z.literal('none')])
          .optional()
          .describe("A member's user id, or none"),
        applicationId: Id.optional(),
        q: z.string().min(1).max(200).optional(),
        limit: Limit,
        cursor: Cursor,
      },
      annotations: readOnly,
    },
    async (args) => call('GET', `/findings${query(args)}`),
  );

  server.registerTool(
    'get_finding',
    {
      description:
        'One finding with its message, location, application, assignee, recent scans and remediations.',
      inputSchema: { id: Id },
      annotations: readOnly,
    },
    async ({ id }) => call('GET', `/findings/${id}`),
  );

  server.registerTool(
    'update_finding_status',
    {
      description:
        "Set a finding's status (needs a token with the write scope; false_positive also needs the findings:mark_false_positive permission).",
      inputSchema: { id: Id, status: Status },
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    async ({ id, status }) => call('PATCH', `/findings/${id}`, { status }),
  );

  return server;
}
