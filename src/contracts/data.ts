/**
 * An organization's data over time as the API sends it: how long scan results are kept
 * (GET/PATCH /orgs/:orgId/settings/data) and the exports of everything
 * (/orgs/:orgId/exports). The route schemas (src/server/modules/org-data) are the authority;
 * these follow them.
 */

/** Scan retention, in days: from a month to two years, a year unless the organization chooses. */
export const SCAN_RETENTION_MIN_DAYS = 30;
export const SCAN_RETENTION_MAX_DAYS = 730;
export const SCAN_RETENTION_DEFAULT_DAYS = 365;

export interface DataSettingsView {
  scanRetentionDays: number;
  /**
   * The installation's grace period (ORG_PURGE_GRACE_DAYS): a deleted organization's data is kept
   * this long, and may be restored by an operator meanwhile, before it is purged.
   */
  deletedOrgGraceDays: number;
}

export const EXPORT_STATUSES = ['pending', 'running', 'ready', 'failed'] as const;
export type ExportStatus = (typeof EXPORT_STATUSES)[number];

/** How long a finished export can be downloaded before it is deleted. */
export const EXPORT_KEEP_DAYS = 7;

export interface OrgExportView {
  id: string;
  status: ExportStatus;
  createdAt: string;
  /** Percent of the archive written (100 once ready). */
  progress?: number;
  finishedAt?: string;
  /** The zip's size, once ready. */
  sizeBytes?: number;
  /** When a finished export is deleted. */
  expiresAt?: string;
  /** Why it failed, in words. */
  error?: string;
  /** Where to download it, once ready. */
  downloadUrl?: string;
  /** Who asked for it (null for an automation token, or an account since deleted). */
  requestedBy: { id: string; email: string | null } | null;
}
