import type { ScanScheduledData } from '../../../contracts/events.ts';
import { isTimeZone } from '../../../contracts/locales.ts';
import { entitlements } from '../../../contracts/plans.ts';
import type { LocalizationSettings, PlatformSettings } from '../../../contracts/settings.ts';
import { ORGS_CACHE } from '../../platform/access/access.ts';
import { orgAccess } from '../../platform/access/guard.ts';
import { defineCommand } from '../../platform/command.ts';
import { ValidationError } from '../../platform/errors/app-error.ts';
import { PolicyPlanError } from './organizations.commands.ts';
import {
  findLocalization,
  findPlatformSettings,
  findSetupFacts,
  type OrgLocalizationRow,
  type OrgPlatformRow,
  updateSettings,
} from './organizations.repository.ts';
import { scheduleSlots } from './organizations.schedule.ts';

/** The platform settings as the API shows them, with the next scheduled scan. */
export function presentPlatform(row: OrgPlatformRow, now = new Date()): PlatformSettings {
  const scheduled = row.scanSchedule === 'weekly' || row.scanSchedule === 'monthly';
  return {
    scanSchedule: row.scanSchedule as PlatformSettings['scanSchedule'],
    scanScheduleDay: row.scanScheduleDay,
    scanScheduleHour: row.scanScheduleHour,
    nextScheduledScanAt: scheduled
      ? scheduleSlots(
          {
            scanSchedule: row.scanSchedule as 'weekly' | 'monthly',
            scanScheduleDay: row.scanScheduleDay,
            scanScheduleHour: row.scanScheduleHour,
            timezone: row.timezone,
          },
          now,
        ).next.toISOString()
      : null,
    autonomousScanning: row.autonomousScanning,
    fixVerification: row.fixVerification,
    deepAiEnrichment: row.deepAiEnrichment,
    remediationLanguage: row.remediationLanguage as PlatformSettings['remediationLanguage'],
  };
}

/**
 * What `scan.scheduled` asks of scanners: the saved switches, each only while the org's plan has
 * it. An org that left the plan keeps what it saved (and may turn it off), but scanners are not
 * asked for what the plan no longer includes; back on the plan, the saved switch applies again.
 */
export function scanOptions(row: OrgPlatformRow): ScanScheduledData['options'] {
  const plan = entitlements(row.plan);
  return {
    fixVerification: row.fixVerification && plan.fixVerification,
    deepAiEnrichment: row.deepAiEnrichment && plan.deepAiEnrichment,
    remediationLanguage: row.remediationLanguage,
  };
}

export const presentLocalization = (row: OrgLocalizationRow): LocalizationSettings => ({
  language: row.language === 'es' ? 'es' : 'en',
  timezone: row.timezone,
  dateFormat: row.dateFormat as LocalizationSettings['dateFormat'],
});

type PlatformChanges = Partial<
  Pick<
    PlatformSettings,
    | 'scanSchedule'
    | 'scanScheduleDay'
    | 'scanScheduleHour'
    | 'autonomousScanning'
    | 'fixVerification'
    | 'deepAiEnrichment'
    | 'remediationLanguage'
  >
>;

const editable = (row: OrgPlatformRow) => ({
  scanSchedule: row.scanSchedule,
  scanScheduleDay: row.scanScheduleDay,
  scanScheduleHour: row.scanScheduleHour,
  autonomousScanning: row.autonomousScanning,
  fixVerification: row.fixVerification,
  deepAiEnrichment: row.deepAiEnrichment,
  remediationLanguage: row.remediationLanguage,
});

/**
 * Settings → Platform. Plan gates apply to what is turned on (fix verification: Scale and up;
 * deep AI enrichment: Enterprise); an org that left the plan may still turn them off. A monthly
 * schedule falls on days 1–28, so every month has it. A new or moved schedule starts counting
 * from now: a slot that already passed today is not scanned at once.
 */
export const updatePlatformSettings = defineCommand({
  action: 'settings.updated',
  permission: 'settings:update',
  orgLock: 'exclusive',
  async run(ctx, input: PlatformChanges): Promise<OrgPlatformRow> {
    const { orgId, orgName, plan } = orgAccess(ctx);
    const before = (await findPlatformSettings(ctx.tx, orgId))!;
    const after = { ...editable(before), ...input };
    if (after.scanSchedule === 'weekly' && (after.scanScheduleDay < 1 || after.scanScheduleDay > 7)) {
      throw new ValidationError([
        {
          field: '/body/scanScheduleDay',
          message: 'must be an ISO weekday, 1 (Monday) to 7 (Sunday), for a weekly schedule',
          reason: 'maximum',
          params: { limit: 7 },
        },
      ]);
    }
    const changed = Object.entries(after).filter(
      ([key, value]) => editable(before)[key as keyof ReturnType<typeof editable>] !== value,
    );
    if (changed.length === 0) {
      ctx.unchanged();
      return before;
    }
    const plan_ = entitlements(plan);
    if (input.fixVerification === true && !before.fixVerification && !plan_.fixVerification)
      throw new PolicyPlanError('fixVerification', plan);
    if (input.deepAiEnrichment === true && !before.deepAiEnrichment && !plan_.deepAiEnrichment)
      throw new PolicyPlanError('deepAiEnrichment', plan);
    const scheduleMoved =
      after.scanSchedule !== before.scanSchedule ||
      after.scanScheduleDay !== before.scanScheduleDay ||
      after.scanScheduleHour !== before.scanScheduleHour;
    await updateSettings(ctx.tx, orgId, {
      ...input,
      ...(scheduleMoved ? { scansScheduledAt: after.scanSchedule === 'none' ? null : new Date() } : {}),
    });
    const keys = changed.map(([key]) => key);
    const pick = (o: Record<string, unknown>) => Object.fromEntries(keys.map((k) => [k, o[k]]));
    ctx.record({
      target: { type: 'organization', id: orgId, name: orgName },
      before: { section: 'platform', ...pick(editable(before)) },
      after: { section: 'platform', ...pick(after) },
    });
    return (await findPlatformSettings(ctx.tx, orgId))!;
  },
});

/**
 * Settings → Language: the language, time zone and date format of members who have not chosen
 * their own. A new time zone moves the scan schedule's hour with it; counting starts from now.
 */
export const updateLocalization = defineCommand({
  action: 'settings.updated',
  permission: 'settings:update',
  orgLock: 'exclusive',
  async run(ctx, input: Partial<LocalizationSettings>): Promise<OrgLocalizationRow> {
    const { orgId, orgName } = orgAccess(ctx);
    if (input.timezone && !isTimeZone(input.timezone)) {
      throw new ValidationError([
        {
          field: '/body/timezone',
          message: 'is not an IANA time zone (e.g. Europe/Madrid)',
          reason: 'timezone',
        },
      ]);
    }
    const before = (await findLocalization(ctx.tx, orgId))!;
    const after = { ...before, ...input };
    const keys = (['language', 'timezone', 'dateFormat'] as const).filter((k) => before[k] !== after[k]);
    if (keys.length === 0) {
      ctx.unchanged();
      return before;
    }
    const platform = (await findPlatformSettings(ctx.tx, orgId))!;
    const rescheduled = keys.includes('timezone') && platform.scanSchedule !== 'none';
    await updateSettings(ctx.tx, orgId, {
      ...input,
      ...(rescheduled ? { scansScheduledAt: new Date() } : {}),
    });
    // Members read the org's language from the cached org entry (GET /me): dropped everywhere.
    await ctx.invalidate(ORGS_CACHE, orgId);
    const pick = (o: OrgLocalizationRow) => Object.fromEntries(keys.map((k) => [k, o[k]]));
    ctx.record({
      target: { type: 'organization', id: orgId, name: orgName },
      before: { section: 'localization', ...pick(before) },
      after: { section: 'localization', ...pick(after) },
    });
    return after;
  },
});

/** Hides (or shows again) the setup checklist on the org's home page for every member. */
export const setSetupDismissed = defineCommand({
  action: 'settings.updated',
  permission: 'settings:update',
  async run(ctx, input: { dismissed: boolean }): Promise<void> {
    const { orgId, orgName } = orgAccess(ctx);
    const was = (await findSetupFacts(ctx.tx, orgId))?.dismissed === true;
    if (was === input.dismissed) {
      ctx.unchanged();
      return;
    }
    await updateSettings(ctx.tx, orgId, { setupDismissedAt: input.dismissed ? new Date() : null });
    ctx.record({
      target: { type: 'organization', id: orgId, name: orgName },
      before: { section: 'setup', checklistDismissed: was },
      after: { section: 'setup', checklistDismissed: input.dismissed },
    });
  },
});
