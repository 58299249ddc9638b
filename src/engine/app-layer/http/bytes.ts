/**
 * Byte helpers for the HTTP parser: growable buffers, copies and case-insensitive comparisons
 * on (array, start, end) ranges, so that the hot path never makes a view or a string to look at
 * bytes; latin1 strings for the rare paths.
 */

/**
 * Append-only byte buffer (amortised doubling). `buf` is the storage: bytes [0, length) are the
 * content. A reallocation copies into a new array and never touches the old one, so a range read
 * from `buf` earlier stays valid (and unchanged) for whoever holds that array.
 */
export class ByteBuf {
  buf: Uint8Array;
  length = 0;
  constructor(initial = 64) {
    this.buf = new Uint8Array(initial);
  }
  append(d: Uint8Array, off = 0, end = d.length): void {
    const n = end - off;
    if (n <= 0) return;
    if (this.length + n > this.buf.length) this.reserve(this.length + n);
    copyInto(this.buf, this.length, d, off, end);
    this.length += n;
  }
  push(b: number): void {
    if (this.length === this.buf.length) this.reserve(this.length + 1);
    this.buf[this.length++] = b;
  }
  private reserve(n: number): void {
    let cap = this.buf.length * 2;
    while (cap < n) cap *= 2;
    const nb = new Uint8Array(cap);
    copyInto(nb, 0, this.buf, 0, this.length);
    this.buf = nb;
  }
  /** View of the content, valid until the next append. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
  /** A copy of the content. */
  copy(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
  clear(): void {
    this.length = 0;
    if (this.buf.length > 4096) this.buf = new Uint8Array(64);
  }
  get capacity(): number {
    return this.buf.length;
  }
}

export const EMPTY = new Uint8Array(0);

/** First slab of a parser; each next one doubles, up to SLAB_MAX. */
const SLAB_MIN = 1024;
const SLAB_MAX = 65536;
/** Larger pieces get their own array. */
const PIECE_MAX = 16384;

/**
 * Storage for the bytes a parser's transactions own (lines, header blocks, bodies, built
 * buffers): pieces are views of shared slabs. A typed array of more than 64 bytes has its own
 * backing store, which costs V8 about as much as parsing a whole request (allocation, external
 * memory accounting, sweeping); a view costs an object. Slabs are per parser, never shared
 * between connections, and grow with its traffic (a connection without live transactions
 * holds at most the first, small one); a slab lives as long as a piece of it is referenced (a
 * tx, or a buffer a caller kept) and is never reused.
 */
export class Arena {
  private slab: Uint8Array = EMPTY;
  private used = 0;
  private next = SLAB_MIN;

  /** The array holding the piece `take` handed out last. */
  last: Uint8Array = EMPTY;

  /**
   * Reserves a zeroed piece of n bytes without making a view of it: returns its offset in
   * `last`. Callers keep (last, offset) and make a view only when one is asked for.
   */
  take(n: number): number {
    if (n > PIECE_MAX) {
      this.last = new Uint8Array(n);
      return 0;
    }
    if (this.used + n > this.slab.length) {
      this.slab = newSlab(Math.max(this.next, n));
      this.next = Math.min(this.next * 2, SLAB_MAX);
      this.used = 0;
    }
    const s = this.used;
    this.used = s + n;
    this.last = this.slab;
    return s;
  }

  /**
   * Grows the piece [o, o + n) of `buf` to m bytes where it is, when it is the last piece taken
   * from the slab being filled and the slab has room (the added bytes were never handed out, so
   * they are still zero): no new piece, no copy. False: the caller takes a new piece.
   */
  grow(buf: Uint8Array, o: number, n: number, m: number): boolean {
    if (buf !== this.slab || o + n !== this.used || o + m > buf.length) return false;
    this.used = o + m;
    return true;
  }

  /** A zeroed piece of n bytes, as a view. */
  alloc(n: number): Uint8Array {
    const s = this.take(n);
    return s === 0 && this.last.length === n ? this.last : this.last.subarray(s, s + n);
  }

  /** A copy of src[s, e) in a piece, as a view. */
  copy(src: Uint8Array, s: number, e: number): Uint8Array {
    const out = this.alloc(e - s);
    copyInto(out, 0, src, s, e);
    return out;
  }

  /** A copy of src[s, e) in a piece: returns its offset in `last`. */
  put(src: Uint8Array, s: number, e: number): number {
    const o = this.take(e - s);
    copyInto(this.last, o, src, s, e);
    return o;
  }

  /**
   * No transaction is live: a slab bigger than the first size is let go (pieces still referenced
   * keep it alive, the parser does not) and growth starts over, so an idle connection holds at
   * most SLAB_MIN bytes here.
   */
  idle(): void {
    if (this.slab.length > SLAB_MIN) {
      this.slab = EMPTY;
      this.used = 0;
    }
    this.next = SLAB_MIN;
  }

  /** Bytes of the slab being filled. */
  get capacity(): number {
    return this.slab.length;
  }

  /**
   * The owner is gone and no piece is read any more (HttpParser.dispose): the slab being filled
   * goes to the pool for other arenas. Slabs filled before it are left to the GC (pieces of them
   * may be all that is left of them; the arena keeps no list).
   */
  dispose(): void {
    const s = this.slab;
    this.slab = EMPTY;
    this.last = EMPTY;
    this.used = 0;
    this.next = SLAB_MIN;
    const list = SLAB_POOL[slabClass(s.length)];
    if (list === undefined || pooled + s.length > POOL_BYTES) return;
    list.push(s);
    pooled += s.length;
  }
}

/**
 * Slabs of disposed arenas, per size (SLAB_MIN << i), bounded by POOL_BYTES in all: new
 * connections come and go all the time, and a fresh zeroed array per slab (1 to 64 KiB, up to
 * seven per busy connection) churns malloc and the GC's external-memory accounting. A pooled
 * slab is zeroed again when taken (pieces are handed out zeroed, Arena.grow relies on it).
 */
const POOL_BYTES = 4 * 1024 * 1024;
const SLAB_POOL: Uint8Array[][] = Array.from({ length: Math.log2(SLAB_MAX / SLAB_MIN) + 1 }, () => []);
let pooled = 0;

/** Index in SLAB_POOL of a slab size, -1 for other sizes. */
function slabClass(n: number): number {
  if (n < SLAB_MIN || n > SLAB_MAX || (n & (n - 1)) !== 0) return -1;
  return 31 - Math.clz32(n / SLAB_MIN);
}

function newSlab(n: number): Uint8Array {
  const s = SLAB_POOL[slabClass(n)]?.pop();
  if (s === undefined) return new Uint8Array(n);
  pooled -= n;
  s.fill(0);
  return s;
}

/** Bytes of slabs waiting in the pool (for tests). */
export function pooledSlabBytes(): number {
  return pooled;
}

/**
 * dst[at, at + e - s) = src[s, e). Short ranges (header names, tokens) are copied by a loop:
 * `set` needs a view of the source range, an allocation that costs more than the copy.
 */
export function copyInto(dst: Uint8Array, at: number, src: Uint8Array, s: number, e: number): void {
  const n = e - s;
  if (n <= 48) {
    for (let i = 0; i < n; i++) dst[at + i] = src[s + i]!;
  } else {
    // a plain view (a Buffer's own subarray goes through Node's species and FastBuffer)
    dst.set(new Uint8Array(src.buffer, src.byteOffset + s, n), at);
  }
}

/** A copy of src[s, e) (never a view). */
export function sliceOf(src: Uint8Array, s: number, e: number): Uint8Array {
  const out = new Uint8Array(e - s);
  copyInto(out, 0, src, s, e);
  return out;
}

export function latin1(d: Uint8Array): string {
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('latin1');
}

export function fromLatin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

export function lowerAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

/** Case-insensitive equality of bytes with a lowercase ASCII string. */
export function eqNoCase(d: Uint8Array, lower: string): boolean {
  return eqNoCaseAt(d, 0, d.length, lower);
}

/** Case-insensitive equality of d[s, e) with a lowercase ASCII string. */
export function eqNoCaseAt(d: Uint8Array, s: number, e: number, lower: string): boolean {
  if (e - s !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if (lowerAscii(d[s + i]!) !== lower.charCodeAt(i)) return false;
  return true;
}

/** Case-insensitive search of a lowercase ASCII string in bytes. */
export function indexOfNoCase(d: Uint8Array, lower: string): number {
  const n = lower.length;
  outer: for (let i = 0; i + n <= d.length; i++) {
    for (let k = 0; k < n; k++) if (lowerAscii(d[i + k]!) !== lower.charCodeAt(k)) continue outer;
    return i;
  }
  return -1;
}

/** Case-insensitive equality of a[as, ae) and b[bs, be). */
export function eqBytesNoCase(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): boolean {
  const n = ae - as;
  if (n !== be - bs) return false;
  for (let i = 0; i < n; i++) {
    const x = a[as + i]!;
    const y = b[bs + i]!;
    if (x !== y && lowerAscii(x) !== lowerAscii(y)) return false;
  }
  return true;
}

