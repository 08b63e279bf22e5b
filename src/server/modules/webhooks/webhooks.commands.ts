import { randomUUID } from 'node:crypto';
import type { EventType } from '../../../contracts/events.ts';
import type { Permission } from '../../../contracts/permissions.ts';
import type { OrgAccess } from '../../platform/access/access.ts';
import { orgAccess } from '../../platform/access/guard.ts';
import { type CommandContext, defineCommand } from '../../platform/command.ts';
import { assertFound, ConflictError, PermissionDeniedError } from '../../platform/errors/app-error.ts';
import { redactUrl } from '../../platform/http/redact.ts';
import { mailLanguage, queueEmail } from '../../platform/mail/queue.ts';
import { listMembersHolding } from '../members/index.ts';
import { findOrg } from '../organizations/index.ts';
import { webhookDisabled } from './webhooks.mail.ts';
import {
  auditHead,
  countWebhooks,
  deleteWebhook,
  insertWebhook,
  lockWebhook,
  updateWebhook,
  type WebhookChanges,
  type WebhookRow,
  type WebhookValues,
} from './webhooks.repository.ts';
import { generateSecret } from './webhooks.signing.ts';

/** Webhooks one organization may have (a receiver that wants more events takes them on one). */
export const WEBHOOKS_PER_ORG = 20;

/** How long a rotated-out secret keeps signing beside the new one. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

/** Where a webhook's secrets are sealed: the context names the row, so a value moved elsewhere does not open. */
export const secretContext = (id: string) => `webhook-secret:${id}`;
export const previousSecretContext = (id: string) => `webhook-previous-secret:${id}`;

/** The event that streams the audit log (a cursor into the org's chain, not a dispatched event). */
export const AUDIT_ENTRY_EVENT = 'audit.entry';

export class WebhookLimitError extends ConflictError {
  constructor() {
    super(
      `An organization may have ${WEBHOOKS_PER_ORG} webhooks. Delete one, or add the events to an existing one.`,
      'webhook_limit',
      { limit: WEBHOOKS_PER_ORG },
    );
  }
}

/**
 * What reading each event's data takes: a webhook hands its receiver everything its events carry,
 * so whoever points one somewhere (creates it, moves its URL, adds events to it) must be able to
 * read that data themselves. `webhooks:manage` alone is no way around `audit:read`.
 */
export const EVENT_READ_PERMISSION: Readonly<Record<EventType, Permission>> = {
  'scan.scheduled': 'applications:read',
  'scan.started': 'scans:read',
  'scan.completed': 'scans:read',
  'finding.created': 'findings:read',
  'finding.resolved': 'findings:read',
  'member.added': 'members:read',
  'member.removed': 'members:read',
  'member.role_changed': 'members:read',
  'quota.threshold_reached': 'quota:read',
  'audit.entry': 'audit:read',
  'audit.checkpoint': 'audit:read',
};

/** Refuses (403) events whose data the actor may not read themselves. */
function assertMayReceive(access: OrgAccess, events: readonly string[], webhookId?: string): void {
  const missing = [
    ...new Set(
      events
        .map((e) => EVENT_READ_PERMISSION[e as EventType])
        .filter((p): p is Permission => p !== undefined && !access.permissions.has(p)),
    ),
  ];
  const [first] = missing;
  if (first === undefined) return;
  throw new PermissionDeniedError(
    first,
    `A webhook sends its receiver the data of its events: taking ${events
      .filter((e) => missing.includes(EVENT_READ_PERMISSION[e as EventType]))
      .join(', ')} requires ${missing.join(', ')}.`,
    missing,
    webhookId ? { webhook: webhookId } : undefined,
  );
}

const target = (w: Pick<WebhookRow, 'id' | 'url' | 'description'>) => ({
  type: 'webhook',
  id: w.id,
  name: (w.description || new URL(w.url).host).slice(0, 200),
});

/** What the audit trail keeps of a webhook (the URL with any secret-looking query value masked). */
const snapshot = (w: WebhookValues) => ({
  url: redactUrl(w.url),
  description: w.description,
  events: w.events,
  enabled: w.enabled,
});

/** The org's audit head when the webhook starts taking `audit.entry`: entries after it are streamed. */
async function cursorFor(ctx: CommandContext, orgId: string, events: readonly string[]) {
  return events.includes(AUDIT_ENTRY_EVENT) ? auditHead(ctx.tx, orgId) : null;
}

export interface CreatedWebhook extends WebhookRow {
  /** The signing secret: in this answer and nowhere else, ever. */
  secret: string;
}

export const createWebhook = defineCommand({
  action: 'webhook.created',
  permission: 'webhooks:manage',
  async run(ctx, input: WebhookValues): Promise<CreatedWebhook> {
    const access = orgAccess(ctx);
    assertMayReceive(access, input.events);
    // Counted under the org's lock (shared: creations of one org queue on the count's rows).
    if ((await countWebhooks(ctx.tx, access.orgId)) >= WEBHOOKS_PER_ORG) throw new WebhookLimitError();
    const id = randomUUID();
    const secret = generateSecret();
    const row = await insertWebhook(ctx.tx, access.orgId, {
      ...input,
      id,
      secret: ctx.services.secrets.seal(secret, secretContext(id)),
      createdBy: access.userId,
      auditCursor: await cursorFor(ctx, access.orgId, input.events),
    });
    ctx.record({ target: target(row), after: snapshot(row) });
    return { ...row, secret };
  },
});

export const editWebhook = defineCommand({
  action: 'webhook.updated',
  permission: 'webhooks:manage',
  async run(ctx, input: { id: string } & Partial<WebhookValues>): Promise<WebhookRow> {
    const access = orgAccess(ctx);
    const { orgId } = access;
    const before = await lockWebhook(ctx.tx, orgId, input.id);
    assertFound(before, 'webhook');
    const changes: WebhookChanges = {};
    if (input.url !== undefined && input.url !== before.url) changes.url = input.url;
    if (input.description !== undefined && input.description !== before.description) {
      changes.description = input.description;
    }
    if (input.events !== undefined && input.events.join() !== before.events.join()) {
      changes.events = input.events;
    }
    if (input.enabled !== undefined && input.enabled !== before.enabled) changes.enabled = input.enabled;
    if (Object.keys(changes).length === 0) {
      ctx.unchanged();
      return before;
    }
    const events = changes.events ?? before.events;
    const enabled = changes.enabled ?? before.enabled;
    // A new URL sends every event somewhere else; new events send more to the same place.
    if (changes.url !== undefined) assertMayReceive(access, events, before.id);
    else if (changes.events) {
      assertMayReceive(
        access,
        changes.events.filter((e) => !before.events.includes(e)),
        before.id,
      );
    }
    // Turned back on: it starts afresh (no failure run, no reason), and the audit stream resumes
    // from now, as every other event does (nothing is sent while a webhook is off).
    if (changes.enabled === true) {
      changes.failingSince = null;
      changes.disabledReason = null;
      changes.disabledAt = null;
    }
    const streams = events.includes(AUDIT_ENTRY_EVENT);
    if (!streams) changes.auditCursor = null;
    else if (before.auditCursor === null || changes.enabled === true) {
      changes.auditCursor = await cursorFor(ctx, orgId, events);
    }
    const after = await updateWebhook(ctx.tx, orgId, before.id, changes);
    ctx.record({
      target: target(after),
      before: snapshot(before),
      after: { ...snapshot({ ...before, ...changes, events, enabled } as WebhookValues) },
    });
    return after;
  },
});

export const removeWebhook = defineCommand({
  action: 'webhook.deleted',
  permission: 'webhooks:manage',
  async run(ctx, input: { id: string }): Promise<void> {
    const { orgId } = orgAccess(ctx);
    const webhook = await lockWebhook(ctx.tx, orgId, input.id);
    assertFound(webhook, 'webhook');
    // Its deliveries and their log go with it; queued attempts find nothing and end.
    await deleteWebhook(ctx.tx, orgId, webhook.id);
    ctx.record({ target: target(webhook), before: snapshot(webhook) });
  },
});

/**
 * A new signing secret, shown once. The one it replaces keeps signing beside it for 24 hours, so
 * receivers can move to the new one without missing a delivery.
 */
export const rotateWebhookSecret = defineCommand({
  action: 'webhook.secret_rotated',
  permission: 'webhooks:manage',
  async run(ctx, input: { id: string }): Promise<{ secret: string; previousSecretExpiresAt: Date }> {
    const { secrets } = ctx.services;
    const { orgId } = orgAccess(ctx);
    const webhook = await lockWebhook(ctx.tx, orgId, input.id);
    assertFound(webhook, 'webhook');
    const current = secrets.open(webhook.secret, secretContext(webhook.id));
    const secret = generateSecret();
    const previousSecretExpiresAt = new Date(Date.now() + ROTATION_OVERLAP_MS);
    await updateWebhook(ctx.tx, orgId, webhook.id, {
      secret: secrets.seal(secret, secretContext(webhook.id)),
      previousSecret: secrets.seal(current, previousSecretContext(webhook.id)),
      previousSecretExpiresAt,
    });
    ctx.record({
      target: target(webhook),
      after: { previousSecretExpiresAt: previousSecretExpiresAt.toISOString() },
    });
    return { secret, previousSecretExpiresAt };
  },
});

export type DisableReason = 'gone' | 'failing';

/**
 * Gatehouse turns a webhook off (actor: the system): its endpoint answered 410 Gone, or it has
 * failed every attempt for days. The org's members who manage webhooks are told by email (an
 * outbox job each, written with the change). Turning it back on is a PATCH `{enabled: true}`.
 */
export const disableWebhook = defineCommand({
  action: 'webhook.disabled',
  async run(
    ctx,
    input: { orgId: string; id: string; reason: DisableReason; detail: string },
  ): Promise<boolean> {
    const webhook = await lockWebhook(ctx.tx, input.orgId, input.id);
    if (!webhook?.enabled) {
      ctx.unchanged();
      return false;
    }
    await updateWebhook(ctx.tx, input.orgId, webhook.id, {
      enabled: false,
      disabledReason: input.reason,
      disabledAt: new Date(),
    });
    const org = await findOrg(ctx.tx, input.orgId);
    const url = redactUrl(webhook.url) ?? '';
    for (const admin of await listMembersHolding(ctx.tx, input.orgId, 'webhooks:manage')) {
      await queueEmail(
        ctx,
        admin.email,
        (language) =>
          webhookDisabled(language, {
            orgName: org?.name ?? '',
            url,
            reason: input.reason,
            detail: input.detail,
          }),
        { language: mailLanguage(admin.locale) },
      );
    }
    ctx.record({
      orgId: input.orgId,
      target: target(webhook),
      before: { enabled: true },
      after: { enabled: false, reason: input.reason, detail: input.detail },
    });
    return true;
  },
});
