import { and, desc, eq, inArray, ne, sql } from 'drizzle-orm';
import type { ExportStatus } from '../../../contracts/data.ts';
import type { Executor } from '../../platform/db/client.ts';
import { orgExportChunks, orgExports, users } from '../../platform/db/schema.ts';
import { keysetBefore, type TimeCursor } from '../../platform/http/paging.ts';

export interface ExportRow {
  id: string;
  orgId: string;
  status: ExportStatus;
  progress: number;
  buildId: string | null;
  sizeBytes: number | null;
  sha256: string | null;
  error: string | null;
  requestedBy: string | null;
  requestedByEmail: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  expiresAt: Date | null;
}

const columns = {
  id: orgExports.id,
  orgId: orgExports.orgId,
  status: orgExports.status,
  progress: orgExports.progress,
  buildId: orgExports.buildId,
  sizeBytes: orgExports.sizeBytes,
  sha256: orgExports.sha256,
  error: orgExports.error,
  requestedBy: orgExports.requestedBy,
  requestedByEmail: users.email,
  createdAt: orgExports.createdAt,
  startedAt: orgExports.startedAt,
  finishedAt: orgExports.finishedAt,
  expiresAt: orgExports.expiresAt,
};

const selectExports = (db: Executor) =>
  db.select(columns).from(orgExports).leftJoin(users, eq(users.id, orgExports.requestedBy));

export async function insertExport(
  tx: Executor,
  values: { orgId: string; requestedBy: string | null },
): Promise<string> {
  const [row] = await tx.insert(orgExports).values(values).returning({ id: orgExports.id });
  return row!.id;
}

/** The org's export, by id (another org's is not found). */
export async function findExport(db: Executor, orgId: string, id: string): Promise<ExportRow | undefined> {
  const [row] = await selectExports(db).where(and(eq(orgExports.orgId, orgId), eq(orgExports.id, id)));
  return row as ExportRow | undefined;
}

/** The org's export still being built, if any (one at a time). */
export async function findExportUnderWay(db: Executor, orgId: string): Promise<ExportRow | undefined> {
  const [row] = await selectExports(db)
    .where(and(eq(orgExports.orgId, orgId), inArray(orgExports.status, ['pending', 'running'])))
    .orderBy(desc(orgExports.createdAt))
    .limit(1);
  return row as ExportRow | undefined;
}

/** Newest first, keyset-paged. */
export async function listExports(
  db: Executor,
  orgId: string,
  page: { limit: number; after?: TimeCursor },
): Promise<ExportRow[]> {
  const conditions = [eq(orgExports.orgId, orgId)];
  if (page.after) conditions.push(keysetBefore(orgExports.createdAt, orgExports.id, page.after));
  const rows = await selectExports(db)
    .where(and(...conditions))
    .orderBy(desc(orgExports.createdAt), desc(orgExports.id))
    .limit(page.limit);
  return rows as ExportRow[];
}

/**
 * An attempt at building the export begins: it is running under `buildId` from now on, and what
 * an earlier attempt wrote is thrown away. Undefined when there is nothing to build (it is ready,
 * failed, or gone with its organization).
 */
export async function startBuild(
  db: Executor,
  orgId: string,
  exportId: string,
  buildId: string,
): Promise<{ orgId: string; requestedBy: string | null; createdAt: Date } | undefined> {
  const [row] = await db
    .update(orgExports)
    .set({ status: 'running', buildId, progress: 0, startedAt: sql`now()`, error: null })
    .where(
      and(
        eq(orgExports.orgId, orgId),
        eq(orgExports.id, exportId),
        inArray(orgExports.status, ['pending', 'running']),
      ),
    )
    .returning({
      orgId: orgExports.orgId,
      requestedBy: orgExports.requestedBy,
      createdAt: orgExports.createdAt,
    });
  if (!row) return undefined;
  await db
    .delete(orgExportChunks)
    .where(
      and(
        eq(orgExportChunks.orgId, orgId),
        eq(orgExportChunks.exportId, exportId),
        ne(orgExportChunks.buildId, buildId),
      ),
    );
  return row;
}

/** The attempt's next piece of the archive. */
export async function appendChunk(
  db: Executor,
  orgId: string,
  exportId: string,
  buildId: string,
  seq: number,
  bytes: Buffer,
): Promise<void> {
  await db.insert(orgExportChunks).values({ orgId, exportId, buildId, seq, bytes });
}

/** Progress of the attempt that is the export's current one (a stale attempt's is ignored). */
export async function setProgress(
  db: Executor,
  orgId: string,
  exportId: string,
  buildId: string,
  progress: number,
) {
  await db
    .update(orgExports)
    .set({ progress })
    .where(
      and(
        eq(orgExports.orgId, orgId),
        eq(orgExports.id, exportId),
        eq(orgExports.buildId, buildId),
        eq(orgExports.status, 'running'),
      ),
    );
}

/**
 * The attempt's archive is complete: the export is ready, if this attempt is still its current
 * one (false when another took the job over meanwhile). Chunks of any other attempt go.
 */
export async function finishBuild(
  db: Executor,
  orgId: string,
  exportId: string,
  buildId: string,
  done: { sizeBytes: number; sha256: string; keepDays: number },
): Promise<boolean> {
  const rows = await db
    .update(orgExports)
    .set({
      status: 'ready',
      progress: 100,
      sizeBytes: done.sizeBytes,
      sha256: done.sha256,
      finishedAt: sql`now()`,
      expiresAt: sql`now() + make_interval(days => ${done.keepDays})`,
    })
    .where(
      and(
        eq(orgExports.orgId, orgId),
        eq(orgExports.id, exportId),
        eq(orgExports.buildId, buildId),
        eq(orgExports.status, 'running'),
      ),
    )
    .returning({ id: orgExports.id });
  if (rows.length === 0) return false;
  await db
    .delete(orgExportChunks)
    .where(
      and(
        eq(orgExportChunks.orgId, orgId),
        eq(orgExportChunks.exportId, exportId),
        ne(orgExportChunks.buildId, buildId),
      ),
    );
  return true;
}

/** The export will not be built: failed, with why, kept (without bytes) until it expires. */
export async function failExport(
  db: Executor,
  orgId: string,
  exportId: string,
  error: string,
  keepDays: number,
) {
  await db
    .update(orgExports)
    .set({
      status: 'failed',
      error,
      finishedAt: sql`now()`,
      expiresAt: sql`now() + make_interval(days => ${keepDays})`,
    })
    .where(
      and(
        eq(orgExports.orgId, orgId),
        eq(orgExports.id, exportId),
        inArray(orgExports.status, ['pending', 'running']),
      ),
    );
  await db
    .delete(orgExportChunks)
    .where(and(eq(orgExportChunks.orgId, orgId), eq(orgExportChunks.exportId, exportId)));
}

/** The attempt failed and the job will try again: waiting, its partial archive kept until then. */
export async function markRetrying(db: Executor, orgId: string, exportId: string, buildId: string) {
  await db
    .update(orgExports)
    .set({ status: 'pending', progress: 0 })
    .where(
      and(
        eq(orgExports.orgId, orgId),
        eq(orgExports.id, exportId),
        eq(orgExports.buildId, buildId),
        eq(orgExports.status, 'running'),
      ),
    );
}

/** A ready export's bytes, a chunk at a time, in order: memory holds one chunk whatever the size. */
export async function* readExportChunks(db: Executor, orgId: string, exportId: string, buildId: string) {
  for (let seq = 0; ; seq++) {
    const [row] = await db
      .select({ bytes: orgExportChunks.bytes })
      .from(orgExportChunks)
      .where(
        and(
          eq(orgExportChunks.orgId, orgId),
          eq(orgExportChunks.exportId, exportId),
          eq(orgExportChunks.buildId, buildId),
          eq(orgExportChunks.seq, seq),
        ),
      );
    if (!row) return;
    yield row.bytes;
  }
}

/** Deletes exports past their expiry, with their bytes. Returns how many went. */
export async function purgeExpiredExports(db: Executor): Promise<number> {
  const rows = await db
    .delete(orgExports)
    .where(sql`${orgExports.expiresAt} < now()`)
    .returning({ id: orgExports.id });
  return rows.length;
}
