import { and, asc, desc, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/client.ts';
import {
  memberships,
  notificationPreferences,
  notifications,
  organizations,
  quotaAlertSettings,
  quotaAlertsSent,
  slackConfigs,
} from '../../platform/db/schema.ts';
import { keysetBefore, type TimeCursor } from '../../platform/http/paging.ts';
import type { NotificationParams } from './notifications.messages.ts';

/**
 * Personal rows (preferences, the inbox) are keyed by the user's own id, which comes from the
 * session, never from a request; organization rows (Slack, quota alerts) take the org's id.
 */

export interface PreferencesRow {
  emailDigest: string;
  quietStart: string | null;
  quietEnd: string | null;
  types: Record<string, { email?: boolean; inApp?: boolean }>;
  phone: string | null;
}

export async function findPreferences(db: Executor, userId: string): Promise<PreferencesRow | undefined> {
  const [row] = await db
    .select({
      emailDigest: notificationPreferences.emailDigest,
      quietStart: notificationPreferences.quietStart,
      quietEnd: notificationPreferences.quietEnd,
      types: notificationPreferences.types,
      phone: notificationPreferences.phone,
    })
    .from(notificationPreferences)
    .where(eq(notificationPreferences.userId, userId));
  return row as PreferencesRow | undefined;
}

/** Same, the row locked (or, with none yet, nothing to lock: the upsert decides). */
export async function lockPreferences(tx: Executor, userId: string): Promise<PreferencesRow | undefined> {
  const [row] = await tx
    .select({
      emailDigest: notificationPreferences.emailDigest,
      quietStart: notificationPreferences.quietStart,
      quietEnd: notificationPreferences.quietEnd,
      types: notificationPreferences.types,
      phone: notificationPreferences.phone,
    })
    .from(notificationPreferences)
    .where(eq(notificationPreferences.userId, userId))
    .for('update');
  return row as PreferencesRow | undefined;
}

export async function savePreferences(tx: Executor, userId: string, values: PreferencesRow): Promise<void> {
  await tx
    .insert(notificationPreferences)
    .values({ userId, ...values })
    .onConflictDoUpdate({
      target: notificationPreferences.userId,
      set: { ...values, updatedAt: sql`now()` },
    });
}

export interface NewNotification {
  userId: string;
  orgId: string;
  type: string;
  params: NotificationParams;
  link: string | null;
  inApp: boolean;
  digestPending: boolean;
  dedupeKey: string;
}

/** Inserts the notification; null when one with its key was already made for the user. */
export async function insertNotification(tx: Executor, n: NewNotification): Promise<string | null> {
  const [row] = await tx
    .insert(notifications)
    .values(n)
    .onConflictDoNothing({ target: [notifications.userId, notifications.dedupeKey] })
    .returning({ id: notifications.id });
  return row?.id ?? null;
}

export interface InboxRow {
  id: string;
  orgId: string;
  type: string;
  params: NotificationParams;
  link: string | null;
  createdAt: Date;
  readAt: Date | null;
}

const inboxColumns = {
  id: notifications.id,
  orgId: notifications.orgId,
  type: notifications.type,
  params: notifications.params,
  link: notifications.link,
  createdAt: notifications.createdAt,
  readAt: notifications.readAt,
};

// A notification stays in the inbox while its reader is an active member of its live organization.
const memberStill = memberships;
const memberStillOn = and(
  eq(memberships.orgId, notifications.orgId),
  eq(memberships.userId, notifications.userId),
  eq(memberships.status, 'active'),
  sql`EXISTS (SELECT 1 FROM ${organizations} o WHERE o.id = ${notifications.orgId} AND o.deleted_at IS NULL)`,
);

/** The user's inbox, newest first; only organizations they are still an active member of. */
export async function listInbox(
  db: Executor,
  userId: string,
  options: { unread: boolean; limit: number; after?: TimeCursor },
): Promise<InboxRow[]> {
  const rows = await db
    .select(inboxColumns)
    .from(notifications)
    .innerJoin(memberStill, memberStillOn)
    .where(
      and(
        eq(notifications.userId, userId),
        eq(notifications.inApp, true),
        options.unread ? isNull(notifications.readAt) : undefined,
        options.after ? keysetBefore(notifications.createdAt, notifications.id, options.after) : undefined,
      ),
    )
    .orderBy(desc(notifications.createdAt), desc(notifications.id))
    .limit(options.limit);
  return rows as InboxRow[];
}

export async function countUnread(db: Executor, userId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(notifications)
    .innerJoin(memberStill, memberStillOn)
    .where(
      and(eq(notifications.userId, userId), eq(notifications.inApp, true), isNull(notifications.readAt)),
    );
  return row?.n ?? 0;
}

/** Marks one of the user's notifications read; false when the user has no such notification. */
export async function markRead(tx: Executor, userId: string, id: string): Promise<InboxRow | undefined> {
  await tx
    .update(notifications)
    .set({ readAt: sql`now()` })
    .where(
      and(
        eq(notifications.userId, userId),
        eq(notifications.id, id),
        eq(notifications.inApp, true),
        isNull(notifications.readAt),
      ),
    );
  const [row] = await tx
    .select(inboxColumns)
    .from(notifications)
    .innerJoin(memberStill, memberStillOn)
    .where(and(eq(notifications.userId, userId), eq(notifications.id, id), eq(notifications.inApp, true)));
  return row as InboxRow | undefined;
}

/** Marks every unread notification of the user read; returns how many. */
export async function markAllRead(tx: Executor, userId: string): Promise<number> {
  const rows = await tx
    .update(notifications)
    .set({ readAt: sql`now()` })
    .where(and(eq(notifications.userId, userId), eq(notifications.inApp, true), isNull(notifications.readAt)))
    .returning({ id: notifications.id });
  return rows.length;
}

export interface DigestRow {
  id: string;
  orgId: string;
  type: string;
  params: NotificationParams;
  link: string | null;
  createdAt: Date;
}

/**
 * The user's notifications waiting for a digest, made before `before`, locked: of two runs of one
 * digest, the second waits and then finds them taken. Those of organizations the user has left
 * since are returned too (to be cleared), flagged `stillMember: false`.
 */
export async function lockDigestItems(
  tx: Executor,
  userId: string,
  before: Date,
): Promise<Array<DigestRow & { stillMember: boolean }>> {
  const rows = await tx
    .select({
      id: notifications.id,
      orgId: notifications.orgId,
      type: notifications.type,
      params: notifications.params,
      link: notifications.link,
      createdAt: notifications.createdAt,
      stillMember: sql<boolean>`EXISTS (SELECT 1 FROM ${memberships} m JOIN ${organizations} o ON o.id = m.org_id
        WHERE m.org_id = ${notifications.orgId} AND m.user_id = ${notifications.userId}
          AND m.status = 'active' AND o.deleted_at IS NULL)`,
    })
    .from(notifications)
    .where(
      and(
        eq(notifications.userId, userId),
        eq(notifications.digestPending, true),
        lt(notifications.createdAt, before),
      ),
    )
    .orderBy(asc(notifications.createdAt), asc(notifications.id))
    .for('update', { of: notifications });
  return rows as Array<DigestRow & { stillMember: boolean }>;
}

export async function clearDigestItems(tx: Executor, userId: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await tx
    .update(notifications)
    .set({ digestPending: false })
    .where(and(eq(notifications.userId, userId), inArray(notifications.id, ids)));
}

export interface SlackConfigRow {
  webhookUrl: string;
  webhookHost: string;
  events: string[];
  minSeverity: string;
  updatedAt: Date;
}

export async function findSlackConfig(db: Executor, orgId: string): Promise<SlackConfigRow | undefined> {
  const [row] = await db
    .select({
      webhookUrl: slackConfigs.webhookUrl,
      webhookHost: slackConfigs.webhookHost,
      events: slackConfigs.events,
      minSeverity: slackConfigs.minSeverity,
      updatedAt: slackConfigs.updatedAt,
    })
    .from(slackConfigs)
    .where(eq(slackConfigs.orgId, orgId));
  return row;
}

export async function saveSlackConfig(
  tx: Executor,
  orgId: string,
  values: Omit<SlackConfigRow, 'updatedAt'>,
): Promise<SlackConfigRow> {
  const [row] = await tx
    .insert(slackConfigs)
    .values({ orgId, ...values })
    .onConflictDoUpdate({ target: slackConfigs.orgId, set: { ...values, updatedAt: sql`now()` } })
    .returning({
      webhookUrl: slackConfigs.webhookUrl,
      webhookHost: slackConfigs.webhookHost,
      events: slackConfigs.events,
      minSeverity: slackConfigs.minSeverity,
      updatedAt: slackConfigs.updatedAt,
    });
  return row!;
}

export async function deleteSlackConfig(tx: Executor, orgId: string): Promise<boolean> {
  const rows = await tx
    .delete(slackConfigs)
    .where(eq(slackConfigs.orgId, orgId))
    .returning({ orgId: slackConfigs.orgId });
  return rows.length > 0;
}

export interface QuotaAlertsRow {
  thresholds: number[];
  channels: string[];
}

export async function findQuotaAlerts(db: Executor, orgId: string): Promise<QuotaAlertsRow | undefined> {
  const [row] = await db
    .select({ thresholds: quotaAlertSettings.thresholds, channels: quotaAlertSettings.channels })
    .from(quotaAlertSettings)
    .where(eq(quotaAlertSettings.orgId, orgId));
  return row;
}

export async function saveQuotaAlerts(tx: Executor, orgId: string, values: QuotaAlertsRow): Promise<void> {
  await tx
    .insert(quotaAlertSettings)
    .values({ orgId, ...values })
    .onConflictDoUpdate({ target: quotaAlertSettings.orgId, set: { ...values, updatedAt: sql`now()` } });
}

/**
 * Forgets notifications older than `days` (the inbox is a recent history, not an archive); one
 * still waiting for a digest stays until the digest takes it. Returns how many went.
 */
export async function purgeOldNotifications(db: Executor, days: number): Promise<number> {
  const rows = await db
    .delete(notifications)
    .where(
      and(
        lt(notifications.createdAt, sql`now() - make_interval(days => ${days})`),
        eq(notifications.digestPending, false),
      ),
    )
    .returning({ id: notifications.id });
  return rows.length;
}

/**
 * Claims the alert of one channel for a threshold of a month: true the first time, false ever
 * after (the row stays for the month and beyond).
 */
export async function claimQuotaAlert(
  tx: Executor,
  alert: { orgId: string; month: string; percent: number; channel: string },
): Promise<boolean> {
  const rows = await tx
    .insert(quotaAlertsSent)
    .values(alert)
    .onConflictDoNothing()
    .returning({ orgId: quotaAlertsSent.orgId });
  return rows.length > 0;
}
