import type { Db } from '../../platform/db/client.ts';
import { type Outbound, OutboundError } from '../../platform/outbound/outbound.ts';
import { GiveUp, type JobHandler } from '../../platform/outbox/index.ts';
import { registerSealedColumn } from '../../platform/secrets/rotate.ts';
import type { Secrets } from '../../platform/secrets/secrets.ts';
import { findSlackConfig } from './notifications.repository.ts';

/**
 * An organization's Slack channel, through an incoming webhook: a JSON `{text, blocks}` POSTed
 * to the URL Slack gave. The URL is the credential (anyone holding it can post), so it is sealed
 * at rest under the context `slack:<orgId>` and never returned.
 */

export const slackSealContext = (orgId: string) => `slack:${orgId}`;

// `gatehouse secrets rotate` re-seals the stored URLs under a new key.
registerSealedColumn({
  table: 'slack_configs',
  idColumn: 'org_id',
  sealedColumn: 'webhook_url',
  context: (row) => slackSealContext(String(row.org_id)),
});

export interface SlackMessage {
  /** The notification's plain text (what Slack shows where blocks are not drawn). */
  text: string;
  blocks: Array<Record<string, unknown>>;
}

/** Slack's mrkdwn gives `&`, `<` and `>` meaning: text people typed has them escaped. */
export const slackEscape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A message: a bold headline, lines of detail and, when given, a link into the console (which
 * is ours: built from PUBLIC_URL and ids, never from text people typed).
 */
export function slackMessage(
  headline: string,
  lines: string[],
  link?: { url: string; label: string },
): SlackMessage {
  const body = [`*${slackEscape(headline)}*`, ...lines.map(slackEscape)].join('\n');
  const blocks: Array<Record<string, unknown>> = [{ type: 'section', text: { type: 'mrkdwn', text: body } }];
  if (link) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `<${link.url}|${slackEscape(link.label)}>` }],
    });
  }
  // Slack reads `text` as mrkdwn too (it is what notifications and clients without blocks show):
  // escaped the same, or `<!channel>` in a finding's title would mention the whole channel.
  return { text: [headline, ...lines].map(slackEscape).join('\n'), blocks };
}

export interface SlackPostResult {
  delivered: boolean;
  status: number | null;
  body: string;
  durationMs: number;
  headers: Record<string, string>;
  error?: string;
}

/** Posts one message; never throws (a failure is in the result). */
export async function postToSlack(
  outbound: Outbound,
  url: string,
  message: SlackMessage,
): Promise<SlackPostResult> {
  const started = Date.now();
  try {
    const res = await outbound.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
      timeoutMs: 15_000,
      maxResponseBytes: 16 * 1024,
    });
    const body = res.body.toString('utf8').slice(0, 1024);
    const delivered = res.status >= 200 && res.status < 300;
    return {
      delivered,
      status: res.status,
      body,
      durationMs: res.durationMs,
      headers: res.headers,
      ...(delivered ? {} : { error: `Slack answered ${res.status}` }),
    };
  } catch (err) {
    const reason = err instanceof OutboundError ? err.reason : 'connect';
    return {
      delivered: false,
      status: null,
      body: '',
      durationMs: Date.now() - started,
      headers: {},
      error: `not delivered (${reason})`,
    };
  }
}

export const SLACK_POST = 'notification.slack';

export interface SlackJob {
  orgId: string;
  message: SlackMessage;
}

/**
 * Delivers a message to the org's channel as configured when it is sent (a URL changed meanwhile
 * is used; a channel disconnected meanwhile gets nothing). Slack's 429 says when to try again;
 * 404/410 and 403 mean the webhook is gone or revoked, so trying again cannot help.
 */
export function slackHandler(outbound: Outbound, secrets: Secrets): JobHandler<SlackJob> {
  return {
    kind: SLACK_POST,
    retryDelays: [10, 60, 300, 1800, 3600, 10_800],
    async run(job, _info, db: Db) {
      const config = await findSlackConfig(db, job.orgId);
      if (!config) return;
      const url = secrets.open(config.webhookUrl, slackSealContext(job.orgId));
      const result = await postToSlack(outbound, url, job.message);
      if (result.delivered) return;
      if (result.status === 429) {
        const after = Number(result.headers['retry-after']);
        const seconds = Number.isFinite(after) && after > 0 ? Math.min(after, 3600) : 30;
        return { retryAt: new Date(Date.now() + seconds * 1000), error: 'Slack asked to slow down (429)' };
      }
      if (result.status !== null && [400, 403, 404, 410].includes(result.status)) {
        throw new GiveUp(`${result.error}: ${result.body.slice(0, 100)}`);
      }
      throw new Error(result.error ?? 'not delivered');
    },
  };
}
