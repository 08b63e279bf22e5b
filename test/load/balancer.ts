/**
 * A small load balancer on loopback, as a reverse proxy in front of several instances behaves:
 * round robin over the instances whose `/readyz` answers 200 (checked every 250 ms), a request
 * whose connection was refused tried on the next instance (nothing reached the first), and a
 * connection lost after the request went out answered 502 (the client cannot know whether it was
 * applied: the harness counts it as an error, never as an acknowledged write).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Backend {
  name: string;
  port: number;
  up: boolean;
}

export interface Balancer {
  url: string;
  backends: Backend[];
  /** Only these backends take traffic (by name); all when empty. */
  use(names: string[]): void;
  close(): Promise<void>;
}

const HOP_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

export async function startBalancer(backends: Backend[]): Promise<Balancer> {
  let allowed = new Set<string>();
  let next = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const candidates = () => backends.filter((b) => b.up && (allowed.size === 0 || allowed.has(b.name)));

  // As nginx's max_fails: an instance is taken out after three failed checks in a row (a slow
  // answer under load is not a failure of the instance), or at once when it refuses connections.
  const failures = new Map<string, number>();
  const check = async (b: Backend) => {
    let ok = false;
    let refused = false;
    try {
      const res = await fetch(`http://127.0.0.1:${b.port}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      ok = res.status === 200;
    } catch (err) {
      refused = (err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
    }
    const failed = ok ? 0 : (failures.get(b.name) ?? 0) + 1;
    failures.set(b.name, failed);
    if (ok) b.up = true;
    else if (refused || failed >= 3) b.up = false;
  };
  const timer = setInterval(() => {
    for (const b of backends) void check(b);
  }, 250);
  await Promise.all(backends.map(check));

  const forward = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse, tried: number) => {
    const pool = candidates();
    if (pool.length === 0 || tried >= Math.max(pool.length, 1) + 1) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('no instance available');
      return;
    }
    const b = pool[next++ % pool.length]!;
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP_HEADERS.has(k)) headers[k] = v;
    headers['content-length'] = String(body.length);
    const upstream = http.request(
      { host: '127.0.0.1', port: b.port, method: req.method, path: req.url, headers, agent },
      (answer) => {
        const out: http.OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(answer.headers)) if (!HOP_HEADERS.has(k)) out[k] = v;
        res.writeHead(answer.statusCode ?? 502, out);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    let sent = false;
    upstream.on('socket', (socket) => {
      // A kept-alive socket is already connected.
      if (!socket.connecting) sent = true;
      else
        socket.once('connect', () => {
          sent = true;
        });
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (!sent || err.code === 'ECONNREFUSED') {
        b.up = false;
        forward(req, body, res, tried + 1);
        return;
      }
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`instance ${b.name} went away: ${err.code}`);
    });
    upstream.end(body);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => forward(req, Buffer.concat(chunks), res, 0));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    backends,
    use(names) {
      allowed = new Set(names);
    },
    async close() {
      clearInterval(timer);
      agent.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
