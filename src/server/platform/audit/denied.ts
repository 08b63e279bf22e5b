import { isPermission, SENSITIVE_PERMISSIONS } from '../../../contracts/permissions.ts';
import type { OrgAccess } from '../access/access.ts';
import type { Actor, RequestMeta } from '../actor.ts';
import type { AuditLog } from './log.ts';
import { auditActor } from './log.ts';

/**
 * One entry per member (or token), route, thing asked for, permission lacked and minute at most: a
 * loop of refused requests cannot flood the log, while a different refusal on the same route
 * (another permission lacked, another member or role asked for) is recorded in its own right. A
 * refusal is recorded when it lacks a permission not yet recorded for what it asked: asking for
 * other mixes of the same permissions (a role's, in any combination) is no new refusal.
 */
const REPEAT_WINDOW_MS = 60_000;
const REMEMBERED = 10_000;

export interface Refusal {
  actor: Actor;
  meta: RequestMeta;
  access: OrgAccess;
  permission: string;
  /** A grant beyond reach: every permission lacked for it (`permission` is the first). */
  missing?: readonly string[];
  /** A grant beyond reach: what was asked for, by name (`{ member, role }`, `{ role }`...). */
  asked?: Readonly<Record<string, string>>;
  /** `METHOD /route/:pattern`, or the command refused when there is no route. */
  route: string;
  /**
   * Refused by the organization's policy rather than for a permission (`permission` is then what
   * the route asks for): always recorded, since a request from outside the allowlist with a valid
   * credential is something its admins want to know of.
   */
  reason?: 'ip_not_allowed';
}

export type DeniedRecorder = (refusal: Refusal) => Promise<void>;

/**
 * Records a member's refusal for lacking a sensitive permission — at a route's door or inside a
 * command — or for a grant beyond their reach (always: handing out access is administrative),
 * as `access.denied` in the org's log (its own transaction: the request itself changes
 * nothing). A failure to record is logged; the refusal stands either way.
 */
export function deniedRecorder(
  audit: AuditLog,
  logError: (err: unknown, msg: string) => void,
  /** The name of the member's role (kept in the entry beside its slug), when it still exists. */
  roleName: (orgId: string, roleId: string) => Promise<string | undefined> = async () => undefined,
): DeniedRecorder {
  const recent = new Map<string, number>();
  return async ({ actor, meta, access, permission, missing, asked, route, reason }) => {
    if (!reason && !missing && (!isPermission(permission) || !SENSITIVE_PERMISSIONS.has(permission))) return;
    const of = JSON.stringify([
      access.orgId,
      access.tokenId ?? access.userId,
      route,
      reason ?? null,
      asked ? Object.entries(asked).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : [],
    ]);
    const keys = (missing ?? [permission]).map((p) => `${of}|${p}`);
    const now = Date.now();
    const fresh = (key: string) => {
      const last = recent.get(key);
      return last === undefined || now - last >= REPEAT_WINDOW_MS;
    };
    if (!keys.some(fresh)) return;
    for (const key of keys) {
      recent.delete(key);
      recent.set(key, now);
      if (recent.size > REMEMBERED) recent.delete(recent.keys().next().value as string);
    }
    try {
      // The refusal is recorded even when its words cannot be read.
      const name = access.roleId
        ? await roleName(access.orgId, access.roleId).catch(() => undefined)
        : undefined;
      await audit.appendNow([
        {
          chain: { kind: 'org', id: access.orgId },
          actor: auditActor(actor),
          action: 'access.denied',
          target: { type: 'route', id: route },
          after: {
            ...(reason ? { reason } : {}),
            permission,
            ...(missing ? { missing: [...missing] } : {}),
            ...(asked ? { asked: { ...asked } } : {}),
            role: access.roleSlug,
            ...(name ? { roleName: name } : {}),
          },
          meta,
        },
      ]);
    } catch (err) {
      logError(err, 'could not record a refused request in the audit log');
    }
  };
}
