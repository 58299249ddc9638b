/**
 * Suricata's HTTP/1 buffers over a transaction: what each sticky buffer / content modifier
 * inspects, byte for byte (detect-http-*.c with libhtp's tx fields; ./README.md "Buffers").
 * Composite buffers are built on first use and cached on the tx until its headers change.
 */
import { ByteBuf } from './bytes.js';
import { asTx, type Header, type HeaderTable, type Tx } from './tx.js';
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
  spec('http.connection', REQ, BODY, 'http_connection', null),
  spec('http.start', BOTH, BODY, 'http_start', null),
  spec('http.request_body', REQ, COMPLETE, 'http_client_body', 'P'),
  spec('http.stat_code', RES, HEADERS, 'http_stat_code', 'S', { normalized: false }),
  spec('http.stat_msg', RES, HEADERS, 'http_stat_msg', 'Y', { normalized: false }),
  spec('http.response_line', RES, HEADERS, 'http_response_line', null, { normalized: false }),
  spec('http.response_body', RES, COMPLETE, 'http_server_body', null),
  spec('http.location', RES, BODY, 'http_location', null),
  spec('http.server', RES, BODY, 'http_server', null),
  spec('file.data', RES, COMPLETE, 'file_data', 'Q'),
  spec('http.request_header', REQ, BODY, null, null, { multi: true }),
  spec('http.response_header', RES, BODY, null, null, { multi: true }),
]);

const BY_NAME = new Map<string, HttpBufferSpec>();
for (const s of HTTP_BUFFERS) {
  BY_NAME.set(s.name, s);
  for (const a of s.aliases) BY_NAME.set(a, s);
}

/** The spec of a buffer by its name, sticky-buffer alias or legacy content modifier. */
export function httpBufferSpec(name: string): HttpBufferSpec | undefined {
  return BY_NAME.get(name);
}

/** Header-derived buffers exist once the header block of that direction is complete (progress > HEADERS). */
function headersDone(t: Tx, dir: HttpDirection): boolean {
  return (dir === 'to_server' ? t.requestProgress : t.responseProgress) > HttpProgress.HEADERS;
}

function value(table: HeaderTable, key: string): Uint8Array | null {
  const h = table.get(key);
  return h === undefined ? null : h.value;
}

function cached(t: Tx, key: string, build: () => Uint8Array | null): Uint8Array | null {
  const c = t.cache.get(key);
  if (c !== undefined && c.gen === t.generation) return c.value as Uint8Array | null;
  const v = build();
  t.cache.set(key, { gen: t.generation, value: v });
  return v;
}

function nonEmpty(b: Uint8Array | null): Uint8Array | null {
  return b === null || b.length === 0 ? null : b;
}

/** "Name: value\r\n" for each header (Suricata's http.header; `skip` names the cookie header left out). */
function headerLines(list: readonly Header[], skip: string | null, out: ByteBuf): void {
  for (const h of list) {
    if (skip !== null && h.key === skip) continue;
    out.append(h.name);
    out.push(0x3a);
    out.push(0x20);
    out.append(h.value);
    out.push(0x0d);
    out.push(0x0a);
  }
}

/**
 * The bytes of one single buffer for a transaction in a direction (default: the buffer's first
 * direction), or null when absent or not available yet. Buffers are views owned by the tx: do
 * not modify them.
 */
export function httpBuffer(tx: HttpTx, name: HttpBufferName, dir?: HttpDirection): Uint8Array | null {
  const t = asTx(tx);
  const s = BY_NAME.get(name);
  if (s === undefined || s.multi) return null;
  const d = dir ?? s.directions[0]!;
  if (!s.directions.includes(d)) return null;
  const req = d === 'to_server';
  const table = req ? t.reqHeaders : t.resHeaders;
  switch (s.name) {
    case 'http.uri':
      return t.uriNormalized;
    case 'http.uri.raw':
      return t.uriRaw;
    case 'http.method':
      return t.method;
    case 'http.request_line':
      return t.requestLine;
    case 'http.protocol':
      return req ? t.requestProtocol : t.responseProtocol;
    case 'http.stat_code':
      return t.statusCode;
    case 'http.stat_msg':
      return t.statusMessage;
    case 'http.response_line':
      return t.responseLine;
    case 'http.request_body':
      return t.requestProgress >= HttpProgress.BODY ? nonEmpty(t.requestBody.data) : null;
    case 'http.response_body':
    case 'file.data':
      return t.responseProgress >= HttpProgress.BODY ? nonEmpty(t.responseBody.data) : null;
    default:
      break;
  }
  if (!headersDone(t, d)) return null;
  switch (s.name) {
    case 'http.header':
      return cached(t, req ? 'h>' : 'h<', () => {
        const b = new ByteBuf(256);
        headerLines(table.list, req ? 'cookie' : 'set-cookie', b);
        return b.length === 0 ? null : b.copy();
      });
    case 'http.header.raw':
      return nonEmpty(req ? t.requestHeadersRaw : t.responseHeadersRaw);
    case 'http.header_names':
      return cached(t, req ? 'n>' : 'n<', () => {
        if (table.size === 0) return null;
        const b = new ByteBuf(128);
        b.push(0x0d);
        b.push(0x0a);
        for (const h of table.list) {
          b.append(h.name);
          b.push(0x0d);
          b.push(0x0a);
        }
        b.push(0x0d);
        b.push(0x0a);
        return b.copy();
      });
    case 'http.start':
      return cached(t, req ? 's>' : 's<', () => {
        const line = req ? t.requestLine : t.responseLine;
        if (line === null) return null;
        const b = new ByteBuf(256);
        b.append(line);
        b.push(0x0d);
        b.push(0x0a);
        headerLines(table.list, null, b);
        b.push(0x0d);
        b.push(0x0a);
        return b.copy();
      });
    case 'http.cookie':
      return value(table, req ? 'cookie' : 'set-cookie');
    case 'http.user_agent':
      return value(table, 'user-agent');
    case 'http.host':
      return t.hostNormalized;
    case 'http.host.raw':
      return t.hostRaw;
    case 'http.referer':
      return value(table, 'referer');
    case 'http.accept':
      return value(table, 'accept');
    case 'http.accept_lang':
      return value(table, 'accept-language');
    case 'http.accept_enc':
      return value(table, 'accept-encoding');
    case 'http.content_type':
      return value(table, 'content-type');
    case 'http.content_len':
      return value(table, 'content-length');
    case 'http.connection':
      return value(table, 'connection');
    case 'http.location':
      return value(table, 'location');
    case 'http.server':
      return value(table, 'server');
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
  const key = req ? 'm>' : 'm<';
  const c = t.cache.get(key);
  if (c !== undefined && c.gen === t.generation) return c.value as Uint8Array[];
  const out: Uint8Array[] = [];
  for (const h of (req ? t.reqHeaders : t.resHeaders).list) {
    const b = new Uint8Array(h.name.length + 2 + h.value.length);
    b.set(h.name, 0);
    b[h.name.length] = 0x3a;
    b[h.name.length + 1] = 0x20;
    b.set(h.value, h.name.length + 2);
    out.push(b);
  }
  t.cache.set(key, { gen: t.generation, value: out });
  return out;
}

