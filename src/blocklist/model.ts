/**
 * The in-memory blocklist (pure): what bulwark believes the kernel holds, with metadata.
 *
 * Rules (docs/blocklist.md):
 *  - re-blocking a blocked address extends it: new expiry = max(old expiry, now + duration);
 *    a block never shortens an existing one, and the original metadata (reason, blockedAt) stays;
 *  - single addresses and CIDRs live in different kernel sets (blocked4 / blockednet4), so a host
 *    may be blocked on its own inside a blocked CIDR; an interval set refuses overlapping
 *    elements, so the model never holds two overlapping CIDRs:
 *      · an address inside a blocked CIDR that lasts at least as long as the request is "covered":
 *        nothing changes, the result names the covering entry; when the request outlasts the
 *        CIDR the address gets its own entry (nobody is unblocked before the time asked for);
 *      · a CIDR inside an already-blocked wider CIDR is "covered" (the wider one is not extended);
 *      · a CIDR that contains blocked CIDRs replaces them; its expiry is
 *        max(now + duration, expiry of every CIDR it replaces), so nobody gets unblocked early.
 *        Blocked single addresses inside it stay as they are.
 */
import { cidrRange, familyBits, formatAddress, isHostAddress, parseCidr, rangeContains, type Cidr, type Range } from './address.js';
import type { BlockEntry } from './types.js';

export type PlanResult =
  | { kind: 'added'; entry: BlockEntry; replaced: BlockEntry[] }
  | { kind: 'extended'; entry: BlockEntry; previousExpiresAtMs: number }
  | { kind: 'covered'; entry: BlockEntry };

export interface BlockRequest {
  /** Normalised address or CIDR. */
  address: string;
  expiresAtMs: number;
  meta: Omit<BlockEntry, 'address' | 'family' | 'expiresAtMs'>;
}

/** Without object spreads: this runs 100k times in a storm and spreads are the slow part. */
function makeEntry(req: BlockRequest, family: 4 | 6, expiresAtMs: number): BlockEntry {
  const m = req.meta;
  const e: BlockEntry = { address: req.address, family, reason: m.reason, source: m.source, blockedAtMs: m.blockedAtMs, expiresAtMs };
  if (m.signatureId !== undefined) e.signatureId = m.signatureId;
  if (m.eventId !== undefined) e.eventId = m.eventId;
  return e;
}

/** Min-heap of (expiresAtMs, address) with lazy deletion: stale items are skipped when popped. */
class ExpiryHeap {
  private items: { t: number; a: string }[] = [];
  get size(): number {
    return this.items.length;
  }
  push(t: number, a: string): void {
    const h = this.items;
    h.push({ t, a });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.t <= h[i]!.t) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }
  peek(): { t: number; a: string } | undefined {
    return this.items[0];
  }
  pop(): { t: number; a: string } | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.t < h[m]!.t) m = l;
        if (r < h.length && h[r]!.t < h[m]!.t) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
  clear(): void {
    this.items = [];
  }
}

export class BlockModel {
  private readonly entries = new Map<string, BlockEntry>();
  /** The CIDR entries only (few): overlap checks scan these, never the 100k hosts. */
  private readonly nets = new Map<string, BlockEntry>();
  /** Count of entries per (family, prefix length) shorter than a host, for covering lookups. */
  private readonly prefixCounts = new Map<string, number>();
  private readonly heap = new ExpiryHeap();
  private readonly counts = { 4: 0, 6: 0 };

  get size(): number {
    return this.entries.size;
  }

  get(address: string): BlockEntry | undefined {
    return this.entries.get(address);
  }

  all(): BlockEntry[] {
    return [...this.entries.values()];
  }

  countByFamily(): { 4: number; 6: number } {
    return { ...this.counts };
  }

  /** Inserts or replaces an entry as is (no overlap checks): for undo and for restore after plan(). */
  put(entry: BlockEntry): void {
    const old = this.entries.get(entry.address);
    if (old) this.remove(entry.address);
    this.entries.set(entry.address, entry);
    this.counts[entry.family]++;
    if (!isHostAddress(entry.address)) {
      this.nets.set(entry.address, entry);
      const c = parseCidr(entry.address);
      const k = `${c.family}/${c.prefix}`;
      this.prefixCounts.set(k, (this.prefixCounts.get(k) ?? 0) + 1);
    }
    this.heap.push(entry.expiresAtMs, entry.address);
    // Lazy deletion leaves stale heap items; rebuild before they dominate memory.
    if (this.heap.size > 2 * this.entries.size + 1024) this.rebuildHeap();
  }

  remove(address: string): BlockEntry | undefined {
    const old = this.entries.get(address);
    if (!old) return undefined;
    this.entries.delete(address);
    this.counts[old.family]--;
    if (!isHostAddress(address)) {
      this.nets.delete(address);
      const c = parseCidr(address);
      const k = `${c.family}/${c.prefix}`;
      const n = (this.prefixCounts.get(k) ?? 1) - 1;
      if (n <= 0) this.prefixCounts.delete(k);
      else this.prefixCounts.set(k, n);
    }
    return old;
  }

  clear(): void {
    this.entries.clear();
    this.nets.clear();
    this.counts[4] = 0;
    this.counts[6] = 0;
    this.prefixCounts.clear();
    this.heap.clear();
  }

  private rebuildHeap(): void {
    this.heap.clear();
    for (const e of this.entries.values()) this.heap.push(e.expiresAtMs, e.address);
  }

  /** The CIDR entries (few). */
  netEntries(): BlockEntry[] {
    return [...this.nets.values()];
  }

  /** The blocked CIDR strictly wider than `c` that contains it, if any. */
  coveringEntry(c: Cidr): BlockEntry | undefined {
    for (const k of this.prefixCounts.keys()) {
      const [fam, len] = k.split('/').map(Number) as [number, number];
      if (fam !== c.family || len >= c.prefix) continue;
      const hostBits = BigInt(familyBits(c.family) - len);
      const base = (c.base >> hostBits) << hostBits;
      const key = `${formatAddress(c.family, base)}/${len}`;
      const e = this.entries.get(key);
      if (e) return e;
    }
    return undefined;
  }

  /** CIDR entries strictly inside `r` (linear in the number of CIDR blocks, which are few). */
  containedNets(r: Range): BlockEntry[] {
    const out: BlockEntry[] = [];
    for (const e of this.nets.values()) {
      if (e.family !== r.family) continue;
      const er = cidrRange(parseCidr(e.address));
      if (rangeContains(r, er) && !(er.first === r.first && er.last === r.last)) out.push(e);
    }
    return out;
  }

  /** Covering entry of an address (itself if blocked exactly), if the address is blocked. */
  lookup(address: string): BlockEntry | undefined {
    const e = this.entries.get(address);
    if (e || this.prefixCounts.size === 0) return e;
    return this.coveringEntry(parseCidr(address));
  }

  /** Applies one block request following the rules at the top of this file. */
  plan(req: BlockRequest): PlanResult {
    const existing = this.entries.get(req.address);
    if (existing) {
      const previous = existing.expiresAtMs;
      if (req.expiresAtMs > previous) this.put({ ...existing, expiresAtMs: req.expiresAtMs });
      return { kind: 'extended', entry: this.entries.get(req.address)!, previousExpiresAtMs: previous };
    }
    if (isHostAddress(req.address)) {
      // Hot path (detection storms): no CIDR blocks around, nothing to look up.
      if (this.prefixCounts.size > 0) {
        const cover = this.coveringEntry(parseCidr(req.address));
        if (cover && cover.expiresAtMs >= req.expiresAtMs) return { kind: 'covered', entry: cover };
      }
      const entry = makeEntry(req, req.address.includes(':') ? 6 : 4, req.expiresAtMs);
      this.put(entry);
      return { kind: 'added', entry, replaced: [] };
    }
    const c = parseCidr(req.address);
    const cover = this.coveringEntry(c);
    if (cover) return { kind: 'covered', entry: cover };
    let expiresAtMs = req.expiresAtMs;
    const replaced = this.containedNets(cidrRange(c));
    for (const r of replaced) {
      expiresAtMs = Math.max(expiresAtMs, r.expiresAtMs);
      this.remove(r.address);
    }
    const entry = makeEntry(req, c.family, expiresAtMs);
    this.put(entry);
    return { kind: 'added', entry, replaced };
  }

  /** Earliest expiry among current entries (skips stale heap items). */
  nextExpiry(): number | undefined {
    for (;;) {
      const top = this.heap.peek();
      if (!top) return undefined;
      const e = this.entries.get(top.a);
      if (e?.expiresAtMs === top.t) return top.t;
      this.heap.pop();
    }
  }

  /** Removes and returns every entry with expiresAtMs <= now. */
  expire(now: number): BlockEntry[] {
    const out: BlockEntry[] = [];
    for (;;) {
      const t = this.nextExpiry();
      if (t === undefined || t > now) break;
      const top = this.heap.pop()!;
      const e = this.remove(top.a);
      if (e) out.push(e);
    }
    return out;
  }
}
