import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hashPassword,
  MAX_WAITING_PER_ACCOUNT,
  onPasswordHashing,
  setPasswordHashingConcurrency,
  verifyPassword,
} from './passwords.ts';

describe('password hashing capacity is shared fairly between accounts', () => {
  let stop: () => void;
  const starts: string[] = [];
  beforeAll(() => {
    setPasswordHashingConcurrency(1);
    stop = onPasswordHashing((event, account) => {
      if (event === 'started') starts.push(account);
    });
  });
  afterAll(() => stop());

  it("serves another account's hash after at most one more of a flooding account's", async () => {
    starts.length = 0;
    const stored = await hashPassword('violet-anchor-meadow-42', 'user:flood');
    starts.length = 0;
    const flood = Array.from({ length: 50 }, () =>
      verifyPassword(stored, 'violet-anchor-meadow-42', 'user:flood').then(
        (ok) => (ok ? 'verified' : 'refused'),
        (err: { code?: string }) => err.code,
      ),
    );
    const other = verifyPassword(stored, 'violet-anchor-meadow-42', 'user:other');
    expect(await other).toBe(true);
    const outcomes = await Promise.all(flood);

    // The flood holds the one slot and queues up to its cap; the rest is refused (429), not queued.
    expect(outcomes.filter((o) => o === 'verified')).toHaveLength(1 + MAX_WAITING_PER_ACCOUNT);
    expect(outcomes.filter((o) => o === 'rate_limited')).toHaveLength(50 - 1 - MAX_WAITING_PER_ACCOUNT);
    // The other account's hash runs third: after the flood's running hash and at most one more,
    // ahead of the rest of the flood's queue.
    expect(starts.indexOf('user:other')).toBeLessThanOrEqual(2);
    expect(starts.slice(starts.indexOf('user:other') + 1).every((a) => a === 'user:flood')).toBe(true);
    expect(starts.length - starts.indexOf('user:other') - 1).toBeGreaterThanOrEqual(
      MAX_WAITING_PER_ACCOUNT - 1,
    );
  });

  it('goes round the accounts one hash at a time', async () => {
    const stored = await hashPassword('violet-anchor-meadow-42', 'user:a');
    starts.length = 0;
    const all: Promise<boolean>[] = [];
    for (const account of ['user:a', 'user:a', 'user:a', 'user:b', 'user:b', 'user:c']) {
      all.push(verifyPassword(stored, 'violet-anchor-meadow-42', account));
    }
    await Promise.all(all);
    expect(starts).toEqual(['user:a', 'user:a', 'user:b', 'user:c', 'user:a', 'user:b']);
  });
});
