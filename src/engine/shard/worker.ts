/**
 * A scan worker (types.ts): rebuilds the ruleset from the main thread's pieces (the automata
 * arrive as shared memory, the regexes are compiled again here), then for each file reads the
 * whole capture, inspects the packets of its share and counts the others.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { BulwarkError } from '../../errors.js';
import { createLogger } from '../../log/index.js';
import type { Ruleset } from '../../signatures/types.js';
import { reviveGraph, RULESET_CLASSES_LAZY } from '../../signatures/offthread.js';
import { Engine } from '../engine.js';
import { readPcapFile } from '../capture/pcap-file.js';
import { DIR } from '../capture/types.js';
import { ChecksumPolicy } from '../decode/checksum.js';
import { DecodedPacket, decodePacket } from '../decode/decode.js';
import type { AlertFilter } from '../threshold/types.js';
import type { Detection } from '../types.js';
import { shardOf } from './key.js';
import { compactViews } from './views.js';
import { BATCH_DETECTIONS, PROGRESS_EVERY, SKEW_WINDOW, type FromShard, type ShardResult, type ShardScanJob, type ToShard } from './types.js';

export interface ShardWorkerData {
  index: number;
  count: number;
  /** The ruleset pieces arrive on this port (feed.ts); a `ruleset` message says how many. */
  port: MessagePort;
  /** Int32Array over it: each worker's last finished packet ordinal (DONE when finished). */
  progress: SharedArrayBuffer;
}

const DONE = 0x7fffffff;

/** The main thread filters (merge.ts CentralFilter): here every match alerts. */
const PASS_ALL: AlertFilter = {
  check: () => ({ alert: true }),
  stats: () => ({ filtered: { suppress: 0, threshold: 0, detection_filter: 0 }, rateFilterActions: { alert: 0, drop: 0, reject: 0, pass: 0 }, entries: 0, evictions: 0 }),
  clear: () => undefined,
};

function post(m: FromShard): void {
  parentPort!.postMessage(m);
}


function scan(job: ShardScanJob, ruleset: Ruleset, me: ShardWorkerData): ShardResult {
  const n = me.count;
  const progress = new Int32Array(me.progress);
  const log = createLogger({ level: 'warn', destination: { write: (s: string) => process.stderr.write(s) } });
  let keys: number[] = [];
  let dets: Detection[] = [];
  let flushing = false;
  let consumed = 0;
  const send = (done: number): void => {
    post({ type: 'batch', progress: done, keys, detections: dets, consumed });
    keys = [];
    dets = [];
  };
  const engine = new Engine({
    ruleset,
    // As scanFile: no time budgets offline. Each worker holds its share of the flow and stream bounds.
    config: { ...job.engine, maxFlows: Math.max(1, Math.ceil(job.engine.maxFlows / n)), regex: { ...job.engine.regex, packetBudgetMs: 0, secondBudgetMs: 0 } },
    log,
    maxStreamMemory: job.maxStreamMemory,
    alertFilter: PASS_ALL,
    flowSerial: { offset: me.index, stride: n },
    onDetection: (d) => {
      const o = engine.packetOrdinal;
      keys.push(flushing ? (o + 1) * 2 : o * 2 + (d.pcapCnt !== undefined ? 1 : 0));
      dets.push(compactViews(d) as Detection);
    },
  });
  const checks = new ChecksumPolicy(job.checksum.mode, { enforceWhileSampling: true });
  if (job.checksum.sample !== null) checks.decide(job.checksum.sample.packets, job.checksum.sample.invalid);
  const key = new DecodedPacket();
  let first = -1;
  let last = -1;
  let inspected = 0;
  let waits = 0;
  const { info } = readPcapFile(job.file, (buf, caplen, linkType, tsUs, offset) => {
    if (first < 0) first = tsUs;
    last = tsUs;
    consumed += caplen + 16;
    const o = engine.packetOrdinal; // packets finished so far
    if ((o & 1023) === 0) {
      Atomics.store(progress, me.index, o);
      // Never run more than SKEW_WINDOW packets ahead of the slowest worker (bounds the merge).
      for (;;) {
        let min = DONE;
        for (let w = 0; w < n; w++) if (w !== me.index) min = Math.min(min, Atomics.load(progress, w));
        if (min === DONE || o - min <= SKEW_WINDOW) break;
        waits++;
        Atomics.wait(progress, me.index, o, 1);
      }
    }
    decodePacket(buf, offset, caplen, linkType, key);
    if (shardOf(key, n) === me.index) {
      inspected++;
      engine.processPacket(buf, caplen, linkType, tsUs, offset, DIR.UNKNOWN, checks);
    } else engine.skipPacket(tsUs);
    if (dets.length >= BATCH_DETECTIONS || (engine.packetOrdinal % PROGRESS_EVERY) === 0) send(engine.packetOrdinal);
  });
  const stats = engine.stats();
  flushing = true;
  engine.flush();
  send(engine.packetOrdinal + 1);
  Atomics.store(progress, me.index, DONE);
  return { info, stats, firstUs: first, lastUs: last, checksum: { status: checks.status, ...checks.counts }, inspected, waits };
}

function main(): void {
  const me = workerData as ShardWorkerData;
  let ruleset: Ruleset | null = null;
  const failed = (e: unknown, what: string): void => {
    Atomics.store(new Int32Array(me.progress), me.index, DONE);
    post({ type: 'error', message: `${what}${e instanceof Error ? e.message : String(e)}`, code: e instanceof BulwarkError ? e.code : 'BULWARK_ERR_INTERNAL' });
  };
  // Listening at once: the worker waits (module loading done) while the ruleset is compiled.
  parentPort!.on('message', (m: ToShard) => {
    if (m.type === 'exit') {
      me.port.close();
      parentPort!.close();
      return;
    }
    if (m.type === 'ruleset') {
      reviveGraph(me.port, m.pieces, 50, RULESET_CLASSES_LAZY).then(
        (g) => {
          ruleset = (g as { ruleset: Ruleset }).ruleset;
          me.port.close();
          post({ type: 'ready' });
        },
        (e: unknown) => { failed(e, 'scan worker: '); },
      );
      return;
    }
    if (ruleset === null) return; // the pool sends a scan only after 'ready'
    try {
      const result = scan(m.job, ruleset, me);
      post({ type: 'done', result });
    } catch (e) {
      failed(e, '');
    }
  });
}

main();
