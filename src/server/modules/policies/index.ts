/** Security policies: which scans fail, and why. */
export {
  evaluatePolicies,
  type PolicyResult,
  type PolicyViolation,
  SEVERITIES,
  type Severity,
  severityRank,
} from './policies.evaluate.ts';
