/**
 * Address and CIDR parsing, normalisation and interval arithmetic for the blocklist (pure).
 *
 * Normal forms: IPv4 dotted quad without leading zeros; IPv6 per RFC 5952 (lower case, longest
 * run of zero groups compressed, IPv4-mapped kept as ::ffff:a.b.c.d); a single host is written
 * without prefix ("198.51.100.7", not "/32"). A CIDR with host bits set ("198.51.100.7/24") is
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

function v4ToBig(s: string): bigint {
  let n = 0n;
  for (const part of s.split('.')) n = (n << 8n) | BigInt(Number(part));
  return n;
}

function v6ToBig(s: string): bigint {
  let text = s;
  // Embedded IPv4 tail (::ffff:1.2.3.4): turn it into two hex groups first.
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4tail?.[1] !== undefined) {
    const v = v4ToBig(v4tail[1]);
    text = text.slice(0, v4tail.index) + `${(v >> 16n).toString(16)}:${(v & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  let n = 0n;
  for (const g of groups) n = (n << 16n) | BigInt(parseInt(g, 16));
  return n;
}

export function formatAddress(family: 4 | 6, n: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => ((n >> s) & 255n).toString()).join('.');
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  // IPv4-mapped addresses are conventionally shown with a dotted tail.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${formatAddress(4, n & 0xffffffffn)}`;
  }
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

/**
 * Parses "ADDR" or "ADDR/LEN" (v4 or v6). Throws BULWARK_ERR_INVALID_ARGUMENT for anything else,
 * including host bits set under the prefix, zone ids (fe80::1%eth0) and prefix lengths out of range.
 */
export function parseCidr(input: string): Cidr {
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
  if ((value & hostMask) !== 0n) {
    const net = formatCidr({ family, base: value & ~hostMask, prefix });
    throw invalid(input, `host bits set (did you mean ${net}?)`);
  }
  return { family, base: value, prefix };
}

export function formatCidr(c: Cidr): string {
  const a = formatAddress(c.family, c.base);
  return c.prefix === BITS[c.family] ? a : `${a}/${c.prefix}`;
}

/** Normal form of an address or CIDR; throws BULWARK_ERR_INVALID_ARGUMENT. */
export function normalizeAddress(input: string): string {
  return formatCidr(parseCidr(input));
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
