import type { Executor } from '../../platform/db/client.ts';
import { assertFound } from '../../platform/errors/app-error.ts';
import {
  type CommentRow,
  countComments,
  type FindingRow,
  findFinding,
  listFindingScans,
  listRemediations,
  type RemediationRow,
} from './findings.repository.ts';

/** How many of the scans that saw a finding its detail lists. */
const RECENT_SCANS = 10;

export const presentFinding = (f: FindingRow) => ({
  id: f.id,
  applicationId: f.applicationId,
  ruleId: f.ruleId,
  title: f.title,
  severity: f.severity,
  status: f.status,
  assigneeId: f.assigneeId,
  location: f.location,
  fingerprint: f.fingerprint,
  firstSeenAt: f.firstSeenAt,
  lastSeenAt: f.lastSeenAt,
  occurrences: f.occurrences,
});

export const presentComment = (c: CommentRow) => ({
  id: c.id,
  body: c.body,
  author: c.authorId && c.authorName !== null ? { id: c.authorId, name: c.authorName } : null,
  createdAt: c.createdAt,
});

export const presentRemediation = (r: RemediationRow) => ({
  id: r.id,
  findingId: r.findingId,
  summary: r.summary,
  patch: r.patch,
  status: r.status,
  createdBy: r.createdBy && r.createdByName !== null ? { id: r.createdBy, name: r.createdByName } : null,
  createdAt: r.createdAt,
  approvedBy: r.approvedBy,
  approvedAt: r.approvedAt,
});

/** A finding with what its page shows beside it; not found (404) for another org's. */
/** `emails`: the assignee's address is shown (to a caller with members:read), else null. */
export async function findingDetail(db: Executor, orgId: string, id: string, emails: boolean) {
  const finding = await findFinding(db, orgId, id);
  assertFound(finding, 'finding');
  const [scans, commentsCount, remediations] = await Promise.all([
    listFindingScans(db, orgId, id, RECENT_SCANS),
    countComments(db, orgId, id),
    listRemediations(db, orgId, id),
  ]);
  return {
    ...presentFinding(finding),
    message: finding.message,
    tool: finding.tool,
    resolvedAt: finding.resolvedAt,
    updatedAt: finding.updatedAt,
    application: { id: finding.applicationId, name: finding.applicationName },
    assignee:
      finding.assigneeId && finding.assigneeName !== null && finding.assigneeEmail !== null
        ? { id: finding.assigneeId, name: finding.assigneeName, email: emails ? finding.assigneeEmail : null }
        : null,
    scans,
    commentsCount,
    remediations: remediations.map(presentRemediation),
  };
}
