import { describe, expect, it } from 'vitest';
import { cidrCovers, listCovers } from './cidr.ts';

describe('cidrCovers (the allowlist editor’s warning)', () => {
  it.each([
    ['127.0.0.0/8', '127.0.0.5', true],
    ['127.0.0.1', '127.0.0.1', true],
    ['127.0.0.1/32', '127.0.0.2', false],
    ['::1/128', '::1', true],
    ['2001:db8::/32', '2001:db8:ffff::1', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['127.0.0.0/24', '::ffff:127.0.0.9', true],
    ['10.0.0.0/8', '::1', false],
    ['fe80::/10', 'fe80::1', true],
    ['garbage', '127.0.0.1', false],
    ['127.0.0.0/33', '127.0.0.1', false],
  ])('%s covers %s: %s', (cidr, ip, expected) => {
    expect(cidrCovers(cidr, ip)).toBe(expected);
  });

  it('a list covers what any of its blocks does', () => {
    expect(listCovers(['10.0.0.0/8', '127.0.0.1'], '127.0.0.1')).toBe(true);
    expect(listCovers([], '127.0.0.1')).toBe(false);
  });
});
