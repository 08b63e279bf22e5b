// Builds the web console (src/console, React + Vite) into dist/console when the build is missing
// or older than any of its sources. Used by `npm ci` (prepare), by `gatehouse serve` and by the
// browser tests, so the console the server serves is always the one in the tree.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sources = [path.join(root, 'src/console'), path.join(root, 'vite.config.ts')];
const marker = path.join(root, 'dist/console/index.html');

function newest(file) {
  const stat = statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = 0;
  for (const entry of readdirSync(file)) latest = Math.max(latest, newest(path.join(file, entry)));
  return latest;
}

export function consoleIsFresh() {
  return existsSync(marker) && statSync(marker).mtimeMs >= Math.max(...sources.map(newest));
}

/** Builds when stale; returns whether it built. */
export async function buildConsoleIfStale({ quiet = false } = {}) {
  if (consoleIsFresh()) return false;
  if (!quiet) process.stderr.write('gatehouse: building the web console (src/console → dist/console)…\n');
  const { build } = await import('vite');
  await build({ configFile: path.join(root, 'vite.config.ts'), logLevel: quiet ? 'error' : 'warn' });
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildConsoleIfStale();
}
