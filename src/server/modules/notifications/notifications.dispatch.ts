import { formatInvoiceNumber, formatMoney } from '../../../contracts/billing.ts';
import { severityRank } from '../../../contracts/findings.ts';
import { DEFAULT_QUOTA_ALERTS, type QuotaChannel, SLACK_EVENTS } from '../../../contracts/notifications.ts';
import type { Db, Executor } from '../../platform/db/client.ts';
import { enqueue, type PlatformEvent } from '../../platform/outbox/index.ts';
import { findFinding } from '../findings/index.ts';
import { filterMembersToTell, findMember, listMembersToTell } from '../members/index.ts';
import { findOrg } from '../organizations/index.ts';
import { findScan } from '../scans/index.ts';
import { type DeliveryEnv, deliverNotice } from './notifications.deliver.ts';
import type { NotificationParams } from './notifications.messages.ts';
import { claimQuotaAlert, findQuotaAlerts, findSlackConfig } from './notifications.repository.ts';
import { utcMonth } from './notifications.schedule.ts';
import { SLACK_POST, type SlackJob, type SlackMessage, slackMessage } from './notifications.slack.ts';

/**
 * The notifications subscriber: each event the platform emits, once committed, becomes the
 * notifications it calls for — the people told (only members still in the organization), the
 * organization's Slack channel, its quota alerts. Everything an event leads to is written in one
 * transaction and keyed by the event's id, so an event handed over twice tells nobody twice.
 *
 * Events are read by ids and looked up again: what is told is the state now (a finding's title
 * as it is), and nothing here depends on how the emitting command shaped the rest of its data.
 */

/** Internal events (not in the webhook catalog), emitted for notifications only. */
export const FINDING_ASSIGNED = 'finding.assigned';
export const MEMBER_PROMOTED = 'member.promoted';
/** Emitted by billing when the provider reports a failed payment: billing admins are told. */
export const PAYMENT_FAILED = 'billing.payment_failed';

export const QUOTA_ALERT = 'notification.quota_alert';

export interface QuotaAlertJob {
  orgId: string;
  month: string;
  percent: number;
  channel: QuotaChannel | 'sms';
}

type Data = Record<string, unknown>;

/** The first of `paths` (dotted) that holds a string. */
function pick(data: Data, ...paths: string[]): string | undefined {
  for (const path of paths) {
    let value: unknown = data;
    for (const part of path.split('.')) {
      value = value && typeof value === 'object' ? (value as Data)[part] : undefined;
    }
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const idIn = (data: Data, ...paths: string[]) => {
  const value = pick(data, ...paths);
  return value && UUID.test(value) ? value : undefined;
};

/** Who did it, as notifications name them, from an event's `by` (see `byOf`). */
function byIn(data: Data): NotificationParams['by'] {
  const by = data.by as NotificationParams['by'] | undefined;
  if (!by || typeof by !== 'object') return null;
  if (typeof (by as { email?: unknown }).email === 'string')
    return { email: (by as { email: string }).email };
  if (typeof (by as { token?: unknown }).token === 'string')
    return { token: (by as { token: string }).token };
  if ((by as { operator?: unknown }).operator === true) return { operator: true };
  return null;
}

/** Events that reach an organization's Slack channel only, when it takes them. */
const SLACK_ONLY_EVENTS = new Set(['finding.created', 'finding.resolved']);

/**
 * The events of one dispatch, each carried out in a transaction of its own (dispatchEvent). A
 * scan's thousands of finding events cost one read of each org's Slack settings when the
 * channel takes none of them, rather than a transaction each. dispatchEvent checks again.
 */
export async function dispatchEvents(
  db: Db,
  env: DeliveryEnv,
  events: readonly PlatformEvent[],
): Promise<void> {
  const slackTakes = new Map<string, ReadonlySet<string>>();
  for (const event of events) {
    if (SLACK_ONLY_EVENTS.has(event.type)) {
      let takes = slackTakes.get(event.orgId);
      if (!takes) {
        takes = new Set((await findSlackConfig(db, event.orgId))?.events ?? []);
        slackTakes.set(event.orgId, takes);
      }
      if (!takes.has(event.type)) continue;
    }
    await db.transaction((tx) => dispatchEvent(tx, env, event));
  }
}

export async function dispatchEvent(tx: Executor, env: DeliveryEnv, event: PlatformEvent): Promise<void> {
  const org = await findOrg(tx, event.orgId);
  if (!org) return;
  const data = (event.data ?? {}) as Data;
  const orgUrl = `/orgs/${org.id}/settings`;
  const base = { orgId: org.id, plan: org.plan };
  const slack: { message?: SlackMessage; severity?: string } = {};

  switch (event.type) {
    case 'scan.completed': {
      const scanId = idIn(data, 'scan.id', 'scanId', 'id');
      const scan = scanId ? await findScan(tx, org.id, scanId) : undefined;
      if (!scan) break;
      const counts = {
        total: scan.findingsTotal,
        critical: scan.findingsCritical,
        high: scan.findingsHigh,
        medium: scan.findingsMedium,
        low: scan.findingsLow,
      };
      const link = `${orgUrl}/scans/${scan.id}`;
      if (scan.createdBy) {
        await deliverNotice(
          tx,
          env,
          {
            ...base,
            type: 'scan_completed',
            params: { orgName: org.name, applicationName: scan.applicationName, counts },
            link,
            key: `${event.id}:scan_completed`,
          },
          await filterMembersToTell(tx, org.id, [scan.createdBy]),
        );
      }
      const policy = scan.policy as { passed?: boolean } | null;
      slack.message = slackMessage(
        `Scan of ${scan.applicationName} completed`,
        [
          `${counts.total} findings: ${counts.critical} critical, ${counts.high} high, ${counts.medium} medium, ${counts.low} low`,
          ...(policy && typeof policy.passed === 'boolean'
            ? [policy.passed ? 'Policies: passed' : 'Policies: failed']
            : []),
        ],
        { url: `${env.publicUrl}${link}`, label: 'Open the scan' },
      );
      break;
    }
    case FINDING_ASSIGNED: {
      const findingId = idIn(data, 'findingId', 'finding.id');
      const assigneeId = idIn(data, 'assigneeId');
      const finding = findingId ? await findFinding(tx, org.id, findingId) : undefined;
      // Assigned to someone else since: that assignment tells them.
      if (!finding || !assigneeId || finding.assigneeId !== assigneeId) break;
      await deliverNotice(
        tx,
        env,
        {
          ...base,
          type: 'finding_assigned',
          params: {
            orgName: org.name,
            findingTitle: finding.title,
            severity: finding.severity,
            applicationName: finding.applicationName,
            by: byIn(data),
          },
          link: `${orgUrl}/findings/${finding.id}`,
          key: `${event.id}:finding_assigned`,
          sms: finding.severity === 'critical',
        },
        await filterMembersToTell(tx, org.id, [assigneeId]),
      );
      break;
    }
    case 'finding.created':
    case 'finding.resolved': {
      // Finding events reach Slack only: an org that takes none there reads nothing more (a scan
      // may bring thousands of them).
      if (!(await findSlackConfig(tx, org.id))?.events.includes(event.type)) break;
      const findingId = idIn(data, 'finding.id', 'findingId', 'id');
      const finding = findingId ? await findFinding(tx, org.id, findingId) : undefined;
      if (!finding) break;
      const created = event.type === 'finding.created';
      const link = `${orgUrl}/findings/${finding.id}`;
      slack.severity = finding.severity;
      slack.message = slackMessage(
        created
          ? `New ${finding.severity} finding in ${finding.applicationName}`
          : `Finding resolved in ${finding.applicationName}`,
        [
          finding.title,
          `Rule ${finding.ruleId}${finding.location?.path ? ` at ${finding.location.path}${finding.location.startLine ? `:${finding.location.startLine}` : ''}` : ''}`,
        ],
        { url: `${env.publicUrl}${link}`, label: 'Open the finding' },
      );
      break;
    }
    case 'member.role_changed': {
      const userId = idIn(data, 'userId', 'member.userId', 'member.id');
      const member = userId ? await findMember(tx, org.id, userId) : undefined;
      if (!member || member.status === 'removed') break;
      await deliverNotice(
        tx,
        env,
        {
          ...base,
          type: 'role_changed',
          params: { orgName: org.name, roleName: member.roleName, by: byIn(data) },
          link: `${orgUrl}/team`,
          key: `${event.id}:role_changed`,
        },
        await filterMembersToTell(tx, org.id, [member.userId]),
      );
      slack.message = slackMessage(`${member.email} now has the ${member.roleName} role in ${org.name}`, []);
      break;
    }
    case MEMBER_PROMOTED: {
      const who = pick(data, 'who');
      const roleName = pick(data, 'roleName');
      if (!who || !roleName) break;
      await deliverNotice(
        tx,
        env,
        {
          ...base,
          type: 'promoted_to_admin',
          params: { orgName: org.name, who, roleName, by: byIn(data) },
          link: `${orgUrl}/team`,
          key: `${event.id}:promoted_to_admin`,
        },
        await listMembersToTell(tx, org.id, 'owner'),
      );
      break;
    }
    case 'member.added': {
      const userId = idIn(data, 'userId', 'member.userId', 'member.id');
      const member = userId ? await findMember(tx, org.id, userId) : undefined;
      if (!member || member.status === 'removed') break;
      const admins = (await listMembersToTell(tx, org.id, 'members:manage')).filter(
        (id) => id !== member.userId,
      );
      await deliverNotice(
        tx,
        env,
        {
          ...base,
          type: 'member_joined',
          params: { orgName: org.name, who: member.email, roleName: member.roleName },
          link: `${orgUrl}/team/${member.userId}`,
          key: `${event.id}:member_joined`,
        },
        admins,
      );
      slack.message = slackMessage(`${member.email} joined ${org.name} as ${member.roleName}`, []);
      break;
    }
    case 'member.removed': {
      const userId = idIn(data, 'userId', 'member.userId', 'member.id');
      const member = userId ? await findMember(tx, org.id, userId) : undefined;
      if (!member) break;
      slack.message = slackMessage(`${member.email} was removed from ${org.name}`, []);
      break;
    }
    case PAYMENT_FAILED: {
      const invoiceId = idIn(data, 'invoiceId');
      const number = Number(data.number);
      if (!invoiceId || !Number.isSafeInteger(number)) break;
      await deliverNotice(
        tx,
        env,
        {
          ...base,
          type: 'payment_failed',
          params: {
            orgName: org.name,
            invoiceNumber: formatInvoiceNumber(number),
            amount: formatMoney(Number(data.total) || 0, String(data.currency ?? 'usd')),
          },
          link: `${orgUrl}/invoices`,
          key: `${event.id}:payment_failed`,
        },
        await listMembersToTell(tx, org.id, 'billing:manage'),
      );
      break;
    }
    case 'quota.threshold_reached': {
      const percent = Number(data.percent);
      if (!Number.isInteger(percent)) break;
      const month = /^\d{4}-\d{2}$/.test(String(data.month))
        ? String(data.month)
        : utcMonth(new Date(event.timestamp));
      await queueQuotaAlerts(tx, org.id, month, percent);
      break;
    }
    default:
      break;
  }

  if (slack.message && (SLACK_EVENTS as readonly string[]).includes(event.type)) {
    const config = await findSlackConfig(tx, org.id);
    const wanted =
      config?.events.includes(event.type) &&
      (slack.severity === undefined || severityRank(slack.severity) >= severityRank(config.minSeverity));
    if (wanted) {
      await enqueue<SlackJob>(tx, {
        kind: SLACK_POST,
        payload: { orgId: org.id, message: slack.message },
        orgId: org.id,
        dedupeKey: `slack:${event.id}`,
      });
    }
  }
}

/**
 * A quota threshold was crossed: one job per channel the organization chose, keyed
 * `quota:<org>:<month>:<percent>:<channel>` and claimed in `quota_alerts_sent` (which outlives
 * the outbox's finished jobs) — whatever happens, one alert per channel per threshold per month. Thresholds the organization did not choose alert nobody. At 100 %, an SMS
 * to those who gave a number (plans with SMS).
 */
async function queueQuotaAlerts(tx: Executor, orgId: string, month: string, percent: number): Promise<void> {
  const settings = (await findQuotaAlerts(tx, orgId)) ?? DEFAULT_QUOTA_ALERTS;
  if (!settings.thresholds.includes(percent)) return;
  const channels: QuotaAlertJob['channel'][] = [...(settings.channels as QuotaChannel[])];
  if (percent >= 100) channels.push('sms');
  for (const channel of channels) {
    if (!(await claimQuotaAlert(tx, { orgId, month, percent, channel }))) continue;
    await enqueue<QuotaAlertJob>(tx, {
      kind: QUOTA_ALERT,
      payload: { orgId, month, percent, channel },
      orgId,
      dedupeKey: `quota:${orgId}:${month}:${percent}:${channel}`,
    });
  }
}

/** Carries out one channel of a quota alert. */
export async function sendQuotaAlert(tx: Executor, env: DeliveryEnv, job: QuotaAlertJob): Promise<void> {
  const org = await findOrg(tx, job.orgId);
  if (!org) return;
  const params: NotificationParams = { orgName: org.name, percent: job.percent, month: job.month };
  const link = `/orgs/${org.id}/settings/usage`;
  const notice = {
    orgId: org.id,
    plan: org.plan,
    type: 'quota_warning' as const,
    params,
    link,
    key: `quota:${org.id}:${job.month}:${job.percent}:${job.channel}`,
  };
  switch (job.channel) {
    case 'in_app':
    case 'email':
    case 'sms': {
      const channels = {
        inApp: job.channel === 'in_app',
        email: job.channel === 'email',
      };
      await deliverNotice(
        tx,
        env,
        { ...notice, channels, sms: job.channel === 'sms' },
        await listMembersToTell(tx, org.id, 'quota:manage'),
      );
      return;
    }
    case 'slack': {
      if (!(await findSlackConfig(tx, org.id))) return;
      const all = job.percent >= 100;
      await enqueue<SlackJob>(tx, {
        kind: SLACK_POST,
        payload: {
          orgId: org.id,
          message: slackMessage(
            all
              ? `${org.name} has used all its tokens for ${job.month}`
              : `${org.name} has used ${job.percent}% of its tokens for ${job.month}`,
            all ? ['New scans are refused until next month unless the quota is raised.'] : [],
            { url: `${env.publicUrl}${link}`, label: 'Open usage' },
          ),
        },
        orgId: org.id,
        dedupeKey: `slack:quota:${org.id}:${job.month}:${job.percent}`,
      });
      return;
    }
  }
}
