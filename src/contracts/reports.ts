/**
 * Compliance reports and executive summaries as the API sends them
 * (/orgs/:orgId/compliance-reports, /orgs/:orgId/reports/executive). The route schemas
 * (src/server/modules/reports) are the authority; these follow them.
 */
import type { Plan } from './plans.ts';

export const COMPLIANCE_FRAMEWORKS = ['soc2', 'iso27001', 'gdpr', 'hipaa', 'pci_dss'] as const;
export type ComplianceFramework = (typeof COMPLIANCE_FRAMEWORKS)[number];

/**
 * The plan each framework needs at least: every framework needs compliance reports
 * (`entitlements(plan).complianceReports`); HIPAA and PCI DSS need Enterprise as well.
 */
export const FRAMEWORK_PLAN: Record<ComplianceFramework, Exclude<Plan, 'free'>> = {
  soc2: 'pro',
  iso27001: 'pro',
  gdpr: 'pro',
  hipaa: 'enterprise',
  pci_dss: 'enterprise',
};

/** How the documents name each framework. */
export const FRAMEWORK_NAMES: Record<ComplianceFramework, string> = {
  soc2: 'SOC 2 Type II',
  iso27001: 'ISO/IEC 27001:2022',
  gdpr: 'GDPR',
  hipaa: 'HIPAA Security Rule',
  pci_dss: 'PCI DSS v4.0',
};

export const REPORT_STATUSES = ['pending', 'running', 'ready', 'failed'] as const;
export type ReportStatus = (typeof REPORT_STATUSES)[number];

/** The longest period one report covers, in days (two years). */
export const REPORT_MAX_DAYS = 731;

export interface ReportView {
  id: string;
  kind: 'compliance' | 'executive';
  framework?: ComplianceFramework;
  from: string;
  to: string;
  status: ReportStatus;
  /** Percent built (0 while it waits, 100 once ready). */
  progress: number;
  createdAt: string;
  finishedAt?: string;
  sizeBytes?: number;
  sha256?: string;
  error?: string;
  /** The figures the document states, once ready. */
  summary?: Record<string, unknown>;
  downloadUrl?: string;
  requestedBy: { id: string; email: string | null } | null;
}
