import type { FastifyInstance } from 'fastify';
import type { ScanScheduledData } from '../../../contracts/events.ts';
import type { Executor } from '../../platform/db/client.ts';
import { emitEvent, emitEvents } from '../../platform/outbox/index.ts';
import {
  claimScheduleSlot,
  findPlatformSettings,
  listScheduledOrgs,
  scanOptions,
  scheduleSlots,
} from '../organizations/index.ts';
import { listAllApplications } from './applications.repository.ts';

/** How often each instance looks for schedules that fell due. */
export const SCHEDULE_INTERVAL_MS = 60_000;

/**
 * Emits `scan.scheduled` for every application of each org whose schedule fell due since it was
 * last emitted, as of `now`. Each slot is taken by moving the org's `scans_scheduled_at` forward
 * in the transaction that writes the events, so with several instances (or a run repeated) each
 * slot is emitted once; a slot missed while every instance was down is emitted on the next run,
 * once, however many passed. Returns the organizations emitted for.
 */
export async function runScanSchedule(app: FastifyInstance, now = new Date()): Promise<number> {
  const { db } = app.gatehouse.database;
  let emitted = 0;
  for (const org of await listScheduledOrgs(db)) {
    const { last } = scheduleSlots(org, now);
    if (org.scansScheduledAt && last.getTime() <= org.scansScheduledAt.getTime()) continue;
    try {
      const done = await db.transaction(async (tx) => {
        if (!(await claimScheduleSlot(tx, org.id, last))) return false;
        const settings = await findPlatformSettings(tx, org.id);
        if (!settings) return false;
        const options = scanOptions(settings);
        const apps = await listAllApplications(tx, org.id);
        await emitEvents(
          tx,
          apps.map((a) => ({
            type: 'scan.scheduled' as const,
            orgId: org.id,
            data: {
              orgId: org.id,
              application: a,
              reason: 'schedule',
              schedule: { frequency: org.scanSchedule, slot: last.toISOString() },
              options,
            } satisfies ScanScheduledData,
            at: now,
          })),
        );
        return true;
      });
      if (done) emitted++;
    } catch (err) {
      app.log.error({ err, orgId: org.id }, 'scheduled scans failed');
    }
  }
  return emitted;
}

/** With autonomous scanning on, a new application is due for a scan at once (in its creation's transaction). */
export async function emitScanOnCreation(
  tx: Executor,
  orgId: string,
  application: { id: string; name: string; repositoryUrl: string | null },
): Promise<void> {
  const settings = await findPlatformSettings(tx, orgId);
  if (!settings?.autonomousScanning) return;
  await emitEvent(tx, {
    type: 'scan.scheduled',
    orgId,
    data: {
      orgId,
      application: { id: application.id, name: application.name, repositoryUrl: application.repositoryUrl },
      reason: 'application_created',
      schedule: null,
      options: scanOptions(settings),
    } satisfies ScanScheduledData,
  });
}

/** Looks for due schedules every minute on every instance; stops with the app. */
export function startScanSchedule(app: FastifyInstance): void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    runScanSchedule(app)
      .catch((err) => app.log.error({ err }, 'scan schedule failed'))
      .finally(() => {
        running = false;
      });
  }, SCHEDULE_INTERVAL_MS);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
}
