/**
 * Address and CIDR parsing, normalisation and interval arithmetic for the blocklist (pure).
 *
 * This is the one address parser of the product: every check (never-block, special addresses,
 * blocks, exclusions) runs on its normal form, so two spellings of one address can never take
 * different paths.
 *
 * Normal forms: IPv4 dotted quad without leading zeros; IPv6 per RFC 5952 (lower case, longest
 * run of zero groups compressed); an IPv4-mapped IPv6 address (::ffff:a.b.c.d, and a mapped CIDR
 * of prefix ≥ 96) IS the IPv4 address and is written as such ("198.51.100.7") — a mapped form
 * must not slip past a check made on the IPv4 form. A single host is written without prefix
 * ("198.51.100.7", not "/32"). A CIDR with host bits set ("198.51.100.7/24") is
 * REFUSED rather than silently widened: blocking a whole /24 because of a typo is worse than an
 * error (the message names the network the operator probably meant).
 */
import { isIP } from 'node:net';
import { BulwarkError } from '../errors.js';

export interface Cidr {
  family: 4 | 6;
  /** Network address as an integer (v4: 32 bits, v6: 128 bits). */
  base: bigint;
  prefix: number;
}

/** Inclusive interval of addresses of one family. */
export interface Range {
  family: 4 | 6;
  first: bigint;
  last: bigint;
}

const BITS = { 4: 32, 6: 128 } as const;

function invalid(input: string, why: string): BulwarkError {
  return new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', `invalid address "${input}": ${why}`, { details: { address: input } });
}

function v4ToNum(s: string): number {
  let n = 0;
  for (const part of s.split('.')) n = n * 256 + Number(part);
  return n;
}

function v4ToBig(s: string): bigint {
  return BigInt(v4ToNum(s));
}

/** The 8 groups of a valid (isIP-checked) IPv6 address, as numbers. */
function v6Groups(s: string): number[] {
  let text = s;
  // Embedded IPv4 tail (::ffff:1.2.3.4): turn it into two hex groups first.
  const dot = text.indexOf('.');
  if (dot >= 0) {
    const start = text.lastIndexOf(':') + 1;
    const v = v4ToNum(text.slice(start));
    text = `${text.slice(0, start)}${Math.floor(v / 65536).toString(16)}:${(v % 65536).toString(16)}`;
  }
  const dbl = text.indexOf('::');
  const head = dbl < 0 ? text : text.slice(0, dbl);
  const tail = dbl < 0 ? '' : text.slice(dbl + 2);
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const out: number[] = [];
  for (const g of h) out.push(parseInt(g, 16));
  if (dbl >= 0) for (let i = h.length + t.length; i < 8; i++) out.push(0);
  for (const g of t) out.push(parseInt(g, 16));
  return out;
}

/** True for the 8 groups of ::ffff:a.b.c.d (RFC 4291 2.5.5.2). */
function isMappedGroups(g: number[]): boolean {
  return g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff;
}

const MAPPED_PREFIX = 0xffffn << 32n;

function v6ToBig(s: string): bigint {
  return BigInt(`0x${v6Groups(s)
    .map((g) => g.toString(16).padStart(4, '0'))
    .join('')}`);
}

/** Dotted IPv4 text of the two low groups of a mapped address. */
function mappedV4(groups: number[]): string {
  const a = groups[6]!;
  const b = groups[7]!;
  return `${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
}

/**
 * RFC 5952 text of 8 groups (hot path for host addresses: no bigint). A mapped value is shown
 * ::ffff:a.b.c.d here (it only reaches this as a bound of an IPv6 range); parseCidr and
 * normalizeAddress turn mapped addresses into IPv4 before anything is formatted.
 */
function formatGroups(groups: number[]): string {
  if (isMappedGroups(groups)) return `::ffff:${mappedV4(groups)}`;
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function formatAddress(family: 4 | 6, n: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((sh) => ((n >> sh) & 255n).toString()).join('.');
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  return formatGroups(groups);
}

/**
 * Parses "ADDR" or "ADDR/LEN" (v4 or v6). Throws BULWARK_ERR_INVALID_ARGUMENT for anything else,
 * including host bits set under the prefix (unless `clearHostBits`: isolation exclusions accept
 * "198.51.100.7/24" as its network), zone ids (fe80::1%eth0) and prefix lengths out of range.
 */
export function parseCidr(input: string, opts: { clearHostBits?: boolean } = {}): Cidr {
  const text = input.trim();
  if (text === '') throw invalid(input, 'empty');
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const lenText = slash < 0 ? undefined : text.slice(slash + 1);
  if (addr.includes('%')) throw invalid(input, 'zone ids are not supported');
  const fam = isIP(addr);
  if (fam !== 4 && fam !== 6) throw invalid(input, 'not an IPv4 or IPv6 address');
  const family: 4 | 6 = fam;
  const bits = BITS[family];
  let prefix: number = bits;
  if (lenText !== undefined) {
    if (!/^\d{1,3}$/.test(lenText)) throw invalid(input, 'prefix length must be a number');
    prefix = Number(lenText);
    if (prefix > bits) throw invalid(input, `prefix length must be 0..${bits}`);
  }
  const value = family === 4 ? v4ToBig(addr) : v6ToBig(addr);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  let c: Cidr;
  if (opts.clearHostBits === true) c = { family, base: value & ~hostMask, prefix };
  else if ((value & hostMask) !== 0n) {
    const net = formatCidr(unmap({ family, base: value & ~hostMask, prefix }));
    throw invalid(input, `host bits set (did you mean ${net}?)`);
  } else c = { family, base: value, prefix };
  return unmap(c);
}

/** ::ffff:a.b.c.d/96+n is a.b.c.d/n: an IPv4-mapped address or CIDR becomes IPv4 (wider prefixes stay IPv6). */
function unmap(c: Cidr): Cidr {
  if (c.family !== 6 || c.prefix < 96 || c.base >> 32n !== 0xffffn) return c;
  return { family: 4, base: c.base - MAPPED_PREFIX, prefix: c.prefix - 96 };
}

export function formatCidr(c: Cidr): string {
  const a = formatAddress(c.family, c.base);
  return c.prefix === BITS[c.family] ? a : `${a}/${c.prefix}`;
}

/** Normal form of an address or CIDR; throws BULWARK_ERR_INVALID_ARGUMENT. */
export function normalizeAddress(input: string): string {
  // Hot path (100k-entry restores, kernel listings): a plain host needs no bigint.
  if (!input.includes('/') && !input.includes('%')) {
    const text = input.trim();
    const fam = isIP(text);
    // Node's isIPv4 accepts only canonical dotted quads (no leading zeros).
    if (fam === 4) return text;
    if (fam === 6) {
      const g = v6Groups(text);
      return isMappedGroups(g) ? mappedV4(g) : formatGroups(g);
    }
  }
  return formatCidr(parseCidr(input));
}

/** True for a normalised single address (no prefix length). */
export function isHostAddress(normalized: string): boolean {
  return !normalized.includes('/');
}

export function cidrRange(c: Cidr): Range {
  const size = 1n << BigInt(BITS[c.family] - c.prefix);
  return { family: c.family, first: c.base, last: c.base + size - 1n };
}

export function rangeContains(outer: Range, inner: Range): boolean {
  return outer.family === inner.family && outer.first <= inner.first && inner.last <= outer.last;
}

export function rangesOverlap(a: Range, b: Range): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/** Sorted, non-overlapping, non-adjacent union of the ranges (per family, v4 first). */
export function mergeRanges(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a.family - b.family || (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last?.family === r.family && r.first <= last.last + 1n) {
      if (r.last > last.last) last.last = r.last;
    } else {
      out.push({ ...r });
    }
  }
  return out;
}

/** True when the inclusive range is exactly one CIDR; returns its prefix length, else undefined. */
export function rangeAsCidr(r: Range): Cidr | undefined {
  const size = r.last - r.first + 1n;
  if ((size & (size - 1n)) !== 0n) return undefined;
  const hostBits = size.toString(2).length - 1;
  if ((r.first & (size - 1n)) !== 0n) return undefined;
  return { family: r.family, base: r.first, prefix: BITS[r.family] - hostBits };
}

export function familyBits(f: 4 | 6): number {
  return BITS[f];
}

/**
 * Addresses that never stand for one remote host: blocking them would cut broadcast, multicast,
 * DHCP or neighbour discovery (a block of the solicited-node group ff02::1:ff00:2 silences
 * neighbour solicitations for every address ending in 00:2), never an attacker. Never blocked,
 * and in the kernel's allow sets so a hand-made element cannot cut them either. Loopback is a
 * never-block source of its own; a subnet's broadcast address depends on the host's interfaces
 * (subnetBroadcast, added with the interface addresses).
 */
export const SPECIAL_RANGES: readonly { cidr: string; what: string }[] = [
  { cidr: '0.0.0.0/8', what: 'unspecified / "this network" (RFC 1122)' },
  { cidr: '224.0.0.0/4', what: 'IPv4 multicast' },
  { cidr: '255.255.255.255', what: 'IPv4 limited broadcast' },
  { cidr: '::/96', what: 'IPv6 unspecified and deprecated IPv4-compatible addresses (RFC 4291)' },
  { cidr: 'ff00::/8', what: 'IPv6 multicast (all-nodes, solicited-node groups, ...)' },
];

/** Directed broadcast address of an interface's IPv4 subnet ("198.51.100.2/24" → "198.51.100.255"); undefined for /31, /32 and IPv6. */
export function subnetBroadcast(interfaceCidr: string): string | undefined {
  let c: Cidr;
  try {
    c = parseCidr(interfaceCidr, { clearHostBits: true });
  } catch {
    return undefined;
  }
  if (c.family !== 4 || c.prefix > 30) return undefined;
  return formatAddress(4, cidrRange(c).last);
}
