/**
 * Settings → Platform and Settings → Language: what GET …/settings/platform and
 * …/settings/localization answer, and the values they take.
 */

export const SCAN_SCHEDULES = ['none', 'weekly', 'monthly'] as const;
export type ScanSchedule = (typeof SCAN_SCHEDULES)[number];

/** Languages AI-written fixes and summaries may be asked in (BCP 47 primary tags). */
export const REMEDIATION_LANGUAGES = ['en', 'es', 'fr', 'de', 'pt', 'it', 'nl', 'ja', 'ko', 'zh'] as const;
export type RemediationLanguage = (typeof REMEDIATION_LANGUAGES)[number];

/** How dates are written: as the reader's language writes them, or one fixed order. */
export const DATE_FORMATS = ['locale', 'iso', 'dmy', 'mdy'] as const;
export type DateFormat = (typeof DATE_FORMATS)[number];

export interface PlatformSettings {
  scanSchedule: ScanSchedule;
  /** ISO weekday 1 (Monday) – 7 for `weekly`; day of the month 1–28 for `monthly`. */
  scanScheduleDay: number;
  /** Hour of the day, 0–23, in the org's time zone (UTC when it has none). */
  scanScheduleHour: number;
  /** The next time scheduled scans are due; null without a schedule. */
  nextScheduledScanAt: string | null;
  autonomousScanning: boolean;
  /** Scale and Enterprise. */
  fixVerification: boolean;
  /** Enterprise. */
  deepAiEnrichment: boolean;
  remediationLanguage: RemediationLanguage;
}

export interface LocalizationSettings {
  /** The console and email language of members who have not chosen their own. */
  language: 'en' | 'es';
  /** IANA zone for times; null: each member's own (their browser's). */
  timezone: string | null;
  dateFormat: DateFormat;
}

/** One step of the setup checklist on the org's home page. */
export const SETUP_STEPS = [
  'logo',
  'description',
  'members',
  'api_token',
  'integration',
  'notifications',
  'billing',
] as const;
export type SetupStep = (typeof SETUP_STEPS)[number];

export interface SetupChecklist {
  /** An admin hid it. */
  dismissed: boolean;
  steps: Array<{ key: SetupStep; done: boolean }>;
}
