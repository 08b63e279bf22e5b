/** Findings as the API sends them (GET /orgs/:orgId/findings and its detail). */

export const FINDING_SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type FindingSeverity = (typeof FINDING_SEVERITIES)[number];

/** critical 3 … low 0, and -1 for what is not a severity: a finding at least as severe as a bar ranks ≥ it. */
export const severityRank = (severity: string | undefined): number => {
  const i = FINDING_SEVERITIES.indexOf((severity ?? '') as FindingSeverity);
  return i === -1 ? -1 : FINDING_SEVERITIES.length - 1 - i;
};
export const FINDING_STATUSES = ['open', 'triaged', 'false_positive', 'mitigated', 'resolved'] as const;
export type FindingStatus = (typeof FINDING_STATUSES)[number];

export interface FindingView {
  id: string;
  applicationId: string;
  ruleId: string;
  title: string;
  severity: FindingSeverity;
  status: FindingStatus;
  assigneeId: string | null;
  location: { path?: string; startLine?: number; endLine?: number; startColumn?: number } | null;
  fingerprint: string;
  firstSeenAt: string;
  lastSeenAt: string;
  occurrences: number;
}

export interface RemediationView {
  id: string;
  findingId: string;
  summary: string;
  patch: string | null;
  status: 'proposed' | 'approved';
  createdBy: { id: string; name: string } | null;
  createdAt: string;
  approvedBy: string | null;
  approvedAt: string | null;
}

export interface FindingDetailView extends FindingView {
  message: string | null;
  tool: string | null;
  resolvedAt: string | null;
  updatedAt: string;
  application: { id: string; name: string };
  assignee: { id: string; name: string; email: string } | null;
  scans: Array<{ id: string; status: string; modules: string[]; createdAt: string }>;
  commentsCount: number;
  remediations: RemediationView[];
}

export interface CommentView {
  id: string;
  body: string;
  author: { id: string; name: string } | null;
  createdAt: string;
}
