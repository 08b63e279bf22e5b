/**
 * Whether an allowlist covers an address, in the browser: enough to warn before saving a list
 * that leaves out the editor's own address. The server decides (409 `would_lock_out`); this only
 * spares a round trip, so anything it cannot read counts as not covering.
 */

function ipv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function ipv6(text: string): bigint | undefined {
  let rest = text.toLowerCase();
  // An IPv4 tail (::ffff:127.0.0.1) is its two last groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(rest);
  if (dotted) {
    const v4 = ipv4(dotted[1]!);
    if (v4 === undefined) return undefined;
    rest = `${rest.slice(0, dotted.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = rest.split('::');
  if (halves.length > 2) return undefined;
  const read = (s: string) => (s === '' ? [] : s.split(':'));
  const head = read(halves[0] ?? '');
  const back = halves.length === 2 ? read(halves[1] ?? '') : [];
  const fill = halves.length === 2 ? 8 - head.length - back.length : 0;
  if (fill < 0 || (halves.length === 1 && head.length !== 8)) return undefined;
  let value = 0n;
  for (const g of [...head, ...Array<string>(fill).fill('0'), ...back]) {
    if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
    value = (value << 16n) | BigInt(`0x${g}`);
  }
  return value;
}

/** An address as a number and its width; IPv4-mapped IPv6 addresses read as the IPv4 they map. */
function address(text: string): { value: bigint; bits: number } | undefined {
  const v4 = ipv4(text);
  if (v4 !== undefined) return { value: v4, bits: 32 };
  const v6 = ipv6(text);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { value: v6 & 0xffffffffn, bits: 32 };
  return { value: v6, bits: 128 };
}

/** Whether `cidr` (a block or a plain address) contains `ip`. */
export function cidrCovers(cidr: string, ip: string): boolean {
  const [net = '', prefixText] = cidr.trim().split('/');
  // A block is read as written (an IPv4-mapped block stays IPv6), the address as it maps.
  const v4 = ipv4(net);
  const v6 = v4 === undefined ? ipv6(net) : undefined;
  const block =
    v4 !== undefined ? { value: v4, bits: 32 } : v6 !== undefined ? { value: v6, bits: 128 } : undefined;
  const target = address(ip);
  if (!block || !target || block.bits !== target.bits) return false;
  const prefix = prefixText === undefined ? block.bits : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > block.bits) return false;
  const shift = BigInt(block.bits - prefix);
  return block.value >> shift === target.value >> shift;
}

export function listCovers(list: readonly string[], ip: string): boolean {
  return list.some((cidr) => cidrCovers(cidr, ip));
}
