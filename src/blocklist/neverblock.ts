/**
 * The never-block list (pure). Sources: loopback, the host's own addresses (followed as they
 * change), management endpoints, configured CIDRs, authenticated sessions (the operator), default
 * gateways and configured resolvers (they never complete a handshake with the host, so half-open
 * evidence could be forged against them). The daemon
 * refuses blocks that touch any of them, and the kernel rules skip them too (allow4/allow6).
 *
 * A block request is refused when its range OVERLAPS a never-block range, not only when it is
 * inside one: blocking 198.51.100.0/24 while the management host is 198.51.100.5 is refused,
 * so a CIDR block can never silently cut a protected address (the kernel would spare it anyway).
 */
import { cidrRange, mergeRanges, normalizeAddress, parseCidr, rangesOverlap, SPECIAL_RANGES, type Range } from './address.js';

export type NeverBlockSource = 'loopback' | 'interface' | 'management' | 'config' | 'session' | 'gateway' | 'resolver' | 'special';

export const LOOPBACK = ['127.0.0.0/8', '::1'];

export interface NeverBlockMatch {
  source: NeverBlockSource;
  cidr: string;
}

/** Strips a port, brackets and zone id from an address as printed by ss ("[::ffff:1.2.3.4]:22"). */
export function hostFromSocketAddress(text: string): string | undefined {
  let t = text.trim();
  const br = /^\[([^\]]+)\](?::\d+)?$/.exec(t);
  if (br?.[1] !== undefined) t = br[1];
  else {
    const colon = t.lastIndexOf(':');
    // "1.2.3.4:22" has one colon; a bare v6 address has several and no brackets.
    if (colon > 0 && t.indexOf(':') === colon) t = t.slice(0, colon);
  }
  const pct = t.indexOf('%');
  if (pct >= 0) t = t.slice(0, pct);
  if (t.includes('/')) return undefined;
  try {
    return normalizeAddress(t);
  } catch {
    return undefined;
  }
}

/**
 * Peer addresses from `ss -Htn state established '( sport = :22 )'`. With a state filter ss omits
 * the State column: "Recv-Q Send-Q Local:Port Peer:Port [process]".
 */
export function parseSsPeers(output: string): string[] {
  const out = new Set<string>();
  for (const line of output.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4) continue;
    // Older ss versions print the state column even with a filter: find the local:port column.
    const start = /^\d+$/.test(cols[0] ?? '') ? 0 : 1;
    const peer = cols[start + 3];
    if (peer === undefined) continue;
    const h = hostFromSocketAddress(peer);
    if (h !== undefined) out.add(h);
  }
  return [...out];
}

interface Item {
  source: NeverBlockSource;
  cidr: string;
  range: Range;
}

export class NeverBlockList {
  private readonly bySource = new Map<NeverBlockSource, Item[]>();
  private merged: Range[] = [];
  private version = 0;

  constructor() {
    this.set('loopback', LOOPBACK);
    this.set('special', SPECIAL_RANGES.map((r) => r.cidr));
  }

  /**
   * Replaces one source's addresses. Invalid entries are returned (not thrown) so an adapter
   * glitch or a bad management entry never takes the others down; config is validated earlier.
   * Returns true when the effective list changed.
   */
  set(source: NeverBlockSource, cidrs: string[]): { changed: boolean; invalid: string[] } {
    const invalid: string[] = [];
    const items: Item[] = [];
    for (const c of cidrs) {
      try {
        const p = parseCidr(c);
        items.push({ source, cidr: c, range: cidrRange(p) });
      } catch {
        // Interface addresses come as plain addresses; a configured CIDR with host bits is
        // refused by config validation, so only truly invalid text lands here.
        invalid.push(c);
      }
    }
    this.bySource.set(source, items);
    const before = JSON.stringify(this.merged, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    this.merged = mergeRanges([...this.bySource.values()].flat().map((i) => i.range));
    const after = JSON.stringify(this.merged, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    const changed = before !== after;
    if (changed) this.version++;
    return { changed, invalid };
  }

  /** Bumped whenever the merged ranges change (the kernel's allow sets must be refreshed). */
  get generation(): number {
    return this.version;
  }

  /** Merged, non-overlapping ranges for the kernel's allow4/allow6. */
  ranges(): Range[] {
    return this.merged.map((r) => ({ ...r }));
  }

  /**
   * The first never-block item overlapping the address or CIDR, if any (input must be valid).
   * A binary search over the merged ranges answers the common "no" (restoring 100k entries runs
   * this 100k times); the source is looked up only for a hit.
   */
  match(address: string): NeverBlockMatch | undefined {
    const r = cidrRange(parseCidr(address));
    const m = this.merged;
    let lo = 0;
    let hi = m.length - 1;
    let hit = false;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const x = m[mid]!;
      if (x.family < r.family || (x.family === r.family && x.last < r.first)) lo = mid + 1;
      else if (x.family > r.family || x.first > r.last) hi = mid - 1;
      else {
        hit = true;
        break;
      }
    }
    if (!hit) return undefined;
    for (const items of this.bySource.values()) {
      for (const i of items) if (rangesOverlap(i.range, r)) return { source: i.source, cidr: i.cidr };
    }
    return undefined;
  }

  sources(): Record<NeverBlockSource, string[]> {
    const out: Record<NeverBlockSource, string[]> = { loopback: [], interface: [], management: [], config: [], session: [], gateway: [], resolver: [], special: [] };
    for (const [s, items] of this.bySource) out[s] = items.map((i) => i.cidr);
    return out;
  }
}
