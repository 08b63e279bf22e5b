/**
 * Audit entries in OCSF 1.3.0 form (Open Cybersecurity Schema Framework), for SIEMs: the
 * `audit.entry` event and `GET …/audit-events/export?format=ocsf`. Pure: one entry in, one event
 * out, nothing read.
 *
 * Which class an action becomes:
 * - Authentication (3002): signing in (`user.signed_in`, `member.signed_in`,
 *   `user.reauthenticated`: Logon) and sessions ending (`session.ended`, `session.revoked`: Logoff).
 * - Account Change (3001): the `user.*` actions on an account — created (Create), enabled (Enable),
 *   password changed / reset (Password Change / Reset), disabled (Disable), deleted (Delete),
 *   second factors added and removed (MFA Factor Enable / Disable); its other changes are Other.
 * - Group Management (3006), the organization being the group: members joining (`member.added`,
 *   `invite.accepted`, `join_request.approved`, `member.provisioned` on a first single sign-on:
 *   Add User), leaving or removed (Remove User), and
 *   given a role or more access (`member.role_changed`, `ownership.transferred`,
 *   `member.break_glass`: Assign Privileges).
 * - API Activity (6003) for everything else, its activity read from the action's verb: created,
 *   invited, added, commented → Create; exported → Read; deleted, removed, revoked, cancelled,
 *   pruned → Delete; updated, changed, … → Update; any other verb → Other. `access.denied` is a
 *   failed API Activity (status Failure) of activity Other.
 *
 * Severity: Informational, except refusals (`access.denied`) and what lowers an account's or an
 * organization's protection (second factors removed or reset, break-glass access): Medium; and
 * changes of who holds power (role changes, ownership, organization deleted or its security
 * settings changed, its single sign-on settings or identity provider changed — the IdP vouches
 * for who its members are —, accounts disabled or deleted, tokens created): Low.
 *
 * Every event carries the entry itself under `unmapped`, exactly as it is hashed (`prevHash` and
 * `hash` included), so nothing is lost in the mapping and a receiver can follow the hash chain;
 * `metadata.uid` is the entry's id and `metadata.sequence` its place in the log.
 */
import type { AuditActor, AuditEntry } from '../../platform/audit/entry.ts';

export const OCSF_VERSION = '1.3.0';

const PRODUCT = { name: 'Gatehouse', vendor_name: 'Gatehouse' } as const;

type OcsfClass = 'authentication' | 'account_change' | 'group_management' | 'api_activity';

const CLASSES: Record<OcsfClass, { uid: number; name: string; category: number; categoryName: string }> = {
  account_change: {
    uid: 3001,
    name: 'Account Change',
    category: 3,
    categoryName: 'Identity & Access Management',
  },
  authentication: {
    uid: 3002,
    name: 'Authentication',
    category: 3,
    categoryName: 'Identity & Access Management',
  },
  group_management: {
    uid: 3006,
    name: 'Group Management',
    category: 3,
    categoryName: 'Identity & Access Management',
  },
  api_activity: { uid: 6003, name: 'API Activity', category: 6, categoryName: 'Application Activity' },
};

const ACTIVITY_NAMES: Record<OcsfClass, Record<number, string>> = {
  authentication: { 1: 'Logon', 2: 'Logoff', 99: 'Other' },
  account_change: {
    1: 'Create',
    2: 'Enable',
    3: 'Password Change',
    4: 'Password Reset',
    5: 'Disable',
    6: 'Delete',
    10: 'MFA Factor Enable',
    11: 'MFA Factor Disable',
    99: 'Other',
  },
  group_management: {
    1: 'Assign Privileges',
    2: 'Revoke Privileges',
    3: 'Add User',
    4: 'Remove User',
    99: 'Other',
  },
  api_activity: { 1: 'Create', 2: 'Read', 3: 'Update', 4: 'Delete', 99: 'Other' },
};

/** The actions with a class of their own, and their activity in it. */
const ACTIONS: Record<string, [OcsfClass, number]> = {
  'user.signed_in': ['authentication', 1],
  'member.signed_in': ['authentication', 1],
  'user.reauthenticated': ['authentication', 1],
  'session.ended': ['authentication', 2],
  'session.revoked': ['authentication', 2],
  'user.created': ['account_change', 1],
  'user.enabled': ['account_change', 2],
  'user.password_changed': ['account_change', 3],
  'user.password_reset': ['account_change', 4],
  'user.disabled': ['account_change', 5],
  'user.deleted': ['account_change', 6],
  'user.2fa_enabled': ['account_change', 10],
  'user.passkey_added': ['account_change', 10],
  'user.2fa_disabled': ['account_change', 11],
  'user.2fa_reset': ['account_change', 11],
  'user.passkey_removed': ['account_change', 11],
  'member.added': ['group_management', 3],
  'invite.accepted': ['group_management', 3],
  'join_request.approved': ['group_management', 3],
  'member.provisioned': ['group_management', 3],
  'member.removed': ['group_management', 4],
  'member.left': ['group_management', 4],
  'member.role_changed': ['group_management', 1],
  'ownership.transferred': ['group_management', 1],
  'member.break_glass': ['group_management', 1],
};

const SEVERITY_NAMES: Record<number, string> = { 1: 'Informational', 2: 'Low', 3: 'Medium' };
const MEDIUM = new Set(['access.denied', 'user.2fa_disabled', 'user.2fa_reset', 'member.break_glass']);
const LOW = new Set([
  'member.role_changed',
  'ownership.transferred',
  'org.deleted',
  'org.security_updated',
  'sso.updated',
  'sso.oidc_updated',
  'sso.saml_updated',
  'user.disabled',
  'user.deleted',
  'token.created',
]);

/** API Activity's activity, from the action's verb (what follows the last dot). */
function apiActivity(action: string): number {
  const verb = action.slice(action.lastIndexOf('.') + 1);
  if (/(^|_)(created|invited|added|commented)$/.test(verb)) return 1;
  if (/(^|_)exported$/.test(verb)) return 2;
  if (/(^|_)(deleted|removed|revoked|cancelled|pruned)$/.test(verb)) return 4;
  if (
    /(^|_)(updated|changed|renamed|rotated|resent|reopened|approved|denied|set|suspended|unsuspended|disabled|enabled|boosted|verified|transferred)$/.test(
      verb,
    )
  )
    return 3;
  return 99;
}

/** Class and activity of one action (see the table above). */
export function ocsfClassOf(action: string): { classUid: number; activityId: number } {
  if (action === 'access.denied') return { classUid: CLASSES.api_activity.uid, activityId: 99 };
  const [cls, activity] =
    ACTIONS[action] ??
    (action.startsWith('user.') ? ['account_change', 99] : ['api_activity', apiActivity(action)]);
  return { classUid: CLASSES[cls as OcsfClass].uid, activityId: activity as number };
}

type Json = Record<string, unknown>;

/** Leaves out members that are undefined or null (OCSF omits what is unknown). */
function compact(value: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined && v !== null) out[k] = v;
  return out;
}

/** OCSF user type ids: 0 Unknown, 1 User, 2 Admin, 3 System, 99 Other. */
function actorObject(actor: AuditActor): Json {
  switch (actor.type) {
    case 'user':
      return compact({
        user: compact({ uid: actor.id, email_addr: actor.email, type_id: 1, type: 'User' }),
        // A personal API token is the credential the user acted with.
        session: actor.tokenId ? { credential_uid: actor.tokenId } : undefined,
      });
    case 'token':
      return { user: compact({ uid: actor.id, type_id: 99, type: 'Automation token' }) };
    case 'scim':
      return { user: compact({ uid: actor.id, type_id: 99, type: 'SCIM client' }) };
    case 'system':
      return { user: { name: 'Gatehouse', type_id: 3, type: 'System' }, app_name: 'Gatehouse' };
    case 'operator':
      return { user: { name: 'operator', type_id: 2, type: 'Admin' } };
    default:
      return { user: { type_id: 0, type: 'Unknown' } };
  }
}

function targetUser(entry: AuditEntry): Json | undefined {
  const t = entry.target;
  if (t.type !== 'user' && t.type !== 'member' && t.type !== 'invitation' && t.type !== 'join_request')
    return undefined;
  return compact({
    uid: t.type === 'user' || t.type === 'member' ? t.id : undefined,
    name: t.name,
    email_addr: t.email,
  });
}

/** The subject of an Authentication event: the user signing in or out. */
function subjectUser(entry: AuditEntry): Json {
  if (entry.target.type === 'user') return targetUser(entry)!;
  const a = entry.actor;
  return compact({ uid: a.id, email_addr: a.email, type_id: a.type === 'user' ? 1 : 99 });
}

function roleName(value: Record<string, unknown> | null): string | undefined {
  if (!value) return undefined;
  const name = value.roleName ?? value.role;
  return typeof name === 'string' ? name : undefined;
}

/** One audit entry as an OCSF 1.3.0 event. */
export function toOcsf(entry: AuditEntry): Json {
  const { classUid, activityId } = ocsfClassOf(entry.action);
  const clsKey = (Object.keys(CLASSES) as OcsfClass[]).find((k) => CLASSES[k].uid === classUid)!;
  const cls = CLASSES[clsKey];
  const activityName = ACTIVITY_NAMES[clsKey][activityId] ?? 'Other';
  const severityId = MEDIUM.has(entry.action) ? 3 : LOW.has(entry.action) ? 2 : 1;
  const failed = entry.action === 'access.denied';
  const target = entry.target;
  const targetWords = target.name ?? target.email ?? target.id;
  const event: Json = {
    category_uid: cls.category,
    category_name: cls.categoryName,
    class_uid: cls.uid,
    class_name: cls.name,
    activity_id: activityId,
    activity_name: activityName,
    type_uid: cls.uid * 100 + activityId,
    type_name: `${cls.name}: ${activityName}`,
    severity_id: severityId,
    severity: SEVERITY_NAMES[severityId],
    status_id: failed ? 2 : 1,
    status: failed ? 'Failure' : 'Success',
    time: Date.parse(entry.occurredAt),
    message: `${entry.action} ${target.type} ${targetWords}`,
    metadata: compact({
      version: OCSF_VERSION,
      product: PRODUCT,
      uid: entry.id,
      event_code: entry.action,
      log_name: 'audit',
      sequence: entry.seq,
      original_time: entry.occurredAt,
      tenant_uid: entry.orgId,
      correlation_uid: entry.requestId,
    }),
    actor: actorObject(entry.actor),
    // API Activity requires a source: where there is no client address (system work), Gatehouse.
    src_endpoint: entry.ip ? { ip: entry.ip } : clsKey === 'api_activity' ? { name: 'Gatehouse' } : undefined,
    http_request:
      entry.userAgent || entry.requestId
        ? compact({ user_agent: entry.userAgent, uid: entry.requestId })
        : undefined,
  };
  switch (clsKey) {
    case 'authentication':
      event.user = subjectUser(entry);
      event.service = { name: 'Gatehouse' };
      event.is_remote = true;
      break;
    case 'account_change':
      event.user =
        targetUser(entry) ?? compact({ uid: entry.userId ?? entry.actor.id, email_addr: entry.actor.email });
      break;
    case 'group_management': {
      event.group = compact({
        uid: entry.orgId,
        name: target.type === 'organization' ? target.name : undefined,
        type: 'Organization',
      });
      event.user = targetUser(entry) ?? compact({ uid: entry.actor.id, email_addr: entry.actor.email });
      const role = roleName(entry.after);
      if (activityId === 1) event.privileges = [role ?? entry.action];
      break;
    }
    default:
      event.api = compact({
        operation: entry.action,
        service: { name: 'Gatehouse' },
        request: entry.requestId ? { uid: entry.requestId } : undefined,
      });
      event.resources = [compact({ uid: target.id, type: target.type, name: target.name })];
  }
  // The entry exactly as it is hashed: a receiver can recompute its hash (and follow the chain).
  event.unmapped = { ...entry };
  return compact(event);
}
