import type { AuditEntry } from '../../platform/audit/entry.ts';
import { entryLine } from '../../platform/audit/entry.ts';
import type { Checkpoint } from '../../platform/audit/keys.ts';
import { type AuditLog, entryFromRow } from '../../platform/audit/log.ts';
import type { Executor } from '../../platform/db/client.ts';
import type { ExportFormat, ExportPlan } from './audit-log.commands.ts';
import { toOcsf } from './audit-log.ocsf.ts';

export const EXPORT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
  jsonl: 'application/x-ndjson; charset=utf-8',
  ocsf: 'application/x-ndjson; charset=utf-8',
};

/** The downloaded file's extension. */
export const EXPORT_EXTENSIONS: Record<ExportFormat, string> = {
  csv: 'csv',
  json: 'json',
  jsonl: 'jsonl',
  ocsf: 'ocsf.jsonl',
};

const CSV_COLUMNS = [
  'seq',
  'id',
  'occurredAt',
  'actorType',
  'actorId',
  'actorEmail',
  'action',
  'targetType',
  'targetId',
  'before',
  'after',
  'ip',
  'userAgent',
  'requestId',
  'prevHash',
  'hash',
  'actorTokenId',
  'targetName',
  'targetEmail',
] as const;

/**
 * One CSV cell. Text a spreadsheet would run as a formula (= + - @, tab, carriage return first)
 * gets a leading apostrophe; quotes, commas and line breaks are quoted (RFC 4180).
 */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text =
    typeof value === 'string' ? value : typeof value === 'number' ? String(value) : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function csvRow(e: AuditEntry): string {
  return [
    e.seq,
    e.id,
    e.occurredAt,
    e.actor.type,
    e.actor.id,
    e.actor.email,
    e.action,
    e.target.type,
    e.target.id,
    e.before,
    e.after,
    e.ip,
    e.userAgent,
    e.requestId,
    e.prevHash,
    e.hash,
    e.actor.tokenId,
    e.target.name,
    e.target.email,
  ]
    .map(csvCell)
    .join(',');
}

const CHUNK_ENTRIES = 128;

const checkpointLine = (cp: Checkpoint) => JSON.stringify({ checkpoint: cp });

/**
 * The export as chunks of text, one batch of entries at a time: memory stays bounded whatever
 * the length. JSON Lines is the verifiable form: each entry line is the entry's canonical JSON,
 * with the signed checkpoint anchoring its start (when it does not begin the chain) before the
 * entries and the one vouching for its last entry after them. OCSF holds events only: each entry
 * as an OCSF event (with its hash chain fields under `unmapped`), one a line.
 */
export async function* exportChunks(
  executor: Executor,
  audit: AuditLog,
  orgId: string,
  plan: ExportPlan,
  format: ExportFormat,
): AsyncGenerator<string> {
  const withOrg = (cp: Checkpoint | undefined) => (cp ? audit.withChain('org', orgId, cp) : null);
  const empty = plan.fromSeq > plan.toSeq;
  if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
  if (format === 'json') {
    yield `{"orgId":${JSON.stringify(orgId)},"exportedAt":${JSON.stringify(new Date().toISOString())},` +
      `"fromSeq":${empty ? null : plan.fromSeq},"toSeq":${empty ? null : plan.toSeq},` +
      `"anchor":${JSON.stringify(withOrg(plan.anchor))},"end":${JSON.stringify(withOrg(plan.end))},"entries":[`;
  }
  if (format === 'jsonl' && plan.anchor) yield `${checkpointLine(withOrg(plan.anchor)!)}\n`;
  let first = true;
  if (!empty) {
    for await (const rows of audit.readEntries(executor, orgId, {
      fromSeq: plan.fromSeq,
      toSeq: plan.toSeq,
    })) {
      let chunk = '';
      let inChunk = 0;
      for (const row of rows) {
        const entry = entryFromRow('org', row);
        if (format === 'jsonl') chunk += `${entryLine(entry)}\n`;
        else if (format === 'ocsf') chunk += `${JSON.stringify(toOcsf(entry))}\n`;
        else if (format === 'csv') chunk += `${csvRow(entry)}\r\n`;
        else {
          chunk += `${first ? '\n' : ',\n'}${entryLine(entry)}`;
          first = false;
        }
        // Small chunks (~100 KB): the socket's backpressure then paces the reading closely.
        if (++inChunk === CHUNK_ENTRIES) {
          yield chunk;
          chunk = '';
          inChunk = 0;
        }
      }
      if (chunk) yield chunk;
    }
  }
  if (format === 'json') yield '\n]}\n';
  if (format === 'jsonl' && plan.end) yield `${checkpointLine(withOrg(plan.end)!)}\n`;
}
