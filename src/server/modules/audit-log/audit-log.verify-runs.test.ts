import { describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../platform/errors/app-error.ts';
import { VerifyRuns } from './audit-log.verify-runs.ts';

/** A run that ends when told to. */
function pending() {
  let end!: (value: string) => void;
  const promise = new Promise<string>((resolve) => {
    end = resolve;
  });
  return { promise, end };
}

describe('VerifyRuns', () => {
  it('shares a running verification, refuses one more chain than it runs at once (429), and frees the place when one ends', async () => {
    const runs = new VerifyRuns<string>(2);
    const a = pending();
    const b = pending();
    let started = 0;
    const first = runs.run('a', () => {
      started++;
      return a.promise;
    });
    const again = runs.run('a', () => {
      started++;
      return Promise.resolve('not shared');
    });
    const second = runs.run('b', () => b.promise);
    expect(started).toBe(1);
    let refused: unknown;
    try {
      runs.run('c', () => Promise.resolve('c'));
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect(refused).toMatchObject({ status: 429, code: 'rate_limited' });
    a.end('a done');
    expect(await first).toBe('a done');
    expect(await again).toBe('a done');
    expect(runs.size).toBe(1);
    expect(await runs.run('c', () => Promise.resolve('c done'))).toBe('c done');
    b.end('b done');
    expect(await second).toBe('b done');
    expect(runs.size).toBe(0);
  });
});
