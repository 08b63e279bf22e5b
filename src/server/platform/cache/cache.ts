import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import type { Database, Db, Executor } from '../db/client.ts';

const CHANNEL = 'gatehouse_invalidate';
/**
 * Payloads are `cache:key` (an invalidation) or start with `~` (control notices, see PostgresBus).
 * Instances that predate the control notices read them as a cache named `~e`, `~a`... which does
 * not exist, and ignore them.
 */
const ECHO_PREFIX = '~e:';
const ACK_PREFIX = '~a:';
const PING_PREFIX = '~p:';
const BYE_PREFIX = '~b:';
/**
 * `~w:<sender>:<topic>`: something for the other instances' workers to pick up (outbox jobs
 * committed). Sent after the commit, never in the writer's transaction: a NOTIFY there would take
 * PostgreSQL's notification lock in every such commit, queueing them one behind the other.
 */
const WAKE_PREFIX = '~w:';
/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7999;

/**
 * A bounded in-process cache whose entries are dropped the moment the data behind them changes,
 * on this instance and on every other one.
 *
 * Correctness rules:
 * - Writers call `invalidate` through the command runner: inside the transaction a NOTIFY is
 *   queued (PostgreSQL delivers it to every instance exactly when the change commits), and after
 *   commit the writer answers only once its own instance and every other live one have confirmed
 *   they applied it (bounded wait); then the local entry is dropped.
 * - A reader that loaded a value from the database stores it only if no invalidation happened
 *   while it was loading (the epoch check), so a slow read can never re-insert a stale value.
 * - If the instance loses its notification connection, or stops hearing anything on it (the
 *   heartbeat lapses), caches are bypassed until it is back: correctness first, speed second.
 */
export class InvalidatingCache<V> {
  private readonly entries = new Map<string, { value: V; storedAt: number }>();
  private epoch = 0;
  /** Lookups answered from the cache, and those that were not (the metrics read them). */
  hits = 0;
  misses = 0;

  constructor(
    readonly name: string,
    private readonly bus: InvalidationBus,
    private readonly options: { max: number; ttlMs: number },
  ) {
    bus.register(this);
  }

  get(key: string): V | undefined {
    const value = this.lookup(key);
    if (value === undefined) this.misses++;
    else this.hits++;
    return value;
  }

  private lookup(key: string): V | undefined {
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

  /** Local drop. Writers use `ctx.invalidate` (command runner) so other instances hear it too. */
  drop(key: string): void {
    this.epoch++;
    this.entries.delete(key);
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
  }

  /** Whether an entry is held for `key`, whatever the bus's health (diagnostics and tests). */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** What a command waits for after commit before it answers. */
export interface Delivery {
  /** Resolves once delivery is confirmed or given up on (bounded); never rejects. */
  wait(): Promise<void>;
  /** The transaction did not commit: stop expecting the marker. */
  cancel(): void;
}

export interface InvalidationBus {
  readonly healthy: boolean;
  register(cache: InvalidatingCache<unknown>): void;
  /** The registered cache of that name (diagnostics and tests). */
  cache(name: string): InvalidatingCache<unknown> | undefined;
  /** Every registered cache (metrics). */
  caches(): Iterable<InvalidatingCache<unknown>>;
  /** Queue the cross-instance notice inside `tx`; the caller drops the local entry after commit. */
  notify(tx: Executor, cacheName: string, key: string): Promise<void>;
  /**
   * Called once per command, inside `tx` after its last `notify`: returns what to wait for after
   * commit so that every instance has been sent the notices before the command answers, or
   * undefined when there is nothing to wait for.
   */
  beginDelivery(tx: Executor): Promise<Delivery | undefined>;
  /** Drop an entry locally (after commit). */
  dropLocal(cacheName: string, key: string): void;
  /**
   * Tells every other instance that something for `topic` was committed (outbox jobs): their
   * `onWake(topic)` listeners run. Call it after the commit; it returns at once. Notices are
   * coalesced: while one is on its way, further calls send one more after it, so a burst of
   * commits costs a notice or two, and each commit is followed by a notice sent after it. A notice
   * lost (a connection down, a crash just after commit) only delays the work until the next poll.
   * Nothing on the embedded database, where the one process wakes its own worker.
   */
  wake(topic: string): void;
  /** Calls `fn` whenever another instance sends `wake(topic)`. */
  onWake(topic: string, fn: () => void): void;
  close(): Promise<void>;
}

function payloadFor(cacheName: string, key: string): string {
  const payload = `${cacheName}:${key}`;
  if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
    throw new Error(`invalidation key for cache "${cacheName}" is too long for a notification`);
  }
  return payload;
}

abstract class BaseBus implements InvalidationBus {
  protected readonly registered = new Map<string, InvalidatingCache<unknown>>();
  protected readonly wakers = new Map<string, Array<() => void>>();
  abstract readonly healthy: boolean;

  onWake(topic: string, fn: () => void): void {
    const list = this.wakers.get(topic) ?? [];
    list.push(fn);
    this.wakers.set(topic, list);
  }

  register(cache: InvalidatingCache<unknown>): void {
    if (!/^[A-Za-z0-9_.-]+$/.test(cache.name)) throw new Error(`cache name "${cache.name}" is not allowed`);
    if (this.registered.has(cache.name)) throw new Error(`cache "${cache.name}" registered twice`);
    this.registered.set(cache.name, cache);
  }

  cache(name: string): InvalidatingCache<unknown> | undefined {
    return this.registered.get(name);
  }

  caches(): Iterable<InvalidatingCache<unknown>> {
    return this.registered.values();
  }

  dropLocal(cacheName: string, key: string): void {
    this.registered.get(cacheName)?.drop(key);
  }

  protected clearAll(): void {
    for (const cache of this.registered.values()) cache.clear();
  }

  abstract notify(tx: Executor, cacheName: string, key: string): Promise<void>;
  abstract wake(topic: string): void;
  abstract beginDelivery(tx: Executor): Promise<Delivery | undefined>;
  abstract close(): Promise<void>;
}

/** The embedded database serves exactly one process: local invalidation is complete. */
class LocalBus extends BaseBus {
  readonly healthy = true;
  wake(): void {}
  async notify(_tx: Executor, cacheName: string, key: string): Promise<void> {
    payloadFor(cacheName, key);
  }
  async beginDelivery(): Promise<undefined> {
    return undefined;
  }
  async close(): Promise<void> {}
}

export interface PostgresBusOptions {
  /** How often a ping goes from the pool through the server to the listeners. */
  heartbeatMs?: number;
  /** How long a command waits after commit for its notices to be confirmed. */
  echoTimeoutMs?: number;
  /** Connecting and subscribing must finish within this, or the attempt is abandoned. */
  connectTimeoutMs?: number;
}

type Outcome = 'delivered' | 'lost' | 'timeout';

interface Listener {
  client: pg.Client;
  socket: net.Socket;
}

interface PendingDelivery {
  /** Our own listener has the marker back. */
  echoed: boolean;
  /** Other instances that have not yet confirmed they applied the notices. */
  awaiting: Set<string>;
  settle(outcome: Outcome): void;
}

/**
 * PostgreSQL: LISTEN on a dedicated connection; reconnects with backoff, bypassing caches meanwhile.
 *
 * Delivery: a command's notices are followed, in its transaction, by a marker `~e:<nonce>`.
 * PostgreSQL delivers the notices of one transaction in order, so an instance that reads the
 * marker has applied the command's notices; it says so with `~a:<nonce>/<its id>`. The command
 * answers once its own listener has the marker back and every live instance has confirmed (or a
 * bounded wait is over). Instances are known by their heartbeats (`~p:<id>`) and say goodbye
 * (`~b:<id>`) when they close.
 *
 * Liveness: a connection can stop delivering without closing (a partition, a proxy that
 * black-holes it), so a ping is sent through the pool every `heartbeatMs`; the bus is healthy only
 * once its own first ping has come back on the connection, and while the last notice of any kind
 * arrived within 2.5 heartbeats. When that lapses the caches are cleared and the connection is
 * replaced (TCP keepalive is on too, but takes minutes to notice).
 */
export class PostgresBus extends BaseBus {
  /** Identifies this instance in notices and in `pg_stat_activity.application_name`. */
  readonly id = randomBytes(5).toString('hex');
  private listener: Listener | undefined;
  private closed = false;
  private retryMs = 250;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private lapseTimer: NodeJS.Timeout | undefined;
  private lastHeardAt = 0;
  /** Our own ping has come back on this connection: the whole path works (and peers know us). */
  private confirmed = false;
  private pingInFlight = false;
  private sendFailureLogged = false;
  private ownPingHeard: (() => void) | undefined;
  private sequence = 0;
  private readonly pending = new Map<string, PendingDelivery>();
  /** Other instances and when they were last heard from. */
  private readonly peers = new Map<string, number>();
  private readonly heartbeatMs: number;
  private readonly lapseMs: number;
  private readonly echoTimeoutMs: number;
  private readonly connectTimeoutMs: number;

  constructor(
    private readonly db: Db,
    private readonly connectionString: string,
    private readonly log: (msg: string, err?: unknown) => void,
    options: PostgresBusOptions = {},
  ) {
    super();
    this.heartbeatMs = options.heartbeatMs ?? 5_000;
    this.lapseMs = Math.round(this.heartbeatMs * 2.5);
    this.echoTimeoutMs = options.echoTimeoutMs ?? 1_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  }

  /**
   * Listening, our first ping on this connection came back, and something (a heartbeat at least)
   * arrived within 2.5 heartbeat intervals.
   */
  get healthy(): boolean {
    return this.listener !== undefined && this.confirmed && Date.now() - this.lastHeardAt <= this.lapseMs;
  }

  /** Connects, and waits (bounded) for its first ping to come back so that peers know of it. */
  async start(): Promise<void> {
    this.heartbeatTimer = setInterval(() => this.ping(), this.heartbeatMs);
    this.heartbeatTimer.unref();
    const heard = new Promise<void>((resolve) => {
      this.ownPingHeard = resolve;
    });
    await this.connect();
    if (!this.listener) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      heard,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.echoTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    // Our own socket, so that a connection that hangs can be torn down without waiting on it.
    const socket = new net.Socket();
    const client = new pg.Client({
      connectionString: this.connectionString,
      application_name: `gatehouse-cache-${this.id}`,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      stream: () => socket,
    });
    const listener: Listener = { client, socket };
    client.on('notification', (message) => this.receive(listener, message));
    client.on('error', (err) => this.lost(listener, err));
    client.on('end', () => this.lost(listener, new Error('connection ended')));
    const deadline = setTimeout(
      () => listener.socket.destroy(new Error(`not listening after ${this.connectTimeoutMs} ms`)),
      this.connectTimeoutMs,
    );
    deadline.unref();
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      clearTimeout(deadline);
      if (this.closed) {
        this.discard(listener);
        return;
      }
      this.listener = listener;
      this.confirmed = false;
      // Notices sent while we were not listening are lost: start from an empty cache.
      this.clearAll();
      this.lastHeardAt = Date.now();
      this.retryMs = 250;
      this.armLapseTimer();
      this.ping();
    } catch (err) {
      clearTimeout(deadline);
      this.discard(listener);
      this.log('cache invalidation connection failed; caches bypassed', err);
      this.schedule();
    }
  }

  private receive(listener: Listener, message: pg.Notification): void {
    if (this.listener !== listener || message.channel !== CHANNEL) return;
    const now = Date.now();
    if (now - this.lastHeardAt > this.lapseMs) {
      // Silent for too long: whatever this is, the caches may have missed notices in between.
      this.lost(listener, new Error(`nothing heard for ${now - this.lastHeardAt} ms`));
      return;
    }
    this.lastHeardAt = now;
    const payload = message.payload ?? '';
    if (payload.startsWith('~')) {
      this.control(payload.slice(0, 3), payload.slice(3), now);
      return;
    }
    const at = payload.indexOf(':');
    if (at > 0) this.dropLocal(payload.slice(0, at), payload.slice(at + 1));
  }

  private control(kind: string, body: string, now: number): void {
    switch (kind) {
      case PING_PREFIX:
        if (body === this.id) {
          this.confirmed = true;
          this.ownPingHeard?.();
          this.ownPingHeard = undefined;
        } else {
          this.peers.set(body, now);
        }
        return;
      case WAKE_PREFIX: {
        const colon = body.indexOf(':');
        // Our own: the instance that committed has woken its worker already.
        if (colon < 0 || body.slice(0, colon) === this.id) return;
        for (const fn of this.wakers.get(body.slice(colon + 1)) ?? []) fn();
        return;
      }
      case BYE_PREFIX:
        this.peers.delete(body);
        for (const [nonce, delivery] of this.pending) {
          if (delivery.awaiting.delete(body)) this.check(nonce, delivery);
        }
        return;
      case ECHO_PREFIX: {
        const sender = body.slice(0, body.indexOf('.'));
        if (sender === this.id) {
          const delivery = this.pending.get(body);
          if (delivery) {
            delivery.echoed = true;
            this.check(body, delivery);
          }
        } else {
          // Every notice of that command came before its marker, so they are applied: confirm.
          // On the listening connection itself: it is idle, and the pool may be busy.
          this.peers.set(sender, now);
          this.listener?.client
            .query('SELECT pg_notify($1, $2)', [CHANNEL, `${ACK_PREFIX}${body}/${this.id}`])
            .catch(() => {});
        }
        return;
      }
      case ACK_PREFIX: {
        const slash = body.indexOf('/');
        const nonce = body.slice(0, slash);
        const from = body.slice(slash + 1);
        if (from !== this.id) this.peers.set(from, now);
        const delivery = this.pending.get(nonce);
        if (delivery?.awaiting.delete(from)) this.check(nonce, delivery);
        return;
      }
    }
  }

  private check(nonce: string, delivery: PendingDelivery): void {
    if (delivery.echoed && delivery.awaiting.size === 0) {
      this.pending.delete(nonce);
      delivery.settle('delivered');
    }
  }

  /** Instances heard from within the lapse bound (forgets the others). */
  private livePeers(): Set<string> {
    const now = Date.now();
    const live = new Set<string>();
    for (const [id, at] of this.peers) {
      if (now - at <= this.lapseMs) live.add(id);
      else this.peers.delete(id);
    }
    return live;
  }

  /** Fires when nothing has been heard for `lapseMs`; re-arms itself while notices keep coming. */
  private armLapseTimer(): void {
    if (this.lapseTimer) clearTimeout(this.lapseTimer);
    const listener = this.listener;
    if (!listener) return;
    const remaining = this.lastHeardAt + this.lapseMs - Date.now();
    this.lapseTimer = setTimeout(
      () => {
        this.lapseTimer = undefined;
        if (this.listener !== listener) return;
        const silentFor = Date.now() - this.lastHeardAt;
        if (silentFor > this.lapseMs) {
          this.lost(listener, new Error(`heartbeat lapsed: nothing heard for ${silentFor} ms`));
        } else {
          this.armLapseTimer();
        }
      },
      Math.max(remaining + 1, 1),
    );
    this.lapseTimer.unref();
  }

  /** A notice through the pool that must come back on the listener; skipped while one is pending. */
  private ping(): void {
    if (this.closed || !this.listener || this.pingInFlight) return;
    this.pingInFlight = true;
    void this.send(`${PING_PREFIX}${this.id}`).finally(() => {
      this.pingInFlight = false;
    });
  }

  /** Sends a notice through the pool (not the listener: it may be the thing that is broken). */
  private send(payload: string): Promise<void> {
    return this.db.execute(sql`SELECT pg_notify(${CHANNEL}, ${payload})`).then(
      () => {
        this.sendFailureLogged = false;
      },
      (err) => {
        if (this.closed || this.sendFailureLogged) return;
        this.sendFailureLogged = true;
        this.log('cache invalidation heartbeat could not be sent', err); // once, until one succeeds
      },
    );
  }

  private lost(listener: Listener, err?: unknown): void {
    if (this.listener !== listener) return;
    this.listener = undefined;
    if (this.lapseTimer) clearTimeout(this.lapseTimer);
    this.lapseTimer = undefined;
    this.clearAll();
    this.settlePending('lost');
    this.discard(listener);
    if (!this.closed) {
      this.log('cache invalidation connection lost; caches bypassed until it is back', err);
      // Peers need not wait for our confirmations meanwhile: our caches are bypassed. We ping
      // again once we listen again.
      void this.send(`${BYE_PREFIX}${this.id}`);
      this.schedule();
    }
  }

  /** Ends a connection we no longer trust; it may be hung, so the socket is destroyed too. */
  private discard(listener: Listener): void {
    listener.client.end().catch(() => {});
    listener.socket.destroy();
  }

  private settlePending(outcome: Outcome): void {
    const deliveries = [...this.pending.values()];
    this.pending.clear();
    for (const delivery of deliveries) delivery.settle(outcome);
  }

  private schedule(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 10_000);
  }

  async notify(tx: Executor, cacheName: string, key: string): Promise<void> {
    await tx.execute(sql`SELECT pg_notify(${CHANNEL}, ${payloadFor(cacheName, key)})`);
  }

  /** Per topic: a notice on its way, and whether another must follow it. */
  private readonly waking = new Map<string, { again: boolean }>();

  wake(topic: string): void {
    const sending = this.waking.get(topic);
    if (sending) {
      sending.again = true;
      return;
    }
    const state = { again: false };
    this.waking.set(topic, state);
    const send = (): void => {
      void this.db
        .execute(sql`SELECT pg_notify(${CHANNEL}, ${`${WAKE_PREFIX}${this.id}:${topic}`})`)
        .catch(() => undefined)
        .finally(() => {
          if (state.again && !this.closed) {
            state.again = false;
            send();
          } else {
            this.waking.delete(topic);
          }
        });
    };
    send();
  }

  /** Queues the marker that follows the command's notices; see the class comment. */
  async beginDelivery(tx: Executor): Promise<Delivery | undefined> {
    // Not listening: this instance bypasses its caches, and could not observe the marker.
    const listener = this.listener;
    if (!listener) return undefined;
    const nonce = `${this.id}.${(++this.sequence).toString(36)}`;
    let outcome: Outcome | undefined;
    let resolve: () => void = () => {};
    const settled = new Promise<void>((r) => {
      resolve = r;
    });
    const startedAt = Date.now();
    const delivery: PendingDelivery = {
      echoed: false,
      awaiting: this.livePeers(),
      settle: (value) => {
        outcome ??= value;
        resolve();
      },
    };
    this.pending.set(nonce, delivery);
    try {
      await tx.execute(sql`SELECT pg_notify(${CHANNEL}, ${`${ECHO_PREFIX}${nonce}`})`);
    } catch (err) {
      this.pending.delete(nonce);
      throw err;
    }
    return {
      cancel: () => {
        this.pending.delete(nonce);
      },
      wait: async () => {
        if (outcome === undefined) {
          const timer = setTimeout(() => delivery.settle('timeout'), this.echoTimeoutMs);
          await settled;
          clearTimeout(timer);
        }
        this.pending.delete(nonce);
        if (outcome !== 'timeout') return;
        if (delivery.awaiting.size > 0) {
          // Alive a moment ago but silent since: stop waiting on them until they are heard from
          // again (a stuck instance goes unhealthy by its own heartbeat).
          for (const id of delivery.awaiting) {
            if ((this.peers.get(id) ?? 0) <= startedAt) this.peers.delete(id);
          }
          this.log(
            `cache invalidation not confirmed within ${this.echoTimeoutMs} ms by instance(s) ${[...delivery.awaiting].join(', ')}`,
          );
        }
        if (!delivery.echoed && this.listener === listener) {
          this.lost(listener, new Error(`own invalidation notice not back within ${this.echoTimeoutMs} ms`));
        }
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.lapseTimer) clearTimeout(this.lapseTimer);
    this.retryTimer = this.heartbeatTimer = this.lapseTimer = undefined;
    this.settlePending('lost');
    const listener = this.listener;
    this.listener = undefined;
    if (!listener) return;
    // Peers stop waiting for our confirmations; neither step may hold up shutdown.
    let timer: NodeJS.Timeout | undefined;
    const bounded = (work: Promise<unknown>, ms: number) =>
      Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() =>
        clearTimeout(timer),
      );
    await bounded(
      this.db.execute(sql`SELECT pg_notify(${CHANNEL}, ${`${BYE_PREFIX}${this.id}`})`).catch(() => {}),
      500,
    );
    const ended = listener.client.end().catch(() => {});
    await bounded(ended, 1_000);
    listener.socket.destroy();
  }
}

export async function createInvalidationBus(
  database: Database,
  connectionString: string | undefined,
  log: (msg: string, err?: unknown) => void,
  options: PostgresBusOptions = {},
): Promise<InvalidationBus> {
  if (database.kind === 'pglite' || !connectionString) return new LocalBus();
  const bus = new PostgresBus(database.db, connectionString, log, options);
  await bus.start();
  return bus;
}
