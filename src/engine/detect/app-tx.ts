/**
 * Minimal application-layer inspection for the detect stage: per flow, protocol detection by
 * content over the registered protocols (`APP_PROTOCOLS`), one parser fed with the in-order bytes
 * of both directions, and app-layer signatures run on its transactions through
 * src/signatures/verify-app.ts (`appCandidates` → `verifyAppSignature`), one alert per signature
 * per transaction (Suricata's detect state). Bounded: probing stops after `maxProbeBytes` per
 * direction, transactions are released once both sides are complete and inspected, and the
 * per-tx alert sets go with them. Pure logic; the engine owns flows, time and the alert path.
 */
import type { AppDirection, AppParser, AppProtocol, AppTx } from '../app-layer/types.js';
import { APP_PROTOCOLS } from '../app-layer/registry.js';
import type { AppVerifyContext, Ruleset } from '../../signatures/types.js';
import { appCandidates, verifyAppSignature } from '../../signatures/verify-app.js';
import type { RegexMeter } from '../../regex/meter.js';

/** Per-flow app-layer state (one per TCP flow, created on its first payload). */
export interface AppFlow {
  /** The detected protocol, or null while probing / when none matched. */
  proto: AppProtocol | null;
  /** 'probing' until a protocol matches or every probe said no (then 'none'); 'failed' after a parser stop. */
  state: 'probing' | 'parsing' | 'none' | 'failed';
  parser: AppParser | null;
  /** Bytes seen per direction while probing (to_server, to_client), fed to the parser once detected. */
  held: [Uint8Array[], Uint8Array[]];
  heldLen: [number, number];
  /** Stream offset expected next per direction (a chunk further on follows a gap). */
  next: [number, number];
  /**
   * Per direction, the stream offset where its raw inspection window starts (AppVerifyContext
   * rawFrom): moved to the direction's end whenever the other direction delivers data, i.e. the
   * peer answered, which is when Suricata's raw reassembly (driven by the peer's ACKs) has
   * inspected what came before.
   */
  rawFrom: [number, number];
  /** Signatures already alerted per live tx id. */
  alerted: Map<number, Set<number>>;
  /** `ruleProtocols` of the detected protocol plus its name. */
  ruleProtocols: readonly string[];
  serverPort: number;
  clientPort: number;
  /** Client and server addresses as text when known (FTP `ftpbounce` compares the PORT address with the client's). */
  clientAddr?: string;
  serverAddr?: string;
}

export interface AppTxDetectOptions {
  /** Bytes per direction probed before giving up (Suricata's probing depth is of this order). Default 2048. */
  maxProbeBytes?: number;
}

/** What one feed needs from the engine to verify and report. */
export interface AppFeedContext {
  /** Flowbits of the flow, the raw stream of the direction, the packet payload length. */
  verify: Omit<AppVerifyContext, 'serverPort' | 'appProto'>;
  /** The other direction's retained stream: a tx whose other side became final with this data is inspected there too. */
  otherStream?: { buf: Uint8Array; len: number };
  meter?: RegexMeter;
  /** An app signature matched tx `tx` (index into ruleset.signatures); the engine alerts (flowbits, threshold…). */
  fire(sigIndex: number, tx: AppTx, proto: AppProtocol, dir: AppDirection): void;
}

export interface AppTxCounters {
  flowsByProto: Record<string, number>;
  undetected: number;
  parserFailed: number;
  txInspected: number;
  candidates: number;
  alerts: number;
}

const DIR_INDEX = { to_server: 0, to_client: 1 } as const;

export class AppTxDetector {
  readonly counters: AppTxCounters = { flowsByProto: {}, undetected: 0, parserFailed: 0, txInspected: 0, candidates: 0, alerts: 0 };
  private readonly maxProbe: number;
  private readonly cand: number[] = [];

  constructor(
    private ruleset: Ruleset,
    opts: AppTxDetectOptions = {},
  ) {
    this.maxProbe = opts.maxProbeBytes ?? 2048;
  }

  /** Swaps the ruleset (reload); live flows keep their parsers, alert sets refer to old indexes and are dropped. */
  setRuleset(r: Ruleset): void {
    this.ruleset = r;
  }

  /** Whether the ruleset has app-layer signatures at all (no: the engine may skip app-layer work). */
  get active(): boolean {
    const a = this.ruleset.app;
    return a !== undefined && (a.prefilters.length > 0 || a.always.size > 0);
  }

  newFlow(serverPort: number, clientPort: number, clientAddr?: string, serverAddr?: string): AppFlow {
    const f: AppFlow = { proto: null, state: 'probing', parser: null, held: [[], []], heldLen: [0, 0], next: [0, 0], rawFrom: [0, 0], alerted: new Map(), ruleProtocols: [], serverPort, clientPort };
    if (clientAddr !== undefined) f.clientAddr = clientAddr;
    if (serverAddr !== undefined) f.serverAddr = serverAddr;
    return f;
  }

  /** In-order bytes of `dir` (data[off, off+len)) at stream offset `at` (past the expected one: a gap came first). */
  data(f: AppFlow, dir: AppDirection, data: Uint8Array, off: number, len: number, at: number, tsUs: number, ctx: AppFeedContext): void {
    if (len <= 0) return;
    const di = DIR_INDEX[dir];
    if (at > f.next[di]) this.gap(f, dir, at - f.next[di]);
    f.next[di] = at + len;
    // This side speaks: the other side's turn is over, its next data starts a new raw window.
    const oi = di === 0 ? 1 : 0;
    f.rawFrom[oi] = f.next[oi];
    if (f.state === 'probing') {
      const k = DIR_INDEX[dir];
      f.held[k].push(data.slice(off, off + len));
      f.heldLen[k] += len;
      if (!this.probe(f)) return;
      // detected: hand everything held so far to the parser, requests first
      for (const d of ['to_server', 'to_client'] as const) {
        const held = f.held[DIR_INDEX[d]];
        for (const h of held) f.parser!.feed(d, h, 0, h.length, tsUs);
      }
      f.held = [[], []];
      f.heldLen = [0, 0];
    } else if (f.state === 'parsing') {
      f.parser!.feed(dir, data, off, len, tsUs);
    } else return;
    this.inspect(f, dir, tsUs, ctx);
  }

  gap(f: AppFlow, dir: AppDirection, len: number): void {
    if (f.state === 'parsing') f.parser!.gap(dir, len);
    else if (f.state === 'probing') {
      f.state = 'none';
      this.counters.undetected++;
    }
  }

  /** The direction ended: the parser finalises (close-delimited bodies); inspect what that completed. */
  end(f: AppFlow, dir: AppDirection, tsUs: number, ctx: AppFeedContext): void {
    if (f.state !== 'parsing') return;
    f.parser!.end(dir);
    this.inspect(f, 'to_server', tsUs, ctx);
    this.inspect(f, 'to_client', tsUs, ctx);
  }

  /** True when a protocol was detected (the flow is now 'parsing'). */
  private probe(f: AppFlow): boolean {
    let allNo = true;
    for (const p of APP_PROTOCOLS) {
      for (const d of p.probeDirections) {
        const k = DIR_INDEX[d];
        if (f.heldLen[k] === 0) {
          allNo = false;
          continue;
        }
        const buf = f.held[k].length === 1 ? f.held[k][0]! : concat(f.held[k], f.heldLen[k]);
        f.held[k] = [buf];
        const r = p.probe(d, buf, buf.length);
        if (r === 'match') {
          f.proto = p;
          f.parser = p.create({
            serverPort: f.serverPort, clientPort: f.clientPort,
            ...(f.clientAddr !== undefined ? { clientAddr: f.clientAddr } : {}),
            ...(f.serverAddr !== undefined ? { serverAddr: f.serverAddr } : {}),
          });
          f.state = 'parsing';
          f.ruleProtocols = p.ruleProtocols.includes(p.name) ? p.ruleProtocols : [p.name, ...p.ruleProtocols];
          this.counters.flowsByProto[p.name] = (this.counters.flowsByProto[p.name] ?? 0) + 1;
          return true;
        }
        if (r === 'need-more' && f.heldLen[k] < this.maxProbe) allNo = false;
      }
    }
    // a direction that has not spoken yet may still identify the flow; give up once both are decided
    if (allNo || f.heldLen[0] + f.heldLen[1] >= 2 * this.maxProbe) {
      f.state = 'none';
      f.held = [[], []];
      f.heldLen = [0, 0];
      this.counters.undetected++;
    }
    return false;
  }

  /**
   * `rawFired`: signatures with nothing but raw-stream conditions (no buffer, no app keyword)
   * that alerted during this feed. Their match does not depend on the tx, so they alert once per
   * inspected chunk like Suricata's packet/stream rules, not once per live tx.
   */
  private inspectTx(f: AppFlow, tx: AppTx, dir: AppDirection, vctx: AppVerifyContext, ctx: AppFeedContext, rawFired: Set<number>): void {
    const rs = this.ruleset;
    this.counters.txInspected++;
    const n = appCandidates(rs, f.ruleProtocols, tx, dir, this.cand);
    this.counters.candidates += n;
    let done = f.alerted.get(tx.id);
    for (let k = 0; k < n; k++) {
      const si = this.cand[k]!;
      if (done?.has(si) === true) continue;
      const sig = rs.signatures[si]!;
      const rawOnly = (sig.buffers?.length ?? 0) === 0 && (sig.appKeywords?.length ?? 0) === 0;
      if (rawOnly && rawFired.has(si)) continue;
      if (!verifyAppSignature(sig, tx, dir, vctx, ctx.meter)) continue;
      if (rawOnly) rawFired.add(si);
      if (done === undefined) f.alerted.set(tx.id, (done = new Set()));
      done.add(si);
      this.counters.alerts++;
      ctx.fire(si, tx, f.proto!, dir);
    }
  }

  private inspect(f: AppFlow, dir: AppDirection, tsUs: number, ctx: AppFeedContext): void {
    const parser = f.parser!;
    const proto = f.proto!;
    const vctx: AppVerifyContext = { ...ctx.verify, serverPort: f.serverPort, appProto: proto.name, tsUs, rawFrom: f.rawFrom[DIR_INDEX[dir]] };
    let releasable = -1;
    let prefix = true;
    const other: AppDirection = dir === 'to_server' ? 'to_client' : 'to_server';
    let vother: AppVerifyContext | null = null;
    const rawFired = new Set<number>();
    const rawFiredOther = new Set<number>();
    for (const tx of parser.txs()) {
      if (tx.progress(dir) > 0) this.inspectTx(f, tx, dir, vctx, ctx, rawFired);
      if (prefix && tx.complete('to_server') && tx.complete('to_client')) {
        // Released below: its other side may have become final with this data (an SMB
        // TREE_CONNECT's share type comes with the response), so inspect that side too first;
        // alerted signatures are not repeated.
        // Raw conditions of that side run on that side's stream and window, never on this one's.
        vother ??= otherContext(vctx, ctx.otherStream, f.rawFrom[DIR_INDEX[other]]);
        this.inspectTx(f, tx, other, vother, ctx, rawFiredOther);
        releasable = tx.id;
      } else prefix = false;
    }
    if (releasable >= 0) {
      parser.release(releasable);
      for (const id of f.alerted.keys()) if (id <= releasable) f.alerted.delete(id);
    }
    if (parser.state === 'failed' && f.state === 'parsing') {
      f.state = 'failed';
      this.counters.parserFailed++;
    }
  }
}

function otherContext(v: AppVerifyContext, other: { buf: Uint8Array; len: number } | undefined, rawFrom: number): AppVerifyContext {
  const out: AppVerifyContext = { ...v, rawFrom };
  delete out.stream;
  delete out.streamLength;
  if (other !== undefined) {
    out.stream = other.buf;
    out.streamLength = other.len;
  }
  return out;
}

function concat(parts: readonly Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
