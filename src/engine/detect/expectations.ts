/**
 * The app-layer expectation table (Suricata app-layer-expectation.c): flows announced by other
 * flows (FTP data connections), keyed by the expected flow's client address, server address and
 * server port. Bounded: at most `max` entries (the oldest is dropped when full, counted
 * `evicted`), each lives `ttlUs` (packet time) and is used once. Pure: time comes with each call.
 */
import type { AppExpectation } from '../app-layer/types.js';

export interface ExpectationOptions {
  /** Entries kept at most (default 4096). */
  max?: number;
  /** Lifetime of an entry in packet-time microseconds (default 60 s). */
  ttlUs?: number;
}

/** What happened to expectations, for `bulwark_app_expectations_total{result}`. */
export interface ExpectationCounters {
  created: number;
  used: number;
  expired: number;
  evicted: number;
  /** Announced on a flow whose addresses the framework did not know (nothing to key on). */
  unkeyed: number;
}

interface Entry {
  exp: AppExpectation;
  expiresUs: number;
}

export class ExpectationTable {
  readonly counters: ExpectationCounters = { created: 0, used: 0, expired: 0, evicted: 0, unkeyed: 0 };
  private readonly max: number;
  private readonly ttlUs: number;
  /** Insertion order is expiry order (one ttl for all): the first entries expire first. */
  private readonly map = new Map<string, Entry>();

  constructor(o: ExpectationOptions = {}) {
    this.max = Math.max(1, o.max ?? 4096);
    this.ttlUs = o.ttlUs ?? 60_000_000;
  }

  get size(): number {
    return this.map.size;
  }

  /**
   * Records what a flow between `client` and `server` announced. A later announcement of the
   * same (client, server, port) replaces the earlier one (the newer transfer command wins).
   */
  add(exp: AppExpectation, client: string | undefined, server: string | undefined, tsUs: number): void {
    if (client === undefined || server === undefined) {
      this.counters.unkeyed++;
      return;
    }
    this.expire(tsUs);
    const key = exp.reversed ? keyOf(server, client, exp.port) : keyOf(client, server, exp.port);
    if (this.map.delete(key)) this.counters.evicted++;
    else if (this.map.size >= this.max) {
      const oldest = this.map.keys().next();
      if (oldest.done !== true) this.map.delete(oldest.value);
      this.counters.evicted++;
    }
    this.map.set(key, { exp, expiresUs: tsUs + this.ttlUs });
    this.counters.created++;
  }

  /** The expectation a new flow (client → server:port) fulfils, removed from the table; undefined when none. */
  take(client: string, server: string, port: number, tsUs: number): AppExpectation | undefined {
    if (this.map.size === 0) return undefined;
    this.expire(tsUs);
    const key = keyOf(client, server, port);
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    this.map.delete(key);
    this.counters.used++;
    return e.exp;
  }

  private expire(tsUs: number): void {
    for (const [k, e] of this.map) {
      if (e.expiresUs > tsUs) break;
      this.map.delete(k);
      this.counters.expired++;
    }
  }
}

function keyOf(client: string, server: string, port: number): string {
  return `${client}|${server}|${String(port)}`;
}
