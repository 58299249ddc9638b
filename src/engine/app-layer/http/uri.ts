/**
 * Request-target parsing and Suricata's URI normalisation (libhtp 0.5.x htp_parse_uri,
 * htp_normalize_parsed_uri, htp_decode_path_inplace, htp_utf8_decode_path_inplace,
 * htp_normalize_uri_path_inplace, htp_urldecode_inplace; Suricata SCHTPGenerateNormalizedUri)
 * with Suricata's default libhtp configuration: personality IDS with path lowercasing turned
 * back off, `double-decode-path/query: no`, `uri-include-all: no`, '+' kept in the query.
 * Rules and references: ./README.md "URI normalisation".
 */
import { BESTFIT_REPLACEMENT, bestfit } from './bestfit.js';
import { type Arena, sliceOf } from './bytes.js';

/** Parsed request target, raw parts (libhtp `parsed_uri_raw`). Each part null when absent. */
export interface UriParts {
  scheme: Uint8Array | null;
  username: Uint8Array | null;
  password: Uint8Array | null;
  hostname: Uint8Array | null;
  port: Uint8Array | null;
  path: Uint8Array | null;
  query: Uint8Array | null;
  fragment: Uint8Array | null;
}

const SLASH = 0x2f;
const QMARK = 0x3f;
const HASH = 0x23;
const COLON = 0x3a;
const AT = 0x40;
const PERCENT = 0x25;

function indexOf(d: Uint8Array, b: number, from: number, to: number): number {
  for (let i = from; i < to; i++) if (d[i] === b) return i;
  return -1;
}

/**
 * The parts of a request target as offsets into the array it was parsed from (start -1: the
 * part is absent). The parser keeps one and refills it per request line: no per-part copies.
 */
export class UriSpans {
  schemeS = -1;
  schemeE = -1;
  userS = -1;
  userE = -1;
  passS = -1;
  passE = -1;
  hostS = -1;
  hostE = -1;
  portS = -1;
  portE = -1;
  pathS = -1;
  pathE = -1;
  queryS = -1;
  queryE = -1;
  fragS = -1;
  fragE = -1;
}

/** libhtp htp_parse_uri of d[start, end): scheme only when the target does not start with '/', authority only after a scheme. */
export function parseUriSpans(d: Uint8Array, start: number, end: number, u: UriSpans): void {
  u.schemeS = u.userS = u.passS = u.hostS = u.portS = u.pathS = u.queryS = u.fragS = -1;
  u.schemeE = u.userE = u.passE = u.hostE = u.portE = u.pathE = u.queryE = u.fragE = -1;
  if (end <= start) return;
  let pos = start;
  if (d[start] !== SLASH) {
    const colon = indexOf(d, COLON, start, end);
    if (colon >= 0) {
      u.schemeS = start;
      u.schemeE = colon;
      pos = colon + 1;
    }
  }
  if (u.schemeS >= 0 && pos + 2 < end && d[pos] === SLASH && d[pos + 1] === SLASH && d[pos + 2] !== SLASH) {
    const as = pos + 2;
    pos = as;
    while (pos < end && d[pos] !== QMARK && d[pos] !== SLASH && d[pos] !== HASH) pos++;
    let hs = as;
    const at = indexOf(d, AT, as, pos);
    if (at >= 0) {
      const c = indexOf(d, COLON, as, at);
      u.userS = as;
      if (c >= 0) {
        u.userE = c;
        u.passS = c + 1;
        u.passE = at;
      } else {
        u.userE = at;
      }
      hs = at + 1;
    }
    const he = pos;
    if (he > hs && d[hs] === 0x5b) {
      const rb = indexOf(d, 0x5d, hs, he);
      u.hostS = hs;
      if (rb < 0) {
        u.hostE = he;
      } else {
        u.hostE = rb + 1;
        const c = indexOf(d, COLON, rb + 1, he);
        if (c >= 0) {
          u.portS = c + 1;
          u.portE = he;
        }
      }
    } else {
      const c = indexOf(d, COLON, hs, he);
      u.hostS = hs;
      if (c >= 0) {
        u.portS = c + 1;
        u.portE = he;
        u.hostE = c;
      } else {
        u.hostE = he;
      }
    }
  }
  const pstart = pos;
  while (pos < end && d[pos] !== QMARK && d[pos] !== HASH) pos++;
  u.pathS = pstart;
  u.pathE = pos;
  if (pos === end) return;
  if (d[pos] === QMARK) {
    const qs = pos + 1;
    while (pos < end && d[pos] !== HASH) pos++;
    u.queryS = qs;
    u.queryE = pos;
    if (pos === end) return;
  }
  if (d[pos] === HASH) {
    u.fragS = pos + 1;
    u.fragE = end;
  }
}

/** libhtp htp_parse_uri, the parts as copies. */
export function parseUri(d: Uint8Array): UriParts {
  const u = new UriSpans();
  parseUriSpans(d, 0, d.length, u);
  const part = (s: number, e: number): Uint8Array | null => (s < 0 ? null : sliceOf(d, s, e));
  return {
    scheme: part(u.schemeS, u.schemeE),
    username: part(u.userS, u.userE),
    password: part(u.passS, u.passE),
    hostname: part(u.hostS, u.hostE),
    port: part(u.portS, u.portE),
    path: part(u.pathS, u.pathE),
    query: part(u.queryS, u.queryE),
    fragment: part(u.fragS, u.fragE),
  };
}

function isXDigit(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

/** libhtp x2c: converts two hex digits, happily converting invalid input. */
function x2c(a: number, b: number): number {
  const hi = a >= 0x41 ? ((a & 0xdf) - 0x41 + 10) : a - 0x30;
  const lo = b >= 0x41 ? ((b & 0xdf) - 0x41 + 10) : b - 0x30;
  return (hi * 16 + lo) & 0xff;
}

/** %u decoding in the path (decode_u_encoding_path): 00XX → XX, else best fit of the code point. */
function decodeU(d: Uint8Array, at: number): number {
  const c1 = x2c(d[at]!, d[at + 1]!);
  const c2 = x2c(d[at + 2]!, d[at + 3]!);
  if (c1 === 0) return c2;
  return bestfit((c1 << 8) | c2);
}

/**
 * htp_decode_path_inplace with the IDS personality minus lowercasing: %XX and %uXXXX decoded,
 * invalid encodings keep the '%', encoded '/' and '\\' decoded, backslashes become '/', runs of
 * '/' compressed to one. Decodes d[s, e) into out from `o` (room for e - s bytes); returns the
 * end of the output.
 */
export function decodePathInto(d: Uint8Array, s: number, e: number, out: Uint8Array, o: number): number {
  let r = s;
  let w = o;
  let prevSep = false;
  while (r < e) {
    let c = d[r]!;
    if (c === PERCENT) {
      if (r + 2 < e) {
        const n = d[r + 1]!;
        if (n === 0x75 || n === 0x55) {
          if (r + 5 < e && isXDigit(d[r + 2]) && isXDigit(d[r + 3]) && isXDigit(d[r + 4]) && isXDigit(d[r + 5])) {
            c = decodeU(d, r + 2);
            r += 6;
          } else {
            r++; // invalid %u: keep the '%'
          }
        } else if (isXDigit(n) && isXDigit(d[r + 2])) {
          c = x2c(n, d[r + 2]!);
          r += 3;
        } else {
          r++; // invalid encoding: keep the '%'
        }
      } else {
        r++;
      }
    } else {
      r++;
    }
    if (c === 0x5c) c = SLASH;
    if (c === SLASH) {
      if (!prevSep) out[w++] = c;
      prevSep = true;
    } else {
      out[w++] = c;
      prevSep = false;
    }
  }
  return w;
}

export function decodePath(d: Uint8Array): Uint8Array {
  const out = new Uint8Array(d.length);
  return out.subarray(0, decodePathInto(d, 0, d.length, out, 0));
}

/**
 * htp_utf8_decode_path_inplace on d[s, e), in place: UTF-8 sequences (overlong forms allowed)
 * become one byte by best fit; an invalid byte becomes '?'; a sequence cut by the end of the
 * path is dropped. Returns the new end.
 */
export function utf8BestfitInPlace(d: Uint8Array, s: number, e: number): number {
  let r = s;
  while (r < e && d[r]! < 0x80) r++;
  if (r === e) return e;
  let w = r;
  while (r < e) {
    const b = d[r]!;
    if (b < 0x80) { d[w++] = b; r++; continue; }
    let need: number;
    let cp: number;
    if (b >= 0xc0 && b <= 0xdf) { need = 1; cp = b & 0x1f; }
    else if (b >= 0xe0 && b <= 0xef) { need = 2; cp = b & 0x0f; }
    else if (b >= 0xf0 && b <= 0xf7) { need = 3; cp = b & 0x07; }
    else { d[w++] = BESTFIT_REPLACEMENT; r++; continue; } // invalid lead byte: consumed
    let k = 1;
    let ok = true;
    while (k <= need) {
      if (r + k >= e) { ok = false; break; }
      const cb = d[r + k]!;
      if ((cb & 0xc0) !== 0x80) { ok = false; break; }
      cp = (cp << 6) | (cb & 0x3f);
      k++;
    }
    if (ok) {
      d[w++] = bestfit(cp);
      r += need + 1;
    } else if (r + k >= e) {
      // Incomplete sequence at the end: libhtp consumes it without output.
      r = e;
    } else {
      // Invalid continuation: '?' replaces the bytes so far; the offending byte starts anew.
      d[w++] = BESTFIT_REPLACEMENT;
      r += k;
    }
  }
  return w;
}

export function utf8BestfitPath(d: Uint8Array): Uint8Array {
  const out = sliceOf(d, 0, d.length);
  return out.subarray(0, utf8BestfitInPlace(out, 0, out.length));
}

/** htp_normalize_uri_path_inplace on data[s, e), in place (RFC 3986 5.2.4 remove_dot_segments, libhtp's variant); returns the new end. */
export function removeDotSegmentsInPlace(data: Uint8Array, s: number, e: number): number {
  let r = s;
  let w = s;
  let c = -1;
  while (r < e && w < e) {
    if (c === -1) c = data[r++]!;
    if (c === 0x2e) {
      if (r + 1 < e && data[r] === 0x2e && data[r + 1] === SLASH) { c = -1; r += 2; continue; }
      if (r < e && data[r] === SLASH) { c = -1; r += 1; continue; }
    }
    if (c === SLASH) {
      if (r + 1 < e && data[r] === 0x2e && data[r + 1] === SLASH) { c = SLASH; r += 2; continue; }
      if (r + 1 === e && data[r] === 0x2e) { c = SLASH; r += 1; continue; }
      if (r + 2 < e && data[r] === 0x2e && data[r + 1] === 0x2e && data[r + 2] === SLASH) {
        c = SLASH;
        r += 3;
        while (w > s && data[w - 1] !== SLASH) w--;
        if (w > s) w--;
        continue;
      }
      if (r + 2 === e && data[r] === 0x2e && data[r + 1] === 0x2e) {
        c = SLASH;
        r += 2;
        while (w > s && data[w - 1] !== SLASH) w--;
        if (w > s) w--;
        continue;
      }
    }
    if (c === 0x2e && r === e) { r++; continue; }
    if (c === 0x2e && r + 1 === e && data[r] === 0x2e) { r += 2; continue; }
    data[w++] = c;
    while (r < e && data[r] !== SLASH && w < e) data[w++] = data[r++]!;
    c = -1;
  }
  return w;
}

export function removeDotSegments(d: Uint8Array): Uint8Array {
  const data = sliceOf(d, 0, d.length);
  return data.subarray(0, removeDotSegmentsInPlace(data, 0, data.length));
}

/** Normalised path of d[s, e) written to out from `o` (room for e - s bytes): decode, UTF-8 best fit (IDS), dot segments. Returns the end. */
export function normalizePathInto(d: Uint8Array, s: number, e: number, out: Uint8Array, o: number): number {
  let w = decodePathInto(d, s, e, out, o);
  w = utf8BestfitInPlace(out, o, w);
  return removeDotSegmentsInPlace(out, o, w);
}

/** Normalised path: decode, UTF-8 best fit (IDS), dot segments. */
export function normalizePath(path: Uint8Array): Uint8Array {
  const out = new Uint8Array(path.length);
  return out.subarray(0, normalizePathInto(path, 0, path.length, out, 0));
}

/**
 * htp_urldecode_inplace with the URLENCODED decoder context as Suricata configures it: %XX
 * decoded, %u not decoded (kept, invalid encoding), invalid encodings keep the '%', '+' kept.
 * d[s, e) into out from `o`; returns the end.
 */
export function urlDecodeParamsInto(d: Uint8Array, s: number, e: number, out: Uint8Array, o: number): number {
  let r = s;
  let w = o;
  while (r < e) {
    let c = d[r]!;
    if (c === PERCENT && r + 2 < e && isXDigit(d[r + 1]) && isXDigit(d[r + 2])) {
      c = x2c(d[r + 1]!, d[r + 2]!);
      r += 3;
    } else {
      r++;
    }
    out[w++] = c;
  }
  return w;
}

export function urlDecodeParams(d: Uint8Array): Uint8Array {
  if (indexOf(d, PERCENT, 0, d.length) < 0) return d;
  const out = new Uint8Array(d.length);
  return out.subarray(0, urlDecodeParamsInto(d, 0, d.length, out, 0));
}

/**
 * htp_urldecode_inplace in the URL_PATH context (used for userinfo, hostname and fragment):
 * like the params decoder but %u decoded (IDS) and '+' kept. d[s, e) into out from `o`; returns the end.
 */
export function urlDecodeUriPartInto(d: Uint8Array, s: number, e: number, out: Uint8Array, o: number): number {
  let r = s;
  let w = o;
  while (r < e) {
    let c = d[r]!;
    if (c === PERCENT && r + 2 < e) {
      const n = d[r + 1]!;
      if (n === 0x75 || n === 0x55) {
        if (r + 5 < e && isXDigit(d[r + 2]) && isXDigit(d[r + 3]) && isXDigit(d[r + 4]) && isXDigit(d[r + 5])) {
          const c1 = x2c(d[r + 2]!, d[r + 3]!);
          const c2 = x2c(d[r + 4]!, d[r + 5]!);
          c = c1 === 0 ? c2 : bestfit((c1 << 8) | c2);
          r += 6;
        } else r++;
      } else if (isXDigit(n) && isXDigit(d[r + 2])) {
        c = x2c(n, d[r + 2]!);
        r += 3;
      } else r++;
    } else r++;
    out[w++] = c;
  }
  return w;
}

export function urlDecodeUriPart(d: Uint8Array): Uint8Array {
  if (indexOf(d, PERCENT, 0, d.length) < 0) return d;
  const out = new Uint8Array(d.length);
  return out.subarray(0, urlDecodeUriPartInto(d, 0, d.length, out, 0));
}

/** ASCII lowercase copy. */
export function toLower(d: Uint8Array): Uint8Array {
  let i = 0;
  while (i < d.length && !(d[i]! >= 0x41 && d[i]! <= 0x5a)) i++;
  if (i === d.length) return d;
  const out = sliceOf(d, 0, d.length);
  for (; i < out.length; i++) if (out[i]! >= 0x41 && out[i]! <= 0x5a) out[i]! += 0x20;
  return out;
}

/** htp_normalize_hostname_inplace: lowercase, trailing dots removed. */
export function normalizeHostname(h: Uint8Array): Uint8Array {
  let end = h.length;
  while (end > 0 && h[end - 1] === 0x2e) end--;
  return toLower(h.subarray(0, end));
}

/** Positive decimal with optional LWS around (htp_parse_positive_integer_whitespace); -1 when invalid. */
export function parsePositiveIntWs(d: Uint8Array, base = 10): number {
  return parsePositiveIntWsAt(d, 0, d.length, base);
}

/** `parsePositiveIntWs` of d[s, e). */
export function parsePositiveIntWsAt(d: Uint8Array, s: number, e: number, base = 10): number {
  let pos = s;
  while (pos < e && (d[pos] === 0x20 || d[pos] === 0x09)) pos++;
  if (pos === e) return -1;
  let v = 0;
  let digits = 0;
  while (pos < e) {
    const c = d[pos]!;
    let dv: number;
    if (c >= 0x30 && c <= 0x39) dv = c - 0x30;
    else if (base === 16 && c >= 0x61 && c <= 0x66) dv = c - 0x61 + 10;
    else if (base === 16 && c >= 0x41 && c <= 0x46) dv = c - 0x41 + 10;
    else break;
    v = v * base + dv;
    if (v > Number.MAX_SAFE_INTEGER) return -1;
    digits++;
    pos++;
  }
  if (digits === 0) return -1;
  while (pos < e) {
    if (d[pos] !== 0x20 && d[pos] !== 0x09) return -1;
    pos++;
  }
  return v;
}

/** libhtp htp_validate_hostname (relaxed: letters, digits, '-', '_', one dot between labels ≤ 63). */
export function validateHostname(h: Uint8Array): boolean {
  const len = h.length;
  if (len === 0 || len > 255) return false;
  let pos = 0;
  while (pos < len) {
    const start = pos;
    while (pos < len && h[pos] !== 0x2e) {
      const c = h[pos]!;
      const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f;
      if (!ok) return false;
      pos++;
    }
    if (pos - start === 0 || pos - start > 63) return false;
    if (pos >= len) return true;
    const ds = pos;
    while (pos < len && h[pos] === 0x2e) pos++;
    if (pos - ds !== 1) return false;
  }
  return true;
}

export interface HostPort {
  hostname: Uint8Array | null;
  port: number; // -1 when absent or invalid
  invalid: boolean;
}

/** ASCII-lowercased copy of d[s, e). */
function lowerCopy(d: Uint8Array, s: number, e: number): Uint8Array {
  const out = new Uint8Array(e - s);
  for (let i = s; i < e; i++) {
    const c = d[i]!;
    out[i - s] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
  }
  return out;
}

/**
 * libhtp htp_parse_hostport for a Host header value d[vs, ve): trims, IPv6 in brackets, port
 * after ':'. Fills `out` (the hostname a lowercased copy).
 */
export function parseHostPortAt(d: Uint8Array, vs: number, ve: number, out: HostPort): void {
  let s = vs;
  let e = ve;
  while (s < e && isSpace(d[s]!)) s++;
  while (e > s && isSpace(d[e - 1]!)) e--;
  out.hostname = null;
  out.port = -1;
  out.invalid = true;
  if (s === e) return;
  if (d[s] === 0x5b) {
    const rb = indexOf(d, 0x5d, s, e);
    if (rb < 0) return;
    out.hostname = lowerCopy(d, s, rb + 1);
    if (rb + 1 === e) out.invalid = false;
    else if (d[rb + 1] === COLON) portAt(d, rb + 2, e, out);
    return;
  }
  const colon = indexOf(d, COLON, s, e);
  if (colon < 0) {
    out.hostname = lowerCopy(d, s, e);
    out.invalid = !validateHostname(out.hostname);
    return;
  }
  let he = colon;
  while (he > s && isSpace(d[he - 1]!)) he--;
  const hostname = lowerCopy(d, s, he);
  out.hostname = hostname;
  portAt(d, colon + 1, e, out);
  if (!validateHostname(hostname)) out.invalid = true;
}

/** libhtp htp_parse_hostport for a Host header value. */
export function parseHostPort(value: Uint8Array): HostPort {
  const out: HostPort = { hostname: null, port: -1, invalid: true };
  parseHostPortAt(value, 0, value.length, out);
  return out;
}

function portAt(d: Uint8Array, s: number, e: number, out: HostPort): void {
  out.port = -1;
  out.invalid = true;
  if (s === e) return;
  const p = parsePositiveIntWsAt(d, s, e);
  if (p > 0 && p < 65536) {
    out.port = p;
    out.invalid = false;
  }
}

/** htp_is_space: SP, \f, \v, \t, \r, \n. */
export function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0c || c === 0x0b || c === 0x09 || c === 0x0d || c === 0x0a;
}

let scratch = new Uint8Array(2048);
/** Length of the URI the last normalizedUriOf call wrote. */
export let normalizedLength = 0;

/**
 * Suricata's normalised URI (SCHTPGenerateNormalizedUri with uri-include-all off) of the target
 * `u` was parsed from (`d`): normalised path, then "?" + the query %-decoded (URLENCODED
 * context), then "#" + the fragment %-decoded (URL_PATH context). Scheme, userinfo, host and
 * port of an absolute URI are left out. Built in a shared scratch array (every step writes at
 * most what it reads), then copied once into the arena: returns its offset in `arena.last`
 * (length in `normalizedLength`).
 */
export function normalizedUriOf(d: Uint8Array, u: UriSpans, arena: Arena): number {
  const need = (u.pathE - u.pathS) + (u.queryE - u.queryS) + (u.fragE - u.fragS) + 2;
  if (scratch.length < need) scratch = new Uint8Array(Math.max(need, scratch.length * 2));
  const out = scratch;
  let w = 0;
  if (u.pathS >= 0) w = normalizePathInto(d, u.pathS, u.pathE, out, 0);
  if (u.queryS >= 0) {
    out[w++] = QMARK;
    w = urlDecodeParamsInto(d, u.queryS, u.queryE, out, w);
  }
  if (u.fragS >= 0) {
    out[w++] = HASH;
    w = urlDecodeUriPartInto(d, u.fragS, u.fragE, out, w);
  }
  normalizedLength = w;
  return arena.put(out, 0, w);
}

/** `normalizedUriOf` for parts given as arrays. */
export function normalizedUri(parts: UriParts): Uint8Array {
  const segs: Uint8Array[] = [];
  if (parts.path !== null) segs.push(normalizePath(parts.path));
  if (parts.query !== null) segs.push(Uint8Array.of(QMARK), urlDecodeParams(parts.query));
  if (parts.fragment !== null) segs.push(Uint8Array.of(HASH), urlDecodeUriPart(parts.fragment));
  let n = 0;
  for (const b of segs) n += b.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const b of segs) { out.set(b, o); o += b.length; }
  return out;
}
