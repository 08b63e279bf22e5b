import { and, eq } from 'drizzle-orm';
import type { Database, Db } from '../../platform/db/client.ts';
import { webhooks } from '../../platform/db/schema.ts';
import { serializeError } from '../../platform/log/serialize-error.ts';
import { type BatchSubscriber, enqueue, type PlatformEvent } from '../../platform/outbox/index.ts';
import { readOrgEntriesAfter, toOcsf } from '../audit-log/index.ts';
import { AUDIT_ENTRY_EVENT } from './webhooks.commands.ts';
import { queueDeliveries } from './webhooks.delivery.ts';
import {
  auditHead,
  lockWebhook,
  purgeDeliveries,
  subscribedWebhooks,
  webhooksBehindAudit,
} from './webhooks.repository.ts';

/** Deliveries written per transaction when an event batch fans out. */
const QUEUE_CHUNK = 500;

/**
 * The webhooks' event subscriber: each committed event becomes one delivery per enabled webhook
 * of its org that takes its type. A batch (a scan's new findings) costs one read of the org's
 * webhooks and a few inserts, and nothing at all for an org with no webhook taking those types.
 * Idempotent: a dispatch that runs again finds its deliveries already written.
 */
export const webhookSubscriber: BatchSubscriber = {
  async batch(events: readonly PlatformEvent[], db: Db): Promise<void> {
    const byOrg = new Map<string, PlatformEvent[]>();
    for (const event of events) {
      // Audit entries reach webhooks through the audit stream, never as dispatched events.
      if (event.type === AUDIT_ENTRY_EVENT) continue;
      const list = byOrg.get(event.orgId);
      if (list) list.push(event);
      else byOrg.set(event.orgId, [event]);
    }
    for (const [orgId, orgEvents] of byOrg) {
      const types = [...new Set(orgEvents.map((e) => e.type))];
      const hooks = await subscribedWebhooks(db, orgId, types);
      if (hooks.length === 0) continue;
      const items = orgEvents.flatMap((event) =>
        hooks.filter((h) => h.events.includes(event.type)).map((h) => ({ webhookId: h.id, event })),
      );
      for (let start = 0; start < items.length; start += QUEUE_CHUNK) {
        const chunk = items.slice(start, start + QUEUE_CHUNK);
        await db.transaction((tx) => queueDeliveries(tx, orgId, chunk, (job) => enqueue(tx, job)));
      }
    }
  },
};

/** Audit entries handed over per webhook per transaction. */
const STREAM_BATCH = 200;
/** Batches per webhook per sweep (a busy org's backlog is caught up over a few sweeps). */
const STREAM_ROUNDS = 10;
/** The delivery log keeps 30 days. */
const LOG_RETENTION_MS = 30 * 86_400_000;
const PURGE_EVERY_MS = 3_600_000;

export interface AuditStreamLog {
  error(obj: object, msg: string): void;
}

/**
 * `audit.entry` streaming. Each webhook that takes it keeps a cursor: the last entry of its org's
 * audit chain handed over. A sweep (every WEBHOOK_AUDIT_STREAM_INTERVAL_MS on every instance)
 * reads, in one indexed query, the webhooks whose org's chain head is past their cursor, and for
 * each, with its row locked (so instances take turns), turns the entries after the cursor into
 * deliveries (in OCSF form, `toOcsf` of the audit log, in order) and moves the cursor, in one transaction. An audited
 * command costs nothing more for it, in any org: the stream reads what the chain already holds.
 * The sweep also forgets deliveries older than 30 days.
 */
export class AuditStream {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastPurge = 0;

  constructor(
    private readonly services: { database: Database; outbox: { wake(): void } },
    private readonly intervalMs: number,
    private readonly log: AuditStreamLog,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sweep()
        .then(() => undefined)
        .catch((err) => this.log.error({ err: serializeError(err) }, 'webhooks: the audit stream failed'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass: every webhook behind its org's audit chain is brought up to it (bounded). */
  async sweep(): Promise<number> {
    const db = this.services.database.db;
    let queued = 0;
    for (const hook of await webhooksBehindAudit(db, 500)) {
      for (let round = 0; round < STREAM_ROUNDS; round++) {
        const n = await this.streamOne(hook.orgId, hook.id);
        queued += n;
        if (n < STREAM_BATCH) break;
      }
    }
    if (queued > 0) this.services.outbox.wake();
    if (Date.now() - this.lastPurge > PURGE_EVERY_MS) {
      this.lastPurge = Date.now();
      await purgeDeliveries(db, new Date(Date.now() - LOG_RETENTION_MS));
    }
    return queued;
  }

  /** Hands over the next entries after one webhook's cursor; returns how many. */
  private async streamOne(orgId: string, webhookId: string): Promise<number> {
    return this.services.database.db.transaction(async (tx) => {
      const hook = await lockWebhook(tx, orgId, webhookId);
      if (!hook?.enabled || hook.auditCursor === null) return 0;
      const entries = await readOrgEntriesAfter(tx, orgId, hook.auditCursor, STREAM_BATCH);
      // Nothing after the cursor although the head is past it: entries retention removed.
      const toSeq = entries.at(-1)?.seq ?? (await auditHead(tx, orgId));
      if (toSeq <= hook.auditCursor) return 0;
      await queueDeliveries(
        tx,
        orgId,
        entries.map((entry) => ({
          webhookId,
          event: {
            id: `evt_${entry.id.replaceAll('-', '')}`,
            type: AUDIT_ENTRY_EVENT,
            timestamp: entry.occurredAt,
            data: toOcsf(entry),
          },
        })),
        (job) => enqueue(tx, job),
      );
      // Not through updateWebhook: the cursor is bookkeeping, not an edit (updated_at stays).
      await tx
        .update(webhooks)
        .set({ auditCursor: toSeq })
        .where(and(eq(webhooks.orgId, orgId), eq(webhooks.id, webhookId)));
      return entries.length;
    });
  }
}
