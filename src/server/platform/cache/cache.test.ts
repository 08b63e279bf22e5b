import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, ORIGIN, sessionCookie, signUp, type TestApp } from '../../../../test/support/app.ts';
import { createTestDatabase, onPostgres, type TestDatabase } from '../../../../test/support/database.ts';
import { hashSecretHex } from '../auth/secrets.ts';
import type { Executor } from '../db/client.ts';
import {
  createInvalidationBus,
  type Delivery,
  InvalidatingCache,
  type InvalidationBus,
  PostgresBus,
  type PostgresBusOptions,
} from './cache.ts';

/**
 * The app builds its bus through `createInvalidationBus` without options; tests that need a short
 * heartbeat set them here before creating their apps.
 */

/** A bus whose health the test controls; mirrors the real buses (a change of health clears). */
class FakeBus implements InvalidationBus {
  private readonly byName = new Map<string, InvalidatingCache<unknown>>();
  private isHealthy = true;
  get healthy(): boolean {
    return this.isHealthy;
  }
  setHealthy(value: boolean): void {
    this.isHealthy = value;
    for (const cache of this.byName.values()) cache.clear();
  }
  register(cache: InvalidatingCache<unknown>): void {
    this.byName.set(cache.name, cache);
  }
  cache(name: string): InvalidatingCache<unknown> | undefined {
    return this.byName.get(name);
  }
  caches(): Iterable<InvalidatingCache<unknown>> {
    return this.byName.values();
  }
  async notify(): Promise<void> {}
  async beginDelivery(): Promise<Delivery | undefined> {
    return undefined;
  }
  dropLocal(cacheName: string, key: string): void {
    this.byName.get(cacheName)?.drop(key);
  }
  wake(): void {}
  onWake(): void {}
  async close(): Promise<void> {}
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('InvalidatingCache', () => {
  const make = (bus = new FakeBus(), options = { max: 100, ttlMs: 60_000 }) => ({
    bus,
    cache: new InvalidatingCache<string>('things', bus, options),
  });

  it('stores what it loaded and serves it without loading again', async () => {
    const { cache } = make();
    const loader = vi.fn(async () => 'v1');
    expect(await cache.load('k', loader)).toBe('v1');
    expect(await cache.load('k', loader)).toBe('v1');
    expect(loader).toHaveBeenCalledTimes(1);
    expect(cache.get('k')).toBe('v1');
  });

  it('does not store undefined', async () => {
    const { cache } = make();
    expect(await cache.load('k', async () => undefined)).toBeUndefined();
    expect(cache.has('k')).toBe(false);
  });

  it('never stores a value whose load raced an invalidation of that key', async () => {
    const { cache } = make();
    const slow = deferred<string>();
    const loading = cache.load('k', () => slow.promise);
    cache.drop('k'); // the writer committed and its notice arrived while the read was in flight
    slow.resolve('stale');
    expect(await loading).toBe('stale'); // the caller gets what it read...
    expect(cache.has('k')).toBe(false); // ...but it is not kept
    expect(await cache.load('k', async () => 'fresh')).toBe('fresh');
    expect(cache.get('k')).toBe('fresh');
  });

  it('is conservative: an invalidation of any key, or a clear, during a load prevents the store', async () => {
    const { cache } = make();
    const first = deferred<string>();
    const loading = cache.load('a', () => first.promise);
    cache.drop('b');
    first.resolve('a1');
    await loading;
    expect(cache.has('a')).toBe(false);

    const second = deferred<string>();
    const again = cache.load('a', () => second.promise);
    cache.clear();
    second.resolve('a2');
    await again;
    expect(cache.has('a')).toBe(false);
  });

  it('of two overlapping loads, one that started before an invalidation is dropped, a later one is kept', async () => {
    const { cache } = make();
    const early = deferred<string>();
    const late = deferred<string>();
    const earlyLoad = cache.load('k', () => early.promise);
    cache.drop('k');
    const lateLoad = cache.load('k', () => late.promise);
    late.resolve('new');
    await lateLoad;
    early.resolve('old'); // finishes last, with the value from before the change
    await earlyLoad;
    expect(cache.get('k')).toBe('new');
  });

  it('bypasses the cache while the bus is unhealthy and keeps nothing loaded meanwhile', async () => {
    const { bus, cache } = make();
    await cache.load('k', async () => 'v1');
    bus.setHealthy(false);
    expect(cache.get('k')).toBeUndefined();
    expect(await cache.load('k', async () => 'v2')).toBe('v2');
    expect(cache.has('k')).toBe(false);
    // A load that spans the return of health is not kept either: it may predate missed notices.
    const slow = deferred<string>();
    const loading = cache.load('k', () => slow.promise);
    bus.setHealthy(true);
    slow.resolve('v3');
    await loading;
    expect(cache.has('k')).toBe(false);
    expect(await cache.load('k', async () => 'v4')).toBe('v4');
    expect(cache.get('k')).toBe('v4');
  });

  it('a load that starts healthy and ends unhealthy is not kept', async () => {
    const { bus, cache } = make();
    const slow = deferred<string>();
    const loading = cache.load('k', () => slow.promise);
    bus.setHealthy(false);
    slow.resolve('v');
    await loading;
    expect(cache.has('k')).toBe(false);
  });

  it('expires entries after the TTL and evicts the oldest beyond max', async () => {
    const { cache } = make(new FakeBus(), { max: 2, ttlMs: 30 });
    await cache.load('a', async () => 'a');
    await cache.load('b', async () => 'b');
    await cache.load('c', async () => 'c');
    expect(cache.has('a')).toBe(false);
    expect(cache.size).toBe(2);
    await sleep(50);
    expect(cache.get('b')).toBeUndefined();
  });

  it('refuses cache names that would be ambiguous in a notice, and over-long keys', async () => {
    const bus = await createInvalidationBus({ kind: 'pglite' } as never, undefined, () => {});
    expect(() => new InvalidatingCache('a:b', bus, { max: 1, ttlMs: 1 })).toThrow();
    expect(() => new InvalidatingCache('~e', bus, { max: 1, ttlMs: 1 })).toThrow();
    await expect(bus.notify({} as Executor, 'x', 'k'.repeat(8_000))).rejects.toThrow(/too long/);
  });
});

/** When `check` holds, or throws after `ms`; returns the time it took. */
async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(5);
  }
  return Date.now() - start;
}

const tokenHash = (cookie: string) => hashSecretHex(cookie.slice(cookie.indexOf('=') + 1));
const me = (t: TestApp, cookie: string) => t.app.inject({ url: '/api/v1/me', headers: { cookie } });
const logout = (t: TestApp, cookie: string) =>
  t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie, origin: ORIGIN } });
const sessionsCache = (t: TestApp) => t.app.gatehouse.bus.cache('sessions')!;
const busOf = (t: TestApp) => t.app.gatehouse.bus as PostgresBus;

describe.runIf(onPostgres)('revocation across instances is effective on the very next request', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp();
    b = await createTestApp({}, a.db);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('100 rounds: logout on A, then the next GET /me on B (which had it cached) is 401', async () => {
    const failures: number[] = [];
    for (let round = 0; round < 100; round++) {
      const { cookie } = await signUp(a.app);
      expect((await me(b, cookie)).statusCode).toBe(200);
      expect(b.app.gatehouse.bus.healthy).toBe(true);
      expect(sessionsCache(b).has(tokenHash(cookie))).toBe(true); // B serves it from memory
      expect((await logout(a, cookie)).statusCode).toBe(204);
      if ((await me(b, cookie)).statusCode !== 401) failures.push(round);
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('a password change on A ends, on the next request, the sessions B had cached', async () => {
    for (let round = 0; round < 10; round++) {
      const { email, password, cookie } = await signUp(a.app);
      const other = sessionCookie(
        await b.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { email, password },
          headers: { origin: ORIGIN },
        }),
      );
      expect((await me(b, other)).statusCode).toBe(200);
      const res = await a.app.inject({
        method: 'POST',
        url: '/api/v1/me/password',
        payload: { currentPassword: password, newPassword: `an-entirely-new-phrase-${round}` },
        headers: { cookie, origin: ORIGIN },
      });
      expect(res.statusCode).toBe(204);
      expect((await me(b, other)).statusCode).toBe(401);
    }
  }, 60_000);

  it('a profile change on A is what the next GET /me on B shows', async () => {
    const { cookie } = await signUp(a.app, { name: 'Before' });
    for (let round = 0; round < 20; round++) {
      expect((await me(b, cookie)).statusCode).toBe(200);
      await a.app.inject({
        method: 'PATCH',
        url: '/api/v1/me',
        payload: { name: `Name ${round}` },
        headers: { cookie, origin: ORIGIN },
      });
      expect((await me(b, cookie)).json().user.name).toBe(`Name ${round}`);
    }
  });

  it('a listener killed by the server (pg_terminate_backend) is replaced; meanwhile nothing stale is served', async () => {
    const { cookie } = await signUp(a.app);
    expect((await me(b, cookie)).statusCode).toBe(200);
    expect(sessionsCache(b).has(tokenHash(cookie))).toBe(true);
    const admin = new pg.Client({ connectionString: a.db.url });
    await admin.connect();
    try {
      const application = `gatehouse-cache-${busOf(b).id}`;
      const killed = await admin.query<{ pid: number }>(
        'SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [application],
      );
      expect(killed.rows).toHaveLength(1);
      await until(() => !b.app.gatehouse.bus.healthy, 2_000, 'B notices the lost connection');
      expect(sessionsCache(b).size).toBe(0); // cleared the moment it was lost
      expect((await logout(a, cookie)).statusCode).toBe(204);
      expect((await me(b, cookie)).statusCode).toBe(401);
      await until(() => b.app.gatehouse.bus.healthy, 10_000, 'B listens again');
      const again = await admin.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE application_name = $1',
        [application],
      );
      expect(again.rows.map((r) => r.pid)).not.toContain(killed.rows[0]!.pid);
      expect(again.rows).toHaveLength(1);
    } finally {
      await admin.end();
    }
    expect(b.logs.join('')).toContain('cache invalidation connection lost');
    // Back to normal: cached, and revoked on the next request.
    const next = await signUp(a.app);
    expect((await me(b, next.cookie)).statusCode).toBe(200);
    expect(sessionsCache(b).has(tokenHash(next.cookie))).toBe(true);
    expect((await logout(a, next.cookie)).statusCode).toBe(204);
    expect((await me(b, next.cookie)).statusCode).toBe(401);
  });
});

/**
 * A TCP proxy to PostgreSQL that can stop forwarding while keeping every connection open: a
 * network path that silently stops delivering (partition, stuck proxy).
 */
class FreezableProxy {
  private frozen = false;
  private readonly sockets = new Set<net.Socket>();
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<FreezableProxy> {
    let proxy: FreezableProxy | undefined;
    const server = net.createServer((downstream) => proxy!.accept(downstream, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new FreezableProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  private accept(downstream: net.Socket, target: { host: string; port: number }): void {
    const upstream = net.connect(target.port, target.host);
    for (const [from, to] of [
      [downstream, upstream],
      [upstream, downstream],
    ] as const) {
      this.sockets.add(from);
      if (this.frozen) from.pause();
      from.on('data', (chunk) => to.write(chunk));
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
      from.on('error', () => to.destroy());
    }
  }

  /** Nothing is read from either side any more; connections stay open. */
  freeze(): void {
    this.frozen = true;
    for (const socket of this.sockets) socket.pause();
  }

  thaw(): void {
    this.frozen = false;
    for (const socket of this.sockets) socket.resume();
  }

  url(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function target(databaseUrl: string): { host: string; port: number } {
  const url = new URL(databaseUrl);
  return { host: url.hostname || '127.0.0.1', port: Number(url.port || 5432) };
}

const HEARTBEAT_MS = 400;
const LAPSE_MS = HEARTBEAT_MS * 2.5;

describe.runIf(onPostgres)('a listener that silently stops receiving', () => {
  let a: TestApp;
  let b: TestApp;
  let proxy: FreezableProxy;
  beforeAll(async () => {
    a = await createTestApp({ cacheHeartbeatMs: HEARTBEAT_MS });
    proxy = await FreezableProxy.start(target(a.db.url!));
    // B's pool is the shared, direct one; only its LISTEN connection goes through the proxy.
    b = await createTestApp({ cacheHeartbeatMs: HEARTBEAT_MS }, { ...a.db, url: proxy.url(a.db.url!) });
    await until(() => b.app.gatehouse.bus.healthy, 10_000, 'B listening');
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await proxy?.close();
  });

  it('stays healthy on heartbeats alone while nothing else happens', async () => {
    const start = Date.now();
    while (Date.now() - start < LAPSE_MS * 3) {
      expect(b.app.gatehouse.bus.healthy).toBe(true);
      await sleep(20);
    }
  });

  it('goes unhealthy within the heartbeat bound, refuses the revoked session, and recovers', async () => {
    const { cookie } = await signUp(a.app);
    const live = await signUp(a.app);
    expect((await me(b, cookie)).statusCode).toBe(200);
    expect(sessionsCache(b).has(tokenHash(cookie))).toBe(true);

    proxy.freeze(); // B's connection stays open, but nothing arrives on it any more
    const unhealthy = until(() => !b.app.gatehouse.bus.healthy, 10_000, 'B unhealthy');
    // B cannot confirm the logout; A answers when B gives up on its connection (B says so, its
    // caches cleared) or after its own bounded wait, whichever comes first; never with an error.
    const out = await logout(a, cookie);
    expect(out.statusCode).toBe(204);
    // B stops trusting its cache once its heartbeat lapses.
    await unhealthy;
    expect((await me(b, cookie)).statusCode).toBe(401);
    await until(() => b.logs.join('').includes('heartbeat lapsed'), 10_000, 'B tore the connection down');
    expect(sessionsCache(b).size).toBe(0);

    // Meanwhile B answers from the database and keeps nothing.
    expect((await me(b, live.cookie)).statusCode).toBe(200);
    expect(sessionsCache(b).has(tokenHash(live.cookie))).toBe(false);
    // A command on B still answers promptly.
    expect((await logout(b, live.cookie)).statusCode).toBe(204);
    expect((await me(a, live.cookie)).statusCode).toBe(401);

    proxy.thaw();
    await until(() => b.app.gatehouse.bus.healthy, 10_000, 'B listens again');
    await sleep(HEARTBEAT_MS); // A hears B's pings again
    const next = await signUp(a.app);
    expect((await me(b, next.cookie)).statusCode).toBe(200);
    expect(sessionsCache(b).has(tokenHash(next.cookie))).toBe(true);
    expect((await logout(a, next.cookie)).statusCode).toBe(204);
    expect((await me(b, next.cookie)).statusCode).toBe(401);
  }, 30_000);

  it('with the heartbeat alone (no command), a stale session is served at most until the lapse', async () => {
    const { cookie } = await signUp(a.app);
    expect((await me(b, cookie)).statusCode).toBe(200);
    expect(sessionsCache(b).has(tokenHash(cookie))).toBe(true);
    proxy.freeze();
    // Revoked behind the bus's back (as if the notice were lost on the way): only the lapse helps.
    await a.db.database.pool!.query('DELETE FROM sessions WHERE token_hash = $1', [
      Buffer.from(tokenHash(cookie), 'hex'),
    ]);
    const statuses: number[] = [];
    await until(
      async () => statuses[statuses.push((await me(b, cookie)).statusCode) - 1] === 401,
      10_000,
      'refused on B',
    );
    expect(statuses[0]).toBe(200); // the window the heartbeat bounds: nothing told B yet
    proxy.thaw();
    await until(() => b.app.gatehouse.bus.healthy, 10_000, 'B listens again');
  }, 30_000);
});

const errorsText = (entries: Array<[string, unknown]>) =>
  entries.map(([msg, err]) => `${msg} ${err instanceof Error ? err.message : ''}`).join('\n');

describe.runIf(onPostgres)('PostgresBus', () => {
  let db: TestDatabase;
  let proxy: FreezableProxy;
  let admin: pg.Client;
  const pings: string[] = [];
  const buses: PostgresBus[] = [];
  async function bus(options: PostgresBusOptions & { viaProxy?: boolean }) {
    const log: Array<[string, unknown]> = [];
    const url = options.viaProxy ? proxy.url(db.url!) : db.url!;
    const made = new PostgresBus(db.database.db, url, (msg, err) => log.push([msg, err]), {
      connectTimeoutMs: 500,
      ...options,
    });
    buses.push(made);
    await made.start();
    return { bus: made, log };
  }
  async function deliver(via: PostgresBus, cacheName: string, key: string): Promise<number> {
    let delivery: Delivery | undefined;
    await db.database.db.transaction(async (tx) => {
      await via.notify(tx, cacheName, key);
      delivery = await via.beginDelivery(tx);
    });
    const startedAt = Date.now();
    await delivery?.wait();
    return Date.now() - startedAt;
  }
  beforeAll(async () => {
    db = await createTestDatabase();
    proxy = await FreezableProxy.start(target(db.url!));
    admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    admin.on('notification', (m) => {
      if (m.payload?.startsWith('~p:')) pings.push(m.payload);
    });
    await admin.query('LISTEN gatehouse_invalidate');
  });
  afterAll(async () => {
    for (const made of buses) await made.close();
    await admin?.end();
    await proxy?.close();
    await db?.destroy();
  });

  it('answers once every instance has applied the notice', async () => {
    const x = await bus({ heartbeatMs: 60_000 });
    const y = await bus({ heartbeatMs: 60_000 });
    const onX = new InvalidatingCache<string>('things', x.bus, { max: 10, ttlMs: 60_000 });
    const onY = new InvalidatingCache<string>('things', y.bus, { max: 10, ttlMs: 60_000 });
    for (let i = 0; i < 50; i++) {
      await onX.load('k', async () => 'v');
      await onY.load('k', async () => 'v');
      await deliver(x.bus, 'things', 'k');
      expect(onX.has('k')).toBe(false);
      expect(onY.has('k')).toBe(false); // no wait, no retry: Y confirmed before X answered
    }
    // Y leaves: X stops waiting for it at once.
    await y.bus.close();
    await sleep(50);
    await deliver(x.bus, 'things', 'k');
    await x.bus.close();
  });

  it('a peer that stops confirming costs one bounded wait, and the command still answers', async () => {
    const x = await bus({ heartbeatMs: 60_000, echoTimeoutMs: 300 });
    const y = await bus({ heartbeatMs: 60_000, viaProxy: true });
    await deliver(x.bus, 'c', 'k');
    proxy.freeze();
    await deliver(x.bus, 'c', 'k');
    expect(errorsText(x.log)).toContain(`not confirmed within 300 ms by instance(s) ${y.bus.id}`);
    expect(x.bus.healthy).toBe(true); // its own listener is fine
    await deliver(x.bus, 'c', 'k'); // forgotten until heard from again: no second warning
    expect(errorsText(x.log).split('not confirmed within').length).toBe(2);
    proxy.thaw();
    await y.bus.close();
    await x.bus.close();
  });

  it('when its own notice does not come back, the command answers after the timeout and the bus resets', async () => {
    const x = await bus({ heartbeatMs: 60_000, echoTimeoutMs: 300, viaProxy: true });
    const cache = new InvalidatingCache<string>('things', x.bus, { max: 10, ttlMs: 60_000 });
    await cache.load('k', async () => 'v');
    await deliver(x.bus, 'things', 'k');
    expect(cache.has('k')).toBe(false);

    await cache.load('k', async () => 'v');
    proxy.freeze();
    await deliver(x.bus, 'things', 'k');
    expect(x.bus.healthy).toBe(false);
    expect(cache.size).toBe(0);
    expect(errorsText(x.log)).toContain('own invalidation notice not back within 300 ms');
    // While it reconnects, commands still complete.
    await deliver(x.bus, 'things', 'k');
    proxy.thaw();
    await until(() => x.bus.healthy, 10_000, 'listening again');
    await x.bus.close();
  });

  it('a rolled-back command leaves no pending marker', async () => {
    const x = await bus({ heartbeatMs: 60_000 });
    let delivery: Delivery | undefined;
    await expect(
      db.database.db.transaction(async (tx) => {
        await x.bus.notify(tx, 'x', 'k');
        delivery = await x.bus.beginDelivery(tx);
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    delivery!.cancel();
    expect((x.bus as unknown as { pending: Map<string, unknown> }).pending.size).toBe(0);
    await x.bus.close();
  });

  it('pings on its heartbeat, lapses without them, and stops everything on close', async () => {
    const x = await bus({ heartbeatMs: 100, viaProxy: true });
    const mine = () => pings.filter((p) => p === `~p:${x.bus.id}`).length;
    await until(() => mine() >= 4, 10_000, 'pings'); // one at connect, then one per heartbeat
    expect(x.bus.healthy).toBe(true);

    proxy.freeze(); // the connection stays open; nothing arrives on it
    await until(() => !x.bus.healthy, 10_000, 'lapse');
    await until(() => errorsText(x.log).includes('heartbeat lapsed'), 10_000, 'torn down');
    proxy.thaw();
    await until(() => x.bus.healthy, 10_000, 'listening again');

    await x.bus.close();
    const afterClose = mine();
    await sleep(350);
    expect(mine()).toBe(afterClose);
    expect(x.bus.healthy).toBe(false);
  });
});
