import type { NotificationType } from '../../../contracts/notifications.ts';
import { entitlements } from '../../../contracts/plans.ts';
import type { Executor } from '../../platform/db/client.ts';
import { enqueue, isJobPending } from '../../platform/outbox/index.ts';
import { findUserById } from '../accounts/index.ts';
import { findLocalization } from '../organizations/index.ts';
import { enqueueEmail } from './notifications.email.ts';
import { immediateEmail, languageOf, type NotificationParams, smsText } from './notifications.messages.ts';
import { resolvePreferences, zoneOf } from './notifications.preferences.ts';
import { findPreferences, insertNotification } from './notifications.repository.ts';
import { afterQuietHours, type DigestFrequency, digestPeriod } from './notifications.schedule.ts';
import { SMS_SEND, type SmsJob } from './notifications.sms.ts';

/** One thing to tell some members of an organization. */
export interface Notice {
  type: NotificationType;
  orgId: string;
  /** The organization's plan (SMS is a plan's feature). */
  plan: string;
  params: NotificationParams;
  /** A console path, e.g. `/orgs/<id>/settings/findings/<id>`. */
  link: string | null;
  /**
   * Unique for what happened (an event's id and the type, a quota threshold's month): each
   * person is told once however many times the event is handed over.
   */
  key: string;
  /** The ways it may go; a person's own switches narrow them further. Default: both. */
  channels?: { inApp: boolean; email: boolean };
  /** A critical alert: also by SMS to people who gave a number, where the plan has SMS. */
  sms?: boolean;
}

export interface DeliveryEnv {
  publicUrl: string;
  /** Whether the operator configured an SMS provider. */
  smsConfigured: boolean;
}

export const DIGEST = 'notification.digest';

export interface DigestJob {
  userId: string;
  frequency: DigestFrequency;
  /** `2026-03-14` or `2026-W11`, in the person's time zone. */
  period: string;
  /** ISO time: the digest gathers what was made before it. */
  periodEnd: string;
}

/**
 * Tells each of `userIds` (already checked to be members of the org) about the notice, as their
 * preferences say: an inbox entry; an email now (or when their quiet hours end), or an entry in
 * their next daily or weekly digest; an SMS for a critical alert. All written in `tx`, each
 * idempotent: a person already told about `notice.key` is skipped.
 */
export async function deliverNotice(
  tx: Executor,
  env: DeliveryEnv,
  notice: Notice,
  userIds: readonly string[],
  now = new Date(),
): Promise<number> {
  let told = 0;
  // Members without a language of their own read the org's (Settings → Language).
  const orgLanguage = (await findLocalization(tx, notice.orgId))?.language ?? null;
  for (const userId of userIds) {
    const user = await findUserById(tx, userId);
    if (!user || user.disabled) continue;
    const prefs = resolvePreferences(await findPreferences(tx, userId));
    const zone = zoneOf(user.timezone);
    const switches = prefs.types[notice.type];
    const inApp = switches.inApp && (notice.channels?.inApp ?? true);
    const email = switches.email && (notice.channels?.email ?? true) && prefs.emailDigest !== 'off';
    const digest = email && (prefs.emailDigest === 'daily' || prefs.emailDigest === 'weekly');
    const sms =
      notice.sms === true && env.smsConfigured && prefs.phone !== null && entitlements(notice.plan).sms;
    if (!inApp && !email && !sms) continue;
    // The row is the person's record of the notice (and what makes this idempotent), even when
    // neither the inbox nor a digest shows it.
    const id = await insertNotification(tx, {
      userId,
      orgId: notice.orgId,
      type: notice.type,
      params: notice.params,
      link: notice.link,
      inApp,
      digestPending: digest,
      dedupeKey: notice.key,
    });
    if (!id) continue;
    told++;
    const lang = languageOf(user.locale ?? orgLanguage);
    if (email && !digest) {
      const message = immediateEmail(notice, lang, env.publicUrl);
      await enqueueEmail(tx, {
        userId,
        ...message,
        orgId: notice.orgId,
        runAt: afterQuietHours(now, prefs.quietHours, zone),
        dedupeKey: `notification-email:${id}`,
      });
    }
    if (digest) {
      const frequency = prefs.emailDigest as DigestFrequency;
      const period = digestPeriod(now, frequency, zone);
      const key = `digest:${userId}:${frequency}:${period.key}`;
      const job: DigestJob = { userId, frequency, period: period.key, periodEnd: period.end.toISOString() };
      const runAt = afterQuietHours(period.end, prefs.quietHours, zone);
      const queued = await enqueue<DigestJob>(tx, { kind: DIGEST, payload: job, runAt, dedupeKey: key });
      // The period's digest went already (another instance's clock was ahead): a later one takes it.
      if (!queued && !(await isJobPending(tx, key))) {
        await enqueue<DigestJob>(tx, {
          kind: DIGEST,
          payload: {
            ...job,
            periodEnd: new Date(Math.max(now.getTime(), period.end.getTime()) + 60_000).toISOString(),
          },
          runAt: afterQuietHours(
            new Date(Math.max(now.getTime(), period.end.getTime())),
            prefs.quietHours,
            zone,
          ),
          dedupeKey: `${key}:after:${id}`,
        });
      }
    }
    if (sms) {
      // A critical alert is not held by quiet hours: giving a number is asking to be woken.
      await enqueue<SmsJob>(tx, {
        kind: SMS_SEND,
        payload: { userId, body: smsText(notice.type, notice.params, lang) },
        orgId: notice.orgId,
        dedupeKey: `notification-sms:${id}`,
      });
    }
  }
  return told;
}
