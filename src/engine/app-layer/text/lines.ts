/**
 * Bounded line splitting for the line-based protocols (FTP, SMTP, IMAP, POP3): bytes of one
 * direction in, complete lines out (without their line ending). A line ends at LF; a CR right
 * before it is part of the ending (Suricata's FTP/SMTP parsers accept bare LF too).
 *
 * Limit: a line longer than `maxLine` bytes is cut: the first `maxLine` bytes come out as a line
 * flagged `truncated`, the rest up to the next LF is skipped (counted in `truncatedLines`), so
 * the parser resynchronises on the next line like Suricata's FTP and SMTP parsers do. With
 * `split` (SMTP message data, Suricata's SMTPGetLine), an over-long line is instead handed out in
 * `maxLine`-byte pieces (eol 'none', not truncated) followed by its last piece with the ending.
 */
export interface Line {
  /** Line bytes without the ending (a view valid only during the callback; copy what you keep). */
  readonly bytes: Uint8Array;
  /** The ending: 'crlf', 'lf', or 'none' for a truncated line's first part. */
  readonly eol: 'crlf' | 'lf' | 'none';
  /** The line was longer than the limit and cut. */
  readonly truncated: boolean;
}

export class LineReader {
  private buf: Uint8Array = new Uint8Array(64);
  private len = 0;
  /** Skipping the rest of an over-long line. */
  private skipping = false;
  /** Lines cut at the limit. */
  truncatedLines = 0;

  constructor(readonly maxLine: number) {}

  /** Bytes held for an unfinished line. */
  pending(): number {
    return this.len;
  }

  /** Memory held (for the parser's `memory()`). */
  memory(): number {
    return this.buf.length;
  }

  /** Forget a partial line (after a gap or a mode switch). */
  reset(): void {
    this.len = 0;
    this.skipping = false;
    if (this.buf.length > 4096) this.buf = new Uint8Array(64);
  }

  /**
   * Split `data[off, off+len)` into lines; `onLine` returns false to stop (the caller then gets
   * the offset of the first byte not consumed, e.g. to hand the rest to a body or another mode).
   */
  push(data: Uint8Array, off: number, len: number, onLine: (line: Line) => boolean, split = false): number {
    const end = off + len;
    let i = off;
    while (i < end) {
      const lf = data.indexOf(0x0a, i);
      const stop = lf === -1 || lf >= end ? -1 : lf;
      if (split && !this.skipping && this.len + (stop === -1 ? end : stop + 1) - i > this.maxLine) {
        // A piece of maxLine bytes without its end (a CR kept here is data, as Suricata's).
        const take = this.maxLine - this.len;
        let bytes: Uint8Array;
        if (this.len === 0) bytes = data.subarray(i, i + take);
        else {
          this.append(data, i, take);
          bytes = this.buf.subarray(0, this.len);
        }
        this.len = 0;
        i += take;
        if (!onLine({ bytes, eol: 'none', truncated: false })) return i;
        continue;
      }
      if (this.skipping) {
        if (stop === -1) return end;
        this.skipping = false;
        i = stop + 1;
        continue;
      }
      if (stop === -1) {
        // No end of line in this segment: keep what fits; cut at the limit.
        const n = end - i;
        if (this.len + n > this.maxLine) {
          const take = this.maxLine - this.len;
          this.append(data, i, take);
          const line = this.buf.subarray(0, this.len);
          this.len = 0;
          this.skipping = true;
          this.truncatedLines++;
          // The first part is emitted; the rest of this segment is skipped.
          const more = onLine({ bytes: line, eol: 'none', truncated: true });
          if (!more) return i + take;
          return end;
        }
        this.append(data, i, n);
        return end;
      }
      let lineEnd = stop;
      let eol: 'crlf' | 'lf' = 'lf';
      let bytes: Uint8Array;
      if (this.len === 0) {
        if (lineEnd > i && data[lineEnd - 1] === 0x0d) {
          lineEnd--;
          eol = 'crlf';
        }
        bytes = data.subarray(i, lineEnd);
      } else {
        this.append(data, i, lineEnd - i);
        let l = this.len;
        if (l > 0 && this.buf[l - 1] === 0x0d) {
          l--;
          eol = 'crlf';
        }
        bytes = this.buf.subarray(0, l);
        this.len = 0;
      }
      let truncated = false;
      if (bytes.length > this.maxLine) {
        bytes = bytes.subarray(0, this.maxLine);
        truncated = true;
        this.truncatedLines++;
      }
      i = stop + 1;
      if (!onLine({ bytes, eol, truncated })) return i;
    }
    return end;
  }

  private append(data: Uint8Array, off: number, n: number): void {
    if (n <= 0) return;
    if (this.len + n > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.len + n) cap *= 2;
      const nb = new Uint8Array(cap);
      nb.set(this.buf.subarray(0, this.len));
      this.buf = nb;
    }
    this.buf.set(data.subarray(off, off + n), this.len);
    this.len += n;
  }
}

/** Latin-1 string of bytes (protocol text is ASCII; bytes ≥ 0x80 map one to one). */
export function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, Math.min(b.length, i + 4096)));
  return s;
}

/** Bytes of a latin-1 string. */
export function bytesOf(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/** ASCII case-insensitive: does `b` start with `prefix` (uppercase ASCII)? */
export function startsWithCi(b: Uint8Array, prefix: string, at = 0): boolean {
  if (b.length - at < prefix.length) return false;
  for (let k = 0; k < prefix.length; k++) {
    let c = b[at + k]!;
    if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    if (c !== prefix.charCodeAt(k)) return false;
  }
  return true;
}

/** Copy of a view (the parser owns what it keeps). */
export function copy(b: Uint8Array): Uint8Array {
  return b.slice();
}

/** Increment a counter in a record of counters. */
export function bump(c: Record<string, number>, name: string, n = 1): void {
  c[name] = (c[name] ?? 0) + n;
}
