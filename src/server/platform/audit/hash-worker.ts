/**
 * A thread of the audit hash pool (see hash-pool.ts): hashes batches of stored entries sent as
 * row payloads and answers with their hashes, so that verifying a long chain does not hold the
 * main thread.
 */
import { parentPort } from 'node:worker_threads';
import type { ChainKind } from './entry.ts';
import { hashPayloads } from './row-hash.ts';

export interface HashTask {
  id: number;
  kind: ChainKind;
  payloads: string[];
}

export type HashAnswer = { id: number; hashes: string } | { id: number; error: string };

parentPort?.on('message', (task: HashTask) => {
  let answer: HashAnswer;
  try {
    answer = { id: task.id, hashes: hashPayloads(task.kind, task.payloads) };
  } catch (err) {
    answer = { id: task.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(answer);
});
