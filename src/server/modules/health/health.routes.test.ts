import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, testConfig } from '../../../../test/support/app.ts';
import { buildApp } from '../../app.ts';
import { openDatabase, PGLITE_OPTIONS } from '../../platform/db/client.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('GET /healthz and /readyz', () => {
  it('answer ok when the database is migrated', async () => {
    for (const url of ['/healthz', '/readyz']) {
      const res = await t.app.inject({ url });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ok' });
    }
  });

  it('readyz answers 503 on a database without the migrations, healthz stays up', async () => {
    const pglite = await PGlite.create(PGLITE_OPTIONS);
    const database = await openDatabase({ pglite });
    const app = await buildApp({ config: testConfig(), database, quiet: true });
    try {
      expect((await app.inject({ url: '/readyz' })).statusCode).toBe(503);
      expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await app.close();
      await database.close();
    }
  });
});
