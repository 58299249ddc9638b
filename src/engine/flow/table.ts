/**
 * The flow table: TCP flows by 5-tuple (both directions find the same flow), bounded (LRU
 * eviction at `maxFlows`), expired by packet time with per-state idle timeouts.
 *
 * Hardened against chosen collisions (issue 14): the bucket index is a keyed HalfSipHash of the
 * canonical 5-tuple with a per-process random key, and buckets are chains walked to the end, so
 * even colliding tuples (only computable with the key, e.g. in tests that inject it) are all
 * tracked and inspected — a long chain costs time, never inspection. The longest chain seen is
 * exported (`bulwark_flow_hash_chain_max`).
 */
import type { DecodedPacket } from '../decode/decode.js';
import { Flow, ST_EST, ST_NEW, sameFlow } from './flow.js';
import { HalfSipHash, type HashSeed } from './hash.js';

/** Bucket count bound (4 Mi buckets, 16-32 MiB of pointers); larger tables have longer chains. */
const MAX_BUCKETS = 1 << 22;

export interface FlowTableOptions {
  maxFlows: number;
  /** Called when a flow leaves the table (deleted, evicted, expired, cleared): free its memory. */
  onFree: (flow: Flow) => void;
  /** HalfSipHash key of the bucket index (default: random per table). */
  seed: HashSeed;
  /**
   * Flow serials (the high bits of Flow.id) are offset + k × stride: the tables of a scan's
   * workers (src/engine/shard/) hand out disjoint ids. Default 0 and 1.
   */
  serial?: { offset: number; stride: number };
}

export class FlowTable {
  created = 0;
  evictions = 0;
  timeouts = 0;
  /** Longest bucket chain since start (flows sharing one bucket). */
  chainMax = 0;
  readonly max: number;
  private count = 0;
  private serial = 0;
  private readonly serialStride: number;
  /** Bucket of the last `find`. */
  private slot = 0;
  private readonly buckets: (Flow | null)[];
  private readonly chainLen: Uint32Array;
  private readonly mask: number;
  /** LRU list: least recently used at `head`. */
  private head: Flow | null = null;
  private tail: Flow | null = null;
  private readonly hasher = new HalfSipHash();
  private readonly seed: HashSeed;
  private readonly onFree: (flow: Flow) => void;

  constructor(opts: FlowTableOptions) {
    this.max = Math.max(1, opts.maxFlows);
    let n = 16;
    while (n < this.max && n < MAX_BUCKETS) n *= 2;
    this.buckets = new Array<Flow | null>(n).fill(null);
    this.chainLen = new Uint32Array(n);
    this.mask = n - 1;
    this.seed = opts.seed;
    this.onFree = opts.onFree;
    // serial + stride: the first flow gets offset + 1, so a default table counts 1, 2, 3...
    this.serial = (opts.serial?.offset ?? 0) + 1 - (opts.serial?.stride ?? 1);
    this.serialStride = opts.serial?.stride ?? 1;
  }

  get size(): number {
    return this.count;
  }

  /** The keyed, direction-independent hash of the packet's 5-tuple (exported for tests). */
  hash(p: DecodedPacket): number {
    const h = this.hasher;
    if (p.ipVersion === 4) return hash4(h, this.seed, p.src4, p.dst4, p.srcPort, p.dstPort);
    h.begin(this.seed);
    const buf = p.buf;
    const s = p.src6Offset;
    const d = p.dst6Offset;
    let cmp = 0;
    for (let i = 0; i < 16 && cmp === 0; i++) cmp = buf[s + i]! - buf[d + i]!;
    const lo = cmp < 0 || (cmp === 0 && p.srcPort <= p.dstPort);
    const x = lo ? s : d;
    const y = lo ? d : s;
    for (let i = 0; i < 16; i += 4) h.word((buf[x + i]! << 24) | (buf[x + i + 1]! << 16) | (buf[x + i + 2]! << 8) | buf[x + i + 3]!);
    for (let i = 0; i < 16; i += 4) h.word((buf[y + i]! << 24) | (buf[y + i + 1]! << 16) | (buf[y + i + 2]! << 8) | buf[y + i + 3]!);
    h.word(lo ? (p.srcPort << 16) | p.dstPort : (p.dstPort << 16) | p.srcPort);
    h.word(6);
    return h.end();
  }

  /**
   * The packet's flow (marked most recently used), or undefined when there is none (then
   * `insert` may add one). Walks the whole bucket chain: collisions never skip inspection.
   */
  find(p: DecodedPacket): Flow | undefined {
    const hv = this.hash(p);
    const b = hv & this.mask;
    this.slot = hv;
    let f = this.buckets[b] ?? null;
    while (f !== null) {
      // Read before the comparison, not only when it fails: a chain's second flow is rare (a hash
      // collision), and a load first run after TurboFan optimized this function (and the packet
      // path it is inlined in) deoptimized them, once per worker.
      const next = f.hnext;
      if (f.key === hv && sameFlow(f, p)) {
        this.touch(f);
        return f;
      }
      f = next;
    }
    return undefined;
  }

  /** Adds a new flow for the packet of the last `find` that returned undefined (evicting the LRU flow when full). */
  insert(f: Flow): void {
    if (this.count >= this.max && this.head !== null) {
      this.evictions++;
      this.delete(this.head);
    }
    f.serial = this.serial += this.serialStride;
    f.key = this.slot;
    const b = this.slot & this.mask;
    f.hnext = this.buckets[b] ?? null;
    this.buckets[b] = f;
    const len = ++this.chainLen[b]!;
    if (len > this.chainMax) this.chainMax = len;
    f.lprev = this.tail;
    f.lnext = null;
    if (this.tail !== null) this.tail.lnext = f;
    else this.head = f;
    this.tail = f;
    this.count++;
    this.created++;
  }

  /** Removes the flow and frees it. */
  delete(f: Flow): void {
    if (!this.unlink(f)) return;
    this.onFree(f);
  }

  /** Drops every flow. */
  clear(): void {
    while (this.head !== null) this.delete(this.head);
  }

  /** Removes flows idle longer than their state's timeout at packet time `nowMs`. */
  expire(nowMs: number, tNew: number, tEst: number, tClosed: number): void {
    const minT = Math.min(tNew, tEst, tClosed);
    // From least to most recently used; once a flow is younger than the shortest timeout,
    // every later one is too.
    let f = this.head;
    while (f !== null) {
      const next = f.lnext;
      const idle = nowMs - f.lastMs;
      if (idle <= minT) break;
      const t = f.state === ST_EST ? tEst : f.state === ST_NEW ? tNew : tClosed;
      if (idle > t) {
        this.delete(f);
        this.timeouts++;
      }
      f = next;
    }
  }

  private touch(f: Flow): void {
    if (f === this.tail) return;
    // Unlink from the LRU list, append at the tail.
    if (f.lprev !== null) f.lprev.lnext = f.lnext;
    else this.head = f.lnext;
    f.lnext!.lprev = f.lprev;
    f.lprev = this.tail;
    f.lnext = null;
    this.tail!.lnext = f;
    this.tail = f;
  }

  private unlink(f: Flow): boolean {
    const b = f.key & this.mask;
    let prev: Flow | null = null;
    let cur = this.buckets[b] ?? null;
    while (cur !== null && cur !== f) {
      prev = cur;
      cur = cur.hnext;
    }
    if (cur === null) return false;
    if (prev === null) this.buckets[b] = f.hnext;
    else prev.hnext = f.hnext;
    f.hnext = null;
    this.chainLen[b]!--;
    if (f.lprev !== null) f.lprev.lnext = f.lnext;
    else this.head = f.lnext;
    if (f.lnext !== null) f.lnext.lprev = f.lprev;
    else this.tail = f.lprev;
    f.lprev = null;
    f.lnext = null;
    this.count--;
    return true;
  }
}

/**
 * The keyed hash of an IPv4 TCP 5-tuple, the same for both directions (the endpoints are put in
 * a canonical order first). `h` is scratch state.
 */
export function hash4(h: HalfSipHash, seed: HashSeed, a: number, b: number, pa: number, pb: number): number {
  h.begin(seed);
  const lo = a < b || (a === b && pa <= pb);
  h.word(lo ? a : b);
  h.word(lo ? b : a);
  h.word(lo ? (pa << 16) | pb : (pb << 16) | pa);
  h.word(6); // IP protocol: TCP
  return h.end();
}
