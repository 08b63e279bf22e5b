#!/usr/bin/env node
// The `gatehouse` command. Runs the bundle in dist/ (built by `npm ci` through scripts/prepare.mjs)
// when it is at least as new as every source file; otherwise runs the TypeScript sources through tsx.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = `${root}dist/gatehouse.mjs`;

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = `${dir}/${entry.name}`;
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

function bundleIsFresh() {
  if (!existsSync(bundle)) return false;
  return statSync(bundle).mtimeMs >= newestSource(`${root}src`);
}

// Settings come from the environment; a .env file in the working directory fills in what is unset.
if (existsSync('.env')) process.loadEnvFile('.env');

// The server serves the web console from dist/console: build it first when it is missing or older
// than its sources (a fresh clone, or an edit), so `npm start` always serves the console in the tree.
if (process.argv[2] === 'serve') {
  try {
    const { buildConsoleIfStale } = await import('../scripts/console-build.mjs');
    await buildConsoleIfStale();
  } catch (err) {
    process.stderr.write(
      `gatehouse: the web console could not be built (${err instanceof Error ? err.message : err})\n`,
    );
  }
}

let cli;
if (process.env.GATEHOUSE_FROM_SOURCE !== '1' && bundleIsFresh()) {
  cli = await import(bundle);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('../src/cli/main.ts');
}
await cli.runCli(process.argv);
