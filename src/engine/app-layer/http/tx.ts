/**
 * The mutable transaction behind the read-only `HttpTx` contract, and its header table.
 *
 * Cost model (this runs per transaction at line rate): a tx owns one copy of its request line,
 * one of its status line, one raw header block per direction and its kept body bytes, all
 * pieces of its parser's arena. Method, URI, protocol, status parts, header names and values
 * are ranges of those copies; the `Uint8Array` views the contract exposes are made on first read
 * and kept.
 */
import type { BodyAcc } from './body.js';
import { type Arena, EMPTY, eqBytesNoCase, latin1, lowerAscii, sliceOf } from './bytes.js';
import type { HttpEventName, HttpHeader, HttpProgress, HttpTx } from './types.js';

/** The implementation behind an `HttpTx` handed out by `HttpParser` (anything else is a programmer error). */
export function asTx(tx: HttpTx): Tx {
  if (!(tx instanceof Tx)) throw new TypeError('not a transaction of HttpParser');
  return tx;
}

// FNV-1a over int32 (the offset basis as int32: Math.imul and ^ read it so anyway)
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
/**
 * Hashes are cut to 30 bits: a V8 small integer on every platform. A full int32 (or the offset
 * basis, above 2^31, as the empty name's hash) is a heap number for half the names: an
 * allocation per header, and the Header's hash field changing representation deoptimized the
 * header code when the first such name came.
 */
export const HASH_MASK = 0x3fffffff;

/** Lookup hash of d[s, e) lowercased (FNV-1a, HASH_MASK bits). */
export function nameHash(d: Uint8Array, s: number, e: number): number {
  let h = FNV_OFFSET;
  for (let i = s; i < e; i++) h = Math.imul(h ^ lowerAscii(d[i]!), FNV_PRIME);
  return h & HASH_MASK;
}

/** Lookup hash of a lowercase ASCII key; equals `nameHash` of its bytes in any case. */
export function keyHash(key: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), FNV_PRIME);
  return h & HASH_MASK;
}

/**
 * The raw header block of one direction (+ trailer block, + a 100 Continue's block before the
 * final one): while lines arrive it lives in the parser side's scratch buffer (`open`), then it
 * is copied once, exactly sized, into the tx's arena. Headers hold ranges relative to it.
 */
export class RawBlock {
  /** The block is `length` bytes at `base` of `buf`: the side's scratch while open, an arena piece once closed. */
  buf: Uint8Array = EMPTY;
  base = 0;
  length = 0;
  open = true;
  /** While open: `buf` is the segment being parsed (not yet copied anywhere). */
  seg = false;
  private view: Uint8Array | null = null;

  /** The block's bytes: a copy while open (the scratch is reused, the segment is the caller's), else a view made once. */
  bytes(): Uint8Array {
    if (this.open) return sliceOf(this.buf, this.base, this.base + this.length);
    return (this.view ??= this.buf.subarray(this.base, this.base + this.length));
  }

  /** Moved (closed, reopened): views made before stay valid, new ones are made from the new place. */
  moved(): void {
    this.view = null;
  }
}

/** Bytes a header's name and value ranges are in when they are not a line of the raw block: a folded header's joined lines, a repeated header's joined value. */
export class Piece {
  constructor(
    readonly buf: Uint8Array,
    readonly base: number,
    readonly length: number,
  ) {}
}

export class Header implements HttpHeader {
  flags: number;
  /** `nameHash` of the name. */
  readonly hash: number;
  /**
   * Where the name and (until replaced) the value are: the tx's raw header block when the header
   * is one line of it (ranges relative to the block, which moves), else a piece with the folded
   * lines joined.
   */
  private readonly at: RawBlock | Piece;
  private readonly ns: number;
  private readonly ne: number;
  private readonly vs: number;
  private readonly ve: number;
  /** Joined value of a repeated header, replacing the range. */
  private joined: Piece | null = null;
  private nameView: Uint8Array | null = null;
  private valueView: Uint8Array | null = null;

  constructor(at: RawBlock | Piece, ns: number, ne: number, vs: number, ve: number, flags: number, hash: number) {
    this.at = at;
    this.ns = ns;
    this.ne = ne;
    this.vs = vs;
    this.ve = ve;
    this.flags = flags;
    this.hash = hash;
  }

  /** The array the name is in, at [nameStart, nameEnd). */
  store(): Uint8Array {
    return this.at.buf;
  }
  get nameStart(): number {
    return this.at.base + this.ns;
  }
  get nameEnd(): number {
    return this.at.base + this.ne;
  }
  get nameLength(): number {
    return this.ne - this.ns;
  }

  /** The array the value is in, at [valueStart, valueEnd). */
  valueStore(): Uint8Array {
    return this.joined === null ? this.at.buf : this.joined.buf;
  }
  get valueStart(): number {
    return this.joined === null ? this.at.base + this.vs : this.joined.base;
  }
  get valueEnd(): number {
    return this.joined === null ? this.at.base + this.ve : this.joined.base + this.joined.length;
  }
  get valueLength(): number {
    return this.joined === null ? this.ve - this.vs : this.joined.length;
  }

  /** While the block is still in the parser's scratch or segment, readers get copies (those are reused). */
  private get transient(): boolean {
    return this.at instanceof RawBlock && this.at.open;
  }

  get name(): Uint8Array {
    if (this.nameView !== null) return this.nameView;
    if (this.ns === this.ne) return (this.nameView = EMPTY);
    if (this.transient) return sliceOf(this.store(), this.nameStart, this.nameEnd);
    return (this.nameView = this.store().subarray(this.nameStart, this.nameEnd));
  }

  get value(): Uint8Array {
    if (this.valueView !== null) return this.valueView;
    if (this.joined === null && this.transient) return sliceOf(this.store(), this.valueStart, this.valueEnd);
    return (this.valueView = this.valueStore().subarray(this.valueStart, this.valueEnd));
  }

  /** Repeated header: the value becomes `len` bytes at `off` of `store` (libhtp joins with ", "). */
  setValue(store: Uint8Array, off: number, len: number): void {
    this.joined = new Piece(store, off, len);
    this.valueView = null;
  }

  /** Name equals d[s, e), ASCII case-insensitively. */
  nameIs(d: Uint8Array, s: number, e: number): boolean {
    return eqBytesNoCase(this.store(), this.nameStart, this.nameEnd, d, s, e);
  }

  /** Name equals a lowercase ASCII key. */
  nameIsKey(key: string): boolean {
    if (this.ne - this.ns !== key.length) return false;
    const d = this.store();
    const b = this.nameStart;
    for (let i = 0; i < key.length; i++) if (lowerAscii(d[b + i]!) !== key.charCodeAt(i)) return false;
    return true;
  }
}

/** Past this many entries lookups go through a hash index instead of a scan. */
const SCAN_MAX = 16;

const K_TE = keyHash('transfer-encoding');
const K_CL = keyHash('content-length');
const K_HOST = keyHash('host');
const K_CE = keyHash('content-encoding');
const K_CT = keyHash('content-type');
const K_UPGRADE = keyHash('upgrade');

/** Header table: first-seen order, case-insensitive lookup. */
export class HeaderTable {
  readonly list: Header[] = [];
  /** Approximate bytes of the entries (64 each plus name and value), kept as entries are added or joined: the memory budget reads it per feed. */
  bytes = 0;
  /** Built past SCAN_MAX entries: entries by hash. */
  private index: Map<number, Header[]> | null = null;
  /** The entries the parser consults for framing, kept as they are added. */
  te: Header | undefined = undefined;
  cl: Header | undefined = undefined;
  host: Header | undefined = undefined;
  ce: Header | undefined = undefined;
  ct: Header | undefined = undefined;
  upgrade: Header | undefined = undefined;

  /** The entry whose name equals d[s, e) case-insensitively (`hash` = nameHash of it). */
  find(d: Uint8Array, s: number, e: number, hash: number): Header | undefined {
    if (this.index === null) {
      for (const h of this.list) if (h.hash === hash && h.nameIs(d, s, e)) return h;
      return undefined;
    }
    const same = this.index.get(hash);
    if (same !== undefined) for (const h of same) if (h.nameIs(d, s, e)) return h;
    return undefined;
  }

  /** The entry for a lowercase ASCII name. */
  get(key: string): Header | undefined {
    const hash = keyHash(key);
    if (this.index === null) {
      for (const h of this.list) if (h.hash === hash && h.nameIsKey(key)) return h;
      return undefined;
    }
    const same = this.index.get(hash);
    if (same !== undefined) for (const h of same) if (h.nameIsKey(key)) return h;
    return undefined;
  }

  add(h: Header): void {
    this.list.push(h);
    this.bytes += 64 + h.nameLength + h.valueLength;
    const k = h.hash;
    if (k === K_TE) { if (h.nameIsKey('transfer-encoding')) this.te = h; }
    else if (k === K_CL) { if (h.nameIsKey('content-length')) this.cl = h; }
    else if (k === K_HOST) { if (h.nameIsKey('host')) this.host = h; }
    else if (k === K_CE) { if (h.nameIsKey('content-encoding')) this.ce = h; }
    else if (k === K_CT) { if (h.nameIsKey('content-type')) this.ct = h; }
    else if (k === K_UPGRADE && h.nameIsKey('upgrade')) this.upgrade = h;
    if (this.index !== null) {
      this.indexOne(h);
    } else if (this.list.length > SCAN_MAX) {
      this.index = new Map();
      for (const x of this.list) this.indexOne(x);
    }
  }

  private indexOne(h: Header): void {
    const idx = this.index!;
    const same = idx.get(h.hash);
    if (same === undefined) idx.set(h.hash, [h]);
    else same.push(h);
  }

  get size(): number {
    return this.list.length;
  }

  /** A repeated header's value was joined: `old` bytes became `len`. */
  valueGrew(old: number, len: number): void {
    this.bytes += len - old;
  }

  clear(): void {
    this.list.length = 0;
    this.bytes = 0;
    this.index = null;
    this.te = this.cl = this.host = this.ce = this.ct = this.upgrade = undefined;
  }
}

/** Slots of the buffers `buffers.ts` builds and caches on a tx. */
export const CACHE_SLOTS = 8;

export class Tx implements HttpTx {
  requestProgress: HttpProgress = 0;
  responseProgress: HttpProgress = 0;
  /**
   * The request line (chomped): rlLen bytes at rlOff of rlStore (a piece of the arena; rlLen -1:
   * none). Method, URI and protocol are ranges relative to it.
   */
  rlStore: Uint8Array = EMPTY;
  rlOff = 0;
  rlLen = -1;
  mS = -1;
  mE = -1;
  uS = -1;
  uE = -1;
  pS = -1;
  pE = -1;
  private rlView: Uint8Array | null = null;
  private methodView: Uint8Array | null = null;
  private uriView: Uint8Array | null = null;
  private protoView: Uint8Array | null = null;
  methodKnown = false;
  /** Method is exactly CONNECT / HEAD (libhtp compares the method number). */
  isConnect = false;
  isHead = false;
  /** The normalised URI: unLen bytes at unOff of unStore (unLen -1: none). */
  private unStore: Uint8Array = EMPTY;
  private unOff = 0;
  private unLen = -1;
  private unView: Uint8Array | null = null;
  requestProtocolNumber = -1;
  isHttp09 = false;
  uriHost: Uint8Array | null = null;
  uriPort: number | null = null;
  readonly reqHeaders = new HeaderTable();
  /** Raw request header block (+ trailers): header names and values are ranges of it. */
  reqRaw: RawBlock | null = null;
  hostRaw: Uint8Array | null = null;
  hostNormalized: Uint8Array | null = null;
  /** libhtp request_port_number (URI port, else Host header port), -1 when none. */
  hostPort = -1;
  requestContentLength: number | null = null;
  requestChunked = false;
  requestMessageLength = 0;
  /** The status line (chomped), as the request line; protocol, code and message are ranges relative to it. */
  private slStore: Uint8Array = EMPTY;
  private slOff = 0;
  private slLen = -1;
  private slView: Uint8Array | null = null;
  private rpS = -1;
  private rpE = -1;
  private scS = -1;
  private scE = -1;
  private smS = -1;
  private smE = -1;
  private resProtoView: Uint8Array | null = null;
  private codeView: Uint8Array | null = null;
  private msgView: Uint8Array | null = null;
  responseProtocolNumber = -1;
  statusNumber = -1;
  readonly resHeaders = new HeaderTable();
  resRaw: RawBlock | null = null;
  responseContentLength: number | null = null;
  responseChunked = false;
  responseMessageLength = 0;
  responseWithoutRequest = false;
  seen100Continue = false;
  readonly events: HttpEventName[] = [];
  requestStartUs: number | null = null;
  responseStartUs: number | null = null;
  /** Once-per-tx warning flags (libhtp logs some anomalies once per transaction). */
  onceFlags = 0;
  /** Header repetitions counted (libhtp stops adding after 64). */
  reqRepetitions = 0;
  resRepetitions = 0;
  /** Bumped whenever the request / response header table or raw block changes: invalidates that direction's cached buffers. */
  reqGen = 0;
  resGen = 0;
  /** Buffers built by buffers.ts, per slot (even: request, odd: response), with the generation they were built at (made on first use). */
  cacheGen: number[] | null = null;
  cacheVal: (Uint8Array | Uint8Array[] | null)[] | null = null;
  /** Bytes of the values in `cacheVal`, kept by buffers.ts as slots are set. */
  cacheBytes = 0;
  // assigned right after construction (the bodies point back at their tx)
  requestBody!: BodyAcc;
  responseBody!: BodyAcc;

  constructor(
    readonly id: number,
    /** Storage of the bytes this tx owns (its parser's). */
    readonly arena: Arena,
  ) {}

  /** The request line is `len` bytes at `off` of `store` (parsed once per tx); method, URI and protocol ranges are set after it. */
  setRequestLine(store: Uint8Array, off: number, len: number): void {
    this.rlStore = store;
    this.rlOff = off;
    this.rlLen = len;
    this.mS = this.mE = this.uS = this.uE = this.pS = this.pE = -1;
    this.rlView = this.methodView = this.uriView = this.protoView = null;
  }
  get requestLine(): Uint8Array | null {
    if (this.rlView === null && this.rlLen >= 0) this.rlView = this.rlStore.subarray(this.rlOff, this.rlOff + this.rlLen);
    return this.rlView;
  }
  get method(): Uint8Array | null {
    if (this.methodView === null && this.mS >= 0) this.methodView = this.rlStore.subarray(this.rlOff + this.mS, this.rlOff + this.mE);
    return this.methodView;
  }
  get uriRaw(): Uint8Array | null {
    if (this.uriView === null && this.uS >= 0) this.uriView = this.rlStore.subarray(this.rlOff + this.uS, this.rlOff + this.uE);
    return this.uriView;
  }
  /** A target that is not on a request line (libhtp's "request_uri_not_seen"); it is its own normalised form. */
  setUriNotSeen(u: Uint8Array): void {
    this.uriView = u;
    this.unView = u;
    this.unStore = u;
    this.unOff = 0;
    this.unLen = u.length;
  }
  get requestProtocol(): Uint8Array | null {
    if (this.protoView === null && this.pS >= 0) this.protoView = this.rlStore.subarray(this.rlOff + this.pS, this.rlOff + this.pE);
    return this.protoView;
  }
  setUriNormalized(store: Uint8Array, off: number, len: number): void {
    this.unStore = store;
    this.unOff = off;
    this.unLen = len;
    this.unView = null;
  }
  get uriNormalized(): Uint8Array | null {
    if (this.unView === null && this.unLen >= 0) this.unView = this.unStore.subarray(this.unOff, this.unOff + this.unLen);
    return this.unView;
  }

  /**
   * A status line, `len` bytes at `off` of `store` (a second one after 100 Continue): like
   * libhtp, a part the new line does not have keeps the previous line's value, so those views
   * are made before the line is replaced.
   */
  setResponseLine(store: Uint8Array, off: number, len: number): void {
    if (this.slLen >= 0) {
      this.codeView = this.statusCode;
      this.msgView = this.statusMessage;
    }
    this.slStore = store;
    this.slOff = off;
    this.slLen = len;
    this.slView = null;
  }
  get responseLine(): Uint8Array | null {
    if (this.slView === null && this.slLen >= 0) this.slView = this.slStore.subarray(this.slOff, this.slOff + this.slLen);
    return this.slView;
  }
  setResponseProtocol(s: number, e: number): void {
    this.rpS = s;
    this.rpE = e;
    this.resProtoView = null;
  }
  setStatusCode(s: number, e: number): void {
    this.scS = s;
    this.scE = e;
    this.codeView = null;
  }
  setStatusMessage(s: number, e: number): void {
    this.smS = s;
    this.smE = e;
    this.msgView = null;
  }
  get responseProtocol(): Uint8Array | null {
    if (this.resProtoView === null && this.rpS >= 0) this.resProtoView = this.slStore.subarray(this.slOff + this.rpS, this.slOff + this.rpE);
    return this.resProtoView;
  }
  get statusCode(): Uint8Array | null {
    if (this.codeView === null && this.scS >= 0) this.codeView = this.slStore.subarray(this.slOff + this.scS, this.slOff + this.scE);
    return this.codeView;
  }
  get statusMessage(): Uint8Array | null {
    if (this.msgView === null && this.smS >= 0) this.msgView = this.slStore.subarray(this.slOff + this.smS, this.slOff + this.smE);
    return this.msgView;
  }

  get requestHeaders(): readonly HttpHeader[] {
    return this.reqHeaders.list;
  }
  get responseHeaders(): readonly HttpHeader[] {
    return this.resHeaders.list;
  }
  get requestHeadersRaw(): Uint8Array | null {
    return this.reqRaw === null ? null : this.reqRaw.bytes();
  }
  get responseHeadersRaw(): Uint8Array | null {
    return this.resRaw === null ? null : this.resRaw.bytes();
  }

  event(name: HttpEventName): boolean {
    if (this.events.includes(name)) return false;
    this.events.push(name);
    return true;
  }

  /** Approximate retained bytes. */
  get memoryBytes(): number {
    let n = 512 + this.requestBody.memoryBytes + this.responseBody.memoryBytes;
    n += Math.max(0, this.rlLen) + Math.max(0, this.unLen) + Math.max(0, this.slLen);
    if (this.reqRaw !== null) n += this.reqRaw.length;
    if (this.resRaw !== null) n += this.resRaw.length;
    return n + this.reqHeaders.bytes + this.resHeaders.bytes + this.cacheBytes;
  }

  /** Debug view. */
  toString(): string {
    const m = this.method;
    const u = this.uriRaw;
    return `tx ${this.id} ${m ? latin1(m) : '-'} ${u ? latin1(u) : '-'} ${this.statusNumber}`;
  }
}
