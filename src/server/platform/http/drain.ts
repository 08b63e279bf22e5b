import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors/app-error.ts';

/** Paths that keep answering while the instance drains: the probes say how it is. */
const PROBES = new Set(['/healthz', '/readyz']);

/**
 * The instance's state between SIGTERM and exit. While draining it keeps listening, so a load
 * balancer reads `/readyz` 503 rather than a refused connection, and answers every new request
 * 503 with `Connection: close`; the requests under way when the drain began finish.
 */
export class Drain {
  private active = 0;
  private idleWaiters: Array<() => void> = [];
  draining = false;

  /** Counts the requests under way, and turns new ones away once draining. */
  install(app: FastifyInstance): void {
    app.addHook('onRequest', async (request, reply) => {
      // The path without its query: a probe with a cache-buster (`/healthz?t=…`) is still a probe.
      if (this.draining && !PROBES.has(request.url.split('?', 1)[0]!)) {
        reply.header('connection', 'close');
        throw new AppError(
          503,
          'service_unavailable',
          'Service unavailable',
          'This instance is shutting down; send the request again.',
          { headers: { 'retry-after': '1' } },
        );
      }
      this.active++;
      reply.raw.once('close', () => {
        this.active--;
        if (this.active === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      });
    });
  }

  /** Starts the drain: from now on only the probes and the requests under way are answered. */
  start(): void {
    this.draining = true;
  }

  /** Requests under way (the probes included). */
  get inFlight(): number {
    return this.active;
  }

  /** Resolves once no request is under way (at once when none is). */
  idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
