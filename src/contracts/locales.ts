/** UI languages the console ships. A locale's language must be one of these (`es`, `es-MX`, …). */
export const SUPPORTED_LANGUAGES = ['en', 'es'] as const;

/** The canonical form of a supported BCP 47 locale, or undefined. */
export function canonicalLocale(value: string): string | undefined {
  try {
    const [canonical] = Intl.getCanonicalLocales(value);
    if (!canonical) return undefined;
    const language = new Intl.Locale(canonical).language;
    return (SUPPORTED_LANGUAGES as readonly string[]).includes(language) ? canonical : undefined;
  } catch {
    return undefined;
  }
}

let zones: Set<string> | undefined;

/** True for IANA time zone names this runtime knows (and UTC). */
export function isTimeZone(value: string): boolean {
  zones ??= new Set([...Intl.supportedValuesOf('timeZone'), 'UTC', 'Etc/UTC']);
  return zones.has(value);
}
