// Runs after `npm ci` / `npm install` (the `prepare` script). It builds the web console
// (scripts/console-build.mjs, also run by `gatehouse serve` when the build is stale), and does two
// things that make start-up fast:
//  1. bundles the server and CLI into dist/ with esbuild, so `gatehouse` runs plain JavaScript
//     instead of compiling TypeScript on every start (bin/gatehouse.mjs falls back to the sources
//     through tsx whenever dist/ is missing or older than them);
//  2. initializes an empty embedded PostgreSQL cluster once, so the first start on a new data
//     folder copies it instead of running initdb (seconds) — the same cluster initdb would make.
// Either step may fail without failing the install: Gatehouse works without them, only slower.
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function bundle() {
  const { build } = await import('esbuild');
  const options = {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: true,
    logLevel: 'warning',
  };
  // The audit hash pool's thread script sits beside the bundle (see platform/audit/hash-pool.ts).
  await build({
    ...options,
    entryPoints: [path.join(root, 'src/server/platform/audit/hash-worker.ts')],
    outfile: path.join(root, 'dist/audit-hash-worker.mjs'),
  });
  // Split into chunks loaded on demand: a command loads what it imports, so `gatehouse audit verify`
  // (offline, often on a small machine) does not evaluate the server, its routes and their schemas.
  const dist = path.join(root, 'dist');
  for (const name of readdirSync(dist)) if (/^chunk-.*\.mjs(\.map)?$/.test(name)) rmSync(path.join(dist, name));
  await build({
    ...options,
    entryPoints: { gatehouse: path.join(root, 'src/cli/main.ts') },
    outdir: dist,
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: 'chunk-[hash]',
  });
}

async function pgliteTemplate() {
  const { register } = await import('tsx/esm/api');
  register();
  const { preparePgliteTemplate } = await import('../src/server/platform/db/client.ts');
  await preparePgliteTemplate();
}

async function consoleBuild() {
  const { buildConsoleIfStale } = await import('./console-build.mjs');
  await buildConsoleIfStale({ quiet: true });
}

for (const [name, step] of [
  ['bundle', bundle],
  ['web console', consoleBuild],
  ['embedded database template', pgliteTemplate],
]) {
  try {
    await step();
  } catch (err) {
    process.stderr.write(`gatehouse prepare: ${name} skipped (${err instanceof Error ? err.message : err})\n`);
  }
}
