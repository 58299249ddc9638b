/**
 * Suricata's HTTP/1 buffers over a transaction: what each sticky buffer / content modifier
 * inspects, byte for byte (detect-http-*.c with libhtp's tx fields; ./README.md "Buffers").
 * Composite buffers are built on first use and cached on the tx until its headers change.
 */
import { copyInto } from './bytes.js';
import { CACHE_SLOTS, asTx, type Header, type HeaderTable, type Tx } from './tx.js';
import { HttpProgress, type HttpBufferName, type HttpBufferSpec, type HttpDirection, type HttpTx } from './types.js';

const REQ = ['to_server'] as const;
const RES = ['to_client'] as const;
const BOTH = ['to_server', 'to_client'] as const;
const { HEADERS, BODY, COMPLETE } = HttpProgress;

function spec(
  name: HttpBufferName,
  directions: readonly HttpDirection[],
  complete: HttpProgress,
  contentModifier: string | null,
  pcreFlag: string | null,
  extra: { aliases?: string[]; multi?: boolean; lowercaseOnly?: boolean; normalized?: boolean } = {},
): HttpBufferSpec {
  const aliases = [...(extra.aliases ?? []), ...(contentModifier !== null ? [contentModifier] : [])];
  return {
    name, directions, complete, aliases, contentModifier, pcreFlag,
    multi: extra.multi ?? false, lowercaseOnly: extra.lowercaseOnly ?? false, normalized: extra.normalized ?? true,
  };
}

/** Every HTTP/1 buffer, with Suricata's names, directions, pcre flags and when it is final. */
export const HTTP_BUFFERS: readonly HttpBufferSpec[] = Object.freeze([
  spec('http.uri', REQ, HEADERS, 'http_uri', 'U'),
  spec('http.uri.raw', REQ, HEADERS, 'http_raw_uri', 'I', { normalized: false }),
  spec('http.method', REQ, HEADERS, 'http_method', 'M', { normalized: false }),
  spec('http.request_line', REQ, HEADERS, 'http_request_line', null, { normalized: false }),
  spec('http.protocol', BOTH, HEADERS, 'http_protocol', null, { normalized: false }),
  spec('http.header', BOTH, BODY, 'http_header', 'H'),
  spec('http.header.raw', BOTH, BODY, 'http_raw_header', 'D', { normalized: false }),
  spec('http.header_names', BOTH, BODY, 'http_header_names', null),
  spec('http.cookie', BOTH, BODY, 'http_cookie', 'C'),
  spec('http.user_agent', REQ, BODY, 'http_user_agent', 'V'),
  spec('http.host', REQ, BODY, 'http_host', 'W', { lowercaseOnly: true }),
  spec('http.host.raw', REQ, BODY, 'http_raw_host', 'Z', { normalized: false }),
  spec('http.referer', REQ, BODY, 'http_referer', null),
  spec('http.accept', REQ, BODY, 'http_accept', null),
  spec('http.accept_lang', REQ, BODY, 'http_accept_lang', null),
  spec('http.accept_enc', REQ, BODY, 'http_accept_enc', null),
  spec('http.content_type', BOTH, BODY, 'http_content_type', null),
  spec('http.content_len', BOTH, BODY, 'http_content_len', null),
  spec('http.connection', BOTH, BODY, 'http_connection', null), // both directions since Suricata 7
  spec('http.start', BOTH, BODY, 'http_start', null),
  spec('http.request_body', REQ, COMPLETE, 'http_client_body', 'P'),
  spec('http.stat_code', RES, HEADERS, 'http_stat_code', 'S', { normalized: false }),
  spec('http.stat_msg', RES, HEADERS, 'http_stat_msg', 'Y', { normalized: false }),
  spec('http.response_line', RES, HEADERS, 'http_response_line', null, { normalized: false }),
  spec('http.response_body', RES, COMPLETE, 'http_server_body', null),
  spec('http.location', RES, BODY, 'http_location', null),
  spec('http.server', RES, BODY, 'http_server', null),
  // to_server: the body of a PUT or non-multipart POST, which Suricata treats as a file (requestFile)
  spec('file.data', BOTH, COMPLETE, 'file_data', 'Q'),
  spec('http.request_header', REQ, BODY, null, null, { multi: true }),
  spec('http.response_header', RES, BODY, null, null, { multi: true }),
]);

const BY_NAME = new Map<string, HttpBufferSpec>();
for (const s of HTTP_BUFFERS) {
  BY_NAME.set(s.name, s);
  for (const a of s.aliases) BY_NAME.set(a, s);
}

// Buffer ids for httpBuffer's dispatch (the detector calls it per tx and buffer, often)
const B_URI = 1;
const B_URI_RAW = 2;
const B_METHOD = 3;
const B_REQUEST_LINE = 4;
const B_PROTOCOL = 5;
const B_STAT_CODE = 6;
const B_STAT_MSG = 7;
const B_RESPONSE_LINE = 8;
const B_REQUEST_BODY = 9;
const B_RESPONSE_BODY = 10;
const B_HEADER = 11;
const B_HEADER_RAW = 12;
const B_HEADER_NAMES = 13;
const B_START = 14;
const B_HOST = 15;
const B_HOST_RAW = 16;
const B_COOKIE = 17;
const B_FILE_DATA = 19;
/** Header-value buffers: the lowercase header name they read. */
const B_VALUE = 18;
const ID_OF: Record<string, number> = {
  'http.uri': B_URI, 'http.uri.raw': B_URI_RAW, 'http.method': B_METHOD, 'http.request_line': B_REQUEST_LINE,
  'http.protocol': B_PROTOCOL, 'http.stat_code': B_STAT_CODE, 'http.stat_msg': B_STAT_MSG, 'http.response_line': B_RESPONSE_LINE,
  'http.request_body': B_REQUEST_BODY, 'http.response_body': B_RESPONSE_BODY, 'file.data': B_FILE_DATA,
  'http.header': B_HEADER, 'http.header.raw': B_HEADER_RAW, 'http.header_names': B_HEADER_NAMES, 'http.start': B_START,
  'http.host': B_HOST, 'http.host.raw': B_HOST_RAW, 'http.cookie': B_COOKIE,
};
const VALUE_OF: Record<string, string> = {
  'http.user_agent': 'user-agent', 'http.referer': 'referer', 'http.accept': 'accept', 'http.accept_lang': 'accept-language',
  'http.accept_enc': 'accept-encoding', 'http.content_type': 'content-type', 'http.content_len': 'content-length',
  'http.connection': 'connection', 'http.location': 'location', 'http.server': 'server',
};

/** What httpBuffer needs of a name (canonical or alias): id, directions (bit 1 to_server, 2 to_client), default direction. */
class Resolved {
  constructor(
    readonly id: number,
    readonly dirs: number,
    readonly first: HttpDirection,
    readonly key: string,
  ) {}
}
const RESOLVED = new Map<string, Resolved>();

/** 1 to_server, 2 to_client, 0 anything else a JavaScript caller may pass. */
function dirBit(d: string): number {
  return d === 'to_server' ? 1 : d === 'to_client' ? 2 : 0;
}
for (const [n, s] of BY_NAME) {
  if (s.multi) continue;
  const dirs = (s.directions.includes('to_server') ? 1 : 0) | (s.directions.includes('to_client') ? 2 : 0);
  const key = VALUE_OF[s.name];
  RESOLVED.set(n, new Resolved(key !== undefined ? B_VALUE : ID_OF[s.name]!, dirs, s.directions[0]!, key ?? ''));
}

const R_URI = RESOLVED.get('http.uri');
const R_HEADER = RESOLVED.get('http.header');
const R_HOST = RESOLVED.get('http.host');
const R_USER_AGENT = RESOLVED.get('http.user_agent');
const R_METHOD = RESOLVED.get('http.method');
const R_URI_RAW = RESOLVED.get('http.uri.raw');
const R_REQUEST_BODY = RESOLVED.get('http.request_body');
const R_RESPONSE_BODY = RESOLVED.get('http.response_body');
const R_FILE_DATA = RESOLVED.get('file.data');
const R_COOKIE = RESOLVED.get('http.cookie');

/**
 * The most used names by comparison (names given as literals are interned: these are pointer
 * compares), the others and the aliases through the map.
 */
function resolve(name: string): Resolved | undefined {
  switch (name) {
    case 'http.uri': return R_URI;
    case 'http.header': return R_HEADER;
    case 'http.host': return R_HOST;
    case 'http.user_agent': return R_USER_AGENT;
    case 'http.method': return R_METHOD;
    case 'http.uri.raw': return R_URI_RAW;
    case 'http.request_body': return R_REQUEST_BODY;
    case 'http.response_body': return R_RESPONSE_BODY;
    case 'file.data': return R_FILE_DATA;
    case 'http.cookie': return R_COOKIE;
    default: return RESOLVED.get(name);
  }
}

/** The spec of a buffer by its name, sticky-buffer alias or legacy content modifier. */
export function httpBufferSpec(name: string): HttpBufferSpec | undefined {
  return BY_NAME.get(name);
}

/** Header-derived buffers exist once the header block of that direction is complete (progress > HEADERS). */
function headersDone(t: Tx, dir: HttpDirection): boolean {
  return (dir === 'to_server' ? t.requestProgress : t.responseProgress) > HttpProgress.HEADERS;
}

const POST = [0x50, 0x4f, 0x53, 0x54];
const PUT = [0x50, 0x55, 0x54];
/** libhtp HTP_BOUNDARY_MAX: a longer multipart boundary is an error (no file at all). */
const BOUNDARY_MAX = 200;

function isMethod(m: Uint8Array | null, name: readonly number[]): boolean {
  if (m?.length !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (m[i] !== name[i]) return false;
  return true;
}

/**
 * The request body is a file (Suricata HTPCallbackRequestBodyData → HtpRequestBodyHandlePOSTorPUT):
 * method PUT, or POST whose Content-Type has no multipart boundary (HtpRequestBodySetupMultipart
 * returns 0). Method names as libhtp numbers them (exact case). A multipart POST's files are its
 * parts, which are not extracted here (README "Left out"); a boundary of 200 bytes or more is an
 * error for Suricata and gives no file either.
 */
export function requestFile(t: HttpTx): boolean {
  const m = t.method;
  if (isMethod(m, PUT)) return true;
  if (!isMethod(m, POST)) return false;
  const ct = asTx(t).reqHeaders.get('content-type');
  return ct === undefined || contentTypeBoundaryLength(ct.value) < 0;
}

/**
 * Length of the `boundary=` parameter of a Content-Type value as Suricata's
 * HTTPParseContentTypeHeader finds it (-1: none), and a too long one counts as one: leading
 * whitespace skipped, tokens split at `;` outside double quotes (a backslash escapes), whitespace
 * after a `;` skipped, a token longer than `boundary=` starting with it case-insensitively gives
 * the rest of the token, one leading and one trailing `"` removed.
 */
export function contentTypeBoundaryLength(v: Uint8Array): number {
  const NAME = 'boundary=';
  let x = 0;
  while (x < v.length && isCSpace(v[x]!)) x++;
  if (x >= v.length) return -1;
  const line = v.subarray(x);
  const n = line.length;
  let quote = 0;
  let offset = 0;
  for (x = 1; x < n; x++) {
    if (line[x - 1] !== 0x5c && line[x] === 0x22) quote++;
    if (((line[x - 1] !== 0x5c && line[x] === 0x3b) || x + 1 === n) && quote % 2 === 0) {
      const start = offset;
      let len = x - offset;
      if (x + 1 === n) len++;
      offset = x + 1;
      while (offset < n && isCSpace(line[offset]!)) {
        x++;
        offset++;
      }
      if (len > NAME.length) {
        let k = 0;
        while (k < NAME.length && lower(line[start + k]!) === NAME.charCodeAt(k)) k++;
        if (k === NAME.length) {
          let vs = start + NAME.length;
          let vl = len - NAME.length;
          if (line[vs] === 0x22) {
            vs++;
            vl--;
          }
          if (vl > 0 && line[vs + vl - 1] === 0x22) vl--;
          return vl < BOUNDARY_MAX ? vl : BOUNDARY_MAX;
        }
      }
    }
  }
  return -1;
}

/** C isspace: SP, \t, \n, \v, \f, \r. */
function isCSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

function value(table: HeaderTable, key: string): Uint8Array | null {
  const h = table.get(key);
  return h === undefined ? null : h.value;
}

// cache slots on the tx (tx.ts CACHE_SLOTS)
const C_HEADER = 0;
const C_NAMES = 2;
const C_START = 4;
const C_MULTI = 6;

/** The cached buffer of a slot when still current, else undefined. */
function cachedOf(t: Tx, slot: number): Uint8Array | Uint8Array[] | null | undefined {
  if (t.cacheGen === null || t.cacheGen[slot] !== ((slot & 1) === 0 ? t.reqGen : t.resGen)) return undefined;
  return t.cacheVal![slot];
}

function cache<T extends Uint8Array | Uint8Array[] | null>(t: Tx, slot: number, v: T): T {
  if (t.cacheGen === null) {
    t.cacheGen = new Array<number>(CACHE_SLOTS).fill(-1);
    t.cacheVal = new Array<Uint8Array | Uint8Array[] | null>(CACHE_SLOTS).fill(null);
  }
  t.cacheGen[slot] = (slot & 1) === 0 ? t.reqGen : t.resGen;
  t.cacheBytes += cachedBytes(v) - cachedBytes(t.cacheVal![slot] ?? null);
  t.cacheVal![slot] = v;
  return v;
}

function cachedBytes(v: Uint8Array | Uint8Array[] | null): number {
  if (v === null) return 0;
  if (v instanceof Uint8Array) return v.length;
  let n = 0;
  for (const x of v) n += x.length;
  return n;
}

function nonEmpty(b: Uint8Array | null): Uint8Array | null {
  return b === null || b.length === 0 ? null : b;
}

/**
 * "Name: value\r\n" for each header (Suricata's http.header; `skip` names the cookie header
 * left out), after `line` + "\r\n" and followed by "\r\n" when `line` is given (http.start).
 * Sized first, then filled: one allocation.
 */
function headerBlock(t: Tx, list: readonly Header[], skip: string | null, line: Uint8Array | null): Uint8Array | null {
  let n = line === null ? 0 : line.length + 4;
  for (const h of list) {
    if (skip !== null && h.nameIsKey(skip)) continue;
    n += h.nameLength + h.valueLength + 4;
  }
  if (n === 0) return null;
  const out = t.arena.alloc(n);
  let o = 0;
  if (line !== null) {
    out.set(line, 0);
    o = line.length;
    out[o++] = 0x0d;
    out[o++] = 0x0a;
  }
  for (const h of list) {
    if (skip !== null && h.nameIsKey(skip)) continue;
    copyInto(out, o, h.store(), h.nameStart, h.nameEnd);
    o += h.nameLength;
    out[o++] = 0x3a;
    out[o++] = 0x20;
    copyInto(out, o, h.valueStore(), h.valueStart, h.valueEnd);
    o += h.valueLength;
    out[o++] = 0x0d;
    out[o++] = 0x0a;
  }
  if (line !== null) {
    out[o++] = 0x0d;
    out[o++] = 0x0a;
  }
  return out;
}

/**
 * The bytes of one single buffer for a transaction in a direction (default: the buffer's first
 * direction), or null when absent or not available yet. Buffers are views owned by the tx: do
 * not modify them.
 */
export function httpBuffer(tx: HttpTx, name: HttpBufferName, dir?: HttpDirection): Uint8Array | null {
  const t = asTx(tx);
  const r = resolve(name);
  if (r === undefined) return null;
  const d = dir ?? r.first;
  const bit = dirBit(d);
  if ((r.dirs & bit) === 0) return null;
  const req = bit === 1;
  switch (r.id) {
    case B_URI:
      return t.uriNormalized;
    case B_URI_RAW:
      return t.uriRaw;
    case B_METHOD:
      return t.method;
    case B_REQUEST_LINE:
      return t.requestLine;
    case B_PROTOCOL:
      return req ? t.requestProtocol : t.responseProtocol;
    case B_STAT_CODE:
      return t.statusCode;
    case B_STAT_MSG:
      return t.statusMessage;
    case B_RESPONSE_LINE:
      return t.responseLine;
    case B_REQUEST_BODY:
      return t.requestProgress >= HttpProgress.BODY ? nonEmpty(t.requestBody.data) : null;
    case B_RESPONSE_BODY:
      return t.responseProgress >= HttpProgress.BODY ? nonEmpty(t.responseBody.data) : null;
    case B_FILE_DATA:
      if (!req) return t.responseProgress >= HttpProgress.BODY ? nonEmpty(t.responseBody.data) : null;
      return t.requestProgress >= HttpProgress.BODY && requestFile(t) ? nonEmpty(t.requestBody.data) : null;
    default:
      break;
  }
  if ((req ? t.requestProgress : t.responseProgress) <= HttpProgress.HEADERS) return null;
  const table = req ? t.reqHeaders : t.resHeaders;
  switch (r.id) {
    case B_HEADER: {
      const slot = C_HEADER + (req ? 0 : 1);
      const c = cachedOf(t, slot);
      if (c !== undefined) return c as Uint8Array | null;
      return cache(t, slot, headerBlock(t, table.list, req ? 'cookie' : 'set-cookie', null));
    }
    case B_HEADER_RAW:
      return nonEmpty(req ? t.requestHeadersRaw : t.responseHeadersRaw);
    case B_HEADER_NAMES: {
      const slot = C_NAMES + (req ? 0 : 1);
      const c = cachedOf(t, slot);
      if (c !== undefined) return c as Uint8Array | null;
      if (table.size === 0) return cache(t, slot, null);
      let n = 4;
      for (const h of table.list) n += h.nameLength + 2;
      const b = t.arena.alloc(n);
      b[0] = 0x0d;
      b[1] = 0x0a;
      let o = 2;
      for (const h of table.list) {
        copyInto(b, o, h.store(), h.nameStart, h.nameEnd);
        o += h.nameLength;
        b[o++] = 0x0d;
        b[o++] = 0x0a;
      }
      b[o++] = 0x0d;
      b[o] = 0x0a;
      return cache(t, slot, b);
    }
    case B_START: {
      const slot = C_START + (req ? 0 : 1);
      const c = cachedOf(t, slot);
      if (c !== undefined) return c as Uint8Array | null;
      const line = req ? t.requestLine : t.responseLine;
      return cache(t, slot, line === null ? null : headerBlock(t, table.list, null, line));
    }
    case B_COOKIE:
      return value(table, req ? 'cookie' : 'set-cookie');
    case B_HOST:
      return t.hostNormalized;
    case B_HOST_RAW:
      return t.hostRaw;
    case B_VALUE:
      return value(table, r.key);
    default:
      return null;
  }
}

/**
 * Multi-buffers: `http.request_header` / `http.response_header`, one "Name: value" per header
 * of the table (repeated names joined as libhtp keeps them). Empty when not available yet.
 */
export function httpMultiBuffer(tx: HttpTx, name: HttpBufferName): Uint8Array[] {
  const t = asTx(tx);
  const req = name === 'http.request_header';
  if (!req && name !== 'http.response_header') return [];
  if (!headersDone(t, req ? 'to_server' : 'to_client')) return [];
  const slot = C_MULTI + (req ? 0 : 1);
  const c = cachedOf(t, slot);
  if (c !== undefined) return c as Uint8Array[];
  const out: Uint8Array[] = [];
  for (const h of (req ? t.reqHeaders : t.resHeaders).list) {
    const nl = h.nameLength;
    const b = t.arena.alloc(nl + 2 + h.valueLength);
    copyInto(b, 0, h.store(), h.nameStart, h.nameEnd);
    b[nl] = 0x3a;
    b[nl + 1] = 0x20;
    copyInto(b, nl + 2, h.valueStore(), h.valueStart, h.valueEnd);
    out.push(b);
  }
  return cache(t, slot, out);
}

