/**
 * Exclusion set elements as 4-dimensional boxes (remote address × l4proto × local port × remote port).
 * The kernel's concatenated-range sets (pipapo) refuse an element whose start or end lies inside an
 * existing one ("File exists"), so overlapping exclusions (a /24 and a host in it, DHCP any and the
 * broadcast address) are first made disjoint here. The same numeric form compares the kernel's
 * read-back (`nft -j`, which rewrites aligned ranges as prefixes and protocols as names) with what we wrote.
 */
import { parseCidr } from './addr.js';

export type Range = readonly [bigint, bigint];
export type Box = readonly [Range, Range, Range, Range];

const PROTO_NAMES: Record<string, number> = { icmp: 1, igmp: 2, tcp: 6, udp: 17, 'ipv6-icmp': 58, gre: 47, esp: 50, ah: 51, sctp: 132, udplite: 136 };

export function addrToBig(addr: string): { family: 4 | 6; value: bigint } {
  const c = parseCidr(addr);
  if (c.family === 4) {
    return { family: 4, value: c.addr.split('.').reduce((acc, x) => (acc << 8n) | BigInt(Number(x)), 0n) };
  }
  const hex = expandV6(c.addr);
  return { family: 6, value: BigInt(`0x${hex}`) };
}

function expandV6(a: string): string {
  const [head, tail] = a.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0')).join('');
}

export function bigToAddr(v: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

export function cidrRange(text: string): { family: 4 | 6; range: Range } {
  const c = parseCidr(text);
  const bits = c.family === 4 ? 32n : 128n;
  const { value } = addrToBig(c.addr);
  const hostBits = bits - BigInt(c.len);
  return { family: c.family, range: [value, value | ((1n << hostBits) - 1n)] };
}

function volume(b: Box): bigint {
  return b.reduce((v, r) => v * (r[1] - r[0] + 1n), 1n);
}

function intersects(a: Box, b: Box): boolean {
  return a.every((r, i) => r[0] <= b[i]![1] && b[i]![0] <= r[1]);
}

function contains(outer: Box, inner: Box): boolean {
  return outer.every((r, i) => r[0] <= inner[i]![0] && inner[i]![1] <= r[1]);
}

/** a \ b as disjoint boxes (at most 8). */
export function subtract(a: Box, b: Box): Box[] {
  if (!intersects(a, b)) return [a];
  if (contains(b, a)) return [];
  const out: Box[] = [];
  const cur: Range[] = [...a];
  for (let i = 0; i < 4; i++) {
    const ar = cur[i]!;
    const br = b[i]!;
    if (ar[0] < br[0]) {
      const piece = [...cur];
      piece[i] = [ar[0], br[0] - 1n];
      out.push(piece as unknown as Box);
    }
    if (ar[1] > br[1]) {
      const piece = [...cur];
      piece[i] = [br[1] + 1n, ar[1]];
      out.push(piece as unknown as Box);
    }
    cur[i] = [ar[0] > br[0] ? ar[0] : br[0], ar[1] < br[1] ? ar[1] : br[1]];
  }
  return out;
}

/** Disjoint cover of the union of the boxes; `limit` bounds the output (throws past it). */
export function disjoint(boxes: readonly Box[], limit: number): Box[] {
  const sorted = [...boxes].sort((x, y) => {
    const d = volume(y) - volume(x);
    return d > 0n ? 1 : d < 0n ? -1 : 0;
  });
  const result: Box[] = [];
  for (const b of sorted) {
    let pieces: Box[] = [b];
    for (const r of result) {
      if (pieces.length === 0) break;
      pieces = pieces.flatMap((p) => subtract(p, r));
    }
    result.push(...pieces);
    if (result.length > limit) throw new RangeError(`more than ${limit} kernel elements`);
  }
  return result;
}

function rangeText(r: Range): string {
  return r[0] === r[1] ? String(r[0]) : `${r[0]}-${r[1]}`;
}

function addrRangeText(r: Range, family: 4 | 6): string {
  const bits = family === 4 ? 32 : 128;
  const size = r[1] - r[0] + 1n;
  // Aligned power-of-two block → prefix; otherwise an address range.
  if ((size & (size - 1n)) === 0n && r[0] % size === 0n) {
    const len = bits - (size.toString(2).length - 1);
    const a = bigToAddr(r[0], family);
    return len === bits ? a : `${a}/${len}`;
  }
  return `${bigToAddr(r[0], family)}-${bigToAddr(r[1], family)}`;
}

/** Element text for nft ("198.51.100.0/24 . 6 . 0-65535 . 53"). */
export function boxText(b: Box, family: 4 | 6): string {
  return `${addrRangeText(b[0], family)} . ${rangeText(b[1])} . ${rangeText(b[2])} . ${rangeText(b[3])}`;
}

/** Canonical numeric key for comparisons with the kernel. */
export function boxKey(b: Box): string {
  return b.map((r) => `${r[0]}-${r[1]}`).join('|');
}

function jsonPart(v: unknown, dim: number): Range | undefined {
  const scalar = (x: unknown): bigint | undefined => {
    if (typeof x === 'number') return BigInt(x);
    if (typeof x !== 'string') return undefined;
    if (dim === 0) return addrToBig(x).value;
    if (dim === 1) return PROTO_NAMES[x] !== undefined ? BigInt(PROTO_NAMES[x]) : /^[0-9]+$/.test(x) ? BigInt(x) : undefined;
    return /^[0-9]+$/.test(x) ? BigInt(x) : undefined;
  };
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.range) && o.range.length === 2) {
      const lo = scalar(o.range[0]);
      const hi = scalar(o.range[1]);
      return lo === undefined || hi === undefined ? undefined : [lo, hi];
    }
    if (typeof o.prefix === 'object' && o.prefix !== null && dim === 0) {
      const p = o.prefix as { addr?: unknown; len?: unknown };
      if (typeof p.addr !== 'string' || typeof p.len !== 'number') return undefined;
      return cidrRange(`${p.addr}/${p.len}`).range;
    }
    return undefined;
  }
  const s = scalar(v);
  return s === undefined ? undefined : [s, s];
}

/** Parses one `nft -j` set element of a 4-part concatenation; undefined when it is not one. */
export function boxFromJson(elem: unknown): Box | undefined {
  let e = elem;
  if (typeof e === 'object' && e !== null && 'elem' in e) e = (e as { elem: { val?: unknown } }).elem.val;
  if (typeof e !== 'object' || e === null || !Array.isArray((e as { concat?: unknown }).concat)) return undefined;
  const parts = (e as { concat: unknown[] }).concat;
  if (parts.length !== 4) return undefined;
  const out: Range[] = [];
  for (let i = 0; i < 4; i++) {
    try {
      const r = jsonPart(parts[i], i);
      if (!r) return undefined;
      out.push(r);
    } catch {
      return undefined;
    }
  }
  return out as unknown as Box;
}
