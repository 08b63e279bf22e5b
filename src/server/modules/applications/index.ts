import type { FastifyInstance } from 'fastify';
import { Application, applicationsRoutes } from './applications.routes.ts';

export {
  type ApplicationRow,
  findApplication,
  findApplicationByName,
  listApplications,
  lockOrgApplications,
} from './applications.repository.ts';
export { presentApplication } from './applications.routes.ts';

/** The applications (repositories, services) an organization scans. */
export async function applicationsModule(app: FastifyInstance): Promise<void> {
  app.addSchema(Application);
  applicationsRoutes(app);
}
