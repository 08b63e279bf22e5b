import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGLITE_OPTIONS } from './client.ts';
import { migrationsFolder } from './migrate.ts';

/**
 * An installation upgraded across migration 0021 (the keys that name org_id) keeps its data: the
 * rows written under the old keys are all there afterwards, the tables that gain org_id have it
 * filled from their parents, and the new keys hold.
 */

const BEFORE = '0020_billing_reports';

/** The migrations folder as it was up to `last` (the journal cut there; the files are the same). */
function folderUpTo(last: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-migrations-'));
  fs.mkdirSync(path.join(dir, 'meta'));
  const journal = JSON.parse(
    fs.readFileSync(path.join(migrationsFolder, 'meta', '_journal.json'), 'utf8'),
  ) as {
    entries: { tag: string }[];
  };
  const cut = journal.entries.findIndex((e) => e.tag === last);
  expect(cut).toBeGreaterThanOrEqual(0);
  const entries = journal.entries.slice(0, cut + 1);
  fs.writeFileSync(path.join(dir, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries }));
  for (const e of entries)
    fs.copyFileSync(path.join(migrationsFolder, `${e.tag}.sql`), path.join(dir, `${e.tag}.sql`));
  return dir;
}

let client: PGlite;
let db: ReturnType<typeof drizzle>;
let oldFolder: string;

async function rows<T>(query: ReturnType<typeof sql>): Promise<T[]> {
  return ((await db.execute(query)) as unknown as { rows: T[] }).rows;
}

beforeAll(async () => {
  client = new PGlite(PGLITE_OPTIONS);
  db = drizzle(client);
  oldFolder = folderUpTo(BEFORE);
  await migrate(db, { migrationsFolder: oldFolder });
});

afterAll(async () => {
  await client?.close();
  if (oldFolder) fs.rmSync(oldFolder, { recursive: true, force: true });
});

describe('upgrading across the organization keys (0021)', () => {
  it('keeps every row, fills org_id from the parents, and the new keys hold', async () => {
    // Two organizations with the rows whose keys change, written as the old schema had them.
    const ids: Record<string, string> = {};
    for (const org of ['a', 'b']) {
      const [o] = await rows<{ id: string }>(
        sql`INSERT INTO organizations (slug, name) VALUES (${`org-${org}`}, ${`Org ${org}`}) RETURNING id`,
      );
      const orgId = o!.id;
      ids[org] = orgId;
      const [role] = await rows<{ id: string }>(
        sql`INSERT INTO roles (org_id, slug, name, permissions) VALUES (${orgId}, 'viewer', 'Viewer', '{}') RETURNING id`,
      );
      const [token] = await rows<{ id: string }>(
        sql`INSERT INTO api_tokens (org_id, kind, role_id, name, last_four, token_hash, scopes)
            VALUES (${orgId}, 'automation', ${role!.id}, 'ci', 'abcd', ${Buffer.from(`hash-${org}`)}, '{}') RETURNING id`,
      );
      await db.execute(sql`INSERT INTO api_token_usage (token_id, at, method, route, status)
          SELECT ${token!.id}, now(), 'GET', '/r/' || i, 200 FROM generate_series(1, 3) i`);
      const [app] = await rows<{ id: string }>(
        sql`INSERT INTO applications (org_id, name) VALUES (${orgId}, 'web') RETURNING id`,
      );
      const [scan] = await rows<{ id: string }>(
        sql`INSERT INTO scans (org_id, application_id, status, modules, tokens, token_id)
            VALUES (${orgId}, ${app!.id}, 'completed', '{sast}', 10, ${token!.id}) RETURNING id`,
      );
      ids[`scan-${org}`] = scan!.id;
      ids[`token-${org}`] = token!.id;
      await db.execute(
        sql`INSERT INTO scan_sarif (scan_id, gzip, bytes) VALUES (${scan!.id}, ${Buffer.from('gz')}, 2)`,
      );
      const [exp] = await rows<{ id: string }>(
        sql`INSERT INTO org_exports (org_id) VALUES (${orgId}) RETURNING id`,
      );
      await db.execute(sql`INSERT INTO org_export_chunks (export_id, build_id, seq, bytes)
          VALUES (${exp!.id}, gen_random_uuid(), 0, ${Buffer.from('PK')})`);
      const [hook] = await rows<{ id: string }>(
        sql`INSERT INTO webhooks (org_id, url, events, secret) VALUES (${orgId}, 'https://example.test/h', '{}', 's') RETURNING id`,
      );
      const [delivery] = await rows<{ id: string }>(
        sql`INSERT INTO webhook_deliveries (org_id, webhook_id, event_id, type, body)
            VALUES (${orgId}, ${hook!.id}, 'evt_1', 'member.added', '{}') RETURNING id`,
      );
      await db.execute(sql`INSERT INTO webhook_attempts (org_id, webhook_id, delivery_id, attempt)
          VALUES (${orgId}, ${hook!.id}, ${delivery!.id}, 1)`);
      const [invitation] = await rows<{ id: string }>(
        sql`INSERT INTO invitations (org_id, email, role_id, token_hash, expires_at)
            VALUES (${orgId}, ${`x@${org}.test`}, ${role!.id}, ${Buffer.from(`inv-${org}`)}, now() + interval '1 day') RETURNING id`,
      );
      await db.execute(
        sql`INSERT INTO invitation_sends (org_id, invitation_id, resend) VALUES (${orgId}, ${invitation!.id}, false)`,
      );
    }
    const countsBefore = await rows<Record<string, number>>(sql`SELECT
        (SELECT count(*)::int FROM api_token_usage) AS usage, (SELECT count(*)::int FROM scan_sarif) AS sarif,
        (SELECT count(*)::int FROM org_export_chunks) AS chunks, (SELECT count(*)::int FROM webhook_attempts) AS attempts,
        (SELECT count(*)::int FROM invitation_sends) AS sends, (SELECT count(*)::int FROM scans) AS scans`);

    await migrate(db, { migrationsFolder });

    const countsAfter = await rows<Record<string, number>>(sql`SELECT
        (SELECT count(*)::int FROM api_token_usage) AS usage, (SELECT count(*)::int FROM scan_sarif) AS sarif,
        (SELECT count(*)::int FROM org_export_chunks) AS chunks, (SELECT count(*)::int FROM webhook_attempts) AS attempts,
        (SELECT count(*)::int FROM invitation_sends) AS sends, (SELECT count(*)::int FROM scans) AS scans`);
    expect(countsAfter).toEqual(countsBefore);
    expect(countsAfter[0]).toEqual({ usage: 6, sarif: 2, chunks: 2, attempts: 2, sends: 2, scans: 2 });

    // org_id filled from the parent, for each organization's rows.
    for (const org of ['a', 'b']) {
      const orgId = ids[org]!;
      const [filled] = await rows<Record<string, number>>(sql`SELECT
          (SELECT count(*)::int FROM api_token_usage WHERE org_id = ${orgId}) AS usage,
          (SELECT count(*)::int FROM scan_sarif WHERE org_id = ${orgId} AND scan_id = ${ids[`scan-${org}`]}) AS sarif,
          (SELECT count(*)::int FROM org_export_chunks c JOIN org_exports e ON e.org_id = c.org_id AND e.id = c.export_id
            WHERE c.org_id = ${orgId}) AS chunks`);
      expect(filled).toEqual({ usage: 3, sarif: 1, chunks: 1 });
    }

    // The keys now refuse a row pointing at another organization's parent…
    await expect(
      db.execute(sql`INSERT INTO scan_sarif (org_id, scan_id, gzip, bytes)
          VALUES (${ids.b}, ${ids['scan-a']}, ${Buffer.from('gz')}, 2)`),
    ).rejects.toThrow();
    // …and deleting a token clears the scan's token_id but leaves the scan its organization.
    await db.execute(sql`DELETE FROM api_tokens WHERE org_id = ${ids.a} AND id = ${ids['token-a']}`);
    const [scan] = await rows<{ org_id: string; token_id: string | null }>(
      sql`SELECT org_id, token_id FROM scans WHERE org_id = ${ids.a} AND id = ${ids['scan-a']}`,
    );
    expect(scan).toEqual({ org_id: ids.a, token_id: null });
    expect(await rows(sql`SELECT 1 FROM api_token_usage WHERE org_id = ${ids.a}`)).toEqual([]);
  });
});
