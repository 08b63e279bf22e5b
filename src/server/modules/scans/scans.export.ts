import type { Executor } from '../../platform/db/client.ts';
import { allScanFindings, type presentFinding } from './scans.queries.ts';

export const SCAN_EXPORT_TYPES = {
  sarif: 'application/sarif+json',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
} as const;

export type ScanExportFormat = keyof typeof SCAN_EXPORT_TYPES;

type Finding = ReturnType<typeof presentFinding>;

const CSV_COLUMNS: Array<[string, (f: Finding) => unknown]> = [
  ['id', (f) => f.id],
  ['severity', (f) => f.severity],
  ['status', (f) => f.status],
  ['ruleId', (f) => f.ruleId],
  ['title', (f) => f.title],
  ['message', (f) => f.message],
  ['path', (f) => f.location?.path],
  ['startLine', (f) => f.location?.startLine],
  ['endLine', (f) => f.location?.endLine],
  ['startColumn', (f) => f.location?.startColumn],
  ['tool', (f) => f.tool],
  ['fingerprint', (f) => f.fingerprint],
  ['firstSeenAt', (f) => f.firstSeenAt.toISOString()],
  ['lastSeenAt', (f) => f.lastSeenAt.toISOString()],
  ['occurrences', (f) => f.occurrences],
];

/**
 * One CSV cell. Text from a scanned repository (a rule's words, a file path) opens in a
 * spreadsheet: a cell starting with = + - @ (or a tab or carriage return, which some programs skip
 * before reading a formula) is prefixed with a quote so it stays text (OWASP CSV injection).
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The scan's findings as CSV or JSON, produced a batch at a time (memory stays bounded). */
export async function* scanFindingsExport(
  db: Executor,
  orgId: string,
  scanId: string,
  format: 'csv' | 'json',
  scan: object,
): AsyncGenerator<string> {
  if (format === 'csv') {
    yield `${CSV_COLUMNS.map(([name]) => name).join(',')}\r\n`;
    for await (const f of allScanFindings(db, orgId, scanId)) {
      yield `${CSV_COLUMNS.map(([, read]) => csvCell(read(f))).join(',')}\r\n`;
    }
    return;
  }
  yield `{"scan":${JSON.stringify(scan)},"findings":[`;
  let first = true;
  for await (const f of allScanFindings(db, orgId, scanId)) {
    yield `${first ? '' : ','}${JSON.stringify(f)}`;
    first = false;
  }
  yield ']}';
}
