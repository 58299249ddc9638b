/**
 * Streaming HTTP/1.x connection parser equivalent to libhtp 0.5.x / libhtp-rs as Suricata
 * configures them by default (see ./README.md for each rule and its source). One instance per
 * TCP connection; each direction is fed in order. Works on byte offsets of the caller's chunks:
 * bytes are copied only when a line spans chunks, and into the transaction's own fields.
 */
import { BodyAcc, type BodyHost } from './body.js';
import { ByteBuf, EMPTY, concatBytes, eqNoCase, fromLatin1, indexOfNoCase, latin1 } from './bytes.js';
import { Header, Tx } from './tx.js';
import {
  DEFAULT_HTTP_LIMITS,
  HttpHeaderFlags,
  type HttpConnectionParser,
  type HttpCounters,
  type HttpEventName,
  type HttpFailReason,
  type HttpLimitKind,
  type HttpLimits,
  type HttpParserState,
  type HttpTx,
} from './types.js';
import { isSpace, normalizeHostname, normalizedUri, parseHostPort, parsePositiveIntWs, parseUri, urlDecodeUriPart, validateHostname } from './uri.js';

const LF = 0x0a;
const CR = 0x0d;

/** libhtp's method table (htp_convert_method_to_number): exact, case-sensitive. */
const METHODS = new Set([
  'GET', 'PUT', 'POST', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE',
  'LOCK', 'UNLOCK', 'VERSION-CONTROL', 'CHECKOUT', 'UNCHECKOUT', 'CHECKIN', 'UPDATE', 'LABEL', 'REPORT', 'MKWORKSPACE',
  'MKACTIVITY', 'BASELINE-CONTROL', 'MERGE', 'INVALID', 'HEAD',
]);

export function isKnownMethod(m: Uint8Array): boolean {
  return m.length <= 16 && METHODS.has(latin1(m));
}

/** Protocol numbers (libhtp HTP_PROTOCOL_*). */
export const PROTO_INVALID = -2;
export const PROTO_UNKNOWN = -1;
export const PROTO_0_9 = 9;
export const PROTO_1_0 = 100;
export const PROTO_1_1 = 101;

function isLws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** libhtp-rs parse_protocol: "HTTP" (any case), optional whitespace, "/", leading zeros, .9 / 1.0 / 1.1. */
export function parseProtocol(d: Uint8Array): number {
  let p = 0;
  const n = d.length;
  const ws = (): void => {
    while (p < n && (isSpace(d[p]!))) p++;
  };
  ws();
  if (p + 4 > n || !eqNoCase(d.subarray(p, p + 4), 'http')) return PROTO_INVALID;
  p += 4;
  ws();
  if (d[p] !== 0x2f) return PROTO_INVALID;
  p++;
  while (p < n && (isSpace(d[p]!) || d[p] === 0x30)) p++;
  let v = PROTO_INVALID;
  if (d[p] === 0x2e && d[p + 1] === 0x39) v = PROTO_0_9;
  else if (d[p] === 0x31 && d[p + 1] === 0x2e && d[p + 2] === 0x30) v = PROTO_1_0;
  else if (d[p] === 0x31 && d[p + 1] === 0x2e && d[p + 2] === 0x31) v = PROTO_1_1;
  else return PROTO_INVALID;
  p += v === PROTO_0_9 ? 2 : 3;
  ws();
  return p === n ? v : PROTO_INVALID;
}

/** libhtp htp_parse_status: digits with optional LWS, 100..999, else -1. */
export function parseStatus(d: Uint8Array): number {
  const v = parsePositiveIntWs(d);
  return v >= 100 && v <= 999 ? v : -1;
}

/** libhtp htp_parse_content_length: junk before the digits skipped, junk after ignored; -1 when no digits. */
export function parseContentLength(d: Uint8Array): number {
  let p = 0;
  while (p < d.length && !(d[p]! >= 0x30 && d[p]! <= 0x39)) p++;
  if (p === d.length) return -1;
  let v = 0;
  while (p < d.length && d[p]! >= 0x30 && d[p]! <= 0x39) {
    v = v * 10 + (d[p]! - 0x30);
    if (v > Number.MAX_SAFE_INTEGER) return -1;
    p++;
  }
  return v;
}

/** Chunk-size line: leading control chars skipped, hex digits, the rest cut off; null when invalid. */
export function parseChunkLength(line: Uint8Array): { len: number; ext: boolean } | null {
  let p = 0;
  while (p < line.length && isChunkCtl(line[p]!)) p++;
  const s = p;
  let v = 0;
  while (p < line.length) {
    const c = line[p]!;
    let dv: number;
    if (c >= 0x30 && c <= 0x39) dv = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) dv = c - 0x57;
    else if (c >= 0x41 && c <= 0x46) dv = c - 0x37;
    else break;
    v = v * 16 + dv;
    p++;
  }
  if (p === s || v > 0x7fffffff) return null;
  let ext = false;
  for (let i = p; i < line.length; i++) if (line[i] === 0x3b) ext = true;
  return { len: v, ext };
}

function isChunkCtl(c: number): boolean {
  return c === CR || c === LF || c === 0x20 || c === 0x09 || c === 0x0b || c === 0x0c;
}

/** Line without its LF / CRLF ending (htp_chomp, which removes repeated endings). */
function chomp(line: Uint8Array): Uint8Array {
  let n = line.length;
  while (n > 0 && line[n - 1] === LF) {
    n--;
    if (n > 0 && line[n - 1] === CR) n--;
  }
  return line.subarray(0, n);
}

/** htp_is_line_empty: "\n" or "\r\n". */
function isEmptyLine(line: Uint8Array): boolean {
  return line.length === 1 || (line.length === 2 && line[0] === CR);
}

type ReqState = 'idle' | 'line' | 'headers' | 'body_cl' | 'chunk_len' | 'chunk_data' | 'chunk_end' | 'finalize' | 'connect_wait' | 'ignore09';
type ResState = 'idle' | 'line' | 'headers' | 'body_cl' | 'body_close' | 'chunk_len' | 'chunk_data' | 'chunk_end';

interface Side {
  /** Partial line waiting for its LF. */
  line: ByteBuf;
  /** Header being assembled from folded lines (chomped); null when none. Reuses `headerBuf`. */
  header: ByteBuf | null;
  headerBuf: ByteBuf;
  headerFolded: boolean;
  /** Body bytes left (Content-Length) or chunk bytes left. */
  left: number;
}

function newSide(): Side {
  return { line: new ByteBuf(256), header: null, headerBuf: new ByteBuf(256), headerFolded: false, left: 0 };
}

// once-per-tx flag bits
const ONCE_REQ_COLON = 1;
const ONCE_REQ_INVALID = 2;
const ONCE_RES_COLON = 8;
const ONCE_RES_INVALID = 16;

export interface HttpParserOptions {
  /** Server TCP port, to check a Host/URI port against (REQUEST_SERVER_PORT_TCP_PORT_MISMATCH is not raised by Suricata's libhtp use, kept for EVE). */
  serverPort?: number;
}

export class HttpParser implements HttpConnectionParser {
  readonly limits: Readonly<HttpLimits>;
  readonly counters: HttpCounters = {
    transactions: 0, requestBytes: 0, responseBytes: 0, events: {}, limits: {}, decompressionBombs: 0, decompressionErrors: 0,
    requestGaps: 0, responseGaps: 0, gapBytes: 0, gapsResynced: 0, tunnelBytes: 0, ignoredBytes: 0,
  };
  state: HttpParserState = 'http';
  failReason: HttpFailReason | null = null;
  tunnelUpgrade: string | null = null;

  private readonly live: Tx[] = [];
  private nextId = 0;
  private reqTx: Tx | null = null;
  /** Id of the tx the response parser works on / will take next. */
  private resTx: Tx | null = null;
  private resNextId = 0;
  private reqState: ReqState = 'idle';
  private resState: ResState = 'idle';
  private readonly req = newSide();
  private readonly res = newSide();
  /** Request bytes held while a CONNECT waits for its answer. */
  private pending: ByteBuf | null = null;
  private reqClosed = false;
  private resClosed = false;
  private tsUs: number | null = null;
  /** TCP server port when known (kept for the framework; libhtp as Suricata uses it does not compare it). */
  readonly serverPort: number | null;

  constructor(limits: Partial<HttpLimits> = {}, opts: HttpParserOptions = {}) {
    this.serverPort = opts.serverPort ?? null;
    this.limits = Object.freeze({ ...DEFAULT_HTTP_LIMITS, ...limits });
  }

  get txs(): readonly HttpTx[] {
    return this.live;
  }

  tx(id: number): HttpTx | undefined {
    for (const t of this.live) if (t.id === id) return t;
    return undefined;
  }

  release(upToId: number, force = false): void {
    let k = 0;
    while (k < this.live.length) {
      const t = this.live[k]!;
      if (t.id > upToId) break;
      const done = t.requestProgress === 5 && t.responseProgress === 5;
      if (!done && !force) break;
      k++;
    }
    if (k > 0) this.live.splice(0, k);
  }

  get memoryBytes(): number {
    let n = 1024 + this.req.line.capacity + this.res.line.capacity;
    if (this.req.header) n += this.req.header.capacity;
    if (this.res.header) n += this.res.header.capacity;
    if (this.pending) n += this.pending.capacity;
    for (const t of this.live) n += t.memoryBytes;
    return n;
  }

  // ---------------------------------------------------------------- public feeding

  request(data: Uint8Array, off: number, len: number, tsUs?: number): void {
    if (len <= 0) return;
    this.counters.requestBytes += len;
    if (tsUs !== undefined) this.tsUs = tsUs;
    if (this.state !== 'http') {
      this.skipped(len);
      return;
    }
    if (this.reqState === 'ignore09') {
      this.counters.ignoredBytes += len;
      return;
    }
    if (this.reqState === 'connect_wait') {
      this.hold(data, off, len);
      return;
    }
    this.runRequest(data, off, off + len);
  }

  response(data: Uint8Array, off: number, len: number, tsUs?: number): void {
    if (len <= 0) return;
    this.counters.responseBytes += len;
    if (tsUs !== undefined) this.tsUs = tsUs;
    if (this.state !== 'http') {
      this.skipped(len);
      return;
    }
    this.runResponse(data, off, off + len);
    this.resumeRequest();
  }

  requestGap(len: number): void {
    this.counters.requestGaps++;
    this.counters.gapBytes += len;
    if (this.state !== 'http' || len <= 0) return;
    const t = this.reqTx;
    if (t !== null) t.event('GAP');
    if (this.reqState === 'body_cl' && len <= this.req.left && t !== null) {
      // libhtp-rs: a gap inside a body of known length is skipped; parsing continues after it.
      this.req.left -= len;
      t.requestMessageLength += len;
      this.counters.gapsResynced++;
      if (this.req.left === 0) this.reqState = 'finalize';
      return;
    }
    if (this.reqState === 'ignore09') return;
    if (this.reqState === 'idle' && this.req.line.length === 0 && this.nextId === 0) {
      this.fail('request_gap');
      return;
    }
    this.fail('request_gap');
  }

  responseGap(len: number): void {
    this.counters.responseGaps++;
    this.counters.gapBytes += len;
    if (this.state !== 'http' || len <= 0) return;
    const t = this.resTx;
    if (t !== null) t.event('GAP');
    if (this.resState === 'body_cl' && len <= this.res.left && t !== null) {
      this.res.left -= len;
      t.responseMessageLength += len;
      this.counters.gapsResynced++;
      if (this.res.left === 0) this.responseComplete();
      return;
    }
    if (this.resState === 'body_close' && t !== null) {
      t.responseMessageLength += len;
      this.counters.gapsResynced++;
      return;
    }
    this.fail('response_gap');
  }

  requestEnd(): void {
    if (this.reqClosed) return;
    this.reqClosed = true;
    if (this.state !== 'http') return;
    if (this.reqState === 'line' && this.req.line.length > 0 && this.reqTx !== null) {
      // libhtp-rs processes a buffered request line without LF when the stream closes.
      const line = this.req.line.copy();
      this.req.line.clear();
      this.requestLine(this.reqTx, line, EMPTY, 0, 0);
    }
    if (this.reqState === 'headers' && this.reqTx !== null) {
      this.flushHeader(this.reqTx, true);
      this.requestHeadersDone(this.reqTx);
    }
    if ((this.reqState === 'body_cl' || this.reqState === 'chunk_len' || this.reqState === 'chunk_data' || this.reqState === 'chunk_end' || this.reqState === 'finalize') && this.reqTx !== null) {
      this.requestComplete();
    }
  }

  responseEnd(): void {
    if (this.resClosed) return;
    this.resClosed = true;
    if (this.state !== 'http') return;
    const t = this.resTx;
    if (t === null) return;
    if (this.resState === 'headers') {
      this.flushHeader(t, false);
      this.responseHeadersDone(t);
    }
    if ((this.state as HttpParserState) !== 'http') return;
    if (this.resState !== 'idle' && this.resState !== 'line') this.responseComplete();
    else if (this.resState === 'line' && this.res.line.length > 0) this.res.line.clear();
  }

  // ---------------------------------------------------------------- helpers

  private skipped(len: number): void {
    if (this.state === 'tunnel') this.counters.tunnelBytes += len;
    else this.counters.ignoredBytes += len;
  }

  private fail(reason: HttpFailReason): void {
    if (this.state !== 'http') return;
    this.state = 'failed';
    this.failReason = reason;
    this.req.line.clear();
    this.res.line.clear();
    this.req.header = null;
    this.res.header = null;
    this.pending = null;
  }

  private limitHit(kind: HttpLimitKind): void {
    this.counters.limits[kind] = (this.counters.limits[kind] ?? 0) + 1;
  }

  private event(t: Tx | null, name: HttpEventName): void {
    if (t === null) return;
    if (t.event(name)) this.counters.events[name] = (this.counters.events[name] ?? 0) + 1;
  }

  private hold(data: Uint8Array, off: number, len: number): void {
    this.pending ??= new ByteBuf(256);
    if (this.pending.length + len > this.limits.maxPendingBytes) {
      this.limitHit('pending_bytes');
      this.fail('pending_data_limit');
      return;
    }
    this.pending.append(data, off, off + len);
  }

  /** After response progress: a CONNECT waiting for its answer may go on. */
  private resumeRequest(): void {
    if (this.state !== 'http' || this.reqState !== 'connect_wait') return;
    const t = this.reqTx;
    if (t === null || t.responseProgress <= 1) return;
    if (t.statusNumber >= 200 && t.statusNumber <= 299) {
      // Tunnel established: Suricata hands the flow to protocol detection (tunnelled TLS...).
      this.requestComplete();
      if (t.responseProgress === 5) this.enterTunnel('connect');
      return;
    }
    this.reqState = 'finalize';
    const p = this.pending;
    this.pending = null;
    if (p !== null && p.length > 0) this.runRequest(p.bytes(), 0, p.length);
    else this.requestComplete();
  }

  private enterTunnel(upgrade: string): void {
    if (this.state !== 'http') return;
    this.state = 'tunnel';
    this.tunnelUpgrade = upgrade;
    if (this.pending !== null) {
      this.counters.tunnelBytes += this.pending.length;
      this.pending = null;
    }
  }

  /**
   * Takes one line ending in LF starting at `p`; joins a buffered partial line. Returns the
   * line (with its ending) and the offset after it, or null when buffered (or failed).
   */
  private takeLine(side: Side, d: Uint8Array, p: number, end: number, dir: 'request' | 'response'): [Uint8Array, number] | null {
    const lf = d.indexOf(LF, p);
    const extra = side.header !== null ? side.header.length : 0;
    if (lf < 0 || lf >= end) {
      if (side.line.length + (end - p) + extra > this.limits.fieldLimit) {
        this.fieldTooLong(dir);
        return null;
      }
      side.line.append(d, p, end);
      return null;
    }
    let line: Uint8Array;
    if (side.line.length > 0) {
      side.line.append(d, p, lf + 1);
      line = side.line.copy();
      side.line.clear();
    } else {
      line = d.subarray(p, lf + 1);
    }
    if (line.length + extra > this.limits.fieldLimit) {
      this.fieldTooLong(dir);
      return null;
    }
    return [line, lf + 1];
  }

  private fieldTooLong(dir: 'request' | 'response'): void {
    this.limitHit('field');
    if (dir === 'request') {
      this.event(this.reqTx, 'REQUEST_FIELD_TOO_LONG');
      this.fail('request_field_too_long');
    } else {
      this.event(this.resTx, 'RESPONSE_FIELD_TOO_LONG');
      this.fail('response_field_too_long');
    }
  }

  private bodyHost(t: () => Tx | null): BodyHost {
    return {
      event: (name) => { this.event(t(), name); },
      limitHit: (kind) => { this.limitHit(kind); },
      bomb: () => { this.counters.decompressionBombs++; },
      decodeError: () => { this.counters.decompressionErrors++; },
    };
  }

  private newTx(): Tx | null {
    if (this.live.length >= this.limits.maxTransactions) {
      this.limitHit('transactions');
      this.fail('too_many_transactions');
      return null;
    }
    const id = this.nextId++;
    let self: Tx | null = null;
    const L = this.limits;
    const t = new Tx(
      id,
      new BodyAcc(L.requestBodyLimit, 'request_body', this.bodyHost(() => self), L.decompressionBombLimit, L.decompressionRatio),
      new BodyAcc(L.responseBodyLimit, 'response_body', this.bodyHost(() => self), L.decompressionBombLimit, L.decompressionRatio),
    );
    self = t;
    this.live.push(t);
    this.counters.transactions++;
    return t;
  }

  private txById(id: number): Tx | null {
    for (const t of this.live) if (t.id === id) return t;
    return null;
  }

  // ---------------------------------------------------------------- request side

  private runRequest(d: Uint8Array, p: number, end: number): void {
    while (this.state === 'http') {
      const t = this.reqTx;
      switch (this.reqState) {
        case 'idle': {
          if (p >= end) return;
          const nt = this.newTx();
          if (nt === null) return;
          this.reqTx = nt;
          nt.requestProgress = 1;
          nt.requestStartUs = this.tsUs;
          this.reqState = 'line';
          break;
        }
        case 'line': {
          if (p >= end || t === null) return;
          const r = this.takeLine(this.req, d, p, end, 'request');
          if (r === null) return;
          p = r[1];
          if (isEmptyLine(r[0])) break; // libhtp ignores empty lines before a request line
          this.requestLine(t, chomp(r[0]), d, p, end);
          break;
        }
        case 'headers': {
          if (p >= end || t === null) return;
          const r = this.takeLine(this.req, d, p, end, 'request');
          if (r === null) return;
          p = r[1];
          this.headerLine(t, r[0], true);
          break;
        }
        case 'body_cl': {
          if (p >= end || t === null) return;
          p = this.bodyBytes(t, true, d, p, end);
          if (this.req.left === 0) this.reqState = 'finalize';
          break;
        }
        case 'chunk_len': {
          if (p >= end || t === null) return;
          const r = this.takeLine(this.req, d, p, end, 'request');
          if (r === null) return;
          p = r[1];
          t.requestMessageLength += r[0].length;
          this.chunkLength(t, r[0], true);
          break;
        }
        case 'chunk_data': {
          if (p >= end || t === null) return;
          p = this.bodyBytes(t, true, d, p, end);
          if (this.req.left === 0) this.reqState = 'chunk_end';
          break;
        }
        case 'chunk_end': {
          if (p >= end || t === null) return;
          const q = this.chunkEnd(t, true, d, p, end);
          if (q < 0) return;
          p = q;
          this.reqState = 'chunk_len';
          break;
        }
        case 'finalize': {
          if (t === null) return;
          if (p >= end) {
            // libhtp completes the request when the chunk that ended it has no more data
            // (unless a partial line after it waits for its end).
            if (this.req.line.length === 0) this.requestComplete();
            return;
          }
          p = this.finalizeData(t, d, p, end);
          break;
        }
        case 'connect_wait':
          if (p < end) this.hold(d, p, end - p);
          return;
        case 'ignore09':
          if (p < end) this.counters.ignoredBytes += end - p;
          return;
      }
    }
  }

  /**
   * libhtp-rs request_finalize: data after a complete request. A line that does not start with
   * a known method is the request body continuing (REQUEST_BODY_UNEXPECTED); a method starts
   * the next request.
   */
  private finalizeData(t: Tx, d: Uint8Array, p: number, end: number): number {
    const lf = d.indexOf(LF, p);
    if (lf < 0 || lf >= end) {
      // No line end yet: libhtp buffers and decides once the line is complete.
      if (this.req.line.length + (end - p) > this.limits.fieldLimit) {
        this.fieldTooLong('request');
        return end;
      }
      this.req.line.append(d, p, end);
      return end;
    }
    const buffered = this.req.line.length;
    const line = buffered > 0 ? concatBytes([this.req.line.bytes(), d.subarray(p, lf + 1)]) : d.subarray(p, lf + 1);
    let s = 0;
    while (s < line.length && isSpace(line[s]!)) s++;
    let e = s;
    while (e < line.length && !isSpace(line[e]!)) e++;
    if (e > s && isKnownMethod(line.subarray(s, e))) {
      // The next request: the buffered part stays in the line buffer for the request-line state.
      this.requestComplete(true);
      return p;
    }
    if (e !== s) this.event(t, 'REQUEST_BODY_UNEXPECTED');
    t.requestMessageLength += line.length;
    t.requestBody.write(line);
    this.req.line.clear();
    return lf + 1;
  }

  /** Consumes up to `side.left` body bytes (Content-Length body or chunk data) into the tx body. */
  private bodyBytes(t: Tx, request: boolean, d: Uint8Array, p: number, end: number): number {
    const side = request ? this.req : this.res;
    const n = Math.min(end - p, side.left);
    if (request) t.requestMessageLength += n;
    else t.responseMessageLength += n;
    (request ? t.requestBody : t.responseBody).write(d.subarray(p, p + n));
    side.left -= n;
    return p + n;
  }

  /** After chunk data, everything up to the LF is skipped (libhtp); -1 when the LF is not there yet. */
  private chunkEnd(t: Tx, request: boolean, d: Uint8Array, p: number, end: number): number {
    const lf = d.indexOf(LF, p);
    const stop = lf < 0 || lf >= end ? end : lf + 1;
    if (request) t.requestMessageLength += stop - p;
    else t.responseMessageLength += stop - p;
    return stop === end && (lf < 0 || lf >= end) ? -1 : stop;
  }

  private requestLine(t: Tx, line: Uint8Array, d: Uint8Array, p: number, end: number): void {
    t.requestLine = line.slice();
    const len = line.length;
    let pos = 0;
    while (pos < len && isSpace(line[pos]!)) pos++;
    if (pos > 0) this.event(t, 'REQUEST_LINE_LEADING_WHITESPACE');
    const ms = pos;
    while (pos < len && !isSpace(line[pos]!)) pos++;
    t.method = line.slice(ms, pos);
    t.methodKnown = isKnownMethod(t.method);
    let badDelim = false;
    while (pos < len && isSpace(line[pos]!)) {
      if (line[pos] !== 0x20) badDelim = true;
      pos++;
    }
    if (badDelim) this.event(t, 'METHOD_DELIM_NON_COMPLIANT');
    let protoStart = len;
    if (pos < len) {
      // URI ends at the first SP; other whitespace only if no SP follows (libhtp retries).
      const us = pos;
      let ue = pos;
      let nonSp = false;
      while (ue < len && line[ue] !== 0x20) {
        if (isSpace(line[ue]!)) nonSp = true;
        ue++;
      }
      if (nonSp) {
        this.event(t, 'URI_DELIM_NON_COMPLIANT');
        if (ue === len) {
          ue = us;
          while (ue < len && !isSpace(line[ue]!)) ue++;
        }
      }
      t.uriRaw = line.slice(us, ue);
      pos = ue;
      while (pos < len && isSpace(line[pos]!)) pos++;
      protoStart = pos;
    }
    if (protoStart < len) {
      let pe = len;
      while (pe > protoStart && isSpace(line[pe - 1]!)) pe--;
      t.requestProtocol = line.slice(protoStart, pe);
      t.requestProtocolNumber = parseProtocol(t.requestProtocol);
    } else {
      t.isHttp09 = true;
      t.requestProtocolNumber = PROTO_0_9;
    }
    if (t.isHttp09 && !t.methodKnown) this.event(t, 'REQUEST_LINE_INVALID');
    if (!t.isHttp09 && !t.methodKnown && t.requestProtocolNumber === PROTO_INVALID) this.event(t, 'REQUEST_LINE_INVALID');
    this.parseTarget(t);
    if (t.isHttp09) {
      // libhtp-rs: more than whitespace after a protocol-less line means headers follow.
      let q = p;
      while (q < end && isSpace(d[q]!)) q++;
      if (q < end || q - p > 16) {
        t.isHttp09 = false;
        this.event(t, 'REQUEST_LINE_MISSING_PROTOCOL');
      }
    }
    if (t.isHttp09) {
      this.reqState = 'finalize';
    } else {
      t.requestProgress = 2;
      this.reqState = 'headers';
    }
  }

  private parseTarget(t: Tx): void {
    if (t.uriRaw === null) return;
    const parts = parseUri(t.uriRaw);
    t.uriNormalized = normalizedUri(parts);
    if (parts.hostname !== null) {
      const h = normalizeHostname(urlDecodeUriPart(parts.hostname));
      t.uriHost = parts.hostname;
      t.hostNormalized = h;
      t.hostRaw = parts.hostname;
      if (!validateHostname(h)) this.event(t, 'REQUEST_URI_HOST_INVALID');
    }
    if (parts.port !== null) {
      const port = parsePositiveIntWs(parts.port);
      if (port > 0 && port < 65536) {
        t.uriPort = port;
      } else {
        this.event(t, 'REQUEST_URI_HOST_INVALID');
      }
    }
    t.hostPort = t.uriPort ?? -1;
  }

  /** One header-block line (with its ending), request or response, headers or trailers. */
  private headerLine(t: Tx, line: Uint8Array, request: boolean): void {
    const side = request ? this.req : this.res;
    const raw = request ? (t.reqHeadersRaw ??= new ByteBuf(512)) : (t.resHeadersRaw ??= new ByteBuf(512));
    raw.append(line);
    t.generation++;
    if (isEmptyLine(line)) {
      this.flushHeader(t, request);
      if (this.state !== 'http') return;
      if (request) this.requestHeadersDone(t);
      else this.responseHeadersDone(t);
      return;
    }
    const c = chomp(line);
    if (c.length > 0 && isLws(c[0]!)) {
      if (side.header === null) {
        this.event(t, request ? 'INVALID_REQUEST_FIELD_FOLDING' : 'INVALID_RESPONSE_FIELD_FOLDING');
        side.header = side.headerBuf;
        side.header.length = 0;
        side.header.append(c);
        side.headerFolded = false;
      } else {
        side.header.append(c);
        side.headerFolded = true;
      }
      return;
    }
    this.flushHeader(t, request);
    side.header = side.headerBuf;
    side.header.length = 0;
    side.header.append(c);
    side.headerFolded = false;
  }

  /** Parses the pending (possibly folded) header line into the header table. */
  private flushHeader(t: Tx, request: boolean): void {
    const side = request ? this.req : this.res;
    const hb = side.header;
    if (hb === null) return;
    side.header = null;
    const data = hb.bytes();
    const len = data.length;
    let flags = side.headerFolded ? HttpHeaderFlags.FOLDED : 0;
    let colon = 0;
    while (colon < len && data[colon] !== 0 && data[colon] !== 0x3a) colon++;
    let name: Uint8Array;
    let value: Uint8Array;
    if (colon === len || data[colon] === 0) {
      flags |= HttpHeaderFlags.UNPARSEABLE;
      if (request) {
        if (!(t.onceFlags & ONCE_REQ_COLON)) { t.onceFlags |= ONCE_REQ_COLON; this.event(t, 'REQUEST_FIELD_MISSING_COLON'); }
      } else {
        flags |= HttpHeaderFlags.INVALID;
        if (!(t.onceFlags & ONCE_RES_COLON)) { t.onceFlags |= ONCE_RES_COLON; this.event(t, 'RESPONSE_FIELD_MISSING_COLON'); }
      }
      name = EMPTY;
      let ve = 0;
      while (ve < len && data[ve] !== 0) ve++;
      let vs = 0;
      while (vs < ve && isLws(data[vs]!)) vs++;
      while (ve > vs && isLws(data[ve - 1]!)) ve--;
      value = data.slice(vs, ve);
    } else {
      let invalid = colon === 0;
      let ne = colon;
      while (ne > 0 && isLws(data[ne - 1]!)) { ne--; invalid = true; }
      for (let i = 0; i < ne; i++) {
        const ch = data[i]!;
        if (ch < 32 || ch > 126 || isSeparator(ch)) { invalid = true; break; }
      }
      if (invalid) {
        flags |= HttpHeaderFlags.INVALID;
        const bit = request ? ONCE_REQ_INVALID : ONCE_RES_INVALID;
        if (!(t.onceFlags & bit)) { t.onceFlags |= bit; this.event(t, request ? 'REQUEST_HEADER_INVALID' : 'RESPONSE_HEADER_INVALID'); }
      }
      name = data.slice(0, ne);
      let vs = colon + 1;
      while (vs < len && isLws(data[vs]!)) vs++;
      let ve = vs;
      while (ve < len && data[ve] !== 0) ve++;
      while (ve > vs && isLws(data[ve - 1]!)) ve--;
      value = data.slice(vs, ve);
    }
    this.addHeader(t, request, name, value, flags);
  }

  private addHeader(t: Tx, request: boolean, name: Uint8Array, value: Uint8Array, flags: number): void {
    const table = request ? t.reqHeaders : t.resHeaders;
    let key = '';
    for (const ch of name) key += String.fromCharCode(ch >= 0x41 && ch <= 0x5a ? ch + 0x20 : ch);
    const existing = table.get(key);
    t.generation++;
    if (existing !== undefined) {
      const reps = request ? t.reqRepetitions : t.resRepetitions;
      if (!(existing.flags & HttpHeaderFlags.REPEATED)) {
        this.event(t, request ? 'REQUEST_HEADER_REPETITION' : 'RESPONSE_HEADER_REPETITION');
      } else if (reps < this.limits.maxHeaderRepetitions) {
        if (request) t.reqRepetitions++;
        else t.resRepetitions++;
      } else {
        this.limitHit('header_repetitions');
        return;
      }
      existing.flags |= HttpHeaderFlags.REPEATED | (flags & HttpHeaderFlags.FOLDED);
      if (key === 'content-length') {
        const a = parseContentLength(existing.value);
        const b = parseContentLength(value);
        if (a < 0 || b < 0 || a !== b) this.event(t, request ? 'DUPLICATE_CONTENT_LENGTH_FIELD_IN_REQUEST' : 'DUPLICATE_CONTENT_LENGTH_FIELD_IN_RESPONSE');
      } else {
        existing.value = concatBytes([existing.value, fromLatin1(', '), value]);
      }
      return;
    }
    if (table.size >= this.limits.maxHeaders) {
      this.limitHit('headers');
      this.event(t, request ? 'REQUEST_TOO_MANY_HEADERS' : 'RESPONSE_TOO_MANY_HEADERS');
      this.fail('too_many_headers');
      return;
    }
    table.add(new Header(name, value, flags, key));
  }

  /** End of a request header block (headers, or trailers after a chunked body). */
  private requestHeadersDone(t: Tx): void {
    if (t.requestProgress >= 3) {
      // Trailer block complete.
      this.reqState = 'finalize';
      return;
    }
    const te = t.reqHeaders.get('transfer-encoding');
    const cl = t.reqHeaders.get('content-length');
    let mode: 'chunked' | 'cl' | 'none' | 'invalid' = 'none';
    if (te !== undefined) {
      if (!hasToken(te.value, 'chunked')) {
        this.event(t, 'INVALID_TRANSFER_ENCODING_VALUE_IN_REQUEST');
        mode = 'invalid';
      } else {
        if (t.requestProtocolNumber < PROTO_1_1) this.event(t, 'INVALID_TRANSFER_ENCODING_VALUE_IN_REQUEST');
        mode = 'chunked';
      }
    } else if (cl !== undefined) {
      const v = parseContentLength(cl.value);
      if (v < 0) {
        this.event(t, 'INVALID_CONTENT_LENGTH_FIELD_IN_REQUEST');
        mode = 'invalid';
      } else {
        t.requestContentLength = v;
        mode = 'cl';
      }
    }
    // Host: the URI's authority wins; the header fills in when the URI has none.
    const hh = t.reqHeaders.get('host');
    if (hh === undefined) {
      if (t.requestProtocolNumber >= PROTO_1_1) this.event(t, 'MISSING_HOST_HEADER');
    } else {
      const hp = parseHostPort(hh.value);
      if (hp.invalid) this.event(t, 'REQUEST_HEADER_HOST_INVALID');
      if (hp.hostname !== null) {
        if (t.hostNormalized === null) {
          t.hostNormalized = hp.hostname;
          t.hostRaw = hh.value;
          t.hostPort = hp.port;
        } else if (latin1(hp.hostname) !== latin1(t.hostNormalized) || (t.hostPort !== -1 && hp.port !== -1 && t.hostPort !== hp.port)) {
          this.event(t, 'HOST_HEADER_AMBIGUOUS');
        }
      } else if (t.hostNormalized !== null) {
        this.event(t, 'HOST_HEADER_AMBIGUOUS');
      }
    }
    const ce = t.reqHeaders.get('content-encoding');
    t.requestBody.setEncoding(ce === undefined ? null : ce.value, this.limits.decompressionLayers);
    if (mode === 'invalid') {
      // libhtp: undeterminable request body framing is a stream error.
      this.fail(te !== undefined ? 'invalid_request_transfer_encoding' : 'invalid_request_content_length');
      return;
    }
    if (t.method !== null && eqNoCase(t.method, 'connect') && t.methodKnown) {
      this.reqState = 'connect_wait';
      return;
    }
    if (mode === 'chunked') {
      t.requestChunked = true;
      t.requestProgress = 3;
      this.reqState = 'chunk_len';
    } else if (mode === 'cl' && t.requestContentLength! > 0) {
      t.requestProgress = 3;
      this.req.left = t.requestContentLength!;
      this.reqState = 'body_cl';
    } else {
      this.reqState = 'finalize';
    }
  }

  private chunkLength(t: Tx, line: Uint8Array, request: boolean): void {
    let ctl = true;
    for (const b of line) if (!isChunkCtl(b)) { ctl = false; break; }
    if (ctl) return; // libhtp-rs skips empty lines between chunks
    const r = parseChunkLength(chomp(line));
    if (r === null) {
      if (request) {
        this.event(t, 'INVALID_REQUEST_CHUNK_LEN');
        this.fail('invalid_request_chunk_len');
      } else {
        this.event(t, 'INVALID_RESPONSE_CHUNK_LEN');
        this.fail('invalid_response_chunk_len');
      }
      return;
    }
    if (r.ext) this.event(t, request ? 'REQUEST_CHUNK_EXTENSION' : 'RESPONSE_CHUNK_EXTENSION');
    if (request) {
      if (r.len === 0) {
        t.requestProgress = 4;
        this.reqState = 'headers';
      } else {
        this.req.left = r.len;
        this.reqState = 'chunk_data';
      }
    } else if (r.len === 0) {
      t.responseProgress = 4;
      this.resState = 'headers';
    } else {
      this.res.left = r.len;
      this.resState = 'chunk_data';
    }
  }

  private requestComplete(keepLine = false): void {
    const t = this.reqTx;
    if (t === null) return;
    if (t.requestProgress !== 5) t.requestProgress = 5;
    this.reqState = t.isHttp09 ? 'ignore09' : 'idle';
    if (!keepLine) this.req.line.clear();
    this.req.header = null;
  }

  // ---------------------------------------------------------------- response side

  private runResponse(d: Uint8Array, p: number, end: number): void {
    while (this.state === 'http') {
      const t = this.resTx;
      switch (this.resState) {
        case 'idle': {
          if (p >= end) return;
          if (!this.responseStart()) return;
          break;
        }
        case 'line': {
          if (p >= end || t === null) return;
          const r = this.takeLine(this.res, d, p, end, 'response');
          if (r === null) return;
          p = r[1];
          if (isEmptyLine(r[0])) break;
          const line = chomp(r[0]);
          if (!startsWithHttp(line)) {
            // Not a status line: browsers treat it as body; libhtp too, unless the next line starts with 'H'.
            if (p < end && (d[p] === 0x48 || line.length <= 2)) break;
            t.responseMessageLength += r[0].length;
            t.responseBody.write(r[0]);
            t.responseProgress = 3;
            this.resState = 'body_close';
            break;
          }
          this.statusLine(t, line);
          t.responseProgress = 2;
          this.resState = 'headers';
          break;
        }
        case 'headers': {
          if (p >= end || t === null) return;
          const r = this.takeLine(this.res, d, p, end, 'response');
          if (r === null) return;
          p = r[1];
          this.headerLine(t, r[0], false);
          break;
        }
        case 'body_cl': {
          if (p >= end || t === null) return;
          p = this.bodyBytes(t, false, d, p, end);
          if (this.res.left === 0) this.responseComplete();
          break;
        }
        case 'body_close': {
          if (p >= end || t === null) return;
          t.responseMessageLength += end - p;
          t.responseBody.write(d.subarray(p, end));
          return;
        }
        case 'chunk_len': {
          if (p >= end || t === null) return;
          const r = this.takeLine(this.res, d, p, end, 'response');
          if (r === null) return;
          p = r[1];
          t.responseMessageLength += r[0].length;
          this.chunkLength(t, r[0], false);
          break;
        }
        case 'chunk_data': {
          if (p >= end || t === null) return;
          p = this.bodyBytes(t, false, d, p, end);
          if (this.res.left === 0) this.resState = 'chunk_end';
          break;
        }
        case 'chunk_end': {
          if (p >= end || t === null) return;
          const q = this.chunkEnd(t, false, d, p, end);
          if (q < 0) return;
          p = q;
          this.resState = 'chunk_len';
          break;
        }
      }
    }
  }

  private responseStart(): boolean {
    let t = this.txById(this.resNextId);
    if (t === null || this.resNextId >= this.nextId) {
      // libhtp: "Unable to match response to request": a tx is made up for the response.
      const nt = this.newTx();
      if (nt === null) return false;
      t = nt;
      if (this.reqState === 'finalize') this.requestComplete();
      t.responseWithoutRequest = true;
      t.uriRaw = fromLatin1('/libhtp::request_uri_not_seen');
      t.uriNormalized = t.uriRaw;
      t.requestProgress = 5;
      this.event(t, 'UNABLE_TO_MATCH_RESPONSE_TO_REQUEST');
      if (this.reqTx === null || this.reqTx.requestProgress === 5) this.reqTx = t;
    }
    this.resNextId = t.id + 1;
    this.resTx = t;
    t.responseStartUs = this.tsUs;
    if (t.method === null && t.uriRaw === null && this.reqState === 'line' && t === this.reqTx) this.event(t, 'REQUEST_LINE_INCOMPLETE');
    if (t.isHttp09) {
      t.responseProgress = 3;
      this.resState = 'body_close';
    } else {
      t.responseProgress = 1;
      this.resState = 'line';
    }
    return true;
  }

  private statusLine(t: Tx, line: Uint8Array): void {
    t.responseLine = line.slice();
    const len = line.length;
    let pos = 0;
    while (pos < len && isSpace(line[pos]!)) pos++;
    let s = pos;
    while (pos < len && !isSpace(line[pos]!)) pos++;
    t.responseProtocol = line.slice(s, pos);
    t.responseProtocolNumber = parseProtocol(t.responseProtocol);
    while (pos < len && isSpace(line[pos]!)) pos++;
    if (pos < len) {
      s = pos;
      while (pos < len && !isSpace(line[pos]!)) pos++;
      t.statusCode = line.slice(s, pos);
      t.statusNumber = parseStatus(t.statusCode);
      while (pos < len && isSpace(line[pos]!)) pos++;
      if (pos < len) t.statusMessage = line.slice(pos);
    }
    if (t.responseProtocolNumber === PROTO_INVALID) this.event(t, 'RESPONSE_INVALID_PROTOCOL');
    if (t.statusNumber < 0) this.event(t, 'RESPONSE_INVALID_STATUS');
  }

  /** libhtp htp_connp_RES_BODY_DETERMINE. */
  private responseHeadersDone(t: Tx): void {
    if (t.responseProgress >= 3) {
      // Trailers complete.
      this.responseComplete();
      return;
    }
    const status = t.statusNumber;
    const isConnect = t.method !== null && t.methodKnown && eqNoCase(t.method, 'connect');
    if (isConnect && status >= 200 && status <= 299) {
      this.responseComplete();
      return;
    }
    const te = t.resHeaders.get('transfer-encoding');
    const cl = t.resHeaders.get('content-length');
    if (status === 101 && te === undefined && cl === undefined) {
      const up = t.resHeaders.get('upgrade');
      this.responseComplete();
      this.enterTunnel(up === undefined ? 'upgrade' : latin1(up.value));
      return;
    }
    if (status === 100 && te === undefined && (cl === undefined || parseContentLength(cl.value) <= 0)) {
      if (t.seen100Continue) {
        this.event(t, '100_CONTINUE_ALREADY_SEEN');
        this.fail('repeated_100_continue');
        return;
      }
      // Interim response: headers dropped, the real status line follows.
      t.seen100Continue = true;
      t.resHeaders.clear();
      t.generation++;
      t.responseProgress = 1;
      this.resState = 'line';
      return;
    }
    let noBody = false;
    const isHead = t.method !== null && t.methodKnown && eqNoCase(t.method, 'head');
    if (isHead) noBody = true;
    else if ((status >= 100 && status <= 199) || status === 204 || status === 304) {
      if (te === undefined && cl === undefined) noBody = true;
      else this.event(t, 'RESPONSE_BODY_UNEXPECTED');
    }
    const ce = t.resHeaders.get('content-encoding');
    if (noBody) {
      this.responseComplete();
      return;
    }
    t.responseBody.setEncoding(ce === undefined ? null : ce.value, this.limits.decompressionLayers);
    if (te !== undefined && indexOfNoCase(te.value, 'chunked') >= 0) {
      if (!eqNoCase(te.value, 'chunked')) this.event(t, 'RESPONSE_ABNORMAL_TRANSFER_ENCODING');
      if (t.responseProtocolNumber < PROTO_1_1) this.event(t, 'RESPONSE_CHUNKED_OLD_PROTO');
      t.responseChunked = true;
      t.responseProgress = 3;
      this.resState = 'chunk_len';
      return;
    }
    if (cl !== undefined) {
      const v = parseContentLength(cl.value);
      if (v < 0) {
        this.event(t, 'INVALID_CONTENT_LENGTH_FIELD_IN_RESPONSE');
        this.fail('invalid_response_content_length');
        return;
      }
      t.responseContentLength = v;
      if (v === 0) {
        this.responseComplete();
        return;
      }
      t.responseProgress = 3;
      this.res.left = v;
      this.resState = 'body_cl';
      return;
    }
    const ct = t.resHeaders.get('content-type');
    if (ct !== undefined && indexOfNoCase(ct.value, 'multipart/byteranges') >= 0) {
      this.event(t, 'RESPONSE_MULTIPART_BYTERANGES');
      this.fail('response_multipart_byteranges');
      return;
    }
    t.responseProgress = 3;
    this.resState = 'body_close';
  }

  private responseComplete(): void {
    const t = this.resTx;
    if (t === null) return;
    t.responseProgress = 5;
    this.resState = 'idle';
    this.res.line.clear();
    this.res.header = null;
    const isConnect = t.method !== null && t.methodKnown && eqNoCase(t.method, 'connect');
    if (isConnect && t.statusNumber >= 200 && t.statusNumber <= 299 && t === this.reqTx) {
      this.requestComplete();
      this.enterTunnel('connect');
      return;
    }
    // libhtp yields to the request side at the end of a failed CONNECT's response.
    if (this.reqState === 'connect_wait') this.resumeRequest();
  }
}

function startsWithHttp(line: Uint8Array): boolean {
  return line.length >= 4 && eqNoCase(line.subarray(0, 4), 'http');
}

function isSeparator(c: number): boolean {
  switch (c) {
    case 0x28: case 0x29: case 0x3c: case 0x3e: case 0x40: case 0x2c: case 0x3b: case 0x3a: case 0x5c: case 0x22:
    case 0x2f: case 0x5b: case 0x5d: case 0x3f: case 0x3d: case 0x7b: case 0x7d: case 0x20: case 0x09:
      return true;
    default:
      return false;
  }
}

/** libhtp htp_header_has_token: a comma/space separated token equal (case-insensitive) to `token`. */
function hasToken(v: Uint8Array, token: string): boolean {
  let i = 0;
  while (i < v.length) {
    while (i < v.length && (v[i] === 0x2c || isSpace(v[i]!))) i++;
    const s = i;
    while (i < v.length && v[i] !== 0x2c && !isSpace(v[i]!)) i++;
    if (i > s && eqNoCase(v.subarray(s, i), token)) return true;
  }
  return false;
}
