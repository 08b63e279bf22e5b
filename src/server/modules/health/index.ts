import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { isDatabaseReady } from '../../platform/db/migrate.ts';

const Status = Type.Object({ status: Type.String() });

/** Liveness and readiness probes for orchestrators and load balancers. */
export async function healthModule(app: FastifyInstance): Promise<void> {
  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: { tags: ['health'], summary: 'The process is up', response: { 200: Status } },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        tags: ['health'],
        summary:
          'The database answers, every migration is applied and the instance is not shutting down (503 while it drains)',
        response: { 200: Status, 503: Status },
      },
    },
    async (_request, reply) => {
      if (app.gatehouse.drain.draining) return reply.status(503).send({ status: 'draining' });
      const ready = await isDatabaseReady(app.gatehouse.database);
      return ready ? { status: 'ok' } : reply.status(503).send({ status: 'unavailable' });
    },
  );
}
