import { RateLimitedError } from '../../platform/errors/app-error.ts';

/**
 * The verifications running on this instance, by chain and scope: a caller asking for one that is
 * running shares it; beyond `max` at once, callers are asked to come back (429 rate_limited), so
 * that verifying cannot be used to keep the database and the hashing threads busy. One requester
 * (a user or a token) starts one at a time: someone with long logs in several organizations cannot
 * hold every place and leave the other organizations refused.
 */
export class VerifyRuns<T> {
  private readonly running = new Map<string, Promise<T>>();
  private readonly starters = new Set<string>();

  constructor(readonly max: number) {}

  get size(): number {
    return this.running.size;
  }

  run(key: string, start: () => Promise<T>, requester?: string): Promise<T> {
    const shared = this.running.get(key);
    if (shared) return shared;
    if (requester !== undefined && this.starters.has(requester)) {
      throw new RateLimitedError(
        2,
        'A verification you started is still running; wait for it to finish before starting another.',
      );
    }
    if (this.running.size >= this.max) {
      throw new RateLimitedError(
        2,
        `${this.running.size} audit log verifications are running on this server, the most it runs at once; try again shortly.`,
      );
    }
    if (requester !== undefined) this.starters.add(requester);
    const run = start().finally(() => {
      this.running.delete(key);
      if (requester !== undefined) this.starters.delete(requester);
    });
    this.running.set(key, run);
    return run;
  }
}
