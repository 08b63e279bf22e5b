/**
 * `gatehouse scan upload FILE.sarif --app <name|id> --module <m>`: sends a SARIF log to a
 * Gatehouse server as a CI job would, with the token in GATEHOUSE_TOKEN. Exit 0 when every
 * policy passed, 1 when one failed, 2 on any error (bad token, quota, invalid file).
 */
import fs from 'node:fs/promises';
import { gzipSync } from 'node:zlib';

export interface ScanUploadOptions {
  app: string;
  module: string[];
  url?: string;
  org?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class UploadError extends Error {}

interface Problem {
  title?: string;
  detail?: string;
  code?: string;
  errors?: { field: string; message: string }[];
}

async function call(base: string, token: string, path: string, init: RequestInit = {}) {
  const res = await fetch(new URL(path, base), {
    ...init,
    headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...init.headers },
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown> & Problem;
  if (!res.ok) {
    const fields = (body.errors ?? [])
      .slice(0, 10)
      .map((e) => `\n  ${e.field}: ${e.message}`)
      .join('');
    throw new UploadError(
      `${res.status} ${body.code ?? ''}: ${body.detail ?? body.title ?? res.statusText}${fields}`,
    );
  }
  return body;
}

/** The organization the token acts in: --org, else the one membership a personal token reaches. */
async function resolveOrg(base: string, token: string, org: string | undefined): Promise<string> {
  if (org) return org;
  const me = (await call(base, token, '/api/v1/me')) as { memberships?: { org: { id: string } }[] };
  const orgs = me.memberships ?? [];
  if (orgs.length !== 1) throw new UploadError('name the organization with --org (or GATEHOUSE_ORG)');
  return orgs[0]!.org.id;
}

export async function runScanUpload(file: string, options: ScanUploadOptions): Promise<number> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  try {
    const token = process.env.GATEHOUSE_TOKEN;
    if (!token) throw new UploadError('set GATEHOUSE_TOKEN to a personal or automation token');
    const base = options.url ?? process.env.GATEHOUSE_URL ?? 'http://localhost:3000';
    const raw = await fs.readFile(file).catch((err: Error) => {
      throw new UploadError(`cannot read ${file}: ${err.message}`);
    });
    const orgId = await resolveOrg(base, token, options.org ?? process.env.GATEHOUSE_ORG);
    let applicationId = options.app;
    if (!UUID.test(applicationId)) {
      const found = (await call(
        base,
        token,
        `/api/v1/orgs/${orgId}/applications?name=${encodeURIComponent(options.app)}`,
      )) as { items: { id: string }[] };
      if (found.items.length === 0) throw new UploadError(`no application named "${options.app}"`);
      applicationId = found.items[0]!.id;
    }
    const query = new URLSearchParams({ applicationId, modules: options.module.join(',') });
    const scan = (await call(base, token, `/api/v1/orgs/${orgId}/scans?${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sarif+json', 'content-encoding': 'gzip' },
      body: gzipSync(raw),
    })) as {
      id: string;
      status: string;
      tokens: number;
      findings: Record<'total' | 'critical' | 'high' | 'medium' | 'low', number>;
      policy: { passed: boolean; violations: { name: string; failOn: string; findingCount: number }[] };
    };
    const f = scan.findings;
    out(`scan ${scan.id} ${scan.status} (${scan.tokens} tokens)`);
    out(`findings: ${f.total} (critical ${f.critical}, high ${f.high}, medium ${f.medium}, low ${f.low})`);
    if (scan.policy.passed) {
      out('policies: passed');
      return 0;
    }
    out('policies: FAILED');
    for (const v of scan.policy.violations)
      out(`  ${v.name}: ${v.findingCount} findings at or above ${v.failOn}`);
    return 1;
  } catch (err) {
    process.stderr.write(`gatehouse: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}
