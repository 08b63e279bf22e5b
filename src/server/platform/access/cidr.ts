import net from 'node:net';

/** An address range as an organization's allowlist stores it: canonical text, and what it covers. */
export interface Cidr {
  /** `network/prefix`, canonical: IPv4 dotted, IPv6 compressed lowercase (RFC 5952). */
  text: string;
  family: 'ipv4' | 'ipv6';
  network: string;
  prefix: number;
}

/** Why an entry is not a range: `cidr_invalid` (not an address/prefix), `cidr_host_bits` (bits past the prefix set). */
export type CidrProblem = 'cidr_invalid' | 'cidr_host_bits';

/**
 * Reads `a.b.c.d/n`, `ipv6/n` or a plain address (a single host: /32 or /128). Host bits past the
 * prefix are refused rather than silently cleared: `10.1.2.3/8` most likely means something its
 * writer did not intend, and an allowlist is not the place to guess.
 */
export function parseCidr(entry: string): Cidr | CidrProblem {
  const slash = entry.indexOf('/');
  const address = (slash === -1 ? entry : entry.slice(0, slash)).trim();
  // Zone ids (fe80::1%eth0) name an interface of some host, not a network.
  if (address.includes('%')) return 'cidr_invalid';
  const version = net.isIP(address);
  if (version === 0) return 'cidr_invalid';
  const bits = version === 4 ? 32 : 128;
  let prefix = bits;
  if (slash !== -1) {
    const raw = entry.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(raw)) return 'cidr_invalid';
    prefix = Number(raw);
    if (prefix > bits) return 'cidr_invalid';
  }
  const bytes = version === 4 ? ipv4Bytes(address) : ipv6Bytes(address);
  for (let bit = prefix; bit < bits; bit++) {
    if (bytes[bit >> 3]! & (0x80 >> (bit & 7))) return 'cidr_host_bits';
  }
  const network = version === 4 ? bytes.join('.') : formatIpv6(bytes);
  return { text: `${network}/${prefix}`, family: version === 4 ? 'ipv4' : 'ipv6', network, prefix };
}

function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

/** 16 bytes of an address `net.isIPv6` accepted (an embedded dotted IPv4 tail included). */
function ipv6Bytes(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = ipv4Bytes(dotted[1]!);
    text = `${text.slice(0, dotted.index)}${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups =
    tail === undefined
      ? headGroups
      : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  return groups.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/** RFC 5952: lowercase, no leading zeros, the longest run (first of equals, length ≥ 2) of zero groups as `::`. */
function formatIpv6(bytes: number[]): string {
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best === -1) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}

/**
 * The allowlist as one `net.BlockList` (matching is done by Node, IPv4-mapped IPv6 addresses
 * included), built once per cached organization; undefined for an empty list (every address).
 * Entries that no longer parse are skipped: what is stored was validated when it was written.
 */
export function allowlistOf(entries: readonly string[]): net.BlockList | undefined {
  if (entries.length === 0) return undefined;
  const list = new net.BlockList();
  for (const entry of entries) {
    const cidr = parseCidr(entry);
    if (typeof cidr === 'string') continue;
    list.addSubnet(cidr.network, cidr.prefix, cidr.family);
  }
  return list;
}

/** Whether `ip` (a request's address, as `request.ip` gives it) falls within the list. */
export function isAllowed(list: net.BlockList, ip: string | undefined): boolean {
  if (!ip) return false;
  const version = net.isIP(ip);
  if (version === 0) return false;
  return list.check(ip, version === 4 ? 'ipv4' : 'ipv6');
}
