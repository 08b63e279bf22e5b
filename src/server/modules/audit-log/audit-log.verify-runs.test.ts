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

describe('VerifyRuns per requester', () => {
  it('lets one requester start one verification at a time, and still join one that is running', async () => {
    const runs = new VerifyRuns<string>(4);
    const mine = pending();
    const theirs = pending();
    const first = runs.run('org-a:full', () => mine.promise, 'user:1');
    // Another organization's whole chain, by the same person: refused while theirs runs.
    expect(() => runs.run('org-b:full', () => Promise.resolve('b'), 'user:1')).toThrow(RateLimitedError);
    // Someone else's verification goes ahead, and joining a running one is free.
    const other = runs.run('org-c:full', () => theirs.promise, 'user:2');
    const joined = runs.run('org-c:full', () => Promise.resolve('never'), 'user:1');
    mine.end('a');
    theirs.end('c');
    expect(await first).toBe('a');
    expect(await other).toBe('c');
    expect(await joined).toBe('c');
    expect(await runs.run('org-b:full', () => Promise.resolve('b'), 'user:1')).toBe('b');
  });
});
