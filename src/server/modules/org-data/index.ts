import type { FastifyInstance } from 'fastify';
import { exportHandler } from './org-data.export.ts';
import { scanRetentionHandler, startOrgDataJobs } from './org-data.jobs.ts';
import { OrgExport, orgDataRoutes } from './org-data.routes.ts';

export { buildExport, ORG_EXPORT_JOB } from './org-data.export.ts';
export {
  applyScanRetention,
  purgeDeletedOrganizations,
  SCAN_RETENTION_JOB,
  scheduleScanRetention,
} from './org-data.jobs.ts';

/**
 * An organization's data over time: how long its scan results are kept (Settings → Data &
 * Privacy, applied by a daily job), the export of everything it holds (a zip built in the
 * background), and the purge of organizations deleted longer ago than the grace period.
 */
export async function orgDataModule(app: FastifyInstance): Promise<void> {
  app.addSchema(OrgExport);
  orgDataRoutes(app);
  const { outbox, database, audit } = app.gatehouse;
  outbox.register(exportHandler({ database, audit }, (err, msg) => app.log.warn({ err }, msg)));
  outbox.register(scanRetentionHandler(app));
  startOrgDataJobs(app);
}
