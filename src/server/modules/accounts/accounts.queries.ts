import type { FastifyRequest } from 'fastify';
import { UnauthenticatedError } from '../../platform/errors/app-error.ts';
import { decodeCursor, toPage } from '../../platform/http/paging.ts';
import { countPasskeys } from './accounts.passkeys.ts';
import { listUserSessions } from './accounts.repository.ts';

function signedIn(request: FastifyRequest) {
  if (!request.session) throw new UnauthenticatedError();
  return request.session;
}

/** The signed-in user, or the owner of the personal token the request came with. */
async function currentUser(request: FastifyRequest) {
  if (request.session) return request.session.user;
  const actor = request.actor;
  const user = actor.type === 'user' ? await request.server.gatehouse.sessions.user(actor.userId) : undefined;
  if (!user) throw new UnauthenticatedError();
  return user;
}

export async function getMe(request: FastifyRequest) {
  const user = await currentUser(request);
  const [memberships, passkeyCount] = await Promise.all([
    request.server.gatehouse.access.userOrgs(user.id),
    countPasskeys(request.server.gatehouse.database.db, user.id),
  ]);
  // A personal token reaches one organization: it sees no other.
  const tokenOrg = request.apiToken?.orgId;
  return {
    user: { ...user, passkeyCount },
    memberships: tokenOrg ? memberships.filter((m) => m.org.id === tokenOrg) : memberships,
    ...(request.session ? { session: { amr: request.session.session.amr } } : {}),
  };
}

export async function listMySessions(request: FastifyRequest, query: { limit?: number; cursor?: string }) {
  const { user, session } = signedIn(request);
  const limit = query.limit ?? 50;
  const after = decodeCursor(query.cursor);
  const rows = await listUserSessions(request.server.gatehouse.database.db, user.id, {
    limit: limit + 1,
    idleTimeoutMs: request.server.gatehouse.config.session.idleTimeoutMs,
    ...(after ? { after } : {}),
  });
  return toPage(rows, limit, (row) => ({ ...row, current: row.id === session.id }));
}
