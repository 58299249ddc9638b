/**
 * IPv4 / IPv6 fragment reassembly with Suricata's semantics (defrag.c) and bounded memory.
 *
 * - Datagrams in progress ("trackers") are keyed by (version, source, destination, id[, IPv4
 *   protocol]) in an LRU of `maxTrackers`; the bytes they hold together are bounded by `maxBytes`
 *   (least recently used trackers are dropped first, counted as evicted). A tracker that sees no
 *   fragment for `timeoutMs` (packet time, Suricata's defrag.timeout, 60 s) is dropped.
 * - Overlaps are resolved with Suricata's default policy, BSD: the data of the fragment with the
 *   lowest offset wins, and of two fragments at the same offset the one that came first. Every
 *   fragment that overlaps a held one raises `ipv4.frag_overlap` / `ipv6.frag_overlap`.
 * - A fragment whose end lies beyond 65,535 bytes (IPv4: counting a 20-byte header) is not held:
 *   `frag_pkt_too_large`. More than `maxFragments` held fragments in one datagram: the fragment is
 *   ignored (`frag_ignored`, Suricata's event when its fragment pool is exhausted).
 * - The datagram is complete once the last fragment (MF clear) was seen and the data from offset 0
 *   has no hole; data after the last fragment is cut. It is rebuilt as a plain IP packet (IPv4: the
 *   first fragment's header with length and fragment fields rewritten; IPv6: the first fragment's
 *   header and unfragmentable extension headers, without the fragment header) and decoded again.
 *
 * Events are raised on the fragment's DecodedPacket (decode/events.ts), as Suricata raises them on
 * the fragment, not on the rebuilt packet.
 */
import { LRUCache } from 'lru-cache';
import type { DecodedPacket } from './decode.js';
import { EV } from './events.js';

export interface DefragLimits {
  /** Datagrams in progress (Suricata defrag.trackers). */
  maxTrackers: number;
  /** Fragment bytes held by all trackers together (Suricata defrag.memcap). */
  maxBytes: number;
  /** Fragments held per datagram. */
  maxFragments: number;
  /** Idle time after which an incomplete datagram is dropped (Suricata defrag.timeout). */
  timeoutMs: number;
}

/**
 * The defaults of config engine.defrag (src/config/types.ts). 8,192 fragments = a 65,535-byte
 * datagram in 8-byte pieces: no datagram without overlaps needs more.
 */
export const DEFAULT_DEFRAG: DefragLimits = { maxTrackers: 4096, maxBytes: 32 * 1024 * 1024, maxFragments: 8192, timeoutMs: 60_000 };

/** Bytes a held fragment costs beyond its data (bookkeeping), for the memory bound. */
const FRAG_OVERHEAD = 64;
const MAX_PACKET = 65535;

export class DefragCounters {
  fragments = 0;
  reassembled = 0;
  timeouts = 0;
  evicted = 0;
  /** Fragments past 65,535 bytes, and datagrams that could not be rebuilt. */
  invalid = 0;
  /** Fragments that overlapped held ones (frag_overlap events). */
  overlaps = 0;
  /** Fragments not held because their datagram had maxFragments already (frag_ignored events). */
  ignored = 0;
}

interface Frag {
  /** Offset of `data[0]` in the datagram (after the trim at insertion). */
  off: number;
  data: Uint8Array;
  /** Leading bytes of `data` a later fragment took over (BSD policy). */
  ltrim: number;
  more: boolean;
  /**
   * On the fragment inserted at offset 0: its link-layer header followed by the IP header to
   * rebuild the datagram with (the link header is `linkLen` bytes).
   */
  head: Uint8Array | null;
  linkLen: number;
}

interface Tracker {
  lastMs: number;
  /** Sorted by offset; a fragment at an offset already held goes after the held one. */
  frags: Frag[];
  bytes: number;
  seenLast: boolean;
  v6: boolean;
}

function hex16(b: Uint8Array, o: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += (b[o + i]! + 256).toString(16).slice(1);
  return s;
}

export class Defragmenter {
  private readonly table: LRUCache<string, Tracker>;
  private bytes = 0;
  readonly counters = new DefragCounters();

  constructor(private readonly limits: DefragLimits = DEFAULT_DEFRAG) {
    this.table = new LRUCache<string, Tracker>({
      max: limits.maxTrackers,
      dispose: (t, _k, reason) => {
        this.bytes -= t.bytes;
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
   * Adds the fragment `p` describes (decodePacket returned IP_FRAGMENT), raising its defrag
   * events on `p`. Returns the whole datagram as an IP packet when this fragment completed it.
   */
  add(p: DecodedPacket, tsMs: number): Uint8Array | null {
    const c = this.counters;
    c.fragments++;
    const b = p.buf;
    const v6 = p.ipVersion === 6;
    const off = p.fragOffset;
    const len = p.l4Length < 0 ? 0 : p.l4Length;
    const end = off + len;
    if ((v6 ? 0 : 20) + end > MAX_PACKET) {
      p.event(v6 ? EV['ipv6.frag_pkt_too_large'] : EV['ipv4.frag_pkt_too_large']);
      c.invalid++;
      return null;
    }
    const key = v6 ? `6|${hex16(b, p.src6Offset)}|${hex16(b, p.dst6Offset)}|${p.fragId}` : `4|${p.src4}|${p.dst4}|${p.fragId}|${p.l4Proto}`;
    let t = this.table.get(key);
    if (t !== undefined && tsMs - t.lastMs > this.limits.timeoutMs) {
      this.table.delete(key);
      c.timeouts++;
      t = undefined;
    }
    if (t === undefined) {
      t = { lastMs: tsMs, frags: [], bytes: 0, seenLast: false, v6 };
      this.table.set(key, t);
    }
    t.lastMs = tsMs;
    const fr = t.frags;

    // Suricata walks the held fragments from the one before the first at or after this offset
    // (from the first one when the offset is 0) and applies the BSD policy to the first overlap.
    let ltrim = 0;
    let overlap = false;
    let dropped = false;
    let i = 0;
    if (off > 0) {
      let lo = 0;
      let hi = fr.length;
      while (lo < hi) {
        const m = (lo + hi) >> 1;
        if (fr[m]!.off < off) lo = m + 1;
        else hi = m;
      }
      i = lo === fr.length ? 0 : Math.max(lo - 1, 0);
    }
    for (; i < fr.length; i++) {
      const prev = fr[i]!;
      const next = fr[i + 1];
      const prevEnd = prev.off + prev.data.length;
      if (off < prevEnd && prev.off < end) overlap = true;
      if (off >= prevEnd) continue;
      if (prev.off <= off) {
        // The held fragment starts first: it keeps its bytes, the new one is trimmed (or dropped
        // when it ends inside it).
        if (prevEnd > end) {
          dropped = true;
          break;
        }
        ltrim = prevEnd - off;
      } else if (end > prev.off + prev.ltrim) {
        // The new fragment starts first: it takes over the start of the held one.
        const pl = end - prev.off;
        if (pl > prev.ltrim) prev.ltrim = pl;
      }
      if (next !== undefined && end > next.off) next.ltrim = end - next.off;
      if (prev.ltrim >= prev.data.length) this.remove(t, i);
      break;
    }
    if (overlap) {
      p.event(v6 ? EV['ipv6.frag_overlap'] : EV['ipv4.frag_overlap']);
      c.overlaps++;
    }
    if (dropped || ltrim >= len) return null;
    if (fr.length >= this.limits.maxFragments) {
      p.event(v6 ? EV['ipv6.frag_ignored'] : EV['ipv4.frag_ignored']);
      c.ignored++;
      return null;
    }
    const data = b.slice(p.l4Offset + ltrim, p.l4Offset + len);
    const frag: Frag = { off: off + ltrim, data, ltrim: 0, more: p.moreFragments, head: null, linkLen: 0 };
    if (off === 0) {
      frag.head = headerOf(p);
      frag.linkLen = p.ipOffset - p.frameStart;
    }
    // Insert after every held fragment at the same or a lower offset.
    let at = fr.length;
    while (at > 0 && fr[at - 1]!.off > frag.off) at--;
    fr.splice(at, 0, frag);
    const cost = data.length + (frag.head?.length ?? 0) + FRAG_OVERHEAD;
    t.bytes += cost;
    this.bytes += cost;
    if (!frag.more) t.seenLast = true;
    this.enforceMemory(key);
    if (!t.seenLast) return null;
    const frame = this.reassemble(t);
    if (frame === undefined) return null;
    this.table.delete(key);
    if (frame === null) {
      c.invalid++;
      return null;
    }
    c.reassembled++;
    this.lastFrame = frame;
    return frame.subarray(fr[0]!.linkLen);
  }

  /**
   * The last datagram add() returned as a whole frame: the link-layer header of its offset-0
   * fragment, then the rebuilt IP packet (Suricata's reassembled packet, which EVE's `packet` shows).
   */
  lastFrame: Uint8Array | null = null;

  private remove(t: Tracker, i: number): void {
    const f = t.frags[i]!;
    const cost = f.data.length + (f.head?.length ?? 0) + FRAG_OVERHEAD;
    t.bytes -= cost;
    this.bytes -= cost;
    t.frags.splice(i, 1);
  }

  /**
   * Suricata's Defrag4Reassemble / Defrag6Reassemble: undefined while data is missing (the first
   * fragment, or a hole), null when the datagram cannot be rebuilt, else the rebuilt packet after
   * the first fragment's link-layer header.
   */
  private reassemble(t: Tracker): Uint8Array | null | undefined {
    const fr = t.frags;
    const first = fr[0];
    if (first?.off !== 0 || first.head === null) return undefined;
    let len = 0;
    for (const f of fr) {
      if (f.off > len) return undefined;
      len = Math.max(len, f.off + f.data.length);
    }
    // The pieces in order; those starting after the last fragment are not part of the datagram.
    let more = true;
    let prevOff = 0;
    let total = 0;
    const use: Frag[] = [];
    for (const f of fr) {
      if (!more && f.off > prevOff) break;
      if (f.ltrim >= f.data.length) continue;
      use.push(f);
      total = Math.max(total, f.off + f.data.length);
      more = f.more;
      prevOff = f.off;
    }
    const head = first.head;
    const ll = first.linkLen;
    const ipHead = head.length - ll;
    if (ipHead + total > MAX_PACKET + (t.v6 ? 40 : 0)) return null;
    const out = new Uint8Array(head.length + total);
    out.set(head, 0);
    for (const f of use) {
      // Later pieces overwrite earlier ones where they were not trimmed: the copy order is the policy.
      const from = f.off === 0 ? 0 : f.ltrim;
      out.set(f.data.subarray(from), head.length + f.off + from);
    }
    if (t.v6) {
      const plen = ipHead - 40 + total;
      out[ll + 4] = plen >> 8;
      out[ll + 5] = plen & 255;
    } else {
      // Length and fragment fields rewritten, the header checksum updated for both (RFC 1624
      // incremental update, as Suricata's FixChecksum: a bad checksum stays bad).
      const tl = ipHead + total;
      let sum = ~((out[ll + 10]! << 8) | out[ll + 11]!) & 0xffff;
      sum += ~((out[ll + 2]! << 8) | out[ll + 3]!) & 0xffff;
      sum += ~((out[ll + 6]! << 8) | out[ll + 7]!) & 0xffff;
      out[ll + 2] = tl >> 8;
      out[ll + 3] = tl & 255;
      out[ll + 6] = 0;
      out[ll + 7] = 0;
      sum += tl;
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      const csum = ~sum & 0xffff;
      out[ll + 10] = csum >> 8;
      out[ll + 11] = csum & 255;
    }
    return out;
  }

  private enforceMemory(keep: string): void {
    while (this.bytes > this.limits.maxBytes && this.table.size > 1) {
      const oldest = this.table.rkeys().next();
      if (oldest.done === true || oldest.value === keep) break;
      this.table.delete(oldest.value);
      this.counters.evicted++;
    }
  }

  /**
   * Drops trackers idle for longer than the timeout (packet time), walking from the least
   * recently touched one and stopping at the first that is not expired.
   */
  expire(nowMs: number): void {
    const old: string[] = [];
    for (const k of this.table.rkeys()) {
      const t = this.table.peek(k);
      if (t === undefined) continue;
      if (nowMs - t.lastMs <= this.limits.timeoutMs) break;
      old.push(k);
    }
    for (const k of old) {
      this.table.delete(k);
      this.counters.timeouts++;
    }
  }
}

/**
 * The header the datagram is rebuilt with, from its offset-0 fragment: its link-layer header, then
 * IPv4 the IP header with options; IPv6 the fixed header and the unfragmentable extension headers,
 * the next-header field that pointed at the fragment header now naming what the fragment header
 * announced.
 */
function headerOf(p: DecodedPacket): Uint8Array {
  if (p.ipVersion === 4) return p.buf.slice(p.frameStart, p.l4Offset);
  const h = p.buf.slice(p.frameStart, p.fragHeaderOffset);
  const at = p.fragPrevNextOffset - p.frameStart;
  if (at >= 0 && at < h.length) h[at] = p.l4Proto;
  return h;
}
