/**
 * TLS/SSL record layer and handshake parser (Suricata app-layer-ssl.c semantics, see README):
 * records are framed per direction as the bytes arrive (a record may span any number of
 * feeds), handshake records are streamed into a per-direction handshake reassembler (messages
 * may span records), everything else (ChangeCipherSpec, alerts, application data, encrypted
 * handshake) is skipped by length without being buffered.
 */
import { createHash } from 'node:crypto';
import type { AppDirection, AppFrame, AppParser, AppParserState, AppProtoName, AppTx } from '../types.js';
import { FrameLog, StreamPos } from '../frames.js';
import { colonHex, parseCertificate } from './der.js';
import { isGrease, ja3String, ja3sString, ja4 } from './fingerprint.js';
import { parseClientHello, parseServerHello, parseSslv2ClientHello } from './hello.js';
import { TlsTransaction } from './tx.js';
import { DEFAULT_TLS_LIMITS, TlsProgress, type TlsChain, type TlsFailReason, type TlsLimits } from './types.js';

const CT_CCS = 20;
const CT_HANDSHAKE = 22;
const CT_ALERT = 21;
const CT_APPDATA = 23;
const CT_HEARTBEAT = 24;
/** Pseudo content type of an SSLv2-framed record. */
const CT_SSLV2 = -2;
/** RFC 8446 5.1: 2^14 + 256 for TLS 1.3, 2^14 + 2048 for TLSCiphertext up to 1.2. */
const MAX_RECORD = 16_384 + 2048;

const HS_CLIENT_HELLO = 1;
const HS_SERVER_HELLO = 2;
const HS_CERTIFICATE = 11;
const HS_SERVER_HELLO_DONE = 14;

/** TLS 1.3 or one of its drafts (0x7fXX), as Suricata treats them. */
export function isTls13(v: number): boolean {
  return v === 0x0304 || v >> 8 === 0x7f;
}

/** Per-direction record / handshake framing state. */
class Side {
  readonly hdr = new Uint8Array(5);
  hdrLen = 0;
  /** Stream position of the record whose header is being read (frames). */
  recAt = 0;
  /** The record header being read is SSLv2 (2 bytes). */
  hdrV2 = false;
  inBody = false;
  recType = 0;
  recLeft = 0;
  records = 0;
  /** The direction started with an SSLv2-framed record: further v2 records are accepted. */
  v2 = false;
  v2Buf: Uint8Array | null = null;
  v2Len = 0;
  /** Handshake message being reassembled (header first, then sized to the message). */
  hs = new Uint8Array(4);
  hsLen = 0;
  hsSkip = 0;
  /** Handshake done in this direction: handshake records are encrypted from here on. */
  encrypted = false;
  /** Framing lost after a gap once nothing was left to parse: bytes are ignored. */
  lost = false;
}

export class TlsParser implements AppParser {
  readonly limits: Readonly<TlsLimits>;
  private readonly tx = new TlsTransaction();
  private released = false;
  private readonly sides: Record<AppDirection, Side> = { to_server: new Side(), to_client: new Side() };
  private st: AppParserState = 'ok';
  private reason: TlsFailReason | null = null;
  private readonly count: Record<string, number> = {};

  /** Frames (only when asked for), the stream position they count in, and that of data[0] in the current feed. */
  private readonly frames: FrameLog | null;
  private readonly pos = new StreamPos();
  private feedBase = 0;

  constructor(limits: Partial<TlsLimits> = {}, opts: { frames?: boolean } = {}) {
    this.limits = { ...DEFAULT_TLS_LIMITS, ...limits };
    this.frames = opts.frames === true ? new FrameLog() : null;
  }

  takeFrames(dir: AppDirection): readonly AppFrame[] {
    return this.frames === null ? [] : this.frames.take(dir);
  }

  get state(): AppParserState {
    return this.st;
  }

  get failReason(): string | null {
    return this.reason;
  }

  readonly upgradeTo: AppProtoName | null = null;

  /** The connection's transaction (also after release), for tests and EVE. */
  get transaction(): TlsTransaction {
    return this.tx;
  }

  txs(): Iterable<AppTx> {
    return this.released ? [] : [this.tx];
  }

  release(id: number): void {
    if (id >= this.tx.id) this.released = true;
  }

  memory(): number {
    let n = this.released ? 0 : this.tx.memory();
    for (const s of Object.values(this.sides)) n += s.hs.length + (s.v2Buf?.length ?? 0);
    return n;
  }

  counters(): Readonly<Record<string, number>> {
    return this.count;
  }

  private inc(name: string, by = 1): void {
    this.count[name] = (this.count[name] ?? 0) + by;
  }

  private event(name: string): void {
    this.inc(`event.${name}`);
    this.tx.event(name);
  }

  private stopped(): boolean {
    return this.st !== 'ok';
  }

  private fail(reason: TlsFailReason): void {
    this.st = 'failed';
    this.reason = reason;
    this.tx.clientEnded = true;
    this.tx.serverEnded = true;
    this.inc(`fail.${reason}`);
  }

  feed(dir: AppDirection, data: Uint8Array, off: number, len: number): void {
    this.inc(dir === 'to_server' ? 'bytes_to_server' : 'bytes_to_client', len);
    this.feedBase = this.pos.advance(dir, len) - off;
    const s = this.sides[dir];
    if (this.st !== 'ok' || s.lost) {
      this.inc('ignored_bytes', len);
      return;
    }
    const end = off + len;
    let p = off;
    while (p < end && !this.stopped()) {
      if (!s.inBody) {
        p = this.header(dir, s, data, p, end);
        continue;
      }
      const n = Math.min(s.recLeft, end - p);
      if (s.recType === CT_HANDSHAKE && !s.encrypted) this.handshakeBytes(dir, s, data, p, n);
      else if (s.recType === CT_SSLV2 && s.v2Buf !== null) {
        s.v2Buf.set(data.subarray(p, p + n), s.v2Len);
        s.v2Len += n;
      } else this.inc('skipped_bytes', n);
      s.recLeft -= n;
      p += n;
      if (s.recLeft === 0) this.endRecord(dir, s);
    }
  }

  /** Consumes header bytes from `p`; returns the new position. */
  private header(dir: AppDirection, s: Side, data: Uint8Array, p: number, end: number): number {
    if (s.hdrLen === 0) {
      s.recAt = this.feedBase + p;
      const b0 = data[p]!;
      if (b0 >= CT_CCS && b0 <= 24) s.hdrV2 = false;
      // SSLv2 two-byte header (high bit set) only where the direction started that way.
      else if ((b0 & 0x80) !== 0 && (s.records === 0 || s.v2)) s.hdrV2 = true;
      else {
        this.event('invalid_record_type');
        this.fail('invalid_record_type');
        return end;
      }
    }
    const v2 = s.hdrV2;
    const need = v2 ? 2 : 5;
    const k = Math.min(need - s.hdrLen, end - p);
    s.hdr.set(data.subarray(p, p + k), s.hdrLen);
    s.hdrLen += k;
    p += k;
    if (s.hdrLen < need) return p;
    s.records++;
    this.inc('records');
    s.hdrLen = 0;
    if (v2) {
      const len = ((s.hdr[0]! & 0x7f) << 8) | s.hdr[1]!;
      if (len === 0) {
        this.event('invalid_sslv2_header');
        this.fail('invalid_sslv2_header');
        return end;
      }
      s.v2 = true;
      s.recType = CT_SSLV2;
      s.recLeft = len;
      // Only the first record of a direction (the hellos) is parsed; later v2 records are encrypted.
      s.v2Buf = s.records === 1 ? new Uint8Array(len) : null;
      s.v2Len = 0;
      s.inBody = true;
      return p;
    }
    const type = s.hdr[0]!;
    const version = (s.hdr[1]! << 8) | s.hdr[2]!;
    const len = (s.hdr[3]! << 8) | s.hdr[4]!;
    if (s.hdr[1] !== 3) {
      this.event('invalid_record_version');
      this.fail('invalid_record_version');
      return end;
    }
    if (len > MAX_RECORD) this.event('record_overflow');
    // Suricata sets the side's version from the record only until a hello sets it.
    if (dir === 'to_server' ? this.tx.clientVersion === 0 : this.tx.serverVersion === 0) {
      if (dir === 'to_server') this.tx.clientVersion = version;
      else this.tx.serverVersion = version;
    }
    if (this.frames !== null) {
      // Suricata's TLS frames (app-layer-ssl.c): the record, its header, its body; alert and heartbeat bodies again by type.
      const f = this.frames;
      f.add(dir, 'pdu', s.recAt, len + 5);
      f.add(dir, 'hdr', s.recAt, 5);
      f.add(dir, 'data', s.recAt + 5, len);
      if (type === CT_ALERT) f.add(dir, 'alert', s.recAt + 5, len);
      else if (type === CT_HEARTBEAT) f.add(dir, 'heartbeat', s.recAt + 5, len);
    }
    if (type === CT_CCS || type === CT_APPDATA) this.handshakeDone(dir, s);
    s.recType = type;
    s.recLeft = len;
    s.inBody = true;
    if (len === 0) this.endRecord(dir, s);
    return p;
  }

  private endRecord(dir: AppDirection, s: Side): void {
    s.inBody = false;
    if (s.recType === CT_SSLV2 && s.v2Buf !== null) {
      const body = s.v2Buf;
      s.v2Buf = null;
      this.sslv2Record(dir, s, body);
    }
  }

  private handshakeDone(dir: AppDirection, s: Side): void {
    s.encrypted = true;
    if (s.hsLen > 0) this.inc('handshake_truncated');
    s.hs = new Uint8Array(4);
    s.hsLen = 0;
    s.hsSkip = 0;
    if (dir === 'to_server') this.tx.clientProgress = TlsProgress.HANDSHAKE_DONE;
    else this.tx.serverProgress = TlsProgress.HANDSHAKE_DONE;
  }

  private handshakeBytes(dir: AppDirection, s: Side, data: Uint8Array, p: number, n: number): void {
    const end = p + n;
    while (p < end && !s.encrypted) {
      if (s.hsSkip > 0) {
        const k = Math.min(s.hsSkip, end - p);
        s.hsSkip -= k;
        p += k;
        this.inc('skipped_bytes', k);
        continue;
      }
      if (s.hsLen < 4) {
        const k = Math.min(4 - s.hsLen, end - p);
        s.hs.set(data.subarray(p, p + k), s.hsLen);
        s.hsLen += k;
        p += k;
        if (s.hsLen < 4) break;
        const msgLen = (s.hs[1]! << 16) | (s.hs[2]! << 8) | s.hs[3]!;
        if (msgLen > this.limits.maxHandshakeMessage) {
          this.inc('limit.handshake_message');
          s.hsSkip = msgLen;
          s.hsLen = 0;
          continue;
        }
        const buf = new Uint8Array(4 + msgLen);
        buf.set(s.hs.subarray(0, 4));
        s.hs = buf;
      }
      const k = Math.min(s.hs.length - s.hsLen, end - p);
      s.hs.set(data.subarray(p, p + k), s.hsLen);
      s.hsLen += k;
      p += k;
      if (s.hsLen === s.hs.length) {
        const msg = s.hs;
        s.hs = new Uint8Array(4);
        s.hsLen = 0;
        this.message(dir, s, msg);
      }
    }
    if (p < end) this.inc('skipped_bytes', end - p);
  }

  private message(dir: AppDirection, s: Side, msg: Uint8Array): void {
    this.inc('handshake_messages');
    const type = msg[0]!;
    const tx = this.tx;
    if (dir === 'to_server') {
      if (type === HS_CLIENT_HELLO) {
        const ch = parseClientHello(msg, 4, msg.length);
        if (ch === null) {
          this.event('invalid_handshake_message');
          return;
        }
        if (tx.clientHello !== null) {
          this.inc('client_hello_repeated');
          return;
        }
        tx.clientHello = ch;
        // Suricata: the hello version, then the first supported_versions entry (GREASE skipped).
        const sv = ch.supportedVersions.find((v) => !isGrease(v));
        tx.clientVersion = sv ?? ch.version;
        tx.ja3 = ja3String(ch);
        tx.ja4 = ja4(ch);
        tx.clientProgress = Math.max(tx.clientProgress, TlsProgress.HELLO);
      } else if (type === HS_CERTIFICATE) {
        if (tx.clientChain === null) tx.clientChain = this.chain(msg);
        tx.clientProgress = Math.max(tx.clientProgress, TlsProgress.CERT);
      } else if (type === HS_SERVER_HELLO || type === HS_SERVER_HELLO_DONE) {
        this.event('invalid_handshake_message');
      }
      return;
    }
    if (type === HS_SERVER_HELLO) {
      const sh = parseServerHello(msg, 4, msg.length);
      if (sh === null) {
          this.event('invalid_handshake_message');
          return;
        }
      // A HelloRetryRequest is replaced by the ServerHello that follows the second ClientHello.
      tx.serverHello = sh;
      tx.serverVersion = sh.version;
      tx.ja3s = ja3sString(sh);
      tx.serverProgress = Math.max(tx.serverProgress, TlsProgress.HELLO);
      if (!sh.helloRetry && isTls13(sh.version)) this.handshakeDone(dir, s);
    } else if (type === HS_CERTIFICATE) {
      if (tx.serverChain === null) tx.serverChain = this.chain(msg);
      tx.serverProgress = Math.max(tx.serverProgress, TlsProgress.CERT);
    } else if (type === HS_SERVER_HELLO_DONE) {
      tx.serverProgress = Math.max(tx.serverProgress, TlsProgress.HELLO_DONE);
    } else if (type === HS_CLIENT_HELLO) {
      this.event('invalid_handshake_message');
    }
  }

  /** TLS 1.0-1.2 Certificate body: 3-byte list length, then 3-byte length + DER per certificate. */
  private chain(msg: Uint8Array): TlsChain | null {
    const end = msg.length;
    if (end < 7) {
      this.event('certificate_invalid_length');
      return null;
    }
    const listLen = (msg[4]! << 16) | (msg[5]! << 8) | msg[6]!;
    if (7 + listLen !== end) this.event('certificate_invalid_length');
    const stop = Math.min(end, 7 + listLen);
    const certs: Uint8Array[] = [];
    let length = 0;
    let p = 7;
    while (p + 3 <= stop) {
      const n = (msg[p]! << 16) | (msg[p + 1]! << 8) | msg[p + 2]!;
      p += 3;
      if (p + n > stop) {
        this.event('certificate_invalid_length');
        break;
      }
      length++;
      if (certs.length < this.limits.maxCerts) certs.push(msg.slice(p, p + n));
      else this.inc('limit.certs');
      p += n;
    }
    const der = certs[0];
    if (der === undefined) return { certs, length, first: null, fingerprint: null };
    const first = parseCertificate(der);
    if (first === null) this.event('certificate_invalid_der');
    const fingerprint = colonHex(createHash('sha1').update(der).digest());
    return { certs, length, first, fingerprint };
  }

  private sslv2Record(dir: AppDirection, s: Side, body: Uint8Array): void {
    const tx = this.tx;
    if (dir === 'to_server') {
      const ch = parseSslv2ClientHello(body, 0, body.length);
      if (ch === null) {
          this.event('invalid_handshake_message');
          return;
        }
      if (tx.clientHello === null) {
        tx.clientHello = ch;
        tx.clientVersion = ch.version;
        tx.clientProgress = Math.max(tx.clientProgress, TlsProgress.HELLO);
      }
      return;
    }
    // SSLv2 SERVER-HELLO (msg type 4): SSLv2 was chosen; everything after it is encrypted.
    if (body[0] === 4) {
      tx.serverVersion = 0x0002;
      tx.serverProgress = Math.max(tx.serverProgress, TlsProgress.HELLO);
      this.handshakeDone(dir, s);
      this.handshakeDone('to_server', this.sides.to_server);
    } else this.event('invalid_handshake_message');
  }

  gap(dir: AppDirection, len: number): void {
    this.pos.advance(dir, len);
    this.inc('gaps');
    this.inc('gap_bytes', len);
    if (this.st !== 'ok') return;
    const s = this.sides[dir];
    if (s.lost) return;
    const skipping = s.inBody && !(s.recType === CT_HANDSHAKE && !s.encrypted) && s.recType !== CT_SSLV2;
    if (skipping && s.recLeft > len) {
      // Inside a record skipped by length: the framing survives the gap.
      s.recLeft -= len;
      this.inc('gaps_resynced');
      return;
    }
    if (skipping && s.recLeft === len) {
      s.recLeft = 0;
      this.endRecord(dir, s);
      this.inc('gaps_resynced');
      return;
    }
    if (s.encrypted) {
      // Nothing is parsed in this direction any more: ignore the rest instead of failing the tx.
      s.lost = true;
      this.inc('gaps_after_handshake');
      return;
    }
    this.fail('gap');
  }

  end(dir: AppDirection): void {
    if (dir === 'to_server') this.tx.clientEnded = true;
    else this.tx.serverEnded = true;
  }
}
