/** PostgreSQL helpers for the benchmarks that need a database of their own. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const ADMIN_URL =
  process.env.DATABASE_URL?.trim() ||
  process.env.BENCH_ADMIN_URL?.trim() ||
  'postgres://postgres@127.0.0.1:5432/test';

/** Benchmarks talk to loopback only. */
export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]', '::1'].includes(host)) {
    throw new Error(`refusing to benchmark a non-loopback host: ${host}`);
  }
}

/** One statement on the server of ADMIN_URL (CREATE / DROP DATABASE). */
export async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A new, empty database on the same server: its name and URL. */
export async function createBenchDatabase(): Promise<{ name: string; url: string }> {
  assertLoopback(ADMIN_URL);
  const name = `gatehouse_bench_${randomBytes(6).toString('hex')}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  await admin(`CREATE DATABASE ${name}`);
  return { name, url: url.toString() };
}

export const dropBenchDatabase = (name: string) => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
