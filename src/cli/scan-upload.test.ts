import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli as run, startServe, tempDirs } from '../../test/support/cli.ts';

const dirs = tempDirs('gatehouse-scan-cli-');
afterAll(dirs.cleanup);

const ORIGIN = 'http://localhost:3000';
const fixture = (name: string) => path.resolve(`test/fixtures/sarif/${name}.sarif`);

describe('gatehouse scan upload', () => {
  it('uploads to a running server: summary and exit 0, then 2 for a bad token, a bad file and an empty pool', async () => {
    const env = { DATA_DIR: dirs.make(), DATABASE_URL: '', LOG_LEVEL: 'warn', PUBLIC_URL: ORIGIN };
    expect((await run(['migrate'], env)).code).toBe(0);
    const server = await startServe(env);
    try {
      expect(server.ready).toBe(true);
      const url = `http://127.0.0.1:${server.port}`;
      const send = async (p: string, body: unknown, cookie = '') => {
        const res = await fetch(`${url}${p}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: ORIGIN, cookie },
          body: JSON.stringify(body),
        });
        return { res, json: (await res.json()) as Record<string, string> };
      };
      const signup = await send('/api/v1/auth/signup', {
        email: 'ci@example.test',
        password: 'violet-anchor-meadow-42',
        name: 'CI',
      });
      const cookie = signup.res.headers.get('set-cookie')!.split(';')[0]!;
      const org = (await send('/api/v1/orgs', { name: 'Acme', plan: 'free' }, cookie)).json;
      await send(`/api/v1/orgs/${org.id}/applications`, { name: 'Storefront' }, cookie);
      const token = (
        await send('/api/v1/me/tokens', { name: 'ci', orgId: org.id, scopes: ['write'] }, cookie)
      ).json.token!;

      const upload = (file: string, extra: Record<string, string> = {}) =>
        run(['scan', 'upload', file, '--app', 'storefront', '--module', 'sast', '--url', url], {
          GATEHOUSE_TOKEN: token,
          ...extra,
        });
      const ok = await upload(fixture('codeql'));
      expect(ok.out).toMatch(/scan [0-9a-f-]{36} completed \(15 tokens\)/);
      expect(ok.out).toContain('findings: 4 (critical 1, high 1, medium 1, low 1)');
      expect(ok.out).toContain('policies: passed');
      expect(ok.code).toBe(0);

      const badToken = await upload(fixture('codeql'), { GATEHOUSE_TOKEN: 'gtp_nope' });
      expect(badToken.code).toBe(2);
      expect(badToken.out).toContain('401');

      const notSarif = await upload(path.resolve('package.json'));
      expect(notSarif.code).toBe(2);
      expect(notSarif.out).toContain('invalid_sarif');

      // A policy of another application fails the build there: exit 1, and it says which.
      const payments = (await send(`/api/v1/orgs/${org.id}/applications`, { name: 'Payments' }, cookie)).json;
      const gate = { name: 'No criticals', failOn: 'critical', applicationIds: [payments.id] };
      expect((await send(`/api/v1/orgs/${org.id}/policies`, gate, cookie)).res.status).toBe(201);
      const failed = await run(
        ['scan', 'upload', fixture('codeql'), '--app', 'payments', '--module', 'sast', '--url', url],
        { GATEHOUSE_TOKEN: token },
      );
      expect(failed.out).toContain('policies: FAILED');
      expect(failed.out).toContain('No criticals');
      expect(failed.code).toBe(1);

      // 48 tokens a month: 30 spent, one more scan fits, the next does not.
      expect((await upload(fixture('trivy'))).code).toBe(0);
      const exhausted = await upload(fixture('trivy'));
      expect(exhausted.code).toBe(2);
      expect(exhausted.out).toContain('quota_exhausted');

      const unknownApp = await run(
        ['scan', 'upload', fixture('trivy'), '--app', 'nope', '--module', 'sast', '--url', url],
        {
          GATEHOUSE_TOKEN: token,
        },
      );
      expect(unknownApp.code).toBe(2);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  }, 240_000);
});
