import { eq, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { entitlements } from '../../../contracts/plans.ts';
import type { ChainKind } from '../../platform/audit/entry.ts';
import { auditChains, auditEvents, organizations, users } from '../../platform/db/schema.ts';
import { NothingToPrune, pruneAuditLog } from './audit-log.commands.ts';

const RETENTION_INTERVAL_MS = 60 * 60_000;

/**
 * Applies retention to every chain with entries older than its plan keeps (Free 30 days, Scale 90,
 * Enterprise, the installation's own log and purged organizations' logs 2 years or as configured;
 * a user's own account log as configured). `asOf` is the
 * time the job acts at (now, normally). Returns the chains pruned.
 */
export async function runAuditRetention(app: FastifyInstance, asOf = new Date()): Promise<number> {
  const { database, commands, config } = app.gatehouse;
  const chains = await database.db
    .select({
      chainId: auditChains.chainId,
      kind: auditChains.kind,
      plan: organizations.plan,
      orgName: organizations.name,
      userEmail: users.email,
      userName: users.name,
      oldest: sql<Date | string | null>`(SELECT ${auditEvents.occurredAt} FROM ${auditEvents}
        WHERE ${auditEvents.chainId} = ${auditChains.chainId} AND ${auditEvents.seq} = ${auditChains.startSeq})`,
    })
    .from(auditChains)
    .leftJoin(organizations, eq(organizations.id, auditChains.chainId))
    .leftJoin(users, eq(users.id, auditChains.chainId));
  let pruned = 0;
  for (const chain of chains) {
    // A purged organization's log (no organization row left) is the operator's now: it is kept
    // as long as the installation's own.
    const days =
      chain.kind === 'user'
        ? config.audit.accountRetentionDays
        : chain.kind === 'instance' || chain.plan === 'enterprise' || chain.plan === null
          ? config.audit.enterpriseRetentionDays
          : entitlements(chain.plan).auditRetentionDays;
    if (!chain.oldest || new Date(chain.oldest).getTime() >= asOf.getTime() - days * 86_400_000) continue;
    try {
      await commands.run(
        pruneAuditLog,
        { actor: { type: 'system' }, meta: { ip: null, userAgent: null, requestId: null } },
        {
          kind: chain.kind as ChainKind,
          chainId: chain.chainId,
          retentionDays: days,
          asOf,
          // The log's owner in words, for the entry that records the removal.
          named:
            chain.kind === 'user'
              ? { name: chain.userName ?? undefined, email: chain.userEmail ?? undefined }
              : { name: chain.orgName ?? undefined },
        },
      );
      pruned++;
    } catch (err) {
      if (!(err instanceof NothingToPrune))
        app.log.error({ err, chainId: chain.chainId }, 'audit retention failed');
    }
  }
  return pruned;
}

/** Periodic checkpoints of every chain that grew, and hourly retention; both stop with the app. */
export function startAuditJobs(app: FastifyInstance): void {
  const { audit, config } = app.gatehouse;
  const logError = (err: unknown, msg: string) => app.log.error({ err }, msg);
  let running = false;
  const guarded = (name: string, job: () => Promise<unknown>) => () => {
    if (running) return;
    running = true;
    job()
      .catch((err) => logError(err, `${name} failed`))
      .finally(() => {
        running = false;
      });
  };
  const checkpoints = setInterval(
    guarded('audit checkpoints', () => audit.checkpointAll()),
    config.audit.checkpointIntervalMs,
  );
  const retention = setInterval(
    guarded('audit retention', () => runAuditRetention(app)),
    RETENTION_INTERVAL_MS,
  );
  checkpoints.unref();
  retention.unref();
  app.addHook('onClose', async () => {
    clearInterval(checkpoints);
    clearInterval(retention);
  });
}
