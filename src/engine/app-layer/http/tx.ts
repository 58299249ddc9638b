/** The mutable transaction behind the read-only `HttpTx` contract. */
import { BodyAcc } from './body.js';
import { ByteBuf, latin1 } from './bytes.js';
import type { HttpEventName, HttpHeader, HttpProgress, HttpTx } from './types.js';

/** The implementation behind an `HttpTx` handed out by `HttpParser` (anything else is a programmer error). */
export function asTx(tx: HttpTx): Tx {
  if (!(tx instanceof Tx)) throw new TypeError('not a transaction of HttpParser');
  return tx;
}

export class Header implements HttpHeader {
  constructor(
    public name: Uint8Array,
    public value: Uint8Array,
    public flags: number,
    /** Lowercased latin1 name, the lookup key. */
    readonly key: string,
  ) {}
}

/** Header table: first-seen order, case-insensitive lookup. */
export class HeaderTable {
  readonly list: Header[] = [];
  private readonly byKey = new Map<string, Header>();
  get(key: string): Header | undefined {
    return this.byKey.get(key);
  }
  add(h: Header): void {
    this.list.push(h);
    this.byKey.set(h.key, h);
  }
  get size(): number {
    return this.list.length;
  }
  clear(): void {
    this.list.length = 0;
    this.byKey.clear();
  }
}

export class Tx implements HttpTx {
  requestProgress: HttpProgress = 0;
  responseProgress: HttpProgress = 0;
  requestLine: Uint8Array | null = null;
  method: Uint8Array | null = null;
  methodKnown = false;
  uriRaw: Uint8Array | null = null;
  uriNormalized: Uint8Array | null = null;
  requestProtocol: Uint8Array | null = null;
  requestProtocolNumber = -1;
  isHttp09 = false;
  uriHost: Uint8Array | null = null;
  uriPort: number | null = null;
  readonly reqHeaders = new HeaderTable();
  reqHeadersRaw: ByteBuf | null = null;
  hostRaw: Uint8Array | null = null;
  hostNormalized: Uint8Array | null = null;
  /** libhtp request_port_number (URI port, else Host header port), -1 when none. */
  hostPort = -1;
  requestContentLength: number | null = null;
  requestChunked = false;
  requestMessageLength = 0;
  responseLine: Uint8Array | null = null;
  responseProtocol: Uint8Array | null = null;
  responseProtocolNumber = -1;
  statusCode: Uint8Array | null = null;
  statusNumber = -1;
  statusMessage: Uint8Array | null = null;
  readonly resHeaders = new HeaderTable();
  resHeadersRaw: ByteBuf | null = null;
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
  /** Bumped whenever a header table or raw header block changes: invalidates cached buffers. */
  generation = 0;
  /** Cached buffers keyed by name, with the generation they were built at. */
  readonly cache = new Map<string, { gen: number; value: Uint8Array | Uint8Array[] | null }>();

  constructor(
    readonly id: number,
    readonly requestBody: BodyAcc,
    readonly responseBody: BodyAcc,
  ) {}

  get requestHeaders(): readonly HttpHeader[] {
    return this.reqHeaders.list;
  }
  get responseHeaders(): readonly HttpHeader[] {
    return this.resHeaders.list;
  }
  get requestHeadersRaw(): Uint8Array | null {
    return this.reqHeadersRaw === null ? null : this.reqHeadersRaw.bytes();
  }
  get responseHeadersRaw(): Uint8Array | null {
    return this.resHeadersRaw === null ? null : this.resHeadersRaw.bytes();
  }

  event(name: HttpEventName): boolean {
    if (this.events.includes(name)) return false;
    this.events.push(name);
    return true;
  }

  /** Approximate retained bytes. */
  get memoryBytes(): number {
    let n = 512 + this.requestBody.memoryBytes + this.responseBody.memoryBytes;
    for (const b of [this.requestLine, this.method, this.uriRaw, this.uriNormalized, this.responseLine]) if (b) n += b.length;
    if (this.reqHeadersRaw) n += this.reqHeadersRaw.capacity;
    if (this.resHeadersRaw) n += this.resHeadersRaw.capacity;
    for (const h of this.reqHeaders.list) n += 64 + h.name.length + h.value.length;
    for (const h of this.resHeaders.list) n += 64 + h.name.length + h.value.length;
    for (const c of this.cache.values()) {
      if (c.value instanceof Uint8Array) n += c.value.length;
      else if (Array.isArray(c.value)) for (const v of c.value) n += v.length;
    }
    return n;
  }

  /** Debug view. */
  toString(): string {
    return `tx ${this.id} ${this.method ? latin1(this.method) : '-'} ${this.uriRaw ? latin1(this.uriRaw) : '-'} ${this.statusNumber}`;
  }
}
