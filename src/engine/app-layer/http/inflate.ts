/**
 * Streaming, bounded DEFLATE decoder (RFC 1951) with gzip (RFC 1952) and zlib (RFC 1950)
 * framing, written for the HTTP body decoders: input arrives in arbitrary chunks, output is
 * handed out in pieces to a sink that can stop decoding at any point (body limit, bomb limit),
 * and nothing is ever inflated without a bound. Decoding resumes at symbol boundaries: when a
 * chunk ends mid-symbol the decoder keeps the few unread bytes and waits for more.
 *
 * Node's zlib is not used because its synchronous API is one-shot (no resumable state) and its
 * streaming API is asynchronous; the engine parses synchronously per packet.
 */

/** Framing: raw deflate, zlib, gzip, or gzip/zlib chosen by the first bytes ('auto', zlib's windowBits 15+32). */
export type InflateFormat = 'raw' | 'zlib' | 'gzip' | 'auto';

/** Receives decoded bytes; returns false to stop decoding for good. */
export type InflateSink = (data: Uint8Array) => boolean;

export type InflateStatus = 'more' | 'end' | 'error' | 'stopped';

const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** Canonical Huffman table: count of codes per length and symbols sorted by code. */
interface Huff {
  count: Uint16Array;
  symbol: Uint16Array;
}

/** Builds a table; returns null for an over-subscribed set (incomplete sets are allowed, as zlib does for distances). */
function buildHuff(lengths: ArrayLike<number>, n: number): Huff | null {
  const count = new Uint16Array(16);
  const symbol = new Uint16Array(n);
  for (let s = 0; s < n; s++) count[lengths[s]!]!++;
  let left = 1;
  for (let len = 1; len < 16; len++) {
    left <<= 1;
    left -= count[len]!;
    if (left < 0) return null;
  }
  const offs = new Uint16Array(16);
  for (let len = 1; len < 15; len++) offs[len + 1] = offs[len]! + count[len]!;
  for (let s = 0; s < n; s++) if (lengths[s] !== 0) symbol[offs[lengths[s]!]!++] = s;
  return { count, symbol };
}

let FIXED_LIT: Huff | null = null;
let FIXED_DIST: Huff | null = null;
function fixedTables(): [Huff, Huff] {
  if (FIXED_LIT === null || FIXED_DIST === null) {
    const l = new Uint8Array(288);
    for (let s = 0; s < 144; s++) l[s] = 8;
    for (let s = 144; s < 256; s++) l[s] = 9;
    for (let s = 256; s < 280; s++) l[s] = 7;
    for (let s = 280; s < 288; s++) l[s] = 8;
    FIXED_LIT = buildHuff(l, 288)!;
    const d = new Uint8Array(30).fill(5);
    FIXED_DIST = buildHuff(d, 30)!;
  }
  return [FIXED_LIT, FIXED_DIST];
}

const NEED = -1;
const BAD = -2;
const WINDOW = 32768;
const OUT_SIZE = WINDOW * 2;

type Stage = 'frame' | 'block' | 'stored' | 'codes' | 'trailer' | 'end' | 'error' | 'stopped';

export class Inflater {
  private inp: Uint8Array = new Uint8Array(0);
  /** Next unread bit in `inp`. */
  private bit = 0;
  private stage: Stage;
  private last = false;
  private storedLeft = 0;
  private lit: Huff | null = null;
  private dist: Huff | null = null;
  /** Output window: the last 32 KiB of history followed by bytes not yet handed to the sink. */
  private out = new Uint8Array(4096);
  private outPos = 0;
  private flushed = 0;
  private format: InflateFormat;
  /** Total decoded bytes handed out or pending. */
  produced = 0;

  constructor(format: InflateFormat, private readonly sink: InflateSink) {
    this.format = format;
    this.stage = format === 'raw' ? 'block' : 'frame';
  }

  get status(): InflateStatus {
    if (this.stage === 'end') return 'end';
    if (this.stage === 'error') return 'error';
    if (this.stage === 'stopped') return 'stopped';
    return 'more';
  }

  /** Feeds compressed bytes; decodes as far as possible. */
  push(chunk: Uint8Array): InflateStatus {
    if (this.stage === 'end' || this.stage === 'error' || this.stage === 'stopped') return this.status;
    // `inp` only ever holds the unread tail of earlier chunks (a few bytes, copied).
    const rest = this.inp.length;
    if (rest > 0) {
      const n = new Uint8Array(rest + chunk.length);
      n.set(this.inp);
      n.set(chunk, rest);
      this.inp = n;
    } else {
      this.inp = chunk;
    }
    this.run();
    this.flush();
    const byte = this.bit >>> 3;
    this.inp = byte >= this.inp.length ? new Uint8Array(0) : this.inp.slice(byte);
    this.bit &= 7;
    return this.status;
  }

  private bits(n: number): number {
    const b = this.bit;
    if (b + n > this.inp.length * 8) return NEED;
    let v = 0;
    for (let i = 0; i < n; i++) {
      const p = b + i;
      v |= ((this.inp[p >>> 3]! >>> (p & 7)) & 1) << i;
    }
    this.bit = b + n;
    return v;
  }

  private decode(h: Huff): number {
    let code = 0;
    let first = 0;
    let index = 0;
    const total = this.inp.length * 8;
    let b = this.bit;
    for (let len = 1; len < 16; len++) {
      if (b >= total) return NEED;
      code |= (this.inp[b >>> 3]! >>> (b & 7)) & 1;
      b++;
      const count = h.count[len]!;
      if (code - count < first) {
        this.bit = b;
        return h.symbol[index + (code - first)]!;
      }
      index += count;
      first += count;
      first <<= 1;
      code <<= 1;
    }
    return BAD;
  }

  private emit(byte: number): boolean {
    if (this.outPos === this.out.length) {
      if (this.out.length < OUT_SIZE) {
        // Grow the window on demand: most HTTP bodies are small.
        const n = new Uint8Array(this.out.length * 2);
        n.set(this.out);
        this.out = n;
      } else if (!this.slide()) {
        return false;
      }
    }
    this.out[this.outPos++] = byte;
    this.produced++;
    return true;
  }

  /** Hands pending bytes to the sink and keeps the last 32 KiB as history. */
  private slide(): boolean {
    if (!this.flush()) return false;
    this.out.copyWithin(0, OUT_SIZE - WINDOW, OUT_SIZE);
    this.outPos = WINDOW;
    this.flushed = WINDOW;
    return true;
  }

  private flush(): boolean {
    if (this.outPos > this.flushed) {
      const ok = this.sink(this.out.slice(this.flushed, this.outPos));
      this.flushed = this.outPos;
      if (!ok) {
        this.stage = 'stopped';
        return false;
      }
    }
    return this.stage !== 'stopped';
  }

  private fail(): void {
    this.stage = 'error';
  }

  private run(): void {
    for (;;) {
      switch (this.stage) {
        case 'frame':
          if (!this.frameHeader()) return;
          break;
        case 'block': {
          const save = this.bit;
          const r = this.blockHeader();
          if (r === NEED) { this.bit = save; return; }
          if (r === BAD) { this.fail(); return; }
          break;
        }
        case 'stored':
          if (!this.stored()) return;
          break;
        case 'codes':
          if (!this.codes()) return;
          break;
        case 'trailer': {
          const need = this.format === 'gzip' ? 8 : this.format === 'zlib' ? 4 : 0;
          this.bit = (this.bit + 7) & ~7;
          if (this.inp.length - (this.bit >>> 3) < need) return;
          this.bit += need * 8;
          this.stage = 'end';
          return;
        }
        default:
          return;
      }
    }
  }

  /** gzip / zlib header; false when more input is needed or on error. */
  private frameHeader(): boolean {
    const d = this.inp;
    const p = this.bit >>> 3;
    const avail = d.length - p;
    if (avail < 2) return false;
    if (this.format === 'auto') this.format = d[p] === 0x1f && d[p + 1] === 0x8b ? 'gzip' : 'zlib';
    if (this.format === 'zlib') {
      const cmf = d[p]!;
      const flg = d[p + 1]!;
      if ((cmf & 0x0f) !== 8 || (cmf >>> 4) > 7 || ((cmf << 8) | flg) % 31 !== 0 || (flg & 0x20) !== 0) { this.fail(); return false; }
      this.bit += 16;
      this.stage = 'block';
      return true;
    }
    // gzip
    if (avail < 10) return false;
    if (d[p] !== 0x1f || d[p + 1] !== 0x8b || d[p + 2] !== 8) { this.fail(); return false; }
    const flg = d[p + 3]!;
    let q = p + 10;
    if (flg & 4) {
      if (q + 2 > d.length) return false;
      q += 2 + (d[q]! | (d[q + 1]! << 8));
      if (q > d.length) return false;
    }
    for (const f of [8, 16]) {
      if (flg & f) {
        while (q < d.length && d[q] !== 0) q++;
        if (q >= d.length) return false;
        q++;
      }
    }
    if (flg & 2) q += 2;
    if (q > d.length) return false;
    this.bit = q * 8;
    this.stage = 'block';
    return true;
  }

  private blockHeader(): number {
    const last = this.bits(1);
    if (last === NEED) return NEED;
    const type = this.bits(2);
    if (type === NEED) return NEED;
    if (type === 0) {
      this.bit = (this.bit + 7) & ~7;
      const p = this.bit >>> 3;
      if (this.inp.length - p < 4) return NEED;
      const len = this.inp[p]! | (this.inp[p + 1]! << 8);
      const nlen = this.inp[p + 2]! | (this.inp[p + 3]! << 8);
      if (len !== (~nlen & 0xffff)) return BAD;
      this.bit += 32;
      this.storedLeft = len;
      this.last = last === 1;
      this.stage = 'stored';
      return 0;
    }
    if (type === 1) {
      [this.lit, this.dist] = fixedTables();
    } else if (type === 2) {
      const r = this.dynamicTables();
      if (r !== 0) return r;
    } else {
      return BAD;
    }
    this.last = last === 1;
    this.stage = 'codes';
    return 0;
  }

  private dynamicTables(): number {
    const nlen = this.bits(5);
    if (nlen === NEED) return NEED;
    const ndist = this.bits(5);
    if (ndist === NEED) return NEED;
    const ncode = this.bits(4);
    if (ncode === NEED) return NEED;
    const hlit = nlen + 257;
    const hdist = ndist + 1;
    if (hlit > 286 || hdist > 30) return BAD;
    const lengths = new Uint8Array(320);
    for (let i = 0; i < ncode + 4; i++) {
      const v = this.bits(3);
      if (v === NEED) return NEED;
      lengths[CL_ORDER[i]!] = v;
    }
    const lencode = buildHuff(lengths, 19);
    if (lencode === null) return BAD;
    lengths.fill(0);
    let index = 0;
    while (index < hlit + hdist) {
      const sym = this.decode(lencode);
      if (sym === NEED) return NEED;
      if (sym < 0) return BAD;
      if (sym < 16) {
        lengths[index++] = sym;
      } else {
        let len = 0;
        let rep: number;
        if (sym === 16) {
          if (index === 0) return BAD;
          len = lengths[index - 1]!;
          rep = this.bits(2);
          if (rep === NEED) return NEED;
          rep += 3;
        } else if (sym === 17) {
          rep = this.bits(3);
          if (rep === NEED) return NEED;
          rep += 3;
        } else {
          rep = this.bits(7);
          if (rep === NEED) return NEED;
          rep += 11;
        }
        if (index + rep > hlit + hdist) return BAD;
        while (rep-- > 0) lengths[index++] = len;
      }
    }
    if (lengths[256] === 0) return BAD;
    const lit = buildHuff(lengths.subarray(0, hlit), hlit);
    const dist = buildHuff(lengths.subarray(hlit, hlit + hdist), hdist);
    if (lit === null || dist === null) return BAD;
    this.lit = lit;
    this.dist = dist;
    return 0;
  }

  private endBlock(): void {
    this.stage = this.last ? 'trailer' : 'block';
  }

  private stored(): boolean {
    while (this.storedLeft > 0) {
      const p = this.bit >>> 3;
      if (p >= this.inp.length) return false;
      if (!this.emit(this.inp[p]!)) return false;
      this.bit += 8;
      this.storedLeft--;
    }
    this.endBlock();
    return true;
  }

  private codes(): boolean {
    const lit = this.lit!;
    const dist = this.dist!;
    for (;;) {
      const save = this.bit;
      const sym = this.decode(lit);
      if (sym === NEED) { this.bit = save; return false; }
      if (sym < 0) { this.fail(); return false; }
      if (sym < 256) {
        if (!this.emit(sym)) return false;
        continue;
      }
      if (sym === 256) {
        this.endBlock();
        return true;
      }
      const li = sym - 257;
      if (li >= 29) { this.fail(); return false; }
      const le = this.bits(LEN_EXTRA[li]!);
      if (le === NEED) { this.bit = save; return false; }
      const len = LEN_BASE[li]! + le;
      const ds = this.decode(dist);
      if (ds === NEED) { this.bit = save; return false; }
      if (ds < 0 || ds >= 30) { this.fail(); return false; }
      const de = this.bits(DIST_EXTRA[ds]!);
      if (de === NEED) { this.bit = save; return false; }
      const d = DIST_BASE[ds]! + de;
      if (d > this.outPos) { this.fail(); return false; }
      for (let i = 0; i < len; i++) {
        if (!this.emit(this.out[this.outPos - d]!)) return false;
      }
    }
  }
}
