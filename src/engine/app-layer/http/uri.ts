/**
 * Request-target parsing and Suricata's URI normalisation (libhtp 0.5.x htp_parse_uri,
 * htp_normalize_parsed_uri, htp_decode_path_inplace, htp_utf8_decode_path_inplace,
 * htp_normalize_uri_path_inplace, htp_urldecode_inplace; Suricata SCHTPGenerateNormalizedUri)
 * with Suricata's default libhtp configuration: personality IDS with path lowercasing turned
 * back off, `double-decode-path/query: no`, `uri-include-all: no`, '+' kept in the query.
 * Rules and references: ./README.md "URI normalisation".
 */
import { BESTFIT_REPLACEMENT, bestfit } from './bestfit.js';

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

/** Flags raised while normalising (subset of libhtp's tx flags that Suricata turns into events). */
export interface UriFlags {
  hostInvalid: boolean;
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

/** libhtp htp_parse_uri: scheme only when the target does not start with '/', authority only after a scheme. */
export function parseUri(d: Uint8Array): UriParts {
  const u: UriParts = { scheme: null, username: null, password: null, hostname: null, port: null, path: null, query: null, fragment: null };
  const len = d.length;
  if (len === 0) return u;
  let pos = 0;
  if (d[0] !== SLASH) {
    const colon = indexOf(d, COLON, 0, len);
    if (colon >= 0) {
      u.scheme = d.slice(0, colon);
      pos = colon + 1;
    }
  }
  if (u.scheme !== null && pos + 2 < len && d[pos] === SLASH && d[pos + 1] === SLASH && d[pos + 2] !== SLASH) {
    const start = pos + 2;
    pos = start;
    while (pos < len && d[pos] !== QMARK && d[pos] !== SLASH && d[pos] !== HASH) pos++;
    let hs = start;
    let hl = pos - start;
    const at = indexOf(d, AT, start, pos);
    if (at >= 0) {
      const c = indexOf(d, COLON, start, at);
      if (c >= 0) {
        u.username = d.slice(start, c);
        u.password = d.slice(c + 1, at);
      } else {
        u.username = d.slice(start, at);
      }
      hs = at + 1;
      hl = pos - hs;
    }
    if (hl > 0 && d[hs] === 0x5b) {
      const rb = indexOf(d, 0x5d, hs, hs + hl);
      if (rb < 0) {
        u.hostname = d.slice(hs, hs + hl);
      } else {
        u.hostname = d.slice(hs, rb + 1);
        const c = indexOf(d, COLON, rb + 1, hs + hl);
        if (c >= 0) u.port = d.slice(c + 1, hs + hl);
      }
    } else {
      const c = indexOf(d, COLON, hs, hs + hl);
      if (c >= 0) {
        u.port = d.slice(c + 1, hs + hl);
        u.hostname = d.slice(hs, c);
      } else {
        u.hostname = d.slice(hs, hs + hl);
      }
    }
  }
  const pstart = pos;
  while (pos < len && d[pos] !== QMARK && d[pos] !== HASH) pos++;
  u.path = d.slice(pstart, pos);
  if (pos === len) return u;
  if (d[pos] === QMARK) {
    const qs = pos + 1;
    while (pos < len && d[pos] !== HASH) pos++;
    u.query = d.slice(qs, pos);
    if (pos === len) return u;
  }
  if (d[pos] === HASH) u.fragment = d.slice(pos + 1);
  return u;
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
 * invalid encodings keep the '%', encoded '/' and '\' decoded, backslashes become '/', runs of
 * '/' compressed to one.
 */
export function decodePath(d: Uint8Array): Uint8Array {
  const len = d.length;
  const out = new Uint8Array(len);
  let r = 0;
  let w = 0;
  let prevSep = false;
  while (r < len) {
    let c = d[r]!;
    if (c === PERCENT) {
      if (r + 2 < len) {
        let handled = false;
        const n = d[r + 1]!;
        if (n === 0x75 || n === 0x55) {
          handled = true;
          if (r + 5 < len && isXDigit(d[r + 2]) && isXDigit(d[r + 3]) && isXDigit(d[r + 4]) && isXDigit(d[r + 5])) {
            c = decodeU(d, r + 2);
            r += 6;
          } else {
            r++; // invalid %u: keep the '%'
          }
        }
        if (!handled) {
          if (isXDigit(n) && isXDigit(d[r + 2])) {
            c = x2c(n, d[r + 2]!);
            r += 3;
          } else {
            r++; // invalid encoding: keep the '%'
          }
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
  return out.subarray(0, w);
}

/**
 * htp_utf8_decode_path_inplace: UTF-8 sequences (overlong forms allowed) become one byte by best
 * fit; an invalid byte becomes '?'; a sequence cut by the end of the path is dropped.
 */
export function utf8BestfitPath(d: Uint8Array): Uint8Array {
  let ascii = true;
  for (const b of d) if (b >= 0x80) { ascii = false; break; }
  if (ascii) return d;
  const out = new Uint8Array(d.length);
  let w = 0;
  let r = 0;
  const len = d.length;
  while (r < len) {
    const b = d[r]!;
    if (b < 0x80) { out[w++] = b; r++; continue; }
    let need: number;
    let cp: number;
    if (b >= 0xc0 && b <= 0xdf) { need = 1; cp = b & 0x1f; }
    else if (b >= 0xe0 && b <= 0xef) { need = 2; cp = b & 0x0f; }
    else if (b >= 0xf0 && b <= 0xf7) { need = 3; cp = b & 0x07; }
    else { out[w++] = BESTFIT_REPLACEMENT; r++; continue; } // invalid lead byte: consumed
    let k = 1;
    let ok = true;
    while (k <= need) {
      if (r + k >= len) { ok = false; break; }
      const cb = d[r + k]!;
      if ((cb & 0xc0) !== 0x80) { ok = false; break; }
      cp = (cp << 6) | (cb & 0x3f);
      k++;
    }
    if (ok) {
      out[w++] = bestfit(cp);
      r += need + 1;
    } else if (r + k >= len) {
      // Incomplete sequence at the end: libhtp consumes it without output.
      r = len;
    } else {
      // Invalid continuation: '?' replaces the bytes so far; the offending byte starts anew.
      out[w++] = BESTFIT_REPLACEMENT;
      r += k;
    }
  }
  return out.subarray(0, w);
}

/** htp_normalize_uri_path_inplace: RFC 3986 5.2.4 remove_dot_segments, libhtp's variant. */
export function removeDotSegments(d: Uint8Array): Uint8Array {
  const data = d.slice();
  const len = data.length;
  let r = 0;
  let w = 0;
  let c = -1;
  while (r < len && w < len) {
    if (c === -1) c = data[r++]!;
    if (c === 0x2e) {
      if (r + 1 < len && data[r] === 0x2e && data[r + 1] === SLASH) { c = -1; r += 2; continue; }
      if (r < len && data[r] === SLASH) { c = -1; r += 1; continue; }
    }
    if (c === SLASH) {
      if (r + 1 < len && data[r] === 0x2e && data[r + 1] === SLASH) { c = SLASH; r += 2; continue; }
      if (r + 1 === len && data[r] === 0x2e) { c = SLASH; r += 1; continue; }
      if (r + 2 < len && data[r] === 0x2e && data[r + 1] === 0x2e && data[r + 2] === SLASH) {
        c = SLASH;
        r += 3;
        while (w > 0 && data[w - 1] !== SLASH) w--;
        if (w > 0) w--;
        continue;
      }
      if (r + 2 === len && data[r] === 0x2e && data[r + 1] === 0x2e) {
        c = SLASH;
        r += 2;
        while (w > 0 && data[w - 1] !== SLASH) w--;
        if (w > 0) w--;
        continue;
      }
    }
    if (c === 0x2e && r === len) { r++; continue; }
    if (c === 0x2e && r + 1 === len && data[r] === 0x2e) { r += 2; continue; }
    data[w++] = c;
    while (r < len && data[r] !== SLASH && w < len) data[w++] = data[r++]!;
    c = -1;
  }
  return data.subarray(0, w);
}

/** Normalised path: decode, UTF-8 best fit (IDS), dot segments. */
export function normalizePath(path: Uint8Array): Uint8Array {
  return removeDotSegments(utf8BestfitPath(decodePath(path)));
}

/**
 * htp_urldecode_inplace with the URLENCODED decoder context as Suricata configures it: %XX
 * decoded, %u not decoded (kept, invalid encoding), invalid encodings keep the '%', '+' kept.
 */
export function urlDecodeParams(d: Uint8Array): Uint8Array {
  if (indexOf(d, PERCENT, 0, d.length) < 0) return d;
  const len = d.length;
  const out = new Uint8Array(len);
  let r = 0;
  let w = 0;
  while (r < len) {
    let c = d[r]!;
    if (c === PERCENT && r + 2 < len && isXDigit(d[r + 1]) && isXDigit(d[r + 2])) {
      c = x2c(d[r + 1]!, d[r + 2]!);
      r += 3;
    } else {
      r++;
    }
    out[w++] = c;
  }
  return out.subarray(0, w);
}

/**
 * htp_urldecode_inplace in the URL_PATH context (used for userinfo, hostname and fragment):
 * like the params decoder but %u decoded (IDS) and '+' kept.
 */
export function urlDecodeUriPart(d: Uint8Array): Uint8Array {
  if (indexOf(d, PERCENT, 0, d.length) < 0) return d;
  const len = d.length;
  const out = new Uint8Array(len);
  let r = 0;
  let w = 0;
  while (r < len) {
    let c = d[r]!;
    if (c === PERCENT && r + 2 < len) {
      const n = d[r + 1]!;
      if (n === 0x75 || n === 0x55) {
        if (r + 5 < len && isXDigit(d[r + 2]) && isXDigit(d[r + 3]) && isXDigit(d[r + 4]) && isXDigit(d[r + 5])) {
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
  return out.subarray(0, w);
}

/** ASCII lowercase copy. */
export function toLower(d: Uint8Array): Uint8Array {
  let i = 0;
  while (i < d.length && !(d[i]! >= 0x41 && d[i]! <= 0x5a)) i++;
  if (i === d.length) return d;
  const out = d.slice();
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
  const len = d.length;
  let pos = 0;
  while (pos < len && (d[pos] === 0x20 || d[pos] === 0x09)) pos++;
  if (pos === len) return -1;
  let v = 0;
  let digits = 0;
  while (pos < len) {
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
  while (pos < len) {
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

/** libhtp htp_parse_hostport for a Host header value: trims, IPv6 in brackets, port after ':'. */
export function parseHostPort(value: Uint8Array): HostPort {
  let s = 0;
  let e = value.length;
  while (s < e && isSpace(value[s]!)) s++;
  while (e > s && isSpace(value[e - 1]!)) e--;
  const d = value.subarray(s, e);
  const len = d.length;
  if (len === 0) return { hostname: null, port: -1, invalid: true };
  if (d[0] === 0x5b) {
    const rb = indexOf(d, 0x5d, 0, len);
    if (rb < 0) return { hostname: null, port: -1, invalid: true };
    const hostname = toLower(d.slice(0, rb + 1));
    if (rb + 1 === len) return { hostname, port: -1, invalid: false };
    if (d[rb + 1] === COLON) return { hostname, ...portOf(d.subarray(rb + 2)) };
    return { hostname, port: -1, invalid: true };
  }
  const colon = indexOf(d, COLON, 0, len);
  if (colon < 0) {
    const hostname = toLower(d.slice());
    return { hostname, port: -1, invalid: !validateHostname(hostname) };
  }
  let he = colon;
  while (he > 0 && isSpace(d[he - 1]!)) he--;
  const hostname = toLower(d.slice(0, he));
  const p = portOf(d.subarray(colon + 1));
  return { hostname, port: p.port, invalid: p.invalid || !validateHostname(hostname) };
}

function portOf(d: Uint8Array): { port: number; invalid: boolean } {
  if (d.length === 0) return { port: -1, invalid: true };
  const p = parsePositiveIntWs(d);
  if (p > 0 && p < 65536) return { port: p, invalid: false };
  return { port: -1, invalid: true };
}

/** htp_is_space: SP, \f, \v, \t, \r, \n. */
export function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0c || c === 0x0b || c === 0x09 || c === 0x0d || c === 0x0a;
}

function concat(parts: (Uint8Array | string)[]): Uint8Array {
  let n = 0;
  const bufs = parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p));
  for (const b of bufs) n += b.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const b of bufs) { out.set(b, o); o += b.length; }
  return out;
}

/**
 * Suricata's normalised URI (SCHTPGenerateNormalizedUri with uri-include-all off): normalised
 * path, then "?" + the query %-decoded (URLENCODED context), then "#" + the fragment
 * %-decoded (URL_PATH context). Scheme, userinfo, host and port of an absolute URI are left out.
 */
export function normalizedUri(parts: UriParts): Uint8Array {
  const segs: (Uint8Array | string)[] = [];
  if (parts.path !== null) segs.push(normalizePath(parts.path));
  if (parts.query !== null) segs.push('?', urlDecodeParams(parts.query));
  if (parts.fragment !== null) segs.push('#', urlDecodeUriPart(parts.fragment));
  return concat(segs);
}
