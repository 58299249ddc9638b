/**
 * IPv4 / IPv6 fragment reassembly with bounded memory.
 *
 * - Datagrams in progress are keyed by (version, source, destination, id[, protocol]) in an LRU
 *   bounded by `maxDatagrams`; their fragment bytes together by `maxBytes` (oldest datagrams are
 *   dropped first). A datagram not completed within `timeoutMs` (packet time) is dropped.
 * - Overlapping fragments: first wins (bytes that arrived first are kept), as for TCP streams.
 * - At most `maxFragments` pieces per datagram; a datagram beyond 65,535 bytes, or whose last
 *   fragment contradicts an earlier one, is dropped.
 * - A complete datagram is rebuilt as a plain IP packet (fragment fields cleared; for IPv6 the
 *   fixed header + the reassembled payload) and decoded like any other packet.
 */
import { LRUCache } from 'lru-cache';
import type { DecodedPacket } from './decode.js';

export interface DefragLimits {
  maxDatagrams: number;
  maxBytes: number;
  maxFragments: number;
  timeoutMs: number;
}

export const DEFAULT_DEFRAG: DefragLimits = { maxDatagrams: 4096, maxBytes: 16 * 1024 * 1024, maxFragments: 64, timeoutMs: 30_000 };

export class DefragCounters {
  fragments = 0;
  reassembled = 0;
  timeouts = 0;
  evicted = 0;
  invalid = 0;
  overlapBytes = 0;
}

interface Piece {
  off: number;
  data: Uint8Array;
}

interface Datagram {
  createdMs: number;
  pieces: Piece[];
  bytes: number;
  /** Payload length once the last fragment (MF clear) was seen, else -1. */
  total: number;
  /** Copy of the IP header of the fragment at offset 0 (IPv4: IHL bytes; IPv6: the 40-byte fixed header). */
  header: Uint8Array | null;
  v6: boolean;
  proto: number;
}

function hex16(b: Uint8Array, o: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += (b[o + i]! + 256).toString(16).slice(1);
  return s;
}

export class Defragmenter {
  private readonly table: LRUCache<string, Datagram>;
  private bytes = 0;
  readonly counters = new DefragCounters();
  private dropping = false;

  constructor(private readonly limits: DefragLimits = DEFAULT_DEFRAG) {
    this.table = new LRUCache<string, Datagram>({
      max: limits.maxDatagrams,
      dispose: (d, _k, reason) => {
        this.bytes -= d.bytes;
        if (reason === 'evict') this.counters.evicted++;
      },
    });
  }

  get size(): number {
    return this.table.size;
  }

  get memoryBytes(): number {
    return this.bytes;
  }

  /**
   * Adds the fragment `p` describes (decodePacket returned IP_FRAGMENT). Returns the whole
   * datagram as an IP packet when this fragment completed it, else null.
   */
  add(p: DecodedPacket, tsMs: number): Uint8Array | null {
    const c = this.counters;
    c.fragments++;
    const b = p.buf;
    const v6 = p.ipVersion === 6;
    const key = v6 ? `6|${hex16(b, p.src6Offset)}|${hex16(b, p.dst6Offset)}|${p.fragId}` : `4|${p.src4}|${p.dst4}|${p.fragId}|${p.l4Proto}`;
    let d = this.table.get(key);
    if (d !== undefined && tsMs - d.createdMs > this.limits.timeoutMs) {
      this.table.delete(key);
      c.timeouts++;
      d = undefined;
    }
    const off = p.fragOffset;
    const len = p.l4Length;
    if (len < 0 || off + len > 65535 || (p.moreFragments && len === 0)) {
      c.invalid++;
      if (d !== undefined) this.table.delete(key);
      return null;
    }
    if (d === undefined) {
      d = { createdMs: tsMs, pieces: [], bytes: 0, total: -1, header: null, v6, proto: p.l4Proto };
      this.table.set(key, d);
    }
    if (!p.moreFragments) {
      const total = off + len;
      if (d.total >= 0 && d.total !== total) {
        c.invalid++;
        this.table.delete(key);
        return null;
      }
      d.total = total;
    }
    if (off === 0 && d.header === null) {
      const hl = v6 ? 40 : p.l4Offset - p.ipOffset;
      const hdr = new Uint8Array(hl);
      hdr.set(b.subarray(p.ipOffset, p.ipOffset + hl));
      d.header = hdr;
      d.proto = p.l4Proto;
    }
    if (d.pieces.length >= this.limits.maxFragments) {
      c.invalid++;
      this.table.delete(key);
      return null;
    }
    const data = new Uint8Array(len);
    data.set(b.subarray(p.l4Offset, p.l4Offset + len));
    d.pieces.push({ off, data });
    d.bytes += len;
    this.bytes += len;
    this.enforceMemory(key);
    if (d.total < 0 || d.header === null) return null;
    // Complete when [0, total) is covered.
    const sorted = d.pieces.slice().sort((x, y) => x.off - y.off);
    let covered = 0;
    for (const s of sorted) {
      if (s.off > covered) return null;
      covered = Math.max(covered, s.off + s.data.length);
    }
    if (covered < d.total) return null;
    this.table.delete(key);
    c.reassembled++;
    return this.build(d);
  }

  private build(d: Datagram): Uint8Array {
    const h = d.header!;
    const out = new Uint8Array(h.length + d.total);
    out.set(h, 0);
    // First wins: pieces in arrival order, each byte written once.
    const seen = new Uint8Array(d.total);
    for (let i = 0; i < d.pieces.length; i++) {
      const s = d.pieces[i]!;
      const end = Math.min(d.total, s.off + s.data.length);
      for (let k = s.off; k < end; k++) {
        if (seen[k] === 1) {
          this.counters.overlapBytes++;
          continue;
        }
        seen[k] = 1;
        out[h.length + k] = s.data[k - s.off]!;
      }
    }
    if (d.v6) {
      out[4] = d.total >> 8;
      out[5] = d.total & 255;
      out[6] = d.proto;
    } else {
      const tl = h.length + d.total;
      out[2] = tl >> 8;
      out[3] = tl & 255;
      out[6] = 0;
      out[7] = 0;
    }
    return out;
  }

  private enforceMemory(keep: string): void {
    if (this.dropping) return;
    this.dropping = true;
    try {
      while (this.bytes > this.limits.maxBytes && this.table.size > 1) {
        const oldest = this.table.rkeys().next();
        if (oldest.done === true || oldest.value === keep) break;
        this.table.delete(oldest.value);
        this.counters.evicted++;
      }
    } finally {
      this.dropping = false;
    }
  }

  /**
   * Drops datagrams older than the timeout (packet time), walking from the least recently
   * touched one and stopping at the first that is not expired (a datagram touched recently but
   * created long ago is dropped when its next fragment arrives, or later).
   */
  expire(nowMs: number): void {
    const old: string[] = [];
    for (const k of this.table.rkeys()) {
      const d = this.table.peek(k);
      if (d === undefined) continue;
      if (nowMs - d.createdMs <= this.limits.timeoutMs) break;
      old.push(k);
    }
    for (const k of old) {
      this.table.delete(k);
      this.counters.timeouts++;
    }
  }
}
