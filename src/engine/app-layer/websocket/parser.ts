/** WebSocket parser: see ./types.ts (contract) and ./README.md (rules, sources). */
import type { AppDirection, AppFrame, AppParser, AppParserState, AppProtoName, AppTx } from '../types.js';
import { FrameLog, StreamPos } from '../frames.js';
import { bump } from '../text/lines.js';
import { Inflater } from '../http/inflate.js';
import { DEFAULT_WEBSOCKET_LIMITS, type WebSocketEventName, type WebSocketFailReason, type WebSocketFrameInfo, type WebSocketLimits } from './types.js';
import { releaseThrough } from '../live-txs.js';

const EMPTY = new Uint8Array(0);
/** RFC 7692 7.2.2: the tail a sender removed from each compressed message. */
const DEFLATE_TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

/** One frame: its header fields and payload (unmasked; for the final frame of a fragmented message, the whole message). */
export class WebSocketTx implements AppTx, WebSocketFrameInfo {
  readonly own = new Set<WebSocketEventName>();
  constructor(
    readonly id: number,
    readonly dir: AppDirection,
    readonly fin: boolean,
    readonly compress: boolean,
    readonly flags: number,
    readonly opcode: number,
    readonly mask: number | null,
    public payload: Uint8Array,
  ) {}

  get events(): readonly string[] {
    return [...this.own].map((e) => `websocket.${e}`);
  }

  /** A frame is complete when parsed; it belongs to its own direction only (Suricata's tx direction). */
  progress(dir: AppDirection): number {
    return dir === this.dir ? 1 : 0;
  }

  complete(): boolean {
    return true;
  }

  buffer(name: string, dir: AppDirection): Uint8Array | null {
    if (dir !== this.dir || name !== 'websocket.payload') return null;
    return this.payload;
  }

  multiBuffer(): readonly Uint8Array[] {
    return [];
  }

  memory(): number {
    return 96 + this.payload.length;
  }
}

/** Per-direction state: bytes of an incomplete frame, bytes left to skip, the message being reassembled. */
class Side {
  pend: Uint8Array = EMPTY;
  pendLen = 0;
  skip = 0;
  parts: Uint8Array[] = [];
  partsLen = 0;
  compress = false;
  /** permessage-deflate decoder of this direction (its window spans messages) and its output for the message at hand. */
  inflater: Inflater | null = null;
  inflateFailed = false;
  infOut: Uint8Array[] = [];
  infLen = 0;

  append(data: Uint8Array, off: number, len: number): void {
    if (this.pendLen + len > this.pend.length) {
      const nb = new Uint8Array(Math.max(this.pendLen + len, this.pend.length * 2, 256));
      nb.set(this.pend.subarray(0, this.pendLen));
      this.pend = nb;
    }
    this.pend.set(data.subarray(off, off + len), this.pendLen);
    this.pendLen += len;
  }

  consume(n: number): void {
    this.pend.copyWithin(0, n, this.pendLen);
    this.pendLen -= n;
    if (this.pendLen === 0 && this.pend.length > 4096) this.pend = EMPTY;
  }

  memory(): number {
    return this.pend.length + this.partsLen + (this.inflater?.memoryBytes ?? 0) + 64;
  }
}

interface Header {
  /** Header length (2..14). */
  hlen: number;
  /** Payload length announced (up to 2^64-1, as a number: exact up to 2^53). */
  plen: number;
  b0: number;
  mask: number | null;
  maskKey: Uint8Array | null;
}

/** RFC 6455 5.2 header at buf[0..len), or null when incomplete. */
function header(buf: Uint8Array, len: number): Header | null {
  if (len < 2) return null;
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  let p = 2;
  let plen = b1 & 0x7f;
  if (plen === 126) {
    if (len < 4) return null;
    plen = (buf[2]! << 8) | buf[3]!;
    p = 4;
  } else if (plen === 127) {
    if (len < 10) return null;
    let v = 0;
    for (let i = 2; i < 10; i++) v = v * 256 + buf[i]!;
    plen = v;
    p = 10;
  }
  let mask: number | null = null;
  let maskKey: Uint8Array | null = null;
  if ((b1 & 0x80) !== 0) {
    if (len < p + 4) return null;
    maskKey = buf.slice(p, p + 4);
    mask = ((buf[p]! << 24) >>> 0) + (buf[p + 1]! << 16) + (buf[p + 2]! << 8) + buf[p + 3]!;
    p += 4;
  }
  return { hlen: p, plen, b0, mask, maskKey };
}

export class WebSocketParser implements AppParser {
  state: AppParserState = 'ok';
  failReason: WebSocketFailReason | null = null;
  readonly upgradeTo: AppProtoName | null = null;
  private readonly limits: WebSocketLimits;
  private readonly cnt: Record<string, number> = {};
  private readonly sides: [Side, Side] = [new Side(), new Side()];
  private readonly live: WebSocketTx[] = [];
  private nextId = 0;

  /** Frames (only when asked for) and the stream position (bytes fed) per direction they count in. */
  private readonly frameLog: FrameLog | null;
  private readonly pos = new StreamPos();

  constructor(limits: Partial<WebSocketLimits> = {}, opts: { frames?: boolean } = {}) {
    this.limits = { ...DEFAULT_WEBSOCKET_LIMITS, ...limits };
    this.frameLog = opts.frames === true ? new FrameLog() : null;
  }

  takeFrames(dir: AppDirection): readonly AppFrame[] {
    return this.frameLog === null ? [] : this.frameLog.take(dir);
  }

  feed(dir: AppDirection, data: Uint8Array, off: number, len: number): void {
    bump(this.cnt, dir === 'to_server' ? 'request_bytes' : 'response_bytes', len);
    this.pos.advance(dir, len);
    if (this.state !== 'ok') {
      bump(this.cnt, 'ignored_bytes', len);
      return;
    }
    const s = this.sides[dir === 'to_server' ? 0 : 1];
    let o = off;
    let n = len;
    if (s.skip > 0) {
      // The rest of a frame longer than maxPayload: not inspected (Suricata's to_skip).
      const k = Math.min(s.skip, n);
      s.skip -= k;
      o += k;
      n -= k;
      bump(this.cnt, 'skipped_bytes', k);
    }
    if (n > 0) s.append(data, o, n);
    this.frames(dir, s);
  }

  private frames(dir: AppDirection, s: Side): void {
    const max = this.limits.maxPayload;
    while (this.state === 'ok' && s.pendLen > 0) {
      const h = header(s.pend, s.pendLen);
      if (h === null) return;
      const take = Math.min(h.plen, max);
      if (s.pendLen < h.hlen + take) return;
      // pend[0] is the stream byte just before the bytes still pending
      const at = this.pos.get(dir) - s.pendLen;
      const payload = s.pend.slice(h.hlen, h.hlen + take);
      if (h.maskKey !== null) {
        const k = h.maskKey;
        for (let i = 0; i < payload.length; i++) payload[i]! ^= k[i & 3]!;
      }
      s.consume(h.hlen + take);
      const tx = this.newTx(dir, h, payload);
      if (tx === null) return;
      if (this.frameLog !== null) {
        // Suricata's WebSocket frames (rust/src/websocket/websocket.rs), tied to the frame's tx.
        this.frameLog.add(dir, 'pdu', at, h.hlen + h.plen, tx.id);
        this.frameLog.add(dir, 'header', at, h.hlen, tx.id);
        this.frameLog.add(dir, 'data', at + h.hlen, h.plen, tx.id);
      }
      if (h.plen > take) {
        tx.own.add('skip_end_of_payload');
        bump(this.cnt, 'event_skip_end_of_payload');
        const rest = h.plen - take;
        // Bytes of the frame already here are skipped now, the others as they come.
        const now = Math.min(rest, s.pendLen);
        s.consume(now);
        s.skip = rest - now;
        bump(this.cnt, 'skipped_bytes', now);
      }
    }
  }

  private newTx(dir: AppDirection, h: Header, payload: Uint8Array): WebSocketTx | null {
    if (this.live.length >= this.limits.maxTransactions) {
      bump(this.cnt, 'limit_transactions');
      this.fail('too_many_transactions');
      return null;
    }
    const fin = (h.b0 & 0x80) !== 0;
    const compress = (h.b0 & 0x40) !== 0;
    const opcode = h.b0 & 0x0f;
    const tx = new WebSocketTx(this.nextId++, dir, fin, compress, h.b0 & 0xf0, opcode, h.mask, payload);
    this.live.push(tx);
    bump(this.cnt, 'frames');
    // Control frames (opcode 8-15) may come between the fragments of a message (RFC 6455 5.4)
    // and are never fragmented: they stand alone and leave the message being reassembled as is.
    if (opcode >= 8) return tx;
    const s = this.sides[dir === 'to_server' ? 0 : 1];
    const max = this.limits.maxPayload;
    if (s.partsLen > 0 || !fin) {
      if (s.partsLen === 0) s.compress = compress;
      if (s.partsLen + payload.length < max) {
        s.parts.push(payload);
        s.partsLen += payload.length;
      } else {
        if (s.partsLen < max) {
          s.parts.push(payload.subarray(0, max - s.partsLen));
          s.partsLen = max;
        }
        tx.own.add('reassembly_limit_reached');
        bump(this.cnt, 'event_reassembly_limit_reached');
      }
    }
    let compressed = false;
    if (fin && s.partsLen > 0) {
      // The final frame carries the whole message.
      tx.payload = concat(s.parts, s.partsLen);
      s.parts = [];
      s.partsLen = 0;
      compressed = s.compress;
      s.compress = false;
    } else if (fin) compressed = compress;
    if (compressed) tx.payload = this.inflate(s, tx.payload);
    return tx;
  }

  /**
   * permessage-deflate (RFC 7692 7.2.2): the message plus 00 00 FF FF as raw deflate through the
   * direction's one decoder, so messages may refer to earlier ones (context takeover, the
   * default; without takeover they simply do not). Output kept up to maxInflated per message
   * (the rest is decoded for the window and dropped, counted); when nothing decodes (the stream
   * is broken: the decoder stays failed), the payload stays as it came.
   */
  private inflate(s: Side, data: Uint8Array): Uint8Array {
    const max = this.limits.maxInflated;
    s.infOut = [];
    s.infLen = 0;
    s.inflater ??= new Inflater('raw', (d) => {
      const k = Math.min(d.length, max - s.infLen);
      if (k > 0) {
        s.infOut.push(d.slice(0, k));
        s.infLen += k;
      }
      if (k < d.length) bump(this.cnt, 'limit_inflated', d.length - Math.max(0, k));
      return true;
    });
    const inf = s.inflater;
    if (inf.status === 'more') inf.push(data);
    if (inf.status === 'more') inf.push(DEFLATE_TAIL);
    if (inf.status === 'error' && !s.inflateFailed) {
      s.inflateFailed = true;
      bump(this.cnt, 'inflate_errors');
    }
    bump(this.cnt, 'inflated_messages');
    const out = s.infLen > 0 ? concat(s.infOut, s.infLen) : data;
    s.infOut = [];
    s.infLen = 0;
    return out;
  }

  gap(dir: AppDirection, len: number): void {
    bump(this.cnt, dir === 'to_server' ? 'request_gaps' : 'response_gaps');
    bump(this.cnt, 'gap_bytes', len);
    // Suricata's WebSocket parser does not accept gaps: nothing tells where the next frame starts.
    if (this.state === 'ok') this.fail('gap');
  }

  end(): void {
    // An incomplete frame at the end of a direction is never a transaction.
  }

  *txs(): Iterable<WebSocketTx> {
    yield* this.live;
  }

  release(id: number): void {
    releaseThrough(this.live, id);
  }

  memory(): number {
    let n = this.sides[0].memory() + this.sides[1].memory();
    for (const t of this.live) n += t.memory();
    return n;
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.cnt };
  }

  private fail(reason: WebSocketFailReason): void {
    this.state = 'failed';
    this.failReason = reason;
    bump(this.cnt, `fail_${reason}`);
    for (const s of this.sides) {
      s.pend = EMPTY;
      s.pendLen = 0;
      s.parts = [];
      s.partsLen = 0;
      s.inflater?.dispose();
      s.inflater = null;
    }
  }
}

function concat(parts: readonly Uint8Array[], len: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const o = new Uint8Array(len);
  let p = 0;
  for (const x of parts) {
    o.set(x, p);
    p += x.length;
  }
  return o;
}
