import type { JobHandler } from '../../platform/outbox/index.ts';
import { findUserById } from '../accounts/index.ts';
import { DIGEST, type DigestJob } from './notifications.deliver.ts';
import { enqueueEmail } from './notifications.email.ts';
import { digestEmail, languageOf } from './notifications.messages.ts';
import { resolvePreferences } from './notifications.preferences.ts';
import { clearDigestItems, findPreferences, lockDigestItems } from './notifications.repository.ts';

/**
 * A person's daily or weekly digest: one job per person and period, enqueued (once, by its
 * dedupe key) with the first notification of the period and due when the period ends (later
 * when that falls in their quiet hours). It gathers every notification waiting for a digest made
 * before the period's end — one that missed an earlier digest too — into one email, and clears
 * them in the same transaction that queues the email: run twice, the second finds nothing.
 */
export function digestHandler(publicUrl: string): JobHandler<DigestJob> {
  return {
    kind: DIGEST,
    async run(job, info, db) {
      await db.transaction(async (tx) => {
        const items = await lockDigestItems(tx, job.userId, new Date(job.periodEnd));
        if (items.length === 0) return;
        await clearDigestItems(
          tx,
          job.userId,
          items.map((i) => i.id),
        );
        const user = await findUserById(tx, job.userId);
        const prefs = resolvePreferences(await findPreferences(tx, job.userId));
        // Of organizations the person has left since, nothing is told; with email turned off
        // since, nothing is sent (the inbox still has what it showed).
        const kept = items.filter((i) => i.stillMember);
        if (!user || user.disabled || prefs.emailDigest === 'off' || kept.length === 0) return;
        const lang = languageOf(user.locale);
        await enqueueEmail(tx, {
          userId: job.userId,
          ...digestEmail(kept, job.frequency, lang, publicUrl),
          // Per digest job, not per period: a later job for a period whose digest went already
          // (a time zone moved west) mails what it gathered, where the period's key would drop it.
          dedupeKey: `digest-email:${info.id}`,
        });
      });
    },
  };
}
