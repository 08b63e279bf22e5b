/**
 * Applications and scans as the API sends them (GET /orgs/:orgId/applications, /scans and their
 * details), and the scan modules with what an upload may weigh. The route schemas
 * (src/server/modules/applications, scans) are the authority; these follow them.
 */

/** The scan modules, in catalog order; each costs tokens per scan (GET /plans → moduleCosts). */
export const SCAN_MODULES = ['dependencies', 'sast', 'secrets', 'api'] as const;
export type ScanModule = (typeof SCAN_MODULES)[number];

export const SCAN_STATUSES = ['pending', 'completed', 'failed'] as const;
export type ScanStatus = (typeof SCAN_STATUSES)[number];

/** What a scan upload may send on the wire (compressed or not): 10 MiB. */
export const SCAN_UPLOAD_LIMIT = 10 * 1024 * 1024;

/** The SARIF log as a whole request body, with `?applicationId=&modules=` in the query. */
export const SARIF_MEDIA_TYPE = 'application/sarif+json';

export interface ApplicationView {
  id: string;
  name: string;
  repositoryUrl: string | null;
  description: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface SeverityCounts {
  total: number;
  critical: number;
  high: number;
  medium: number;
  low: number;
}

export type CountedSeverity = Exclude<keyof SeverityCounts, 'total'>;

export interface PolicyOutcome {
  passed: boolean;
  violations: Array<{
    policyId: string;
    name: string;
    failOn: CountedSeverity;
    /** The first 100 findings that fail the policy. */
    findingIds: string[];
    findingCount: number;
  }>;
}

/** POST /orgs/:orgId/scans → 201. */
export interface ScanCreated {
  id: string;
  applicationId: string;
  status: 'pending' | 'completed';
  modules: ScanModule[];
  tokens: number;
  findings: SeverityCounts;
  policy: PolicyOutcome;
  createdAt: string;
}

export interface ScanView {
  id: string;
  applicationId: string;
  application: { id: string; name: string };
  status: ScanStatus;
  modules: string[];
  tokens: number;
  /** The SARIF tools that reported its results. */
  tools: string[];
  createdBy: { id: string; email: string | null } | null;
  /** Created through an API token. */
  viaToken: boolean;
  findings: SeverityCounts;
  policy: PolicyOutcome;
  /** Its SARIF log is stored (export?format=sarif). */
  hasSarif: boolean;
  findingsPath: string;
  createdAt: string;
  completedAt: string | null;
}

/** One finding a scan saw (GET /orgs/:orgId/scans/:id/findings). */
export interface ScanFindingView {
  id: string;
  applicationId: string;
  ruleId: string;
  title: string;
  message: string | null;
  severity: CountedSeverity;
  status: string;
  assigneeId: string | null;
  location: { path: string; startLine?: number; endLine?: number; startColumn?: number } | null;
  tool: string | null;
  fingerprint: string;
  firstSeenAt: string;
  lastSeenAt: string;
  occurrences: number;
}

/** GET /plans: the catalog's part the console reads, the tokens each module costs per scan. */
export interface PlanCatalogView {
  moduleCosts: Record<ScanModule, number>;
}
