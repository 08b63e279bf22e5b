import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
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

/** The formats for a locale and zone; a zone this browser does not know falls back to its own. */
export function formatsFor(locale: string, zone: string | null | undefined): Formats {
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
  const apply = (options: Intl.DateTimeFormatOptions) => (iso: string | null | undefined) => {
    if (!iso) return '';
    const at = new Date(iso);
    return Number.isNaN(at.getTime()) ? iso : dateTimeFormat(locale, timeZone, options).format(at);
  };
  const n = numbers;
  return {
    locale,
    timeZone,
    dateTime: apply({ dateStyle: 'medium', timeStyle: 'short' }),
    date: apply({ dateStyle: 'medium' }),
    number: (value) => n.format(value),
  };
}

/** The signed-in user's formats (see Formats); before /me answers, the browser's zone. */
export function useFormat(): Formats {
  const { i18n } = useTranslation();
  const me = useQuery(meQuery);
  const user = me.data?.user;
  const locale = localeFor(i18n.language, user?.locale);
  return useMemo(() => formatsFor(locale, user?.timezone), [locale, user?.timezone]);
}
