import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';
import { runCli, tempDirs } from '../../../../test/support/cli.ts';
import { onPostgres, queryRows } from '../../../../test/support/database.ts';
import {
  addMember,
  as,
  createOrg,
  createPersonalToken,
  expectStatus,
  type Person,
} from '../../../../test/support/orgs.ts';
import { ORG_EXPORT_JOB } from './index.ts';
import { purgeExpiredExports } from './org-data.repository.ts';

/**
 * The organization data export: asked for with org:export, built by an outbox job, downloaded as
 * a zip. Its contents are the organization's alone, hold no secret, and its audit log verifies
 * offline with `gatehouse audit verify` as a separate process would run it.
 */

const dirs = tempDirs('gatehouse-org-export-');
/** The CLI runs as a process (compiling its sources on a busy machine). */
const CLI_TIMEOUT = 120_000;

let t: TestApp;
type Org = { orgId: string; slug: string; owner: Person };
let alpha: Org;
let bravo: Org;
let alphaAdmin: Person;
let alphaToken: string;
let bravoNames: string[];

const base = (org: { orgId: string }) => `/api/v1/orgs/${org.orgId}`;
const rows = <T>(query: ReturnType<typeof sql>) => queryRows<T>(t.db.database.db, query);

const sarif = (tag: string) => ({
  version: '2.1.0',
  runs: [
    {
      tool: { driver: { name: 'Semgrep' } },
      results: [1, 2, 3].map((i) => ({
        ruleId: `${tag}-rule-${i}`,
        level: i === 1 ? 'error' : 'warning',
        message: { text: `${tag} problem ${i}` },
        locations: [{ physicalLocation: { artifactLocation: { uri: `src/${tag}-${i}.ts` } } }],
      })),
    },
  ],
});

/** An organization with something of everything: members, a custom role, an app, a scan, a policy. */
async function populated(name: string, tag: string): Promise<{ org: Org; admin: Person; appName: string }> {
  const org = await createOrg(t.app, { name, plan: 'pro' });
  const owner = as(t.app, org.owner);
  const admin = await addMember(t.app, org, 'admin', { name: `${tag} Admin` }, t.mail);
  await addMember(t.app, org, 'developer', { name: `${tag} Developer` }, t.mail);
  expectStatus(
    await owner.post(`${base(org)}/roles`, {
      slug: `${tag.toLowerCase()}-auditor`,
      name: `${tag} Auditor`,
      permissions: ['audit:read'],
    }),
    201,
  );
  const appName = `${tag.toLowerCase()}-web`;
  const appId = expectStatus(await owner.post(`${base(org)}/applications`, { name: appName }), 201).json().id;
  expectStatus(
    await owner.post(`${base(org)}/scans`, { applicationId: appId, modules: ['sast'], sarif: sarif(tag) }),
    201,
  );
  expectStatus(
    await owner.post(`${base(org)}/policies`, { name: `${tag} no criticals`, failOn: 'critical' }),
    201,
  );
  return { org, admin, appName };
}

async function exportReady(
  org: Org,
): Promise<{ id: string; body: Buffer; files: Record<string, Uint8Array> }> {
  const asked = expectStatus(await as(t.app, org.owner).post(`${base(org)}/exports`), 202);
  const { id } = asked.json();
  await t.drainOutbox({ kind: ORG_EXPORT_JOB });
  const status = expectStatus(await as(t.app, org.owner).get(`${base(org)}/exports/${id}`), 200).json();
  expect(status).toMatchObject({ id, status: 'ready', progress: 100 });
  const download = expectStatus(await as(t.app, org.owner).get(`${base(org)}/exports/${id}/download`), 200);
  const body = download.rawPayload;
  return { id, body, files: unzipSync(new Uint8Array(body)) };
}

const text = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');

beforeAll(async () => {
  t = await createTestApp();
  const a = await populated('Alpha Widgets', 'Alpha');
  alpha = a.org;
  alphaAdmin = a.admin;
  alphaToken = (await createPersonalToken(t.app, alpha.owner, alpha.orgId, ['admin'])).token;
  const b = await populated('Bravo Secret Corp', 'Bravo');
  bravo = b.org;
  const bravoMembers = await rows<{ user_id: string; email: string; name: string }>(
    sql`SELECT m.user_id, u.email, u.name FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = ${bravo.orgId}`,
  );
  const bravoIds = await rows<{ id: string }>(sql`
    SELECT id FROM applications WHERE org_id = ${bravo.orgId}
    UNION ALL SELECT id FROM scans WHERE org_id = ${bravo.orgId}
    UNION ALL SELECT id FROM findings WHERE org_id = ${bravo.orgId}
    UNION ALL SELECT id FROM policies WHERE org_id = ${bravo.orgId}
    UNION ALL SELECT id FROM roles WHERE org_id = ${bravo.orgId}`);
  bravoNames = [
    bravo.orgId,
    bravo.slug,
    'Bravo',
    'bravo',
    b.appName,
    ...bravoMembers.flatMap((m) => [m.user_id, m.email]),
    ...bravoIds.map((r) => r.id),
  ];
});
afterAll(async () => {
  await t?.close();
  dirs.cleanup();
});

describe(`POST /orgs/:orgId/exports → a zip of everything (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  let exported: { id: string; body: Buffer; files: Record<string, Uint8Array> };

  it('answers 202 at once, is built in the background, and is downloaded as a zip', async () => {
    const asked = expectStatus(await as(t.app, alpha.owner).post(`${base(alpha)}/exports`), 202);
    expect(asked.json()).toMatchObject({ status: 'pending', progress: 0 });
    expect(asked.headers.location).toBe(`${base(alpha)}/exports/${asked.json().id}`);
    // Asked again while it is being built: the same one, and recorded once.
    const again = expectStatus(await as(t.app, alpha.owner).post(`${base(alpha)}/exports`), 202);
    expect(again.json().id).toBe(asked.json().id);
    const recorded = await rows(
      sql`SELECT after FROM audit_events WHERE chain_id = ${alpha.orgId} AND action = 'org.exported'`,
    );
    expect(recorded).toEqual([{ after: { exportId: asked.json().id } }]);
    // Not ready yet (the worker has not run): no download.
    const early = await as(t.app, alpha.owner).get(`${base(alpha)}/exports/${asked.json().id}/download`);
    if (early.statusCode !== 200) expect(early.json().code).toBe('export_not_ready');

    await t.drainOutbox({ kind: ORG_EXPORT_JOB });
    const status = expectStatus(
      await as(t.app, alpha.owner).get(`${base(alpha)}/exports/${asked.json().id}`),
      200,
    );
    const ready = status.json();
    expect(ready).toMatchObject({
      id: asked.json().id,
      status: 'ready',
      progress: 100,
      downloadUrl: `${base(alpha)}/exports/${asked.json().id}/download`,
      requestedBy: { id: alpha.owner.userId, email: alpha.owner.email },
    });
    expect(ready.sizeBytes).toBeGreaterThan(1000);
    expect(new Date(ready.expiresAt).getTime() - new Date(ready.finishedAt).getTime()).toBe(7 * 86_400_000);

    const download = expectStatus(await as(t.app, alpha.owner).get(ready.downloadUrl), 200);
    expect(download.headers['content-type']).toBe('application/zip');
    expect(download.headers['content-disposition']).toMatch(
      new RegExp(`^attachment; filename="gatehouse-export-${alpha.slug}-\\d{4}-\\d{2}-\\d{2}\\.zip"$`),
    );
    expect(download.rawPayload.length).toBe(ready.sizeBytes);
    expect(download.rawPayload.subarray(0, 2).toString('latin1')).toBe('PK');
    exported = {
      id: ready.id,
      body: download.rawPayload,
      files: unzipSync(new Uint8Array(download.rawPayload)),
    };

    const list = expectStatus(await as(t.app, alpha.owner).get(`${base(alpha)}/exports`), 200).json();
    expect(list.items.map((e: { id: string }) => e.id)).toEqual([ready.id]);
  });

  it('holds the organization’s members, roles, applications, scans, findings, policies, audit log and a manifest', () => {
    const { files } = exported;
    expect(Object.keys(files).sort()).toEqual([
      'applications.json',
      'audit/audit-checkpoints.json',
      'audit/audit-keys.json',
      'audit/audit-log.jsonl',
      'findings.json',
      'manifest.json',
      'members.json',
      'organization.json',
      'policies.json',
      'roles.json',
      'scans.json',
    ]);
    const json = (name: string) => JSON.parse(text(files[name]));
    expect(json('organization.json')).toMatchObject({
      id: alpha.orgId,
      name: 'Alpha Widgets',
      data: { scanRetentionDays: 365 },
      security: { require2fa: false },
    });
    const members = json('members.json') as Array<{ userId: string; email: string; role: string }>;
    expect(members.map((m) => m.role).sort()).toEqual(['admin', 'developer', 'owner']);
    expect(members.find((m) => m.userId === alpha.owner.userId)?.email).toBe(alpha.owner.email);
    expect((json('roles.json') as Array<{ slug: string }>).map((r) => r.slug)).toContain('alpha-auditor');
    expect(json('applications.json')).toEqual([expect.objectContaining({ name: 'alpha-web' })]);
    expect(json('scans.json')).toEqual([
      expect.objectContaining({ status: 'completed', findings: expect.objectContaining({ total: 3 }) }),
    ]);
    expect((json('findings.json') as Array<{ ruleId: string }>).map((f) => f.ruleId).sort()).toEqual([
      'Alpha-rule-1',
      'Alpha-rule-2',
      'Alpha-rule-3',
    ]);
    expect(json('policies.json')).toEqual([expect.objectContaining({ name: 'Alpha no criticals' })]);
    const manifest = json('manifest.json');
    expect(manifest).toMatchObject({
      format: 'gatehouse-org-export',
      version: 1,
      exportId: exported.id,
      organization: { id: alpha.orgId, slug: alpha.slug, name: 'Alpha Widgets' },
      requestedBy: alpha.owner.userId,
    });
    const byName = Object.fromEntries(
      (manifest.files as Array<{ name: string; entries?: number; bytes: number }>).map((f) => [f.name, f]),
    );
    expect(byName['members.json']).toMatchObject({ entries: 3, bytes: files['members.json']!.length });
    expect(byName['findings.json']).toMatchObject({ entries: 3 });
    // The audit log runs from the start through the export's own request (org.exported).
    const lines = text(files['audit/audit-log.jsonl']).trimEnd().split('\n');
    const entries = lines.map((l) => JSON.parse(l)).filter((l) => !l.checkpoint);
    expect(entries[0]).toMatchObject({ seq: 1, action: 'org.created' });
    expect(entries.map((e: { action: string }) => e.action)).toContain('org.exported');
    expect(manifest.audit).toMatchObject({ fromSeq: 1, toSeq: entries.at(-1).seq });
  });

  it('holds nothing of another organization', () => {
    for (const [name, bytes] of Object.entries(exported.files)) {
      const content = text(bytes);
      for (const needle of bravoNames) {
        expect(content.includes(needle), `${name} names ${needle}, of another organization`).toBe(false);
      }
    }
  });

  it('holds no secret: no password or token hash, no token, no sealed value', async () => {
    const all = Object.values(exported.files).map(text).join('\n');
    const hashes = await rows<{ h: string }>(sql`
      SELECT password_hash AS h FROM users WHERE password_hash IS NOT NULL
      UNION ALL SELECT encode(token_hash, 'hex') FROM api_tokens
      UNION ALL SELECT encode(token_hash, 'base64') FROM api_tokens`);
    expect(hashes.length).toBeGreaterThan(2);
    for (const { h } of hashes) expect(all.includes(h)).toBe(false);
    expect(all.includes(alphaToken)).toBe(false);
    expect(all).not.toMatch(/\$argon2|passwordHash|password_hash|tokenHash|token_hash|"secret"|totp/i);
  });

  it('its audit log verifies offline with `gatehouse audit verify`, against its keys and checkpoints', {
    timeout: CLI_TIMEOUT,
  }, async () => {
    const dir = dirs.make();
    for (const name of ['audit/audit-log.jsonl', 'audit/audit-keys.json', 'audit/audit-checkpoints.json']) {
      fs.mkdirSync(path.join(dir, path.dirname(name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), exported.files[name]!);
    }
    const { code, out } = await runCli(
      [
        'audit',
        'verify',
        path.join(dir, 'audit/audit-log.jsonl'),
        '--public-key',
        path.join(dir, 'audit/audit-keys.json'),
        '--checkpoints',
        path.join(dir, 'audit/audit-checkpoints.json'),
      ],
      {},
    );
    expect(out).toMatch(new RegExp(`^OK: \\d+ entries of org ${alpha.orgId} `));
    expect(code).toBe(0);
    // One altered line and it does not.
    const file = path.join(dir, 'audit/audit-log.jsonl');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"org.created"', '"org.updated"'));
    const tampered = await runCli(
      ['audit', 'verify', file, '--public-key', path.join(dir, 'audit/audit-keys.json')],
      {},
    );
    expect(tampered.code).toBe(1);
    expect(tampered.out).toMatch(/^FAIL at seq 1/);
  });

  it('is asked for, listed, read and downloaded with org:export only: an Admin is refused (403), another organization finds nothing (404)', async () => {
    const url = `${base(alpha)}/exports/${exported.id}`;
    for (const res of [
      await as(t.app, alphaAdmin).post(`${base(alpha)}/exports`),
      await as(t.app, alphaAdmin).get(`${base(alpha)}/exports`),
      await as(t.app, alphaAdmin).get(url),
      await as(t.app, alphaAdmin).get(`${url}/download`),
    ]) {
      expect(res.statusCode, res.body).toBe(403);
      expect(res.json()).toMatchObject({ code: 'permission_denied', params: { permission: 'org:export' } });
    }
    // Bravo's owner: Alpha's routes are not theirs (404), and Alpha's export is not under Bravo.
    expectStatus(await as(t.app, bravo.owner).get(url), 404);
    expectStatus(await as(t.app, bravo.owner).get(`${url}/download`), 404);
    expectStatus(await as(t.app, bravo.owner).get(`${base(bravo)}/exports/${exported.id}`), 404);
    expectStatus(await as(t.app, bravo.owner).get(`${base(bravo)}/exports/${exported.id}/download`), 404);
    expect(
      expectStatus(await as(t.app, bravo.owner).get(`${base(bravo)}/exports`), 200).json().items,
    ).toEqual([]);
    // A malformed id is a 400, never a 5xx.
    expectStatus(await as(t.app, alpha.owner).get(`${base(alpha)}/exports/not-an-id`), 400);
  });

  it('is deleted, bytes and all, once it expires', async () => {
    const { id } = await exportReady(bravo);
    await t.db.database.db.execute(
      sql`UPDATE org_exports SET expires_at = now() - interval '1 second' WHERE id = ${id}`,
    );
    expect(await purgeExpiredExports(t.db.database.db)).toBe(1);
    expectStatus(await as(t.app, bravo.owner).get(`${base(bravo)}/exports/${id}`), 404);
    expect(await rows(sql`SELECT 1 FROM org_export_chunks WHERE export_id = ${id}`)).toEqual([]);
  });
});

describe('an export whose building was interrupted', () => {
  it('is built whole by the worker that takes the job over, the dead attempt’s bytes thrown away', async () => {
    // One instance takes the request and has no worker; its export's job is then left as an
    // instance that died mid-attempt leaves it: claimed, its lease run out, half an archive written.
    // (A database of their own: no other worker may take the job first.)
    const front = await createTestApp({ outbox: { worker: false } });
    let worker: TestApp | undefined;
    try {
      const org = await createOrg(front.app, { name: 'Interrupted Ltd' });
      const asked = expectStatus(
        await as(front.app, org.owner).post(`/api/v1/orgs/${org.orgId}/exports`),
        202,
      );
      const id = asked.json().id as string;
      const deadBuild = '00000000-0000-4000-8000-00000000dead';
      const db = front.db.database.db;
      await db.execute(sql`UPDATE org_exports
          SET status = 'running', build_id = ${deadBuild}, progress = 40, started_at = now() - interval '1 hour'
        WHERE id = ${id}`);
      await db.execute(sql`INSERT INTO org_export_chunks (org_id, export_id, build_id, seq, bytes)
          VALUES (${org.orgId}, ${id}, ${deadBuild}, 0, ${Buffer.from('PK half an archive')})`);
      await db.execute(sql`UPDATE outbox_jobs
          SET attempts = 1, locked_by = 'i_dead', locked_until = now() - interval '1 second'
        WHERE kind = ${ORG_EXPORT_JOB} AND org_id = ${org.orgId}`);
      const during = expectStatus(
        await as(front.app, org.owner).get(`/api/v1/orgs/${org.orgId}/exports/${id}`),
        200,
      );
      expect(during.json()).toMatchObject({ status: 'running', progress: 40 });

      // Another instance of the same installation: the same database and audit signing key.
      worker = await createTestApp(
        {
          audit: {
            ...front.config.audit,
            signingKeyFile: path.join(front.config.dataDir, 'audit-signing-key.pem'),
          },
        },
        front.db,
      );
      await worker.drainOutbox({ kind: ORG_EXPORT_JOB });

      const done = expectStatus(
        await as(front.app, org.owner).get(`/api/v1/orgs/${org.orgId}/exports/${id}`),
        200,
      );
      expect(done.json(), worker.logs.join('')).toMatchObject({ status: 'ready', progress: 100 });
      const zip = expectStatus(
        await as(front.app, org.owner).get(`/api/v1/orgs/${org.orgId}/exports/${id}/download`),
        200,
      ).rawPayload;
      const files = unzipSync(new Uint8Array(zip));
      expect(JSON.parse(text(files['organization.json']))).toMatchObject({ name: 'Interrupted Ltd' });
      expect(await queryRows(db, sql`SELECT 1 FROM org_export_chunks WHERE build_id = ${deadBuild}`)).toEqual(
        [],
      );
      const [job] = await queryRows<{ state: string; attempts: number }>(
        db,
        sql`SELECT state, attempts FROM outbox_jobs WHERE kind = ${ORG_EXPORT_JOB} AND org_id = ${org.orgId}`,
      );
      expect(job).toEqual({ state: 'done', attempts: 2 });
    } finally {
      await worker?.close();
      await front.close();
    }
  });
});
