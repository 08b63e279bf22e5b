import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, onPostgres, type TestDatabase } from '../../../../test/support/database.ts';

/**
 * PostgreSQL going away (a restart, a failover, an administrator's pg_terminate_backend) sends
 * each session FATAL 57P01. A pooled connection checked out between two statements has no query
 * to fail with it: pg emits the error on the client, and without a listener the process would
 * die. Each instance must instead carry on, the pool replacing the connection.
 */
describe.skipIf(!onPostgres)('a pooled connection whose session the server ends', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t?.destroy();
  });

  it('does not take the process down while checked out, and the pool goes on serving', async () => {
    const pool = t.database.pool!;
    const held = await pool.connect();
    const { rows } = await held.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const ended = new Promise<void>((resolve) => held.once('end', () => resolve()));
    await pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    await ended;
    await expect(held.query('SELECT 1')).rejects.toThrow();
    held.release(true);
    const again = await pool.query<{ one: number }>('SELECT 1 AS one');
    expect(again.rows[0]!.one).toBe(1);
  });
});
