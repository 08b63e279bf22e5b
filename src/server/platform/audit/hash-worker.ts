/**
 * A thread of the audit hash pool (see hash-pool.ts): hashes and authenticates batches of stored
 * entries (row-hash.ts), and splits and hashes chunks of exported logs (line-batch.ts), so that
 * verifying a long chain neither holds the main thread nor uses only one core.
 */
import { parentPort } from 'node:worker_threads';
import type { ChainKind } from './entry.ts';
import { type LineBatch, splitLineBatch } from './line-batch.ts';
import type { HashedBatch } from './row-hash.ts';

export type HashTask =
  | { id: number; type: 'rows'; kind: ChainKind; rows: string; mac: { keyId: string; macKey: Uint8Array } }
  /** Complete lines of an export in `bytes[0, length)`, shared with the thread, not copied. */
  | { id: number; type: 'lines'; bytes: SharedArrayBuffer; length: number };

export type HashAnswer =
  | { id: number; batch: HashedBatch }
  | { id: number; lines: LineBatch }
  | { id: number; error: string };

export type HashResult = { batch: HashedBatch } | { lines: LineBatch };

/**
 * One task's work, on whichever thread runs it. The stored rows' decoder (and the database
 * schema it reads) loads on the first batch of rows: a thread that only checks exported files
 * (the command line's verifier) starts without it.
 */
export async function runHashTask(task: HashTask): Promise<HashResult> {
  if (task.type === 'lines') {
    return { lines: splitLineBatch(Buffer.from(task.bytes, 0, task.length), task.length) };
  }
  const { hashRowBatch } = await import('./row-hash.ts');
  const mac = { keyId: task.mac.keyId, macKey: Buffer.from(task.mac.macKey) };
  return { batch: hashRowBatch(task.kind, task.rows, mac) };
}

parentPort?.on('message', async (task: HashTask) => {
  let answer: HashAnswer;
  try {
    answer = { id: task.id, ...(await runHashTask(task)) };
  } catch (err) {
    answer = { id: task.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(answer);
});
