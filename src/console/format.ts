import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import { meQuery } from './queries.ts';

/**
 * Dates, times and numbers as every page shows them: in the UI language (the user's regional
 * variant of it when they chose one, else the browser's, e.g. en-GB) and in the user's time zone
 * from /me, else the browser's.
 */
export interface Formats {
  /** The BCP 47 locale in use, e.g. `es` or `es-MX`. */
  locale: string;
  /** The IANA zone times are shown in. */
  timeZone: string;
  /** Date and time (`4 dic 2026, 21:05`); empty for none. */
  dateTime(iso: string | null | undefined): string;
  /** Date only (`4 dic 2026`); empty for none. */
  date(iso: string | null | undefined): string;
  number(value: number): string;
}

const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** The locale for a UI language: a chosen or browser locale of that language, else the language. */
export function localeFor(language: string, userLocale: string | null | undefined): string {
  const base = language.startsWith('es') ? 'es' : 'en';
  const candidates = [userLocale, ...(typeof navigator === 'undefined' ? [] : navigator.languages)];
  for (const c of candidates) {
    if (!c?.toLowerCase().startsWith(base)) continue;
    try {
      return Intl.getCanonicalLocales(c)[0] ?? base;
    } catch {
      // Not a locale this browser knows: try the next.
    }
  }
  return base;
}

// Formatters are costly to build and rows are many: one per locale, zone and style, kept.
const cache = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat>();

function dateTimeFormat(locale: string, timeZone: string, options: Intl.DateTimeFormatOptions) {
  const key = `${locale}|${timeZone}|${JSON.stringify(options)}`;
  let format = cache.get(key) as Intl.DateTimeFormat | undefined;
  if (!format) {
    format = new Intl.DateTimeFormat(locale, { ...options, timeZone });
    cache.set(key, format);
  }
  return format;
}

/**
 * A date (and time) in a fixed order, from the zone's wall clock: `iso` 2026-12-04 21:05, `dmy`
 * 04/12/2026, `mdy` 12/04/2026 (times on 24 hours).
 */
function fixedOrder(order: 'iso' | 'dmy' | 'mdy', timeZone: string, withTime: boolean) {
  const format = dateTimeFormat('en-US', timeZone, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  return (at: Date) => {
    const p: Record<string, string> = {};
    for (const part of format.formatToParts(at)) p[part.type] = part.value;
    const date =
      order === 'iso'
        ? `${p.year}-${p.month}-${p.day}`
        : order === 'dmy'
          ? `${p.day}/${p.month}/${p.year}`
          : `${p.month}/${p.day}/${p.year}`;
    return withTime ? `${date} ${p.hour}:${p.minute}` : date;
  };
}

/**
 * The formats for a locale and zone; a zone this browser does not know falls back to its own.
 * `dateOrder` (Settings → Language of the org): `locale` writes dates as the language does.
 */
export function formatsFor(
  locale: string,
  zone: string | null | undefined,
  dateOrder: string = 'locale',
): Formats {
  let timeZone = zone || browserZone();
  try {
    dateTimeFormat(locale, timeZone, { dateStyle: 'medium' });
  } catch {
    timeZone = browserZone();
  }
  const numberKey = `${locale}|number`;
  let numbers = cache.get(numberKey) as Intl.NumberFormat | undefined;
  if (!numbers) {
    numbers = new Intl.NumberFormat(locale);
    cache.set(numberKey, numbers);
  }
  const zoneUsed = timeZone;
  const apply = (options: Intl.DateTimeFormatOptions, withTime: boolean) => {
    const write =
      dateOrder === 'iso' || dateOrder === 'dmy' || dateOrder === 'mdy'
        ? fixedOrder(dateOrder, zoneUsed, withTime)
        : (at: Date) => dateTimeFormat(locale, zoneUsed, options).format(at);
    return (iso: string | null | undefined) => {
      if (!iso) return '';
      const at = new Date(iso);
      return Number.isNaN(at.getTime()) ? iso : write(at);
    };
  };
  const n = numbers;
  return {
    locale,
    timeZone,
    dateTime: apply({ dateStyle: 'medium', timeStyle: 'short' }, true),
    date: apply({ dateStyle: 'medium' }, false),
    number: (value) => n.format(value),
  };
}

/**
 * The signed-in user's formats (see Formats): their own zone, else (on an organization's pages)
 * the organization's, else the browser's; dates in the organization's order.
 */
export function useFormat(): Formats {
  const { i18n } = useTranslation();
  const { orgId } = useParams();
  const me = useQuery(meQuery);
  const user = me.data?.user;
  const org = orgId ? me.data?.memberships.find((m) => m.org.id === orgId)?.org.localization : undefined;
  const locale = localeFor(i18n.language, user?.locale);
  const zone = user?.timezone ?? org?.timezone;
  const order = org?.dateFormat ?? 'locale';
  return useMemo(() => formatsFor(locale, zone, order), [locale, zone, order]);
}
