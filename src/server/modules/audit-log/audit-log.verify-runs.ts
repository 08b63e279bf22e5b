import { RateLimitedError } from '../../platform/errors/app-error.ts';

/**
 * The verifications running on this instance, by chain and scope: a caller asking for one that is
 * running shares it; beyond `max` at once, callers are asked to come back (429 rate_limited), so
 * that verifying cannot be used to keep the database and the hashing threads busy.
 */
export class VerifyRuns<T> {
  private readonly running = new Map<string, Promise<T>>();

  constructor(readonly max: number) {}

  get size(): number {
    return this.running.size;
  }

  run(key: string, start: () => Promise<T>): Promise<T> {
    const shared = this.running.get(key);
    if (shared) return shared;
    if (this.running.size >= this.max) {
      throw new RateLimitedError(
        2,
        `${this.running.size} audit log verifications are running on this server, the most it runs at once; try again shortly.`,
      );
    }
    const run = start().finally(() => this.running.delete(key));
    this.running.set(key, run);
    return run;
  }
}
