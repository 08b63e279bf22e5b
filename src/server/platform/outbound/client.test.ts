/**
 * The guard end to end. Every connection here goes to a listener on loopback (127.0.0.0/8, ::1);
 * public addresses appear only as answers of a stubbed resolver that the guard checks without
 * ever connecting to them.
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { UrlNotAllowedError } from '../errors/app-error.ts';
import { createOutbound, type OutboundLookup } from './client.ts';
import { OutboundError } from './outbound.ts';

interface Listener {
  port: number;
  host: string;
  /** Connections accepted so far. */
  connections: number;
  requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

const open: Listener[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});

/** An HTTP server on a loopback address that records what reaches it. */
async function listen(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) => res.end('ok'),
  host = '127.0.0.1',
): Promise<Listener> {
  const listener: Listener = { port: 0, host, connections: 0, requests: [], close: async () => {} };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      listener.requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      handler(req, res);
    });
  });
  server.on('connection', () => {
    listener.connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  listener.port = (server.address() as net.AddressInfo).port;
  listener.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  open.push(listener);
  return listener;
}

/** A TCP listener that accepts and then does what `onSocket` says (or nothing at all). */
async function listenRaw(onSocket: (socket: net.Socket) => void = () => {}): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const listener: Listener = {
    port: 0,
    host: '127.0.0.1',
    connections: 0,
    requests: [],
    close: async () => {},
  };
  const server = net.createServer((socket) => {
    listener.connections++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  listener.port = (server.address() as net.AddressInfo).port;
  listener.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  open.push(listener);
  return listener;
}

/** A resolver that answers from a table and counts its calls; unknown names do not resolve. */
function stubLookup(table: Record<string, string[] | (() => string[])>) {
  const calls: string[] = [];
  const lookup: OutboundLookup = async (hostname) => {
    calls.push(hostname);
    const entry = table[hostname];
    const answer = typeof entry === 'function' ? entry() : entry;
    if (!answer) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return answer.map((address) => ({ address, family: net.isIP(address) }));
  };
  return { lookup, calls };
}

async function refusal<E extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(type);
    return err as E;
  }
  throw new Error(`expected a ${type.name}`);
}

// Public addresses (never connected to: only checked).
const PUBLIC_V4 = '93.184.215.14';
const PUBLIC_V6 = '2606:2800:21f:cb07:6820:80da:af6b:8b2c';

describe('Outbound.check', () => {
  const LOOPBACK_FORMS = [
    '127.0.0.1',
    '127.1',
    '0x7f000001',
    '2130706433',
    '0177.0.0.1',
    '127.000.000.001',
    '0x7f.1',
    '[::1]',
    '[0:0:0:0:0:0:0:1]',
    '[::ffff:127.0.0.1]',
    '[::ffff:7f00:1]',
    '[::127.0.0.1]',
    '[64:ff9b::127.0.0.1]',
    '[2002:7f00:1::]',
    '0.0.0.0',
    '0',
    '[::]',
    'localhost',
    'LOCALHOST.',
    'hooks.localhost',
  ];

  it.each(LOOPBACK_FORMS)('refuses %s with 400 url_not_allowed, naming the field', async (host) => {
    const resolver = stubLookup({});
    const outbound = createOutbound({ lookup: resolver.lookup });
    for (const scheme of ['https', 'http']) {
      const err = await refusal(
        outbound.check(`${scheme}://${host}:8443/hook`, { field: '/body/url' }),
        UrlNotAllowedError,
      );
      expect(err.status).toBe(400);
      expect(err.code).toBe('url_not_allowed');
      expect(err.errors).toEqual([{ field: '/body/url', message: err.message, reason: 'url_not_allowed' }]);
    }
    // Literals and localhost names are refused by the URL alone.
    expect(resolver.calls).toEqual([]);
  });

  it.each([
    ['ftp://files.example.com/x', /only http and https/],
    ['file:///etc/passwd', /only http and https/],
    ['javascript:alert(1)', /only http and https/],
    ['gopher://example.com:70/', /only http and https/],
    ['https://user:secret@hooks.example.com/', /user name or password/],
    ['https://user@hooks.example.com/', /user name or password/],
    ['not a url', /not a valid absolute URL/],
    ['/relative/path', /not a valid absolute URL/],
    [`http://${PUBLIC_V4}/`, /use https/],
    ['https://10.0.0.1/', /private/],
    ['https://169.254.169.254/latest/meta-data/', /link-local/],
    ['https://[fd00:ec2::254]/', /unique-local/],
    ['https://100.100.100.200/', /CGNAT/],
    ['https://[::ffff:169.254.169.254]/', /link-local/],
    ['https://224.0.0.251/', /multicast/],
    ['https://255.255.255.255/', /broadcast/],
  ])('refuses %s', async (url, message) => {
    const outbound = createOutbound({ lookup: stubLookup({}).lookup });
    const err = await refusal(outbound.check(url), UrlNotAllowedError);
    expect(err.message).toMatch(message);
    expect(err.errors).toBeUndefined();
  });

  it('accepts an https URL whose name resolves only to public addresses, without connecting', async () => {
    const resolver = stubLookup({ 'hooks.example.com': [PUBLIC_V4, PUBLIC_V6] });
    const outbound = createOutbound({ lookup: resolver.lookup });
    const url = await outbound.check('https://Hooks.Example.com:8443/in?x=1');
    expect(url.href).toBe('https://hooks.example.com:8443/in?x=1');
    expect(resolver.calls).toEqual(['hooks.example.com']);
    await expect(outbound.check(`https://${PUBLIC_V4}/`)).resolves.toBeInstanceOf(URL);
    await expect(outbound.check(`https://[${PUBLIC_V6}]/`)).resolves.toBeInstanceOf(URL);
  });

  it('refuses a name when any one of its addresses is refused', async () => {
    const outbound = createOutbound({
      lookup: stubLookup({
        'mixed.example.com': [PUBLIC_V4, '10.1.2.3'],
        'mapped.example.com': [PUBLIC_V6, '::ffff:127.0.0.1'],
        'metadata.example.com': ['169.254.169.254'],
        'rebind.nip.example': ['127.0.0.1'],
      }).lookup,
    });
    // The refusal says what kind of address the name reaches, never which: a member who may
    // submit URLs learns nothing of the installation's internal names and addresses from it.
    await expect(outbound.check('https://mixed.example.com/')).rejects.toThrow(
      /^mixed\.example\.com resolves to a private \(RFC 1918\) address$/,
    );
    await expect(outbound.check('https://mapped.example.com/')).rejects.toThrow(
      /^mapped\.example\.com resolves to a loopback address \(in an IPv6 form\)$/,
    );
    await expect(outbound.check('https://metadata.example.com/')).rejects.toThrow(/link-local/);
    await expect(outbound.check('https://rebind.nip.example/')).rejects.toThrow(/loopback/);
  });

  it('refuses a name that does not resolve', async () => {
    const outbound = createOutbound({ lookup: stubLookup({ 'empty.example.com': [] }).lookup });
    await expect(outbound.check('https://nowhere.example.com/')).rejects.toThrow(/does not resolve/);
    await expect(outbound.check('https://empty.example.com/')).rejects.toThrow(/resolves to no address/);
  });

  it('allows plain http only to allowlisted targets, unless allowHttp', async () => {
    const table = {
      'hooks.example.com': [PUBLIC_V4],
      'intranet.corp': ['10.9.8.7'],
      'partly.corp': ['10.9.8.7', PUBLIC_V4],
    };
    const strict = createOutbound({ allowlist: ['10.9.0.0/16'], lookup: stubLookup(table).lookup });
    await expect(strict.check('http://hooks.example.com/')).rejects.toThrow(/use https/);
    await expect(strict.check('http://intranet.corp/')).resolves.toBeInstanceOf(URL);
    await expect(strict.check('http://10.9.8.7/')).resolves.toBeInstanceOf(URL);
    await expect(strict.check('http://partly.corp/')).rejects.toThrow(/use https/);
    await expect(strict.check('https://partly.corp/')).resolves.toBeInstanceOf(URL);
    const loose = createOutbound({ allowHttp: true, lookup: stubLookup(table).lookup });
    await expect(loose.check('http://hooks.example.com/')).resolves.toBeInstanceOf(URL);
    // allowHttp opens no address.
    await expect(loose.check('http://intranet.corp/')).rejects.toThrow(/private/);
    await expect(loose.check('http://127.0.0.1/')).rejects.toThrow(/loopback/);
  });

  it('lets an allowlisted name through whatever it resolves to, and localhost only when named', async () => {
    const resolver = stubLookup({ 'hooks.internal': ['10.0.0.5'] });
    const outbound = createOutbound({ allowlist: ['hooks.internal', 'localhost'], lookup: resolver.lookup });
    await expect(outbound.check('http://hooks.internal:8080/')).resolves.toBeInstanceOf(URL);
    await expect(outbound.check('http://localhost:8080/')).resolves.toBeInstanceOf(URL);
    await expect(outbound.check('http://a.localhost:8080/')).rejects.toThrow(/this machine/);
    await expect(outbound.check('http://127.0.0.1:8080/')).rejects.toThrow(/loopback/);
  });
});

describe('Outbound.request to loopback listeners (allowlisted)', () => {
  it('sends a GET and a POST with the caller’s headers and body, and reports the address', async () => {
    const receiver = await listen((req, res) => {
      res.setHeader('x-seen', req.method ?? '');
      res.statusCode = req.method === 'POST' ? 202 : 200;
      res.end(`got ${req.method}`);
    });
    const outbound = createOutbound({ allowlist: ['127.0.0.1/32'] });
    const get = await outbound.request(`http://127.0.0.1:${receiver.port}/path?q=1`);
    expect(get).toMatchObject({ status: 200, truncated: false, address: '127.0.0.1' });
    expect(get.body.toString()).toBe('got GET');
    expect(get.headers['x-seen']).toBe('GET');
    expect(get.durationMs).toBeGreaterThanOrEqual(0);

    const post = await outbound.request(`http://127.0.0.1:${receiver.port}/hook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': 'msg_1' },
      body: JSON.stringify({ type: 'scan.completed' }),
    });
    expect(post.status).toBe(202);
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests[0]).toMatchObject({ method: 'GET', url: '/path?q=1' });
    expect(receiver.requests[1]).toMatchObject({
      method: 'POST',
      url: '/hook',
      body: '{"type":"scan.completed"}',
      headers: expect.objectContaining({ 'content-type': 'application/json', 'webhook-id': 'msg_1' }),
    });
    expect(receiver.requests[1]?.headers['user-agent']).toBe('Gatehouse');
  });

  it('resolves a name once and connects to the address it checked', async () => {
    const receiver = await listen();
    const resolver = stubLookup({ 'hooks.test': ['127.0.0.1'] });
    const outbound = createOutbound({ allowlist: ['127.0.0.1/32'], lookup: resolver.lookup });
    const res = await outbound.request(`http://hooks.test:${receiver.port}/`);
    expect(res).toMatchObject({ status: 200, address: '127.0.0.1' });
    expect(resolver.calls).toEqual(['hooks.test']);
    expect(receiver.requests[0]?.headers.host).toBe(`hooks.test:${receiver.port}`);
  });

  it('reaches ::1 when it is allowlisted', async () => {
    const receiver = await listen(undefined, '::1');
    const outbound = createOutbound({ allowlist: ['::1'] });
    const res = await outbound.request(`http://[::1]:${receiver.port}/`);
    expect(res).toMatchObject({ status: 200, address: '::1' });
  });

  it.each([
    ['the redirect target allowlisted too', ['127.0.0.0/8']],
    ['the redirect target not allowlisted', ['127.0.0.1/32']],
  ])('returns a redirect as it is, never following it (%s)', async (_label, allowlist) => {
    const other = await listen(undefined, '127.0.0.2');
    const redirecting = await listen((_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.2:${other.port}/` }).end();
    });
    const outbound = createOutbound({ allowlist });
    const res = await outbound.request(`http://127.0.0.1:${redirecting.port}/`, {
      method: 'POST',
      body: 'x',
    });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`http://127.0.0.2:${other.port}/`);
    expect(redirecting.requests).toHaveLength(1);
    expect(other.connections).toBe(0);
    // The target itself is reachable (when allowlisted): nothing but the guard kept the redirect out.
    if (allowlist[0] === '127.0.0.0/8') {
      expect((await outbound.request(`http://127.0.0.2:${other.port}/`)).status).toBe(200);
    } else {
      await expect(outbound.request(`http://127.0.0.2:${other.port}/`)).rejects.toMatchObject({
        reason: 'not_allowed',
      });
      expect(other.connections).toBe(0);
    }
  });

  it('gives up after timeoutMs on a receiver that never answers', async () => {
    const silent = await listenRaw();
    const outbound = createOutbound({ allowlist: ['127.0.0.1/32'] });
    const err = await refusal(
      outbound.request(`http://127.0.0.1:${silent.port}/`, {
        method: 'POST',
        headers: { authorization: 'Bearer do-not-print-me' },
        body: 'the-request-body',
        timeoutMs: 300,
      }),
      OutboundError,
    );
    expect(err.reason).toBe('timeout');
    expect(silent.connections).toBe(1);
    expect(`${err.message} ${err.stack}`).not.toMatch(/do-not-print-me|the-request-body/);
  });

  it('refuses a header it cannot send without repeating its value', async () => {
    const receiver = await listen();
    const outbound = createOutbound({ allowlist: ['127.0.0.1/32'] });
    const err = await refusal(
      outbound.request(`http://127.0.0.1:${receiver.port}/`, {
        headers: { 'x-signature': 'secret-value\r\nx-injected: 1' },
      }),
      OutboundError,
    );
    expect(err.reason).toBe('protocol');
    expect(`${err.message} ${err.stack}`).not.toContain('secret-value');
    expect(receiver.requests).toHaveLength(0);
  });

  it('gives up after timeoutMs on a body that stops coming', async () => {
    const stalling = await listenRaw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nfirst bytes');
    });
    const outbound = createOutbound({ allowlist: ['127.0.0.1/32'] });
    const err = await refusal(
      outbound.request(`http://127.0.0.1:${stalling.port}/`, { timeoutMs: 300 }),
      OutboundError,
    );
    expect(err.reason).toBe('timeout');
  });

  it('keeps the first 1 MiB of a 5 MiB response and marks it truncated', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const big = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let i = 0; i < 80; i++) res.write(chunk);
      res.end();
    });
    const outbound = createOutbound({ allowlist: ['127.0.0.1/32'] });
    const capped = await outbound.request(`http://127.0.0.1:${big.port}/`);
    expect(capped.status).toBe(200);
    expect(capped.body.length).toBe(1024 * 1024);
    expect(capped.truncated).toBe(true);
    const whole = await outbound.request(`http://127.0.0.1:${big.port}/`, {
      maxResponseBytes: 6 * 1024 * 1024,
    });
    expect(whole.body.length).toBe(5 * 1024 * 1024);
    expect(whole.truncated).toBe(false);
    const small = await outbound.request(`http://127.0.0.1:${big.port}/`, { maxResponseBytes: 1000 });
    expect(small.body).toEqual(Buffer.alloc(1000, 'a'));
    expect(small.truncated).toBe(true);
  });

  it('stops reading a response that never ends once it has the cap', async () => {
    let closed = false;
    const endless = await listen((_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024, 'z');
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) {}
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => {
        closed = true;
      });
      pump();
    });
    const outbound = createOutbound({ allowlist: ['127.0.0.1/32'] });
    const res = await outbound.request(`http://127.0.0.1:${endless.port}/`, { maxResponseBytes: 256 * 1024 });
    expect(res.truncated).toBe(true);
    expect(res.body.length).toBe(256 * 1024);
    await expect.poll(() => closed).toBe(true);
  });

  it('says why a request failed: refused connection, not HTTP, no such name, TLS', async () => {
    const resolver = stubLookup({});
    const outbound = createOutbound({ allowlist: ['127.0.0.1/32', 'nowhere.test'], lookup: resolver.lookup });
    const closedPort = await listenRaw();
    await closedPort.close();
    open.splice(open.indexOf(closedPort), 1);
    await expect(outbound.request(`http://127.0.0.1:${closedPort.port}/`)).rejects.toMatchObject({
      reason: 'connect',
    });
    const garbage = await listenRaw((socket) => socket.end('SSH-2.0-OpenSSH_9.6\r\n\r\n'));
    await expect(outbound.request(`http://127.0.0.1:${garbage.port}/`)).rejects.toMatchObject({
      reason: 'protocol',
    });
    await expect(outbound.request('http://nowhere.test/')).rejects.toMatchObject({ reason: 'dns' });
    const plain = await listen();
    await expect(
      outbound.request(`https://127.0.0.1:${plain.port}/`, { timeoutMs: 5_000 }),
    ).rejects.toMatchObject({
      reason: 'tls',
    });
  });
});

describe('Outbound.request refusals (nothing connects)', () => {
  it('refuses every loopback form before connecting, even with a listener on the port', async () => {
    const v4 = await listen();
    const v6 = await listen(undefined, '::1');
    const outbound = createOutbound({ lookup: stubLookup({}).lookup });
    const urls = [
      ...['127.0.0.1', '127.1', '0x7f000001', '2130706433', '0177.0.0.1', '0.0.0.0', '0', 'localhost'].map(
        (h) => `http://${h}:${v4.port}/`,
      ),
      ...['[::1]', '[::ffff:127.0.0.1]', '[::]'].map((h) => `http://${h}:${v6.port}/`),
      `https://127.0.0.1:${v4.port}/`,
      `https://[::1]:${v6.port}/`,
    ];
    for (const url of urls) {
      const err = await refusal(outbound.request(url), OutboundError);
      expect(err.reason, url).toBe('not_allowed');
    }
    expect(v4.connections + v6.connections).toBe(0);
  });

  it('refuses at delivery a name whose resolution turned to loopback after the check', async () => {
    const receiver = await listen();
    // First answer (the check at submission): a public address, which is only checked. Every
    // later answer (the delivery): loopback, where the listener waits.
    const answers = [[PUBLIC_V4]];
    const resolver = stubLookup({ 'rebind.example.com': () => answers.shift() ?? ['127.0.0.1'] });
    const outbound = createOutbound({ lookup: resolver.lookup });
    const url = `https://rebind.example.com:${receiver.port}/hook`;
    await expect(outbound.check(url)).resolves.toBeInstanceOf(URL);
    const err = await refusal(outbound.request(url, { method: 'POST', body: '{}' }), OutboundError);
    expect(err.reason).toBe('not_allowed');
    expect(err.message).toBe('rebind.example.com resolves to a loopback address');
    expect(resolver.calls).toEqual(['rebind.example.com', 'rebind.example.com']);
    expect(receiver.connections).toBe(0);
  });

  it('refuses at delivery a name that now answers a loopback address beside a public one', async () => {
    const receiver = await listen();
    const resolver = stubLookup({ 'dual.example.com': ['::ffff:127.0.0.1', PUBLIC_V4] });
    const outbound = createOutbound({ lookup: resolver.lookup });
    await expect(outbound.request(`https://dual.example.com:${receiver.port}/`)).rejects.toMatchObject({
      reason: 'not_allowed',
    });
    expect(receiver.connections).toBe(0);
  });

  it('refuses at delivery what check refuses: scheme, user info, plain http to a public name', async () => {
    const resolver = stubLookup({ 'hooks.example.com': [PUBLIC_V4] });
    const outbound = createOutbound({ lookup: resolver.lookup });
    for (const url of [
      'ftp://hooks.example.com/',
      'https://u:p@hooks.example.com/',
      'http://hooks.example.com/',
    ]) {
      await expect(outbound.request(url)).rejects.toMatchObject({ reason: 'not_allowed' });
    }
  });
});
