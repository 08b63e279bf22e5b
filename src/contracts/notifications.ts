/**
 * Notifications as the API and the console speak of them: personal preferences, the in-app
 * inbox, an organization's Slack channel and its quota alerts.
 */

/** What a person can be told about, each with its own email and in-app switch. */
export const NOTIFICATION_TYPES = [
  'finding_assigned',
  'scan_completed',
  'role_changed',
  'promoted_to_admin',
  'quota_warning',
  'member_joined',
  'payment_failed',
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/** How emails reach a person: one each, gathered once a day or a week, or none. */
export const EMAIL_DIGESTS = ['immediate', 'daily', 'weekly', 'off'] as const;
export type EmailDigest = (typeof EMAIL_DIGESTS)[number];

export interface TypeSwitches {
  email: boolean;
  inApp: boolean;
}

/**
 * What a type starts as. A role change is already mailed to the member by the members module (a
 * notice no preference turns off), so its notification email starts off: on, it would be a second.
 */
export const DEFAULT_TYPE_SWITCHES: Record<NotificationType, TypeSwitches> = {
  finding_assigned: { email: true, inApp: true },
  scan_completed: { email: true, inApp: true },
  role_changed: { email: false, inApp: true },
  promoted_to_admin: { email: true, inApp: true },
  quota_warning: { email: true, inApp: true },
  member_joined: { email: true, inApp: true },
  payment_failed: { email: true, inApp: true },
};

/** GET /me/notifications (and what PATCH answers). */
export interface NotificationPreferences {
  emailDigest: EmailDigest;
  /** `HH:MM` in `timeZone`; immediate emails due inside wait until `end`. */
  quietHours: { start: string; end: string } | null;
  /** The user's IANA time zone (their profile's; UTC when they never chose one). */
  timeZone: string;
  types: Record<NotificationType, TypeSwitches>;
  /** E.164 number for critical alerts by SMS (organizations on a plan with SMS only). */
  phone: string | null;
}

/** One entry of the inbox (GET /me/inbox). */
export interface InboxItem {
  id: string;
  type: NotificationType;
  orgId: string;
  title: string;
  body: string;
  /** A console path (`/orgs/…`), or null. */
  link: string | null;
  createdAt: string;
  readAt: string | null;
}

export interface InboxPage {
  items: InboxItem[];
  nextCursor: string | null;
  /** Unread notifications in the whole inbox (not only this page). */
  unread: number;
}

/** Catalog events an organization's Slack channel may be told of (quota alerts have their own setting). */
export const SLACK_EVENTS = [
  'scan.completed',
  'finding.created',
  'finding.resolved',
  'member.added',
  'member.removed',
  'member.role_changed',
] as const;
export type SlackEvent = (typeof SLACK_EVENTS)[number];

/** GET …/slack: the URL itself is never returned. */
export interface SlackConfigView {
  configured: boolean;
  /** Whether a webhook URL is stored (always true when configured). */
  webhookUrlSet: boolean;
  /** The URL's host, so people can tell which workspace it posts to. */
  webhookHost: string | null;
  events: SlackEvent[];
  /** Finding events below this severity are not posted. */
  minSeverity: 'critical' | 'high' | 'medium' | 'low';
  updatedAt: string | null;
}

/** POST …/slack/test */
export interface SlackTestResult {
  delivered: boolean;
  status: number | null;
  body: string;
  durationMs: number;
  error?: string;
}

export const QUOTA_THRESHOLDS = [50, 75, 90, 100] as const;
export type QuotaThreshold = (typeof QUOTA_THRESHOLDS)[number];
export const QUOTA_CHANNELS = ['email', 'slack', 'in_app'] as const;
export type QuotaChannel = (typeof QUOTA_CHANNELS)[number];

/** GET …/quota-alerts */
export interface QuotaAlertsView {
  thresholds: QuotaThreshold[];
  channels: QuotaChannel[];
}

export const DEFAULT_QUOTA_ALERTS: QuotaAlertsView = {
  thresholds: [50, 75, 90, 100],
  channels: ['email', 'in_app'],
};
