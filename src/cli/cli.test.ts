import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const bin = path.resolve('bin/gatehouse.mjs');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

describe('gatehouse CLI', () => {
  it('prints help naming its commands', async () => {
    const { code, out } = await run(['--help'], {});
    expect(code).toBe(0);
    expect(out).toMatch(/serve/);
    expect(out).toMatch(/migrate/);
  });

  it('refuses a bad setting with a clear message and exit code 2', async () => {
    const { code, out } = await run(['migrate'], { PORT: 'eighty' });
    expect(code).toBe(2);
    expect(out).toContain('PORT must be an integer');
  });

  it('migrate applies the migrations to an embedded database, serve starts on it and stops on SIGTERM', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-cli-'));
    dirs.push(dir);
    const env = { DATA_DIR: dir, DATABASE_URL: '', LOG_LEVEL: 'warn' };
    const migrated = await run(['migrate'], env);
    expect(migrated.code).toBe(0);
    expect(migrated.out).toContain('migrations applied');

    const port = await freePort();
    const child = spawn(process.execPath, [bin, 'serve'], {
      env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    let ready = false;
    for (let i = 0; i < 300 && !ready; i++) {
      try {
        ready = (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(ready).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
