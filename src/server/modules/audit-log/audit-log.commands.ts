import { and, eq, lte, sql } from 'drizzle-orm';
import { entitlements } from '../../../contracts/plans.ts';
import type { ChainKind } from '../../platform/audit/entry.ts';
import type { Checkpoint } from '../../platform/audit/keys.ts';
import { type AuditLog, PRUNED_ACTION } from '../../platform/audit/log.ts';
import { defineCommand } from '../../platform/command.ts';
import type { Tx } from '../../platform/db/client.ts';
import { auditChains, auditCheckpoints, auditEvents } from '../../platform/db/schema.ts';
import { ConflictError, PlanLimitError } from '../../platform/errors/app-error.ts';

/** `ocsf`: one OCSF 1.3.0 event per line (NDJSON), for SIEMs; `jsonl` is the verifiable form. */
export type ExportFormat = 'csv' | 'json' | 'jsonl' | 'ocsf';

export interface ExportPlan {
  fromSeq: number;
  toSeq: number;
  /** Signed statement of the entry before the first one exported (absent from the chain's start). */
  anchor: Checkpoint | undefined;
  /** Signed statement of the last entry exported. */
  end: Checkpoint | undefined;
}

const unverifiable = () =>
  new ConflictError(
    'The audit log fails verification, so nothing new is signed. GET audit-events/verify names the first altered entry.',
    'audit_verification_failed',
  );

/**
 * The range of an org's log an export covers, fixed now (the head as of this transaction, within
 * `from`/`to` when given), with signed checkpoints made for both its ends so the file can be
 * verified offline on its own: the audit export's, and the org data export's (its audit log).
 */
export async function planAuditExport(
  tx: Tx,
  audit: AuditLog,
  orgId: string,
  range: { from?: Date; to?: Date } = {},
): Promise<ExportPlan> {
  const chain = { kind: 'org' as const, id: orgId };
  const head = await audit.chainHead(tx, orgId);
  let fromSeq = head?.startSeq ?? 1;
  let toSeq = head?.headSeq ?? 0;
  if (range.from)
    fromSeq = Math.max(fromSeq, (await audit.seqAt(tx, orgId, { from: range.from })) ?? toSeq + 1);
  if (range.to) toSeq = Math.min(toSeq, (await audit.seqAt(tx, orgId, { before: range.to })) ?? 0);
  let anchor: Checkpoint | undefined;
  let end: Checkpoint | undefined;
  if (fromSeq <= toSeq) {
    if (fromSeq > 1) {
      anchor = await audit.ensureCheckpoint(tx, chain, fromSeq - 1);
      if (!anchor) throw unverifiable();
    }
    end = await audit.ensureCheckpoint(tx, chain, toSeq);
    if (!end) throw unverifiable();
  }
  return { fromSeq, toSeq, anchor, end };
}

/** An export, recorded before it is streamed (see planAuditExport). */
export const exportAuditLog = defineCommand({
  action: 'audit.exported',
  permission: 'audit:export',
  async run(ctx, input: { format: ExportFormat; from?: Date; to?: Date }): Promise<ExportPlan> {
    const access = ctx.access!;
    if (!entitlements(access.plan).auditExport) {
      throw new PlanLimitError('Audit log export is not part of the Free plan.');
    }
    const plan = await planAuditExport(ctx.tx, ctx.services.audit, access.orgId, {
      ...(input.from ? { from: input.from } : {}),
      ...(input.to ? { to: input.to } : {}),
    });
    const { fromSeq, toSeq } = plan;
    ctx.record({
      target: { type: 'audit_log', id: access.orgId, name: access.orgName },
      after: {
        format: input.format,
        from: input.from?.toISOString() ?? null,
        to: input.to?.toISOString() ?? null,
        fromSeq: fromSeq <= toSeq ? fromSeq : null,
        toSeq: fromSeq <= toSeq ? toSeq : null,
      },
    });
    return plan;
  },
});

/** A signed checkpoint of the log's head, on demand. */
export const createAuditCheckpoint = defineCommand({
  action: 'audit.checkpoint_created',
  permission: 'audit:export',
  async run(ctx, _input: Record<string, never>): Promise<Checkpoint> {
    const orgId = ctx.access!.orgId;
    const head = await ctx.services.audit.chainHead(ctx.tx, orgId);
    if (!head || head.headSeq < head.startSeq) {
      throw new ConflictError('The audit log has no entries to sign yet.');
    }
    const cp = await ctx.services.audit.ensureCheckpoint(ctx.tx, { kind: 'org', id: orgId }, head.headSeq);
    if (!cp) throw unverifiable();
    ctx.record({
      target: { type: 'audit_checkpoint', id: String(cp.seq) },
      after: { seq: cp.seq, hash: cp.hash, keyId: cp.keyId, signedAt: cp.signedAt },
    });
    return cp;
  },
});

/** Nothing old enough to remove (or another instance is pruning this chain right now). */
export class NothingToPrune extends Error {}

/**
 * Retention: removes a chain's entries older than the cutoff. First a signed checkpoint of the
 * last entry removed (made only if the chain verifies), then the chain's start moves past it —
 * the database lets retention delete only below that start — and the entries go. What remains
 * still verifies, anchored on that checkpoint.
 */
export const pruneAuditLog = defineCommand({
  action: PRUNED_ACTION,
  async run(
    ctx,
    input: {
      kind: ChainKind;
      chainId: string;
      retentionDays: number;
      asOf: Date;
      /** The organization's name, or the user's name and email. */
      named?: { name?: string; email?: string };
    },
  ) {
    const [head] = await ctx.tx
      .select()
      .from(auditChains)
      .where(eq(auditChains.chainId, input.chainId))
      .for('update', { skipLocked: true });
    if (!head) throw new NothingToPrune();
    const cutoff = new Date(input.asOf.getTime() - input.retentionDays * 86_400_000);
    const last = await ctx.services.audit.seqAt(ctx.tx, input.chainId, { before: cutoff });
    if (last === undefined || last < head.startSeq) throw new NothingToPrune();
    const chain = { kind: input.kind, id: input.chainId };
    const anchor = await ctx.services.audit.ensureCheckpoint(ctx.tx, chain, last);
    if (!anchor) throw new Error(`audit chain ${input.chainId} fails verification; retention left it whole`);
    // The database lets only a transaction that declares itself retention move the start and
    // delete below it.
    await ctx.tx.execute(sql`SELECT set_config('gatehouse.audit_prune', 'on', true)`);
    await ctx.tx
      .update(auditChains)
      .set({ startSeq: last + 1 })
      .where(eq(auditChains.chainId, input.chainId));
    await ctx.tx
      .delete(auditEvents)
      .where(and(eq(auditEvents.chainId, input.chainId), lte(auditEvents.seq, last)));
    // Older checkpoints name entries that are gone; the anchor stays.
    await ctx.tx
      .delete(auditCheckpoints)
      .where(and(eq(auditCheckpoints.chainId, input.chainId), sql`${auditCheckpoints.seq} < ${last}`));
    await ctx.tx.execute(sql`SELECT set_config('gatehouse.audit_prune', 'off', true)`);
    ctx.record({
      orgId: input.kind === 'org' ? input.chainId : null,
      actor: { type: 'system' },
      target: { type: input.kind === 'org' ? 'organization' : input.kind, id: input.chainId, ...input.named },
      after: {
        removedFromSeq: head.startSeq,
        removedThroughSeq: last,
        retentionDays: input.retentionDays,
        cutoff: cutoff.toISOString(),
        anchor: { seq: anchor.seq, hash: anchor.hash, keyId: anchor.keyId },
      },
    });
    return { removedThroughSeq: last };
  },
});
