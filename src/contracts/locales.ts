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

/**
 * True for IANA time zone names this runtime knows (and UTC). The runtime lists each zone once,
 * under ICU's canonical name (`Asia/Calcutta`, `Asia/Katmandu`): the current IANA names
 * (`Asia/Kolkata`, `Asia/Kathmandu`) and other links it resolves count too.
 */
export function isTimeZone(value: string): boolean {
  zones ??= new Set([...Intl.supportedValuesOf('timeZone'), 'UTC', 'Etc/UTC']);
  if (zones.has(value)) return true;
  // A name, not an offset (`+05:30`, which newer runtimes also accept as a zone).
  if (!/^[A-Za-z][A-Za-z_-]*(\/[A-Za-z0-9_+-]+){1,2}$/.test(value)) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}
