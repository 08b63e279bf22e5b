import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One request a receiver got. */
export interface Received {
  /** `webhook-id` */
  id: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** When it arrived (ms since the epoch). */
  at: number;
}

/** How the receiver answers one request: a status (and headers, body), or not at all (`stall`). */
export type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'stall';

/**
 * A webhook receiver on 127.0.0.1: records every request and answers as `answer` says (default
 * 200 `ok`); `answer` gets the request and how many times its `webhook-id` came before.
 */
export interface Receiver {
  url: string;
  received: Received[];
  answer: (request: Received, earlier: number) => Answer;
  /** Requests of one `webhook-id`. */
  of(id: string): Received[];
  /** Waits until `check` holds of what was received (polling; fails after `timeoutMs`). */
  until(check: (received: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const stalled = new Set<http.ServerResponse>();
  const receiver: Receiver = {
    url: '',
    received,
    answer: () => ({ status: 200, body: 'ok' }),
    of: (id) => received.filter((r) => r.id === id),
    until: async (check, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!check(received)) {
        if (Date.now() > deadline) {
          throw new Error(`the receiver did not get what was expected; it got ${received.length} requests`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: async () => {
      for (const res of stalled) res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = String(req.headers['webhook-id'] ?? '');
      const request: Received = {
        id,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      const earlier = received.filter((r) => r.id === id).length;
      received.push(request);
      const answer = receiver.answer(request, earlier);
      if (answer === 'stall') {
        stalled.add(res);
        return;
      }
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? '');
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}

/**
 * Checks a delivery as a receiver would, both ways: the Standard Webhooks signature with the
 * `standardwebhooks` package, and `X-Gatehouse-Signature: sha256=<hex>` keyed with the secret as
 * shown. Throws when either fails; returns the parsed body.
 */
export function verifyDelivery(
  request: Received,
  secret: string,
): { type: string; timestamp: string; data: Record<string, unknown> } {
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v ?? '')]),
  );
  const parsed = new Webhook(secret).verify(request.body, headers) as {
    type: string;
    timestamp: string;
    data: Record<string, unknown>;
  };
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(request.body).digest('hex')}`);
  const given = String(request.headers['x-gatehouse-signature'] ?? '').split(' ');
  if (
    !given.some((g) => Buffer.byteLength(g) === expected.length && timingSafeEqual(Buffer.from(g), expected))
  ) {
    throw new Error('X-Gatehouse-Signature does not match');
  }
  return parsed;
}
