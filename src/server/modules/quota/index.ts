/** The shared monthly token pool: what scans spend, budgets, departments, boosts and usage. */
export {
  monthOf,
  poolLimit,
  QuotaExhaustedError,
  readModuleCosts,
  SCAN_MODULES,
  type ScanModule,
  type SpendInput,
  type SpendResult,
  spendTokens,
  THRESHOLDS,
} from './quota.spend.ts';
