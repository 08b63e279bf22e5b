/**
 * Webhook fan-out: deliveries per second to 8 loopback receivers, and the time from the commit of
 * an event to its receipt (p50, p99).
 *
 * A Gatehouse runs in this process (fresh PGlite, or a fresh database on the PostgreSQL server of
 * DATABASE_URL, loopback only, dropped at the end) with OUTBOUND_ALLOWLIST=127.0.0.1/32. Eight
 * receivers (HTTP servers on 127.0.0.1, each answering 204 at once) each have a webhook of one
 * organization taking every scan and finding event. Two phases, through the real API:
 *
 * - burst: one SARIF upload with FANOUT_FINDINGS new findings (default 250): FANOUT_FINDINGS + 2
 *   events (scan.started, scan.completed and a finding.created each), each to 8 receivers. The
 *   commit is when the upload's response arrives; deliveries/s = deliveries / (last receipt −
 *   commit); latency = receipt − commit for every delivery.
 * - trickle: FANOUT_SCANS (default 60) scans without results, one every FANOUT_GAP_MS (default 50),
 *   each one event (scan.started) to 8 receivers: latency of events that do not queue behind a
 *   burst, commit (the response) to receipt.
 *
 * Every delivery is checked against its Standard Webhooks signature's presence and counted by
 * `webhook-id` per receiver: each must arrive exactly once. The whole run stays under a minute.
 *
 *   node --import tsx bench/webhook-fanout.ts
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/webhook-fanout.ts
 *   OUTBOX_CONCURRENCY=32 node --import tsx bench/webhook-fanout.ts     (the instance's attempts at once)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { call, machineLine, ms, percentile, signUp, sleep } from './lib.ts';
import { created, withBenchGatehouse } from './server.ts';

const RECEIVERS = 8;
const FINDINGS = Number(process.env.FANOUT_FINDINGS ?? 250);
const SCANS = Number(process.env.FANOUT_SCANS ?? 60);
const GAP_MS = Number(process.env.FANOUT_GAP_MS ?? 50);
const DEADLINE_MS = 40_000;
const ADMIN_URL = process.env.DATABASE_URL?.trim() || undefined;

interface Receipt {
  receiver: number;
  id: string;
  at: number;
  body: string;
}

async function startReceivers(receipts: Receipt[]) {
  const servers: http.Server[] = [];
  const urls: string[] = [];
  for (let i = 0; i < RECEIVERS; i++) {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const at = performance.now() + performance.timeOrigin;
        const id = String(req.headers['webhook-id'] ?? '');
        if (!req.headers['webhook-signature'] || !req.headers['x-gatehouse-signature']) {
          throw new Error('a delivery without its signatures');
        }
        receipts.push({ receiver: i, id, at, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    servers.push(server);
    urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`);
  }
  return { urls, close: () => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))) };
}

let debugCount = () => '';
const now = () => performance.now() + performance.timeOrigin;

function sarif(n: number) {
  return {
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'Semgrep' } },
        results: Array.from({ length: n }, (_, i) => ({
          ruleId: `rule-${i % 13}`,
          level: 'error',
          message: { text: `Problem ${i}` },
          locations: [
            { physicalLocation: { artifactLocation: { uri: `src/f${i}.ts` }, region: { startLine: 1 + i } } },
          ],
          partialFingerprints: { id: `fanout-${i}` },
        })),
      },
    ],
  };
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    if (process.env.FANOUT_DEBUG && Date.now() % 1000 < 5) process.stdout.write(`  ... ${debugCount()}\n`);
    await sleep(5);
  }
}

function exactlyOnce(receipts: Receipt[], expectedPerReceiver: number): boolean {
  for (let r = 0; r < RECEIVERS; r++) {
    const ids = receipts.filter((x) => x.receiver === r).map((x) => x.id);
    if (ids.length !== expectedPerReceiver || new Set(ids).size !== ids.length) return false;
  }
  return true;
}

async function main() {
  process.stdout.write(`== Webhook fan-out: ${RECEIVERS} loopback receivers ==\n${machineLine()}\n`);
  const receipts: Receipt[] = [];
  const receivers = await startReceivers(receipts);
  try {
    await withBenchGatehouse(
      'fanout',
      {
        postgres: Boolean(ADMIN_URL),
        env: {
          OUTBOUND_ALLOWLIST: '127.0.0.1/32',
          WEBHOOK_RETRY_SCHEDULE: '1,1,1',
          ...(process.env.OUTBOX_CONCURRENCY ? { OUTBOX_CONCURRENCY: process.env.OUTBOX_CONCURRENCY } : {}),
        },
      },
      async ({ server, database }) => {
        process.stdout.write(
          `server on ${database}; outbox concurrency ${process.env.OUTBOX_CONCURRENCY ?? 8}; load average ${os
            .loadavg()
            .map((l) => l.toFixed(1))
            .join(' ')}\n`,
        );
        const base = server.url;
        const cookie = await signUp(base);
        const org = await created<{ id: string }>(
          base,
          '/api/v1/orgs',
          { name: 'Fanout', plan: 'enterprise' },
          cookie,
        );
        for (const url of receivers.urls) {
          await created(
            base,
            `/api/v1/orgs/${org.id}/webhooks`,
            {
              url,
              events: ['scan.started', 'scan.completed', 'finding.created'],
            },
            cookie,
          );
        }
        const app = await created<{ id: string }>(
          base,
          `/api/v1/orgs/${org.id}/applications`,
          { name: 'svc' },
          cookie,
        );
        debugCount = () => `${receipts.length} received`;

        // Burst: one upload, FINDINGS + 2 events, each to every receiver.
        const before = now();
        const upload = await call(
          base,
          'POST',
          `/api/v1/orgs/${org.id}/scans`,
          {
            applicationId: app.id,
            modules: ['sast'],
            sarif: sarif(FINDINGS),
          },
          cookie,
        );
        const committed = now();
        if (upload.status !== 201) throw new Error(`upload answered ${upload.status}: ${upload.text}`);
        const burstEvents = FINDINGS + 2;
        await waitFor(() => receipts.length >= burstEvents * RECEIVERS, 'the burst');
        const burst = receipts.slice(0, burstEvents * RECEIVERS);
        const ok1 = exactlyOnce(burst, burstEvents);
        const last = Math.max(...burst.map((r) => r.at));
        const lat1 = burst.map((r) => r.at - committed);
        process.stdout.write(
          `burst: ${burstEvents} events x ${RECEIVERS} receivers = ${burst.length} deliveries; upload took ${ms(committed - before)}\n` +
            `  deliveries/s                        ${(burst.length / ((last - committed) / 1000)).toFixed(0)}\n` +
            `  commit -> receipt p50 / p99 / max   ${ms(percentile(lat1, 50))} / ${ms(percentile(lat1, 99))} / ${ms(Math.max(...lat1))}\n`,
        );

        // Trickle: single events, one every GAP_MS.
        const start = receipts.length;
        const commits = new Map<string, number>();
        const t0 = now();
        for (let i = 0; i < SCANS; i++) {
          const res = await call(
            base,
            'POST',
            `/api/v1/orgs/${org.id}/scans`,
            { applicationId: app.id, modules: ['secrets'] },
            cookie,
          );
          if (res.status !== 201) throw new Error(`scan answered ${res.status}: ${res.text}`);
          commits.set(JSON.parse(res.text).id, now());
          await sleep(GAP_MS);
        }
        await waitFor(() => receipts.length >= start + SCANS * RECEIVERS, 'the trickle');
        const trickle = receipts.slice(start);
        const ok2 = exactlyOnce(trickle, SCANS);
        const lat2 = trickle.map((r) => {
          const scanId = (JSON.parse(r.body) as { data: { scan: { id: string } } }).data.scan.id;
          return r.at - commits.get(scanId)!;
        });
        process.stdout.write(
          `trickle: ${SCANS} single events (one every ${GAP_MS} ms, ${((SCANS * 1000) / (now() - t0)).toFixed(0)}/s) x ${RECEIVERS} receivers = ${trickle.length} deliveries\n` +
            `  commit -> receipt p50 / p99 / max   ${ms(percentile(lat2, 50))} / ${ms(percentile(lat2, 99))} / ${ms(Math.max(...lat2))}\n`,
        );
        await sleep(1500);
        const extra = receipts.length - (burstEvents + SCANS) * RECEIVERS;
        process.stdout.write(
          `check: every delivery received exactly once by each receiver -> ${ok1 && ok2 && extra === 0 ? 'yes' : `NO (extra ${extra})`}\n`,
        );
      },
    );
  } finally {
    await receivers.close();
  }
}

await main();
