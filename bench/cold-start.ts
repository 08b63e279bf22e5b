/**
 * Cold start to `/readyz` = 200 on the embedded database (PGlite).
 *
 * For each of RUNS fresh data folders: start `gatehouse serve` (first ever start: initdb and every
 * migration), stop it, start it again on the same folder (warm start), stop it. Time is measured
 * from spawn to the first 200 from /readyz, polled every 20 ms. Baseline: spawning
 * `node --import tsx -e 0` (the floor of any start through tsx) and plain `node -e 0`.
 *
 *   node --import tsx bench/cold-start.ts
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort, machineLine, median, ms, removeDir, sleep, tempDir } from './lib.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = 3;
const POLL_MS = 20;
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;
const TARGET_MS = 4000;

interface StartResult {
  readyMs: number;
  stopMs: number;
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  // The embedded database is what is measured, whatever the caller's shell has set.
  delete env.DATABASE_URL;
  return env;
}

async function stopChild(child: ChildProcess): Promise<number> {
  const started = performance.now();
  if (child.exitCode !== null || child.signalCode !== null) return 0;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
  return performance.now() - started;
}

async function isReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Spawns `gatehouse serve` on `dataDir`, waits for /readyz = 200, stops it. */
async function timeStart(dataDir: string): Promise<StartResult> {
  const port = await freePort();
  const readyz = `http://127.0.0.1:${port}/readyz`;
  const output: string[] = [];
  const started = performance.now();
  const child = spawn(process.execPath, ['bin/gatehouse.mjs', 'serve'], {
    cwd: ROOT,
    env: childEnv({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  let exitedEarly = false;
  child.once('exit', () => {
    exitedEarly = true;
  });
  try {
    for (;;) {
      const attemptAt = performance.now();
      if (await isReady(readyz)) break;
      if (exitedEarly) throw new Error(`server exited before it was ready:\n${output.join('')}`);
      if (attemptAt - started > START_TIMEOUT_MS) throw new Error(`not ready after ${START_TIMEOUT_MS} ms`);
      await sleep(Math.max(0, POLL_MS - (performance.now() - attemptAt)));
    }
    const readyMs = performance.now() - started;
    const stopMs = await stopChild(child);
    if (child.exitCode !== 0) {
      process.stdout.write(`  note: server exited with ${child.exitCode ?? child.signalCode} on SIGTERM\n`);
    }
    return { readyMs, stopMs };
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

/** Spawns a command that exits by itself; returns ms from spawn to exit. */
async function timeProcess(args: string[]): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${code}`);
  return performance.now() - started;
}

async function main(): Promise<void> {
  process.stdout.write(
    '== cold start: spawn `gatehouse serve` (embedded PGlite) until GET /readyz = 200 ==\n',
  );
  process.stdout.write(`${machineLine()}\n`);
  process.stdout.write(`runs: ${RUNS} each, polling every ${POLL_MS} ms, LOG_LEVEL=warn\n`);

  const floor: number[] = [];
  const plain: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    floor.push(await timeProcess(['--import', 'tsx', '-e', '0']));
    plain.push(await timeProcess(['-e', '0']));
  }

  const fresh: StartResult[] = [];
  const warm: StartResult[] = [];
  for (let i = 0; i < RUNS; i++) {
    const dir = tempDir('cold');
    try {
      const first = await timeStart(dir);
      fresh.push(first);
      const second = await timeStart(dir);
      warm.push(second);
      process.stdout.write(
        `  run ${i + 1}: fresh ${ms(first.readyMs)} (stop ${ms(first.stopMs)}), warm ${ms(second.readyMs)} (stop ${ms(second.stopMs)})\n`,
      );
    } finally {
      removeDir(dir);
    }
  }

  const freshMedian = median(fresh.map((r) => r.readyMs));
  const warmMedian = median(warm.map((r) => r.readyMs));
  const floorMedian = median(floor);
  const list = (values: number[]) => values.map((v) => v.toFixed(0)).join(', ');
  process.stdout.write(`baseline: node --import tsx -e 0   median ${ms(floorMedian)}  [${list(floor)}]\n`);
  process.stdout.write(`baseline: node -e 0                 median ${ms(median(plain))}  [${list(plain)}]\n`);
  process.stdout.write(
    `fresh data dir (initdb + migrations): median ${ms(freshMedian)}  [${list(fresh.map((r) => r.readyMs))}]\n`,
  );
  process.stdout.write(
    `warm start (same data dir):           median ${ms(warmMedian)}  [${list(warm.map((r) => r.readyMs))}]\n`,
  );
  process.stdout.write(
    `shutdown after SIGTERM:               median ${ms(median([...fresh, ...warm].map((r) => r.stopMs)))}\n`,
  );
  process.stdout.write(
    `above runtime floor: fresh +${ms(freshMedian - floorMedian)}, warm +${ms(warmMedian - floorMedian)}\n`,
  );
  const verdict = (value: number) => (value <= TARGET_MS ? 'MET' : 'MISSED');
  process.stdout.write(
    `target: <= ${TARGET_MS} ms  -> fresh ${verdict(freshMedian)} (${ms(freshMedian)}), warm ${verdict(warmMedian)} (${ms(warmMedian)})\n`,
  );
}

await main();
