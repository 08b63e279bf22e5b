import type { FastifyInstance } from 'fastify';
import { startAuditJobs } from './audit-log.jobs.ts';
import { AuditCheckpoint, AuditEvent, auditLogRoutes } from './audit-log.routes.ts';

export { type ExportPlan, planAuditExport } from './audit-log.commands.ts';
export { exportChunks } from './audit-log.export.ts';
export { runAuditRetention } from './audit-log.jobs.ts';
export { OCSF_VERSION, ocsfClassOf, toOcsf } from './audit-log.ocsf.ts';
export {
  auditRangeFigures,
  findCheckpointCovering,
  listAuditEntries,
  listCheckpoints,
  listOrgEntriesInRange,
  listPublishedKeys,
  MAX_ENTRIES_AFTER,
  type PublishedKey,
  readOrgEntriesAfter,
} from './audit-log.queries.ts';

/** The audit log: search, export, verification, signed checkpoints, retention. */
export async function auditLogModule(app: FastifyInstance): Promise<void> {
  app.addSchema(AuditEvent);
  app.addSchema(AuditCheckpoint);
  auditLogRoutes(app);
  startAuditJobs(app);
}
