/** Address, CIDR and port-list parsing for exclusions (pure). */
import { BulwarkError, errorMessage } from '../errors.js';
import { formatAddress, parseCidr as parseAddress } from '../blocklist/address.js';
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

/** Parses an address or CIDR; host bits are cleared. Throws BULWARK_ERR_INVALID_ARGUMENT. */
export function parseCidr(text: string): Cidr {
  let c;
  try {
    c = parseAddress(text, { clearHostBits: true });
  } catch (e) {
    // The shared parser says why ("prefix length must be 0..32"); exclusion errors keep their wording.
    const why = errorMessage(e).replace(/^invalid address "[^"]*": /, '');
    throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', `"${text}" is not an IPv4 or IPv6 address or CIDR (${why})`, { cause: e });
  }
  return { family: c.family, addr: formatAddress(c.family, c.base), len: c.prefix };
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
