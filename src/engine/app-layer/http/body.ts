/**
 * Body of one side of a transaction: entity bytes after dechunking, decoded through the
 * Content-Encoding layers like libhtp's decompressor chain, kept up to the inspection limit
 * (Suricata's request/response-body-limit: bytes past it are counted, not kept).
 *
 * Bytes are read from the caller's segment and copied once, into the kept array (sized to the
 * Content-Length when there is one); decoders read the segment in place.
 */
import { ByteBuf, EMPTY, copyInto, eqNoCase, indexOfNoCase } from './bytes.js';
import { Inflater, type InflateFormat } from './inflate.js';
import type { Tx } from './tx.js';
import type { HttpBody, HttpContentEncoding, HttpEventName, HttpLimits } from './types.js';

/** What a body reports to its parser. */
export interface BodyOwner {
  readonly limits: Readonly<HttpLimits>;
  txEvent(t: Tx, name: HttpEventName): void;
  limitHit(kind: 'request_body' | 'response_body' | 'decompression_bomb' | 'decompression_layers'): void;
  bodyBomb(): void;
  bodyDecodeError(): void;
}

/** Replay of the input before any output is kept up to this much (libhtp restarts on it once). */
const REPLAY_MAX = 65536;

/** One decoding layer: an inflater with libhtp's one-time restart in the other framing. */
class Layer {
  inf: Inflater;
  /** Input given while nothing was produced (for the restart); null once output came or over REPLAY_MAX. */
  private replay: ByteBuf | null = null;
  private replayOff = false;
  private retried = false;
  passthrough = false;
  constructor(
    private readonly enc: 'gzip' | 'deflate',
    private readonly next: (d: Uint8Array) => boolean,
    private readonly onError: () => void,
  ) {
    this.inf = new Inflater(enc === 'gzip' ? 'auto' : 'raw', next, true);
  }
  /** Returns false when the chain must stop (bomb). `d` is only read during the call. */
  /** Bytes held: the inflater's state and the replay copy of the input. */
  get memoryBytes(): number {
    return this.inf.memoryBytes + (this.replay?.capacity ?? 0);
  }

  push(d: Uint8Array): boolean {
    if (this.passthrough) return this.next(d);
    // The input so far, replayed if the first framing fails before producing anything.
    const before = this.replay === null ? 0 : this.replay.length;
    const keep = !this.replayOff && before + d.length <= REPLAY_MAX;
    if (!keep) {
      this.replayOff = true;
      this.replay = null;
    }
    const st = this.inf.push(d);
    if (st === 'stopped') return false;
    if (this.inf.produced > 0) {
      this.replayOff = true;
      this.replay = null;
    }
    if (st === 'error') {
      if (!this.retried && this.inf.produced === 0 && keep) {
        // libhtp restarts once with the other framing (deflate sent as gzip and vice versa).
        this.retried = true;
        const alt: InflateFormat = this.enc === 'gzip' ? 'raw' : 'auto';
        this.inf = new Inflater(alt, this.next, true);
        let again: ReturnType<Inflater['push']>;
        if (before === 0) {
          again = this.inf.push(d);
        } else {
          this.replay!.append(d);
          again = this.inf.push(this.replay!.bytes());
        }
        this.replay = null;
        this.replayOff = true;
        if (again === 'stopped') return false;
        if (again !== 'error') return true;
      }
      // Corrupt data: libhtp passes the undecoded bytes through from here on.
      this.onError();
      this.passthrough = true;
      return this.next(d);
    }
    if (keep && !this.replayOff) {
      this.replay ??= new ByteBuf(Math.max(256, d.length));
      this.replay.append(d);
    }
    return true;
  }
}

export class BodyAcc implements HttpBody {
  /** Kept bytes: len of cap bytes at base of buf (an arena piece). */
  private buf: Uint8Array | null = null;
  private base = 0;
  private cap = 0;
  private len = 0;
  private view: Uint8Array | null = null;
  seen = 0;
  truncated = false;
  encoding: HttpContentEncoding = 'none';
  decodeStopped: 'error' | 'bomb' | null = null;
  /** Compressed (wire entity) bytes given to the decoders. */
  private input = 0;
  private layers: Layer[] | null = null;
  private stopped = false;
  private readonly limit: number;

  constructor(
    private readonly owner: BodyOwner,
    private readonly tx: Tx,
    private readonly request: boolean,
  ) {
    this.limit = request ? owner.limits.requestBodyLimit : owner.limits.responseBodyLimit;
  }

  get data(): Uint8Array {
    const b = this.buf;
    if (b === null) return EMPTY;
    const v = this.view;
    if (v !== null && v.length === this.len && v.buffer === b.buffer && v.byteOffset === b.byteOffset + this.base) return v;
    // a plain view (subarray goes through the species constructor lookup): made per new length
    return (this.view = new Uint8Array(b.buffer, b.byteOffset + this.base, this.len));
  }

  /** Whether bytes go through Content-Encoding decoders (their chunking can matter). */
  get decoding(): boolean {
    return this.layers !== null;
  }

  /** Kept bytes plus the decoders' state (decompression windows count towards the app-layer budget). */
  get memoryBytes(): number {
    let n = this.cap;
    if (this.layers !== null) for (const l of this.layers) n += l.memoryBytes;
    return n;
  }

  /** The entity is `n` bytes on the wire (Content-Length): without decoding, that is what is kept. */
  expect(n: number): void {
    if (this.layers === null && this.buf === null && n > 0 && this.limit > 0) this.place(Math.min(n, this.limit));
  }

  /** Storage for `cap` bytes: the piece grown in place when it can, else a new one with the kept bytes copied over. */
  private place(cap: number): void {
    const a = this.tx.arena;
    if (this.buf !== null && a.grow(this.buf, this.base, this.cap, cap)) {
      this.cap = cap;
      return;
    }
    const o = a.take(cap);
    if (this.buf !== null) copyInto(a.last, o, this.buf, this.base, this.base + this.len);
    this.buf = a.last;
    this.base = o;
    this.cap = cap;
  }

  /**
   * Sets up decoding from a Content-Encoding value (libhtp fast path for one coding, slow path
   * for lists, bounded by `maxLayers`).
   */
  setEncoding(ce: Uint8Array | null, maxLayers: number): void {
    if (ce === null || ce.length === 0) return;
    let codings: ('gzip' | 'deflate')[] = [];
    if (eqNoCase(ce, 'gzip') || eqNoCase(ce, 'x-gzip')) codings = ['gzip'];
    else if (eqNoCase(ce, 'deflate') || eqNoCase(ce, 'x-deflate')) codings = ['deflate'];
    else if (eqNoCase(ce, 'inflate') || eqNoCase(ce, 'none')) codings = [];
    else {
      let n = 0;
      let i = 0;
      while (i < ce.length) {
        while (i < ce.length && (ce[i] === 0x2c || ce[i] === 0x20)) i++;
        const s = i;
        while (i < ce.length && ce[i] !== 0x2c && ce[i] !== 0x20) i++;
        if (i === s) break;
        const tok = ce.subarray(s, i);
        n++;
        if (n > maxLayers) {
          this.owner.txEvent(this.tx, 'TOO_MANY_ENCODING_LAYERS');
          this.owner.limitHit('decompression_layers');
          break;
        }
        if (indexOfNoCase(tok, 'gzip') >= 0) {
          if (!(eqNoCase(tok, 'gzip') || eqNoCase(tok, 'x-gzip'))) this.owner.txEvent(this.tx, 'ABNORMAL_CE_HEADER');
          codings.push('gzip');
        } else if (indexOfNoCase(tok, 'deflate') >= 0) {
          if (!(eqNoCase(tok, 'deflate') || eqNoCase(tok, 'x-deflate'))) this.owner.txEvent(this.tx, 'ABNORMAL_CE_HEADER');
          codings.push('deflate');
        } else if (!(eqNoCase(tok, 'inflate') || eqNoCase(tok, 'none'))) {
          this.owner.txEvent(this.tx, 'ABNORMAL_CE_HEADER');
        }
      }
    }
    if (codings.length === 0) return;
    this.encoding = codings[0]!;
    // The coding listed last was applied last: it is decoded first.
    const onError = (): void => { this.onDecodeError(); };
    let next = (d: Uint8Array): boolean => this.entity(d, 0, d.length);
    const layers: Layer[] = [];
    for (const c of codings) {
      const layer = new Layer(c, next, onError);
      layers.unshift(layer);
      next = (d: Uint8Array): boolean => layer.push(d);
    }
    this.layers = layers;
  }

  private onDecodeError(): void {
    if (this.decodeStopped === null) this.decodeStopped = 'error';
    this.owner.txEvent(this.tx, 'GZIP_DECOMPRESSION_FAILED');
    this.owner.bodyDecodeError();
  }

  /** Wire entity bytes d[s, e) (dechunked, still encoded); read during the call only. */
  write(d: Uint8Array, s: number, e: number): void {
    if (this.stopped || e <= s) return;
    if (this.layers === null) {
      this.entity(d, s, e);
      return;
    }
    this.input += e - s;
    const ok = this.layers[0]!.push(s === 0 && e === d.length ? d : new Uint8Array(d.buffer, d.byteOffset + s, e - s));
    if (!ok) this.stopped = true;
  }

  /** Decoded entity bytes d[s, e). Returns false to stop decoding (bomb). */
  private entity(d: Uint8Array, s: number, e: number): boolean {
    const n = e - s;
    this.seen += n;
    const decoding = this.layers !== null;
    if (decoding && this.seen > this.owner.limits.decompressionBombLimit && this.seen > this.input * this.owner.limits.decompressionRatio) {
      this.decodeStopped = 'bomb';
      this.stopped = true;
      this.owner.txEvent(this.tx, 'COMPRESSION_BOMB');
      this.owner.limitHit('decompression_bomb');
      this.owner.bodyBomb();
      return false;
    }
    const kept = this.len;
    if (kept < this.limit) {
      const take = Math.min(n, this.limit - kept);
      if (kept + take > this.cap) this.reserve(kept + take);
      copyInto(this.buf!, this.base + kept, d, s, s + take);
      this.len = kept + take;
      if (take < n) this.markTruncated();
    } else {
      this.markTruncated();
    }
    // Past the kept limit the output only feeds the bomb check. libhtp bounds decoding by time;
    // without a clock the bound is the bomb limit: decoding stops there (counted, no event).
    if (decoding && this.truncated && this.seen > this.owner.limits.decompressionBombLimit) {
      this.stopped = true;
      this.owner.limitHit('decompression_bomb');
      return false;
    }
    return true;
  }

  private reserve(n: number): void {
    let cap = Math.max(64, this.buf === null ? Math.min(this.limit, 1024) : this.cap * 2);
    while (cap < n) cap *= 2;
    this.place(Math.min(cap, this.limit));
  }

  /** The side is complete: decoders give their buffers back (no more bytes come). */
  finish(): void {
    if (this.layers !== null) for (const l of this.layers) l.inf.dispose();
  }

  private markTruncated(): void {
    if (!this.truncated) {
      this.truncated = true;
      this.owner.limitHit(this.request ? 'request_body' : 'response_body');
    }
  }
}
