/** Bounds-checked little-endian readers and string conversions for SMB records. */

export function le16(d: Uint8Array, o: number): number {
  return o + 2 <= d.length ? d[o]! | (d[o + 1]! << 8) : -1;
}

export function le32(d: Uint8Array, o: number): number {
  return o + 4 <= d.length ? (d[o]! | (d[o + 1]! << 8) | (d[o + 2]! << 16) | (d[o + 3]! << 24)) >>> 0 : -1;
}

/** A 64-bit little-endian value as a decimal string key (message ids, session ids). */
export function le64key(d: Uint8Array, o: number): string {
  if (o + 8 > d.length) return '?';
  return `${le32(d, o + 4).toString(16)}:${le32(d, o).toString(16)}`;
}

/** UTF-16LE bytes → UTF-8 bytes (unpaired surrogates become U+FFFD, as Rust's lossy decoding). */
export function utf16leToUtf8(d: Uint8Array): Uint8Array {
  const even = d.length & ~1;
  return new Uint8Array(Buffer.from(Buffer.from(d.buffer, d.byteOffset, even).toString('utf16le'), 'utf8'));
}

/** Bytes up to (not including) the first NUL. */
export function cstr(d: Uint8Array, o: number, end: number = d.length): Uint8Array {
  let k = o;
  while (k < end && d[k] !== 0) k++;
  return d.slice(o, k);
}

/** UTF-16LE string up to its 00 00 terminator (2-byte aligned from `o`). */
export function ustr(d: Uint8Array, o: number, end: number = d.length): Uint8Array {
  let k = o;
  while (k + 1 < end && !(d[k] === 0 && d[k + 1] === 0)) k += 2;
  return d.slice(o, Math.min(k, end));
}

export function clip(d: Uint8Array, max: number): { bytes: Uint8Array; clipped: boolean } {
  return d.length > max ? { bytes: d.slice(0, max), clipped: true } : { bytes: d, clipped: false };
}

export function indexOf(d: Uint8Array, pat: Uint8Array, from = 0): number {
  outer: for (let i = from; i + pat.length <= d.length; i++) {
    for (let j = 0; j < pat.length; j++) if (d[i + j] !== pat[j]) continue outer;
    return i;
  }
  return -1;
}
