import { sql } from 'drizzle-orm';
import pg from 'pg';
import type { Database, Executor } from '../db/client.ts';

const CHANNEL = 'gatehouse_invalidate';

/**
 * A bounded in-process cache whose entries are dropped the moment the data behind them changes,
 * on this instance and on every other one.
 *
 * Correctness rules:
 * - Writers call `invalidate` through the command runner: inside the transaction a NOTIFY is
 *   queued (PostgreSQL delivers it to every instance exactly when the change commits), and after
 *   commit the local entry is dropped.
 * - A reader that loaded a value from the database stores it only if no invalidation happened
 *   while it was loading (the epoch check), so a slow read can never re-insert a stale value.
 * - If the instance loses its notification connection, caches are bypassed until it is back:
 *   correctness first, speed second.
 */
export class InvalidatingCache<V> {
  private readonly entries = new Map<string, { value: V; storedAt: number }>();
  private epoch = 0;

  constructor(
    readonly name: string,
    private readonly bus: InvalidationBus,
    private readonly options: { max: number; ttlMs: number },
  ) {
    bus.register(this);
  }

  get(key: string): V | undefined {
    if (!this.bus.healthy) return undefined;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (Date.now() - entry.storedAt > this.options.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Returns the cached value or loads it; `undefined` results are not cached. */
  async load(key: string, loader: () => Promise<V | undefined>): Promise<V | undefined> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const epochAtStart = this.epoch;
    const value = await loader();
    if (value !== undefined && this.bus.healthy && this.epoch === epochAtStart) this.store(key, value);
    return value;
  }

  /** Replaces a value this instance itself just computed (e.g. a fresher last-seen time). */
  update(key: string, value: V): void {
    if (this.entries.has(key)) this.entries.set(key, { value, storedAt: this.entries.get(key)!.storedAt });
  }

  private store(key: string, value: V): void {
    if (this.entries.size >= this.options.max) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, storedAt: Date.now() });
  }

  /** Local drop. Use `InvalidationBus.invalidate` from writers so other instances hear it too. */
  drop(key: string): void {
    this.epoch++;
    this.entries.delete(key);
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

export interface InvalidationBus {
  readonly healthy: boolean;
  register(cache: InvalidatingCache<unknown>): void;
  /** Queue the cross-instance notice inside `tx`; the caller drops the local entry after commit. */
  notify(tx: Executor, cacheName: string, key: string): Promise<void>;
  /** Drop an entry locally (after commit). */
  dropLocal(cacheName: string, key: string): void;
  close(): Promise<void>;
}

abstract class BaseBus implements InvalidationBus {
  protected readonly caches = new Map<string, InvalidatingCache<unknown>>();
  abstract readonly healthy: boolean;

  register(cache: InvalidatingCache<unknown>): void {
    if (this.caches.has(cache.name)) throw new Error(`cache "${cache.name}" registered twice`);
    this.caches.set(cache.name, cache);
  }

  dropLocal(cacheName: string, key: string): void {
    this.caches.get(cacheName)?.drop(key);
  }

  protected clearAll(): void {
    for (const cache of this.caches.values()) cache.clear();
  }

  abstract notify(tx: Executor, cacheName: string, key: string): Promise<void>;
  abstract close(): Promise<void>;
}

/** The embedded database serves exactly one process: local invalidation is complete. */
class LocalBus extends BaseBus {
  readonly healthy = true;
  async notify(): Promise<void> {}
  async close(): Promise<void> {}
}

/** PostgreSQL: LISTEN on a dedicated connection; reconnects with backoff, bypassing caches meanwhile. */
class PostgresBus extends BaseBus {
  private client: pg.Client | undefined;
  private connected = false;
  private closed = false;
  private retryMs = 250;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly log: (msg: string, err?: unknown) => void,
  ) {
    super();
  }

  get healthy(): boolean {
    return this.connected;
  }

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.connectionString });
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      const at = message.payload.indexOf(':');
      if (at > 0) this.dropLocal(message.payload.slice(0, at), message.payload.slice(at + 1));
    });
    const lost = (err?: unknown) => {
      if (this.client !== client) return;
      this.client = undefined;
      this.connected = false;
      this.clearAll();
      client.end().catch(() => {});
      if (!this.closed) {
        this.log('cache invalidation connection lost; caches bypassed until it is back', err);
        this.schedule();
      }
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.client = client;
      // Notices sent while we were not listening are lost: start from an empty cache.
      this.clearAll();
      this.connected = true;
      this.retryMs = 250;
    } catch (err) {
      client.end().catch(() => {});
      this.log('cache invalidation connection failed; caches bypassed', err);
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, this.retryMs);
    this.timer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 10_000);
  }

  async notify(tx: Executor, cacheName: string, key: string): Promise<void> {
    await tx.execute(sql`SELECT pg_notify(${CHANNEL}, ${`${cacheName}:${key}`})`);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.connected = false;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    if (client) await client.end().catch(() => {});
  }
}

export async function createInvalidationBus(
  database: Database,
  connectionString: string | undefined,
  log: (msg: string, err?: unknown) => void,
): Promise<InvalidationBus> {
  if (database.kind === 'pglite' || !connectionString) return new LocalBus();
  const bus = new PostgresBus(connectionString, log);
  await bus.start();
  return bus;
}
