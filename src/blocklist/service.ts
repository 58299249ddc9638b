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
import { cidrRange, formatCidr, isHostAddress, normalizeAddress, parseCidr } from './address.js';
import {
  allowSetMatches,
  canaryProbeScript,
  isOldLayout,
  layoutProblems,
  missingCanaries,
  parseKernelElements,
  parseLayout,
  type KernelElement,
  type KernelLayout,
} from './kernel-check.js';
import { createBlocklistMetrics, unblockReasonLabel, type BlocklistMetrics } from './metrics.js';
import { BlockModel, type PlanResult } from './model.js';
import { NeverBlockList } from './neverblock.js';
import {
  addElementsCommands,
  allowSet,
  allowSetCommands,
  blockedNetSet,
  blockedSet,
  buildInstallBatch,
  canaryCommand,
  deleteElementsCommands,
  flushBlockedCommands,
  replaceElementsCommands,
  type ElementSpec,
} from './ruleset.js';
import { loadState, saveStateAsync } from './state.js';
import { TABLE_NAME, type BlockEntry, type BlockOptions, type BlockResult, type Blocklist, type Nft, type NftCommand, type NftListOutput } from './types.js';

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

function hasFindings(f: KernelFindings): boolean {
  return f.missing.length > 0 || f.oldLayout || f.chains.length > 0 || f.canaries.length > 0 || !f.allowOk || f.nets !== undefined;
}

/** What the periodic check found (inspectKernel) and repair() puts right. */
interface KernelFindings {
  missing: string[];
  oldLayout: boolean;
  /** Base chains whose rules differ from ours. */
  chains: string[];
  /** Families whose blocked set lost its canary (flushed / re-created). */
  canaries: (4 | 6)[];
  allowOk: boolean;
  /** The CIDR sets' elements, when they differ from the model. */
  nets: KernelElement[] | undefined;
}

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
  private lastFullCheck: Record<string, unknown> | undefined;
  private stateTimer: unknown;
  private stateWriting: Promise<void> | undefined;
  private lastStateWriteMs = 0;
  private stateDirty = false;
  private running = false;
  private allowGeneration = -1;
  private readonly recentlyExpired = new Map<string, number>();
  private readonly detectionBlockTimes: number[] = [];
  private readonly restoredListeners: (() => void | Promise<void>)[] = [];
  private lastReconcileAt: number | undefined;
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
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Restores blocks: state file entries that have time left, merged with what the kernel still
   * holds (kernel elements unknown to the state file are adopted), then one transaction installs
   * the table and adds what the kernel lost. Throws if nft keeps failing.
   */
  async start(): Promise<{ restored: number; adopted: number; dropped: number }> {
    const res = await this.exclusive(() => this.restore());
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
      lastReconcileAt: this.lastReconcileAt === undefined ? null : new Date(this.lastReconcileAt).toISOString(),
      lastFullCheck: this.lastFullCheck ?? null,
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
        if (op === 'batch' && (await this.tableMissing())) {
          await this.reinstall('table missing during a transaction');
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

  /**
   * The periodic check, cheap and independent of the number of blocks (docs/nftables.md "Repair"):
   * layout from the terse ruleset (table, sets, chains and the rules of the base chains), the
   * canaries of blocked4/blocked6 by a probe, and the contents of the small sets (blockednet*,
   * allow*): ~20-30 ms of nft. It reads outside the lock, so blocks never wait for it; when it
   * finds something, it reads again under the lock (a batch may have changed the small sets
   * meanwhile) and repairs what is still wrong. Returns true when something had to be repaired.
   */
  async reconcile(): Promise<boolean> {
    this.lastReconcileAt = this.clock.now();
    // dry-run never applies anything, so there is nothing to keep in step.
    if (this.mode === 'dry-run') return false;
    if (!hasFindings(await this.inspectKernel())) return false;
    return this.exclusive(async () => {
      const f = await this.inspectKernel();
      return hasFindings(f) ? this.repair(f) : false;
    });
  }

  private async listOrCount(args: string[], terse = false): Promise<NftListOutput> {
    try {
      return await this.nft.list(args, { terse });
    } catch (e) {
      this.metrics.nftErrors.inc({ op: 'list' });
      throw e;
    }
  }

  private async inspectKernel(): Promise<KernelFindings> {
    const layout = parseLayout(await this.listOrCount(['ruleset'], true));
    const p = layoutProblems(layout);
    const f: KernelFindings = { missing: p.missing, oldLayout: p.oldLayout, chains: p.chains, canaries: [], allowOk: true, nets: undefined };
    if (p.missing.length > 0 || p.oldLayout) return f;
    let probe;
    try {
      probe = await this.nft.probeText(canaryProbeScript());
    } catch (e) {
      this.metrics.nftErrors.inc({ op: 'probe' });
      throw e;
    }
    f.canaries = missingCanaries(probe.refused);
    if (this.allowGeneration >= 0) {
      const ranges = this.neverBlock.ranges();
      for (const fam of [4, 6] as const) {
        if (!allowSetMatches(await this.listOrCount(['set', 'inet', TABLE_NAME, allowSet(fam)]), fam, ranges)) f.allowOk = false;
      }
    }
    const nets: KernelElement[] = [];
    for (const fam of [4, 6] as const) nets.push(...parseKernelElements(await this.listOrCount(['set', 'inet', TABLE_NAME, blockedNetSet(fam)]), fam));
    const now = this.clock.now();
    const want = new Set(this.model.netEntries().filter((e) => e.expiresAtMs > now).map((e) => e.address));
    if (nets.length !== want.size || nets.some((k) => !want.has(k.address))) f.nets = nets;
    return f;
  }

  /** Puts right what inspectKernel found (under the lock). */
  private async repair(f: KernelFindings): Promise<boolean> {
    if (f.missing.length > 0 || f.oldLayout) {
      await this.reinstall(f.oldLayout ? 'table of the previous layout (interval sets for addresses)' : `missing: ${f.missing.join(', ')}`, f.oldLayout);
      return true;
    }
    const now = this.clock.now();
    const cmds: NftCommand[] = [];
    const what: string[] = [];
    if (f.chains.length > 0) {
      // The install batch flushes and refills the base chains (and the allow sets) atomically.
      cmds.push(...buildInstallBatch({ defaultTimeoutMs: this.defaultDurationMs, allow: this.neverBlock.ranges() }));
      what.push(`rules of chain ${f.chains.join(', ')}`);
      this.metrics.repairs.inc({ what: 'chains' });
    } else if (!f.allowOk) {
      cmds.push(...allowSetCommands(this.neverBlock.ranges()));
      what.push('never-block sets allow4/allow6');
      this.metrics.repairs.inc({ what: 'allow' });
    }
    for (const fam of f.canaries) {
      // The canary is gone: the set was flushed or re-created. `add` is a no-op for what is still there.
      const live = this.model.all().filter((e) => e.family === fam && isHostAddress(e.address) && e.expiresAtMs > now);
      cmds.push(canaryCommand(fam), ...addElementsCommands(live.map((e) => ({ address: e.address, family: e.family, timeoutMs: e.expiresAtMs - now }))));
      what.push(`contents of ${blockedSet(fam)} (${live.length} addresses)`);
      this.metrics.repairs.inc({ what: 'elements' });
    }
    if (f.nets !== undefined) {
      const live = this.model.netEntries().filter((e) => e.expiresAtMs > now);
      const d = this.diffKernel(f.nets, live, now);
      if (d.cmds.length > 0) {
        cmds.push(...d.cmds);
        what.push(`CIDR sets (${d.missing} missing, ${d.adopted} adopted, ${d.removed} removed)`);
        this.metrics.repairs.inc({ what: 'elements' });
      }
    }
    if (cmds.length === 0) return false;
    await this.applyWithRetry(cmds, 'repair');
    if (f.chains.length > 0 || !f.allowOk) this.allowGeneration = this.neverBlock.generation;
    this.log.warn({ repaired: what }, `nftables table bulwark was tampered with: repaired ${what.join('; ')}`);
    return true;
  }

  /**
   * Commands that bring kernel elements in step with `live` model entries: what the model holds
   * and the kernel lost is re-added with its time left; what the kernel holds and the model does
   * not know is adopted when a new block of it would be accepted, else deleted. Those the model
   * just expired (the kernel drops them up to a second later) are left alone.
   */
  private diffKernel(kernel: KernelElement[], live: BlockEntry[], now: number): { cmds: NftCommand[]; missing: number; adopted: number; removed: number } {
    const inKernel = new Set(kernel.map((k) => k.address));
    const add = live.filter((e) => !inKernel.has(e.address)).map((e) => ({ address: e.address, family: e.family, timeoutMs: e.expiresAtMs - now }));
    const del: KernelElement[] = [];
    let adopted = 0;
    for (const k of kernel) {
      if (this.model.get(k.address) || this.recentlyExpired.has(k.address)) continue;
      const expiresAtMs = k.expiresSec === undefined ? now + this.defaultDurationMs : now + k.expiresSec * 1000;
      const why = this.restoreRefusal(k.address, expiresAtMs, now);
      if (why !== undefined || !this.restoreEntry({ address: k.address, family: k.family, reason: 'found in the kernel, not added by bulwark', source: 'restore', blockedAtMs: now, expiresAtMs })) {
        this.log.warn({ addr: k.address, why: why ?? 'overlaps a blocked CIDR' }, 'kernel element removed: a block of it would be refused');
        del.push(k);
      } else adopted++;
    }
    if (adopted > 0) {
      this.updateGauges();
      this.markStateDirty();
      this.scheduleExpiry();
    }
    return { cmds: [...deleteElementsCommands(del), ...addElementsCommands(add)], missing: add.length, adopted, removed: del.length };
  }

  /**
   * The rare deep check: lists every blocked element and puts the kernel back in step with the
   * model (diffKernel). Catches what the canary cannot: a single element deleted or added by
   * hand. One family at a time, each under the lock: nft 1.0.6 restarts a listing whenever the
   * ruleset changes under it, so listing ~1 s of elements beside a stream of our own blocks may
   * never finish (seen: killed after 60 s). A block requested meanwhile waits for that family's
   * listing (~0.3-1 s at 50k addresses) — once per fullCheckIntervalMs (10 min).
   */
  async fullCompare(): Promise<{ missing: number; adopted: number; removed: number; ms: number }> {
    const total = { missing: 0, adopted: 0, removed: 0, ms: 0 };
    if (this.mode === 'dry-run') return total;
    const started = performance.now();
    for (const fam of [4, 6] as const) {
      await this.exclusive(async () => {
        const kernel: KernelElement[] = [];
        try {
          for (const name of [blockedSet(fam), blockedNetSet(fam)]) kernel.push(...parseKernelElements(await this.nft.list(['set', 'inet', TABLE_NAME, name]), fam));
        } catch (e) {
          this.metrics.nftErrors.inc({ op: 'list' });
          throw e;
        }
        const now = this.clock.now();
        const d = this.diffKernel(kernel, this.model.all().filter((e) => e.family === fam && e.expiresAtMs > now), now);
        if (d.cmds.length > 0) {
          await this.applyWithRetry(d.cmds, 'repair');
          this.metrics.repairs.inc({ what: 'elements' });
          this.log.warn({ family: fam, missing: d.missing, adopted: d.adopted, removed: d.removed }, 'blocklist full compare: kernel elements put back in step');
        }
        total.missing += d.missing;
        total.adopted += d.adopted;
        total.removed += d.removed;
      });
    }
    total.ms = performance.now() - started;
    this.metrics.fullCheckSeconds.set(total.ms / 1000);
    this.lastFullCheck = { at: new Date(this.clock.now()).toISOString(), ms: Math.round(total.ms), missing: total.missing, adopted: total.adopted, removed: total.removed };
    return total;
  }

  private async tableMissing(): Promise<boolean> {
    try {
      return layoutProblems(parseLayout(await this.nft.list(['ruleset'], { terse: true }))).missing.length > 0;
    } catch {
      return false;
    }
  }

  /** Install + allow sets + every live block with its remaining time, one transaction. */
  private async reinstall(why: string, migrate = false): Promise<void> {
    const now = this.clock.now();
    const live = this.model.all().filter((e) => e.expiresAtMs > now);
    const cmds = [
      ...buildInstallBatch({ defaultTimeoutMs: this.defaultDurationMs, allow: this.neverBlock.ranges(), migrate }),
      // add is a no-op for elements still present; only what was lost comes back.
      ...addElementsCommands(live.map((e) => ({ address: e.address, family: e.family, timeoutMs: e.expiresAtMs - now }))),
    ];
    await this.applyWithRetry(cmds, 'restore');
    this.allowGeneration = this.neverBlock.generation;
    this.metrics.rulesetRestored.inc();
    this.metrics.repairs.inc({ what: 'table' });
    this.log.warn({ why, blocks: live.length }, 'nftables table bulwark was missing parts: re-created with its blocks');
    for (const fn of this.restoredListeners) {
      try {
        await fn();
      } catch (e) {
        this.log.error({ err: errorMessage(e) }, 'ruleset-restored listener failed');
      }
    }
  }

  // ---------------------------------------------------------------- internals: restore at start

  /** Reads the four blocked sets from the kernel; a missing table or set is an empty list. */
  async kernelElements(): Promise<KernelElement[]> {
    // One listing of the table: nft 1.0.6 fetches every element of the table for any listing
    // anyway (~0.3 s at 100k), so four set listings would cost more.
    try {
      return parseKernelElements(await this.nft.list(['table', 'inet', TABLE_NAME]));
    } catch {
      // Absent table: nothing to adopt. Other failures surface in the install that follows.
      return [];
    }
  }

  /**
   * Why an entry read back (state file, kernel) must not be blocked — the checks of a new block:
   * never-block list (loopback, own addresses, special addresses, management, configured) and a
   * sane expiry. Undefined when it may be restored.
   */
  private restoreRefusal(address: string, expiresAtMs: number, now: number): string | undefined {
    const nb = this.neverBlock.match(address);
    if (nb) return `never-block (${nb.source} ${nb.cidr})`;
    if (expiresAtMs - now > DEFAULTS.maxDurationMs + 60_000) return 'expiry more than 366 days ahead';
    return undefined;
  }

  /**
   * Puts a read-back entry into the model without losing protection: an existing entry keeps the
   * later expiry; a CIDR inside a blocked CIDR extends that one if it lasts longer; a CIDR around
   * blocked CIDRs absorbs them with the latest expiry. Single addresses are always kept (they live
   * in their own set). Returns true when it became an entry of its own.
   */
  private restoreEntry(e: BlockEntry): boolean {
    const existing = this.model.get(e.address);
    if (existing) {
      if (e.expiresAtMs > existing.expiresAtMs) this.model.put({ ...existing, expiresAtMs: e.expiresAtMs });
      return false;
    }
    if (isHostAddress(e.address)) {
      this.model.put(e);
      return true;
    }
    const c = parseCidr(e.address);
    const cover = this.model.coveringEntry(c);
    if (cover) {
      if (e.expiresAtMs > cover.expiresAtMs) this.model.put({ ...cover, expiresAtMs: e.expiresAtMs });
      return false;
    }
    let expiresAtMs = e.expiresAtMs;
    for (const r of this.model.containedNets(cidrRange(c))) {
      expiresAtMs = Math.max(expiresAtMs, r.expiresAtMs);
      this.model.remove(r.address);
    }
    this.model.put(expiresAtMs === e.expiresAtMs ? e : { ...e, expiresAtMs });
    return true;
  }

  private async restore(): Promise<{ restored: number; adopted: number; dropped: number }> {
    const now = this.clock.now();
    let fromState: BlockEntry[] = [];
    if (this.stateDir !== undefined) {
      const loaded = loadState(this.stateDir, now);
      if (loaded.status === 'corrupt') {
        this.metrics.stateErrors.inc();
        this.log.error({ error: loaded.error, movedTo: loaded.movedTo }, 'blocklist state file unreadable: moved aside, starting from the kernel only');
      } else if (loaded.status === 'ok' && loaded.dropped > 0) {
        this.log.warn({ dropped: loaded.dropped }, 'blocklist state file: malformed entries skipped');
      }
      fromState = loaded.entries.filter((e) => e.expiresAtMs > now);
      if (fromState.length < loaded.entries.length) this.markStateDirty();
    }
    let layout: KernelLayout | undefined;
    try {
      layout = parseLayout(await this.nft.list(['ruleset'], { terse: true }));
    } catch {
      // Cannot read: the install below reports the real problem.
    }
    const migrate = layout !== undefined && isOldLayout(layout);
    const kernel = layout?.table === false ? [] : await this.kernelElements();
    this.model.clear();
    // Wider blocks first, so a narrower CIDR is merged into a wider one rather than the reverse.
    const prefixOf = (a: string): number => (isHostAddress(a) ? 129 : Number(a.slice(a.indexOf('/') + 1)));
    const widestFirst = <T extends { address: string }>(l: T[]): T[] => (l.some((e) => !isHostAddress(e.address)) ? [...l].sort((a, b) => prefixOf(a.address) - prefixOf(b.address)) : l);
    let dropped = 0;
    const refuse = (address: string, from: string, why: string): void => {
      dropped++;
      this.metrics.refused.inc({ reason: 'never-block' });
      this.log.warn({ addr: address, from, why }, `not restored: ${address} (${why})`);
    };
    for (const e of widestFirst(fromState)) {
      const why = this.restoreRefusal(e.address, e.expiresAtMs, now);
      if (why !== undefined) refuse(e.address, 'state file', why);
      else this.restoreEntry(e);
    }
    let adopted = 0;
    for (const k of widestFirst(kernel)) {
      const kernelExpiry = k.expiresSec === undefined ? now + this.defaultDurationMs : now + k.expiresSec * 1000;
      const known = this.model.get(k.address);
      if (known) {
        // The kernel enforces the expiry: follow it when it disagrees with the file.
        if (k.expiresSec !== undefined && Math.abs(kernelExpiry - known.expiresAtMs) > 2000) this.model.put({ ...known, expiresAtMs: kernelExpiry });
        continue;
      }
      const why = this.restoreRefusal(k.address, kernelExpiry, now);
      if (why !== undefined) refuse(k.address, 'kernel', why);
      else if (this.restoreEntry({ address: k.address, family: k.family, reason: 'restored from kernel (not in state file)', source: 'restore', blockedAtMs: now, expiresAtMs: kernelExpiry })) adopted++;
    }
    // The kernel is brought to the model: what it lacks is added, what the model refused or
    // merged is deleted (deletes first: a CIDR may replace narrower ones). A migration re-creates
    // blocked4/blocked6, so everything is added back.
    const inKernel = new Set(kernel.map((k) => k.address));
    const live = this.model.all();
    const toAdd = (migrate ? live : live.filter((e) => !inKernel.has(e.address))).map((e) => ({ address: e.address, family: e.family, timeoutMs: e.expiresAtMs - now }));
    const toDelete = migrate ? [] : kernel.filter((k) => !this.model.get(k.address));
    const cmds = [
      ...buildInstallBatch({ defaultTimeoutMs: this.defaultDurationMs, allow: this.neverBlock.ranges(), migrate }),
      ...deleteElementsCommands(toDelete),
      ...addElementsCommands(toAdd),
    ];
    await this.applyWithRetry(cmds, 'install');
    this.allowGeneration = this.neverBlock.generation;
    this.metrics.neverBlockRanges.set(this.neverBlock.ranges().length);
    if (toAdd.length > 0) this.metrics.blocks.inc({ source: 'restore' }, toAdd.length);
    this.updateGauges();
    if (migrate) this.log.warn({ blocks: live.length }, 'nftables table bulwark migrated to the current layout (addresses in hash sets, CIDRs in blockednet4/6)');
    if (fromState.length > 0 || kernel.length > 0) {
      this.log.info({ restored: toAdd.length, alreadyInKernel: migrate ? 0 : live.length - toAdd.length, adopted, dropped, removedFromKernel: toDelete.length }, 'blocklist restored');
    }
    if (adopted > 0 || dropped > 0 || toDelete.length > 0) this.markStateDirty();
    return { restored: toAdd.length, adopted, dropped };
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
