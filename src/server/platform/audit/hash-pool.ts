import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ChainKind } from './entry.ts';
import { type HashAnswer, type HashResult, type HashTask, runHashTask } from './hash-worker.ts';
import type { LineBatch } from './line-batch.ts';
import type { HashedBatch } from './row-hash.ts';

interface Pending {
  task: HashTask;
  resolve: (result: HashResult) => void;
  reject: (err: Error) => void;
}

interface Thread {
  worker: Worker;
  /** Tasks sent to it, by id, until answered. */
  running: Map<number, Pending>;
}

/**
 * The thread that runs hash-worker: the bundled script beside the bundle in production, the
 * TypeScript source (through tsx) when running from the sources.
 */
function startWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./audit-hash-worker.mjs', here));
  const source = new URL('./hash-worker.ts', here).href;
  // Resolved as an ES module import would (the package's CommonJS entry cannot register the hooks).
  let tsx = 'tsx/esm/api';
  try {
    tsx = import.meta.resolve?.(tsx) ?? tsx;
  } catch {
    // resolved from the working folder instead
  }
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(code, { eval: true });
}

/**
 * Hashes audit entries on worker threads, one per core: verification reads a chain on the main
 * thread and hands each batch here, so a long chain neither holds the event loop nor uses more
 * than the cores. Threads start on first use and stop with `close()`; tasks queue when all are
 * busy. Should a thread fail to start or die, its tasks are hashed on the calling thread instead
 * (slower, never wrong) and the failure is logged once.
 */
export class HashPool {
  private readonly threads: Thread[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  private broken = false;

  constructor(
    private readonly logError: (err: unknown, msg: string) => void,
    readonly size = Math.max(1, Math.min(os.availableParallelism(), 8)),
  ) {}

  /** Hashes and authenticates a batch of entries (see row-hash.ts). */
  async hash(kind: ChainKind, rows: string, mac: { keyId: string; macKey: Buffer }): Promise<HashedBatch> {
    const result = await this.run({
      id: this.nextId++,
      type: 'rows',
      kind,
      rows,
      mac: { keyId: mac.keyId, macKey: mac.macKey },
    });
    return (result as { batch: HashedBatch }).batch;
  }

  /**
   * Splits and hashes the complete lines of an exported log in `bytes[0, length)` (see
   * line-batch.ts). The memory moves to the thread and comes back with the answer (`bytes`);
   * until then it is not the caller's. Should the thread die meanwhile, the memory is lost with
   * it and the task fails: the caller verifies again without threads.
   */
  async splitLines(bytes: ArrayBuffer, length: number): Promise<{ batch: LineBatch; bytes: ArrayBuffer }> {
    const result = await this.run({ id: this.nextId++, type: 'lines', bytes, length });
    const answer = result as { lines: LineBatch; bytes: ArrayBuffer };
    return { batch: answer.lines, bytes: answer.bytes };
  }

  private run(task: HashTask): Promise<HashResult> {
    if (this.closed || this.broken) return runHashTask(task);
    return new Promise((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const thread = this.idleThread();
      if (!thread) return;
      const pending = this.queue.shift()!;
      thread.running.set(pending.task.id, pending);
      const { task } = pending;
      thread.worker.postMessage(task, task.type === 'lines' ? [task.bytes] : []);
    }
  }

  private idleThread(): Thread | undefined {
    const idle = this.threads.find((t) => t.running.size === 0);
    if (idle) return idle;
    if (this.threads.length >= this.size) return undefined;
    const worker = startWorker();
    const thread: Thread = { worker, running: new Map() };
    worker.unref();
    worker.on('message', (answer: HashAnswer) => {
      const pending = thread.running.get(answer.id);
      if (!pending) return;
      thread.running.delete(answer.id);
      if ('error' in answer) pending.reject(new Error(answer.error));
      else pending.resolve(answer);
      this.dispatch();
    });
    const lost = (err: unknown) => {
      const index = this.threads.indexOf(thread);
      if (index < 0) return;
      this.threads.splice(index, 1);
      if (!this.closed) {
        this.broken = true;
        this.logError(err, 'an audit hashing thread failed; hashing on the main thread from now on');
      }
      for (const pending of thread.running.values()) {
        // Bytes moved to the thread went with it.
        if (pending.task.type === 'lines') pending.reject(new Error('an audit hashing thread failed'));
        else this.queue.unshift(pending);
      }
      thread.running.clear();
      this.drainInProcess();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the thread exited with code ${code}`)));
    this.threads.push(thread);
    return thread;
  }

  /** Once threads cannot be used: whatever is queued is hashed here. */
  private drainInProcess(): void {
    if (!this.broken && !this.closed) return;
    for (let pending = this.queue.shift(); pending; pending = this.queue.shift()) {
      runHashTask(pending.task).then(pending.resolve, pending.reject);
    }
  }

  /**
   * Stops the threads; tasks still running or queued are finished on the calling thread, but for
   * a running split of lines, whose bytes went to the thread: it fails.
   */
  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads.splice(0);
    for (const thread of threads) {
      for (const pending of thread.running.values()) {
        if (pending.task.type === 'lines') pending.reject(new Error('the audit hash pool was closed'));
        else this.queue.unshift(pending);
      }
      thread.running.clear();
    }
    this.drainInProcess();
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }
}
