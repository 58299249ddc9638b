/**
 * Counts per key over a sliding window, for the top-N metrics (busiest attackers and signatures):
 * the window is cut into 60 slots; each tracked key keeps its count per slot, and the top N keys
 * by their sum over the live slots are exported at scrape time. Bounded twice: at most `maxKeys`
 * keys are tracked (the least recently seen is dropped when a new one arrives, counted), and at
 * most N series are exported per scrape. Pure: time comes from the caller.
 */
import { LRUCache } from 'lru-cache';

const SLOTS = 60;

interface Entry {
  labels: Record<string, string>;
  slot: Float64Array;
  count: Float64Array;
}

export interface TopEntry {
  labels: Record<string, string>;
  value: number;
}

export class WindowedTopN {
  private readonly table: LRUCache<string, Entry>;
  private readonly slotMs: number;
  evicted = 0;

  constructor(
    readonly windowMs: number,
    maxKeys = 1024,
  ) {
    this.slotMs = Math.max(1, Math.floor(windowMs / SLOTS));
    this.table = new LRUCache<string, Entry>({
      max: maxKeys,
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.evicted++;
      },
    });
  }

  get size(): number {
    return this.table.size;
  }

  add(key: string, labels: Record<string, string>, n: number, nowMs: number): void {
    const s = Math.floor(nowMs / this.slotMs);
    let e = this.table.get(key);
    if (!e) {
      e = { labels, slot: new Float64Array(SLOTS).fill(-Infinity), count: new Float64Array(SLOTS) };
      this.table.set(key, e);
    }
    const i = s % SLOTS;
    if (e.slot[i] !== s) {
      e.slot[i] = s;
      e.count[i] = 0;
    }
    e.count[i]! += n;
  }

  private sum(e: Entry, s: number): number {
    let v = 0;
    for (let i = 0; i < SLOTS; i++) if (s - e.slot[i]! < SLOTS) v += e.count[i]!;
    return v;
  }

  /** The n keys with the highest counts in the window (ties by key), dropping keys that aged out. */
  top(n: number, nowMs: number): TopEntry[] {
    const s = Math.floor(nowMs / this.slotMs);
    const all: (TopEntry & { key: string })[] = [];
    const stale: string[] = [];
    for (const [key, e] of this.table.entries()) {
      const v = this.sum(e, s);
      if (v <= 0) stale.push(key);
      else all.push({ key, labels: e.labels, value: v });
    }
    for (const k of stale) this.table.delete(k);
    all.sort((a, b) => b.value - a.value || (a.key < b.key ? -1 : 1));
    return all.slice(0, n).map(({ labels, value }) => ({ labels, value }));
  }
}
