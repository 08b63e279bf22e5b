import {
  DEFAULT_QUOTA_ALERTS,
  type InboxItem,
  type NotificationType,
  type QuotaAlertsView,
  type QuotaChannel,
  type QuotaThreshold,
  type SlackConfigView,
  type SlackEvent,
} from '../../../contracts/notifications.ts';
import type { Executor } from '../../platform/db/client.ts';
import { type Language, renderForConsole } from './notifications.messages.ts';
import { findQuotaAlerts, findSlackConfig, type InboxRow } from './notifications.repository.ts';

/** The organization's quota alert settings (the defaults until someone saves them). */
export async function readQuotaAlerts(db: Executor, orgId: string): Promise<QuotaAlertsView> {
  const row = await findQuotaAlerts(db, orgId);
  if (!row) return { ...DEFAULT_QUOTA_ALERTS };
  return { thresholds: row.thresholds as QuotaThreshold[], channels: row.channels as QuotaChannel[] };
}

/** GET …/slack: whether and where it posts, never the URL. */
export async function readSlack(db: Executor, orgId: string): Promise<SlackConfigView> {
  const row = await findSlackConfig(db, orgId);
  if (!row) {
    return {
      configured: false,
      webhookUrlSet: false,
      webhookHost: null,
      events: [],
      minSeverity: 'high',
      updatedAt: null,
    };
  }
  return {
    configured: true,
    webhookUrlSet: true,
    webhookHost: row.webhookHost,
    events: row.events as SlackEvent[],
    minSeverity: row.minSeverity as SlackConfigView['minSeverity'],
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** An inbox entry as the API answers it, in the reader's language. */
export function presentInboxItem(row: InboxRow, lang: Language): InboxItem {
  const { title, body } = renderForConsole(row.type, row.params, lang);
  return {
    id: row.id,
    type: row.type as NotificationType,
    orgId: row.orgId,
    title,
    body,
    link: row.link,
    createdAt: row.createdAt.toISOString(),
    readAt: row.readAt ? row.readAt.toISOString() : null,
  };
}
