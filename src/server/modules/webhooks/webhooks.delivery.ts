import { randomUUID } from 'node:crypto';
import { and, eq, isNotNull, sql } from 'drizzle-orm';
import { TEST_EVENT_TYPE, type WebhookPayload } from '../../../contracts/events.ts';
import type { CommandRunner } from '../../platform/command.ts';
import type { Database, Executor } from '../../platform/db/client.ts';
import { pgErrorCode } from '../../platform/db/errors.ts';
import { webhooks } from '../../platform/db/schema.ts';
import type { WebhookOutcome } from '../../platform/metrics/metrics.ts';
import { type Outbound, OutboundError } from '../../platform/outbound/outbound.ts';
import { GiveUp, type JobHandler, type JobOutcome } from '../../platform/outbox/index.ts';
import type { Secrets } from '../../platform/secrets/secrets.ts';
import {
  type DisableReason,
  disableWebhook,
  previousSecretContext,
  secretContext,
} from './webhooks.commands.ts';
import {
  type DeliveryRow,
  insertDeliveries,
  insertPendingAttempts,
  readForAttempt,
  readWebhookForDelivery,
  recordAttempt,
  type WebhookRow,
  type WebhookSecrets,
} from './webhooks.repository.ts';
import { signatureHeaders } from './webhooks.signing.ts';

/** The outbox job that carries one delivery of one event to one webhook. */
export const DELIVER_JOB = 'webhook.deliver';

export interface DeliverPayload {
  deliveryId: string;
  /** The attempt row queued with the job (`pending` until its first attempt fills it). */
  attemptId: string | null;
}

/** What the log keeps of a receiver's answer. */
export const RESPONSE_BODY_BYTES = 1024;
/** One attempt, connection to last byte. */
export const DELIVERY_TIMEOUT_MS = 15_000;
/** A webhook failing every attempt this long is turned off. */
export const DISABLE_AFTER_MS = 5 * 86_400_000;
/** The longest wait a receiver's Retry-After is followed for (a longer one is cut to this). */
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

export const USER_AGENT = 'Gatehouse-Webhooks/1.0';

export interface DeliveryServices {
  database: Database;
  outbound: Outbound;
  secrets: Secrets;
  commands: CommandRunner;
  /** Seconds before each retry (WEBHOOK_RETRY_SCHEDULE). */
  retrySchedule: readonly number[];
  /** Told how each attempt ended (metrics). */
  onOutcome?: (outcome: WebhookOutcome) => void;
}

/** How one attempt went. */
export interface AttemptResult {
  delivered: boolean;
  status: number | null;
  /** The first KiB of the answer's body, as text. */
  body: string | null;
  durationMs: number;
  error?: string;
  /** The receiver's Retry-After, when it sent one (any failure may carry it). */
  retryAfterMs?: number;
}

/** The secrets that sign now: the current one, and the rotated-out one while its overlap lasts. */
function signingSecrets(secrets: Secrets, webhook: WebhookRow & WebhookSecrets, now = Date.now()): string[] {
  const out = [secrets.open(webhook.secret, secretContext(webhook.id))];
  if (
    webhook.previousSecret &&
    webhook.previousSecretExpiresAt &&
    webhook.previousSecretExpiresAt.getTime() > now
  ) {
    out.push(secrets.open(webhook.previousSecret, previousSecretContext(webhook.id)));
  }
  return out;
}

/** Text PostgreSQL can store and a page can show: the first KiB, NULs dropped. */
function bodyText(body: Buffer): string {
  return body.subarray(0, RESPONSE_BODY_BYTES).toString('utf8').replaceAll('\u0000', '');
}

/** Retry-After as delta-seconds or an HTTP date, in ms from now (bounded); undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d{1,10}$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 1000), MAX_RETRY_AFTER_MS);
}

/** Sends one signed POST through the outbound guard; never throws. */
export async function attemptDelivery(
  services: Pick<DeliveryServices, 'outbound' | 'secrets'>,
  webhook: WebhookRow & WebhookSecrets,
  message: { id: string; body: string },
): Promise<AttemptResult> {
  const started = Date.now();
  const headers = {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    ...signatureHeaders(signingSecrets(services.secrets, webhook), {
      id: message.id,
      timestamp: Math.floor(Date.now() / 1000),
      body: message.body,
    }),
  };
  try {
    const res = await services.outbound.request(webhook.url, {
      method: 'POST',
      headers,
      body: message.body,
      timeoutMs: DELIVERY_TIMEOUT_MS,
      maxResponseBytes: RESPONSE_BODY_BYTES,
    });
    const delivered = res.status >= 200 && res.status < 300;
    const retryAfter = delivered ? undefined : retryAfterMs(res.headers['retry-after']);
    return {
      delivered,
      status: res.status,
      body: bodyText(res.body),
      durationMs: Math.round(res.durationMs),
      ...(delivered
        ? {}
        : {
            error:
              res.status >= 300 && res.status < 400
                ? `answered ${res.status} (redirects are not followed)`
                : `answered ${res.status}`,
          }),
      ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
    };
  } catch (err) {
    const error =
      err instanceof OutboundError
        ? `${err.reason}: ${err.message}`
        : `could not be sent: ${(err as Error).message ?? String(err)}`;
    return {
      delivered: false,
      status: null,
      body: null,
      durationMs: Date.now() - started,
      error: error.slice(0, 500),
    };
  }
}

/** The body of every delivery: `{type, timestamp, data}`, as exact text (signed as sent). */
export function deliveryBody(event: { type: string; timestamp: string; data: unknown }): string {
  return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
}

async function markFailing(db: Executor, orgId: string, id: string, at: Date): Promise<Date> {
  const [row] = await db
    .update(webhooks)
    .set({ failingSince: sql`coalesce(${webhooks.failingSince}, ${at.toISOString()}::timestamptz)` })
    .where(and(eq(webhooks.orgId, orgId), eq(webhooks.id, id)))
    .returning({ failingSince: webhooks.failingSince });
  return row?.failingSince ?? at;
}

async function markAnswering(db: Executor, orgId: string, id: string): Promise<void> {
  await db
    .update(webhooks)
    .set({ failingSince: null })
    .where(and(eq(webhooks.orgId, orgId), eq(webhooks.id, id), isNotNull(webhooks.failingSince)));
}

const SYSTEM = { actor: { type: 'system' as const }, meta: { ip: null, userAgent: null, requestId: null } };

/**
 * The outbox handler of `webhook.deliver`: one attempt at one delivery, recorded in the log
 * whatever its outcome. A 2xx delivers; anything else (3xx included) is retried on the schedule
 * (or at the receiver's Retry-After) until it is spent; a 410 turns the webhook off at once, and
 * so does failing every attempt for 5 days.
 */
export function deliveryHandler(services: DeliveryServices): JobHandler<DeliverPayload> {
  const schedule = services.retrySchedule;
  return {
    kind: DELIVER_JOB,
    retryDelays: schedule,
    // Longer than an attempt can take (the request's own bound, and the log's write).
    leaseSeconds: Math.ceil(DELIVERY_TIMEOUT_MS / 1000) + 15,
    async run(payload, job, db): Promise<JobOutcome | undefined> {
      const orgId = job.orgId;
      if (!orgId) throw new GiveUp('a delivery without an organization');
      const found = await readForAttempt(db, orgId, payload.deliveryId);
      // The webhook (and its log) was deleted meanwhile: nothing to deliver.
      if (!found) return undefined;
      const { delivery, webhook } = found;
      const ref = { deliveryId: delivery.id, attemptId: payload.attemptId, webhookId: webhook.id };
      const record = (result: Omit<AttemptResult, 'retryAfterMs'>, nextAttemptAt: Date | null) =>
        recordAttempt(db, orgId, ref, {
          state: result.delivered ? 'delivered' : 'failed',
          responseStatus: result.status,
          responseBody: result.body,
          durationMs: result.durationMs,
          error: result.error ?? null,
          at: new Date(),
          nextAttemptAt,
        });
      const counted = services.onOutcome ?? (() => {});
      if (!webhook.enabled) {
        counted('skipped');
        await record(
          { delivered: false, status: null, body: null, durationMs: 0, error: 'the webhook is turned off' },
          null,
        );
        throw new GiveUp('the webhook is turned off');
      }
      const result = await attemptDelivery(services, webhook, { id: delivery.eventId, body: delivery.body });
      if (result.delivered) {
        counted('delivered');
        await record(result, null);
        if (webhook.failingSince) await markAnswering(db, orgId, webhook.id);
        return undefined;
      }
      const now = new Date();
      const disable = async (reason: DisableReason) => {
        counted('disabled');
        await record(result, null);
        await services.commands.run(disableWebhook, SYSTEM, {
          orgId,
          id: webhook.id,
          reason,
          detail: result.error ?? 'failed',
        });
        throw new GiveUp(`${result.error ?? 'failed'}; the webhook is turned off (${reason})`);
      };
      if (result.status === 410) return disable('gone');
      const failingSince = await markFailing(db, orgId, webhook.id, now);
      if (now.getTime() - failingSince.getTime() >= DISABLE_AFTER_MS) return disable('failing');
      if (job.attempt > schedule.length) {
        counted('given_up');
        await record(result, null);
        throw new GiveUp(`${result.error ?? 'failed'}; no attempts left`);
      }
      const retryAt = new Date(now.getTime() + (result.retryAfterMs ?? schedule[job.attempt - 1]! * 1000));
      counted('failed');
      await record(result, retryAt);
      return { retryAt, error: result.error ?? 'failed' };
    },
  };
}

/**
 * Queues deliveries of events to webhooks in one transaction: a delivery row per (webhook,
 * event) not yet there, its first attempt `pending`, and its outbox job (`<webhookId>:<eventId>`:
 * a dispatch that runs again adds nothing).
 */
export async function queueDeliveries(
  tx: Executor,
  orgId: string,
  items: ReadonlyArray<{
    webhookId: string;
    event: { id: string; type: string; timestamp: string; data: unknown };
  }>,
  enqueue: (job: {
    kind: string;
    payload: DeliverPayload;
    orgId: string;
    dedupeKey: string;
  }) => Promise<unknown>,
): Promise<number> {
  const created = await insertDeliveries(
    tx,
    orgId,
    items.map((i) => ({
      webhookId: i.webhookId,
      eventId: i.event.id,
      type: i.event.type,
      body: deliveryBody(i.event),
    })),
  );
  const attempts = await insertPendingAttempts(
    tx,
    orgId,
    created.map((d) => ({ webhookId: d.webhookId, deliveryId: d.id, attempt: 1 })),
  );
  for (const [i, d] of created.entries()) {
    await enqueue({
      kind: DELIVER_JOB,
      orgId,
      payload: { deliveryId: d.id, attemptId: attempts[i]! },
      dedupeKey: `${d.webhookId}:${d.eventId}`,
    });
  }
  return created.length;
}

/** A delivery sent again (the log's Redeliver): a new attempt of the same event, queued now. */
export async function queueRedelivery(
  tx: Executor,
  orgId: string,
  delivery: DeliveryRow & { lastAttempt: number },
  enqueue: (job: {
    kind: string;
    payload: DeliverPayload;
    orgId: string;
    dedupeKey: string;
  }) => Promise<unknown>,
): Promise<string> {
  const [attemptId] = await insertPendingAttempts(tx, orgId, [
    { webhookId: delivery.webhookId, deliveryId: delivery.id, attempt: delivery.lastAttempt + 1 },
  ]);
  await enqueue({
    kind: DELIVER_JOB,
    orgId,
    payload: { deliveryId: delivery.id, attemptId: attemptId! },
    dedupeKey: `${delivery.webhookId}:${delivery.eventId}:${delivery.lastAttempt + 1}`,
  });
  return attemptId!;
}

/**
 * The test button: a `webhook.test` ping sent now and answered with what the receiver said. It is
 * logged like any delivery, attempted once, and changes nothing else (a failure does not count
 * toward turning the webhook off).
 */
export async function sendTestPing(
  services: Pick<DeliveryServices, 'database' | 'outbound' | 'secrets'>,
  orgId: string,
  webhookId: string,
): Promise<AttemptResult | undefined> {
  const db = services.database.db;
  const webhook = await readWebhookForDelivery(db, orgId, webhookId);
  if (!webhook) return undefined;
  const id = `evt_${randomUUID().replaceAll('-', '')}`;
  const payload: WebhookPayload<typeof TEST_EVENT_TYPE> = {
    type: TEST_EVENT_TYPE,
    timestamp: new Date().toISOString(),
    data: { orgId, webhookId, message: 'A test delivery from Gatehouse.' },
  };
  const body = deliveryBody(payload);
  const result = await attemptDelivery(services, webhook, { id, body });
  try {
    await db.transaction(async (tx) => {
      const [delivery] = await insertDeliveries(tx, orgId, [
        { webhookId, eventId: id, type: TEST_EVENT_TYPE, body },
      ]);
      if (!delivery) return;
      await recordAttempt(
        tx,
        orgId,
        { deliveryId: delivery.id, attemptId: null, webhookId },
        {
          state: result.delivered ? 'delivered' : 'failed',
          responseStatus: result.status,
          responseBody: result.body,
          durationMs: result.durationMs,
          error: result.error ?? null,
          at: new Date(),
          nextAttemptAt: null,
        },
      );
    });
  } catch (err) {
    // Deleted while the ping was out: there is no log to write it to, and the answer stands.
    if (pgErrorCode(err) !== '23503') throw err;
  }
  return result;
}
