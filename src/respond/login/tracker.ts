/**
 * Login failures per source address within a window (pure; times are passed in). Bounded: an LRU
 * of `maxTracked` addresses (evictions counted: an evicted address starts over, which can only
 * delay a block). An address reaching `maxFailures` within `windowMs` is reported once, and its
 * count starts over (after an unblock it takes another `maxFailures` to block it again).
 */
import { LRUCache } from 'lru-cache';

export interface LoginTrackerOptions {
  maxFailures: number;
  windowMs: number;
  maxTracked: number;
}

export class LoginFailureTracker {
  private readonly table: LRUCache<string, number[]>;
  evictions = 0;
  failures = 0;
  triggered = 0;

  constructor(private opts: LoginTrackerOptions) {
    this.table = new LRUCache<string, number[]>({
      max: opts.maxTracked,
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.evictions++;
      },
    });
  }

  /** Window and threshold follow a reload; the table bound is fixed for the tracker's life. */
  setLimits(maxFailures: number, windowMs: number): void {
    this.opts = { ...this.opts, maxFailures, windowMs };
  }

  /**
   * Records `count` failures from `address` at nowMs. Returns the failures within the window when
   * that reaches maxFailures (the address should be blocked), else undefined.
   */
  add(address: string, nowMs: number, count = 1): number | undefined {
    this.failures += count;
    // "a:" prefix: V8 hashes strings with its per-process seed (an array-index-like key would not be).
    const k = `a:${address}`;
    let times = this.table.get(k);
    if (times === undefined) {
      times = [];
      this.table.set(k, times);
    }
    const from = nowMs - this.opts.windowMs;
    while (times.length > 0 && times[0]! <= from) times.shift();
    for (let i = 0; i < count && times.length < this.opts.maxFailures; i++) times.push(nowMs);
    if (times.length >= this.opts.maxFailures) {
      const n = times.length;
      this.table.delete(k);
      this.triggered++;
      return n;
    }
    return undefined;
  }

  get size(): number {
    return this.table.size;
  }
}
