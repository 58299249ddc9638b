/**
 * Minimal application-layer inspection for the detect stage: per flow, protocol detection by
 * content over the registered protocols (`APP_PROTOCOLS`), one parser fed with the in-order bytes
 * of both directions, and app-layer signatures run on its transactions through
 * src/signatures/verify-app.ts (`appCandidates` → `verifyAppSignature`), one alert per signature
 * per transaction (Suricata's detect state). Bounded: probing stops after `maxProbeBytes` per
 * direction, transactions are released once both sides are complete and inspected, and the
 * per-tx alert sets go with them. Pure logic; the engine owns flows, time and the alert path.
 *
 * Memory budget (the framework's half of the app-layer contract, ../app-layer/types.ts): after
 * every feed the bytes a flow's app-layer state holds (the parser's `memory()`, or the bytes held
 * while probing) are accounted per flow and in total. A flow over `maxFlowMemory`, or whose growth
 * takes the total over `maxMemory`, has its app-layer parsing stopped for good (state 'limit',
 * counted in `counters.limits`): its parser and held bytes are dropped at once, so the budget is
 * exceeded by at most the one feed that crossed it. The flow's raw stream inspection is not
 * affected (the engine keeps feeding the raw-stream detect path). Like Suricata's memcaps, the
 * flow whose allocation hits the global cap is the one that loses, never others. `free` gives a
 * flow's bytes back when it ends.
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
  /**
   * 'probing' until a protocol matches or every probe said no (then 'none'); 'failed' after a
   * parser stop; 'limit' once the memory budget stopped app-layer parsing; 'ended' after `free`.
   */
  state: 'probing' | 'parsing' | 'none' | 'failed' | 'limit' | 'ended';
  parser: AppParser | null;
  /** Bytes seen per direction while probing (to_server, to_client), fed to the parser once detected. */
  held: [Uint8Array[], Uint8Array[]];
  heldLen: [number, number];
  /** Stream offset expected next per direction (a chunk further on follows a gap). */
  next: [number, number];
  /** Signatures already alerted per live tx id. */
  alerted: Map<number, Set<number>>;
  /** `ruleProtocols` of the detected protocol plus its name. */
  ruleProtocols: readonly string[];
  serverPort: number;
  clientPort: number;
  /** Client and server addresses as text when known (FTP `ftpbounce` compares the PORT address with the client's). */
  clientAddr?: string;
  serverAddr?: string;
  /** Bytes of this flow's app-layer state currently counted in the detector's total. */
  mem: number;
}

export interface AppTxDetectOptions {
  /** Bytes per direction probed before giving up (Suricata's probing depth is of this order). Default 2048. */
  maxProbeBytes?: number;
  /** Bytes one flow's app-layer state may hold (config engine.appLayer.maxFlowMemory). Default 16 MiB. */
  maxFlowMemory?: number;
  /** Bytes all flows' app-layer state may hold together (config engine.appLayer.maxMemory). Default 256 MiB. */
  maxMemory?: number;
}

/** Which memory budget stopped a flow's app-layer parsing (the `limit` label of bulwark_applayer_limits_total). */
export type AppMemoryLimit = 'flow' | 'global';

/** What one feed needs from the engine to verify and report. */
export interface AppFeedContext {
  /** Flowbits of the flow, the raw stream of the direction, the packet payload length. */
  verify: Omit<AppVerifyContext, 'serverPort' | 'appProto'>;
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
  /** Flows whose app-layer parsing the memory budget stopped, by budget. */
  limits: Record<AppMemoryLimit, number>;
}

const DIR_INDEX = { to_server: 0, to_client: 1 } as const;

export class AppTxDetector {
  readonly counters: AppTxCounters = { flowsByProto: {}, undetected: 0, parserFailed: 0, txInspected: 0, candidates: 0, alerts: 0, limits: { flow: 0, global: 0 } };
  private readonly maxProbe: number;
  private readonly maxFlowMemory: number;
  private readonly maxMemory: number;
  /** Bytes held by the app-layer state of all live flows (sum of their `mem`). */
  private total = 0;
  private readonly cand: number[] = [];

  constructor(
    private ruleset: Ruleset,
    opts: AppTxDetectOptions = {},
  ) {
    this.maxProbe = opts.maxProbeBytes ?? 2048;
    this.maxFlowMemory = opts.maxFlowMemory ?? 16 * 1024 * 1024;
    this.maxMemory = opts.maxMemory ?? 256 * 1024 * 1024;
  }

  /** Bytes held by the app-layer state of all live flows (bulwark_applayer_memory_bytes). */
  get memory(): number {
    return this.total;
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
    const f: AppFlow = { proto: null, state: 'probing', parser: null, held: [[], []], heldLen: [0, 0], next: [0, 0], alerted: new Map(), ruleProtocols: [], serverPort, clientPort, mem: 0 };
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
    if (f.state === 'probing') {
      const k = DIR_INDEX[dir];
      f.held[k].push(data.slice(off, off + len));
      f.heldLen[k] += len;
      if (!this.probe(f)) {
        this.account(f);
        return;
      }
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
    this.account(f);
  }

  gap(f: AppFlow, dir: AppDirection, len: number): void {
    if (f.state === 'parsing') {
      f.parser!.gap(dir, len);
      // a failure it caused is noticed (and the parser freed) with the data after the gap
      this.account(f);
    } else if (f.state === 'probing') {
      f.state = 'none';
      this.counters.undetected++;
      this.drop(f);
    }
  }

  /** The direction ended: the parser finalises (close-delimited bodies); inspect what that completed. */
  end(f: AppFlow, dir: AppDirection, tsUs: number, ctx: AppFeedContext): void {
    if (f.state !== 'parsing') return;
    f.parser!.end(dir);
    this.inspect(f, 'to_server', tsUs, ctx);
    this.inspect(f, 'to_client', tsUs, ctx);
    this.account(f);
  }

  /** The flow ended (closed, expired, evicted): its app-layer state and its bytes go. Idempotent. */
  free(f: AppFlow): void {
    this.drop(f);
    f.state = 'ended';
  }

  /**
   * Re-counts the bytes the flow holds now; over a budget, its app-layer parsing stops for good.
   * A stopped parser (failed) holds nothing anyone reads any more (no feed, no inspection): dropped.
   */
  private account(f: AppFlow): void {
    if (f.state === 'failed') {
      this.drop(f);
      return;
    }
    const now = f.state === 'parsing' ? f.parser!.memory() : f.heldLen[0] + f.heldLen[1];
    this.total += now - f.mem;
    f.mem = now;
    if (now > this.maxFlowMemory) this.cut(f, 'flow');
    else if (this.total > this.maxMemory) this.cut(f, 'global');
  }

  private cut(f: AppFlow, limit: AppMemoryLimit): void {
    this.counters.limits[limit]++;
    this.drop(f);
    f.state = 'limit';
  }

  /** Releases the parser, held bytes and alert sets; the flow's bytes leave the total. */
  private drop(f: AppFlow): void {
    this.total -= f.mem;
    f.mem = 0;
    f.parser = null;
    f.held = [[], []];
    f.heldLen = [0, 0];
    f.alerted.clear();
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

  private inspectTx(f: AppFlow, tx: AppTx, dir: AppDirection, vctx: AppVerifyContext, ctx: AppFeedContext): void {
    const rs = this.ruleset;
    this.counters.txInspected++;
    const n = appCandidates(rs, f.ruleProtocols, tx, dir, this.cand);
    this.counters.candidates += n;
    let done = f.alerted.get(tx.id);
    for (let k = 0; k < n; k++) {
      const si = this.cand[k]!;
      if (done?.has(si) === true) continue;
      const sig = rs.signatures[si]!;
      if (!verifyAppSignature(sig, tx, dir, vctx, ctx.meter)) continue;
      if (done === undefined) f.alerted.set(tx.id, (done = new Set()));
      done.add(si);
      this.counters.alerts++;
      ctx.fire(si, tx, f.proto!, dir);
    }
  }

  private inspect(f: AppFlow, dir: AppDirection, tsUs: number, ctx: AppFeedContext): void {
    const parser = f.parser!;
    const proto = f.proto!;
    const vctx: AppVerifyContext = { ...ctx.verify, serverPort: f.serverPort, appProto: proto.name, tsUs };
    let releasable = -1;
    let prefix = true;
    const other: AppDirection = dir === 'to_server' ? 'to_client' : 'to_server';
    for (const tx of parser.txs()) {
      if (tx.progress(dir) > 0) this.inspectTx(f, tx, dir, vctx, ctx);
      if (prefix && tx.complete('to_server') && tx.complete('to_client')) {
        // Released below: its other side may have become final with this data (an SMB
        // TREE_CONNECT's share type comes with the response), so inspect that side too first;
        // alerted signatures are not repeated.
        this.inspectTx(f, tx, other, vctx, ctx);
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

function concat(parts: readonly Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
