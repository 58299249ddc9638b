/**
 * HTTP/1.x as an `AppProtocol` (../types.ts): the framework's view of the parser in this folder.
 * Adapts `HttpParser` (two directions, libhtp semantics), `HTTP_BUFFERS` / `httpBuffer` /
 * `httpMultiBuffer`, `httpEve` and `probeHttp` to the generic contract, and defines the HTTP
 * keywords that are not buffers (`urilen`). Pure like the parser: no I/O, no clock.
 */
import type {
  AppBufferSpec,
  AppDirection,
  AppKeywordSpec,
  AppParser,
  AppParserContext,
  AppParserState,
  AppProtocol,
  AppProtoName,
  AppTx,
} from '../types.js';
import { HTTP_BUFFERS, httpBuffer, httpBufferSpec, httpMultiBuffer } from './buffers.js';
import { httpEve } from './eve.js';
import { HttpParser } from './parser.js';
import { probeHttp } from './probe.js';
import { asTx, type Tx } from './tx.js';
import { HTTP_RAISED_EVENTS, HttpProgress, type HttpBufferName, type HttpTx } from './types.js';

/** Versions handed out by `HttpAppTx.buffersVersion` (process-wide: a number names one tx state). */
let versions = 0;

/** An `AppTx` over one `HttpTx` (made once per tx by `HttpAppParser`). */
export class HttpAppTx implements AppTx {
  private eventsCache: string[] = [];
  private eventsSeen = 0;
  private readonly t: Tx;
  // What the buffers of a direction that are not append-only (the bodies are) are made of when
  // `buffersVersion` last looked (httpBuffer and httpMultiBuffer read nothing else): progress,
  // the line parts (views made once, replaced when their line is) and, once the header block is
  // done (before, httpBuffer gives no header or host buffer), the host and the header generation
  // (bumped on every change of the header table or raw block; file.data's choice of the request
  // body depends on the method and Content-Type).
  private qVersion = 0;
  private qProgress = -1;
  private qLine: Uint8Array | null = null;
  private qMethod: Uint8Array | null = null;
  private qUriRaw: Uint8Array | null = null;
  private qUri: Uint8Array | null = null;
  private qProtocol: Uint8Array | null = null;
  private qHostRaw: Uint8Array | null = null;
  private qHost: Uint8Array | null = null;
  private qGen = -1;
  private sVersion = 0;
  private sProgress = -1;
  private sLine: Uint8Array | null = null;
  private sProtocol: Uint8Array | null = null;
  private sCode: Uint8Array | null = null;
  private sMsg: Uint8Array | null = null;
  private sGen = -1;

  constructor(readonly http: HttpTx) {
    this.t = asTx(http);
  }

  get id(): number {
    return this.http.id;
  }

  /** libhtp's progress ordinals (`HttpProgress`): 0 not started … 5 complete. */
  progress(dir: AppDirection): number {
    return dir === 'to_server' ? this.http.requestProgress : this.http.responseProgress;
  }

  complete(dir: AppDirection): boolean {
    return this.progress(dir) === HttpProgress.COMPLETE;
  }

  /** A buffer is final once its direction's progress reached the spec's `complete` (a GET that announced a body it never sent still has its headers final). */
  bufferFinal(name: string, dir: AppDirection): boolean {
    const spec = httpBufferSpec(name);
    return spec === undefined ? this.complete(dir) : this.progress(dir) >= spec.complete;
  }

  /** See AppTx.buffersVersion: a new number whenever a part the direction's buffers (bodies aside) are built from changed. */
  buffersVersion(dir: AppDirection): number {
    const t = this.t;
    if (dir === 'to_server') {
      const progress = t.requestProgress;
      const line = t.requestLine;
      const method = t.method;
      const uriRaw = t.uriRaw;
      const uri = t.uriNormalized;
      const protocol = t.requestProtocol;
      const done = progress > HttpProgress.HEADERS;
      const hostRaw = done ? t.hostRaw : null;
      const host = done ? t.hostNormalized : null;
      const gen = done ? t.reqGen : -1;
      if (this.qVersion === 0 || progress !== this.qProgress || line !== this.qLine || method !== this.qMethod || uriRaw !== this.qUriRaw || uri !== this.qUri
        || protocol !== this.qProtocol || hostRaw !== this.qHostRaw || host !== this.qHost || gen !== this.qGen) {
        this.qProgress = progress;
        this.qLine = line;
        this.qMethod = method;
        this.qUriRaw = uriRaw;
        this.qUri = uri;
        this.qProtocol = protocol;
        this.qHostRaw = hostRaw;
        this.qHost = host;
        this.qGen = gen;
        this.qVersion = ++versions;
      }
      return this.qVersion;
    }
    const progress = t.responseProgress;
    const line = t.responseLine;
    const protocol = t.responseProtocol;
    const code = t.statusCode;
    const msg = t.statusMessage;
    const done = progress > HttpProgress.HEADERS;
    const gen = done ? t.resGen : -1;
    if (this.sVersion === 0 || progress !== this.sProgress || line !== this.sLine || protocol !== this.sProtocol || code !== this.sCode || msg !== this.sMsg || gen !== this.sGen) {
      this.sProgress = progress;
      this.sLine = line;
      this.sProtocol = protocol;
      this.sCode = code;
      this.sMsg = msg;
      this.sGen = gen;
      this.sVersion = ++versions;
    }
    return this.sVersion;
  }

  /** httpBuffer resolves names and aliases itself and has no single buffer of a multi-buffer's name (null). */
  buffer(name: string, dir: AppDirection): Uint8Array | null {
    return httpBuffer(this.http, name as HttpBufferName, dir);
  }

  multiBuffer(name: string, dir: AppDirection): readonly Uint8Array[] {
    const spec = httpBufferSpec(name);
    if (spec === undefined || !spec.multi || !spec.directions.includes(dir)) return [];
    return httpMultiBuffer(this.http, spec.name);
  }

  /** `http.<EVENT>` names; the parser only appends to its list, so the mapped copy is extended, not rebuilt. */
  get events(): readonly string[] {
    const ev = this.http.events;
    if (ev.length !== this.eventsSeen) {
      for (let i = this.eventsSeen; i < ev.length; i++) this.eventsCache.push(`http.${ev[i]!}`);
      this.eventsSeen = ev.length;
    }
    return this.eventsCache;
  }
}

/**
 * The protocol change Suricata's HTTP layer asks for when libhtp enters tunnel mode
 * (app-layer-htp.c HTPHandleResponseData and HTPCallbackResponseComplete), or undefined when it
 * asks for none and libhtp just ignores the rest of the connection:
 * - CONNECT answered 2xx, on the connection's first tx only (`transaction_cnt == 1`): re-detect
 *   (null; TLS or HTTP are the usual answers);
 * - 101 with `Upgrade: h2c` (exact bytes): HTTP/2, which bulwark does not parse: re-detection
 *   finds no protocol in the HTTP/2 frames, so the flow's app layer ends there (null);
 * - 101 with `Upgrade: websocket` (any case): WebSocket;
 * - any other 101 (no Upgrade header, another protocol): none.
 * `upgrade`: the 101's Upgrade value (`upgrade` when it has none).
 */
export function tunnelChangeTarget(status: number, upgrade: string, txId: number): AppProtoName | null | undefined {
  if (status !== 101) return txId === 0 ? null : undefined;
  if (upgrade === 'h2c') return null;
  if (upgrade.toLowerCase() === 'websocket') return 'websocket';
  return undefined;
}

/** The per-flow parser: `HttpParser` behind the generic feed/gap/end interface. */
export class HttpAppParser implements AppParser {
  readonly parser: HttpParser;
  private readonly wrappers = new Map<number, HttpAppTx>();
  /** What txs() returned last. */
  private list: readonly HttpAppTx[] = [];

  /** The protocol the granted change goes to (null: re-detect). */
  private changeTo: AppProtoName | null = null;

  constructor(ctx: AppParserContext) {
    const http = ctx.settings?.http;
    this.parser = new HttpParser(http === undefined ? {} : { requestBodyLimit: http.requestBodyLimit, responseBodyLimit: http.responseBodyLimit }, {
      serverPort: ctx.serverPort,
      onTunnel: (upgrade, tx) => {
        const to = tunnelChangeTarget(tx.statusNumber, upgrade, tx.id);
        if (to === undefined) return 'stay';
        if (ctx.requestProtocolChange !== undefined && !ctx.requestProtocolChange()) return 'refused';
        this.changeTo = to;
        return 'change';
      },
    });
  }

  feed(dir: AppDirection, data: Uint8Array, off: number, len: number, tsUs: number): void {
    if (dir === 'to_server') this.parser.request(data, off, len, tsUs);
    else this.parser.response(data, off, len, tsUs);
  }

  gap(dir: AppDirection, len: number): void {
    if (dir === 'to_server') this.parser.requestGap(len);
    else this.parser.responseGap(len);
  }

  end(dir: AppDirection): void {
    if (dir === 'to_server') this.parser.requestEnd();
    else this.parser.responseEnd();
  }

  /**
   * A tunnel whose protocol change was granted leaves HTTP (`upgradeTo`); in any other tunnel
   * libhtp ignores the rest of the connection and HTTP stays (as Suricata).
   */
  get state(): AppParserState {
    const s = this.parser.state;
    return s === 'http' ? 'ok' : s === 'tunnel' ? (this.parser.tunnelChange ? 'upgrade' : 'ok') : 'failed';
  }

  get failReason(): string | null {
    return this.parser.failReason;
  }

  /** Bytes after the switch in the segment that made it, per direction, for the next protocol. */
  takeUpgradeData(): { to_server: Uint8Array | null; to_client: Uint8Array | null } {
    const [req, res] = this.parser.takeTunnelKept();
    return { to_server: req, to_client: res };
  }

  /** Where the granted change goes (`tunnelChangeTarget`). */
  get upgradeTo(): AppProtoName | null {
    return this.changeTo;
  }

  /**
   * The live txs' wrappers, in order: the list made last while the parser's live txs are the
   * same (the detector asks per chunk; a generator and a map lookup per tx cost more than the
   * check), else a new list (a caller still holding the old one sees it unchanged).
   */
  txs(): Iterable<AppTx> {
    const live = this.parser.txs;
    const list = this.list;
    let same = list.length === live.length;
    for (let i = 0; same && i < live.length; i++) same = list[i]!.http === live[i];
    if (same) return list;
    const next: HttpAppTx[] = [];
    for (const t of live) {
      let w = this.wrappers.get(t.id);
      if (w === undefined || w.http !== t) {
        w = new HttpAppTx(t);
        this.wrappers.set(t.id, w);
      }
      next.push(w);
    }
    this.list = next;
    return next;
  }

  /** The detect stage is done with txs ≤ id: they go even when incomplete (Suricata frees txs the detector finished). */
  release(id: number): void {
    this.parser.release(id, true);
    for (const k of this.wrappers.keys()) if (k <= id) this.wrappers.delete(k);
  }

  memory(): number {
    return this.parser.memoryBytes;
  }

  dispose(): void {
    this.parser.dispose();
    this.wrappers.clear();
    this.list = [];
  }

  counters(): Readonly<Record<string, number>> {
    const c = this.parser.counters;
    const out: Record<string, number> = {
      transactions: c.transactions,
      request_bytes: c.requestBytes,
      response_bytes: c.responseBytes,
      decompression_bombs: c.decompressionBombs,
      decompression_errors: c.decompressionErrors,
      request_gaps: c.requestGaps,
      response_gaps: c.responseGaps,
      gap_bytes: c.gapBytes,
      gaps_resynced: c.gapsResynced,
      tunnel_bytes: c.tunnelBytes,
      ignored_bytes: c.ignoredBytes,
    };
    for (const [k, v] of Object.entries(c.events)) out[`event_${k}`] = v;
    for (const [k, v] of Object.entries(c.limits)) out[`limit_${k}`] = v;
    return out;
  }
}

/** `urilen` value: Suricata's unsigned-integer forms on the URI length (detect/uri.rs, uint.rs). */
export interface UrilenValue {
  readonly mode: '=' | '!' | '<' | '>' | '<=' | '>=' | '<>';
  readonly a: number;
  readonly b: number;
  /** `raw`: http.uri.raw; `norm` (default): http.uri. */
  readonly raw: boolean;
}

/** Parses `[op]N` / `A<>B` / `A-B` of Suricata's u16 uint parser (`!`, `<`, `>`, `<=`, `>=`, `=`, ranges exclusive). */
export function parseUint16Match(text: string, what: string): { mode: UrilenValue['mode']; a: number; b: number } {
  const t = text.trim();
  const num = (s: string): number => {
    if (!/^\d+$/.test(s)) throw new Error(`${what}: expected a number, got "${s}"`);
    const n = Number(s);
    if (n > 65535) throw new Error(`${what}: ${n} is over 65535`);
    return n;
  };
  let m = /^(\d+)\s*(?:<>|-)\s*(\d+)$/.exec(t);
  if (m) {
    const a = num(m[1]!);
    const b = num(m[2]!);
    if (a >= b) throw new Error(`${what}: range ${t} is empty`);
    return { mode: '<>', a, b };
  }
  m = /^(<=|>=|<|>|=|!)?\s*(\d+)$/.exec(t);
  if (!m) throw new Error(`${what}: cannot parse "${t}"`);
  const a = num(m[2]!);
  const mode = (m[1] ?? '=') as UrilenValue['mode'];
  if (mode === '<' && a === 0) throw new Error(`${what}: <0 matches nothing`);
  if (mode === '>' && a === 65535) throw new Error(`${what}: >65535 matches nothing`);
  return { mode, a, b: 0 };
}

export function uintMatches(v: { mode: UrilenValue['mode']; a: number; b: number }, n: number): boolean {
  switch (v.mode) {
    case '=': return n === v.a;
    case '!': return n !== v.a;
    case '<': return n < v.a;
    case '>': return n > v.a;
    case '<=': return n <= v.a;
    case '>=': return n >= v.a;
    case '<>': return n > v.a && n < v.b;
  }
}

/** `urilen:[op]N[,raw|norm]`: the length of the normalised (default) or raw URI; no URI, no match. */
export const URILEN: AppKeywordSpec<UrilenValue> = {
  name: 'urilen',
  aliases: [],
  directions: ['to_server'],
  parse(value: string | null): UrilenValue {
    if (value === null) throw new Error('urilen needs a value');
    const comma = value.indexOf(',');
    const numPart = comma < 0 ? value : value.slice(0, comma);
    const opt = comma < 0 ? 'norm' : value.slice(comma + 1).trim();
    if (opt !== 'raw' && opt !== 'norm') throw new Error(`urilen: unknown option "${opt}" (raw or norm)`);
    return { ...parseUint16Match(numPart, 'urilen'), raw: opt === 'raw' };
  },
  match(tx: AppTx, dir: AppDirection, v: UrilenValue): boolean {
    if (dir !== 'to_server') return false;
    const b = tx.buffer(v.raw ? 'http.uri.raw' : 'http.uri', 'to_server');
    return b !== null && uintMatches(v, b.length);
  },
};

const BUFFERS: readonly AppBufferSpec[] = HTTP_BUFFERS.map((s) => ({
  name: s.name,
  aliases: s.aliases,
  directions: s.directions,
  multi: s.multi,
  lowercaseOnly: s.lowercaseOnly,
  pcreFlag: s.pcreFlag,
  // Bodies (final only when the tx side is complete) only grow: body.ts appends decoded bytes and
  // copies the kept ones over when it needs more room.
  appendOnly: s.complete === HttpProgress.COMPLETE,
  // Everything else is set once per tx (lines, URI forms) or built into the tx's cache and
  // rebuilt as a new array when its header table changes (buffers.ts cachedOf).
  stable: s.complete !== HttpProgress.COMPLETE && !s.multi,
}));

export const httpProtocol: AppProtocol = {
  name: 'http',
  ruleProtocols: ['http', 'http1'],
  hintPorts: [80, 8080, 8000, 8008, 8088, 3128, 81],
  probeDirections: ['to_server', 'to_client'],
  probe: (dir, data, len) => probeHttp(dir, data, len),
  create: (ctx) => new HttpAppParser(ctx),
  buffers: BUFFERS,
  keywords: [URILEN],
  events: HTTP_RAISED_EVENTS.map((e) => e.toLowerCase()),
  eve(tx: AppTx): Record<string, unknown> {
    if (!(tx instanceof HttpAppTx)) return {};
    return httpEve(tx.http);
  },
};

/** The `HttpBufferName` of an AppTx buffer name (for callers holding the HTTP types). */
export function httpBufferName(name: string): HttpBufferName | null {
  return httpBufferSpec(name)?.name ?? null;
}
