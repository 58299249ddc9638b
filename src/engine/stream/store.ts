/**
 * Retained stream bytes per flow direction (from stream offset 0 up to the reassembly depth),
 * under one global memory budget for all flows. Over the budget a direction keeps being scanned
 * but its candidates are verified against the packet that produced them only (counted).
 */
import type { DirState } from './dir-state.js';

/** Gaps remembered per direction (the oldest are forgotten first). */
export const MAX_GAPS = 32;

/** Bound on stream buffers kept for reuse (at most an eighth of the store's memory bound). */
const POOL_BYTES = 16 * 1024 * 1024;

export class StreamStore {
  /** Bytes held by all directions' buffers. */
  memory = 0;
  /** Directions refused a buffer because of the global budget. */
  refused = 0;
  /**
   * Stream buffers come from a small free list per size: flows start and end all the time and
   * fresh ArrayBuffers would churn malloc and the GC. Unzeroed: only [0, bufLen) is ever read
   * and gaps are zero-filled explicitly. The free lists hold at most POOL_BYTES.
   */
  private readonly pool = new Map<number, Uint8Array[]>();
  private pooled = 0;
  /**
   * A scan worker's store has its share of the bound (shard/pool.ts) and of the flows: its pool
   * shrinks with it, so N workers keep what one engine keeps (16 MiB of 128 MiB), not N times.
   */
  private readonly poolBytes: number;

  constructor(
    private readonly depth: number,
    readonly maxMemory: number,
  ) {
    this.poolBytes = Math.min(POOL_BYTES, Math.floor(maxMemory / 8));
  }

  /** Copies in-order bytes data[off, off+len) to stream offset `at` of `d` (unless refused). */
  append(d: DirState, data: Uint8Array, off: number, len: number, at: number): void {
    if (d.memRefused) return;
    const end = at + len;
    if (d.buf === null || end > d.buf.length) this.grow(d, end);
    const b = d.buf;
    if (b !== null) {
      if (at > d.bufLen) {
        b.fill(0, d.bufLen, at);
        const g = (d.gaps ??= []);
        if (g.length >= 2 * MAX_GAPS) g.splice(0, 2);
        g.push(d.bufLen, at - d.bufLen);
      }
      b.set(off === 0 && len === data.length ? data : data.subarray(off, off + len), at);
      d.bufLen = end;
    }
  }

  /** Frees the direction's buffer. */
  free(d: DirState): void {
    if (d.buf !== null) {
      this.memory -= d.buf.length;
      this.release(d.buf);
      d.buf = null;
    }
    d.bufLen = 0;
    d.gaps = null;
  }

  private grow(d: DirState, need: number): void {
    const depth = this.depth;
    const old = d.buf;
    const oldCap = old === null ? 0 : old.length;
    let cap = oldCap === 0 ? 8192 : oldCap * 2;
    while (cap < need) cap *= 2;
    if (cap > depth) cap = Math.max(depth, need);
    if (this.memory + cap - oldCap > this.maxMemory) {
      // Over the global budget: this direction keeps being scanned but candidates can only be
      // verified against the packet that produced them.
      d.memRefused = true;
      this.refused++;
      if (old !== null) {
        this.memory -= oldCap;
        this.release(old);
        d.buf = null;
        d.bufLen = 0;
      }
      return;
    }
    const nb = this.alloc(cap);
    if (old !== null) {
      nb.set(old.subarray(0, d.bufLen));
      this.release(old);
    }
    this.memory += cap - oldCap;
    d.buf = nb;
  }

  private alloc(cap: number): Uint8Array {
    const list = this.pool.get(cap);
    const b = list?.pop();
    if (b !== undefined) {
      this.pooled -= cap;
      return b;
    }
    return Buffer.allocUnsafeSlow(cap);
  }

  private release(b: Uint8Array): void {
    if (this.pooled + b.length > this.poolBytes) return;
    let list = this.pool.get(b.length);
    if (list === undefined) {
      list = [];
      this.pool.set(b.length, list);
    }
    list.push(b);
    this.pooled += b.length;
  }
}
