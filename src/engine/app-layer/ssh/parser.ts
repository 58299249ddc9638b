/**
 * SSH-2 parser (Suricata rust/src/ssh/ssh.rs + parser.rs semantics, see README): per direction
 * the identification line (banner), then binary packets framed by length up to NEWKEYS; only
 * KEXINIT packets are buffered (for HASSH), every other packet is skipped by length, and all
 * bytes after NEWKEYS (encrypted) are skipped without buffering.
 */
import { createHash } from 'node:crypto';
import type { AppDirection, AppFrame, AppParser, AppParserState, AppProtoName, AppTx } from '../types.js';
import { FrameLog, StreamPos } from '../frames.js';
import { SshTransaction, type SshSide } from './tx.js';
import { DEFAULT_SSH_LIMITS, SshProgress, type SshFailReason, type SshLimits } from './types.js';

const MSG_KEXINIT = 20;
const MSG_NEWKEYS = 21;

const SSH_ = [0x53, 0x53, 0x48, 0x2d];

/** Parses an identification line (without line end): `SSH-protoversion-softwareversion[ SP comments]`. */
export function parseBanner(line: Uint8Array): { proto: Uint8Array; software: Uint8Array } | null {
  if (line.length < 4 || SSH_.some((c, i) => line[i] !== c)) return null;
  let p = 4;
  while (p < line.length && line[p] !== 0x2d) p++;
  // protoversion: at least one byte before the '-' (nom is_not fails on empty input)
  if (p === 4 || p >= line.length) return null;
  const proto = line.slice(4, p);
  const s = p + 1;
  let e = s;
  while (e < line.length && line[e] !== 0x20 && line[e] !== 0x0d && line[e] !== 0x0a) e++;
  return { proto, software: line.slice(s, e) };
}

class Reader {
  p: number;
  constructor(readonly b: Uint8Array, off: number, readonly end: number) {
    this.p = off;
  }
  nameList(): Uint8Array | null {
    if (this.p + 4 > this.end) return null;
    const n = ((this.b[this.p]! << 24) >>> 0) + (this.b[this.p + 1]! << 16) + (this.b[this.p + 2]! << 8) + this.b[this.p + 3]!;
    this.p += 4;
    if (this.p + n > this.end) return null;
    const v = this.b.slice(this.p, this.p + n);
    this.p += n;
    return v;
  }
}

/** The KEXINIT name-lists HASSH reads, or null when truncated. RFC 4253 7.1. */
export function parseKexinit(payload: Uint8Array): Uint8Array[] | null {
  // msg code (1) + cookie (16), then 10 name-lists
  if (payload.length < 17) return null;
  const r = new Reader(payload, 17, payload.length);
  const lists: Uint8Array[] = [];
  for (let i = 0; i < 10; i++) {
    const l = r.nameList();
    if (l === null) return null;
    lists.push(l);
  }
  return lists;
}

const concat = (parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const SEMI = new Uint8Array([0x3b]);

class Side {
  /** Banner bytes gathered so far (≤ maxBanner). */
  line: number[] = [];
  /** Long banner: parsed from its first bytes; the rest of the line is skipped. */
  waitEol = false;
  hdr = new Uint8Array(6);
  hdrLen = 0;
  /** Packet bytes left after the 6-byte header; buffered into `pkt` for KEXINIT. */
  left = 0;
  pkt: Uint8Array | null = null;
  pktLen = 0;
  /** NEWKEYS seen: the rest is encrypted. */
  encrypted = false;
  lost = false;
  /** Stream position of the record whose header is being read (frames). */
  recAt = 0;
}

/** Read through a call so the compiler does not narrow it across the parse loop. */
const encrypted = (s: Side): boolean => s.encrypted;

export class SshParser implements AppParser {
  readonly limits: Readonly<SshLimits>;
  private readonly tx = new SshTransaction();
  private released = false;
  private readonly sides: Record<AppDirection, Side> = { to_server: new Side(), to_client: new Side() };
  private st: AppParserState = 'ok';
  private reason: SshFailReason | null = null;
  private readonly count: Record<string, number> = {};
  readonly upgradeTo: AppProtoName | null = null;

  /** Frames (only when asked for), the stream position they count in, and that of data[0] in the current feed. */
  private readonly frames: FrameLog | null;
  private readonly pos = new StreamPos();
  private feedBase = 0;

  constructor(limits: Partial<SshLimits> = {}, opts: { frames?: boolean } = {}) {
    this.limits = { ...DEFAULT_SSH_LIMITS, ...limits };
    this.frames = opts.frames === true ? new FrameLog() : null;
  }

  takeFrames(dir: AppDirection): readonly AppFrame[] {
    return this.frames === null ? [] : this.frames.take(dir);
  }

  gap(dir: AppDirection, len: number): void {
    this.pos.advance(dir, len);
    this.gapInner(dir, len);
  }

  get state(): AppParserState {
    return this.st;
  }

  get failReason(): string | null {
    return this.reason;
  }

  get transaction(): SshTransaction {
    return this.tx;
  }

  txs(): Iterable<AppTx> {
    return this.released ? [] : [this.tx];
  }

  release(id: number): void {
    if (id >= this.tx.id) this.released = true;
  }

  memory(): number {
    let n = this.tx.memory();
    for (const s of Object.values(this.sides)) n += s.line.length + (s.pkt?.length ?? 0);
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

  private fail(reason: SshFailReason): void {
    this.st = 'failed';
    this.reason = reason;
    this.tx.client.ended = true;
    this.tx.server.ended = true;
    this.inc(`fail.${reason}`);
  }

  private sideTx(dir: AppDirection): SshSide {
    return dir === 'to_server' ? this.tx.client : this.tx.server;
  }

  feed(dir: AppDirection, data: Uint8Array, off: number, len: number): void {
    this.inc(dir === 'to_server' ? 'bytes_to_server' : 'bytes_to_client', len);
    this.feedBase = this.pos.advance(dir, len) - off;
    const s = this.sides[dir];
    const t = this.sideTx(dir);
    if (this.stopped() || s.lost || s.encrypted) {
      this.inc(s.encrypted ? 'encrypted_bytes' : 'ignored_bytes', len);
      return;
    }
    const end = off + len;
    let p = off;
    while (p < end && !this.stopped() && !encrypted(s)) {
      if (t.progress < SshProgress.BANNER_DONE) p = this.banner(dir, s, t, data, p, end);
      else p = this.packet(dir, s, t, data, p, end);
    }
    if (p < end) this.inc(encrypted(s) ? 'encrypted_bytes' : 'ignored_bytes', end - p);
  }

  private banner(dir: AppDirection, s: Side, t: SshSide, data: Uint8Array, p: number, end: number): number {
    if (s.waitEol) {
      while (p < end && data[p] !== 0x0a) p++;
      if (p < end) {
        s.waitEol = false;
        t.progress = SshProgress.BANNER_DONE;
        return p + 1;
      }
      return p;
    }
    while (p < end) {
      const c = data[p++]!;
      if (c === 0x0a) {
        let line = s.line;
        if (line[line.length - 1] === 0x0d) line = line.slice(0, -1);
        s.line = [];
        this.bannerLine(dir, t, new Uint8Array(line));
        if (!this.stopped()) t.progress = SshProgress.BANNER_DONE;
        return p;
      }
      s.line.push(c);
      if (s.line.length >= this.limits.maxBanner) {
        // Suricata: LongBanner event, the banner is read from what was buffered, the rest of the line skipped.
        this.event('long_banner');
        this.inc('limit.banner');
        const line = new Uint8Array(s.line);
        s.line = [];
        this.bannerLine(dir, t, line);
        if (!this.stopped()) {
          s.waitEol = true;
          t.progress = SshProgress.BANNER_WAIT_EOL;
        }
        return p;
      }
    }
    return p;
  }

  private bannerLine(dir: AppDirection, t: SshSide, line: Uint8Array): void {
    const b = parseBanner(line);
    if (b === null) {
      this.event('invalid_banner');
      this.fail('invalid_banner');
      return;
    }
    t.proto = b.proto;
    t.software = b.software;
    this.inc(dir === 'to_server' ? 'client_banners' : 'server_banners');
  }

  private packet(dir: AppDirection, s: Side, t: SshSide, data: Uint8Array, p: number, end: number): number {
    if (s.left === 0 && s.pkt === null) {
      if (s.hdrLen === 0) s.recAt = this.feedBase + p;
      const k = Math.min(6 - s.hdrLen, end - p);
      s.hdr.set(data.subarray(p, p + k), s.hdrLen);
      s.hdrLen += k;
      p += k;
      if (s.hdrLen < 6) return p;
      s.hdrLen = 0;
      const h = s.hdr;
      const pktLen = ((h[0]! << 24) >>> 0) + (h[1]! << 16) + (h[2]! << 8) + h[3]!;
      const padLen = h[4]!;
      const code = h[5]!;
      this.inc('packets');
      // packet_length covers padding_length, payload and padding; the payload holds at least the msg code
      if (pktLen < 2 || padLen + 2 > pktLen) {
        this.event('invalid_record');
        this.fail('invalid_record');
        return end;
      }
      s.left = pktLen - 2;
      if (this.frames !== null) {
        // Suricata's SSH record frames (rust/src/ssh/ssh.rs), tied to the flow's one tx.
        this.frames.add(dir, 'record.pdu', s.recAt, pktLen + 4, this.tx.id);
        this.frames.add(dir, 'record.hdr', s.recAt, 6, this.tx.id);
        this.frames.add(dir, 'record.data', s.recAt + 6, pktLen - 2, this.tx.id);
      }
      if (code === MSG_NEWKEYS) {
        t.progress = SshProgress.FINISHED;
        s.encrypted = true;
        // Everything after the NEWKEYS header (its padding, then encrypted packets) is skipped.
        s.left = 0;
        return p;
      }
      if (code === MSG_KEXINIT && t.hassh === null) {
        const payloadLen = pktLen - 1 - padLen;
        if (payloadLen > this.limits.maxKexinit) {
          this.event('long_kex_record');
          this.inc('limit.kexinit');
        } else {
          s.pkt = new Uint8Array(payloadLen);
          s.pkt[0] = code;
          s.pktLen = 1;
        }
      }
      if (s.left === 0) this.packetDone(dir, s, t);
      return p;
    }
    const k = Math.min(s.left, end - p);
    if (s.pkt !== null && s.pktLen < s.pkt.length) {
      const c = Math.min(k, s.pkt.length - s.pktLen);
      s.pkt.set(data.subarray(p, p + c), s.pktLen);
      s.pktLen += c;
    }
    s.left -= k;
    p += k;
    if (s.left === 0) this.packetDone(dir, s, t);
    return p;
  }

  private packetDone(dir: AppDirection, s: Side, t: SshSide): void {
    const pkt = s.pkt;
    s.pkt = null;
    s.pktLen = 0;
    if (pkt === null) return;
    const lists = parseKexinit(pkt);
    if (lists === null) {
      this.event('invalid_record');
      return;
    }
    // HASSH: kex;enc;mac;comp of the sender's own direction (client: c2s lists, server: s2c lists).
    const [kex, , encC2s, encS2c, macC2s, macS2c, compC2s, compS2c] = lists as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    const str = dir === 'to_server'
      ? concat([kex, SEMI, encC2s, SEMI, macC2s, SEMI, compC2s])
      : concat([kex, SEMI, encS2c, SEMI, macS2c, SEMI, compS2c]);
    t.hasshString = str;
    t.hassh = new Uint8Array(Buffer.from(createHash('md5').update(str).digest('hex'), 'latin1'));
    t.progress = Math.max(t.progress, SshProgress.KEXINIT);
  }

  private gapInner(dir: AppDirection, len: number): void {
    this.inc('gaps');
    this.inc('gap_bytes', len);
    const s = this.sides[dir];
    if (this.stopped() || s.lost || s.encrypted) return;
    const t = this.sideTx(dir);
    if (t.progress >= SshProgress.BANNER_DONE && s.left > 0 && s.pkt === null && s.hdrLen === 0) {
      if (len <= s.left) {
        s.left -= len;
        this.inc('gaps_resynced');
        return;
      }
    }
    this.fail('gap');
  }

  end(dir: AppDirection): void {
    this.sideTx(dir).ended = true;
  }
}
