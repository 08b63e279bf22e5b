import type { FastifyInstance } from 'fastify';
import { Application, applicationsRoutes } from './applications.routes.ts';
import { startScanSchedule } from './applications.schedule.ts';

export {
  type ApplicationRow,
  findApplication,
  findApplicationByName,
  listApplications,
  lockOrgApplications,
} from './applications.repository.ts';
export { presentApplication } from './applications.routes.ts';
export { runScanSchedule } from './applications.schedule.ts';

/** The applications (repositories, services) an organization scans, and when they are due for one. */
export async function applicationsModule(app: FastifyInstance): Promise<void> {
  app.addSchema(Application);
  applicationsRoutes(app);
  startScanSchedule(app);
}
