import type { FastifyInstance } from 'fastify';
import type { DeliveryEnv } from './notifications.deliver.ts';
import { digestHandler } from './notifications.digest.ts';
import { dispatchEvents, QUOTA_ALERT, type QuotaAlertJob, sendQuotaAlert } from './notifications.dispatch.ts';
import { notificationEmailHandler } from './notifications.email.ts';
import { notificationsOrgRoutes, QuotaAlertsSchema, SlackConfigSchema } from './notifications.org.routes.ts';
import { purgeOldNotifications } from './notifications.repository.ts';
import {
  InboxItemSchema,
  NotificationPreferencesSchema,
  notificationsRoutes,
} from './notifications.routes.ts';
import { slackHandler } from './notifications.slack.ts';
import { type SmsProvider, smsHandler, TwilioSmsProvider } from './notifications.sms.ts';

export { FINDING_ASSIGNED, MEMBER_PROMOTED, PAYMENT_FAILED } from './notifications.dispatch.ts';
export { enqueueEmail, NOTIFICATION_EMAIL } from './notifications.email.ts';
export { findQuotaAlerts, findSlackConfig, purgeOldNotifications } from './notifications.repository.ts';
export { type SmsProvider, TwilioSmsProvider } from './notifications.sms.ts';

/**
 * Notifications: each person's preferences and inbox, emails (immediate, held through quiet
 * hours, or gathered into daily and weekly digests), the organization's Slack channel, quota
 * alerts and SMS for critical alerts. Fed by the platform's events (`subscribe`), carried out by
 * outbox jobs (`register`).
 */
export async function notificationsModule(app: FastifyInstance): Promise<void> {
  const { config, outbox, mailer, secrets } = app.gatehouse;
  app.addSchema(NotificationPreferencesSchema);
  app.addSchema(InboxItemSchema);
  app.addSchema(SlackConfigSchema);
  app.addSchema(QuotaAlertsSchema);
  notificationsRoutes(app);
  notificationsOrgRoutes(app);

  const { accountSid, authToken, from, providerUrl } = config.sms;
  const sms: SmsProvider | undefined =
    accountSid && authToken && from
      ? new TwilioSmsProvider(app.gatehouse.outbound, { baseUrl: providerUrl, accountSid, authToken, from })
      : undefined;
  const env: DeliveryEnv = { publicUrl: config.publicUrl, smsConfigured: sms !== undefined };

  outbox.subscribe('notifications', { batch: (events, db) => dispatchEvents(db, env, events) });
  outbox.register<QuotaAlertJob>({
    kind: QUOTA_ALERT,
    run: async (job, _info, db) => {
      await db.transaction((tx) => sendQuotaAlert(tx, env, job));
    },
  });
  outbox.register(notificationEmailHandler(mailer));
  outbox.register(digestHandler(config.publicUrl));
  outbox.register(slackHandler(app.gatehouse.outbound, secrets));
  if (sms) outbox.register(smsHandler(sms));

  // Housekeeping on every instance (idempotent): the inbox keeps half a year.
  const purge = setInterval(() => {
    purgeOldNotifications(app.gatehouse.database.db, NOTIFICATION_RETENTION_DAYS).catch((err) =>
      app.log.error({ err }, 'notification housekeeping failed'),
    );
  }, 60 * 60_000);
  purge.unref();
  app.addHook('onClose', async () => clearInterval(purge));
}

/** How long a notification stays in the inbox. */
export const NOTIFICATION_RETENTION_DAYS = 180;
