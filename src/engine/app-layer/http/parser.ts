/**
 * Streaming HTTP/1.x connection parser equivalent to libhtp 0.5.x / libhtp-rs as Suricata
 * configures them by default (see ./README.md for each rule and its source). One instance per
 * TCP connection; each direction is fed in order.
 *
 * Hot path (see README "Performance"): the parser reads the caller's segment in place through
 * (array, start, end) offsets. Bytes are copied when a line spans segments (into the side's
 * line buffer) and into what the transaction owns, once each: the request / status line, the
 * raw header block at its end (./headers.ts; names and values are ranges of it), body bytes.
 * No per-line tuples, views, strings or closures.
 */
import { type BodyOwner, BodyAcc } from './body.js';
import { Arena, ByteBuf, EMPTY, eqNoCaseAt, fromLatin1, latin1 } from './bytes.js';
import {
  LF,
  LINE_METHOD,
  LINE_OTHER,
  M_CONNECT,
  M_HEAD,
  PROTO_0_9,
  PROTO_1_1,
  PROTO_INVALID,
  chompEnd,
  chunkExt,
  hasToken,
  indexOfNoCaseAt,
  isChunkCtl,
  indexOfLf,
  isEmptyLine,
  lineStart,
  lineStartJoined,
  methodAt,
  parseChunkLengthAt,
  parseContentLengthAt,
  parseProtocolAt,
  sameBytes,
  segmentView,
} from './fields.js';
import { type HeaderHost, HeaderBlocks, PH_NONE, Side, spill } from './headers.js';
import { Tx } from './tx.js';
import {
  type HttpConnectionParser,
  type HttpCounters,
  type HttpEventName,
  type HttpFailReason,
  type HttpLimitKind,
  type HttpLimits,
  type HttpParserState,
  type HttpTx,
  mergedLimits,
} from './types.js';
import {
  type HostPort,
  UriSpans,
  isSpace,
  normalizeHostname,
  normalizedLength,
  normalizedUriOf,
  parseHostPortAt,
  parsePositiveIntWsAt,
  parseUriSpans,
  urlDecodeUriPart,
  validateHostname,
} from './uri.js';

// request states
/** Bytes of the segment that opened a tunnel kept for the next protocol, per side (a few frames). */
const MAX_TUNNEL_KEPT = 65536;
const RQ_IDLE = 0;
const RQ_LINE = 1;
const RQ_HEADERS = 2;
const RQ_BODY_CL = 3;
const RQ_CHUNK_LEN = 4;
const RQ_CHUNK_DATA = 5;
const RQ_CHUNK_END = 6;
const RQ_FINALIZE = 7;
const RQ_CONNECT_WAIT = 8;
const RQ_IGNORE09 = 9;
// response states
const RS_IDLE = 0;
const RS_LINE = 1;
const RS_HEADERS = 2;
const RS_BODY_CL = 3;
const RS_BODY_CLOSE = 4;
const RS_CHUNK_LEN = 5;
const RS_CHUNK_DATA = 6;
const RS_CHUNK_END = 7;

const NOT_SEEN = '/libhtp::request_uri_not_seen';

// Scratch results, filled and read within one call (parsing is synchronous): the URI parts of
// the request line being parsed, the Host header parse.
const SPANS = new UriSpans();
const HOST_PORT: HostPort = { hostname: null, port: -1, invalid: true };

export interface HttpParserOptions {
  /** Server TCP port, to check a Host/URI port against (REQUEST_SERVER_PORT_TCP_PORT_MISMATCH is not raised by Suricata's libhtp use, kept for EVE). */
  serverPort?: number;
  /**
   * Called when libhtp's tunnel mode starts (a CONNECT answered 2xx, a 101 without body), with
   * the Upgrade value (`connect` for CONNECT) and the tx: what Suricata's HTTP layer makes of it.
   * 'change': it asks for a protocol change that is granted (the parser's `tunnelChange` is
   * true); 'stay': it asks for none, the rest of the connection is ignored; 'refused': the
   * change was asked for and refused (FAILED_PROTOCOL_CHANGE on the tx, the rest ignored).
   * Absent: every tunnel is a change.
   */
  onTunnel?: (upgrade: string, tx: HttpTx) => TunnelOutcome;
}

/** What a tunnel turned into (HttpParserOptions.onTunnel). */
export type TunnelOutcome = 'change' | 'stay' | 'refused';

export class HttpParser implements HttpConnectionParser, HeaderHost, BodyOwner {
  readonly limits: Readonly<HttpLimits>;
  readonly counters: HttpCounters = {
    transactions: 0, requestBytes: 0, responseBytes: 0, events: {}, limits: {}, decompressionBombs: 0, decompressionErrors: 0,
    requestGaps: 0, responseGaps: 0, gapBytes: 0, gapsResynced: 0, tunnelBytes: 0, ignoredBytes: 0,
  };
  state: HttpParserState = 'http';
  failReason: HttpFailReason | null = null;
  tunnelUpgrade: string | null = null;
  /** In tunnel mode: whether a protocol change was asked for and granted (else the rest is ignored). */
  tunnelChange = false;
  private readonly onTunnel: ((upgrade: string, tx: HttpTx) => TunnelOutcome) | undefined;

  private readonly live: Tx[] = [];
  private nextId = 0;
  private reqTx: Tx | null = null;
  /** The tx the response parser works on. */
  private resTx: Tx | null = null;
  private resNextId = 0;
  private reqState = RQ_IDLE;
  private resState = RS_IDLE;
  private readonly req = new Side();
  private readonly res = new Side();
  /** Request bytes held while a CONNECT waits for its answer. */
  private pending: ByteBuf | null = null;
  private reqClosed = false;
  private resClosed = false;
  /**
   * The response side stopped at a gap no body absorbs: its later bytes are ignored while the
   * request side goes on (suricata-verify http-gap-beyond-body / eve-payload-07-http-gap: the
   * requests after such a gap are still parsed, the responses are not).
   */
  private resStopped = false;
  private tsUs: number | null = null;
  /** The line `takeLine` found: lb[ls, le), LF included (a range of the segment, or of the side's line buffer). */
  private lb: Uint8Array = EMPTY;
  private ls = 0;
  private le = 0;
  /** A line joined from two segments in finalizeData (made on first use). */
  private scratch: ByteBuf | null = null;
  private readonly headers: HeaderBlocks;
  /** Storage of everything the transactions own. */
  readonly arena = new Arena();
  /** TCP server port when known (kept for the framework; libhtp as Suricata uses it does not compare it). */
  readonly serverPort: number | null;

  constructor(limits: Partial<HttpLimits> = {}, opts: HttpParserOptions = {}) {
    this.serverPort = opts.serverPort ?? null;
    this.onTunnel = opts.onTunnel;
    this.limits = mergedLimits(limits);
    // The parser is its header blocks' host and its bodies' owner: their calls back go to
    // methods of one class, the same target for every connection (a closure per parser made
    // every such call site see a new target per connection: deopts of the hot header code).
    this.headers = new HeaderBlocks(this);
  }

  // ---------------------------------------------------------------- HeaderHost and BodyOwner (for headers.ts and body.ts)

  /** @internal False once the connection left HTTP (failed, tunnel). */
  parsing(): boolean {
    return this.state === 'http';
  }

  /** @internal The empty line ended a header (or trailer) block. */
  blockDone(t: Tx, request: boolean): void {
    if (request) this.requestHeadersDone(t);
    else this.responseHeadersDone(t);
  }

  /** @internal */
  txEvent(t: Tx, name: HttpEventName): void {
    this.event(t, name);
  }

  /** @internal */
  bodyBomb(): void {
    this.counters.decompressionBombs++;
  }

  /** @internal */
  bodyDecodeError(): void {
    this.counters.decompressionErrors++;
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
    if (k > 0) {
      this.live.splice(0, k);
      if (this.live.length === 0) this.arena.idle();
    }
  }

  /**
   * The connection is dropped and nothing reads its transactions or the bytes they handed out
   * any more: they go, and the arena's slab is reused by another connection (Arena.dispose).
   * The parser is not fed again.
   */
  dispose(): void {
    this.live.length = 0;
    this.arena.dispose();
  }

  get memoryBytes(): number {
    let n = 1024 + this.req.line.capacity + this.res.line.capacity + this.req.raw.capacity + this.res.raw.capacity + this.arena.capacity;
    if (this.req.ph !== PH_NONE) n += this.req.headerBuf.capacity;
    if (this.res.ph !== PH_NONE) n += this.res.headerBuf.capacity;
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
    if (this.reqState === RQ_IGNORE09) {
      this.counters.ignoredBytes += len;
      return;
    }
    if (this.reqState === RQ_CONNECT_WAIT) {
      this.hold(data, off, len);
      return;
    }
    this.runRequest(data, off, off + len);
  }

  response(data: Uint8Array, off: number, len: number, tsUs?: number): void {
    if (len <= 0) return;
    this.counters.responseBytes += len;
    if (tsUs !== undefined) this.tsUs = tsUs;
    if (this.state !== 'http' || this.resStopped) {
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
    if (this.reqState === RQ_BODY_CL && len <= this.req.left && t !== null) {
      // libhtp-rs: a gap inside a body of known length is skipped; parsing continues after it.
      this.req.left -= len;
      t.requestMessageLength += len;
      this.counters.gapsResynced++;
      if (this.req.left === 0) this.reqState = RQ_FINALIZE;
      return;
    }
    if (this.reqState === RQ_IGNORE09) return;
    this.fail('request_gap');
  }

  responseGap(len: number): void {
    this.counters.responseGaps++;
    this.counters.gapBytes += len;
    if (this.state !== 'http' || this.resStopped || len <= 0) return;
    const t = this.resTx;
    if (t !== null) t.event('GAP');
    if (this.resState === RS_BODY_CL && len <= this.res.left && t !== null) {
      this.res.left -= len;
      t.responseMessageLength += len;
      this.counters.gapsResynced++;
      if (this.res.left === 0) this.responseComplete();
      return;
    }
    if (this.resState === RS_BODY_CLOSE && t !== null) {
      t.responseMessageLength += len;
      this.counters.gapsResynced++;
      return;
    }
    if (this.resState === RS_BODY_CL && t !== null) {
      // The gap goes beyond the body: the body ends inside it, the rest falls between responses.
      t.responseMessageLength += this.res.left;
      this.res.left = 0;
      this.responseComplete();
      if ((this.state as HttpParserState) !== 'http') return;
    }
    // Anywhere else the response side cannot find its next message again: it stops, the
    // request side goes on (Suricata keeps parsing the requests after such a gap).
    // Counted in responseGaps; its bytes from here on in ignoredBytes.
    this.resStopped = true;
    this.res.line.clear();
  }

  requestEnd(): void {
    if (this.reqClosed) return;
    this.reqClosed = true;
    if (this.state !== 'http') return;
    if (this.reqState === RQ_LINE && this.req.line.length > 0 && this.reqTx !== null) {
      // libhtp-rs processes a buffered request line without LF when the stream closes.
      const line = this.req.line.copy();
      this.req.line.clear();
      this.requestLine(this.reqTx, line, 0, line.length, EMPTY, 0, 0);
    }
    if (this.reqState === RQ_HEADERS && this.reqTx !== null) {
      this.headers.close(this.reqTx, true);
      this.headers.flush(this.req, this.reqTx, true);
      this.requestHeadersDone(this.reqTx);
    }
    const rs = this.reqState;
    if ((rs === RQ_BODY_CL || rs === RQ_CHUNK_LEN || rs === RQ_CHUNK_DATA || rs === RQ_CHUNK_END || rs === RQ_FINALIZE) && this.reqTx !== null) {
      this.requestComplete();
    }
  }

  responseEnd(): void {
    if (this.resClosed) return;
    this.resClosed = true;
    if (this.state !== 'http' || this.resStopped) return;
    const t = this.resTx;
    if (t === null) return;
    if (this.resState === RS_HEADERS) {
      this.headers.close(t, false);
      this.headers.flush(this.res, t, false);
      this.responseHeadersDone(t);
    }
    if ((this.state as HttpParserState) !== 'http') return;
    if (this.resState !== RS_IDLE && this.resState !== RS_LINE) this.responseComplete();
    else if (this.resState === RS_LINE && this.res.line.length > 0) this.res.line.clear();
  }

  // ---------------------------------------------------------------- helpers

  private skipped(len: number): void {
    if (this.state === 'tunnel') this.counters.tunnelBytes += len;
    else this.counters.ignoredBytes += len;
  }

  /** @internal */
  fail(reason: HttpFailReason): void {
    if (this.state !== 'http') return;
    this.state = 'failed';
    this.failReason = reason;
    this.req.line.clear();
    this.res.line.clear();
    this.req.ph = PH_NONE;
    this.res.ph = PH_NONE;
    this.pending = null;
  }

  /** @internal */
  limitHit(kind: HttpLimitKind): void {
    this.counters.limits[kind] = (this.counters.limits[kind] ?? 0) + 1;
  }

  /** @internal */
  event(t: Tx | null, name: HttpEventName): void {
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
    if (this.state !== 'http' || this.reqState !== RQ_CONNECT_WAIT) return;
    const t = this.reqTx;
    if (t === null || t.responseProgress <= 1) return;
    if (t.statusNumber >= 200 && t.statusNumber <= 299) {
      // Tunnel established: Suricata hands the flow to protocol detection (tunnelled TLS...).
      this.requestComplete();
      if (t.responseProgress === 5) this.enterTunnel('connect', t);
      return;
    }
    this.reqState = RQ_FINALIZE;
    const p = this.pending;
    this.pending = null;
    if (p !== null && p.length > 0) this.runRequest(p.buf, 0, p.length);
    else this.requestComplete();
  }

  /**
   * Bytes after the switch to a tunnel in the segment that completed it (a WebSocket frame in
   * the segment of the 101), per side [request, response], for the protocol that takes over;
   * bounded by MAX_TUNNEL_KEPT per side (the rest counted in tunnelBytes).
   */
  readonly tunnelKept: [Uint8Array | null, Uint8Array | null] = [null, null];

  private keepTunnel(side: 0 | 1, d: Uint8Array, p: number, end: number): void {
    const n = Math.min(end - p, MAX_TUNNEL_KEPT - (this.tunnelKept[side]?.length ?? 0));
    this.counters.tunnelBytes += end - p - Math.max(0, n);
    if (n <= 0) return;
    const prev = this.tunnelKept[side];
    const b = new Uint8Array((prev?.length ?? 0) + n);
    if (prev !== null) b.set(prev);
    b.set(d.subarray(p, p + n), prev?.length ?? 0);
    this.tunnelKept[side] = b;
  }

  /** The kept tunnel bytes, once: [request, response]. */
  takeTunnelKept(): [Uint8Array | null, Uint8Array | null] {
    const k: [Uint8Array | null, Uint8Array | null] = [this.tunnelKept[0], this.tunnelKept[1]];
    this.tunnelKept[0] = null;
    this.tunnelKept[1] = null;
    return k;
  }

  private enterTunnel(upgrade: string, t: Tx): void {
    if (this.state !== 'http') return;
    this.state = 'tunnel';
    this.tunnelUpgrade = upgrade;
    const outcome = this.onTunnel === undefined ? 'change' : this.onTunnel(upgrade, t);
    this.tunnelChange = outcome === 'change';
    if (outcome === 'refused') this.event(t, 'FAILED_PROTOCOL_CHANGE');
    if (this.pending !== null) {
      this.counters.tunnelBytes += this.pending.length;
      this.pending = null;
    }
  }

  /**
   * Takes one line ending in LF starting at `p`, joined to a buffered partial line: sets
   * lb/ls/le and returns the offset after it; -1 when the line is buffered (or failed).
   */
  private takeLine(side: Side, d: Uint8Array, p: number, end: number, request: boolean): number {
    let lf = p;
    while (lf < end && d[lf] !== LF) lf++;
    const extra = side.pendingLength;
    if (lf === end) {
      if (side.line.length + (end - p) + extra > this.limits.fieldLimit) {
        this.fieldTooLong(request);
        return -1;
      }
      side.line.append(d, p, end);
      return -1;
    }
    if (side.line.length > 0) {
      // The joined line stays readable in the old storage until the next append (none happens
      // before the line is consumed).
      side.line.append(d, p, lf + 1);
      this.lb = side.line.buf;
      this.ls = 0;
      this.le = side.line.length;
      side.line.clear();
    } else {
      this.lb = d;
      this.ls = p;
      this.le = lf + 1;
    }
    if (this.le - this.ls + extra > this.limits.fieldLimit) {
      this.fieldTooLong(request);
      return -1;
    }
    return lf + 1;
  }

  private fieldTooLong(request: boolean): void {
    this.limitHit('field');
    if (request) {
      this.event(this.reqTx, 'REQUEST_FIELD_TOO_LONG');
      this.fail('request_field_too_long');
    } else {
      this.event(this.resTx, 'RESPONSE_FIELD_TOO_LONG');
      this.fail('response_field_too_long');
    }
  }

  private newTx(): Tx | null {
    if (this.live.length >= this.limits.maxTransactions) {
      this.limitHit('transactions');
      this.fail('too_many_transactions');
      return null;
    }
    const t = new Tx(this.nextId++, this.arena);
    t.requestBody = new BodyAcc(this, t, true);
    t.responseBody = new BodyAcc(this, t, false);
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
    this.requestLoop(segmentView(d, end), p, end);
    // the segment is the caller's: an open header block must not stay a range of it
    if (this.reqTx !== null) spill(this.reqTx.reqRaw, this.req);
  }

  private requestLoop(d: Uint8Array, p: number, end: number): void {
    while (this.state === 'http') {
      const t = this.reqTx;
      switch (this.reqState) {
        case RQ_IDLE: {
          if (p >= end) return;
          const nt = this.newTx();
          if (nt === null) return;
          this.reqTx = nt;
          nt.requestProgress = 1;
          nt.requestStartUs = this.tsUs;
          this.reqState = RQ_LINE;
          break;
        }
        case RQ_LINE: {
          if (p >= end || t === null) return;
          const q = this.takeLine(this.req, d, p, end, true);
          if (q < 0) return;
          p = q;
          const lb = this.lb;
          const ls = this.ls;
          const le = this.le;
          if (isEmptyLine(lb, ls, le)) break; // libhtp ignores empty lines before a request line
          this.requestLine(t, lb, ls, chompEnd(lb, ls, le), d, p, end);
          break;
        }
        case RQ_HEADERS: {
          if (p >= end || t === null) return;
          const q = this.takeLine(this.req, d, p, end, true);
          if (q < 0) return;
          p = q;
          this.headers.line(this.req, t, true, this.lb, this.ls, this.le);
          break;
        }
        case RQ_BODY_CL: {
          if (p >= end || t === null) return;
          p = this.bodyBytes(t, true, d, p, end);
          if (this.req.left === 0) this.reqState = RQ_FINALIZE;
          break;
        }
        case RQ_CHUNK_LEN: {
          if (p >= end || t === null) return;
          const q = this.takeLine(this.req, d, p, end, true);
          if (q < 0) return;
          p = q;
          t.requestMessageLength += this.le - this.ls;
          this.chunkLength(t, true);
          break;
        }
        case RQ_CHUNK_DATA: {
          if (p >= end || t === null) return;
          p = this.bodyBytes(t, true, d, p, end);
          if (this.req.left === 0) this.reqState = RQ_CHUNK_END;
          break;
        }
        case RQ_CHUNK_END: {
          if (p >= end || t === null) return;
          const q = this.chunkEnd(t, true, d, p, end);
          if (q < 0) return;
          p = q;
          this.reqState = RQ_CHUNK_LEN;
          break;
        }
        case RQ_FINALIZE: {
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
        case RQ_CONNECT_WAIT:
          if (p < end) this.hold(d, p, end - p);
          return;
        default: // RQ_IGNORE09
          if (p < end) this.counters.ignoredBytes += end - p;
          return;
      }
    }
    if (this.state === 'tunnel' && p < end) this.keepTunnel(0, d, p, end);
  }

  /**
   * libhtp-rs request_finalize: data after a complete request. A line that does not start with
   * a known method is the request body continuing (REQUEST_BODY_UNEXPECTED); a method starts
   * the next request.
   */
  private finalizeData(t: Tx, d: Uint8Array, p: number, end: number): number {
    // line ends are found by the native search (d ends at `end`: runRequest's view)
    let lf = indexOfLf(d, p);
    if (lf < 0) {
      // No line end yet: libhtp buffers and decides once the line is complete.
      if (this.req.line.length + (end - p) > this.limits.fieldLimit) {
        this.fieldTooLong(true);
        return end;
      }
      this.req.line.append(d, p, end);
      return end;
    }
    if (t.requestBody.decoding) return this.finalizeLine(t, d, p, lf);
    // Without decoders a write raises no tx event and keeps bytes the same whether it comes
    // line by line or at once: a buffered start, this line and the segment's further body
    // lines go in one write each (the first line that starts a request, or a partial one, is
    // left to the next call), after the one event they may raise (the tx records an event once).
    const held = this.req.line.length;
    const first = held > 0 ? lineStartJoined(this.req.line.buf, held, d, p, lf + 1) : lineStart(d, p, lf + 1);
    if (first === LINE_METHOD) {
      // The next request: the buffered part stays in the line buffer for the request-line state.
      this.requestComplete(true);
      return p;
    }
    let other = first === LINE_OTHER;
    let q = lf + 1;
    while (q < end) {
      lf = indexOfLf(d, q);
      if (lf < 0) break;
      const k = lineStart(d, q, lf + 1);
      if (k === LINE_METHOD) break;
      if (k === LINE_OTHER) other = true;
      q = lf + 1;
    }
    if (other) this.event(t, 'REQUEST_BODY_UNEXPECTED');
    if (held > 0) {
      t.requestMessageLength += held;
      t.requestBody.write(this.req.line.buf, 0, held);
      this.req.line.clear();
    }
    t.requestMessageLength += q - p;
    t.requestBody.write(d, p, q);
    return q;
  }

  /** finalizeData with decoders (their input chunking can matter): the line d[p, lf], joined to a buffered start, in one write. */
  private finalizeLine(t: Tx, d: Uint8Array, p: number, lf: number): number {
    let line = d;
    let s0 = p;
    let e0 = lf + 1;
    if (this.req.line.length > 0) {
      // The buffered start and this segment's rest, joined in a scratch buffer (the line
      // buffer itself stays as it is: a request line re-reads it).
      const sc = (this.scratch ??= new ByteBuf(256));
      sc.length = 0;
      sc.append(this.req.line.buf, 0, this.req.line.length);
      sc.append(d, p, lf + 1);
      line = sc.buf;
      s0 = 0;
      e0 = sc.length;
    }
    const first = lineStart(line, s0, e0);
    if (first === LINE_METHOD) {
      this.requestComplete(true);
      return p;
    }
    if (first === LINE_OTHER) this.event(t, 'REQUEST_BODY_UNEXPECTED');
    t.requestMessageLength += e0 - s0;
    t.requestBody.write(line, s0, e0);
    this.req.line.clear();
    return lf + 1;
  }

  /** Consumes up to `side.left` body bytes (Content-Length body or chunk data) into the tx body. */
  private bodyBytes(t: Tx, request: boolean, d: Uint8Array, p: number, end: number): number {
    const side = request ? this.req : this.res;
    const n = Math.min(end - p, side.left);
    if (request) {
      t.requestMessageLength += n;
      t.requestBody.write(d, p, p + n);
    } else {
      t.responseMessageLength += n;
      t.responseBody.write(d, p, p + n);
    }
    side.left -= n;
    return p + n;
  }

  /** After chunk data, everything up to the LF is skipped (libhtp); -1 when the LF is not there yet. */
  private chunkEnd(t: Tx, request: boolean, d: Uint8Array, p: number, end: number): number {
    let lf = p;
    while (lf < end && d[lf] !== LF) lf++;
    const stop = lf === end ? end : lf + 1;
    if (request) t.requestMessageLength += stop - p;
    else t.responseMessageLength += stop - p;
    return lf === end ? -1 : stop;
  }

  /** The request line L[ls, le) (chomped); d[p, end) is what follows it in the segment. */
  private requestLine(t: Tx, L: Uint8Array, ls: number, le: number, d: Uint8Array, p: number, end: number): void {
    // parsed in its copy: positions are absolute in `line`, stored relative to `b`
    const b = this.arena.put(L, ls, le);
    const line = this.arena.last;
    const n = b + (le - ls);
    t.setRequestLine(line, b, le - ls);
    let pos = b;
    while (pos < n && isSpace(line[pos]!)) pos++;
    if (pos > b) this.event(t, 'REQUEST_LINE_LEADING_WHITESPACE');
    const ms = pos;
    while (pos < n && !isSpace(line[pos]!)) pos++;
    t.mS = ms - b;
    t.mE = pos - b;
    const m = methodAt(line, ms, pos);
    t.methodKnown = m >= 0;
    t.isConnect = m === M_CONNECT;
    t.isHead = m === M_HEAD;
    let badDelim = false;
    while (pos < n && isSpace(line[pos]!)) {
      if (line[pos] !== 0x20) badDelim = true;
      pos++;
    }
    if (badDelim) this.event(t, 'METHOD_DELIM_NON_COMPLIANT');
    let protoStart = n;
    let protoEnd = n;
    if (pos < n) {
      // Suricata 8 runs libhtp-rs with allow_space_uri: the protocol follows the LAST SP of the
      // (trimmed) rest of the line, so a URI may hold spaces ("GET /a b HTTP/1.1" → "/a b").
      // With no SP at all but other whitespace, the last of that splits (URI_DELIM_NON_COMPLIANT).
      let re = n;
      while (re > pos && isSpace(line[re - 1]!)) re--;
      let sp = re - 1;
      while (sp >= pos && line[sp] !== 0x20) sp--;
      if (sp < pos) {
        let ws = re - 1;
        while (ws >= pos && !isSpace(line[ws]!)) ws--;
        if (ws >= pos) {
          this.event(t, 'URI_DELIM_NON_COMPLIANT');
          sp = ws;
        }
      }
      let ue = sp >= pos ? sp : re;
      let ps = sp >= pos ? sp + 1 : re;
      while (ue > pos && isSpace(line[ue - 1]!)) ue--;
      while (ps < re && isSpace(line[ps]!)) ps++;
      t.uS = pos - b;
      t.uE = ue - b;
      protoStart = ps;
      protoEnd = re;
    }
    if (protoStart < protoEnd) {
      const pe = protoEnd;
      t.pS = protoStart - b;
      t.pE = pe - b;
      t.requestProtocolNumber = parseProtocolAt(line, protoStart, pe);
    } else {
      t.isHttp09 = true;
      t.requestProtocolNumber = PROTO_0_9;
    }
    if (t.isHttp09 && !t.methodKnown) this.event(t, 'REQUEST_LINE_INVALID');
    if (!t.isHttp09 && !t.methodKnown && t.requestProtocolNumber === PROTO_INVALID) this.event(t, 'REQUEST_LINE_INVALID');
    this.parseTarget(t, line, b);
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
      this.reqState = RQ_FINALIZE;
    } else {
      t.requestProgress = 2;
      this.reqState = RQ_HEADERS;
    }
  }

  /** The request target: bytes [b + t.uS, b + t.uE) of `line`. */
  private parseTarget(t: Tx, line: Uint8Array, b: number): void {
    if (t.uS < 0) return;
    const u = SPANS;
    parseUriSpans(line, b + t.uS, b + t.uE, u);
    const o = normalizedUriOf(line, u, this.arena);
    t.setUriNormalized(this.arena.last, o, normalizedLength);
    if (u.hostS >= 0) {
      const hn = line.subarray(u.hostS, u.hostE);
      const h = normalizeHostname(urlDecodeUriPart(hn));
      t.uriHost = hn;
      t.hostNormalized = h;
      t.hostRaw = hn;
      if (!validateHostname(h)) this.event(t, 'REQUEST_URI_HOST_INVALID');
    }
    if (u.portS >= 0) {
      const port = parsePositiveIntWsAt(line, u.portS, u.portE);
      if (port > 0 && port < 65536) {
        t.uriPort = port;
      } else {
        this.event(t, 'REQUEST_URI_HOST_INVALID');
      }
    }
    t.hostPort = t.uriPort ?? -1;
  }

  /** End of a request header block (headers, or trailers after a chunked body). */
  private requestHeadersDone(t: Tx): void {
    if (t.requestProgress >= 3) {
      // Trailer block complete.
      this.reqState = RQ_FINALIZE;
      return;
    }
    const te = t.reqHeaders.te;
    const cl = t.reqHeaders.cl;
    let mode: 'chunked' | 'cl' | 'none' | 'invalid' = 'none';
    if (te !== undefined) {
      if (!hasToken(te.valueStore(), te.valueStart, te.valueEnd, 'chunked')) {
        this.event(t, 'INVALID_TRANSFER_ENCODING_VALUE_IN_REQUEST');
        mode = 'invalid';
      } else {
        if (t.requestProtocolNumber < PROTO_1_1) this.event(t, 'INVALID_TRANSFER_ENCODING_VALUE_IN_REQUEST');
        mode = 'chunked';
      }
    } else if (cl !== undefined) {
      const v = parseContentLengthAt(cl.valueStore(), cl.valueStart, cl.valueEnd);
      if (v < 0) {
        this.event(t, 'INVALID_CONTENT_LENGTH_FIELD_IN_REQUEST');
        mode = 'invalid';
      } else {
        t.requestContentLength = v;
        mode = 'cl';
      }
    }
    // Host: the URI's authority wins; the header fills in when the URI has none.
    const hh = t.reqHeaders.host;
    if (hh === undefined) {
      if (t.requestProtocolNumber >= PROTO_1_1) this.event(t, 'MISSING_HOST_HEADER');
    } else {
      const hp = HOST_PORT;
      parseHostPortAt(hh.valueStore(), hh.valueStart, hh.valueEnd, hp);
      if (hp.invalid) this.event(t, 'REQUEST_HEADER_HOST_INVALID');
      if (hp.hostname !== null) {
        if (t.hostNormalized === null) {
          t.hostNormalized = hp.hostname;
          t.hostRaw = hh.value;
          t.hostPort = hp.port;
        } else if (!sameBytes(hp.hostname, t.hostNormalized) || (t.hostPort !== -1 && hp.port !== -1 && t.hostPort !== hp.port)) {
          this.event(t, 'HOST_HEADER_AMBIGUOUS');
        }
      } else if (t.hostNormalized !== null) {
        this.event(t, 'HOST_HEADER_AMBIGUOUS');
      }
      hp.hostname = null;
    }
    // libhtp htp_parse_authorization: a scheme other than Basic, Digest or Bearer (prefix,
    // case-insensitive) is an unrecognized authentication method.
    const auth = t.reqHeaders.get('authorization');
    if (auth !== undefined) {
      const v = auth.value;
      if (!startsNoCase(v, 'basic') && !startsNoCase(v, 'digest') && !startsNoCase(v, 'bearer')) this.event(t, 'REQUEST_AUTH_UNRECOGNIZED');
    }
    const ce = t.reqHeaders.ce;
    if (ce !== undefined) t.requestBody.setEncoding(ce.value, this.limits.decompressionLayers);
    if (mode === 'invalid') {
      // libhtp: undeterminable request body framing is a stream error.
      this.fail(te !== undefined ? 'invalid_request_transfer_encoding' : 'invalid_request_content_length');
      return;
    }
    if (t.isConnect) {
      this.reqState = RQ_CONNECT_WAIT;
      return;
    }
    if (mode === 'chunked') {
      t.requestChunked = true;
      t.requestProgress = 3;
      this.reqState = RQ_CHUNK_LEN;
    } else if (mode === 'cl' && t.requestContentLength! > 0) {
      t.requestProgress = 3;
      this.req.left = t.requestContentLength!;
      t.requestBody.expect(this.req.left);
      this.reqState = RQ_BODY_CL;
    } else {
      this.reqState = RQ_FINALIZE;
    }
  }

  /** The chunk-size line takeLine found. */
  private chunkLength(t: Tx, request: boolean): void {
    const lb = this.lb;
    const ls = this.ls;
    const le = this.le;
    let ctl = true;
    for (let i = ls; i < le; i++) if (!isChunkCtl(lb[i]!)) { ctl = false; break; }
    if (ctl) return; // libhtp-rs skips empty lines between chunks
    const len = parseChunkLengthAt(lb, ls, chompEnd(lb, ls, le));
    if (len < 0) {
      if (request) {
        this.event(t, 'INVALID_REQUEST_CHUNK_LEN');
        this.fail('invalid_request_chunk_len');
      } else {
        this.event(t, 'INVALID_RESPONSE_CHUNK_LEN');
        this.fail('invalid_response_chunk_len');
      }
      return;
    }
    if (chunkExt) this.event(t, request ? 'REQUEST_CHUNK_EXTENSION' : 'RESPONSE_CHUNK_EXTENSION');
    if (request) {
      if (len === 0) {
        t.requestProgress = 4;
        this.reqState = RQ_HEADERS;
      } else {
        this.req.left = len;
        this.reqState = RQ_CHUNK_DATA;
      }
    } else if (len === 0) {
      t.responseProgress = 4;
      this.resState = RS_HEADERS;
    } else {
      this.res.left = len;
      this.resState = RS_CHUNK_DATA;
    }
  }

  private requestComplete(keepLine = false): void {
    const t = this.reqTx;
    if (t === null) return;
    if (t.requestProgress !== 5) t.requestProgress = 5;
    t.requestBody.finish();
    this.reqState = t.isHttp09 ? RQ_IGNORE09 : RQ_IDLE;
    if (!keepLine) this.req.line.clear();
    this.req.ph = PH_NONE;
  }

  // ---------------------------------------------------------------- response side

  private runResponse(d: Uint8Array, p: number, end: number): void {
    this.responseLoop(segmentView(d, end), p, end);
    if (this.resTx !== null) spill(this.resTx.resRaw, this.res);
  }

  private responseLoop(d: Uint8Array, p: number, end: number): void {
    while (this.state === 'http') {
      const t = this.resTx;
      switch (this.resState) {
        case RS_IDLE: {
          if (p >= end) return;
          if (!this.responseStart()) return;
          break;
        }
        case RS_LINE: {
          if (p >= end || t === null) return;
          const q = this.takeLine(this.res, d, p, end, false);
          if (q < 0) return;
          p = q;
          const lb = this.lb;
          const ls = this.ls;
          const le = this.le;
          if (isEmptyLine(lb, ls, le)) break;
          const ce = chompEnd(lb, ls, le);
          if (!(ce - ls >= 4 && eqNoCaseAt(lb, ls, ls + 4, 'http'))) {
            // Not a status line: browsers treat it as body; libhtp too, unless the next line starts with 'H'.
            if (p < end && (d[p] === 0x48 || ce - ls <= 2)) break;
            t.responseMessageLength += le - ls;
            t.responseBody.write(lb, ls, le);
            t.responseProgress = 3;
            this.resState = RS_BODY_CLOSE;
            break;
          }
          this.statusLine(t, lb, ls, ce);
          t.responseProgress = 2;
          this.resState = RS_HEADERS;
          break;
        }
        case RS_HEADERS: {
          if (p >= end || t === null) return;
          const q = this.takeLine(this.res, d, p, end, false);
          if (q < 0) return;
          p = q;
          this.headers.line(this.res, t, false, this.lb, this.ls, this.le);
          break;
        }
        case RS_BODY_CL: {
          if (p >= end || t === null) return;
          p = this.bodyBytes(t, false, d, p, end);
          if (this.res.left === 0) this.responseComplete();
          break;
        }
        case RS_BODY_CLOSE: {
          if (p >= end || t === null) return;
          t.responseMessageLength += end - p;
          t.responseBody.write(d, p, end);
          return;
        }
        case RS_CHUNK_LEN: {
          if (p >= end || t === null) return;
          const q = this.takeLine(this.res, d, p, end, false);
          if (q < 0) return;
          p = q;
          t.responseMessageLength += this.le - this.ls;
          this.chunkLength(t, false);
          break;
        }
        case RS_CHUNK_DATA: {
          if (p >= end || t === null) return;
          p = this.bodyBytes(t, false, d, p, end);
          if (this.res.left === 0) this.resState = RS_CHUNK_END;
          break;
        }
        default: { // RS_CHUNK_END
          if (p >= end || t === null) return;
          const q = this.chunkEnd(t, false, d, p, end);
          if (q < 0) return;
          p = q;
          this.resState = RS_CHUNK_LEN;
          break;
        }
      }
    }
    if (this.state === 'tunnel' && p < end) this.keepTunnel(1, d, p, end);
  }

  private responseStart(): boolean {
    let t = this.txById(this.resNextId);
    if (t === null || this.resNextId >= this.nextId) {
      // libhtp: "Unable to match response to request": a tx is made up for the response.
      const nt = this.newTx();
      if (nt === null) return false;
      t = nt;
      if (this.reqState === RQ_FINALIZE) this.requestComplete();
      t.responseWithoutRequest = true;
      t.setUriNotSeen(fromLatin1(NOT_SEEN));
      t.requestProgress = 5;
      this.event(t, 'UNABLE_TO_MATCH_RESPONSE_TO_REQUEST');
      if (this.reqTx === null || this.reqTx.requestProgress === 5) this.reqTx = t;
    }
    this.resNextId = t.id + 1;
    this.resTx = t;
    t.responseStartUs = this.tsUs;
    if (t.mS < 0 && t.uriRaw === null && this.reqState === RQ_LINE && t === this.reqTx) this.event(t, 'REQUEST_LINE_INCOMPLETE');
    if (t.isHttp09) {
      t.responseProgress = 3;
      this.resState = RS_BODY_CLOSE;
    } else {
      t.responseProgress = 1;
      this.resState = RS_LINE;
    }
    return true;
  }

  /** The status line L[ls, le) (chomped). */
  private statusLine(t: Tx, L: Uint8Array, ls: number, le: number): void {
    const b = this.arena.put(L, ls, le);
    const line = this.arena.last;
    const len = b + (le - ls);
    t.setResponseLine(line, b, le - ls);
    let pos = b;
    while (pos < len && isSpace(line[pos]!)) pos++;
    let s = pos;
    while (pos < len && !isSpace(line[pos]!)) pos++;
    t.setResponseProtocol(s - b, pos - b);
    t.responseProtocolNumber = parseProtocolAt(line, s, pos);
    while (pos < len && isSpace(line[pos]!)) pos++;
    if (pos < len) {
      s = pos;
      while (pos < len && !isSpace(line[pos]!)) pos++;
      t.setStatusCode(s - b, pos - b);
      const v = parsePositiveIntWsAt(line, s, pos);
      t.statusNumber = v >= 100 && v <= 999 ? v : -1;
      while (pos < len && isSpace(line[pos]!)) pos++;
      if (pos < len) {
        t.setStatusMessage(pos - b, len - b);
      }
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
    if (t.isConnect && status >= 200 && status <= 299) {
      this.responseComplete();
      return;
    }
    const te = t.resHeaders.te;
    const cl = t.resHeaders.cl;
    if (status === 101 && te === undefined && cl === undefined) {
      const up = t.resHeaders.upgrade;
      this.responseComplete();
      this.enterTunnel(up === undefined ? 'upgrade' : latin1(up.value), t);
      return;
    }
    if (status === 100 && te === undefined && (cl === undefined || parseContentLengthAt(cl.valueStore(), cl.valueStart, cl.valueEnd) <= 0)) {
      if (t.seen100Continue) {
        this.event(t, '100_CONTINUE_ALREADY_SEEN');
        this.fail('repeated_100_continue');
        return;
      }
      // Interim response: headers dropped, the real status line follows.
      t.seen100Continue = true;
      t.resHeaders.clear();
      t.resGen++;
      t.responseProgress = 1;
      this.resState = RS_LINE;
      return;
    }
    let noBody = false;
    if (t.isHead) noBody = true;
    else if ((status >= 100 && status <= 199) || status === 204 || status === 304) {
      if (te === undefined && cl === undefined) noBody = true;
      else this.event(t, 'RESPONSE_BODY_UNEXPECTED');
    }
    if (noBody) {
      this.responseComplete();
      return;
    }
    const ce = t.resHeaders.ce;
    if (ce !== undefined) t.responseBody.setEncoding(ce.value, this.limits.decompressionLayers);
    if (te !== undefined && indexOfNoCaseAt(te.valueStore(), te.valueStart, te.valueEnd, 'chunked') >= 0) {
      if (!eqNoCaseAt(te.valueStore(), te.valueStart, te.valueEnd, 'chunked')) this.event(t, 'RESPONSE_ABNORMAL_TRANSFER_ENCODING');
      if (t.responseProtocolNumber < PROTO_1_1) this.event(t, 'RESPONSE_CHUNKED_OLD_PROTO');
      t.responseChunked = true;
      t.responseProgress = 3;
      this.resState = RS_CHUNK_LEN;
      return;
    }
    if (cl !== undefined) {
      const v = parseContentLengthAt(cl.valueStore(), cl.valueStart, cl.valueEnd);
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
      t.responseBody.expect(v);
      this.resState = RS_BODY_CL;
      return;
    }
    const ct = t.resHeaders.ct;
    if (ct !== undefined && indexOfNoCaseAt(ct.valueStore(), ct.valueStart, ct.valueEnd, 'multipart/byteranges') >= 0) {
      this.event(t, 'RESPONSE_MULTIPART_BYTERANGES');
      this.fail('response_multipart_byteranges');
      return;
    }
    t.responseProgress = 3;
    this.resState = RS_BODY_CLOSE;
  }

  private responseComplete(): void {
    const t = this.resTx;
    if (t === null) return;
    t.responseProgress = 5;
    t.responseBody.finish();
    this.resState = RS_IDLE;
    this.res.line.clear();
    this.res.ph = PH_NONE;
    if (t.isConnect && t.statusNumber >= 200 && t.statusNumber <= 299 && t === this.reqTx) {
      this.requestComplete();
      this.enterTunnel('connect', t);
      return;
    }
    // libhtp yields to the request side at the end of a failed CONNECT's response.
    if (this.reqState === RQ_CONNECT_WAIT) this.resumeRequest();
  }
}


// the field parsers lived here: same names for importers
export { PROTO_0_9, PROTO_1_0, PROTO_1_1, PROTO_INVALID, PROTO_UNKNOWN, isKnownMethod, parseChunkLength, parseContentLength, parseProtocol, parseStatus } from './fields.js';

/** d starts with the lowercase ASCII `lower`, case-insensitively. */
function startsNoCase(d: Uint8Array, lower: string): boolean {
  return d.length >= lower.length && eqNoCaseAt(d, 0, lower.length, lower);
}
