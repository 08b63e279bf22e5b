import type { FastifyInstance } from 'fastify';
import type { Invocation } from '../../platform/command.ts';
import { enqueue, type JobHandler, OUTBOX_WAKE_TOPIC } from '../../platform/outbox/index.ts';
import { listDeletedOrgs, listOrgRetention } from '../organizations/index.ts';
import { applyScanRetentionToOrg, purgeDeletedOrganization } from './org-data.commands.ts';
import { purgeExpiredExports } from './org-data.repository.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

const SYSTEM: Invocation = {
  actor: { type: 'system' },
  meta: { ip: null, userAgent: null, requestId: null },
};

export const SCAN_RETENTION_JOB = 'scans.retention';

/** Jobs written per transaction while scheduling. */
const SCHEDULE_BATCH = 500;

/**
 * Scan retention for one organization, now or as of `asOf` (tests pass a time instead of moving
 * the clock). What the daily job runs; see applyScanRetentionToOrg.
 */
export function applyScanRetention(app: FastifyInstance, orgId: string, asOf = new Date()) {
  return app.gatehouse.commands.run(applyScanRetentionToOrg, SYSTEM, { orgId, asOf });
}

/** The UTC day of a time, `YYYY-MM-DD`: what makes the retention job once per organization per day. */
const dayOf = (time: Date) => time.toISOString().slice(0, 10);

/**
 * Writes the day's scan retention job of every live organization (the day of `asOf`, UTC), each
 * under the key `scans.retention:<org>:<day>`: however many instances schedule, and however often,
 * each organization's retention is applied once a day, by whichever worker takes its job. Returns
 * the jobs written (those already there are not written again).
 */
export async function scheduleScanRetention(app: FastifyInstance, asOf = new Date()): Promise<number> {
  const { database, outbox, bus } = app.gatehouse;
  const day = dayOf(asOf);
  const orgs = await listOrgRetention(database.db);
  let written = 0;
  for (let start = 0; start < orgs.length; start += SCHEDULE_BATCH) {
    await database.db.transaction(async (tx) => {
      for (const org of orgs.slice(start, start + SCHEDULE_BATCH)) {
        const id = await enqueue(tx, {
          kind: SCAN_RETENTION_JOB,
          payload: { orgId: org.id, day },
          orgId: org.id,
          dedupeKey: `${SCAN_RETENTION_JOB}:${org.id}:${day}`,
        });
        if (id) written++;
      }
    });
  }
  if (written > 0) {
    outbox.wake();
    bus.wake(OUTBOX_WAKE_TOPIC);
  }
  return written;
}

/** Carries out one organization's daily retention job. */
export function scanRetentionHandler(app: FastifyInstance): JobHandler<{ orgId: string; day: string }> {
  return {
    kind: SCAN_RETENTION_JOB,
    // A backlog of years of scans is deleted in one transaction.
    leaseSeconds: 10 * 60,
    run: async (payload) => {
      await applyScanRetention(app, payload.orgId);
    },
  };
}

/**
 * Purges every organization deleted longer ago than the grace period (ORG_PURGE_GRACE_DAYS) as of
 * `asOf`, each in its own transaction. Safe on several instances at once: an organization another
 * holds is skipped, and one already purged is not found. Returns how many this call purged.
 */
export async function purgeDeletedOrganizations(app: FastifyInstance, asOf = new Date()): Promise<number> {
  const { database, commands, config } = app.gatehouse;
  const graceDays = config.organizations.purgeGraceDays;
  const before = new Date(asOf.getTime() - graceDays * DAY_MS);
  let purged = 0;
  for (const org of await listDeletedOrgs(database.db, before)) {
    try {
      if (await commands.run(purgeDeletedOrganization, SYSTEM, { orgId: org.id, before, graceDays }))
        purged++;
    } catch (err) {
      app.log.error({ err, orgId: org.id }, 'purging a deleted organization failed');
    }
  }
  return purged;
}

/**
 * On every instance: scan retention scheduled once a day (at start, then whenever the day has
 * changed at the hourly check), deleted organizations purged and expired exports deleted every hour.
 * All of it is idempotent, so instances need not agree on who does it.
 */
export function startOrgDataJobs(app: FastifyInstance): void {
  const log = (err: unknown, msg: string) => app.log.error({ err }, msg);
  let scheduledDay: string | undefined;
  let running = false;
  const hourly = async () => {
    const now = new Date();
    if (scheduledDay !== dayOf(now)) {
      await scheduleScanRetention(app, now);
      scheduledDay = dayOf(now);
    }
    await purgeDeletedOrganizations(app, now);
    await purgeExpiredExports(app.gatehouse.database.db);
  };
  const tick = () => {
    if (running) return;
    running = true;
    hourly()
      .catch((err) => log(err, 'data lifecycle housekeeping failed'))
      .finally(() => {
        running = false;
      });
  };
  // A minute after start (not during it), then every hour.
  const first = setTimeout(tick, 60_000);
  const every = setInterval(tick, HOUR_MS);
  first.unref();
  every.unref();
  app.addHook('onClose', async () => {
    clearTimeout(first);
    clearInterval(every);
  });
}
