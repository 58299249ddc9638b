/**
 * Body of one side of a transaction: entity bytes after dechunking, decoded through the
 * Content-Encoding layers like libhtp's decompressor chain, kept up to the inspection limit
 * (Suricata's request/response-body-limit: bytes past it are counted, not kept).
 */
import { ByteBuf, EMPTY, eqNoCase, indexOfNoCase } from './bytes.js';
import { Inflater, type InflateFormat } from './inflate.js';
import type { HttpBody, HttpContentEncoding, HttpEventName } from './types.js';

export interface BodyHost {
  event(name: HttpEventName): void;
  limitHit(kind: 'request_body' | 'response_body' | 'decompression_bomb' | 'decompression_layers'): void;
  bomb(): void;
  decodeError(): void;
}

/** One decoding layer: an inflater with libhtp's one-time restart in the other framing. */
class Layer {
  inf: Inflater;
  private replay: ByteBuf | null = new ByteBuf(256);
  private retried = false;
  passthrough = false;
  constructor(
    private readonly enc: 'gzip' | 'deflate',
    private readonly next: (d: Uint8Array) => boolean,
  ) {
    this.inf = new Inflater(enc === 'gzip' ? 'auto' : 'raw', next);
  }
  /** Returns false when the chain must stop (bomb). */
  push(d: Uint8Array, onError: () => void): boolean {
    if (this.passthrough) return this.next(d);
    if (this.replay !== null) {
      if (this.replay.length + d.length <= 65536) this.replay.append(d);
      else this.replay = null;
    }
    const st = this.inf.push(d);
    if (st === 'stopped') return false;
    if (this.inf.produced > 0) this.replay = null;
    if (st === 'error') {
      if (!this.retried && this.inf.produced === 0 && this.replay !== null) {
        // libhtp restarts once with the other framing (deflate sent as gzip and vice versa).
        this.retried = true;
        const alt: InflateFormat = this.enc === 'gzip' ? 'raw' : 'auto';
        this.inf = new Inflater(alt, this.next);
        const again = this.inf.push(this.replay.bytes());
        this.replay = null;
        if (again === 'stopped') return false;
        if (again !== 'error') return true;
      }
      // Corrupt data: libhtp passes the undecoded bytes through from here on.
      onError();
      this.passthrough = true;
      return this.next(d);
    }
    return true;
  }
}

export class BodyAcc implements HttpBody {
  private buf: ByteBuf | null = null;
  seen = 0;
  truncated = false;
  encoding: HttpContentEncoding = 'none';
  decodeStopped: 'error' | 'bomb' | null = null;
  /** Compressed (wire entity) bytes given to the decoders. */
  private input = 0;
  private layers: Layer[] = [];
  private stopped = false;

  constructor(
    private readonly limit: number,
    private readonly kind: 'request_body' | 'response_body',
    private readonly host: BodyHost,
    private readonly bombLimit: number,
    private readonly bombRatio: number,
  ) {}

  get data(): Uint8Array {
    return this.buf === null ? EMPTY : this.buf.bytes();
  }

  get memoryBytes(): number {
    return this.buf === null ? 0 : this.buf.capacity;
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
          this.host.event('TOO_MANY_ENCODING_LAYERS');
          this.host.limitHit('decompression_layers');
          break;
        }
        if (indexOfNoCase(tok, 'gzip') >= 0) {
          if (!(eqNoCase(tok, 'gzip') || eqNoCase(tok, 'x-gzip'))) this.host.event('ABNORMAL_CE_HEADER');
          codings.push('gzip');
        } else if (indexOfNoCase(tok, 'deflate') >= 0) {
          if (!(eqNoCase(tok, 'deflate') || eqNoCase(tok, 'x-deflate'))) this.host.event('ABNORMAL_CE_HEADER');
          codings.push('deflate');
        } else if (!(eqNoCase(tok, 'inflate') || eqNoCase(tok, 'none'))) {
          this.host.event('ABNORMAL_CE_HEADER');
        }
      }
    }
    if (codings.length === 0) return;
    this.encoding = codings[0]!;
    // The coding listed last was applied last: it is decoded first.
    let next = (d: Uint8Array): boolean => this.entity(d);
    const layers: Layer[] = [];
    for (let k = 0; k < codings.length; k++) {
      const layer: Layer = new Layer(codings[k]!, next);
      layers.unshift(layer);
      const inner = layer;
      next = (d: Uint8Array): boolean => inner.push(d, () => { this.onDecodeError(); });
    }
    this.layers = layers;
  }

  private onDecodeError(): void {
    if (this.decodeStopped === null) this.decodeStopped = 'error';
    this.host.event('GZIP_DECOMPRESSION_FAILED');
    this.host.decodeError();
  }

  /** Wire entity bytes (dechunked, still encoded). */
  write(d: Uint8Array): void {
    if (this.stopped || d.length === 0) return;
    if (this.layers.length === 0) {
      this.entity(d);
      return;
    }
    this.input += d.length;
    const ok = this.layers[0]!.push(d, () => { this.onDecodeError(); });
    if (!ok) this.stopped = true;
  }

  /** Decoded entity bytes. Returns false to stop decoding (bomb). */
  private entity(d: Uint8Array): boolean {
    this.seen += d.length;
    if (this.layers.length > 0 && this.seen > this.bombLimit && this.seen > this.input * this.bombRatio) {
      this.decodeStopped = 'bomb';
      this.stopped = true;
      this.host.event('COMPRESSION_BOMB');
      this.host.limitHit('decompression_bomb');
      this.host.bomb();
      return false;
    }
    const kept = this.buf === null ? 0 : this.buf.length;
    if (kept < this.limit) {
      const take = Math.min(d.length, this.limit - kept);
      this.buf ??= new ByteBuf(Math.min(this.limit, 1024));
      this.buf.append(d, 0, take);
      if (take < d.length) this.markTruncated();
    } else {
      this.markTruncated();
    }
    // Past the kept limit the output only feeds the bomb check. libhtp bounds decoding by time;
    // without a clock the bound is the bomb limit: decoding stops there (counted, no event).
    if (this.layers.length > 0 && this.truncated && this.seen > this.bombLimit) {
      this.stopped = true;
      this.host.limitHit('decompression_bomb');
      return false;
    }
    return true;
  }

  private markTruncated(): void {
    if (!this.truncated) {
      this.truncated = true;
      this.host.limitHit(this.kind);
    }
  }
}
