/**
 * Runs every benchmark in sequence, each in its own process (`node --import tsx bench/X.ts`),
 * printing its output as it comes. Exits non-zero if any of them failed.
 *
 *   node --import tsx bench/run-all.ts        (or: npm run bench)
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPTS = [
  'cold-start.ts',
  'me-throughput.ts',
  'token-throughput.ts',
  'console-load.ts',
  'login.ts',
  'sign-in-passkey.ts',
  'sign-in-second-factor.ts',
  'permissions.ts',
  'member-search.ts',
  'audit-write.ts',
  'audit-export.ts',
  'audit-verify.ts',
  'scan-admission.ts',
  'sarif-ingestion.ts',
  'outbox-write.ts',
  'webhook-fanout.ts',
  'sso.ts',
  'scim.ts',
];
/** Generous upper bound per script; each one is bounded by its own durations well below this. */
const SCRIPT_TIMEOUT_MS = 10 * 60_000;

async function run(script: string): Promise<{ code: number | null; ms: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', `bench/${script}`], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const timer = setTimeout(() => {
    process.stdout.write(`run-all: ${script} exceeded ${SCRIPT_TIMEOUT_MS / 1000} s, stopping it\n`);
    child.kill('SIGTERM');
  }, SCRIPT_TIMEOUT_MS);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, ms: performance.now() - started };
}

const summary: string[] = [];
for (const script of SCRIPTS) {
  process.stdout.write(`\n### bench/${script}\n`);
  const { code, ms } = await run(script);
  summary.push(
    `${script.padEnd(18)} ${code === 0 ? 'ok    ' : `FAILED (exit ${code})`} ${(ms / 1000).toFixed(1)} s`,
  );
  if (code !== 0) process.exitCode = 1;
}
process.stdout.write(`\n### summary\n${summary.join('\n')}\n`);
