import type { AuditEntry } from '../../platform/audit/entry.ts';

/** A report's period: `[from, to)`. */
export interface Period {
  from: Date;
  to: Date;
}

/** `YYYY-MM-DD HH:MM` (UTC), as the documents print times. */
export const stamp = (at: Date) => at.toISOString().slice(0, 16).replace('T', ' ');

/** `YYYY-MM-DD` (UTC). */
export const day = (at: Date) => at.toISOString().slice(0, 10);

export const percent = (part: number, whole: number) =>
  whole === 0 ? '-' : `${Math.round((part * 1000) / whole) / 10}%`;

/** Whom an entry concerns, as a reader knows them: an email or name before an id. */
export function whom(entry: AuditEntry): string {
  const t = entry.target;
  return t.email ?? t.name ?? `${t.type} ${t.id}`;
}

/** Who made an entry's change. */
export function whoActed(entry: AuditEntry): string {
  const a = entry.actor;
  if (a.email) return a.email;
  if (a.type === 'system') return 'Gatehouse (system)';
  if (a.type === 'scim') return 'SCIM';
  return a.id ? `${a.type} ${a.id}` : a.type;
}
