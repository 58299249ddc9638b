/** Byte helpers for the HTTP parser: growable buffers, case-insensitive comparisons, latin1 strings. */

/** Append-only byte buffer (amortised doubling); `bytes()` is a view valid until the next append. */
export class ByteBuf {
  private buf: Uint8Array;
  length = 0;
  constructor(initial = 64) {
    this.buf = new Uint8Array(initial);
  }
  append(d: Uint8Array, off = 0, end = d.length): void {
    const n = end - off;
    if (n <= 0) return;
    this.reserve(this.length + n);
    this.buf.set(d.subarray(off, end), this.length);
    this.length += n;
  }
  push(b: number): void {
    this.reserve(this.length + 1);
    this.buf[this.length++] = b;
  }
  appendString(s: string): void {
    for (let i = 0; i < s.length; i++) this.push(s.charCodeAt(i) & 0xff);
  }
  private reserve(n: number): void {
    if (n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.length));
    this.buf = nb;
  }
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

export function latin1(d: Uint8Array): string {
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('latin1');
}

export function fromLatin1(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

export function lowerAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

/** Case-insensitive equality of bytes with a lowercase ASCII string. */
export function eqNoCase(d: Uint8Array, lower: string): boolean {
  if (d.length !== lower.length) return false;
  for (let i = 0; i < d.length; i++) if (lowerAscii(d[i]!) !== lower.charCodeAt(i)) return false;
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

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
