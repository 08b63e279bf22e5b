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

describe('gatehouse on a data folder already in use', () => {
  it('a second migrate or serve on a running server’s DATA_DIR is refused, and allowed once it stops', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-cli-lock-'));
    dirs.push(dir);
    const env = { DATA_DIR: dir, DATABASE_URL: '', LOG_LEVEL: 'warn', HOST: '127.0.0.1' };

    const port = await freePort();
    const server = spawn(process.execPath, [bin, 'serve'], {
      env: { ...process.env, ...env, PORT: String(port) },
    });
    const exited = new Promise<number | null>((resolve) => server.on('exit', resolve));
    try {
      let ready = false;
      for (let i = 0; i < 300 && !ready; i++) {
        try {
          ready = (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      expect(ready).toBe(true);

      const migrate = await run(['migrate'], env);
      expect(migrate.code).not.toBe(0);
      expect(migrate.out).toContain(
        `the data folder ${dir} is in use by another Gatehouse process (pid ${server.pid})`,
      );
      expect(migrate.out).not.toContain('migrations applied');

      const second = await run(['serve'], { ...env, PORT: String(await freePort()) });
      expect(second.code).not.toBe(0);
      expect(second.out).toContain(`is in use by another Gatehouse process (pid ${server.pid})`);

      // The running server is unaffected.
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    } finally {
      server.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(fs.existsSync(path.join(dir, 'gatehouse.lock'))).toBe(false);

    const after = await run(['migrate'], env);
    expect(after.code).toBe(0);
    expect(after.out).toContain('migrations applied');
  });
});
