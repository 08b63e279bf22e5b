/**
 * Which addresses an outbound request may reach: pure decisions on addresses and host names, no
 * resolution and no connection. Everything that is not a globally routable unicast address is
 * refused unless OUTBOUND_ALLOWLIST names it.
 */
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * What kind of address this is. `public` is the only kind reachable without the allowlist; the
 * others are refused. IPv6 forms that carry an IPv4 address (IPv4-mapped, NAT64 64:ff9b::/96,
 * 6to4 2002::/16) take the kind of the IPv4 address they carry.
 */
export type AddressKind =
  | 'public'
  | 'loopback'
  | 'private'
  | 'linkLocal'
  | 'carrierGradeNat'
  | 'uniqueLocal'
  | 'multicast'
  | 'unspecified'
  | 'broadcast'
  | 'reserved'
  | 'documentation'
  | 'benchmarking'
  | 'siteLocal'
  | 'translation'
  | 'invalid';

const KIND_WORDS: Record<AddressKind, string> = {
  public: 'a public address',
  loopback: 'a loopback address',
  private: 'a private (RFC 1918) address',
  linkLocal: 'a link-local address (cloud metadata services live there)',
  carrierGradeNat: 'a shared (CGNAT, 100.64.0.0/10) address',
  uniqueLocal: 'a unique-local (fc00::/7) address',
  multicast: 'a multicast address',
  unspecified: 'the unspecified address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
  documentation: 'a documentation address',
  benchmarking: 'a benchmarking address',
  siteLocal: 'a site-local address',
  translation: 'an IPv4/IPv6 translation address',
  invalid: 'not an IP address',
};

export interface AddressClass {
  kind: AddressKind;
  /** The address in canonical form (IPv4 dotted quad; IPv6 RFC 5952). */
  address: string;
  /** For IPv6 forms carrying an IPv4 address: the IPv4 address the kind was taken from. */
  embeddedIPv4?: string;
}

const DOCUMENTATION_V4 = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'].map((c) =>
  ipaddr.IPv4.parseCIDR(c),
);
const DOCUMENTATION_V6 = ['2001:db8::/32', '3fff::/20'].map((c) => ipaddr.IPv6.parseCIDR(c));
const GLOBAL_UNICAST_V6 = ipaddr.IPv6.parseCIDR('2000::/3');
const NAT64_WELL_KNOWN = ipaddr.IPv6.parseCIDR('64:ff9b::/96');
const IPV4_MAPPED_BASE = ipaddr.IPv6.parse('::ffff:0:0');

const V4_KINDS: Partial<Record<string, AddressKind>> = {
  unicast: 'public',
  loopback: 'loopback',
  private: 'private',
  linkLocal: 'linkLocal',
  carrierGradeNat: 'carrierGradeNat',
  multicast: 'multicast',
  unspecified: 'unspecified',
  broadcast: 'broadcast',
};

const V6_KINDS: Partial<Record<string, AddressKind>> = {
  unicast: 'public',
  loopback: 'loopback',
  linkLocal: 'linkLocal',
  uniqueLocal: 'uniqueLocal',
  multicast: 'multicast',
  unspecified: 'unspecified',
  benchmarking: 'benchmarking',
  deprecatedSiteLocal: 'siteLocal',
  rfc6145: 'translation',
  teredo: 'translation',
};

/**
 * Parses an address as a host may spell it: bracketed IPv6 (`[::1]`), IPv4 in the legacy forms
 * inet_aton accepts (`127.1`, `0x7f000001`, `2130706433`, `0177.0.0.1`). Null when not an address.
 */
export function parseAddress(text: string): Address | null {
  let s = text.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  // A zone (fe80::1%eth0) names an interface of this machine: never a destination to accept.
  if (s.includes('%')) return null;
  // ipaddr.js reads ::a.b.c.d as ::ffff:a.b.c.d; it is the IPv4-compatible ::xxxx:xxxx (RFC 4291).
  const dotted = s.includes(':') ? /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s) : null;
  if (dotted) {
    const octets = dotted.slice(2).map(Number);
    if (octets.some((o) => o > 255)) return null;
    const [a = 0, b = 0, c = 0, d = 0] = octets;
    s = `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  if (!ipaddr.isValid(s)) return null;
  try {
    return ipaddr.parse(s);
  } catch {
    return null;
  }
}

function classifyV4(addr: ipaddr.IPv4): AddressKind {
  if (DOCUMENTATION_V4.some((cidr) => addr.match(cidr))) return 'documentation';
  if (addr.match(ipaddr.IPv4.parseCIDR('198.18.0.0/15'))) return 'benchmarking';
  return V4_KINDS[addr.range()] ?? 'reserved';
}

/** The IPv4 address in bits 16..47 of a 6to4 address (2002:AABB:CCDD::/48). */
function sixToFourV4(addr: ipaddr.IPv6): ipaddr.IPv4 {
  const [, hi = 0, lo = 0] = addr.parts;
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

/** The IPv4 address in the last 32 bits. */
function lastV4(addr: ipaddr.IPv6): ipaddr.IPv4 {
  const hi = addr.parts[6] ?? 0;
  const lo = addr.parts[7] ?? 0;
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

/** The kind of one address, by the address alone (no allowlist). */
export function classifyAddress(ip: string): AddressClass {
  const addr = parseAddress(ip);
  if (!addr) return { kind: 'invalid', address: ip };
  if (addr.kind() === 'ipv4') {
    return { kind: classifyV4(addr as ipaddr.IPv4), address: addr.toString() };
  }
  const v6 = addr as ipaddr.IPv6;
  const address = v6.toRFC5952String();
  const embedded = (v4: ipaddr.IPv4): AddressClass => ({
    kind: classifyV4(v4),
    address,
    embeddedIPv4: v4.toString(),
  });
  const range = v6.range();
  // ::ffff:a.b.c.d is a.b.c.d on a dual-stack socket; NAT64 and 6to4 gateways forward to the
  // IPv4 address they carry. Each is as reachable as that address, no more.
  if (range === 'ipv4Mapped') return embedded(v6.toIPv4Address());
  if (v6.match(NAT64_WELL_KNOWN)) return embedded(lastV4(v6));
  if (range === '6to4') return embedded(sixToFourV4(v6));
  // The local-use NAT64 prefix (64:ff9b:1::/48) leads into a private network.
  if (range === 'rfc6052') return { kind: 'translation', address };
  if (DOCUMENTATION_V6.some((cidr) => v6.match(cidr))) return { kind: 'documentation', address };
  const kind = V6_KINDS[range] ?? 'reserved';
  // Outside 2000::/3 nothing is globally routed unicast today, including the deprecated
  // IPv4-compatible ::a.b.c.d form (which ipaddr.js calls unicast).
  if (kind === 'public' && !v6.match(GLOBAL_UNICAST_V6)) {
    const firstSix = v6.parts.slice(0, 6).every((p) => p === 0);
    return firstSix
      ? { kind: 'reserved', address, embeddedIPv4: lastV4(v6).toString() }
      : { kind: 'reserved', address };
  }
  return { kind, address };
}

/** The installation's OUTBOUND_ALLOWLIST, parsed: address ranges and host names. */
export interface Allowlist {
  ranges: [Address, number][];
  /** Exact host names, lower case, no trailing dot. */
  names: string[];
  /** `*.example.com` entries, kept as `.example.com`: any name below it (not the name itself). */
  suffixes: string[];
}

export const EMPTY_ALLOWLIST: Allowlist = { ranges: [], names: [], suffixes: [] };

const HOST_NAME =
  /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/**
 * Parses allowlist entries (`10.0.0.0/8`, `127.0.0.1`, `::1`, `hooks.internal`,
 * `*.corp.example`). Throws an Error naming the first bad entry; a range covering every
 * address (`/0`), or every IPv4 address in its IPv4-mapped form, is refused: it would switch the
 * guard off.
 */
export function parseAllowlist(entries: readonly string[] | string): Allowlist {
  const list = typeof entries === 'string' ? entries.split(',') : entries;
  const result: Allowlist = { ranges: [], names: [], suffixes: [] };
  for (const raw of list) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    const slash = entry.indexOf('/');
    if (slash !== -1) {
      const [base, prefixText] = [entry.slice(0, slash), entry.slice(slash + 1)];
      const isV4 = ipaddr.IPv4.isValidFourPartDecimal(base);
      if ((!isV4 && !ipaddr.IPv6.isValid(base)) || !/^\d{1,3}$/.test(prefixText)) {
        throw new Error(`"${raw.trim()}" is not an address range (e.g. 10.0.0.0/8 or fd00::/8)`);
      }
      const prefix = Number(prefixText);
      if (prefix > (isV4 ? 32 : 128)) throw new Error(`"${raw.trim()}" has a prefix length out of range`);
      if (prefix === 0) {
        throw new Error(
          `"${raw.trim()}" covers every address, which would switch the guard off; list the ranges you need`,
        );
      }
      const range = ipaddr.parse(base);
      // ::ffff:a.b.c.d is reached as a.b.c.d: a range holding all of ::ffff:0:0/96 opens every
      // IPv4 address (169.254.169.254 included) to a name that answers with its mapped form.
      if (!isV4 && prefix <= 96 && IPV4_MAPPED_BASE.match(range, prefix)) {
        throw new Error(
          `"${raw.trim()}" covers every IPv4 address (as ::ffff:0:0/96, their IPv4-mapped form), which would switch the guard off; list the ranges you need`,
        );
      }
      result.ranges.push([range, prefix]);
      continue;
    }
    if (ipaddr.IPv4.isValidFourPartDecimal(entry)) {
      result.ranges.push([ipaddr.parse(entry), 32]);
      continue;
    }
    const bare = entry.startsWith('[') && entry.endsWith(']') ? entry.slice(1, -1) : entry;
    if (ipaddr.IPv6.isValid(bare) && !bare.includes('%')) {
      result.ranges.push([ipaddr.parse(bare), 128]);
      continue;
    }
    const name = entry.replace(/\.$/, '');
    if (name.startsWith('*.') && HOST_NAME.test(name.slice(2))) {
      result.suffixes.push(name.slice(1));
      continue;
    }
    if (HOST_NAME.test(name) && !/^[\d.]+$/.test(name)) {
      result.names.push(name);
      continue;
    }
    throw new Error(
      `"${raw.trim()}" is neither an address, an address range (10.0.0.0/8) nor a host name (hooks.internal, *.corp.example)`,
    );
  }
  return result;
}

/** A host name as compared: lower case, without one trailing dot. */
export function normalizeHostName(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

export function isNameAllowlisted(host: string, allowlist: Allowlist): boolean {
  const name = normalizeHostName(host);
  return allowlist.names.includes(name) || allowlist.suffixes.some((suffix) => name.endsWith(suffix));
}

/** `localhost` and every name below it (RFC 6761): always this machine, whatever DNS says. */
export function isLocalhostName(host: string): boolean {
  const name = normalizeHostName(host);
  return name === 'localhost' || name.endsWith('.localhost');
}

function inAllowlist(addr: Address, allowlist: Allowlist): boolean {
  const forms: Address[] = [addr];
  // ::ffff:10.1.2.3 is reached as 10.1.2.3: an IPv4 range covers it.
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    forms.push((addr as ipaddr.IPv6).toIPv4Address());
  }
  return allowlist.ranges.some(([base, prefix]) =>
    forms.some((form) => form.kind() === base.kind() && form.match(base, prefix)),
  );
}

export interface AddressDecision extends AddressClass {
  allowed: boolean;
  /** Allowed because OUTBOUND_ALLOWLIST covers it (then plain http is allowed too). */
  allowlisted: boolean;
}

/**
 * May a connection go to this address? Allowlisted addresses may; otherwise only public ones.
 * Pure: nothing is resolved or connected.
 */
export function decideAddress(ip: string, allowlist: Allowlist = EMPTY_ALLOWLIST): AddressDecision {
  const cls = classifyAddress(ip);
  if (cls.kind === 'invalid') return { ...cls, allowed: false, allowlisted: false };
  const allowlisted = inAllowlist(parseAddress(ip) as Address, allowlist);
  return { ...cls, allowed: allowlisted || cls.kind === 'public', allowlisted };
}

/**
 * Words for the kind of address a name resolved to, without the address: "a loopback address".
 * What a name resolves to inside the installation is not for those who submit URLs to learn
 * (problem details, delivery logs), only that it is refused and why.
 */
export function describeKind(decision: AddressClass): string {
  return `${KIND_WORDS[decision.kind]}${decision.embeddedIPv4 ? ' (in an IPv6 form)' : ''}`;
}

/** Words for an address, for problem details and errors: "127.0.0.1, a loopback address". */
export function describeAddress(decision: AddressClass): string {
  const carried = decision.embeddedIPv4 ? ` carrying ${decision.embeddedIPv4}` : '';
  return `${decision.address}, ${KIND_WORDS[decision.kind]}${carried}`;
}
