/** Small helpers shared by the benchmark scripts (no dependencies beyond Node). */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The nearest-rank percentile (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

export const ms = (value: number, digits = 0) => `${value.toFixed(digits)} ms`;

/** A TCP port on the loopback interface that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `gatehouse-bench-${label}-`));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** One line describing the machine, so figures from different runs can be compared. */
export function machineLine(): string {
  const cpus = os.cpus();
  return `machine: ${cpus.length} CPU (${cpus[0]?.model.trim() ?? 'unknown'}), node ${process.version}, ${os.platform()} ${os.release()}`;
}

/** mulberry32: small, fast, seeded; the same sequence on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One JSON request to the server under test (no Origin: a non-browser client); the session cookie it set. */
export async function call(base: string, method: string, path: string, body: unknown, cookie?: string) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(cookie ? { cookie } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    text,
    cookie: res.headers
      .getSetCookie()
      .find((c) => c.startsWith('gatehouse_session='))
      ?.split(';')[0],
  };
}

const BENCH_PASSWORD = 'violet-anchor-meadow-42';

/** Signs a fresh user up on the server under test; their session cookie (`gatehouse_session=...`). */
export async function signUp(base: string): Promise<string> {
  const res = await call(base, 'POST', '/api/v1/auth/signup', {
    email: `bench-${randomBytes(5).toString('hex')}@example.test`,
    password: BENCH_PASSWORD,
    name: 'Bench User',
  });
  if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${res.text}`);
  if (!res.cookie) throw new Error('sign-up answered without a session cookie');
  return res.cookie;
}
