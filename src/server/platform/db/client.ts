import fs from 'node:fs';
import path from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import { packageRoot } from '../package-root.ts';
import * as schema from './schema.ts';

export type Schema = typeof schema;
/** The drizzle database, whichever driver is underneath (PGlite and node-postgres share it). */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
/** Anything that runs queries: the database itself or an open transaction. */
export type Executor = Db | Tx;

export interface Database {
  kind: 'pglite' | 'postgres';
  db: Db;
  /** PostgreSQL only: the pool, for LISTEN connections and raw access. */
  pool?: pg.Pool;
  /** PostgreSQL only: the connection string (migrations hold their lock on a connection of their own). */
  url?: string;
  /** PGlite only: the embedded instance. */
  pglite?: PGlite;
  close(): Promise<void>;
}

// Return timestamps as JS Dates and bigint counts as numbers where they fit.
pg.types.setTypeParser(20, (v) => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
});

export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  dataDir?: string;
  poolSize?: number;
  /** An already opened PGlite (tests load one from a migrated snapshot). */
  pglite?: PGlite;
}

/** Extensions the schema uses (the migrations create them); every embedded instance loads them. */
export const PGLITE_OPTIONS = { extensions: { pg_trgm } } satisfies PGliteOptions;

/** Where `npm ci` leaves an initialized, empty cluster for this PGlite version (a cache). */
export function pgliteTemplatePath(): string {
  const manifest = path.join(packageRoot(), 'node_modules', '@electric-sql', 'pglite', 'package.json');
  const version = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version: string }).version;
  return path.join(packageRoot(), 'node_modules', '.cache', 'gatehouse', `pglite-${version}-initdb.tar.gz`);
}

/** Initializes an empty cluster and saves it as the template (run by scripts/prepare.mjs). */
export async function preparePgliteTemplate(): Promise<string> {
  const file = pgliteTemplatePath();
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const pglite = await PGlite.create();
  const dump = await pglite.dumpDataDir('gzip');
  await pglite.close();
  fs.writeFileSync(`${file}.${process.pid}.tmp`, Buffer.from(await dump.arrayBuffer()));
  fs.renameSync(`${file}.${process.pid}.tmp`, file);
  return file;
}

/**
 * Opens the embedded cluster in `dir`. A new folder starts as a copy of the template when there
 * is one (a second instead of initdb's several); the template is exactly what initdb makes.
 */
async function openPglite(dir: string): Promise<PGlite> {
  const fresh = !fs.existsSync(path.join(dir, 'PG_VERSION'));
  fs.mkdirSync(dir, { recursive: true });
  if (fresh) {
    let template: Buffer | undefined;
    try {
      template = fs.readFileSync(pgliteTemplatePath());
    } catch {
      template = undefined;
    }
    if (template) return PGlite.create(dir, { ...PGLITE_OPTIONS, loadDataDir: new Blob([template]) });
  }
  return PGlite.create(dir, PGLITE_OPTIONS);
}

/** Refusal to open a data folder that another Gatehouse process (or this one) already has open. */
export class DataDirLockedError extends Error {}

/** The lock file of a data folder: it holds the pid of the process that has the folder open. */
export function dataDirLockPath(dataDir: string): string {
  return path.join(dataDir, 'gatehouse.lock');
}

/** Lock files this process holds; a second open of the same folder in this process is refused too. */
const heldLocks = new Set<string>();
let exitHookInstalled = false;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseDataDirLock(file: string): void {
  if (!heldLocks.delete(file)) return;
  try {
    if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
  } catch {
    // Already gone: nothing to release.
  }
}

/**
 * Takes the exclusive lock on a data folder: two PGlite instances writing the same files corrupt
 * them. The lock file is created with O_EXCL and holds our pid. A lock whose process is gone
 * (killed, crashed) is stale and taken over; so is one naming our own pid that this process does
 * not hold (a container restarted with the same pid). Released by Database.close(), or at exit.
 */
async function lockDataDir(dataDir: string): Promise<() => void> {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = dataDirLockPath(fs.realpathSync(dataDir));
  const locked = (pid: number) =>
    new DataDirLockedError(
      pid === process.pid
        ? `the data folder ${dataDir} is already open in this process (pid ${pid})`
        : `the data folder ${dataDir} is in use by another Gatehouse process (pid ${pid}); ` +
            `stop it first, or delete ${file} if no such process is running`,
    );
  if (heldLocks.has(file)) throw locked(process.pid);
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      try {
        fs.writeSync(fd, `${process.pid}\n`);
      } finally {
        fs.closeSync(fd);
      }
      heldLocks.add(file);
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.on('exit', () => {
          for (const held of [...heldLocks]) releaseDataDirLock(held);
        });
      }
      return () => releaseDataDirLock(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let content: string;
    let inode: number;
    try {
      inode = fs.statSync(file).ino;
      content = fs.readFileSync(file, 'utf8').trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
      throw err;
    }
    const pid = /^\d+$/.test(content) ? Number(content) : 0;
    if (pid === 0 && attempt < 20) {
      // Just created by another process that has not written its pid yet: give it a moment.
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    if (pid !== 0 && pid !== process.pid && isAlive(pid)) throw locked(pid);
    // Stale: remove it (unless it was replaced meanwhile) and try again.
    try {
      if (fs.statSync(file).ino === inode) fs.unlinkSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new DataDirLockedError(`could not take the lock ${file} on the data folder ${dataDir}`);
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * PGlite runs each query synchronously on the main thread, and back-to-back queries would run
 * without letting timers or sockets in between. Yielding once before each query keeps the event
 * loop responsive under load (measured: sign-in burst lag p99 falls well below 20 ms).
 */
function yieldingPglite(pglite: PGlite): PGlite {
  const wrapQueries = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const value = Reflect.get(obj, prop, receiver);
        if (prop === 'query' && typeof value === 'function') {
          return async (...args: unknown[]) => {
            await yieldToEventLoop();
            return value.apply(obj, args);
          };
        }
        if (prop === 'transaction' && typeof value === 'function') {
          return (fn: (tx: object) => Promise<unknown>) =>
            value.call(obj, (tx: object) => fn(wrapQueries(tx)));
        }
        return typeof value === 'function' ? value.bind(obj) : value;
      },
    });
  return wrapQueries(pglite);
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      // A pool member that errors while idle must not crash the process.
      idleTimeoutMillis: 30_000,
    });
    pool.on('error', () => {});
    // Nor one that is checked out between two statements (a transaction awaiting other work) when
    // the server goes away — a PostgreSQL restart sends every session FATAL 57P01 at once. pg
    // emits that on the client, where no listener would crash the process; the statement that
    // uses the client next fails instead, and the pool replaces the connection.
    pool.on('connect', (client) => {
      client.on('error', () => {});
    });
    const db = drizzleNodePg({ client: pool, schema }) as unknown as Db;
    return { kind: 'postgres', db, pool, url: options.databaseUrl, close: () => pool.end() };
  }
  let pglite = options.pglite;
  let unlock: (() => void) | undefined;
  if (!pglite) {
    if (!options.dataDir) throw new Error('openDatabase needs a databaseUrl, a dataDir or a pglite instance');
    unlock = await lockDataDir(options.dataDir);
    try {
      pglite = await openPglite(path.join(options.dataDir, 'pglite'));
    } catch (err) {
      unlock();
      throw err;
    }
  }
  const instance = pglite;
  const db = drizzlePglite({ client: yieldingPglite(instance), schema }) as unknown as Db;
  return {
    kind: 'pglite',
    db,
    pglite: instance,
    close: async () => {
      try {
        if (!instance.closed) await instance.close();
      } finally {
        unlock?.();
      }
    },
  };
}
