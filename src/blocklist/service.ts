/**
 * The blocklist: model + kernel, kept in step. Every kernel change is one atomic nft transaction,
 * and only one is in flight at a time (all model changes run in `exclusive`), so a batch is
 * always planned against committed state and can be undone exactly when nft finally fails.
 *
 * Batching: a request waits at most `batchDelayMs` (5 ms: a detection must be blocked within
 * 100 ms of the attack packet, and capture already spends up to its buffer timeout) or until
 * `batchMaxElements` (500) requests are pending, then everything pending goes in one transaction
 * (capped at `maxOpsPerTransaction`). Requests arriving while a transaction runs (~5-20 ms) go in
 * the next one, so a storm still costs one nft process per in-flight period, never one per address.
 *
 * Failure: a failed transaction changed nothing (nft is atomic). It is retried with exponential
 * backoff; before each retry the table is checked and, if it vanished, re-created together with
 * every block (which includes this batch). When the last attempt fails the model is rolled back
 * and every caller of the batch gets the error.
 *
 * This file is the facade: options, lifecycle, which requests are accepted (never-block list,
 * action mode, caps) and status. It composes the parts that do the work: batch.ts (queue, plan,
 * commit, rollback), transactions.ts (nft retries), expiry.ts (the model follows the kernel's
 * expiry), kernel-sync.ts (checks, repairs, restore) and state-writer.ts (the state file).
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { ActionMode } from '../config/types.js';
import { BulwarkError, errorMessage } from '../errors.js';
import { Periodic, realScheduler, type Scheduler } from '../scheduler.js';
import { formatCidr, normalizeAddress, parseCidr } from './address.js';
import { BatchQueue, type UnblockResult } from './batch.js';
import { blocklistEvent } from './events.js';
import { ExpiryTracker } from './expiry.js';
import type { KernelElement } from './kernel-check.js';
import { createBlocklistMetrics, type BlocklistMetrics } from './metrics.js';
import { BlockModel } from './model.js';
import { NeverBlockList } from './neverblock.js';
import { addElementsCommands, allowSetCommands, buildInstallBatch } from './ruleset.js';
import { KernelSync } from './kernel-sync.js';
import { StateWriter } from './state-writer.js';
import { NftTransactions } from './transactions.js';
import type { BlockEntry, BlockOptions, BlockResult, Blocklist, Nft } from './types.js';

export interface BlocklistServiceOptions {
  nft: Nft;
  clock: Clock;
  log: Logger;
  registry: Registry;
  scheduler?: Scheduler;
  /** Directory of blocklist.json; undefined = no state file. */
  stateDir: string | undefined;
  mode: ActionMode;
  defaultDurationMs: number;
  /** Cap on NEW blocks per minute from detections (extensions are not counted); 0 = no cap. */
  maxBlocksPerMinute: number;
  neverBlock?: NeverBlockList;
  /** Events ("host unblocked", "host blocked"): EVE-style objects, see docs/blocklist.md. */
  onEvent?: (e: Record<string, unknown>) => void;
  batchDelayMs?: number;
  batchMaxElements?: number;
  maxOpsPerTransaction?: number;
  /** Bound on requests waiting for a transaction; more are refused with BULWARK_ERR_LIMIT. */
  maxPending?: number;
  /** Bound on blocklist entries; new blocks beyond it are refused with BULWARK_ERR_LIMIT. */
  maxEntries?: number;
  retry?: { attempts: number; baseDelayMs: number };
  /** Coalesces state file writes (ms). */
  stateWriteDelayMs?: number;
  /** Kernel check period (ms); 0 disables the periodic check (CLI direct mode). */
  reconcileIntervalMs?: number;
  /** Period of the full compare of every blocked element with the kernel (ms); 0 disables it. */
  fullCheckIntervalMs?: number;
}

export const DEFAULTS = {
  batchDelayMs: 5,
  batchMaxElements: 500,
  maxOpsPerTransaction: 100_000,
  maxPending: 200_000,
  maxEntries: 500_000,
  retry: { attempts: 4, baseDelayMs: 100 },
  stateWriteDelayMs: 1000,
  reconcileIntervalMs: 3000,
  /** Listing 100k elements costs ~1 s of nft: rare. */
  fullCheckIntervalMs: 10 * 60_000,
  /** Blocks longer than this are refused as a typo (a year). */
  maxDurationMs: 366 * 24 * 3600_000,
  /** How long an address that the model expired is treated as possibly still in the kernel (ms). */
  recentlyExpiredMs: 5000,
} as const;


export class BlocklistService implements Blocklist {
  readonly metrics: BlocklistMetrics;
  readonly neverBlock: NeverBlockList;
  private readonly model = new BlockModel();
  private readonly nft: Nft;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly sched: Scheduler;
  private readonly opts: Required<Omit<BlocklistServiceOptions, 'neverBlock' | 'onEvent' | 'scheduler' | 'stateDir' | 'nft' | 'clock' | 'log' | 'registry'>>;
  private readonly onEvent: (e: Record<string, unknown>) => void;
  private mode: ActionMode;
  private defaultDurationMs: number;

  private lock: Promise<void> = Promise.resolve();
  private running = false;
  private allowGeneration = -1;
  private readonly detectionBlockTimes: number[] = [];
  private readonly restoredListeners: (() => void | Promise<void>)[] = [];
  private readonly tx: NftTransactions;
  private readonly queue: BatchQueue;
  private readonly expiry: ExpiryTracker;
  private readonly state: StateWriter;
  private readonly sync: KernelSync;
  private readonly reconcileTask: Periodic;
  private readonly fullCheckTask: Periodic;

  constructor(o: BlocklistServiceOptions) {
    this.nft = o.nft;
    this.clock = o.clock;
    this.log = o.log;
    this.sched = o.scheduler ?? realScheduler;
    this.mode = o.mode;
    this.defaultDurationMs = o.defaultDurationMs;
    this.neverBlock = o.neverBlock ?? new NeverBlockList();
    this.onEvent = o.onEvent ?? (() => undefined);
    this.metrics = createBlocklistMetrics(o.registry);
    this.opts = {
      mode: o.mode,
      defaultDurationMs: o.defaultDurationMs,
      maxBlocksPerMinute: o.maxBlocksPerMinute,
      batchDelayMs: o.batchDelayMs ?? DEFAULTS.batchDelayMs,
      batchMaxElements: o.batchMaxElements ?? DEFAULTS.batchMaxElements,
      maxOpsPerTransaction: o.maxOpsPerTransaction ?? DEFAULTS.maxOpsPerTransaction,
      maxPending: o.maxPending ?? DEFAULTS.maxPending,
      maxEntries: o.maxEntries ?? DEFAULTS.maxEntries,
      retry: o.retry ?? DEFAULTS.retry,
      stateWriteDelayMs: o.stateWriteDelayMs ?? DEFAULTS.stateWriteDelayMs,
      reconcileIntervalMs: o.reconcileIntervalMs ?? DEFAULTS.reconcileIntervalMs,
      fullCheckIntervalMs: o.fullCheckIntervalMs ?? DEFAULTS.fullCheckIntervalMs,
    };
    this.metrics.capacity.set(this.opts.maxEntries);
    const exclusive = <T>(fn: () => Promise<T>): Promise<T> => this.exclusive(fn);
    const common = { clock: this.clock, log: this.log, metrics: this.metrics, sched: this.sched };
    this.tx = new NftTransactions({
      ...common,
      nft: this.nft,
      retry: this.opts.retry,
      recoverLostTable: async () => {
        if (!(await this.sync.tableMissing())) return false;
        await this.sync.reinstall('table missing during a transaction');
        return true;
      },
    });
    this.state = new StateWriter({
      ...common,
      stateDir: o.stateDir,
      delayMs: this.opts.stateWriteDelayMs,
      entries: (now) => this.model.all().filter((e) => e.expiresAtMs > now),
    });
    this.expiry = new ExpiryTracker({
      ...common,
      model: this.model,
      exclusive,
      running: () => this.running,
      recentlyExpiredMs: DEFAULTS.recentlyExpiredMs,
      emitExpired: (e) => {
        this.emit('host unblocked', e, { unblock_reason: 'expired' });
      },
      changed: () => {
        this.updateGauges();
        this.state.markDirty();
      },
    });
    this.queue = new BatchQueue({
      ...common,
      model: this.model,
      batchDelayMs: this.opts.batchDelayMs,
      batchMaxElements: this.opts.batchMaxElements,
      maxOpsPerTransaction: this.opts.maxOpsPerTransaction,
      maxEntries: this.opts.maxEntries,
      exclusive,
      apply: (cmds, op, rebuild) => this.tx.apply(cmds, op, rebuild),
      kernelElements: () => this.kernelElements(),
      recentlyExpired: this.expiry.recentlyExpired,
      pruneRecentlyExpired: (now) => {
        this.expiry.pruneRecent(now);
      },
      emit: (event, e, extra) => {
        this.emit(event, e, extra);
      },
      updateGauges: () => {
        this.updateGauges();
      },
      changed: () => {
        this.state.markDirty();
        this.expiry.schedule();
      },
    });
    this.sync = new KernelSync({
      nft: this.nft,
      log: this.log,
      clock: this.clock,
      metrics: this.metrics,
      model: this.model,
      neverBlock: this.neverBlock,
      recentlyExpired: this.expiry.recentlyExpired,
      stateDir: o.stateDir,
      restoredListeners: this.restoredListeners,
      maxDurationMs: DEFAULTS.maxDurationMs,
      defaultDurationMs: () => this.defaultDurationMs,
      mode: () => this.mode,
      exclusive,
      applyWithRetry: (cmds, op) => this.tx.apply(cmds, op),
      allowSynced: () => {
        this.allowGeneration = this.neverBlock.generation;
      },
      allowSyncedOnce: () => this.allowGeneration >= 0,
      markStateDirty: () => {
        this.state.markDirty();
      },
      updateGauges: () => {
        this.updateGauges();
      },
      scheduleExpiry: () => {
        this.expiry.schedule();
      },
    });
    // Both kernel checks run while the service runs; a failure is logged and the next one still comes.
    const kernelCheck = (intervalMs: number, run: () => Promise<unknown>, failed: string): Periodic =>
      new Periodic(this.sched, {
        intervalMs: () => intervalMs,
        when: () => this.running,
        run,
        onError: (e) => {
          this.log.warn({ err: errorMessage(e) }, failed);
        },
      });
    this.reconcileTask = kernelCheck(this.opts.reconcileIntervalMs, () => this.reconcile(), 'blocklist kernel check failed');
    this.fullCheckTask = kernelCheck(this.opts.fullCheckIntervalMs, () => this.fullCompare(), 'blocklist full kernel compare failed');
  }

  /** Timings of the last committed batch (status, bench). */
  get lastBatch(): BatchQueue['lastBatch'] {
    return this.queue.lastBatch;
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Restores blocks: state file entries that have time left, merged with what the kernel still
   * holds (kernel elements unknown to the state file are adopted), then one transaction installs
   * the table and adds what the kernel lost. Throws if nft keeps failing.
   */
  async start(): Promise<{ restored: number; adopted: number; dropped: number }> {
    const res = await this.exclusive(() => this.sync.restore());
    this.running = true;
    this.expiry.schedule();
    this.reconcileTask.arm();
    this.fullCheckTask.arm();
    return res;
  }

  /** Flushes pending requests, writes the state file. Kernel blocks stay (by design). */
  async stop(): Promise<void> {
    this.running = false;
    this.queue.cancel();
    this.expiry.cancel();
    this.reconcileTask.cancel();
    this.fullCheckTask.cancel();
    this.state.cancel();
    await this.exclusive(() => this.queue.flushPending());
    await this.lock;
    await this.state.write(true);
  }

  /** Called after the table had to be re-created (src/isolation re-applies its own chains). */
  onRulesetRestored(fn: () => void | Promise<void>): void {
    this.restoredListeners.push(fn);
  }

  setMaxBlocksPerMinute(n: number): void {
    this.opts.maxBlocksPerMinute = n;
  }

  setMode(mode: ActionMode): void {
    this.mode = mode;
  }

  getMode(): ActionMode {
    return this.mode;
  }

  /** New default duration (reload): later blocks use it and the sets' default timeout follows. */
  async setDefaultDuration(ms: number): Promise<void> {
    if (ms === this.defaultDurationMs) return;
    this.defaultDurationMs = ms;
    await this.exclusive(() => this.tx.apply(buildInstallBatch({ defaultTimeoutMs: ms }), 'install'));
  }

  /** Pushes the never-block list to the kernel's allow sets if it changed since the last push. */
  async syncAllow(): Promise<void> {
    await this.exclusive(async () => {
      const gen = this.neverBlock.generation;
      if (gen === this.allowGeneration) return;
      const ranges = this.neverBlock.ranges();
      await this.tx.apply(allowSetCommands(ranges), 'allow');
      this.allowGeneration = gen;
      this.metrics.neverBlockRanges.set(ranges.length);
      this.log.info({ ranges: ranges.length }, 'never-block list pushed to the kernel');
    });
  }

  // ---------------------------------------------------------------- Blocklist API

  /** False for text that is not an address (nothing to spare). */
  isNeverBlocked(address: string): boolean {
    let addr: string;
    try {
      addr = normalizeAddress(address);
    } catch {
      return false;
    }
    return this.neverBlock.match(addr) !== undefined;
  }

  list(): BlockEntry[] {
    const now = this.clock.now();
    return this.model
      .all()
      .filter((e) => e.expiresAtMs > now)
      .sort((a, b) => a.blockedAtMs - b.blockedAtMs || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  }

  /** The entry blocking this address (itself or a wider CIDR), if any. O(1) for hosts: prefer it to list().find(). */
  coveredBy(address: string): BlockEntry | undefined {
    const e = this.model.lookup(normalizeAddress(address));
    return e && e.expiresAtMs > this.clock.now() ? e : undefined;
  }

  block(address: string, opts: BlockOptions): Promise<BlockResult> {
    let addr: string;
    try {
      addr = normalizeAddress(address);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    const durationMs = opts.durationMs ?? this.defaultDurationMs;
    if (!Number.isFinite(durationMs) || durationMs < 1000 || durationMs > DEFAULTS.maxDurationMs) {
      return Promise.reject(new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', `block ${addr}: duration must be between 1s and 366d (got ${durationMs} ms)`));
    }
    // RFC 4291 2.5.5.2: IPv4-mapped addresses never appear on the wire. A packet claiming one is
    // forged, and it must not get the IPv4 host it names blocked (the operator may still block it).
    if (opts.source === 'detection' && address.includes(':') && !addr.includes(':')) {
      this.metrics.refused.inc({ reason: 'never-block' });
      this.log.warn({ addr: address, as: addr }, 'block refused: an IPv4-mapped source address on the wire is forged');
      return Promise.resolve({ status: 'refused', reason: 'never-block', address: addr });
    }
    const nb = this.neverBlock.match(addr);
    if (nb) {
      this.metrics.refused.inc({ reason: 'never-block' });
      this.log.info({ addr, source: opts.source, neverBlock: nb }, 'block refused: address is on the never-block list');
      return Promise.resolve({ status: 'refused', reason: 'never-block', address: addr });
    }
    if (this.mode === 'alert' && opts.source === 'detection') {
      this.metrics.refused.inc({ reason: 'alert-mode' });
      return Promise.resolve({ status: 'refused', reason: 'alert-mode', address: addr });
    }
    if (this.mode === 'dry-run') return Promise.resolve(this.dryRunBlock(addr, opts, durationMs));
    if (opts.source === 'detection' && this.opts.maxBlocksPerMinute > 0 && !this.model.lookup(addr) && !this.allowDetectionBlock()) {
      this.metrics.refused.inc({ reason: 'rate-limit' });
      return Promise.resolve({ status: 'refused', reason: 'rate-limit', address: addr });
    }
    if (this.queue.size >= this.opts.maxPending) {
      this.metrics.refused.inc({ reason: 'limit' });
      return Promise.reject(new BulwarkError('BULWARK_ERR_LIMIT', `block ${addr}: ${this.queue.size} block requests already waiting for nft`));
    }
    return new Promise((resolve, reject) => {
      this.queue.enqueueBlock({ kind: 'block', address: addr, opts, durationMs, resolve, reject });
    });
  }

  unblock(addresses: string[] | 'all', reason: string): Promise<BlockEntry[]> {
    return this.unblockDetailed(addresses, reason).then((r) => r.removed);
  }

  /** Like unblock(), and also says which requested addresses were not blocked. */
  unblockDetailed(addresses: string[] | 'all', reason: string): Promise<UnblockResult> {
    let addrs: string[] | 'all';
    try {
      addrs = addresses === 'all' ? 'all' : addresses.map((a) => normalizeAddress(a));
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return new Promise((resolve, reject) => {
      this.queue.enqueueUnblock({ kind: 'unblock', addresses: addrs, reason, resolve, reject });
    });
  }

  /** Waits until everything requested so far is committed (tests, CLI direct mode, shutdown). */
  async flush(): Promise<void> {
    await this.exclusive(() => this.queue.flushPending());
  }

  status(): Record<string, unknown> {
    const c = this.model.countByFamily();
    return {
      mode: this.mode,
      blocked: { v4: c[4], v6: c[6] },
      pending: this.queue.size,
      neverBlock: this.neverBlock.sources(),
      lastReconcileAt: this.sync.lastReconcileAt === undefined ? null : new Date(this.sync.lastReconcileAt).toISOString(),
      lastFullCheck: this.sync.lastFullCheck ?? null,
      lastError: this.tx.lastError ?? null,
      lastBatch: this.queue.lastBatch ?? null,
    };
  }


  private allowDetectionBlock(): boolean {
    const now = this.clock.now();
    const times = this.detectionBlockTimes;
    while (times.length > 0 && times[0]! <= now - 60_000) times.shift();
    if (times.length >= this.opts.maxBlocksPerMinute) return false;
    times.push(now);
    return true;
  }

  private dryRunBlock(addr: string, opts: BlockOptions, durationMs: number): BlockResult {
    const cmds = [...addElementsCommands([{ address: addr, family: parseCidr(addr).family, timeoutMs: durationMs }])];
    this.metrics.refused.inc({ reason: 'dry-run' });
    this.log.info({ addr, source: opts.source, reason: opts.reason, nft: { nftables: cmds } }, 'dry-run: would block (nft batch not applied)');
    return { status: 'refused', reason: 'dry-run', address: addr };
  }

  /** Serialises every model and kernel change: one transaction in flight, planned against committed state. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.lock.then(fn);
    this.lock = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  // ---------------------------------------------------------------- kernel check

  /** The periodic check (KernelSync.reconcile); true when it repaired something. */
  reconcile(): Promise<boolean> {
    return this.sync.reconcile();
  }

  /** The rare full compare of every blocked element (KernelSync.fullCompare). */
  fullCompare(): Promise<{ missing: number; adopted: number; removed: number; ms: number }> {
    return this.sync.fullCompare();
  }

  /** The blocked elements the kernel holds; a missing table is an empty list. */
  kernelElements(): Promise<KernelElement[]> {
    return this.sync.kernelElements();
  }

  // ---------------------------------------------------------------- state, gauges, events

  /** Writes the state file now if something changed (or always when `force`); never throws. */
  writeState(force: boolean): Promise<void> {
    return this.state.write(force);
  }

  private updateGauges(): void {
    const c = this.model.countByFamily();
    this.metrics.blockedHosts.set({ family: 'ipv4' }, c[4]);
    this.metrics.blockedHosts.set({ family: 'ipv6' }, c[6]);
  }

  private emit(event: string, e: BlockEntry, extra: Record<string, unknown>): void {
    this.onEvent(blocklistEvent(event, e, extra, this.clock.now()));
  }
}

/** Normalises and formats, for messages. */
export function describeCidr(address: string): string {
  return formatCidr(parseCidr(address));
}
