import type { FastifyInstance } from 'fastify';
import { Scan, ScanFinding, scansRoutes } from './scans.routes.ts';

export { listScansPage } from './scans.queries.ts';
export { deleteScanResultsBefore, findScan, type ScanRow } from './scans.repository.ts';

/** Scans of applications: SARIF uploads, their findings, the tokens they cost and their policy result. */
export async function scansModule(app: FastifyInstance): Promise<void> {
  app.addSchema(Scan);
  app.addSchema(ScanFinding);
  scansRoutes(app);
}
