/**
 * Streaming, bounded DEFLATE decoder (RFC 1951) with gzip (RFC 1952) and zlib (RFC 1950)
 * framing, written for the HTTP body decoders: input arrives in arbitrary chunks, output is
 * handed out in pieces to a sink that can stop decoding at any point (body limit, bomb limit),
 * and nothing is ever inflated without a bound. Decoding resumes at symbol boundaries: when a
 * chunk ends mid-symbol the decoder keeps the few unread bytes and waits for more.
 *
 * Node's zlib is not used: its synchronous API is one-shot (re-inflating the accumulated input
 * per segment is quadratic and loses the output before an error, which decides libhtp's
 * restart and pass-through), its streaming API is asynchronous, and the engine parses
 * synchronously per packet.
 *
 * Speed: Huffman codes up to FAST_BITS long are decoded by one table lookup on a 32-bit window
 * of the input; longer codes, and anything the table cannot decide with the bits at hand, go
 * through the canonical bit-by-bit decoder, so NEED / BAD are reported exactly where the
 * canonical decoder reports them. Tables are typed arrays built once per block; matches and
 * stored blocks are copied in runs.
 */

/** Framing: raw deflate, zlib, gzip, or gzip/zlib chosen by the first bytes ('auto', zlib's windowBits 15+32). */
export type InflateFormat = 'raw' | 'zlib' | 'gzip' | 'auto';

/** Receives decoded bytes; returns false to stop decoding for good. */
export type InflateSink = (data: Uint8Array) => boolean;

export type InflateStatus = 'more' | 'end' | 'error' | 'stopped';

const LEN_BASE = Uint16Array.from([3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]);
const LEN_EXTRA = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]);
const DIST_BASE = Uint16Array.from([1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]);
const DIST_EXTRA = Uint8Array.from([0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]);
const CL_ORDER = Uint8Array.from([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

const EMPTY_OUT = new Uint8Array(0);

/**
 * Canonical Huffman table: count of codes per length and symbols sorted by code (the canonical
 * decoder's view), plus `fast`: for every fastBits-bit input window (LSB first), the code it
 * starts with as (length << 16 | symbol), 0 when that code is longer or does not exist. The fast
 * table of a block's codes is filled once the block has decoded LAZY symbols (`slow` counts
 * them): building it costs more than a short block decodes.
 */
class Huff {
  readonly count = new Uint16Array(16);
  readonly symbol: Uint16Array;
  readonly fast: Uint32Array;
  readonly fastBits: number;
  /** Code lengths the fast table is to be built from: n at off of lengths. */
  lengths: Uint8Array = EMPTY_OUT;
  off = 0;
  n = 0;
  /** Symbols decoded without the fast table; ready once it is built. */
  slow = 0;
  ready = false;
  constructor(maxSymbols: number, fastBits: number) {
    this.symbol = new Uint16Array(maxSymbols);
    this.fastBits = fastBits;
    this.fast = new Uint32Array(1 << fastBits);
  }
}

/** Canonical decodes in a block before its fast table is built. */
const LAZY = 48;

const offs = new Uint16Array(16);
const nextCode = new Uint16Array(16);

/**
 * Fills `h`'s canonical tables from code lengths[off, off + n); false for an over-subscribed
 * set (incomplete sets are allowed, as zlib does for distances). The fast table follows on
 * demand (`buildFast`), or now when `eager`.
 */
function buildHuff(h: Huff, lengths: Uint8Array, off: number, n: number, eager: boolean): boolean {
  const count = h.count;
  count.fill(0);
  for (let s = 0; s < n; s++) count[lengths[off + s]!]!++;
  let left = 1;
  for (let len = 1; len < 16; len++) {
    left <<= 1;
    left -= count[len]!;
    if (left < 0) return false;
  }
  offs[1] = 0;
  for (let len = 1; len < 15; len++) offs[len + 1] = offs[len]! + count[len]!;
  const symbol = h.symbol;
  for (let s = 0; s < n; s++) {
    const len = lengths[off + s]!;
    if (len !== 0) symbol[offs[len]!++] = s;
  }
  h.lengths = lengths;
  h.off = off;
  h.n = n;
  h.slow = 0;
  h.ready = false;
  if (eager) buildFast(h);
  return true;
}

/** The fast table of `h` from the code lengths it was built from. */
function buildFast(h: Huff): void {
  const count = h.count;
  const lengths = h.lengths;
  const off = h.off;
  // canonical codes (MSB first), bit-reversed for the LSB-first stream
  let code = 0;
  for (let len = 1; len < 16; len++) {
    code = (code + (len === 1 ? 0 : count[len - 1]!)) << 1;
    nextCode[len] = code;
  }
  const fast = h.fast;
  const fb = h.fastBits;
  fast.fill(0);
  for (let s = 0; s < h.n; s++) {
    const len = lengths[off + s]!;
    if (len === 0) continue;
    const c = nextCode[len]!;
    nextCode[len] = c + 1;
    if (len > fb) continue;
    const entry = (len << 16) | s;
    for (let k = REV[c << (FAST_MAX - len)]!; k < fast.length; k += 1 << len) fast[k] = entry;
  }
  h.ready = true;
}

/** Widest fast table; REV[x] is x's FAST_MAX bits reversed. */
const FAST_MAX = 9;
const REV = new Uint16Array(1 << FAST_MAX);
for (let x = 0; x < REV.length; x++) {
  let r = 0;
  for (let i = 0; i < FAST_MAX; i++) r |= ((x >>> i) & 1) << (FAST_MAX - 1 - i);
  REV[x] = r;
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
    FIXED_LIT = new Huff(288, LIT_FAST_BITS);
    buildHuff(FIXED_LIT, l, 0, 288, true);
    FIXED_DIST = new Huff(30, DIST_FAST_BITS);
    buildHuff(FIXED_DIST, new Uint8Array(30).fill(5), 0, 30, true);
  }
  return [FIXED_LIT, FIXED_DIST];
}

const LIT_FAST_BITS = 9;
const DIST_FAST_BITS = 8;
const CL_FAST_BITS = 7;
const NEED = -1;
const BAD = -2;
const WINDOW = 32768;
const OUT_SIZE = WINDOW * 2;
/** Bytes readable past the input end (the 32-bit window reads up to 3 beyond the last byte). */
const PAD = 4;

const S_FRAME = 0;
const S_BLOCK = 1;
const S_STORED = 2;
const S_CODES = 3;
const S_TRAILER = 4;
const S_END = 5;
const S_ERROR = 6;
const S_STOPPED = 7;

/** Per-inflater tables for dynamic blocks, made on the first one. */
class Dyn {
  readonly lit = new Huff(288, LIT_FAST_BITS);
  readonly dist = new Huff(30, DIST_FAST_BITS);
  readonly lencode = new Huff(19, CL_FAST_BITS);
  readonly lengths = new Uint8Array(320);
}

/**
 * Buffers of finished inflaters, reused by the next ones (parsing is synchronous, so a module
 * pool is safe): a body decoder would otherwise allocate its window and tables per body.
 */
const POOL_MAX = 4;
const windows: Uint8Array[] = [];
const inputs: Uint8Array[] = [];
const dyns: Dyn[] = [];

export class Inflater {
  /** Unread input: [0, inLen) of `inBuf` (own copy, PAD bytes of slack). */
  private inBuf = inputs.pop() ?? new Uint8Array(64);
  private inLen = 0;
  /** Next unread bit in `inBuf`. */
  private bit = 0;
  private stage: number;
  private last = false;
  private storedLeft = 0;
  private lit: Huff | null = null;
  private dist: Huff | null = null;
  private dyn: Dyn | null = null;
  /** Output window: the last 32 KiB of history followed by bytes not yet handed to the sink. */
  private out = windows.pop() ?? new Uint8Array(4096);
  private outPos = 0;
  private flushed = 0;
  private format: InflateFormat;
  /** Total decoded bytes handed out or pending. */
  produced = 0;

  /**
   * `views`: the sink gets views of the output window, valid only during the call (it must copy
   * what it keeps); otherwise copies.
   */
  constructor(
    format: InflateFormat,
    private readonly sink: InflateSink,
    private readonly views = false,
  ) {
    this.format = format;
    this.stage = format === 'raw' ? S_BLOCK : S_FRAME;
  }

  get status(): InflateStatus {
    switch (this.stage) {
      case S_END: return 'end';
      case S_ERROR: return 'error';
      case S_STOPPED: return 'stopped';
      default: return 'more';
    }
  }

  /** Feeds compressed bytes; decodes as far as possible. */
  push(chunk: Uint8Array): InflateStatus {
    if (this.stage === S_END || this.stage === S_ERROR || this.stage === S_STOPPED) return this.status;
    // `inBuf` holds only the unread tail of earlier chunks (a few bytes) before this one.
    const need = this.inLen + chunk.length + PAD;
    if (need > this.inBuf.length) {
      const nb = new Uint8Array(Math.max(need, this.inBuf.length * 2));
      nb.set(this.inBuf.subarray(0, this.inLen));
      this.inBuf = nb;
    }
    this.inBuf.set(chunk, this.inLen);
    this.inLen += chunk.length;
    this.run();
    this.flush();
    const byte = this.bit >>> 3;
    if (byte >= this.inLen) {
      this.inLen = 0;
    } else if (byte > 0) {
      this.inBuf.copyWithin(0, byte, this.inLen);
      this.inLen -= byte;
    }
    this.bit &= 7;
    if (this.stage === S_END || this.stage === S_ERROR || this.stage === S_STOPPED) this.dispose();
    return this.status;
  }

  /** Bytes this decoder holds (output window, unread input, dynamic-block tables), for the app-layer memory budget. */
  get memoryBytes(): number {
    let n = this.out.length + this.inBuf.length;
    const d = this.dyn;
    if (d !== null) {
      for (const h of [d.lit, d.dist, d.lencode]) n += h.count.byteLength + h.symbol.byteLength + h.fast.byteLength;
      n += d.lengths.byteLength;
    }
    return n;
  }

  /**
   * No more input will come (or none will be decoded): the window, input and tables go back to
   * the pool. Later pushes only report the status.
   */
  dispose(): void {
    if (this.out.length === 0) return;
    if (this.stage !== S_END && this.stage !== S_ERROR) this.stage = S_STOPPED;
    if (windows.length < POOL_MAX) windows.push(this.out);
    if (inputs.length < POOL_MAX) inputs.push(this.inBuf);
    if (this.dyn !== null && dyns.length < POOL_MAX) dyns.push(this.dyn);
    this.out = EMPTY_OUT;
    this.inBuf = EMPTY_OUT;
    this.dyn = null;
    this.lit = null;
    this.dist = null;
  }

  /** 32 bits of input from bit `b` on (bits past the input are garbage: callers check lengths). */
  private window(b: number): number {
    const d = this.inBuf;
    const p = b >>> 3;
    return ((d[p]! | (d[p + 1]! << 8) | (d[p + 2]! << 16) | (d[p + 3]! << 24)) >>> (b & 7));
  }

  private bits(n: number): number {
    const b = this.bit;
    if (b + n > this.inLen * 8) return NEED;
    if (n === 0) return 0;
    const v = this.window(b) & ((1 << n) - 1);
    this.bit = b + n;
    return v;
  }

  private decode(h: Huff): number {
    if (!h.ready) {
      if (h.slow < LAZY) {
        h.slow++;
        return this.decodeSlow(h);
      }
      buildFast(h);
    }
    const b = this.bit;
    const e = h.fast[this.window(b) & ((1 << h.fastBits) - 1)]!;
    const len = e >>> 16;
    if (len !== 0 && b + len <= this.inLen * 8) {
      this.bit = b + len;
      return e & 0xffff;
    }
    return this.decodeSlow(h);
  }

  /** Canonical decoding bit by bit (puff): NEED when the input ends first, BAD when no code matches. */
  private decodeSlow(h: Huff): number {
    let code = 0;
    let first = 0;
    let index = 0;
    const total = this.inLen * 8;
    const d = this.inBuf;
    let b = this.bit;
    for (let len = 1; len < 16; len++) {
      if (b >= total) return NEED;
      code |= (d[b >>> 3]! >>> (b & 7)) & 1;
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

  /** Room for one more output byte: grows the window, or hands out pending bytes and slides. False when the sink stopped. */
  private room(): boolean {
    if (this.out.length < OUT_SIZE) {
      // Grow the window on demand: most HTTP bodies are small.
      const n = new Uint8Array(this.out.length * 2);
      n.set(this.out);
      this.out = n;
      return true;
    }
    return this.slide();
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
      const piece = this.views ? this.out.subarray(this.flushed, this.outPos) : this.out.slice(this.flushed, this.outPos);
      const ok = this.sink(piece);
      this.flushed = this.outPos;
      if (!ok) {
        this.stage = S_STOPPED;
        return false;
      }
    }
    return this.stage !== S_STOPPED;
  }

  private run(): void {
    for (;;) {
      switch (this.stage) {
        case S_FRAME:
          if (!this.frameHeader()) return;
          break;
        case S_BLOCK: {
          const save = this.bit;
          const r = this.blockHeader();
          if (r === NEED) { this.bit = save; return; }
          if (r === BAD) { this.stage = S_ERROR; return; }
          break;
        }
        case S_STORED:
          if (!this.stored()) return;
          break;
        case S_CODES:
          if (!this.codes()) return;
          break;
        case S_TRAILER: {
          const need = this.format === 'gzip' ? 8 : this.format === 'zlib' ? 4 : 0;
          this.bit = (this.bit + 7) & ~7;
          if (this.inLen - (this.bit >>> 3) < need) return;
          this.bit += need * 8;
          this.stage = S_END;
          return;
        }
        default:
          return;
      }
    }
  }

  /** gzip / zlib header; false when more input is needed or on error. */
  private frameHeader(): boolean {
    const d = this.inBuf;
    const n = this.inLen;
    const p = this.bit >>> 3;
    const avail = n - p;
    if (avail < 2) return false;
    if (this.format === 'auto') this.format = d[p] === 0x1f && d[p + 1] === 0x8b ? 'gzip' : 'zlib';
    if (this.format === 'zlib') {
      const cmf = d[p]!;
      const flg = d[p + 1]!;
      if ((cmf & 0x0f) !== 8 || (cmf >>> 4) > 7 || ((cmf << 8) | flg) % 31 !== 0 || (flg & 0x20) !== 0) { this.stage = S_ERROR; return false; }
      this.bit += 16;
      this.stage = S_BLOCK;
      return true;
    }
    // gzip
    if (avail < 10) return false;
    if (d[p] !== 0x1f || d[p + 1] !== 0x8b || d[p + 2] !== 8) { this.stage = S_ERROR; return false; }
    const flg = d[p + 3]!;
    let q = p + 10;
    if (flg & 4) {
      if (q + 2 > n) return false;
      q += 2 + (d[q]! | (d[q + 1]! << 8));
      if (q > n) return false;
    }
    // FNAME, then FCOMMENT: zero-terminated
    for (let f = 8; f <= 16; f += 8) {
      if (flg & f) {
        while (q < n && d[q] !== 0) q++;
        if (q >= n) return false;
        q++;
      }
    }
    if (flg & 2) q += 2;
    if (q > n) return false;
    this.bit = q * 8;
    this.stage = S_BLOCK;
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
      if (this.inLen - p < 4) return NEED;
      const d = this.inBuf;
      const len = d[p]! | (d[p + 1]! << 8);
      const nlen = d[p + 2]! | (d[p + 3]! << 8);
      if (len !== (~nlen & 0xffff)) return BAD;
      this.bit += 32;
      this.storedLeft = len;
      this.last = last === 1;
      this.stage = S_STORED;
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
    this.stage = S_CODES;
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
    const dyn = (this.dyn ??= dyns.pop() ?? new Dyn());
    const lengths = dyn.lengths;
    lengths.fill(0);
    for (let i = 0; i < ncode + 4; i++) {
      const v = this.bits(3);
      if (v === NEED) return NEED;
      lengths[CL_ORDER[i]!] = v;
    }
    const lencode = dyn.lencode;
    if (!buildHuff(lencode, lengths, 0, 19, true)) return BAD;
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
    if (!buildHuff(dyn.lit, lengths, 0, hlit, false)) return BAD;
    if (!buildHuff(dyn.dist, lengths, hlit, hdist, false)) return BAD;
    this.lit = dyn.lit;
    this.dist = dyn.dist;
    return 0;
  }

  private endBlock(): void {
    this.stage = this.last ? S_TRAILER : S_BLOCK;
  }

  private stored(): boolean {
    while (this.storedLeft > 0) {
      const p = this.bit >>> 3;
      if (p >= this.inLen) return false;
      if (this.outPos === this.out.length && !this.room()) return false;
      // a run: bounded by the block, the input at hand and the window's room
      const n = Math.min(this.storedLeft, this.inLen - p, this.out.length - this.outPos);
      this.out.set(this.inBuf.subarray(p, p + n), this.outPos);
      this.outPos += n;
      this.produced += n;
      this.bit += n * 8;
      this.storedLeft -= n;
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
      if (sym < 0) { this.stage = S_ERROR; return false; }
      if (sym < 256) {
        if (this.outPos === this.out.length && !this.room()) return false;
        this.out[this.outPos++] = sym;
        this.produced++;
        continue;
      }
      if (sym === 256) {
        this.endBlock();
        return true;
      }
      const li = sym - 257;
      if (li >= 29) { this.stage = S_ERROR; return false; }
      const le = this.bits(LEN_EXTRA[li]!);
      if (le === NEED) { this.bit = save; return false; }
      const len = LEN_BASE[li]! + le;
      const ds = this.decode(dist);
      if (ds === NEED) { this.bit = save; return false; }
      if (ds < 0 || ds >= 30) { this.stage = S_ERROR; return false; }
      const de = this.bits(DIST_EXTRA[ds]!);
      if (de === NEED) { this.bit = save; return false; }
      const d = DIST_BASE[ds]! + de;
      if (d > this.outPos) { this.stage = S_ERROR; return false; }
      let left = len;
      while (left > 0) {
        if (this.outPos === this.out.length && !this.room()) return false;
        const out = this.out;
        let o = this.outPos;
        const n = Math.min(left, out.length - o);
        if (d >= n) {
          out.copyWithin(o, o - d, o - d + n);
          o += n;
        } else if (n < 32) {
          // overlapping: byte by byte repeats the last d bytes, as LZ77 means
          for (const stop = o + n; o < stop; o++) out[o] = out[o - d]!;
        } else {
          // the same repetition in doubling runs: after k copied bytes the last d + k repeat with period d
          const stop = o + n;
          let span = d;
          while (o < stop) {
            const k = Math.min(span, stop - o);
            out.copyWithin(o, o - span, o - span + k);
            o += k;
            span += k;
          }
        }
        this.outPos = o;
        this.produced += n;
        left -= n;
      }
    }
  }
}
