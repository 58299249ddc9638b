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
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { ActionMode } from '../config/types.js';
import { BulwarkError, errorMessage } from '../errors.js';
import { formatCidr, normalizeAddress, parseCidr } from './address.js';
import type { KernelElement } from './kernel-check.js';
import { createBlocklistMetrics, unblockReasonLabel, type BlocklistMetrics } from './metrics.js';
import { BlockModel, type PlanResult } from './model.js';
import { NeverBlockList } from './neverblock.js';
import {
  addElementsCommands,
  allowSetCommands,
  buildInstallBatch,
  deleteElementsCommands,
  flushBlockedCommands,
  replaceElementsCommands,
  type ElementSpec,
} from './ruleset.js';
import { KernelSync } from './kernel-sync.js';
import { saveStateAsync } from './state.js';
import type { BlockEntry, BlockOptions, BlockResult, Blocklist, Nft, NftCommand } from './types.js';

export interface Scheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real timers, unref'd: the daemon's lifetime is decided elsewhere. */
export const realScheduler: Scheduler = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(h) {
    clearTimeout(h as NodeJS.Timeout);
  },
};

/** Timers that keep the process alive: for one-shot use (CLI direct mode), where nothing else does. */
export const refScheduler: Scheduler = {
  setTimeout(fn, ms) {
    return setTimeout(fn, ms);
  },
  clearTimeout(h) {
    clearTimeout(h as NodeJS.Timeout);
  },
};

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

type Op =
  | { kind: 'block'; address: string; opts: BlockOptions; durationMs: number; resolve: (r: BlockResult) => void; reject: (e: unknown) => void }
  | { kind: 'unblock'; addresses: string[] | 'all'; reason: string; resolve: (r: UnblockResult) => void; reject: (e: unknown) => void };

export interface UnblockResult {
  removed: BlockEntry[];
  /** Requested addresses that had no entry of their own (maybe covered by a wider CIDR: see coveredBy()). */
  notBlocked: string[];
}

export { parseKernelElements, type KernelElement } from './kernel-check.js';

/** Entry metadata from block options (no object spreads: this runs per request in a storm). */
function entryMeta(o: BlockOptions, now: number): Omit<BlockEntry, 'address' | 'family' | 'expiresAtMs'> {
  const m: Omit<BlockEntry, 'address' | 'family' | 'expiresAtMs'> = { reason: o.reason, source: o.source, blockedAtMs: now };
  if (o.signatureId !== undefined) m.signatureId = o.signatureId;
  if (o.eventId !== undefined) m.eventId = o.eventId;
  return m;
}

export class BlocklistService implements Blocklist {
  readonly metrics: BlocklistMetrics;
  readonly neverBlock: NeverBlockList;
  private readonly model = new BlockModel();
  private readonly nft: Nft;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly sched: Scheduler;
  private readonly opts: Required<Omit<BlocklistServiceOptions, 'neverBlock' | 'onEvent' | 'scheduler' | 'stateDir' | 'nft' | 'clock' | 'log' | 'registry'>>;
  private readonly stateDir: string | undefined;
  private readonly onEvent: (e: Record<string, unknown>) => void;
  private mode: ActionMode;
  private defaultDurationMs: number;

  private pending: Op[] = [];
  private lock: Promise<void> = Promise.resolve();
  private flushTimer: unknown;
  private flushScheduled = false;
  private flushImmediate = false;
  private expiryTimer: unknown;
  private expiryAt: number | undefined;
  private reconcileTimer: unknown;
  private fullCheckTimer: unknown;
  private stateTimer: unknown;
  private stateWriting: Promise<void> | undefined;
  private lastStateWriteMs = 0;
  private stateDirty = false;
  private running = false;
  private allowGeneration = -1;
  private readonly recentlyExpired = new Map<string, number>();
  private readonly detectionBlockTimes: number[] = [];
  private readonly restoredListeners: (() => void | Promise<void>)[] = [];
  private readonly sync: KernelSync;
  private lastError: string | undefined;
  /** Timings of the last committed batch (status, bench). */
  lastBatch: { ops: number; planMs: number; nftMs: number; commitMs: number } | undefined;

  constructor(o: BlocklistServiceOptions) {
    this.nft = o.nft;
    this.clock = o.clock;
    this.log = o.log;
    this.sched = o.scheduler ?? realScheduler;
    this.stateDir = o.stateDir;
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
    this.sync = new KernelSync({
      nft: this.nft,
      log: this.log,
      clock: this.clock,
      metrics: this.metrics,
      model: this.model,
      neverBlock: this.neverBlock,
      recentlyExpired: this.recentlyExpired,
      stateDir: this.stateDir,
      restoredListeners: this.restoredListeners,
      maxDurationMs: DEFAULTS.maxDurationMs,
      defaultDurationMs: () => this.defaultDurationMs,
      mode: () => this.mode,
      exclusive: (fn) => this.exclusive(fn),
      applyWithRetry: (cmds, op) => this.applyWithRetry(cmds, op),
      allowSynced: () => {
        this.allowGeneration = this.neverBlock.generation;
      },
      allowSyncedOnce: () => this.allowGeneration >= 0,
      markStateDirty: () => {
        this.markStateDirty();
      },
      updateGauges: () => {
        this.updateGauges();
      },
      scheduleExpiry: () => {
        this.scheduleExpiry();
      },
    });
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
    this.scheduleExpiry();
    this.scheduleReconcile();
    this.scheduleFullCheck();
    return res;
  }

  /** Flushes pending requests, writes the state file. Kernel blocks stay (by design). */
  async stop(): Promise<void> {
    this.running = false;
    for (const t of [this.flushTimer, this.expiryTimer, this.reconcileTimer, this.fullCheckTimer, this.stateTimer]) if (t !== undefined) this.sched.clearTimeout(t);
    this.flushTimer = this.expiryTimer = this.reconcileTimer = this.fullCheckTimer = this.stateTimer = undefined;
    this.flushScheduled = false;
    await this.exclusive(() => this.flushPending());
    await this.lock;
    await this.writeState(true);
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
    await this.exclusive(() => this.applyWithRetry(buildInstallBatch({ defaultTimeoutMs: ms }), 'install'));
  }

  /** Pushes the never-block list to the kernel's allow sets if it changed since the last push. */
  async syncAllow(): Promise<void> {
    await this.exclusive(async () => {
      const gen = this.neverBlock.generation;
      if (gen === this.allowGeneration) return;
      const ranges = this.neverBlock.ranges();
      await this.applyWithRetry(allowSetCommands(ranges), 'allow');
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
    if (this.pending.length >= this.opts.maxPending) {
      this.metrics.refused.inc({ reason: 'limit' });
      return Promise.reject(new BulwarkError('BULWARK_ERR_LIMIT', `block ${addr}: ${this.pending.length} block requests already waiting for nft`));
    }
    return new Promise((resolve, reject) => {
      this.enqueue({ kind: 'block', address: addr, opts, durationMs, resolve, reject });
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
      // Unblocks are rare and an operator waits for them: no batching delay.
      this.pending.push({ kind: 'unblock', addresses: addrs, reason, resolve, reject });
      this.scheduleFlush(0);
    });
  }

  /** Waits until everything requested so far is committed (tests, CLI direct mode, shutdown). */
  async flush(): Promise<void> {
    await this.exclusive(() => this.flushPending());
  }

  status(): Record<string, unknown> {
    const c = this.model.countByFamily();
    return {
      mode: this.mode,
      blocked: { v4: c[4], v6: c[6] },
      pending: this.pending.length,
      neverBlock: this.neverBlock.sources(),
      lastReconcileAt: this.sync.lastReconcileAt === undefined ? null : new Date(this.sync.lastReconcileAt).toISOString(),
      lastFullCheck: this.sync.lastFullCheck ?? null,
      lastError: this.lastError ?? null,
      lastBatch: this.lastBatch ?? null,
    };
  }

  // ---------------------------------------------------------------- internals: queue

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

  private enqueue(op: Op): void {
    this.pending.push(op);
    if (this.pending.length >= this.opts.batchMaxElements) this.scheduleFlush(0);
    else this.scheduleFlush(this.opts.batchDelayMs);
  }

  private scheduleFlush(delayMs: number): void {
    if (this.flushScheduled && (delayMs > 0 || this.flushImmediate)) return;
    if (this.flushTimer !== undefined) this.sched.clearTimeout(this.flushTimer);
    this.flushScheduled = true;
    this.flushImmediate = delayMs === 0;
    this.flushTimer = this.sched.setTimeout(() => {
      this.flushTimer = undefined;
      this.flushScheduled = false;
      this.flushImmediate = false;
      void this.exclusive(() => this.flushOnce());
    }, delayMs);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.lock.then(fn);
    this.lock = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  /**
   * One transaction of what is pending now, then the lock is released. Requests arriving meanwhile
   * have their own flush scheduled: a steady stream of blocks (each request sent as the previous
   * one resolves) cannot keep the lock and starve the kernel check, an unblock or a reload.
   */
  private async flushOnce(): Promise<void> {
    const ops = this.pending.splice(0, this.opts.maxOpsPerTransaction);
    if (ops.length > 0) await this.runBatch(ops);
    if (this.pending.length > 0) this.scheduleFlush(0);
  }

  /** Everything pending, until nothing is (stop, flush()). */
  private async flushPending(): Promise<void> {
    while (this.pending.length > 0) {
      const ops = this.pending.splice(0, this.opts.maxOpsPerTransaction);
      await this.runBatch(ops);
    }
  }

  // ---------------------------------------------------------------- internals: one transaction

  private async runBatch(ops: Op[]): Promise<void> {
    const t0 = performance.now();
    const now = this.clock.now();
    // Entries the model expired a moment ago may still be in the kernel (it expires ≤ 1 s later).
    for (const [a, t] of this.recentlyExpired) if (t < now - DEFAULTS.recentlyExpiredMs) this.recentlyExpired.delete(a);

    const before = new Map<string, BlockEntry | undefined>();
    let fullSnapshot: BlockEntry[] | undefined;
    let flushAll = false;
    const touch = (addr: string, prev: BlockEntry | undefined): void => {
      if (!before.has(addr)) before.set(addr, prev);
    };
    const results: { op: Op; plan?: PlanResult; unblock?: UnblockResult; error?: unknown }[] = [];

    for (const op of ops) {
      if (op.kind === 'block') {
        const exists = this.model.lookup(op.address);
        if (!exists && this.model.size >= this.opts.maxEntries) {
          this.metrics.refused.inc({ reason: 'limit' });
          results.push({ op, error: new BulwarkError('BULWARK_ERR_LIMIT', `block ${op.address}: blocklist full (${this.opts.maxEntries} entries)`) });
          continue;
        }
        const prev = this.model.get(op.address);
        const plan = this.model.plan({
          address: op.address,
          expiresAtMs: now + op.durationMs,
          meta: entryMeta(op.opts, now),
        });
        if (plan.kind === 'added') {
          touch(op.address, prev);
          for (const r of plan.replaced) touch(r.address, r);
        } else if (plan.kind === 'extended') {
          touch(op.address, prev);
        }
        results.push({ op, plan });
      } else {
        const res: UnblockResult = { removed: [], notBlocked: [] };
        if (op.addresses === 'all') {
          if (!fullSnapshot) fullSnapshot = this.model.all();
          for (const e of this.model.all()) {
            touch(e.address, e);
            this.model.remove(e.address);
            res.removed.push(e);
          }
          flushAll = true;
        } else {
          for (const a of op.addresses) {
            const e = this.model.remove(a);
            if (e) {
              touch(a, e);
              res.removed.push(e);
            } else res.notBlocked.push(a);
          }
        }
        results.push({ op, unblock: res });
      }
    }

    const cmds = this.batchCommands(before, flushAll, now, undefined);
    const t1 = performance.now();
    // A delete of an element the kernel no longer has (removed behind our back) fails the whole
    // transaction: rebuild it against the kernel's actual elements before retrying.
    const rebuild = async (): Promise<NftCommand[]> => {
      const present = new Set((await this.kernelElements()).map((k) => k.address));
      return this.batchCommands(before, flushAll, now, present);
    };
    try {
      if (cmds.length > 0) await this.applyWithRetry(cmds, 'batch', rebuild);
    } catch (e) {
      // Roll the model back to what the kernel still holds, and fail every caller of the batch.
      if (fullSnapshot) {
        this.model.clear();
        for (const x of fullSnapshot) this.model.put(x);
      }
      for (const [addr, prev] of before) {
        this.model.remove(addr);
        if (prev) this.model.put(prev);
      }
      for (const r of results) r.op.reject(r.error ?? e);
      return;
    }
    const t2 = performance.now();
    this.afterCommit(results);
    this.lastBatch = { ops: ops.length, planMs: Math.round(t1 - t0), nftMs: Math.round(t2 - t1), commitMs: Math.round(performance.now() - t2) };
    this.log.debug(this.lastBatch, 'blocklist batch committed');
  }

  private batchCommands(before: Map<string, BlockEntry | undefined>, flushAll: boolean, now: number, inKernel: Set<string> | undefined): NftCommand[] {
    const spec = (e: BlockEntry): ElementSpec => ({ address: e.address, family: e.family, timeoutMs: e.expiresAtMs - now });
    if (flushAll) {
      const live = this.model.all().filter((e) => e.expiresAtMs > now);
      return [...flushBlockedCommands(), ...addElementsCommands(live.map(spec))];
    }
    const dels: BlockEntry[] = [];
    const adds: ElementSpec[] = [];
    const repl: ElementSpec[] = [];
    for (const [addr, prev] of before) {
      const cur = this.model.get(addr);
      if (prev && !cur) {
        if (!inKernel || inKernel.has(addr)) dels.push(prev);
      }
      else if (!prev && cur) (this.recentlyExpired.has(addr) ? repl : adds).push(spec(cur));
      else if (prev && cur && prev.expiresAtMs !== cur.expiresAtMs) repl.push(spec(cur));
    }
    // Deletes first: a CIDR replacing the hosts it contains must not overlap them when added.
    // Plain deletes (no add-then-delete idiom): nft 1.0.6 then still sees the element as present
    // and refuses the absorbing CIDR as overlapping.
    return [...deleteElementsCommands(dels), ...addElementsCommands(adds), ...replaceElementsCommands(repl)];
  }

  private afterCommit(results: { op: Op; plan?: PlanResult; unblock?: UnblockResult; error?: unknown }[]): void {
    const committedAt = this.clock.now();
    let changed = false;
    const newBySource = new Map<string, number>();
    let detectionBlocks = 0;
    let extended = 0;
    const verbose = this.log.isLevelEnabled('debug');
    for (const r of results) {
      if (r.error !== undefined) {
        r.op.reject(r.error);
        continue;
      }
      if (r.op.kind === 'block' && r.plan) {
        const op = r.op;
        const plan = r.plan;
        if (op.opts.detectedAtMs !== undefined) this.metrics.blockLatency.observe(Math.max(0, committedAt - op.opts.detectedAtMs) / 1000);
        if (plan.kind === 'added') {
          changed = true;
          newBySource.set(op.opts.source, (newBySource.get(op.opts.source) ?? 0) + 1);
          for (const x of plan.replaced) {
            this.metrics.unblocks.inc({ reason: 'replaced' });
            this.log.info({ addr: x.address, by: plan.entry.address }, 'block replaced by a wider CIDR block');
          }
          // Detection blocks are reported by their alert event (blocked_until) and a per-batch
          // summary line: a storm of 100k blocks must not mean 100k info lines and events.
          if (op.opts.source !== 'detection') {
            this.log.info({ addr: plan.entry.address, source: op.opts.source, reason: op.opts.reason, expiresAt: new Date(plan.entry.expiresAtMs).toISOString() }, 'host blocked');
            this.emit('host blocked', plan.entry, { source: op.opts.source });
          } else {
            detectionBlocks++;
            if (verbose) this.log.debug({ addr: plan.entry.address, reason: op.opts.reason, signatureId: op.opts.signatureId }, 'host blocked');
          }
          op.resolve({ status: 'blocked', entry: plan.entry });
        } else if (plan.kind === 'extended') {
          changed ||= plan.entry.expiresAtMs !== plan.previousExpiresAtMs;
          extended++;
          op.resolve({ status: 'extended', entry: plan.entry });
        } else {
          op.resolve({ status: 'covered', entry: plan.entry });
        }
      } else if (r.op.kind === 'unblock' && r.unblock) {
        for (const e of r.unblock.removed) {
          changed = true;
          this.metrics.unblocks.inc({ reason: unblockReasonLabel(r.op.reason) });
          this.log.info({ addr: e.address, reason: r.op.reason }, 'host unblocked');
          this.emit('host unblocked', e, { unblock_reason: r.op.reason });
        }
        r.op.resolve(r.unblock);
      }
    }
    for (const [source, n] of newBySource) this.metrics.blocks.inc({ source }, n);
    if (extended > 0) this.metrics.extensions.inc(extended);
    if (detectionBlocks > 0) this.log.info({ hosts: detectionBlocks, blocked: this.model.size }, 'hosts blocked on detections');
    this.updateGauges();
    if (changed) {
      this.markStateDirty();
      this.scheduleExpiry();
    }
  }

  private async applyWithRetry(first: NftCommand[], op: string, rebuild?: () => Promise<NftCommand[]>): Promise<void> {
    const { attempts, baseDelayMs } = this.opts.retry;
    let cmds = first;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        await this.nft.apply(cmds);
        this.metrics.nftTransactions.inc();
        this.metrics.nftTransactionSeconds.observe((performance.now() - started) / 1000);
        return;
      } catch (e) {
        this.metrics.nftErrors.inc({ op });
        this.lastError = errorMessage(e);
        const last = attempt >= attempts;
        this.log[last ? 'error' : 'warn']({ err: errorMessage(e), attempt, attempts, op, commands: cmds.length }, last ? 'nft transaction failed, giving up' : 'nft transaction failed, retrying');
        if (last) throw e;
        await this.sleep(baseDelayMs * 4 ** (attempt - 1));
        // The usual cause is a table deleted behind our back: re-creating it with every block
        // (the model already holds this batch) does this batch's work too.
        if (op === 'batch' && (await this.sync.tableMissing())) {
          await this.sync.reinstall('table missing during a transaction');
          return;
        }
        if (rebuild && /does not exist|No such file/i.test(errorMessage(e))) {
          try {
            cmds = await rebuild();
          } catch (e2) {
            this.log.warn({ err: errorMessage(e2) }, 'cannot read the kernel set to rebuild the transaction');
          }
          if (cmds.length === 0) return;
        }
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.sched.setTimeout(resolve, ms));
  }

  // ---------------------------------------------------------------- internals: expiry

  private scheduleExpiry(): void {
    if (!this.running) return;
    const next = this.model.nextExpiry();
    if (next === this.expiryAt && this.expiryTimer !== undefined) return;
    if (this.expiryTimer !== undefined) this.sched.clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.expiryAt = next;
    if (next === undefined) return;
    // Timers over ~24.8 days overflow; re-arm daily instead.
    const delay = Math.min(Math.max(0, next - this.clock.now()), 24 * 3600_000);
    this.expiryTimer = this.sched.setTimeout(() => {
      this.expiryTimer = undefined;
      this.expiryAt = undefined;
      void this.exclusive(() => {
        this.processExpired();
        return Promise.resolve();
      }).catch((e: unknown) => {
        this.log.error({ err: errorMessage(e) }, 'expiry processing failed');
      });
    }, delay);
  }

  /** The kernel expires the elements itself; this only brings the model, events and metrics along. */
  private processExpired(): void {
    const now = this.clock.now();
    const gone = this.model.expire(now);
    for (const e of gone) {
      this.recentlyExpired.set(e.address, now);
      this.metrics.unblocks.inc({ reason: 'expired' });
      this.log.info({ addr: e.address, blockedAt: new Date(e.blockedAtMs).toISOString() }, 'host unblocked: expired');
      this.emit('host unblocked', e, { unblock_reason: 'expired' });
    }
    if (this.recentlyExpired.size > 100_000) this.recentlyExpired.clear();
    if (gone.length > 0) {
      this.updateGauges();
      this.markStateDirty();
    }
    this.scheduleExpiry();
  }

  // ---------------------------------------------------------------- internals: kernel check

  private scheduleReconcile(): void {
    if (!this.running || this.opts.reconcileIntervalMs <= 0) return;
    this.reconcileTimer = this.sched.setTimeout(() => {
      this.reconcileTimer = undefined;
      void this.reconcile()
        .catch((e: unknown) => {
          this.log.warn({ err: errorMessage(e) }, 'blocklist kernel check failed');
        })
        .finally(() => {
          this.scheduleReconcile();
        });
    }, this.opts.reconcileIntervalMs);
  }

  private scheduleFullCheck(): void {
    if (!this.running || this.opts.fullCheckIntervalMs <= 0) return;
    this.fullCheckTimer = this.sched.setTimeout(() => {
      this.fullCheckTimer = undefined;
      void this.fullCompare()
        .catch((e: unknown) => {
          this.log.warn({ err: errorMessage(e) }, 'blocklist full kernel compare failed');
        })
        .finally(() => {
          this.scheduleFullCheck();
        });
    }, this.opts.fullCheckIntervalMs);
  }

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

  // ---------------------------------------------------------------- internals: state, gauges, events

  private markStateDirty(): void {
    if (this.stateDir === undefined) return;
    this.stateDirty = true;
    if (this.stateTimer !== undefined) return;
    // A big file is written less often: at most ~5% of the time goes to writing it (100k
    // entries: ~0.5 s of work, so every ~10 s). The kernel holds the blocks meanwhile.
    this.stateTimer = this.sched.setTimeout(
      () => {
        this.stateTimer = undefined;
        void this.writeState(false);
      },
      Math.max(this.opts.stateWriteDelayMs, 20 * this.lastStateWriteMs),
    );
  }

  /**
   * Writes the state file if something changed (or always when `force`), one write at a time,
   * without stalling the event loop (saveStateAsync); resolves when written. Never throws.
   */
  async writeState(force: boolean): Promise<void> {
    while (this.stateWriting) await this.stateWriting;
    if (this.stateDir === undefined || (!force && !this.stateDirty)) return;
    this.stateDirty = false;
    const now = this.clock.now();
    const started = performance.now();
    this.stateWriting = saveStateAsync(
      this.stateDir,
      this.model.all().filter((e) => e.expiresAtMs > now),
      now,
    )
      .catch((e: unknown) => {
        this.stateDirty = true;
        this.metrics.stateErrors.inc();
        this.log.error({ err: errorMessage(e) }, 'blocklist state file not written');
      })
      .finally(() => {
        this.stateWriting = undefined;
        this.lastStateWriteMs = performance.now() - started;
      });
    await this.stateWriting;
  }

  private updateGauges(): void {
    const c = this.model.countByFamily();
    this.metrics.blockedHosts.set({ family: 'ipv4' }, c[4]);
    this.metrics.blockedHosts.set({ family: 'ipv6' }, c[6]);
  }

  private emit(event: string, e: BlockEntry, extra: Record<string, unknown>): void {
    const now = this.clock.now();
    this.onEvent({
      timestamp: new Date(now).toISOString(),
      event_type: 'blocklist',
      src_ip: e.address,
      bulwark: {
        event,
        address: e.address,
        reason: e.reason,
        source: e.source,
        blocked_at: new Date(e.blockedAtMs).toISOString(),
        expires_at: new Date(e.expiresAtMs).toISOString(),
        ...(e.signatureId === undefined ? {} : { signature_id: e.signatureId }),
        ...(e.eventId === undefined ? {} : { event_id: e.eventId }),
        ...extra,
      },
    });
  }
}

/** Normalises and formats, for messages. */
export function describeCidr(address: string): string {
  return formatCidr(parseCidr(address));
}
