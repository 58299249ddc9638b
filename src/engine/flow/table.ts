/**
 * The flow table: TCP flows by 5-tuple (both directions find the same flow), bounded (LRU
 * eviction at `maxFlows`), expired by packet time with per-state idle timeouts.
 */
import { LRUCache } from 'lru-cache';
import type { DecodedPacket } from '../decode/decode.js';
import { Flow, ST_EST, ST_NEW, sameFlow } from './flow.js';

// murmur3-style mixing, 32-bit.
function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Number of probes for a free or matching key when two tuples hash to the same 52-bit key. */
const MAX_PROBES = 4;

export interface FlowTableOptions {
  maxFlows: number;
  /** Called when a flow leaves the table (deleted, evicted, expired, cleared): free its memory. */
  onFree: (flow: Flow) => void;
}

export class FlowTable {
  created = 0;
  evictions = 0;
  timeouts = 0;
  private serial = 0;
  /** Key of the last `find`: the flow's key on a hit, the free key on a miss. */
  private slot = 0;
  private readonly flows: LRUCache<number | string, Flow>;
  /** Reused options object: LRUCache#get would allocate a fresh one per call. */
  private readonly getOpts: LRUCache.GetOptions<number | string, Flow, unknown> = {};

  constructor(opts: FlowTableOptions) {
    this.flows = new LRUCache<number | string, Flow>({
      max: Math.max(1, opts.maxFlows),
      dispose: (flow, _key, reason) => {
        if (reason === 'evict') this.evictions++;
        opts.onFree(flow);
      },
    });
  }

  get size(): number {
    return this.flows.size;
  }

  get max(): number {
    return this.flows.max;
  }

  /**
   * The packet's flow (marked most recently used), undefined when there is none (then `insert`
   * may add one), or null when the packet cannot be tracked (pathological collision chain).
   */
  find(p: DecodedPacket): Flow | undefined | null {
    let key = p.ipVersion === 4 ? key4(p) : key6(p);
    let flow = this.flows.get(key, this.getOpts);
    let probes = 0;
    while (flow !== undefined && !sameFlow(flow, p)) {
      if (++probes >= MAX_PROBES) return null;
      key += 1;
      flow = this.flows.get(key, this.getOpts);
    }
    this.slot = key;
    return flow;
  }

  /** Adds a new flow for the packet of the last `find` that returned undefined. */
  insert(f: Flow): void {
    f.serial = ++this.serial;
    f.key = this.slot;
    this.flows.set(f.key, f);
    this.created++;
  }

  delete(f: Flow): void {
    this.flows.delete(f.key);
  }

  /** Drops every flow. */
  clear(): void {
    this.flows.clear();
  }

  /** Removes flows idle longer than their state's timeout at packet time `nowMs`. */
  expire(nowMs: number, tNew: number, tEst: number, tClosed: number): void {
    const minT = Math.min(tNew, tEst, tClosed);
    const expired: (number | string)[] = [];
    // rvalues() walks from least to most recently used; once a flow is younger than the shortest
    // timeout, every later one is too.
    for (const f of this.flows.rvalues()) {
      if (f === undefined) continue;
      const idle = nowMs - f.lastMs;
      if (idle <= minT) break;
      const t = f.state === ST_EST ? tEst : f.state === ST_NEW ? tNew : tClosed;
      if (idle > t) expired.push(f.key);
    }
    for (const k of expired) {
      this.flows.delete(k);
      this.timeouts++;
    }
  }
}

function key4(p: DecodedPacket): number {
  const a = p.src4;
  const b = p.dst4;
  const pa = p.srcPort;
  const pb = p.dstPort;
  const lo = a < b || (a === b && pa <= pb);
  const x = lo ? a : b;
  const y = lo ? b : a;
  const ports = lo ? (pa << 16) | pb : (pb << 16) | pa;
  return fmix(mix(mix(mix(0x2545f491, x), y), ports)) * 1048576 + (fmix(mix(mix(mix(0x9e3779b9, ports), x), y)) >>> 12);
}

function key6(p: DecodedPacket): number {
  const b = p.buf;
  const s = p.src6Offset;
  const d = p.dst6Offset;
  let cmp = 0;
  for (let i = 0; i < 16 && cmp === 0; i++) cmp = b[s + i]! - b[d + i]!;
  const lo = cmp < 0 || (cmp === 0 && p.srcPort <= p.dstPort);
  const x = lo ? s : d;
  const y = lo ? d : s;
  const ports = lo ? (p.srcPort << 16) | p.dstPort : (p.dstPort << 16) | p.srcPort;
  let h1 = 0x2545f491;
  let h2 = 0x9e3779b9 ^ ports;
  for (let i = 0; i < 16; i += 4) {
    const wx = (b[x + i]! << 24) | (b[x + i + 1]! << 16) | (b[x + i + 2]! << 8) | b[x + i + 3]!;
    const wy = (b[y + i]! << 24) | (b[y + i + 1]! << 16) | (b[y + i + 2]! << 8) | b[y + i + 3]!;
    h1 = mix(mix(h1, wx), wy);
    h2 = mix(mix(h2, wy), wx);
  }
  h1 = mix(h1, ports);
  return fmix(h1) * 1048576 + (fmix(h2) >>> 12);
}
