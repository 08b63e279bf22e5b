/**
 * The guard's decisions on addresses: nothing here resolves a name or opens a connection.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.ts';
import {
  classifyAddress,
  decideAddress,
  isLocalhostName,
  isNameAllowlisted,
  parseAddress,
  parseAllowlist,
} from './addresses.ts';

const REFUSED: [string, string][] = [
  // loopback, every spelling
  ['127.0.0.1', 'loopback'],
  ['127.1', 'loopback'],
  ['0x7f000001', 'loopback'],
  ['2130706433', 'loopback'],
  ['0177.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['::1', 'loopback'],
  ['[::1]', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  // unspecified
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['::', 'unspecified'],
  ['[::]', 'unspecified'],
  // RFC 1918
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  // link-local and the cloud metadata service
  ['169.254.169.254', 'linkLocal'],
  ['169.254.0.1', 'linkLocal'],
  ['fe80::1', 'linkLocal'],
  ['febf::1', 'linkLocal'],
  // CGNAT
  ['100.64.0.1', 'carrierGradeNat'],
  ['100.127.255.255', 'carrierGradeNat'],
  // unique-local (fd00:ec2::254 is the IPv6 metadata service of one cloud)
  ['fc00::1', 'uniqueLocal'],
  ['fd00::2', 'uniqueLocal'],
  ['fd00:ec2::254', 'uniqueLocal'],
  // multicast and broadcast
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['ff02::1', 'multicast'],
  ['ff05::c', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  // reserved, documentation, benchmarking
  ['240.0.0.1', 'reserved'],
  ['192.0.0.8', 'reserved'],
  ['192.0.2.10', 'documentation'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation'],
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['2001:2::1', 'benchmarking'],
  ['fec0::1', 'siteLocal'],
  ['100::1', 'reserved'],
  ['::2', 'reserved'],
  ['4000::1', 'reserved'],
  // IPv4 carried in IPv6: as refused as the IPv4 address itself
  ['::ffff:127.0.0.1', 'loopback'],
  ['[::ffff:127.0.0.1]', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:169.254.169.254', 'linkLocal'],
  ['::ffff:0.0.0.0', 'unspecified'],
  ['::127.0.0.1', 'reserved'],
  ['::ffff:0:127.0.0.1', 'translation'],
  ['64:ff9b::127.0.0.1', 'loopback'],
  ['64:ff9b::a9fe:a9fe', 'linkLocal'],
  ['64:ff9b::192.168.0.1', 'private'],
  ['64:ff9b:1::1', 'translation'],
  ['2002:7f00:1::', 'loopback'],
  ['2002:a9fe:a9fe::1', 'linkLocal'],
  ['2002:0a00:0001::1', 'private'],
  ['2001::1', 'translation'],
];

describe('classifyAddress and decideAddress', () => {
  it.each(REFUSED)('refuses %s (%s)', (ip, kind) => {
    expect(classifyAddress(ip).kind).toBe(kind);
    const decision = decideAddress(ip);
    expect(decision.allowed).toBe(false);
    expect(decision.allowlisted).toBe(false);
  });

  it.each([
    ['93.184.215.14'],
    ['8.8.8.8'],
    ['1.1.1.1'],
    ['172.15.255.255'],
    ['172.32.0.1'],
    ['100.63.255.255'],
    ['100.128.0.1'],
    ['169.253.255.255'],
    ['2606:4700:4700::1111'],
    ['2a00:1450:4001:82a::200e'],
    ['::ffff:8.8.8.8'],
    ['64:ff9b::8.8.8.8'],
    ['2002:0808:0808::1'],
  ])('allows the public address %s', (ip) => {
    expect(classifyAddress(ip).kind).toBe('public');
    expect(decideAddress(ip)).toMatchObject({ allowed: true, allowlisted: false });
  });

  it('says which IPv4 address an IPv6 form carries', () => {
    expect(classifyAddress('::ffff:127.0.0.1')).toEqual({
      kind: 'loopback',
      address: '::ffff:7f00:1',
      embeddedIPv4: '127.0.0.1',
    });
    expect(classifyAddress('2002:a9fe:a9fe::1').embeddedIPv4).toBe('169.254.169.254');
    expect(classifyAddress('64:ff9b::7f00:1').embeddedIPv4).toBe('127.0.0.1');
  });

  it('treats what is not an address, or an address with a zone, as refused', () => {
    for (const text of ['', 'example.com', '1.2.3.4.5', '::ffff:1.2.3', 'fe80::1%eth0', '[::1']) {
      expect(parseAddress(text)).toBeNull();
      expect(decideAddress(text)).toMatchObject({ kind: 'invalid', allowed: false });
    }
  });

  it('allows what the allowlist covers, and only that', () => {
    const allowlist = parseAllowlist(['127.0.0.1/32', '10.20.0.0/16', 'fd00:1::/32', '::1']);
    expect(decideAddress('127.0.0.1', allowlist)).toMatchObject({
      allowed: true,
      allowlisted: true,
      kind: 'loopback',
    });
    expect(decideAddress('127.0.0.2', allowlist).allowed).toBe(false);
    expect(decideAddress('10.20.3.4', allowlist).allowed).toBe(true);
    expect(decideAddress('10.21.0.1', allowlist).allowed).toBe(false);
    expect(decideAddress('fd00:1:2::3', allowlist).allowed).toBe(true);
    expect(decideAddress('fd00:2::3', allowlist).allowed).toBe(false);
    expect(decideAddress('::1', allowlist).allowed).toBe(true);
    // The IPv4-mapped form of an allowlisted IPv4 address reaches the same place.
    expect(decideAddress('::ffff:127.0.0.1', allowlist)).toMatchObject({ allowed: true, allowlisted: true });
    expect(decideAddress('::ffff:127.0.0.2', allowlist).allowed).toBe(false);
    // Part of the IPv4-mapped space may be listed in that form.
    const mapped = parseAllowlist(['::ffff:10.20.0.0/112']);
    expect(decideAddress('::ffff:10.20.3.4', mapped)).toMatchObject({ allowed: true, allowlisted: true });
    expect(decideAddress('::ffff:169.254.169.254', mapped).allowed).toBe(false);
    // A public address is allowed without being allowlisted (http stays refused for it).
    expect(decideAddress('8.8.8.8', allowlist)).toMatchObject({ allowed: true, allowlisted: false });
  });
});

describe('host names', () => {
  it('knows localhost and every name below it, in any case and with a final dot', () => {
    for (const name of ['localhost', 'LOCALHOST', 'localhost.', 'a.localhost', 'x.y.localhost.']) {
      expect(isLocalhostName(name)).toBe(true);
    }
    for (const name of ['localhost.example.com', 'notlocalhost', 'example.com']) {
      expect(isLocalhostName(name)).toBe(false);
    }
  });

  it('matches allowlisted names exactly, and *.suffix entries below the suffix only', () => {
    const allowlist = parseAllowlist('localhost, hooks.internal ,*.corp.example');
    expect(isNameAllowlisted('localhost', allowlist)).toBe(true);
    expect(isNameAllowlisted('HOOKS.internal.', allowlist)).toBe(true);
    expect(isNameAllowlisted('x.hooks.internal', allowlist)).toBe(false);
    expect(isNameAllowlisted('a.corp.example', allowlist)).toBe(true);
    expect(isNameAllowlisted('a.b.corp.example', allowlist)).toBe(true);
    expect(isNameAllowlisted('corp.example', allowlist)).toBe(false);
    expect(isNameAllowlisted('evilcorp.example', allowlist)).toBe(false);
  });
});

describe('OUTBOUND_ALLOWLIST', () => {
  it('is empty and http refused by default', () => {
    const config = loadConfig({});
    expect(config.outbound).toEqual({ allowlist: [], allowHttp: false });
  });

  it('takes ranges, addresses and names', () => {
    const config = loadConfig({
      OUTBOUND_ALLOWLIST: '10.0.0.0/8, 127.0.0.1,::1,[fd00::1], hooks.internal,*.corp.example',
      OUTBOUND_ALLOW_HTTP: 'true',
    });
    expect(config.outbound.allowHttp).toBe(true);
    const list = parseAllowlist(config.outbound.allowlist);
    expect(list.ranges.map(([a, p]) => `${a.toString()}/${p}`)).toEqual([
      '10.0.0.0/8',
      '127.0.0.1/32',
      '::1/128',
      'fd00::1/128',
    ]);
    expect(list.names).toEqual(['hooks.internal']);
    expect(list.suffixes).toEqual(['.corp.example']);
  });

  it.each([
    ['0.0.0.0/0', /covers every address/],
    ['::/0', /covers every address/],
    // ::ffff:a.b.c.d is a.b.c.d: a range holding every IPv4-mapped address opens all of IPv4.
    ['::ffff:0:0/96', /covers every IPv4 address/],
    ['::ffff:0.0.0.0/96', /covers every IPv4 address/],
    ['0:0:0:0:0:ffff::/80', /covers every IPv4 address/],
    ['::/1', /covers every IPv4 address/],
    ['10.0.0.0/33', /prefix length/],
    ['10.0.0/8', /not an address range/],
    ['127.1', /neither/],
    ['http://hooks.internal', /OUTBOUND_ALLOWLIST: "http:\/\/hooks.internal"/],
    ['hooks internal', /neither/],
    ['fe80::1%eth0', /neither/],
  ])('refuses the entry %s with a message', (entry, message) => {
    expect(() => loadConfig({ OUTBOUND_ALLOWLIST: entry })).toThrow(ConfigError);
    expect(() => loadConfig({ OUTBOUND_ALLOWLIST: entry })).toThrow(message);
  });

  it('refuses an OUTBOUND_ALLOW_HTTP that is not a boolean', () => {
    expect(() => loadConfig({ OUTBOUND_ALLOW_HTTP: 'sometimes' })).toThrow(/OUTBOUND_ALLOW_HTTP/);
  });
});
