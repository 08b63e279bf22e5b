import type { FastifyRequest } from 'fastify';
import { type Permission, SENSITIVE_PERMISSIONS } from '../../../contracts/permissions.ts';
import type { OrgAccess } from '../access/access.ts';
import type { AuditLog } from './log.ts';
import { auditActor } from './log.ts';

/** One entry per member, route and minute at most: a loop of refused requests cannot flood the log. */
const REPEAT_WINDOW_MS = 60_000;
const REMEMBERED = 10_000;

/**
 * Records a member's refused request to a route guarded by a sensitive permission as
 * `access.denied` in the org's log (its own transaction: the request itself changes nothing).
 * A failure to record is logged; the refusal stands either way.
 */
export function deniedRecorder(audit: AuditLog, logError: (err: unknown, msg: string) => void) {
  const recent = new Map<string, number>();
  return async (request: FastifyRequest, access: OrgAccess, permission: Permission): Promise<void> => {
    if (!SENSITIVE_PERMISSIONS.has(permission)) return;
    const route = `${request.method} ${request.routeOptions.url ?? ''}`;
    const key = `${access.orgId}|${access.userId}|${route}`;
    const now = Date.now();
    const last = recent.get(key);
    if (last !== undefined && now - last < REPEAT_WINDOW_MS) return;
    recent.delete(key);
    recent.set(key, now);
    if (recent.size > REMEMBERED) recent.delete(recent.keys().next().value as string);
    try {
      await audit.appendNow([
        {
          chain: { kind: 'org', id: access.orgId },
          actor: auditActor(request.actor),
          action: 'access.denied',
          target: { type: 'route', id: route },
          after: { permission, role: access.roleSlug },
          meta: request.invocation().meta,
        },
      ]);
    } catch (err) {
      logError(err, 'could not record a refused request in the audit log');
    }
  };
}
