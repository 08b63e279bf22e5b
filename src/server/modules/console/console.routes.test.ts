import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsoleIfStale } from '../../../../scripts/console-build.mjs';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';

let t: TestApp;
beforeAll(async () => {
  await buildConsoleIfStale({ quiet: true });
  t = await createTestApp();
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const get = (url: string) => t.app.inject({ method: 'GET', url });

describe('GET /* (the web console)', () => {
  it('serves the app at / and at every console route, never cached, never framed, scripts from itself only', async () => {
    for (const url of ['/', '/signin', '/orgs/0a5c/settings/team?x=1', '/invitations/accept']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body).toContain('<div id="root"></div>');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    }
  });

  it('serves the built assets by their hashed names, cached for good', async () => {
    const assets = fs.readdirSync(path.resolve('dist/console/assets'));
    const script = assets.find((a) => a.endsWith('.js'))!;
    const res = await get(`/assets/${script}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.rawPayload.length).toBe(fs.statSync(path.resolve('dist/console/assets', script)).size);
  });

  it('answers 404 problems for missing assets and every API or docs path, and never leaves the build', async () => {
    for (const url of ['/assets/nope.js', '/api/v1/nope', '/api/nope', '/docs/nope']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    for (const url of [
      '/../package.json',
      '/..%2fpackage.json',
      '/%2e%2e/%2e%2e/etc/passwd',
      `/${'a'.repeat(5000)}`,
    ]) {
      const res = await get(url);
      expect(res.body, url).not.toContain('"name": "gatehouse"');
      expect(res.body).not.toContain('root:');
      expect(res.statusCode).toBeLessThan(500);
    }
  });

  it('names the first API reads of a signed-in page as preloads, and only well-formed ones', async () => {
    const orgId = '0a5c1e2d-3f4b-4c5d-8e9f-0a1b2c3d4e5f';
    const preloads = (body: string) =>
      [...body.matchAll(/<link rel="preload" href="([^"]+)" as="fetch" crossorigin="anonymous">/g)].map(
        (m) => m[1],
      );
    const signedIn = (url: string) =>
      t.app.inject({ method: 'GET', url, headers: { cookie: 'gatehouse_session=whatever' } });

    expect(preloads((await signedIn(`/orgs/${orgId}/settings/team`)).body)).toEqual([
      '/api/v1/me',
      `/api/v1/orgs/${orgId}/roles`,
      `/api/v1/orgs/${orgId}/members?limit=50`,
    ]);
    expect(preloads((await signedIn(`/orgs/${orgId}/settings/roles`)).body)).toEqual(['/api/v1/me']);
    // Signed out, nothing to preload (the reads would be 401s).
    expect(preloads((await get(`/orgs/${orgId}/settings/team`)).body)).toEqual([]);
    // Only a lowercase UUID path makes it into the page: nothing a visitor types is echoed.
    for (const url of [
      `/orgs/${orgId.toUpperCase()}/settings/team`,
      '/orgs/%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E/settings/team',
      `/orgs/${orgId}"><script>/settings/team`,
    ]) {
      const res = await signedIn(url);
      expect(res.statusCode, url).toBe(200);
      expect(preloads(res.body), url).toEqual(['/api/v1/me']);
      expect(res.body).not.toContain('<script>');
    }
  });
});
