/**
 * Closed-loop POST load from a worker thread, for benchmarks whose clients each send their own
 * request (their own URL, credentials and body), which autocannon's single target cannot do.
 * The worker keeps the clients off the event loop of the server under test, which runs in the
 * main thread. Every client sends its next request when its previous answer has been read.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

export interface PostClient {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface PostLoadOptions {
  /** Stop sending after this many seconds. */
  seconds: number;
  /** Stop sending once this many requests have been accepted (2xx), all clients together. */
  maxAccepted?: number;
  /** Each client stops at its first answer with this status (e.g. 409 once a pool is spent). */
  stopOnStatus?: number;
}

export interface PostLoadResult {
  /** From the first request sent to the last answer read. */
  elapsedMs: number;
  accepted: number;
  /** Answers by status code. */
  statuses: Record<string, number>;
  /** Latency of each accepted request (ms). */
  latencies: number[];
  /** Network errors (no answer). */
  errors: number;
  /** The first answer that was neither 2xx nor `stopOnStatus`, to tell what went wrong. */
  firstUnexpected?: string;
}

interface Job {
  postLoad: true;
  clients: PostClient[];
  options: PostLoadOptions;
}

async function runClients({ clients, options }: Job): Promise<PostLoadResult> {
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  let accepted = 0;
  let errors = 0;
  let firstUnexpected: string | undefined;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  const more = () =>
    performance.now() < deadline && (options.maxAccepted === undefined || accepted < options.maxAccepted);
  await Promise.all(
    clients.map(async (client) => {
      while (more()) {
        const sent = performance.now();
        try {
          const res = await fetch(client.url, { method: 'POST', headers: client.headers, body: client.body });
          const text = await res.text();
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
          if (res.status >= 200 && res.status < 300) {
            accepted++;
            latencies.push(performance.now() - sent);
          } else if (res.status === options.stopOnStatus) {
            return;
          } else {
            firstUnexpected ??= `${res.status} ${text.slice(0, 300)}`;
          }
        } catch (err) {
          errors++;
          firstUnexpected ??= String(err);
        }
      }
    }),
  );
  return {
    elapsedMs: performance.now() - started,
    accepted,
    statuses,
    latencies,
    errors,
    ...(firstUnexpected ? { firstUnexpected } : {}),
  };
}

/** Runs the clients in a worker thread (inheriting `--import tsx`) and waits for its figures. */
export function postLoad(clients: PostClient[], options: PostLoadOptions): Promise<PostLoadResult> {
  return new Promise((resolve, reject) => {
    const job: Job = { postLoad: true, clients, options };
    // Node 20 resolves a worker's entry before `--import tsx` has hooked the loader in it, so the
    // worker starts as plain JavaScript that registers tsx and then imports this file.
    const entry = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
    const worker = new Worker(entry, { eval: true, workerData: job });
    worker.once('message', (result: PostLoadResult) => resolve(result));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load worker exited with ${code}`));
    });
  });
}

if (!isMainThread && (workerData as Job | undefined)?.postLoad) {
  parentPort!.postMessage(await runClients(workerData as Job));
}
