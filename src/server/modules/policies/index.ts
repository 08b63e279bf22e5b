import type { FastifyInstance } from 'fastify';
import { Policy, policiesRoutes } from './policies.routes.ts';

/** Security policies: which scans fail, and why. */
export {
  evaluatePolicies,
  type PolicyResult,
  type PolicyViolation,
  SEVERITIES,
  type Severity,
  severityRank,
} from './policies.evaluate.ts';

export { listPolicies } from './policies.repository.ts';

/** Policies: each organization's rules for which scans fail (CRUD; evaluation is evaluatePolicies). */
export async function policiesModule(app: FastifyInstance): Promise<void> {
  app.addSchema(Policy);
  policiesRoutes(app);
}
