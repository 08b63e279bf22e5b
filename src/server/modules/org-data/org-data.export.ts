import { createHash, randomUUID } from 'node:crypto';
import { Zip, ZipDeflate } from 'fflate';
import { EXPORT_KEEP_DAYS } from '../../../contracts/data.ts';
import type { AuditLog } from '../../platform/audit/log.ts';
import type { Database, Db } from '../../platform/db/client.ts';
import type { TimeCursor } from '../../platform/http/paging.ts';
import { GiveUp, type JobHandler, type JobInfo } from '../../platform/outbox/index.ts';
import { listApplications, presentApplication } from '../applications/index.ts';
import { exportChunks, listCheckpoints, listPublishedKeys, planAuditExport } from '../audit-log/index.ts';
import { listFindings, presentFinding } from '../findings/index.ts';
import { listMembers, presentMember } from '../members/index.ts';
import { findDataSettings, findOrg, findSecurity } from '../organizations/index.ts';
import { listPolicies } from '../policies/index.ts';
import { listRoles, presentRole } from '../roles/index.ts';
import { listScansPage } from '../scans/index.ts';
import {
  appendChunk,
  failExport,
  finishBuild,
  markRetrying,
  setProgress,
  startBuild,
} from './org-data.repository.ts';

/**
 * The organization data export: one zip with everything the organization holds, built by an
 * outbox job (it survives a crash: a lease that runs out hands the job to another instance, whose
 * attempt starts the archive afresh) and stored in the database a chunk at a time, so whichever
 * instance answers the download serves it. What is in it:
 *
 * - `organization.json`: the profile, security policy and data settings;
 * - `members.json` (current and removed), `roles.json`, `applications.json`, `scans.json`,
 *   `findings.json`, `policies.json`: each a JSON array of the items as the API lists them;
 * - `audit/audit-log.jsonl`: the whole audit log as `GET …/audit-events/export?format=jsonl` gives
 *   it (the same writer), with signed checkpoints at both ends; `audit/audit-checkpoints.json` and
 *   `audit/audit-keys.json`, as `GET …/audit-checkpoints` and `GET /api/v1/audit-keys` answer.
 *   `gatehouse audit verify audit/audit-log.jsonl --public-key audit/audit-keys.json` checks it
 *   offline (a verifier who trusts the keys from elsewhere passes those instead);
 * - `manifest.json`: what was exported, when, by whom, and each file's entries, bytes and SHA-256.
 *
 * Never in it: password and token hashes, sealed secrets (SSO client secrets, webhook secrets,
 * TOTP), session data. Only presenters the API itself uses are called, and none of them returns one.
 */

export const ORG_EXPORT_JOB = 'org.export';

/** Attempts before an export is given up (failed): the first and these retries, seconds apart. */
export const EXPORT_RETRY_DELAYS = [10, 60, 300] as const;

/** The zip is stored in chunks of this size (the last one smaller). */
const CHUNK_BYTES = 1024 * 1024;
/** Rows read per query while exporting a list. */
const PAGE = 500;

export interface ExportDeps {
  database: Database;
  audit: AuditLog;
}

/** What one file of the archive held, for the manifest. */
interface FileSummary {
  name: string;
  entries?: number;
  bytes: number;
  sha256: string;
}

/** Collects the zip's output and writes it to the database, a full chunk at a time. */
class ChunkWriter {
  private buffered: Uint8Array[] = [];
  private bufferedBytes = 0;
  private seq = 0;
  size = 0;
  private readonly hash = createHash('sha256');

  constructor(
    private readonly db: Db,
    private readonly orgId: string,
    private readonly exportId: string,
    private readonly buildId: string,
  ) {}

  /** Called by the zip as it produces bytes (synchronously, while a file is pushed). */
  take(data: Uint8Array): void {
    if (data.length === 0) return;
    this.buffered.push(data);
    this.bufferedBytes += data.length;
    this.size += data.length;
    this.hash.update(data);
  }

  /** Writes every full chunk held (and, at the end, the rest). */
  async flush(final = false): Promise<void> {
    while (this.bufferedBytes >= CHUNK_BYTES || (final && this.bufferedBytes > 0)) {
      const all = Buffer.concat(this.buffered, this.bufferedBytes);
      const chunk = all.subarray(0, Math.min(CHUNK_BYTES, all.length));
      const rest = all.subarray(chunk.length);
      await appendChunk(this.db, this.orgId, this.exportId, this.buildId, this.seq++, Buffer.from(chunk));
      this.buffered = rest.length > 0 ? [rest] : [];
      this.bufferedBytes = rest.length;
    }
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

const encoder = new TextEncoder();

/** A JSON array of `items` (pages of them), written as text pieces of a reasonable size. */
async function* jsonArray(pages: AsyncIterable<unknown[]>, count: { entries: number }) {
  let piece = '[';
  let first = true;
  for await (const items of pages) {
    for (const item of items) {
      piece += `${first ? '\n' : ',\n'}${JSON.stringify(item)}`;
      first = false;
      count.entries++;
    }
    if (piece.length >= 64 * 1024) {
      yield piece;
      piece = '';
    }
  }
  yield `${piece}${first ? '' : '\n'}]\n`;
}

/** Pages of a keyset-paged list (newest first), until one comes back short. */
async function* keyset<R>(
  read: (page: { limit: number; after?: TimeCursor }) => Promise<R[]>,
  cursorOf: (row: R) => TimeCursor,
  present: (row: R) => unknown,
): AsyncGenerator<unknown[]> {
  let after: TimeCursor | undefined;
  for (;;) {
    const rows = await read({ limit: PAGE, ...(after ? { after } : {}) });
    if (rows.length > 0) yield rows.map(present);
    if (rows.length < PAGE) return;
    after = cursorOf(rows[rows.length - 1]!);
  }
}

/** Every checkpoint of the org's log, newest first, as GET …/audit-checkpoints lists them. */
async function allCheckpoints(db: Db, orgId: string) {
  const items = [];
  let beforeSeq: number | undefined;
  for (;;) {
    const page = await listCheckpoints(
      db,
      { kind: 'org', id: orgId },
      { limit: PAGE, ...(beforeSeq !== undefined ? { beforeSeq } : {}) },
    );
    items.push(...page);
    if (page.length < PAGE) return items;
    beforeSeq = page[page.length - 1]!.seq;
  }
}

async function* once(text: string) {
  yield text;
}

const VERIFY_COMMAND =
  'gatehouse audit verify audit/audit-log.jsonl --public-key audit/audit-keys.json --checkpoints audit/audit-checkpoints.json';

/**
 * Builds the export `exportId` as one attempt: from the start, under a new build id (whatever an
 * earlier attempt left is thrown away), then marks it ready. Returns false when there was nothing
 * to build (already ready or failed, or gone with its organization) or when another attempt took
 * it over meanwhile.
 */
export async function buildExport(
  deps: ExportDeps,
  orgId: string,
  exportId: string,
  buildId: string = randomUUID(),
): Promise<boolean> {
  const db = deps.database.db;
  const started = await startBuild(db, orgId, exportId, buildId);
  if (!started) return false;
  const org = await findOrg(db, orgId);
  if (!org) {
    await failExport(
      db,
      orgId,
      exportId,
      'The organization was deleted before its export was built.',
      EXPORT_KEEP_DAYS,
    );
    return false;
  }
  // The audit log's range, fixed now, with signed checkpoints at both of its ends.
  const auditPlan = await db.transaction((tx) => planAuditExport(tx, deps.audit, orgId));

  const writer = new ChunkWriter(db, orgId, exportId, buildId);
  let failure: Error | undefined;
  const zip = new Zip((err, data) => {
    if (err) failure = err;
    else writer.take(data);
  });
  const files: FileSummary[] = [];

  /** Adds one file to the archive from text pieces, writing full chunks as they fill. */
  const addFile = async (name: string, pieces: AsyncIterable<string>, count?: { entries: number }) => {
    const file = new ZipDeflate(name, { level: 6 });
    zip.add(file);
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const piece of pieces) {
      const data = encoder.encode(piece);
      hash.update(data);
      bytes += data.length;
      file.push(data);
      if (failure) throw failure;
      await writer.flush();
    }
    file.push(new Uint8Array(0), true);
    if (failure) throw failure;
    await writer.flush();
    files.push({ name, ...(count ? { entries: count.entries } : {}), bytes, sha256: hash.digest('hex') });
  };

  const security = await findSecurity(db, orgId);
  const dataSettings = await findDataSettings(db, orgId);
  const { logoUpdatedAt: _logo, ...profile } = org;
  const parts: Array<() => Promise<void>> = [
    () =>
      addFile(
        'organization.json',
        once(`${JSON.stringify({ ...profile, security, data: dataSettings }, null, 2)}\n`),
      ),
    async () => {
      const count = { entries: 0 };
      async function* members() {
        // Current members, then those removed (kept for the record, as the list's `removed` filter).
        for (const status of [undefined, 'removed'] as const) {
          yield* keyset(
            (page) => listMembers(db, orgId, status ? { status } : {}, page),
            (m) => ({ createdAt: m.joinedAt, id: m.userId }),
            presentMember,
          );
        }
      }
      await addFile('members.json', jsonArray(members(), count), count);
    },
    async () => {
      const count = { entries: 0 };
      async function* roles() {
        yield (await listRoles(db, orgId)).map(presentRole);
      }
      await addFile('roles.json', jsonArray(roles(), count), count);
    },
    async () => {
      const count = { entries: 0 };
      const pages = keyset(
        (page) => listApplications(db, orgId, page),
        (a) => a,
        presentApplication,
      );
      await addFile('applications.json', jsonArray(pages, count), count);
    },
    async () => {
      const count = { entries: 0 };
      async function* scans() {
        let cursor: string | undefined;
        for (;;) {
          const page = await listScansPage(db, orgId, { limit: PAGE, ...(cursor ? { cursor } : {}) }, true);
          yield page.items;
          if (!page.nextCursor) return;
          cursor = page.nextCursor;
        }
      }
      await addFile('scans.json', jsonArray(scans(), count), count);
    },
    async () => {
      const count = { entries: 0 };
      const pages = keyset(
        (page) => listFindings(db, orgId, {}, page),
        (f) => ({ createdAt: f.lastSeenAt, id: f.id }),
        presentFinding,
      );
      await addFile('findings.json', jsonArray(pages, count), count);
    },
    async () => {
      const count = { entries: 0 };
      const pages = keyset(
        (page) => listPolicies(db, orgId, page),
        (p) => p,
        (p) => p,
      );
      await addFile('policies.json', jsonArray(pages, count), count);
    },
    async () => {
      const entries = auditPlan.fromSeq <= auditPlan.toSeq ? auditPlan.toSeq - auditPlan.fromSeq + 1 : 0;
      await addFile('audit/audit-log.jsonl', exportChunks(db, deps.audit, orgId, auditPlan, 'jsonl'), {
        entries,
      });
    },
    async () => {
      const items = await allCheckpoints(db, orgId);
      await addFile('audit/audit-checkpoints.json', once(`${JSON.stringify({ items }, null, 2)}\n`), {
        entries: items.length,
      });
    },
    async () => {
      const items = await listPublishedKeys(db, deps.audit);
      await addFile('audit/audit-keys.json', once(`${JSON.stringify({ items }, null, 2)}\n`), {
        entries: items.length,
      });
    },
  ];
  for (const [i, part] of parts.entries()) {
    await part();
    await setProgress(db, orgId, exportId, buildId, Math.floor(((i + 1) * 100) / (parts.length + 1)));
  }
  const manifest = {
    format: 'gatehouse-org-export',
    version: 1,
    exportId,
    organization: { id: org.id, slug: org.slug, name: org.name, plan: org.plan },
    requestedAt: started.createdAt.toISOString(),
    requestedBy: started.requestedBy,
    exportedAt: new Date().toISOString(),
    files,
    audit: {
      fromSeq: auditPlan.fromSeq <= auditPlan.toSeq ? auditPlan.fromSeq : null,
      toSeq: auditPlan.fromSeq <= auditPlan.toSeq ? auditPlan.toSeq : null,
      verify: VERIFY_COMMAND,
    },
  };
  await addFile('manifest.json', once(`${JSON.stringify(manifest, null, 2)}\n`));
  zip.end();
  if (failure) throw failure;
  await writer.flush(true);
  return finishBuild(db, orgId, exportId, buildId, {
    sizeBytes: writer.size,
    sha256: writer.digest(),
    keepDays: EXPORT_KEEP_DAYS,
  });
}

/**
 * The job that builds an export. An attempt that fails is tried again (the export waits, pending);
 * once the attempts are spent the export is failed, with a reason in words, and the job dies. A
 * lease long enough for a large organization's archive: an attempt that outlives it may be taken
 * over, and then only the newer attempt's archive is kept (see startBuild / finishBuild).
 */
export function exportHandler(
  deps: ExportDeps,
  log: (err: unknown, msg: string) => void,
): JobHandler<{ exportId: string }> {
  return {
    kind: ORG_EXPORT_JOB,
    leaseSeconds: 30 * 60,
    retryDelays: EXPORT_RETRY_DELAYS,
    async run(payload, job: JobInfo) {
      const buildId = randomUUID();
      // The job carries its export's organization (enqueued with it); one without cannot be built.
      const orgId = job.orgId;
      if (!orgId) throw new GiveUp('the export job names no organization');
      try {
        await buildExport(deps, orgId, payload.exportId, buildId);
      } catch (err) {
        log(err, `building export ${payload.exportId} failed (attempt ${job.attempt})`);
        if (job.attempt > EXPORT_RETRY_DELAYS.length) {
          await failExport(
            deps.database.db,
            orgId,
            payload.exportId,
            'The export could not be built. Ask for a new one; if it fails again, the server logs say why.',
            EXPORT_KEEP_DAYS,
          );
          throw new GiveUp((err as Error).message);
        }
        await markRetrying(deps.database.db, orgId, payload.exportId, buildId);
        throw err;
      }
    },
  };
}
