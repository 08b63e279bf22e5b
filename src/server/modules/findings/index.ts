import type { FastifyInstance } from 'fastify';
import { Finding, findingsRoutes, Remediation } from './findings.routes.ts';

export { presentFinding } from './findings.queries.ts';
export {
  FINDING_SEVERITIES,
  FINDING_STATUSES,
  type FindingSeverity,
  type FindingStatus,
  findFinding,
  findingFigures,
  listFindings,
} from './findings.repository.ts';

/** Findings: the list and its search, triage (status, assignee), comments and remediations. */
export async function findingsModule(app: FastifyInstance): Promise<void> {
  app.addSchema(Finding);
  app.addSchema(Remediation);
  findingsRoutes(app);
}
