/**
 * threshold / detection_filter per (signature, tracked address), Suricata semantics:
 * - limit: alert on the first `count` matches per window, then stay silent until it ends;
 * - threshold: alert on every `count`-th match in the window;
 * - both: alert once per window, when the `count`-th match arrives;
 * - detection_filter: stay silent for the first `count` matches, alert on every later one in the window.
 * Windows start at the first match and last `seconds` (packet time). The table is bounded (LRU):
 * an evicted key starts over, which can only delay an alert, never invent one.
 */
import { LRUCache } from 'lru-cache';
import type { RateFilter } from '../signatures/types.js';

interface Entry {
  windowStartMs: number;
  count: number;
}

export class RateFilterTable {
  private readonly table: LRUCache<string, Entry>;
  evictions = 0;

  constructor(max = 65_536) {
    this.table = new LRUCache<string, Entry>({
      max,
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.evictions++;
      },
    });
  }

  get size(): number {
    return this.table.size;
  }

  /** Records one match and says whether it may alert. */
  allow(rf: RateFilter, signatureId: number, srcKey: string, dstKey: string, tsMs: number): boolean {
    const key = `${signatureId}|${rf.track === 'by_src' ? srcKey : dstKey}`;
    let e = this.table.get(key);
    const windowMs = rf.seconds * 1000;
    if (e === undefined || tsMs - e.windowStartMs >= windowMs || tsMs < e.windowStartMs) {
      e = { windowStartMs: tsMs, count: 0 };
      this.table.set(key, e);
    }
    e.count++;
    switch (rf.type) {
      case 'limit':
        return e.count <= rf.count;
      case 'threshold':
        if (e.count >= rf.count) {
          e.count = 0;
          return true;
        }
        return false;
      case 'both':
        return e.count === rf.count;
      case 'detection_filter':
        return e.count > rf.count;
    }
  }

  clear(): void {
    this.table.clear();
  }
}
