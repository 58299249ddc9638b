/**
 * TCP stream reassembly for one direction of a flow.
 *
 * Policy (docs/engine.md "Reassembly"):
 * - Bytes are delivered to the sink exactly once, in sequence order, from the first byte after
 *   the SYN (or from the first data segment seen on a flow picked up mid-stream).
 * - Overlaps are resolved first-wins (the bytes that arrived first are kept, as in Suricata's
 *   default "bsd"-like policy for the common case): a retransmission of delivered bytes is
 *   ignored, and a segment overlapping buffered out-of-order data only contributes its new bytes.
 *   Overlaps whose bytes differ from what was kept are counted (possible evasion attempt).
 * - Out-of-order segments are copied into a bounded list (maxSegments per direction and at most
 *   `depth` bytes). When the list is full the gap is declared lost: delivery skips to the
 *   earliest buffered segment, the scanner state is reset (no match may span a gap) and the
 *   skipped bytes are counted.
 * - Only the first `depth` bytes of a stream are delivered; later bytes are counted, not inspected.
 */
import type { ChunkSink, ReassemblyLimits } from './types.js';

export type { ChunkSink, ReassemblyLimits } from './types.js';

/** Counters the engine exports as metrics (plain numbers: the hot path never touches prom-client). */
export class ReassemblyCounters {
  inOrderSegments = 0;
  outOfOrderSegments = 0;
  retransmittedSegments = 0;
  overlapBytes = 0;
  overlapMismatchBytes = 0;
  segmentsDropped = 0;
  gapBytes = 0;
  gaps = 0;
  bytesBeyondDepth = 0;
  bogusSegments = 0;
}

export type ReassemblyStats = { [K in keyof ReassemblyCounters]: number };

export function snapshotCounters(c: ReassemblyCounters): ReassemblyStats {
  return {
    inOrderSegments: c.inOrderSegments,
    outOfOrderSegments: c.outOfOrderSegments,
    retransmittedSegments: c.retransmittedSegments,
    overlapBytes: c.overlapBytes,
    overlapMismatchBytes: c.overlapMismatchBytes,
    segmentsDropped: c.segmentsDropped,
    gapBytes: c.gapBytes,
    gaps: c.gaps,
    bytesBeyondDepth: c.bytesBeyondDepth,
    bogusSegments: c.bogusSegments,
  };
}

interface OooSegment {
  /** Stream offset (bytes since the stream base) of data[0]. */
  rel: number;
  data: Uint8Array;
  flags: number;
}

/** Reassembly state of one direction; the matcher keeps its own fields on the same object. */
export class StreamState {
  /** True once base/nextSeq are known (SYN seen or first data picked up). */
  started = false;
  /** Sequence number of stream offset 0. */
  base = 0;
  /** Next expected sequence number (uint32). */
  nextSeq = 0;
  /** Stream bytes delivered so far (may exceed depth: counts what was skipped too). */
  delivered = 0;
  ooo: OooSegment[] | null = null;
  oooBytes = 0;
  finSeen = false;
  /** A gap was declared before the next delivered byte (ackedGap). */
  gapPending = false;
}


/** Signed distance a - b in sequence space. */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/**
 * Starts a direction at `isnPlusOne` (SYN: seq + 1) unless already started.
 */
export function startStream(s: StreamState, seqOfFirstByte: number): void {
  s.started = true;
  s.base = seqOfFirstByte >>> 0;
  s.nextSeq = s.base;
  s.delivered = 0;
  s.ooo = null;
  s.oooBytes = 0;
  s.gapPending = false;
}

/**
 * A real copy (Buffer#slice would return a view into the reused capture buffer). A Buffer, as the
 * capture's own: the chunks every later stage sees (scan, store, app layer) then all have one
 * map. The first buffered segment delivered as a plain Uint8Array made the hot functions
 * polymorphic and deoptimized each of them, thousands of packets into the capture.
 */
function copy(data: Uint8Array, from: number, to: number): Uint8Array {
  const out = Buffer.allocUnsafeSlow(to - from);
  out.set(data.subarray(from, to));
  return out;
}

/** Largest forward jump accepted for a segment (beyond it the segment is treated as bogus). */
const MAX_AHEAD = 1 << 30;

export class Reassembler<D extends StreamState> {
  constructor(
    private readonly limits: ReassemblyLimits,
    readonly counters: ReassemblyCounters,
    private readonly sink: ChunkSink<D>,
  ) {}

  /** Feeds one segment's payload data[off..off+len) with sequence number `seq`. */
  segment(s: D, seq: number, data: Uint8Array, off: number, len: number, flags: number): void {
    if (len <= 0) return;
    const c = this.counters;
    if (!s.started) startStream(s, seq);
    const depth = this.limits.depth;
    const d = seqDiff(seq, s.nextSeq);
    if (s.delivered >= depth) {
      // Past the inspection depth: only count new bytes.
      const fresh = d >= 0 ? len : len + d;
      if (fresh > 0) {
        c.bytesBeyondDepth += fresh;
        s.nextSeq = (seq + len) >>> 0;
        s.delivered += fresh;
      }
      return;
    }
    if (d > MAX_AHEAD || d < -MAX_AHEAD) {
      c.bogusSegments++;
      return;
    }
    if (d <= 0 && s.ooo === null) {
      // Fast path: in order (possibly with a retransmitted head), nothing buffered.
      if (len + d <= 0) {
        c.retransmittedSegments++;
        c.overlapBytes += len;
        return;
      }
      if (d < 0) c.overlapBytes += -d;
      c.inOrderSegments++;
      this.deliver(s, data, off - d, len + d, off, len, flags, false);
      return;
    }
    if (d > 0) c.outOfOrderSegments++;
    else c.inOrderSegments++;
    // Slow path: merge into the buffered list (first-wins against what is already there).
    const rel = s.delivered + d;
    this.insert(s, rel, data, off, len, flags);
    this.drain(s);
  }

  /** Adds data at stream offset rel, keeping only bytes not already delivered or buffered. */
  private insert(s: D, rel: number, data: Uint8Array, off: number, len: number, flags: number): void {
    const c = this.counters;
    let a = rel;
    const b = rel + len;
    if (a < s.delivered) {
      c.overlapBytes += s.delivered - a;
      a = s.delivered;
    }
    if (a >= b) {
      c.retransmittedSegments++;
      return;
    }
    const list = (s.ooo ??= []);
    // Pieces of [a, b) not covered by existing segments (list sorted by rel, non-overlapping).
    let cur = a;
    let i = 0;
    const pieces: OooSegment[] = [];
    while (cur < b) {
      while (i < list.length && list[i]!.rel + list[i]!.data.length <= cur) i++;
      const next = list[i];
      if (next === undefined || next.rel >= b) {
        pieces.push({ rel: cur, data: copy(data, off + (cur - rel), off + (b - rel)), flags });
        break;
      }
      if (next.rel > cur) {
        pieces.push({ rel: cur, data: copy(data, off + (cur - rel), off + (next.rel - rel)), flags });
        cur = next.rel;
      }
      // Overlap with `next`: first-wins, count differing bytes.
      const ovEnd = Math.min(b, next.rel + next.data.length);
      c.overlapBytes += ovEnd - cur;
      for (let k = cur; k < ovEnd; k++) {
        if (data[off + (k - rel)] !== next.data[k - next.rel]) c.overlapMismatchBytes++;
      }
      cur = ovEnd;
    }
    for (const p of pieces) {
      if (list.length >= this.limits.maxSegments || s.oooBytes + p.data.length > this.limits.depth) {
        c.segmentsDropped++;
        continue;
      }
      let j = list.length;
      while (j > 0 && list[j - 1]!.rel > p.rel) j--;
      list.splice(j, 0, p);
      s.oooBytes += p.data.length;
    }
    if (list.length === 0) s.ooo = null;
  }

  /** Delivers buffered segments that became contiguous; skips a gap when the buffer is full. */
  private drain(s: D): void {
    const list = s.ooo;
    if (list === null) return;
    const c = this.counters;
    let gap = false;
    while (list.length > 0) {
      const first = list[0]!;
      if (first.rel > s.delivered) {
        const full = list.length >= this.limits.maxSegments || s.oooBytes >= this.limits.depth;
        if (!full) break;
        // Bounded buffering: give up on the hole.
        c.gaps++;
        c.gapBytes += first.rel - s.delivered;
        s.nextSeq = (s.nextSeq + (first.rel - s.delivered)) >>> 0;
        s.delivered = first.rel;
        gap = true;
      }
      list.shift();
      s.oooBytes -= first.data.length;
      const skip = s.delivered - first.rel;
      if (skip >= first.data.length) continue;
      this.deliver(s, first.data, skip, first.data.length - skip, 0, first.data.length, first.flags, gap);
      gap = false;
      if (s.delivered >= this.limits.depth) {
        // Nothing more is inspected: drop the buffer, count what it held.
        for (const rest of list) c.bytesBeyondDepth += rest.data.length;
        list.length = 0;
        s.oooBytes = 0;
      }
    }
    if (list.length === 0) {
      s.ooo = null;
      s.oooBytes = 0;
    }
  }

  private deliver(s: D, data: Uint8Array, off: number, len: number, pktOff: number, pktLen: number, flags: number, gap: boolean): void {
    if (s.gapPending) {
      gap = true;
      s.gapPending = false;
    }
    const room = this.limits.depth - s.delivered;
    const n = len <= room ? len : room;
    if (n < len) this.counters.bytesBeyondDepth += len - n;
    const at = s.delivered;
    s.delivered += len;
    s.nextSeq = (s.nextSeq + len) >>> 0;
    if (n > 0) this.sink(s, data, off, n, at, pktOff, pktLen, flags, gap);
  }

  /**
   * The other side acknowledged up to `ack`: bytes of this direction it received but the capture
   * never saw (Wireshark's "ACKed unseen segment"). Segments buffered behind such a hole will not
   * be completed by a retransmission any more, so the hole is declared a gap (counted, the scanner
   * restarts after it, as when the buffer is full) and what follows it is delivered, as Suricata
   * does in IDS mode. Only holes before `ack` with data buffered behind them are skipped.
   */
  ackedGap(s: D, ack: number): void {
    const list = s.ooo;
    if (list === null || !s.started || s.delivered >= this.limits.depth) return;
    const d = seqDiff(ack, s.nextSeq);
    if (d <= 0 || d > MAX_AHEAD) return;
    const ackRel = s.delivered + d;
    const c = this.counters;
    while (s.ooo !== null && s.ooo.length > 0) {
      const first = s.ooo[0]!;
      if (first.rel <= s.delivered || first.rel >= ackRel) break;
      c.gaps++;
      c.gapBytes += first.rel - s.delivered;
      s.nextSeq = (s.nextSeq + (first.rel - s.delivered)) >>> 0;
      s.delivered = first.rel;
      s.gapPending = true;
      this.drain(s);
    }
  }

  /**
   * Flow end: delivers the segments still buffered behind a hole, in order, each discontinuity
   * flagged as a gap (the scanner restarts after it). Suricata's raw stream inspection takes this
   * unACKed data on its end-of-flow pseudo packets; a hole in data nobody acknowledged is normal
   * (segments still on their way), not a lost packet, so it is not counted as a reassembly gap
   * (Suricata 8, "stream: RST no longer acks all data", ticket 7422). Returns the bytes delivered.
   */
  flushHeld(s: D): number {
    const list = s.ooo;
    if (list === null || !s.started) return 0;
    s.ooo = null;
    s.oooBytes = 0;
    let n = 0;
    for (const seg of list) {
      if (s.delivered >= this.limits.depth || seg.rel >= this.limits.depth) {
        // Past the inspection depth (a hole may jump there): counted, not delivered.
        this.counters.bytesBeyondDepth += seg.data.length - Math.max(0, s.delivered - seg.rel);
        continue;
      }
      let gap = false;
      if (seg.rel > s.delivered) {
        s.nextSeq = (s.nextSeq + (seg.rel - s.delivered)) >>> 0;
        s.delivered = seg.rel;
        gap = true;
      }
      const skip = s.delivered - seg.rel;
      if (skip >= seg.data.length) continue;
      this.deliver(s, seg.data, skip, seg.data.length - skip, 0, seg.data.length, seg.flags, gap);
      n += seg.data.length - skip;
    }
    return n;
  }

  /** Frees buffered segments (flow end). */
  release(s: D): void {
    s.ooo = null;
    s.oooBytes = 0;
  }
}
