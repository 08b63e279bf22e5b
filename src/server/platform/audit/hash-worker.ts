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
  /**
   * Complete lines of an export in `bytes[0, length)`, moved to the thread and back, not copied
   * (memory shared between threads would be: hashing copies shared bytes first).
   */
  | { id: number; type: 'lines'; bytes: ArrayBuffer; length: number };

export type HashResult = { batch: HashedBatch } | { lines: LineBatch; bytes: ArrayBuffer };

export type HashAnswer = ({ id: number } & HashResult) | { id: number; error: string };

/**
 * One task's work, on whichever thread runs it. The stored rows' decoder (and the database
 * schema it reads) loads on the first batch of rows: a thread that only checks exported files
 * (the command line's verifier) starts without it.
 */
export async function runHashTask(task: HashTask): Promise<HashResult> {
  if (task.type === 'lines') {
    const lines = splitLineBatch(Buffer.from(task.bytes, 0, task.length), task.length);
    return { lines, bytes: task.bytes };
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
  parentPort!.postMessage(answer, 'bytes' in answer ? [answer.bytes] : []);
});
