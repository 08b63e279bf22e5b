import type { Tx } from './db/client.ts';

/**
 * What platform helpers need of a running command: its transaction, and cache drops delivered at
 * commit. The command runner's context is one; helpers take this instead, so nothing under the
 * platform imports the runner it serves.
 */
export interface CommandScope {
  tx: Tx;
  /** Drop a cached value everywhere once the transaction commits. */
  invalidate(cacheName: string, key: string): Promise<void>;
}
