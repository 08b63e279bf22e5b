import { isTimeZone } from '../../../contracts/locales.ts';
import {
  DEFAULT_TYPE_SWITCHES,
  EMAIL_DIGESTS,
  type EmailDigest,
  NOTIFICATION_TYPES,
  type NotificationType,
  type TypeSwitches,
} from '../../../contracts/notifications.ts';
import type { PreferencesRow } from './notifications.repository.ts';
import type { QuietHours } from './notifications.schedule.ts';

export interface ResolvedPreferences {
  emailDigest: EmailDigest;
  quietHours: QuietHours | null;
  types: Record<NotificationType, TypeSwitches>;
  phone: string | null;
}

/** A person's preferences: what they stored over the defaults (immediate email, everything on). */
export function resolvePreferences(row: PreferencesRow | undefined): ResolvedPreferences {
  const types = {} as Record<NotificationType, TypeSwitches>;
  for (const type of NOTIFICATION_TYPES) {
    const stored = row?.types?.[type];
    types[type] = {
      email: typeof stored?.email === 'boolean' ? stored.email : DEFAULT_TYPE_SWITCHES[type].email,
      inApp: typeof stored?.inApp === 'boolean' ? stored.inApp : DEFAULT_TYPE_SWITCHES[type].inApp,
    };
  }
  const digest = (EMAIL_DIGESTS as readonly string[]).includes(row?.emailDigest ?? '')
    ? (row!.emailDigest as EmailDigest)
    : 'immediate';
  return {
    emailDigest: digest,
    quietHours: row?.quietStart && row.quietEnd ? { start: row.quietStart, end: row.quietEnd } : null,
    types,
    phone: row?.phone ?? null,
  };
}

/** What is stored: the switches that differ from the defaults only. */
export function storedTypes(types: Record<NotificationType, TypeSwitches>): PreferencesRow['types'] {
  const out: PreferencesRow['types'] = {};
  for (const type of NOTIFICATION_TYPES) {
    const d = DEFAULT_TYPE_SWITCHES[type];
    const t = types[type];
    const diff: { email?: boolean; inApp?: boolean } = {};
    if (t.email !== d.email) diff.email = t.email;
    if (t.inApp !== d.inApp) diff.inApp = t.inApp;
    if (Object.keys(diff).length > 0) out[type] = diff;
  }
  return out;
}

/** The zone a person's wall clock is read in: their profile's, else UTC. */
export const zoneOf = (timezone: string | null | undefined): string =>
  timezone && isTimeZone(timezone) ? timezone : 'UTC';
