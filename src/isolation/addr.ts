/** Address, CIDR and port-list parsing for exclusions (pure). */
import { isIPv4, isIPv6 } from 'node:net';
import { BulwarkError } from '../errors.js';
import { MAX_PORT_ITEMS, type PortRange, type PortSpec } from './types.js';

export interface Cidr {
  family: 4 | 6;
  /** Network address, canonical text. */
  addr: string;
  len: number;
}

function bad(message: string): BulwarkError {
  return new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', message);
}

function v4ToBytes(a: string): number[] {
  return a.split('.').map(Number);
}

function v6ToBytes(a: string): number[] {
  let text = a;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const maybeV4 = text.slice(lastColon + 1);
  if (maybeV4.includes('.')) {
    tail = v4ToBytes(maybeV4);
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const r = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  const bytes: number[] = [];
  for (const g of groups) {
    const n = parseInt(g, 16);
    bytes.push(n >> 8, n & 0xff);
  }
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

function bytesToV6(b: number[]): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  // WHATWG URL serialises IPv6 in the RFC 5952 form, which is also what nft prints.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function mask(bytes: number[], len: number): number[] {
  return bytes.map((v, i) => {
    const bits = Math.max(0, Math.min(8, len - i * 8));
    return bits === 8 ? v : bits === 0 ? 0 : v & (0xff << (8 - bits)) & 0xff;
  });
}

/** Parses an address or CIDR; host bits are cleared. Throws BULWARK_ERR_INVALID_ARGUMENT. */
export function parseCidr(text: string): Cidr {
  const s = text.trim();
  const slash = s.indexOf('/');
  const addr = slash === -1 ? s : s.slice(0, slash);
  const lenText = slash === -1 ? undefined : s.slice(slash + 1);
  const family = isIPv4(addr) ? 4 : isIPv6(addr) && !addr.includes('%') ? 6 : undefined;
  if (family === undefined) throw bad(`"${text}" is not an IPv4 or IPv6 address or CIDR`);
  const max = family === 4 ? 32 : 128;
  let len = max;
  if (lenText !== undefined) {
    if (!/^[0-9]{1,3}$/.test(lenText) || Number(lenText) > max) throw bad(`"${text}": prefix length must be 0-${max}`);
    len = Number(lenText);
  }
  const bytes = mask(family === 4 ? v4ToBytes(addr) : v6ToBytes(addr), len);
  return { family, addr: family === 4 ? bytes.join('.') : bytesToV6(bytes), len };
}

/** "198.51.100.7" for a host, "198.51.100.0/24" for a network: the form nft prints. */
export function cidrText(c: Cidr): string {
  return c.len === (c.family === 4 ? 32 : 128) ? c.addr : `${c.addr}/${c.len}`;
}

export function normaliseAddress(text: string): string {
  return cidrText(parseCidr(text));
}

export function familyOf(text: string): 4 | 6 {
  return parseCidr(text).family;
}

/** True when `addr` (an address) lies inside `net` (an address or CIDR). */
export function cidrContains(net: string, addr: string): boolean {
  const n = parseCidr(net);
  const a = parseCidr(addr);
  if (n.family !== a.family) return false;
  return parseCidr(`${a.addr}/${n.len}`).addr === n.addr;
}

/**
 * "any" (case-insensitive) or a comma-separated list of ports and ranges ("22,8000-8010").
 * Throws BULWARK_ERR_INVALID_ARGUMENT with the offending item.
 */
export function parsePorts(text: string, what = 'ports'): PortSpec {
  const s = text.trim();
  if (s === '' ) throw bad(`${what}: empty (use "any" or a list like "22,8000-8010")`);
  if (s.toLowerCase() === 'any') return 'any';
  const items = s.split(',').map((x) => x.trim());
  if (items.length > MAX_PORT_ITEMS) throw bad(`${what}: at most ${MAX_PORT_ITEMS} entries, got ${items.length}`);
  const out: PortRange[] = [];
  for (const item of items) {
    const m = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(item);
    if (!m) throw bad(`${what}: "${item}" is not a port or a range (e.g. 22 or 8000-8010)`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from < 1 || from > 65535 || to < 1 || to > 65535) throw bad(`${what}: "${item}" is out of range 1-65535`);
    if (to < from) throw bad(`${what}: "${item}" is an empty range`);
    out.push({ from, to });
  }
  out.sort((a, b) => a.from - b.from);
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.from <= out[i - 1]!.to) throw bad(`${what}: "${s}" has overlapping entries`);
  }
  return out;
}

export function portsText(p: PortSpec): string {
  if (p === 'any') return 'any';
  return p.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(',');
}

export function portInSpec(p: PortSpec, port: number): boolean {
  return p === 'any' || p.some((r) => port >= r.from && port <= r.to);
}
