/**
 * The main thread of a sharded scan (types.ts): starts the workers once per `bulwark scan`,
 * has the ruleset queued for them (feed.ts: shared automata, copied signatures), runs each file on all of them,
 * merges their detections into packet order and filters them (merge.ts), and sums their counters
 * into the same ScanSummary a single engine gives.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { statSync } from 'node:fs';
import { BulwarkError } from '../../errors.js';
import type { RateFilter } from '../../signatures/types.js';
import { workerScript } from '../../worker-script.js';
import { ThresholdFilter } from '../threshold/filter.js';
import { NO_THRESHOLDS } from '../threshold/parse.js';
import { checksumPolicyFor, summarize, type ScanOptions, type ScanSummary } from '../scan.js';
import type { EngineStats } from '../engine.js';
import { CentralFilter, OrderedMerge } from './merge.js';
import { restoreDescription } from './describe.js';
import type { ShardFeed } from './feed.js';
import type { FromShard, ShardResult, ToShard } from './types.js';
import type { ShardWorkerData } from './worker.js';

/** Sharding figures of a scan (bench, `scan --json` stats). */
export interface ShardFigures {
  workers: number;
  /** Packets each worker inspected. */
  inspected: number[];
  /** Most detections held at once while putting them in order. */
  heldMax: number;
  /** Times a worker waited for a slower one (SKEW_WINDOW). */
  waits: number;
}

const DEFAULT_STREAM_MEMORY = 128 * 1024 * 1024;

/**
 * Why a scan cannot be sharded, or null. IPS simulation decides a flow's fate from the filtered
 * verdict inside the packet path, where the workers' filter is not (merge.ts CentralFilter).
 */
export function shardRefusal(o: Pick<ScanOptions, 'simulateIps'>): string | null {
  return o.simulateIps === true ? '--simulate-ips needs the alert filter in the packet path (one worker)' : null;
}

export class ScanPool {
  private readonly workers: Worker[];
  private ruleFilters = new Map<string, RateFilter>();
  /** The signatures' msg, metadata and EVE texts (describe.ts): the workers' alerts come without them. */
  private descriptions: ReadonlyMap<string, string> = new Map<string, string>();
  private failure: Error | null = null;
  private readonly exited = new Set<number>();
  private listener: ((w: number, m: FromShard) => void) | null = null;

  private constructor(workers: Worker[]) {
    this.workers = workers;
    workers.forEach((w, i) => {
      w.on('message', (m: FromShard) => {
        // The worker's own error (an unreadable file: BULWARK_ERR_CAPTURE) keeps its code.
        if (m.type === 'error') this.fail(new BulwarkError(m.code, m.message));
        else this.listener?.(i, m);
      });
      w.on('error', (e) => { this.fail(new BulwarkError('BULWARK_ERR_INTERNAL', `scan worker ${i} failed: ${e.message}`, { cause: e })); });
      w.on('exit', (code) => {
        this.exited.add(i);
        if (code !== 0) this.fail(new BulwarkError('BULWARK_ERR_INTERNAL', `scan worker ${i} exited (code ${code})`));
      });
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.listener?.(-1, { type: 'error', message: e.message, code: 'BULWARK_ERR_INTERNAL' });
  }

  /** One channel per worker: `feed[i]` is where worker i's ruleset is queued (feedRuleset), `receive[i]` goes to launch. */
  static channels(count: number): { feed: MessagePort[]; receive: MessagePort[] } {
    const feed: MessagePort[] = [];
    const receive: MessagePort[] = [];
    for (let i = 0; i < count; i++) {
      const { port1, port2 } = new MessageChannel();
      receive.push(port1);
      feed.push(port2);
    }
    return { feed, receive };
  }

  /** Starts one worker per channel (channels().receive), waiting for its ruleset; then `load`. */
  static launch(receive: MessagePort[]): ScanPool {
    const count = receive.length;
    const progress = new SharedArrayBuffer(4 * count);
    const { script, eval: isEval } = workerScript(import.meta.url, 'worker');
    const workers = receive.map((port, index) => {
      const data: ShardWorkerData = { index, count, port, progress };
      return new Worker(script, { eval: isEval, workerData: data, transferList: [port] });
    });
    return new ScanPool(workers);
  }

  /** The pieces of `feed` are queued on the workers' ports: resolves once each has rebuilt the ruleset. */
  async load(feed: ShardFeed): Promise<void> {
    this.ruleFilters = new Map(feed.ruleFilters);
    this.descriptions = feed.descriptions;
    const ready = this.collect((w, m, done) => { if (m.type === 'ready') done(w); });
    for (const w of this.workers) w.postMessage({ type: 'ruleset', pieces: feed.pieces } satisfies ToShard);
    await ready;
  }

  /** Waits until every worker called done(w) from `on`; rejects on the first worker failure. */
  private collect(on: (w: number, m: FromShard, done: (w: number) => void) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.failure !== null) {
        reject(this.failure);
        return;
      }
      const left = new Set(this.workers.map((_, i) => i));
      const done = (w: number): void => {
        left.delete(w);
        if (left.size === 0) {
          this.listener = null;
          resolve();
        }
      };
      this.listener = (w, m) => {
        if (w < 0) {
          this.listener = null;
          reject(this.failure ?? new BulwarkError('BULWARK_ERR_INTERNAL', m.type === 'error' ? m.message : 'scan worker failed'));
          return;
        }
        on(w, m, done);
      };
    });
  }

  get size(): number {
    return this.workers.length;
  }

  /** scanFile over the workers: same options (simulateIps refused: shardRefusal), same summary. */
  async scan(o: Omit<ScanOptions, 'ruleset'>): Promise<ScanSummary & { shard: ShardFigures }> {
    const refusal = shardRefusal(o);
    if (refusal !== null) throw new BulwarkError('BULWARK_ERR_USAGE', refusal);
    const n = this.workers.length;
    const { checks, sample } = checksumPolicyFor(o.file, o.checksumChecks ?? 'auto');
    const central = new CentralFilter(o.alertFilter ?? new ThresholdFilter(NO_THRESHOLDS, { maxEntries: 65_536 }), this.ruleFilters);
    let alerts = 0;
    const merge = new OrderedMerge(n, (d) => {
      if (!central.pass(d)) return;
      restoreDescription(d, this.descriptions);
      alerts++;
      o.onDetection(d);
    });
    const results: ShardResult[] = new Array<ShardResult>(n);
    let fileSize = 0;
    if (o.onProgress) {
      try {
        fileSize = statSync(o.file).size;
      } catch {
        // the workers report the unreadable file
      }
    }
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const job: ToShard = {
      type: 'scan',
      job: {
        file: o.file,
        engine: o.engine,
        simulateIps: false,
        maxStreamMemory: Math.max(1, Math.floor((o.maxStreamMemory ?? DEFAULT_STREAM_MEMORY) / n)),
        checksum: { mode: checks.mode, sample: sample ?? null },
      },
    };
    const done = this.collect((w, m, finish) => {
      if (m.type === 'batch') {
        merge.push(w, m.keys, m.detections, m.progress);
        if (o.onProgress && w === 0 && fileSize > 0) o.onProgress(Math.min(fileSize, m.consumed), fileSize);
      } else if (m.type === 'done') {
        results[w] = m.result;
        merge.finish(w);
        finish(w);
      }
    });
    for (const w of this.workers) w.postMessage(job);
    await done;
    const seconds = (performance.now() - t0) / 1000;
    const cu = process.cpuUsage(c0);
    const first = results[0]!;
    // A worker that could not read the file throws inside it (error message); all read the same bytes.
    const st = sumStats(results.map((r) => r.stats));
    let firstUs = -1;
    let lastUs = -1;
    const cs = { packets: 0, invalid: 0 };
    for (const r of results) {
      if (r.firstUs >= 0 && (firstUs < 0 || r.firstUs < firstUs)) firstUs = r.firstUs;
      lastUs = Math.max(lastUs, r.lastUs);
      cs.packets += r.checksum.packets;
      cs.invalid += r.checksum.invalid;
    }
    const summary = summarize(o.file, first.info, st, {
      alerts,
      seconds,
      cpuSeconds: (cu.user + cu.system) / 1e6,
      firstUs,
      lastUs,
      checksum: { mode: checks.mode, validation: first.checksum.status, ...cs, ...(sample !== undefined ? { sample } : {}) },
    });
    return { ...summary, shard: { workers: n, inspected: results.map((r) => r.inspected), heldMax: merge.heldMax, waits: results.reduce((a, r) => a + r.waits, 0) } };
  }

  async close(): Promise<void> {
    const exits = this.workers.map((w, i) => (this.exited.has(i) ? Promise.resolve() : new Promise<void>((r) => { w.once('exit', () => { r(); }); })));
    for (const w of this.workers) w.postMessage({ type: 'exit' } satisfies ToShard);
    const timer = setTimeout(() => { for (const w of this.workers) void w.terminate(); }, 5000);
    await Promise.all(exits);
    clearTimeout(timer);
  }
}

type Summed = Pick<EngineStats, 'packets' | 'bytes' | 'flowsCreated' | 'dropped' | 'decoderEvents' | 'reassembly'>;

/** The workers' counters as one engine's: sums (a `…Max` field: the largest). */
export function sumStats(all: readonly Summed[]): Summed {
  const add = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) {
      const cur = out[k];
      if (typeof v === 'number') out[k] = typeof cur === 'number' ? (/max$/i.test(k) ? Math.max(cur, v) : cur + v) : v;
      else if (v !== null && typeof v === 'object' && !Array.isArray(v)) out[k] = add((cur ?? {}) as Record<string, unknown>, v as Record<string, unknown>);
      else out[k] ??= v;
    }
    return out;
  };
  let acc: Record<string, unknown> = {};
  for (const s of all) {
    const pick: Summed = { packets: s.packets, bytes: s.bytes, flowsCreated: s.flowsCreated, dropped: s.dropped, decoderEvents: s.decoderEvents, reassembly: s.reassembly };
    acc = add(acc, pick);
  }
  return acc as unknown as Summed;
}
