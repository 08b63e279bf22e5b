/**
 * A thread of the audit hash pool (see hash-pool.ts): hashes and authenticates batches of stored
 * entries (row-hash.ts), so that verifying a long chain does not hold the main thread.
 */
import { parentPort } from 'node:worker_threads';
import type { ChainKind } from './entry.ts';
import { type HashedBatch, hashRowBatch } from './row-hash.ts';

export interface HashTask {
  id: number;
  kind: ChainKind;
  rows: string;
  mac: { keyId: string; macKey: Uint8Array };
}

export type HashAnswer = { id: number; batch: HashedBatch } | { id: number; error: string };

parentPort?.on('message', (task: HashTask) => {
  let answer: HashAnswer;
  try {
    const mac = { keyId: task.mac.keyId, macKey: Buffer.from(task.mac.macKey) };
    answer = { id: task.id, batch: hashRowBatch(task.kind, task.rows, mac) };
  } catch (err) {
    answer = { id: task.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(answer);
});
