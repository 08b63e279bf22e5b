import type { Executor } from '../../platform/db/client.ts';
import type { Mailer } from '../../platform/mail/mailer.ts';
import { EMAIL_LEASE_SECONDS, sendFromJob } from '../../platform/mail/queue.ts';
import type { JobHandler } from '../../platform/outbox/index.ts';
import { enqueue } from '../../platform/outbox/index.ts';
import { findUserById } from '../accounts/index.ts';
import { filterMembersToTell } from '../members/index.ts';

/**
 * Every email a notification sends goes through `enqueueEmail`: one outbox job per message,
 * written in the caller's transaction, sent by `notificationEmailHandler` with retries (a
 * message is not lost when the SMTP server is down for a while). The job names the recipient by
 * user id: the address is read when it is sent, so a changed address is honoured, and a deleted
 * or disabled account gets nothing. An email about an organization (the job's `orgId`) goes only
 * to a person still a member of it when it is sent: one held through quiet hours, or retried,
 * tells nothing of it to someone removed meanwhile. Unlike `email.send` (platform/mail/queue.ts),
 * whose messages carry links that grant access and are sealed for an address fixed when written,
 * a notice names a person and carries nothing secret.
 */
export const NOTIFICATION_EMAIL = 'notification.email';

export interface NotificationEmail {
  userId: string;
  subject: string;
  text: string;
}

export async function enqueueEmail(
  tx: Executor,
  mail: NotificationEmail & { orgId?: string | null; runAt?: Date; dedupeKey?: string },
): Promise<string | null> {
  const { orgId, runAt, dedupeKey, ...payload } = mail;
  return enqueue<NotificationEmail>(tx, {
    kind: NOTIFICATION_EMAIL,
    payload,
    orgId: orgId ?? null,
    ...(runAt ? { runAt } : {}),
    ...(dedupeKey ? { dedupeKey } : {}),
  });
}

/** Retries over about a day: 30 s, 2 min, 10 min, 30 min, 1 h, 3 h, 6 h, 12 h. */
const EMAIL_RETRIES = [30, 120, 600, 1800, 3600, 10_800, 21_600, 43_200];

export function notificationEmailHandler(mailer: Mailer): JobHandler<NotificationEmail> {
  return {
    kind: NOTIFICATION_EMAIL,
    retryDelays: EMAIL_RETRIES,
    leaseSeconds: EMAIL_LEASE_SECONDS,
    async run(mail, job, db) {
      const user = await findUserById(db, mail.userId);
      // Gone or disabled since: nothing to send, and nothing to retry.
      if (!user || user.disabled) return;
      // No longer a member of the organization it speaks of: the same.
      if (job.orgId && (await filterMembersToTell(db, job.orgId, [mail.userId])).length === 0) return;
      await sendFromJob(mailer, { to: user.email, subject: mail.subject, text: mail.text });
    },
  };
}
