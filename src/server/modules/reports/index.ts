import type { FastifyInstance } from 'fastify';
import { reportHandler } from './reports.jobs.ts';
import { Report, reportsRoutes } from './reports.routes.ts';

export { buildReport, REPORT_JOB } from './reports.jobs.ts';

/**
 * Reports: compliance reports (SOC 2, ISO 27001, GDPR, HIPAA, PCI DSS) and the executive summary
 * of a period, each built in the background by an outbox job into a PDF kept with the report.
 */
export async function reportsModule(app: FastifyInstance): Promise<void> {
  app.addSchema(Report);
  reportsRoutes(app);
  const { outbox, database, audit } = app.gatehouse;
  outbox.register(reportHandler({ database, audit }, (err, msg) => app.log.warn({ err }, msg)));
}
