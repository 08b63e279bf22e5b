import { createHash, timingSafeEqual } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/client.ts';
import { UnauthenticatedError } from '../errors/app-error.ts';

/** What the webhooks module counts, one per delivery attempt (see `Metrics.webhookDelivery`). */
export type WebhookOutcome = 'delivered' | 'failed' | 'given_up' | 'disabled' | 'skipped';

/** What the scrape reads from elsewhere when it runs (cheap, no per-event work). */
export interface MetricSources {
  database: Database;
  /** Entries appended by this instance's audit chain writer, by chain kind. */
  auditAppended(): ReadonlyMap<string, number>;
  /** Lookups in this instance's caches: hits and misses, by cache. */
  cacheLookups(): Iterable<{ name: string; hits: number; misses: number }>;
}

interface OutboxDepth {
  due: number;
  scheduled: number;
  dead: number;
  age: number;
}

/** Requests that matched no route (404s, scanners): one label, whatever the path. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * This instance's metrics, in a registry of its own: several apps built in one process (tests,
 * benchmarks) never share a series. Counters that happen on a hot path (requests, deliveries,
 * outbox attempts) are incremented where they happen; everything else (pool, outbox depth, audit
 * appends, cache lookups) is read when Prometheus scrapes.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'method' | 'route' | 'status'>;
  private readonly webhooks: Counter<'outcome'>;
  private readonly attempts: Counter<'kind' | 'outcome'>;
  private inFlight = 0;

  constructor(private readonly sources: MetricSources) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'gatehouse_http_requests_total',
      help: 'HTTP requests answered, by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'gatehouse_http_request_duration_seconds',
      help: 'Time to answer HTTP requests, by method, route template and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const self = this;
    new Gauge({
      name: 'gatehouse_http_requests_in_flight',
      help: 'HTTP requests being answered now',
      registers,
      collect() {
        this.set(self.inFlight);
      },
    });
    this.webhooks = new Counter({
      name: 'gatehouse_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome: delivered (2xx), failed (tried again later), given_up (attempts spent), disabled (the webhook was turned off: 410 or failing for days), skipped (the webhook was off)',
      labelNames: ['outcome'],
      registers,
    });
    this.attempts = new Counter({
      name: 'gatehouse_outbox_attempts_total',
      help: 'Outbox job attempts carried out by this instance, by job kind and outcome (done, retry, dead)',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    const pool = sources.database.pool;
    if (pool) {
      new Gauge({
        name: 'gatehouse_db_pool_connections',
        help: 'PostgreSQL pool connections: open (total) and idle among them',
        labelNames: ['state'],
        registers,
        collect() {
          this.set({ state: 'total' }, pool.totalCount);
          this.set({ state: 'idle' }, pool.idleCount);
        },
      });
      new Gauge({
        name: 'gatehouse_db_pool_waiting_requests',
        help: 'Queries waiting for a free pool connection',
        registers,
        collect() {
          this.set(pool.waitingCount);
        },
      });
      new Gauge({
        name: 'gatehouse_db_pool_max_connections',
        help: 'The pool size (DATABASE_POOL_SIZE)',
        registers,
        collect() {
          this.set(pool.options.max ?? 10);
        },
      });
    }
    new Gauge({
      name: 'gatehouse_outbox_jobs',
      help: 'Outbox jobs by state: due (pending and due now), scheduled (pending, due later), dead (given up, kept for retry)',
      labelNames: ['state'],
      registers,
      async collect() {
        const row = await self.readOutbox();
        this.set({ state: 'due' }, row.due);
        this.set({ state: 'scheduled' }, row.scheduled);
        this.set({ state: 'dead' }, row.dead);
      },
    });
    new Gauge({
      name: 'gatehouse_outbox_oldest_due_age_seconds',
      help: 'How long the oldest due outbox job has been waiting (0 when none is due)',
      registers,
      async collect() {
        this.set((await self.readOutbox()).age);
      },
    });
    new Counter({
      name: 'gatehouse_audit_entries_appended_total',
      help: 'Audit entries appended by this instance, by chain kind (org, account)',
      labelNames: ['chain'],
      registers,
      collect() {
        this.reset();
        for (const [chain, n] of sources.auditAppended()) this.inc({ chain }, n);
      },
    });
    new Counter({
      name: 'gatehouse_cache_lookups_total',
      help: "Lookups in this instance's caches, by cache and result (hit, miss)",
      labelNames: ['cache', 'result'],
      registers,
      collect() {
        this.reset();
        for (const c of sources.cacheLookups()) {
          this.inc({ cache: c.name, result: 'hit' }, c.hits);
          this.inc({ cache: c.name, result: 'miss' }, c.misses);
        }
      },
    });
  }

  private outboxRead: Promise<OutboxDepth> | undefined;

  /** One query per scrape for the outbox gauges (their collectors run side by side). */
  private readOutbox(): Promise<OutboxDepth> {
    this.outboxRead ??= (async () => {
      try {
        // The partial indexes on pending and on finished jobs serve it.
        const result = (await this.sources.database.db.execute(sql`
          SELECT count(*) FILTER (WHERE state = 'pending' AND run_at <= now())::int AS due,
                 count(*) FILTER (WHERE state = 'pending' AND run_at > now())::int AS scheduled,
                 count(*) FILTER (WHERE state = 'dead')::int AS dead,
                 coalesce(extract(epoch FROM now() - min(run_at) FILTER (WHERE state = 'pending' AND run_at <= now())), 0)::float8 AS age
            FROM outbox_jobs WHERE state IN ('pending', 'dead')`)) as unknown as { rows: OutboxDepth[] };
        const row = result.rows[0];
        return {
          due: Number(row?.due ?? 0),
          scheduled: Number(row?.scheduled ?? 0),
          dead: Number(row?.dead ?? 0),
          age: Math.max(0, Number(row?.age ?? 0)),
        };
      } finally {
        this.outboxRead = undefined;
      }
    })();
    return this.outboxRead;
  }

  /** Process metrics (CPU, memory, event loop lag, handles): only where they are scraped. */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry });
  }

  requestStarted(): void {
    this.inFlight++;
  }

  requestClosed(): void {
    this.inFlight--;
  }

  requestEnded(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
  }

  webhookDelivery(outcome: WebhookOutcome): void {
    this.webhooks.inc({ outcome });
  }

  outboxAttempt(kind: string, outcome: 'done' | 'retry' | 'dead'): void {
    this.attempts.inc({ kind, outcome });
  }
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Counts every request by its route's template (`/api/v1/orgs/:orgId/members`), never its path:
 * requests that matched no route share one label, so a scanner cannot grow the series. With a
 * token, serves GET /metrics to that bearer only (compared in constant time); without one the
 * route does not exist.
 */
export function installMetrics(app: FastifyInstance, metrics: Metrics, token: string | undefined): void {
  app.addHook('onRequest', async (_request, reply) => {
    metrics.requestStarted();
    // Over once the answer is sent, or the connection dropped before it was.
    reply.raw.once('close', () => metrics.requestClosed());
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    const method = METHODS.has(request.method) ? request.method : 'OTHER';
    metrics.requestEnded(
      method,
      reply.statusCode === 404 && !request.routeOptions.url ? UNMATCHED_ROUTE : route,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
  });
  if (!token) return;
  metrics.collectProcessMetrics();
  const expected = createHash('sha256').update(token).digest();
  app.get(
    '/metrics',
    // Public to the access policy: the bearer here is the scrape token, not an API token.
    { config: { public: true }, schema: { hide: true } },
    async (request, reply) => {
      // The scheme in any case (RFC 9110 §11.1), one space, the token exactly.
      const [, credentials = ''] = /^bearer (.*)$/is.exec(request.headers.authorization ?? '') ?? [];
      const given = createHash('sha256').update(credentials).digest();
      if (!timingSafeEqual(given, expected)) {
        reply.header('www-authenticate', 'Bearer realm="metrics"');
        throw new UnauthenticatedError('Send the METRICS_TOKEN as a bearer token.');
      }
      const body = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(body);
    },
  );
}
