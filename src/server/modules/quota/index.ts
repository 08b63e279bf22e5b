import type { FastifyInstance } from 'fastify';
import { Department, quotaRoutes } from './quota.routes.ts';

export { planCatalog } from './quota.queries.ts';
/** The shared monthly token pool: what scans spend, budgets, departments, boosts and usage. */
export { listBoostsGranted, setModuleCost } from './quota.repository.ts';
export {
  monthOf,
  poolLimit,
  poolUsed,
  QuotaExhaustedError,
  readModuleCosts,
  SCAN_MODULES,
  type ScanModule,
  type SpendInput,
  type SpendResult,
  spendTokens,
  THRESHOLDS,
} from './quota.spend.ts';

export async function quotaModule(app: FastifyInstance): Promise<void> {
  app.addSchema(Department);
  quotaRoutes(app);
}
