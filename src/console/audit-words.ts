import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import type { TFunction } from 'i18next';
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { hasValueWords, auditKey as key } from './audit-words.strings.ts';
import { type CatalogWords, useCatalogWords } from './catalog-words.ts';
import { type Formats, useFormat } from './format.ts';
import { MEMBERS_PAGE, membersQuery, meQuery } from './queries.ts';

/** An audit entry as GET /orgs/:orgId/audit-events answers it. */
export interface AuditEvent {
  id: string;
  seq: number;
  occurredAt: string;
  actor: { type: string; id: string | null; email: string | null; tokenId?: string };
  action: string;
  /** `name` and `email` name the target in words when the entry carries them (newer entries). */
  target: { type: string; id: string; name?: string; email?: string };
  before?: unknown;
  after?: unknown;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  prevHash: string;
  hash: string;
}

/** What the words need beyond the entry: translations, role names, formats, known members. */
export interface AuditWords {
  t: TFunction;
  catalog: CatalogWords;
  format: Formats;
  /** A member's email and name by user id, when the page has them (the loaded members list). */
  memberOf(userId: string): { email: string; name: string } | undefined;
  /** An organization's name by id, for the reader's own organizations. */
  orgName(orgId: string): string | undefined;
}

/**
 * The words for an org's entries. Members' emails come from the members list's first page (the
 * Team page's, so usually cached) when the reader may see members; else entries show short ids.
 */
export function useAuditWords(orgId: string, canReadMembers: boolean): AuditWords {
  const { t } = useTranslation();
  const catalog = useCatalogWords();
  const format = useFormat();
  const members = useInfiniteQuery({
    ...membersQuery(orgId, new URLSearchParams({ limit: MEMBERS_PAGE })),
    enabled: canReadMembers,
  });
  const me = useQuery(meQuery);
  const orgs = useMemo(
    () => new Map((me.data?.memberships ?? []).map((m) => [m.org.id, m.org.name])),
    [me.data],
  );
  const known = useMemo(
    () => new Map((members.data?.pages ?? []).flatMap((p) => p.items).map((m) => [m.userId, m])),
    [members.data],
  );
  return useMemo(
    () => ({
      t,
      catalog,
      format,
      memberOf: (id: string) => known.get(id),
      orgName: (id: string) => orgs.get(id),
    }),
    [t, catalog, format, known, orgs],
  );
}

const short = (id: string) => id.slice(0, 8);
const record = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

export const actionLabel = (t: TFunction, action: string): string =>
  t(key('auditAction', action), { defaultValue: action });

const typeLabel = (t: TFunction, type: string): string => t(key('auditType', type), { defaultValue: type });

/** Who acted, in words: their email (the members list's when the entry has none), else a kind. */
export function actorWords(e: AuditEvent, w: AuditWords): string {
  const { actor } = e;
  const email = actor.email ?? (actor.id ? w.memberOf(actor.id)?.email : undefined);
  if (actor.type === 'user' && (email || actor.id)) {
    const who = email ?? short(actor.id ?? '');
    return actor.tokenId ? w.t('auditViaToken', { who }) : who;
  }
  if (actor.type === 'token')
    return w.t('auditAutomationToken', { id: short(actor.tokenId ?? actor.id ?? '') });
  if (actor.type === 'system') return w.t('auditSystem');
  if (actor.type === 'operator') return w.t('auditOperator');
  if (actor.type === 'anonymous') return w.t('auditAnonymous');
  return email ?? (actor.id ? `${actor.type} ${short(actor.id)}` : actor.type);
}

/** A role named in an entry's before/after, in words (the stored name, a built-in's translated). */
function roleIn(side: Record<string, unknown>, w: AuditWords): string | undefined {
  const slug = text(side.role);
  return slug ? w.catalog.roleName(slug, text(side.roleName)) : undefined;
}

/** The people an invitation entry is about: the target's email, or the invitations it lists. */
function invitees(e: AuditEvent): string[] {
  const after = record(e.after);
  const before = record(e.before);
  const single = e.target.email ?? text(after.email) ?? text(before.email);
  if (single) return [single];
  const list = Array.isArray(after.invitations) ? after.invitations : [];
  return list.map((i) => text(record(i).email)).filter((x): x is string => Boolean(x));
}

/** What the entry was about, in words: a member's email and name, a role's or token's name… */
export function targetWords(e: AuditEvent, w: AuditWords): string {
  const { target } = e;
  const before = record(e.before);
  const after = record(e.after);
  const type = typeLabel(w.t, target.type);
  switch (target.type) {
    case 'member':
    case 'user': {
      const known = w.memberOf(target.id);
      const email = target.email ?? known?.email;
      const name = target.name ?? known?.name;
      if (email && name) return `${name} <${email}>`;
      return email ?? name ?? `${type} ${short(target.id)}`;
    }
    case 'invitation': {
      const [email] = invitees(e);
      return email ? `${type}: ${email}` : `${type} ${short(target.id)}`;
    }
    case 'role': {
      const slug = text(after.slug) ?? text(before.slug);
      const name = target.name ?? text(after.name) ?? text(before.name);
      if (slug) return `${type}: ${w.catalog.roleName(slug, name)}`;
      return name ? `${type}: ${name}` : `${type} ${short(target.id)}`;
    }
    case 'route':
      return target.id;
    default: {
      const name =
        target.name ??
        text(after.name) ??
        text(before.name) ??
        (target.type === 'organization' ? w.orgName(target.id) : undefined);
      return name ? `${type}: ${name}` : `${type} ${short(target.id)}`;
    }
  }
}

/** The change in a line: "Developer → Admin", the invitees, the permission refused… */
export function summaryWords(e: AuditEvent, w: AuditWords): string {
  const before = record(e.before);
  const after = record(e.after);
  switch (e.action) {
    case 'member.role_changed':
      return `${roleIn(before, w) ?? '?'} → ${roleIn(after, w) ?? '?'}`;
    case 'member.invited':
    case 'invite.resent':
    case 'invite.cancelled': {
      const people = invitees(e).join(', ');
      const role = roleIn(after, w) ?? roleIn(before, w);
      return role ? `${people} (${w.t('auditAsRole', { role })})` : people;
    }
    case 'member.provisioned': {
      const role = roleIn(after, w);
      const group = text(after.idpGroup);
      const as = role ? w.t('auditAsRole', { role }) : '';
      return group ? `${as} ${w.t('auditByIdpGroup', { group })}`.trim() : as;
    }
    case 'user.signed_in':
    case 'member.signed_in': {
      const method = text(after.method);
      if (!method) return '';
      const protocol = text(after.protocol);
      const how = valueWords('method', method, after, w);
      return w.t('auditSignedInWith', {
        method: protocol ? `${how} (${valueWords('protocol', protocol, after, w)})` : how,
      });
    }
    case 'access.denied': {
      // Refused by the org's policy, not for want of the permission the route asks for.
      if (after.reason === 'ip_not_allowed') return w.t('auditIpNotAllowed');
      const permission = text(after.permission);
      return permission ? `${permission}: ${w.catalog.permission(permission)}` : '';
    }
    default: {
      const role = roleIn(after, w) ?? roleIn(before, w);
      if (role && e.target.type !== 'role') return w.t('auditAsRole', { role });
      return '';
    }
  }
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** One value of a before/after, in words. */
function valueWords(field: string, value: unknown, side: Record<string, unknown>, w: AuditWords): string {
  if (value === null || value === undefined) return w.t('auditNone');
  if (field === 'role' && typeof value === 'string') return w.catalog.roleName(value, text(side.roleName));
  if (field === 'defaultRole' && typeof value === 'string') return w.catalog.roleName(value);
  if (field === 'orgId' && typeof value === 'string') return w.orgName(value) ?? short(value);
  if (typeof value === 'string' && hasValueWords(field, value)) {
    return w.t(key('auditValue', `${field}_${value}`), { defaultValue: value });
  }
  if ((field === 'owner' || field === 'userId' || field === 'assigneeId') && typeof value === 'string') {
    return w.memberOf(value)?.email ?? short(value);
  }
  if (field === 'memberIds' && Array.isArray(value)) {
    return (
      value.map((id) => w.memberOf(String(id))?.email ?? short(String(id))).join(', ') || w.t('auditNone')
    );
  }
  if (typeof value === 'boolean') return w.t(value ? 'auditYes' : 'auditNo');
  if (typeof value === 'number') return w.format.number(value);
  if (typeof value === 'string') return ISO.test(value) ? w.format.dateTime(value) : value;
  if (Array.isArray(value)) {
    return value
      .map((v) => (v && typeof v === 'object' ? (text(record(v).email) ?? JSON.stringify(v)) : String(v)))
      .join(', ');
  }
  return JSON.stringify(value);
}

export interface ChangeRow {
  field: string;
  label: string;
  before: string | null;
  after: string | null;
  changed: boolean;
}

/**
 * The entry's before and after, field by field, in words. A role's display name (`roleName`)
 * is folded into its `role` row.
 */
export function changeRows(e: AuditEvent, w: AuditWords): ChangeRow[] {
  const before = record(e.before);
  const after = record(e.after);
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
    (f) => !(f === 'roleName' && ('role' in before || 'role' in after)),
  );
  return names.map((field) => {
    const b = field in before ? valueWords(field, before[field], before, w) : null;
    const a = field in after ? valueWords(field, after[field], after, w) : null;
    return {
      field,
      label: w.t(key('auditField', field), { defaultValue: field }),
      before: e.before === undefined || e.before === null ? null : b,
      after: e.after === undefined || e.after === null ? null : a,
      changed: b !== a,
    };
  });
}
