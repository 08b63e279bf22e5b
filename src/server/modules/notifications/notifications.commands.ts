import {
  type EmailDigest,
  NOTIFICATION_TYPES,
  type NotificationType,
  QUOTA_CHANNELS,
  QUOTA_THRESHOLDS,
  type QuotaAlertsView,
  type QuotaChannel,
  type QuotaThreshold,
  SLACK_EVENTS,
  type SlackEvent,
  type TypeSwitches,
} from '../../../contracts/notifications.ts';
import { orgAccess } from '../../platform/access/guard.ts';
import { USERS_CACHE } from '../../platform/auth/sessions.ts';
import { defineCommand } from '../../platform/command.ts';
import { NotFoundError, UnauthenticatedError, ValidationError } from '../../platform/errors/app-error.ts';
import { lockUser, updateUserProfile } from '../accounts/index.ts';
import {
  type ResolvedPreferences,
  resolvePreferences,
  storedTypes,
  zoneOf,
} from './notifications.preferences.ts';
import { readQuotaAlerts } from './notifications.queries.ts';
import {
  deleteSlackConfig,
  findSlackConfig,
  lockPreferences,
  type SlackConfigRow,
  savePreferences,
  saveQuotaAlerts,
  saveSlackConfig,
} from './notifications.repository.ts';
import type { QuietHours } from './notifications.schedule.ts';

export interface PreferencesChange {
  emailDigest?: EmailDigest;
  quietHours?: QuietHours | null;
  types?: Partial<Record<NotificationType, Partial<TypeSwitches>>>;
  timeZone?: string;
  phone?: string | null;
}

export type PreferencesView = ResolvedPreferences & { timeZone: string };

/** What the audit trail keeps of preferences (the number is personal data: only whether one is set). */
const preferencesSnapshot = (p: PreferencesView) => ({
  emailDigest: p.emailDigest,
  quietHours: p.quietHours,
  timeZone: p.timeZone,
  types: p.types,
  phoneSet: p.phone !== null,
});

function signedInUser(actor: { type: string; userId?: string }): string {
  if (actor.type !== 'user' || !actor.userId) throw new UnauthenticatedError();
  return actor.userId;
}

/** The signed-in user changes their own notification preferences (and, with them, their time zone). */
export const updateNotificationPreferences = defineCommand({
  action: 'user.notifications_updated',
  async run(ctx, change: PreferencesChange): Promise<PreferencesView> {
    const userId = signedInUser(ctx.actor);
    const user = await lockUser(ctx.tx, userId);
    if (!user) throw new UnauthenticatedError();
    const current = resolvePreferences(await lockPreferences(ctx.tx, userId));
    const before: PreferencesView = { ...current, timeZone: zoneOf(user.timezone) };
    const types = { ...current.types };
    for (const type of NOTIFICATION_TYPES) {
      const asked = change.types?.[type];
      if (asked) types[type] = { ...types[type], ...asked };
    }
    const after: PreferencesView = {
      emailDigest: change.emailDigest ?? current.emailDigest,
      quietHours: change.quietHours === undefined ? current.quietHours : change.quietHours,
      types,
      phone: change.phone === undefined ? current.phone : change.phone,
      timeZone: change.timeZone ?? before.timeZone,
    };
    if (
      JSON.stringify(preferencesSnapshot(after)) === JSON.stringify(preferencesSnapshot(before)) &&
      after.phone === before.phone
    ) {
      ctx.unchanged();
      return after;
    }
    await savePreferences(ctx.tx, userId, {
      emailDigest: after.emailDigest,
      quietStart: after.quietHours?.start ?? null,
      quietEnd: after.quietHours?.end ?? null,
      types: storedTypes(after.types),
      phone: after.phone,
    });
    if (change.timeZone !== undefined && change.timeZone !== user.timezone) {
      await updateUserProfile(ctx.tx, userId, { timezone: change.timeZone });
      await ctx.invalidate(USERS_CACHE, userId);
    }
    ctx.record({
      target: { type: 'user', id: userId, email: user.email, name: user.name },
      before: preferencesSnapshot(before),
      after: preferencesSnapshot(after),
    });
    return after;
  },
});

export interface SlackInput {
  /** Sealed already (the route checked the URL with the outbound guard, then sealed it). */
  webhook?: { sealed: string; host: string };
  events: SlackEvent[];
  minSeverity: 'critical' | 'high' | 'medium' | 'low';
}

const slackSnapshot = (c: Pick<SlackConfigRow, 'webhookHost' | 'events' | 'minSeverity'>) => ({
  webhookHost: c.webhookHost,
  events: c.events,
  minSeverity: c.minSeverity,
});

/** Events in catalog order, once each. */
const canonicalEvents = (events: readonly string[]) => SLACK_EVENTS.filter((e) => events.includes(e));

export const saveSlack = defineCommand({
  action: 'slack.updated',
  permission: 'integrations:manage',
  async run(ctx, input: SlackInput): Promise<SlackConfigRow> {
    const { orgId } = orgAccess(ctx);
    const current = await findSlackConfig(ctx.tx, orgId);
    if (!input.webhook && !current) {
      throw new ValidationError(
        [{ field: '/body/webhookUrl', message: 'is required to connect Slack', reason: 'required' }],
        'Give the incoming webhook URL Slack made for the channel.',
      );
    }
    const values = {
      webhookUrl: input.webhook?.sealed ?? current!.webhookUrl,
      webhookHost: input.webhook?.host ?? current!.webhookHost,
      events: canonicalEvents(input.events),
      minSeverity: input.minSeverity,
    };
    const same =
      current &&
      !input.webhook &&
      JSON.stringify(slackSnapshot(current)) === JSON.stringify(slackSnapshot(values));
    if (same) {
      ctx.unchanged();
      return current;
    }
    const saved = await saveSlackConfig(ctx.tx, orgId, values);
    ctx.record({
      target: { type: 'slack', id: orgId, name: 'Slack' },
      before: current ? slackSnapshot(current) : null,
      // Never the URL: it is the credential. Only that it was replaced.
      after: { ...slackSnapshot(saved), webhookUrlChanged: input.webhook !== undefined },
    });
    return saved;
  },
});

export const removeSlack = defineCommand({
  action: 'slack.deleted',
  permission: 'integrations:manage',
  async run(ctx): Promise<void> {
    const { orgId } = orgAccess(ctx);
    const current = await findSlackConfig(ctx.tx, orgId);
    if (!current || !(await deleteSlackConfig(ctx.tx, orgId))) throw new NotFoundError('Slack connection');
    ctx.record({ target: { type: 'slack', id: orgId, name: 'Slack' }, before: slackSnapshot(current) });
  },
});

/** Thresholds in ascending order and channels in catalog order, once each. */
export function canonicalQuotaAlerts(v: {
  thresholds: readonly number[];
  channels: readonly string[];
}): QuotaAlertsView {
  return {
    thresholds: QUOTA_THRESHOLDS.filter((t) => v.thresholds.includes(t)) as QuotaThreshold[],
    channels: QUOTA_CHANNELS.filter((c) => v.channels.includes(c)) as QuotaChannel[],
  };
}

export const updateQuotaAlerts = defineCommand({
  action: 'quota_alerts.updated',
  permission: 'quota:manage',
  async run(ctx, input: Partial<QuotaAlertsView>): Promise<QuotaAlertsView> {
    const { orgId, orgName } = orgAccess(ctx);
    const before = await readQuotaAlerts(ctx.tx, orgId);
    const after = canonicalQuotaAlerts({
      thresholds: input.thresholds ?? before.thresholds,
      channels: input.channels ?? before.channels,
    });
    if (JSON.stringify(after) === JSON.stringify(before)) {
      ctx.unchanged();
      return after;
    }
    await saveQuotaAlerts(ctx.tx, orgId, after);
    ctx.record({
      target: { type: 'organization', id: orgId, name: orgName },
      before: { ...before },
      after: { ...after },
    });
    return after;
  },
});
