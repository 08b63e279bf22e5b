import type { Executor } from '../../platform/db/client.ts';
import { ValidationError } from '../../platform/errors/app-error.ts';
import { decodeCursor, toPage } from '../../platform/http/paging.ts';
import { SEVERITIES } from '../policies/index.ts';
import {
  findScan,
  listScanFindings,
  listScans,
  type ScanFilter,
  type ScanFindingRow,
  type ScanRow,
} from './scans.repository.ts';

interface StoredPolicy {
  passed: boolean;
  violations: Array<{
    policyId: string;
    name: string;
    failOn: string;
    findingIds: string[];
    findingCount?: number;
  }>;
}

/** A scan as the API shows it. */
export function presentScan(row: ScanRow, orgId: string, emails: boolean) {
  const policy = row.policy as StoredPolicy;
  return {
    id: row.id,
    applicationId: row.applicationId,
    application: { id: row.applicationId, name: row.applicationName },
    status: row.status,
    modules: row.modules,
    tokens: row.tokens,
    tools: row.tools,
    createdBy: row.createdBy ? { id: row.createdBy, email: emails ? row.createdByEmail : null } : null,
    viaToken: row.tokenId !== null,
    findings: {
      total: row.findingsTotal,
      critical: row.findingsCritical,
      high: row.findingsHigh,
      medium: row.findingsMedium,
      low: row.findingsLow,
    },
    policy: {
      passed: policy.passed,
      violations: policy.violations.map((v) => ({
        ...v,
        findingCount: v.findingCount ?? v.findingIds.length,
      })),
    },
    hasSarif: row.hasSarif,
    findingsPath: `/api/v1/orgs/${orgId}/scans/${row.id}/findings`,
    createdAt: row.createdAt,
    completedAt: row.completedAt,
  };
}

export async function listScansPage(
  db: Executor,
  orgId: string,
  query: { limit?: number; cursor?: string } & ScanFilter,
  emails: boolean,
) {
  const limit = query.limit ?? 50;
  const after = decodeCursor(query.cursor);
  const { cursor: _c, limit: _l, ...filter } = query;
  const rows = await listScans(db, orgId, { ...filter, limit: limit + 1, ...(after ? { after } : {}) });
  return toPage(rows, limit, (row) => presentScan(row, orgId, emails));
}

/** `emails`: the creator's address is shown (to a caller with members:read). */
export async function readScan(db: Executor, orgId: string, id: string, emails = false) {
  const row = await findScan(db, orgId, id);
  return row ? presentScan(row, orgId, emails) : undefined;
}

const rankOf = (severity: string) => SEVERITIES.indexOf(severity as (typeof SEVERITIES)[number]);

/** A cursor over (severity rank, id): the order a scan's findings are listed in. */
function encodeFindingCursor(row: ScanFindingRow): string {
  return Buffer.from(JSON.stringify([rankOf(row.severity), row.id])).toString('base64url');
}

function decodeFindingCursor(raw: string | undefined): { rank: number; id: string } | undefined {
  if (raw === undefined) return undefined;
  try {
    const value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      Number.isInteger(value[0]) &&
      value[0] >= 0 &&
      value[0] < SEVERITIES.length &&
      typeof value[1] === 'string' &&
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value[1])
    ) {
      return { rank: value[0], id: value[1] };
    }
  } catch {
    // not base64url JSON
  }
  throw new ValidationError([
    { field: '/querystring/cursor', message: 'is not a cursor this list produced' },
  ]);
}

export const presentFinding = (r: ScanFindingRow) => ({
  id: r.id,
  applicationId: r.applicationId,
  ruleId: r.ruleId,
  title: r.title,
  message: r.message,
  severity: r.severity,
  status: r.status,
  assigneeId: r.assigneeId,
  location: r.location as { path: string; startLine?: number; endLine?: number; startColumn?: number } | null,
  tool: r.tool,
  fingerprint: r.fingerprint,
  firstSeenAt: r.firstSeenAt,
  lastSeenAt: r.lastSeenAt,
  occurrences: r.occurrences,
});

export async function listScanFindingsPage(
  db: Executor,
  orgId: string,
  scanId: string,
  query: { limit?: number; cursor?: string; severity?: string },
) {
  const limit = query.limit ?? 50;
  const after = decodeFindingCursor(query.cursor);
  const rows = await listScanFindings(db, orgId, scanId, {
    limit: limit + 1,
    ...(after ? { after } : {}),
    ...(query.severity ? { severity: query.severity } : {}),
  });
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  return {
    items: items.map(presentFinding),
    nextCursor: more ? encodeFindingCursor(items[items.length - 1]!) : null,
  };
}

/** Every finding a scan saw, a batch at a time (exports). */
export async function* allScanFindings(db: Executor, orgId: string, scanId: string) {
  let after: { rank: number; id: string } | undefined;
  for (;;) {
    const rows = await listScanFindings(db, orgId, scanId, { limit: 5_000, ...(after ? { after } : {}) });
    for (const row of rows) yield presentFinding(row);
    if (rows.length < 5_000) return;
    const last = rows[rows.length - 1]!;
    after = { rank: rankOf(last.severity), id: last.id };
  }
}
