import type { AuditEntry } from '../../platform/audit/entry.ts';

/**
 * An audit entry in OCSF 1.x form, as `audit.entry` deliveries carry it: class API Activity
 * (6003, category Application Activity), the activity read from the action's verb, the actor, the
 * client address and user agent, the target as the resource, and everything OCSF has no field for
 * (before/after, the chain's seq and hashes) under `unmapped`, so a SIEM can still verify the chain.
 *
 * The one place the mapping lives: the audit export's `format=ocsf` is to share it.
 */
export function auditEntryToOcsf(entry: AuditEntry, orgId: string): Record<string, unknown> {
  const verb = entry.action.split('.').at(-1) ?? '';
  const activity = /created|added|invited|provisioned|generated|enabled/.test(verb)
    ? { id: 1, name: 'Create' }
    : /exported|read|viewed/.test(verb)
      ? { id: 2, name: 'Read' }
      : /deleted|removed|revoked|left|cancelled|pruned|deactivated|disabled/.test(verb)
        ? { id: 4, name: 'Delete' }
        : /updated|changed|rotated|renamed|set|transferred|accepted|approved|denied|resent/.test(verb)
          ? { id: 3, name: 'Update' }
          : { id: 99, name: 'Other' };
  const denied = entry.action === 'access.denied';
  const time = Date.parse(entry.occurredAt);
  return {
    class_uid: 6003,
    class_name: 'API Activity',
    category_uid: 6,
    category_name: 'Application Activity',
    activity_id: activity.id,
    activity_name: activity.name,
    type_uid: 6003 * 100 + activity.id,
    time,
    severity_id: denied ? 3 : 1,
    severity: denied ? 'Medium' : 'Informational',
    status_id: denied ? 2 : 1,
    status: denied ? 'Failure' : 'Success',
    message: entry.action,
    metadata: {
      version: '1.3.0',
      uid: entry.id,
      sequence: entry.seq,
      log_name: 'audit',
      original_time: entry.occurredAt,
      product: { name: 'Gatehouse', vendor_name: 'Gatehouse' },
      tenant_uid: orgId,
      correlation_uid: entry.requestId ?? undefined,
    },
    actor: {
      user: {
        type: entry.actor.type,
        uid: entry.actor.id ?? undefined,
        email_addr: entry.actor.email ?? undefined,
      },
      ...(entry.actor.tokenId
        ? { session: { uid: entry.actor.tokenId, credential_uid: entry.actor.tokenId } }
        : {}),
    },
    api: { operation: entry.action, request: { uid: entry.requestId ?? entry.id } },
    src_endpoint: entry.ip ? { ip: entry.ip } : undefined,
    http_request: entry.userAgent ? { user_agent: entry.userAgent } : undefined,
    resources: [
      {
        type: entry.target.type,
        uid: entry.target.id,
        ...(entry.target.name ? { name: entry.target.name } : {}),
        ...(entry.target.email ? { data: { email: entry.target.email } } : {}),
      },
    ],
    unmapped: {
      orgId,
      seq: entry.seq,
      before: entry.before,
      after: entry.after,
      prevHash: entry.prevHash,
      hash: entry.hash,
    },
  };
}
