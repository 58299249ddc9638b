/**
 * Field-level parsing of HTTP/1.x lines, libhtp's rules (see ./README.md): methods, protocol
 * and status, Content-Length, chunk sizes, header name tokens, line endings. Everything works
 * on (array, start, end) ranges and allocates nothing; the `(bytes)` forms are for tests.
 */
import { eqNoCaseAt, fromLatin1, lowerAscii } from './bytes.js';
import { isSpace, parsePositiveIntWs } from './uri.js';

export const LF = 0x0a;
export const CR = 0x0d;

/** libhtp's method table (htp_convert_method_to_number): exact, case-sensitive. */
const METHODS = [
  'GET', 'PUT', 'POST', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE',
  'LOCK', 'UNLOCK', 'VERSION-CONTROL', 'CHECKOUT', 'UNCHECKOUT', 'CHECKIN', 'UPDATE', 'LABEL', 'REPORT', 'MKWORKSPACE',
  'MKACTIVITY', 'BASELINE-CONTROL', 'MERGE', 'INVALID', 'HEAD',
].map(fromLatin1);
export const M_CONNECT = 4;
export const M_HEAD = 27;

/** Index in METHODS of d[s, e), -1 when not a libhtp method. */
export function methodAt(d: Uint8Array, s: number, e: number): number {
  const n = e - s;
  if (n < 3 || n > 16) return -1;
  // Only the methods of this first byte and length (every body line after a request asks).
  const cand = BY_HEAD[(d[s]! << 5) | n];
  if (cand === undefined) return -1;
  outer: for (let j = 0; j < cand.length; j++) {
    const k = cand[j]!;
    const m = METHODS[k]!;
    for (let i = 1; i < n; i++) if (d[s + i] !== m[i]) continue outer;
    return k;
  }
  return -1;
}

/** METHODS indexes by (first byte << 5 | length); methods are 3 to 16 bytes long. */
const BY_HEAD: (number[] | undefined)[] = (() => {
  const t: (number[] | undefined)[] = new Array<number[] | undefined>(256 << 5).fill(undefined);
  METHODS.forEach((m, k) => {
    const key = (m[0]! << 5) | m.length;
    (t[key] ??= []).push(k);
  });
  return t;
})();

/** What a line after a complete request starts with (lineStart). */
export const LINE_EMPTY = 0;
export const LINE_METHOD = 1;
export const LINE_OTHER = 2;

/** 1 for the bytes a libhtp method starts with (every method is a token of 3 to 16 bytes). */
const METHOD_FIRST = new Uint8Array(256);
for (const m of METHODS) METHOD_FIRST[m[0]!] = 1;

/** The first whitespace-delimited token of line[s, e): none, a known method, or something else. */
export function lineStart(line: Uint8Array, s: number, e: number): number {
  while (s < e && isSpace(line[s]!)) s++;
  if (s === e) return LINE_EMPTY;
  // Most body lines start with a byte no method starts with: no token scan, no table lookup.
  if (METHOD_FIRST[line[s]!] === 0) return LINE_OTHER;
  let te = s;
  while (te < e && !isSpace(line[te]!)) te++;
  return methodAt(line, s, te) >= 0 ? LINE_METHOD : LINE_OTHER;
}

/** Bytes of a method token spanning two arrays, joined for the table lookup (at most 16). */
const TOKEN_SCRATCH = new Uint8Array(16);

/**
 * `lineStart` of the line a[0, an) followed by b[bs, be) (a buffered start and the rest of the
 * line), without joining them: only a method token that spans both is copied (16 bytes at most).
 */
export function lineStartJoined(a: Uint8Array, an: number, b: Uint8Array, bs: number, be: number): number {
  let i = 0;
  while (i < an && isSpace(a[i]!)) i++;
  if (i === an) return lineStart(b, bs, be);
  if (METHOD_FIRST[a[i]!] === 0) return LINE_OTHER;
  let te = i;
  while (te < an && !isSpace(a[te]!)) te++;
  if (te < an) return methodAt(a, i, te) >= 0 ? LINE_METHOD : LINE_OTHER;
  let ue = bs;
  while (ue < be && !isSpace(b[ue]!)) ue++;
  const n = an - i + (ue - bs);
  if (n > 16) return LINE_OTHER;
  const tok = TOKEN_SCRATCH;
  for (let k = i; k < an; k++) tok[k - i] = a[k]!;
  for (let k = bs; k < ue; k++) tok[an - i + k - bs] = b[k]!;
  return methodAt(tok, 0, n) >= 0 ? LINE_METHOD : LINE_OTHER;
}

// Buffer's indexOf works on any Uint8Array (Node validates a Uint8Array, then memchr)
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call on the array searched
const bufferIndexOf = (Buffer.prototype as Buffer).indexOf as (this: Uint8Array, value: number, byteOffset: number) => number;

/**
 * Index of the first LF at or after `from` in `d`, -1 when none: Node's native search (memchr),
 * several times faster than a byte loop over text lines. It searches to the end of `d`: a caller
 * whose range ends before that passes a view ending there (same indexes, see `segmentView`).
 */
export function indexOfLf(d: Uint8Array, from: number): number {
  return bufferIndexOf.call(d, LF, from);
}

/**
 * A plain Uint8Array view of d[0, end): the same indexes, the native search stops at `end`, and
 * the parser reads one kind of array (a Buffer segment and the parser's own Uint8Array buffers
 * made every byte access see two maps: polymorphic, and deopts when the second one came).
 */
export function segmentView(d: Uint8Array, end: number): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, end);
}

export function isKnownMethod(m: Uint8Array): boolean {
  return methodAt(m, 0, m.length) >= 0;
}

/** Protocol numbers (libhtp HTP_PROTOCOL_*). */
export const PROTO_INVALID = -2;
export const PROTO_UNKNOWN = -1;
export const PROTO_0_9 = 9;
export const PROTO_1_0 = 100;
export const PROTO_1_1 = 101;

export function isLws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** libhtp-rs parse_protocol: "HTTP" (any case), optional whitespace, "/", leading zeros, .9 / 1.0 / 1.1. */
export function parseProtocol(d: Uint8Array): number {
  return parseProtocolAt(d, 0, d.length);
}

export function parseProtocolAt(d: Uint8Array, s: number, n: number): number {
  let p = s;
  while (p < n && isSpace(d[p]!)) p++;
  if (p + 4 > n || !eqNoCaseAt(d, p, p + 4, 'http')) return PROTO_INVALID;
  p += 4;
  while (p < n && isSpace(d[p]!)) p++;
  if (p >= n || d[p] !== 0x2f) return PROTO_INVALID;
  p++;
  while (p < n && (isSpace(d[p]!) || d[p] === 0x30)) p++;
  const c0 = p < n ? d[p] : -1;
  const c1 = p + 1 < n ? d[p + 1] : -1;
  const c2 = p + 2 < n ? d[p + 2] : -1;
  let v: number;
  if (c0 === 0x2e && c1 === 0x39) v = PROTO_0_9;
  else if (c0 === 0x31 && c1 === 0x2e && c2 === 0x30) v = PROTO_1_0;
  else if (c0 === 0x31 && c1 === 0x2e && c2 === 0x31) v = PROTO_1_1;
  else return PROTO_INVALID;
  p += v === PROTO_0_9 ? 2 : 3;
  while (p < n && isSpace(d[p]!)) p++;
  return p === n ? v : PROTO_INVALID;
}

/** libhtp htp_parse_status: digits with optional LWS, 100..999, else -1. */
export function parseStatus(d: Uint8Array): number {
  const v = parsePositiveIntWs(d);
  return v >= 100 && v <= 999 ? v : -1;
}

/** libhtp htp_parse_content_length: junk before the digits skipped, junk after ignored; -1 when no digits. */
export function parseContentLength(d: Uint8Array): number {
  return parseContentLengthAt(d, 0, d.length);
}

export function parseContentLengthAt(d: Uint8Array, s: number, e: number): number {
  let p = s;
  while (p < e && !(d[p]! >= 0x30 && d[p]! <= 0x39)) p++;
  if (p === e) return -1;
  let v = 0;
  while (p < e && d[p]! >= 0x30 && d[p]! <= 0x39) {
    v = v * 10 + (d[p]! - 0x30);
    if (v > Number.MAX_SAFE_INTEGER) return -1;
    p++;
  }
  return v;
}

/** Chunk-size line: leading control chars skipped, hex digits, the rest cut off; null when invalid. */
export function parseChunkLength(line: Uint8Array): { len: number; ext: boolean } | null {
  const v = parseChunkLengthAt(line, 0, line.length);
  return v < 0 ? null : { len: v, ext: chunkExt };
}

/** Set by parseChunkLengthAt: the line had a ';' after the size. */
export let chunkExt = false;

/** `parseChunkLength` of d[s, e): the length, -1 when invalid (`chunkExt` tells about an extension). */
export function parseChunkLengthAt(d: Uint8Array, s: number, e: number): number {
  let p = s;
  while (p < e && isChunkCtl(d[p]!)) p++;
  const ds = p;
  let v = 0;
  while (p < e) {
    const c = d[p]!;
    let dv: number;
    if (c >= 0x30 && c <= 0x39) dv = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) dv = c - 0x57;
    else if (c >= 0x41 && c <= 0x46) dv = c - 0x37;
    else break;
    v = v * 16 + dv;
    p++;
  }
  if (p === ds || v > 0x7fffffff) return -1;
  let ext = false;
  for (let i = p; i < e; i++) if (d[i] === 0x3b) ext = true;
  chunkExt = ext;
  return v;
}

export function isChunkCtl(c: number): boolean {
  return c === CR || c === LF || c === 0x20 || c === 0x09 || c === 0x0b || c === 0x0c;
}

/** End of d[s, e) without its LF / CRLF endings (htp_chomp, which removes repeated endings). */
export function chompEnd(d: Uint8Array, s: number, e: number): number {
  let n = e;
  while (n > s && d[n - 1] === LF) {
    n--;
    if (n > s && d[n - 1] === CR) n--;
  }
  return n;
}

/** htp_is_line_empty: "\n" or "\r\n". */
export function isEmptyLine(d: Uint8Array, s: number, e: number): boolean {
  return e - s === 1 || (e - s === 2 && d[s] === CR);
}


export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Case-insensitive search of a lowercase ASCII string in d[s, e). */
export function indexOfNoCaseAt(d: Uint8Array, s: number, e: number, lower: string): number {
  const n = lower.length;
  outer: for (let i = s; i + n <= e; i++) {
    for (let k = 0; k < n; k++) if (lowerAscii(d[i + k]!) !== lower.charCodeAt(k)) continue outer;
    return i - s;
  }
  return -1;
}

/** 1 for bytes allowed in a header name (RFC 2616 token: CHAR except CTLs and separators), else 0. */
export const TOKEN = new Uint8Array(256);
for (let c = 32; c <= 126; c++) TOKEN[c] = 1;
for (const c of '()<>@,;:\\"/[]?={} \t') TOKEN[c.charCodeAt(0)] = 0;


/** libhtp htp_header_has_token: a comma/space separated token in v[s, e) equal (case-insensitive) to `token`. */
export function hasToken(v: Uint8Array, s: number, e: number, token: string): boolean {
  let i = s;
  while (i < e) {
    while (i < e && (v[i] === 0x2c || isSpace(v[i]!))) i++;
    const ts = i;
    while (i < e && v[i] !== 0x2c && !isSpace(v[i]!)) i++;
    if (i > ts && eqNoCaseAt(v, ts, i, token)) return true;
  }
  return false;
}
