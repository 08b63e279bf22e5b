import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The `gatehouse` command as users run it. */
export const bin = path.resolve('bin/gatehouse.mjs');

/** Runs `gatehouse ARGS` to completion; stdout and stderr together. */
export function runCli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) => resolve({ code, out }));
  });
}

/** A free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A temporary folder removed by the returned cleanup. */
export function tempDirs(prefix: string) {
  const made: string[] = [];
  return {
    make: () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
      made.push(dir);
      return dir;
    },
    cleanup: () => {
      for (const d of made) fs.rmSync(d, { recursive: true, force: true });
    },
  };
}

/**
 * Starts `gatehouse serve` on a free loopback port and waits until /readyz answers 200 (at most
 * `timeoutMs`: a first start on a busy machine compiles the sources and migrates a new database).
 */
export async function startServe(env: Record<string, string>, options: { timeoutMs?: number } = {}) {
  const port = await freePort();
  const child = spawn(process.execPath, [bin, 'serve'], {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
  });
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  let gone = false;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      gone = true;
      resolve(code);
    }),
  );
  let ready = false;
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (!ready && !gone && Date.now() < deadline) {
    try {
      ready = (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  /** What the server printed so far (stdout and stderr), for a failing test to show. */
  return { child, port, ready, exited, output: () => output };
}
