/**
 * The app's guard is built from the configuration: OUTBOUND_ALLOWLIST opens loopback for tests
 * and on-premises targets, and nothing is open without it.
 */
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../../../test/support/app.ts';

let receiver: http.Server;
let port: number;
const seen: string[] = [];

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.host}`);
    res.end('received');
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  port = (receiver.address() as net.AddressInfo).port;
});
afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});

describe('app.gatehouse.outbound', () => {
  let open: TestApp;
  let closed: TestApp;
  beforeAll(async () => {
    open = await createTestApp({ outbound: { allowlist: ['127.0.0.1/32'] } }, undefined, {
      outboundLookup: async () => [{ address: '127.0.0.1', family: 4 }],
    });
    closed = await createTestApp({}, open.db);
  });
  afterAll(async () => {
    await closed?.close();
    await open?.close();
  });

  it('reaches an allowlisted receiver, through the resolver it was given', async () => {
    const res = await open.app.gatehouse.outbound.request(`http://receiver.test:${port}/hook`, {
      method: 'POST',
      body: '{}',
    });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('received');
    expect(seen).toContain(`POST /hook receiver.test:${port}`);
  });

  it('refuses loopback without the allowlist, at submission and at delivery', async () => {
    const before = seen.length;
    await expect(
      closed.app.gatehouse.outbound.check(`http://127.0.0.1:${port}/`, { field: '/url' }),
    ).rejects.toMatchObject({
      status: 400,
      code: 'url_not_allowed',
    });
    await expect(closed.app.gatehouse.outbound.request(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({
      reason: 'not_allowed',
    });
    expect(seen.length).toBe(before);
  });
});
