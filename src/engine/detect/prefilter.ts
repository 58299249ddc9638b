/**
 * The stream prefilter: each port group's multi-pattern automaton (compiled in src/signatures)
 * runs over in-order stream bytes and yields candidates — signatures whose fast pattern ended at
 * a stream offset — for the verifier. Allocation-free on the hot path.
 *
 * A group's automaton may also hold the app layer's raw-stream patterns (PortGroup.raw,
 * signatures/raw-merge.ts): their hits are kept apart, in stream order, with the raw automaton's
 * states before and after the chunk, for the app layer (rawHits) instead of a second scan.
 */
import { compactScanTable } from '../../signatures/scan-table.js';
import type { PortGroup } from '../../signatures/types.js';
import type { DirState } from '../stream/dir-state.js';
import type { Flow } from '../flow/flow.js';

/** Chunks at least this long (plus 8 warm-ups) are scanned with four interleaved chains. */
const MULTI_CHAIN_MIN = 128;

/**
 * The raw-stream pattern hits of one chunk (app signatures, in stream order, every occurrence)
 * and the raw automaton's state (× 256) before and after it.
 */
export interface RawStreamHits {
  readonly sig: readonly number[];
  from: number;
  to: number;
}

export class Prefilter {
  /** Candidates of the last `scan`: signature indexes and the stream offset their pattern ended at. */
  readonly candSig: number[] = [];
  readonly candPos: number[] = [];
  /** Raw-stream hits of the last `scan` (when rawDir is set): signatures and end offsets. */
  private readonly rawSig: number[] = [];
  private readonly rawPos: number[] = [];
  private readonly raw: RawStreamHits = { sig: this.rawSig, from: 0, to: 0 };
  /** The chunk the raw hits are of (direction, stream offset, length); rawDir null: none kept. */
  private rawDir: DirState | null = null;
  private rawAt = 0;
  private rawLen = 0;
  /** Per signature: the chunk stamp of its last candidate (one candidate per signature per chunk). */
  stamp = new Int32Array(0);
  chunkStamp = 0;
  /** The compact scan's chain states between its byte loop (run1c / run4c) and the hit handling. */
  private readonly st = new Int32Array(4);
  /**
   * Per group: dfa.next, whose entries have the sign bit set when the target state has outputs,
   * so the scan loop tests `s < 0` instead of loading a second table per byte.
   */
  private readonly scanTables = new WeakMap<PortGroup, Int32Array>();
  /** Per group: the compact table (signatures/scan-table.ts) used instead where the automaton fits. */
  private readonly scanTables16 = new WeakMap<PortGroup, Uint16Array>();
  /** Per group: longest pattern length - 1 (warm-up of the parallel scan chains). */
  private readonly warmup = new WeakMap<PortGroup, number>();

  /** Prepares the groups of a new ruleset with `signatures` signatures. */
  setGroups(groups: readonly PortGroup[], signatures: number): void {
    this.stamp = new Int32Array(signatures);
    this.chunkStamp = 0;
    for (const g of groups) {
      if (this.scanTables.has(g) || this.scanTables16.has(g)) continue;
      // Compact where the automaton fits (built by the compile worker, else here: O(states*256));
      // otherwise the automaton's own table, which carries the output marks (automaton.ts).
      const t16 = g.scan16 ?? compactScanTable(g.dfa);
      if (t16 !== null) this.scanTables16.set(g, t16);
      else this.scanTables.set(g, g.dfa.next);
      let maxLen = 1;
      for (const p of g.patterns) if (p.bytes.length > maxLen) maxLen = p.bytes.length;
      for (const p of g.raw?.patterns ?? []) if (p.bytes.length > maxLen) maxLen = p.bytes.length;
      this.warmup.set(g, maxLen - 1);
    }
  }

  scanTable(g: PortGroup): Int32Array | null {
    return this.scanTables.get(g) ?? null;
  }

  scanTable16(g: PortGroup): Uint16Array | null {
    return this.scanTables16.get(g) ?? null;
  }

  /**
   * Scans in-order bytes data[off, off+len) at stream offset `at` of direction `d` (group `g`),
   * continuing its automaton state unless `gap`; fills candSig/candPos.
   */
  scan(flow: Flow, d: DirState, g: PortGroup, data: Uint8Array, off: number, len: number, at: number, gap: boolean): void {
    if (++this.chunkStamp === 0x7fffffff) {
      this.stamp.fill(0);
      this.chunkStamp = 1;
    }
    // Truncating an array is a runtime call even when it is already empty (most chunks have no candidate).
    if (this.candSig.length !== 0) {
      this.candSig.length = 0;
      this.candPos.length = 0;
    }
    if (this.rawSig.length !== 0) {
      this.rawSig.length = 0;
      this.rawPos.length = 0;
    }
    const raw = g.raw;
    // Raw hits matter only to a flow whose app layer scans this chunk (app-tx.ts rawScan).
    this.rawDir = raw !== undefined && flow.app !== null && flow.app.state === 'parsing' ? d : null;
    const s0 = gap ? 0 : d.dfaState;
    const w = this.warmup.get(g) ?? 0;
    const multi = len >= MULTI_CHAIN_MIN + 8 * w;
    if (d.scan16 !== null) {
      // Compact table: states as indexes (d.dfaState stays × 256 for every table kind).
      const s = multi ? this.scan4c(flow, d, g, s0 >>> 8, w, data, off, len, at) : this.scan1c(flow, d, g, s0 >>> 8, data, off, off + len, off, at);
      d.dfaState = s << 8;
    } else if (multi) d.dfaState = this.scan4(flow, d, g, s0, w, data, off, len, at);
    else d.dfaState = this.scan1(flow, d, g, s0, data, off, off + len, off, at);
    if (this.rawDir === null) return;
    this.rawAt = at;
    this.rawLen = len;
    this.raw.from = raw!.rawState[s0 >>> 8]!;
    this.raw.to = raw!.rawState[d.dfaState >>> 8]!;
    if (multi) this.sortRaw();
  }

  /**
   * The raw-stream hits of chunk (d, at, len) when the last scan was of it and kept them (the
   * app layer scans the chunk itself otherwise). Valid until the next scan.
   */
  rawHits(d: DirState, at: number, len: number): RawStreamHits | undefined {
    if (this.rawDir !== d || this.rawAt !== at || this.rawLen !== len) return undefined;
    this.rawDir = null;
    return this.raw;
  }

  /** The four chains of scan4 report out of stream order: restores it (stable: same-offset hits keep their output order). */
  private sortRaw(): void {
    const pos = this.rawPos;
    const sig = this.rawSig;
    let sorted = true;
    for (let i = 1; i < pos.length && sorted; i++) sorted = pos[i - 1]! <= pos[i]!;
    if (sorted) return;
    const order = pos.map((_, i) => i).sort((a, b) => pos[a]! - pos[b]! || a - b);
    const s = order.map((i) => sig[i]!);
    const p = order.map((i) => pos[i]!);
    for (let i = 0; i < s.length; i++) {
      sig[i] = s[i]!;
      pos[i] = p[i]!;
    }
  }

  /** Plain scan of data[from..to) starting in state s; returns the end state. */
  private scan1(flow: Flow, d: DirState, g: PortGroup, s: number, data: Uint8Array, from: number, to: number, off: number, at: number): number {
    const tbl = d.scan!;
    for (let i = from; i < to; i++) {
      s = tbl[s + data[i]!]!;
      if (s < 0) {
        s &= 0x7fffffff;
        this.hit(flow, d, g, s >>> 8, at + (i - off), data, off, at);
      }
    }
    return s;
  }

  /**
   * The scan is bound by the latency of one dependent table load per byte; four independent
   * chains over four parts of the chunk overlap those loads (~25-30 % faster on long payloads).
   * Chain 0 continues the flow's state; chains 1-3 start at the root `w` = (longest pattern - 1)
   * bytes before their part, which is enough for the automaton to see every pattern ending in
   * the part, and report only hits ending inside it. The last chain's end state equals the true
   * one because it has consumed at least `w` bytes.
   */
  private scan4(flow: Flow, d: DirState, g: PortGroup, s0: number, w: number, data: Uint8Array, off: number, len: number, at: number): number {
    const tbl = d.scan!;
    const steps = (len + 3 * w) >> 2;
    const st1 = off + steps - w;
    const st2 = st1 + steps - w;
    const st3 = st2 + steps - w;
    const r1 = st1 + w;
    const r2 = st2 + w;
    const r3 = st3 + w;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let k = 0; k < steps; k++) {
      s0 = tbl[s0 + data[off + k]!]!;
      s1 = tbl[s1 + data[st1 + k]!]!;
      s2 = tbl[s2 + data[st2 + k]!]!;
      s3 = tbl[s3 + data[st3 + k]!]!;
      if ((s0 | s1 | s2 | s3) < 0) {
        if (s0 < 0) {
          s0 &= 0x7fffffff;
          this.hit(flow, d, g, s0 >>> 8, at + k, data, off, at);
        }
        if (s1 < 0) {
          s1 &= 0x7fffffff;
          if (st1 + k >= r1) this.hit(flow, d, g, s1 >>> 8, at + (st1 + k - off), data, off, at);
        }
        if (s2 < 0) {
          s2 &= 0x7fffffff;
          if (st2 + k >= r2) this.hit(flow, d, g, s2 >>> 8, at + (st2 + k - off), data, off, at);
        }
        if (s3 < 0) {
          s3 &= 0x7fffffff;
          if (st3 + k >= r3) this.hit(flow, d, g, s3 >>> 8, at + (st3 + k - off), data, off, at);
        }
      }
    }
    return this.scan1(flow, d, g, s3, data, st3 + steps, off + len, off, at);
  }

  /** scan1 over the compact table: `s` is a state index. */
  private scan1c(flow: Flow, d: DirState, g: PortGroup, s: number, data: Uint8Array, from: number, to: number, off: number, at: number): number {
    const tbl = d.scan16!;
    const st = this.st;
    st[0] = s;
    let i = from;
    while ((i = run1c(tbl, data, i, to, st)) < to) {
      s = st[0] & 0x7fff;
      st[0] = s;
      this.hit(flow, d, g, s, at + (i - off), data, off, at);
      i++;
    }
    return st[0];
  }

  /**
   * scan4 over the compact table (same chains and warm-up): states are indexes. A copy, not a
   * shared generic loop: each hot loop stays monomorphic (one typed-array kind, one state
   * encoding), which a loop over either table would not be. The byte loop itself (run4c) stops
   * at a byte where some chain reached an output and the hits are handled here, so that loop
   * holds no call: TurboFan then keeps its states in registers and its table checks out of the
   * loop (~15-20 % faster on the bench capture's stream bytes).
   */
  private scan4c(flow: Flow, d: DirState, g: PortGroup, s0: number, w: number, data: Uint8Array, off: number, len: number, at: number): number {
    const tbl = d.scan16!;
    const steps = (len + 3 * w) >> 2;
    // Chain c scans data[off + c*d1 + k] for k < steps; its first w bytes (k < w) are warm-up.
    const d1 = steps - w;
    const end = off + steps;
    const warm = off + w;
    const st = this.st;
    st[0] = s0;
    st[1] = 0;
    st[2] = 0;
    st[3] = 0;
    let i = off;
    while ((i = run4c(tbl, data, i, end, d1, st)) < end) {
      // One hit call site for the four chains: inlined four times, it made this function's
      // optimized code several times bigger and slower to compile.
      for (let c = 0; c < 4; c++) {
        const s = st[c]!;
        if (s < 0x8000) continue;
        st[c] = s & 0x7fff;
        if (c === 0 || i >= warm) this.hit(flow, d, g, s & 0x7fff, at + (i + c * d1 - off), data, off, at);
      }
      i++;
    }
    return this.scan1c(flow, d, g, st[3], data, end + 3 * d1, off + len, off, at);
  }

  private hit(flow: Flow, d: DirState, g: PortGroup, k: number, endPos: number, data: Uint8Array, off: number, at: number): void {
    const { outStart, outList } = g.dfa;
    const patterns = g.patterns;
    const np = patterns.length;
    const stamp = this.stamp;
    const cs = this.chunkStamp;
    for (let j = outStart[k]!, e = outStart[k + 1]!; j < e; j++) {
      const id = outList[j]!;
      if (id >= np) {
        // A raw-stream pattern (PortGroup.raw): every occurrence, for the app layer.
        if (this.rawDir !== null) {
          this.rawSig.push(g.raw!.patterns[id - np]!.signature);
          this.rawPos.push(endPos);
        }
        continue;
      }
      const pat = patterns[id]!;
      const si = pat.signature;
      if (stamp[si] === cs) continue;
      if (flow.alerted !== null && flow.alerted.has(si)) continue;
      if (!pat.nocase) {
        // The automaton folds case; a case-sensitive pattern is checked on the original bytes.
        const start = endPos - pat.length + 1;
        const pb = pat.bytes;
        let ok = true;
        if (d.buf !== null && start >= 0) {
          const b = d.buf;
          for (let q = 0; q < pb.length; q++) {
            if (b[start + q] !== pb[q]) {
              ok = false;
              break;
            }
          }
        } else if (start >= at) {
          const base = off + (start - at);
          for (let q = 0; q < pb.length; q++) {
            if (data[base + q] !== pb[q]) {
              ok = false;
              break;
            }
          }
        }
        if (!ok) continue;
      }
      stamp[si] = cs;
      this.candSig.push(si);
      this.candPos.push(endPos);
    }
  }
}

/**
 * The compact table's byte loop of one chain: from state st[0], scans data[i..end) and stops
 * after the first byte whose transition is marked (an output state); returns that byte's index
 * (end: none) with the state reached, still marked, in st[0].
 */
function run1c(tbl: Uint16Array, data: Uint8Array, i: number, end: number, st: Int32Array): number {
  let s = st[0]!;
  for (; i < end; i++) {
    s = tbl[(s << 8) | data[i]!]!;
    if (s >= 0x8000) break;
  }
  st[0] = s;
  return i;
}

/** run1c over four chains d1 bytes apart (scan4c): stops after the first step where one of them is marked. */
function run4c(tbl: Uint16Array, data: Uint8Array, i: number, end: number, d1: number, st: Int32Array): number {
  const d2 = d1 + d1;
  const d3 = d2 + d1;
  let s0 = st[0]!;
  let s1 = st[1]!;
  let s2 = st[2]!;
  let s3 = st[3]!;
  for (; i < end; i++) {
    s0 = tbl[(s0 << 8) | data[i]!]!;
    s1 = tbl[(s1 << 8) | data[i + d1]!]!;
    s2 = tbl[(s2 << 8) | data[i + d2]!]!;
    s3 = tbl[(s3 << 8) | data[i + d3]!]!;
    if ((s0 | s1 | s2 | s3) >= 0x8000) break;
  }
  st[0] = s0;
  st[1] = s1;
  st[2] = s2;
  st[3] = s3;
  return i;
}
