/**
 * The blocklist's request queue and its transactions: requests wait at most `batchDelayMs` or
 * until `batchMaxElements` are pending, then everything pending (capped at `maxOpsPerTransaction`)
 * is planned against the model, sent as one nft transaction, and committed (callers resolved,
 * events, metrics) or, when nft finally fails, rolled back (the model returns to what the kernel
 * still holds and every caller of the batch gets the error). service.ts says why it is batched so.
 * Separate from the service, which decides whether a request is accepted at all (never-block,
 * modes, caps) and owns the lifecycle: this owns what happens to an accepted request.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { BulwarkError } from '../errors.js';
import type { Scheduler } from '../scheduler.js';
import { unblockReasonLabel, type BlocklistMetrics } from './metrics.js';
import type { BlockModel, PlanResult } from './model.js';
import { addElementsCommands, deleteElementsCommands, flushBlockedCommands, replaceElementsCommands, type ElementSpec } from './ruleset.js';
import type { BlockEntry, BlockOptions, BlockResult, NftCommand } from './types.js';

export type Op =
  | { kind: 'block'; address: string; opts: BlockOptions; durationMs: number; resolve: (r: BlockResult) => void; reject: (e: unknown) => void }
  | { kind: 'unblock'; addresses: string[] | 'all'; reason: string; resolve: (r: UnblockResult) => void; reject: (e: unknown) => void };

export interface UnblockResult {
  removed: BlockEntry[];
  /** Requested addresses that had no entry of their own (maybe covered by a wider CIDR: see coveredBy()). */
  notBlocked: string[];
}

interface OpResult {
  op: Op;
  plan?: PlanResult;
  unblock?: UnblockResult;
  error?: unknown;
}

export interface BatchOptions {
  model: BlockModel;
  clock: Clock;
  log: Logger;
  metrics: BlocklistMetrics;
  sched: Scheduler;
  batchDelayMs: number;
  batchMaxElements: number;
  maxOpsPerTransaction: number;
  maxEntries: number;
  /** Runs a flush under the service's lock. */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
  /** The retrying transaction (NftTransactions.apply). */
  apply: (cmds: NftCommand[], op: string, rebuild?: () => Promise<NftCommand[]>) => Promise<void>;
  /** The blocked elements the kernel holds (to rebuild a transaction whose deletes failed). */
  kernelElements: () => Promise<{ address: string }[]>;
  /** Addresses the model expired a moment ago, pruned before each batch (ExpiryTracker). */
  recentlyExpired: ReadonlyMap<string, number>;
  pruneRecentlyExpired: (now: number) => void;
  emit: (event: string, e: BlockEntry, extra: Record<string, unknown>) => void;
  updateGauges: () => void;
  /** A committed batch changed the model: the state file and the expiry timer follow. */
  changed: () => void;
}

/** Entry metadata from block options (no object spreads: this runs per request in a storm). */
function entryMeta(o: BlockOptions, now: number): Omit<BlockEntry, 'address' | 'family' | 'expiresAtMs'> {
  const m: Omit<BlockEntry, 'address' | 'family' | 'expiresAtMs'> = { reason: o.reason, source: o.source, blockedAtMs: now };
  if (o.signatureId !== undefined) m.signatureId = o.signatureId;
  if (o.eventId !== undefined) m.eventId = o.eventId;
  return m;
}

export class BatchQueue {
  /** Timings of the last committed batch (status, bench). */
  lastBatch: { ops: number; planMs: number; nftMs: number; commitMs: number } | undefined;
  private pending: Op[] = [];
  private flushTimer: unknown;
  private flushScheduled = false;
  private flushImmediate = false;

  constructor(private readonly o: BatchOptions) {}

  get size(): number {
    return this.pending.length;
  }

  /** A block request: waits for the batching delay, or less when the batch is full. */
  enqueueBlock(op: Op): void {
    this.pending.push(op);
    if (this.pending.length >= this.o.batchMaxElements) this.scheduleFlush(0);
    else this.scheduleFlush(this.o.batchDelayMs);
  }

  /** An unblock request: unblocks are rare and an operator waits for them: no batching delay. */
  enqueueUnblock(op: Op): void {
    this.pending.push(op);
    this.scheduleFlush(0);
  }

  /** Drops the flush timer (stop(); what is pending is then flushed with flushPending()). */
  cancel(): void {
    if (this.flushTimer !== undefined) this.o.sched.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flushScheduled = false;
  }

  /** Everything pending, until nothing is (stop, flush()). Run under the lock. */
  async flushPending(): Promise<void> {
    while (this.pending.length > 0) {
      const ops = this.pending.splice(0, this.o.maxOpsPerTransaction);
      await this.runBatch(ops);
    }
  }

  private scheduleFlush(delayMs: number): void {
    if (this.flushScheduled && (delayMs > 0 || this.flushImmediate)) return;
    if (this.flushTimer !== undefined) this.o.sched.clearTimeout(this.flushTimer);
    this.flushScheduled = true;
    this.flushImmediate = delayMs === 0;
    this.flushTimer = this.o.sched.setTimeout(() => {
      this.flushTimer = undefined;
      this.flushScheduled = false;
      this.flushImmediate = false;
      void this.o.exclusive(() => this.flushOnce());
    }, delayMs);
  }

  /**
   * One transaction of what is pending now, then the lock is released. Requests arriving meanwhile
   * have their own flush scheduled: a steady stream of blocks (each request sent as the previous
   * one resolves) cannot keep the lock and starve the kernel check, an unblock or a reload.
   */
  private async flushOnce(): Promise<void> {
    const ops = this.pending.splice(0, this.o.maxOpsPerTransaction);
    if (ops.length > 0) await this.runBatch(ops);
    if (this.pending.length > 0) this.scheduleFlush(0);
  }

  private async runBatch(ops: Op[]): Promise<void> {
    const { model } = this.o;
    const t0 = performance.now();
    const now = this.o.clock.now();
    // Entries the model expired a moment ago may still be in the kernel (it expires ≤ 1 s later).
    this.o.pruneRecentlyExpired(now);

    const before = new Map<string, BlockEntry | undefined>();
    let fullSnapshot: BlockEntry[] | undefined;
    let flushAll = false;
    const touch = (addr: string, prev: BlockEntry | undefined): void => {
      if (!before.has(addr)) before.set(addr, prev);
    };
    const results: OpResult[] = [];

    for (const op of ops) {
      if (op.kind === 'block') {
        const exists = model.lookup(op.address);
        if (!exists && model.size >= this.o.maxEntries) {
          this.o.metrics.refused.inc({ reason: 'limit' });
          results.push({ op, error: new BulwarkError('BULWARK_ERR_LIMIT', `block ${op.address}: blocklist full (${this.o.maxEntries} entries)`) });
          continue;
        }
        const prev = model.get(op.address);
        const plan = model.plan({
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
          if (!fullSnapshot) fullSnapshot = model.all();
          for (const e of model.all()) {
            touch(e.address, e);
            model.remove(e.address);
            res.removed.push(e);
          }
          flushAll = true;
        } else {
          for (const a of op.addresses) {
            const e = model.remove(a);
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
      const present = new Set((await this.o.kernelElements()).map((k) => k.address));
      return this.batchCommands(before, flushAll, now, present);
    };
    try {
      if (cmds.length > 0) await this.o.apply(cmds, 'batch', rebuild);
    } catch (e) {
      // Roll the model back to what the kernel still holds, and fail every caller of the batch.
      if (fullSnapshot) {
        model.clear();
        for (const x of fullSnapshot) model.put(x);
      }
      for (const [addr, prev] of before) {
        model.remove(addr);
        if (prev) model.put(prev);
      }
      for (const r of results) r.op.reject(r.error ?? e);
      return;
    }
    const t2 = performance.now();
    this.afterCommit(results);
    this.lastBatch = { ops: ops.length, planMs: Math.round(t1 - t0), nftMs: Math.round(t2 - t1), commitMs: Math.round(performance.now() - t2) };
    this.o.log.debug(this.lastBatch, 'blocklist batch committed');
  }

  private batchCommands(before: Map<string, BlockEntry | undefined>, flushAll: boolean, now: number, inKernel: Set<string> | undefined): NftCommand[] {
    const spec = (e: BlockEntry): ElementSpec => ({ address: e.address, family: e.family, timeoutMs: e.expiresAtMs - now });
    if (flushAll) {
      const live = this.o.model.all().filter((e) => e.expiresAtMs > now);
      return [...flushBlockedCommands(), ...addElementsCommands(live.map(spec))];
    }
    const dels: BlockEntry[] = [];
    const adds: ElementSpec[] = [];
    const repl: ElementSpec[] = [];
    for (const [addr, prev] of before) {
      const cur = this.o.model.get(addr);
      if (prev && !cur) {
        if (!inKernel || inKernel.has(addr)) dels.push(prev);
      }
      else if (!prev && cur) (this.o.recentlyExpired.has(addr) ? repl : adds).push(spec(cur));
      else if (prev && cur && prev.expiresAtMs !== cur.expiresAtMs) repl.push(spec(cur));
    }
    // Deletes first: a CIDR replacing the hosts it contains must not overlap them when added.
    // Plain deletes (no add-then-delete idiom): nft 1.0.6 then still sees the element as present
    // and refuses the absorbing CIDR as overlapping.
    return [...deleteElementsCommands(dels), ...addElementsCommands(adds), ...replaceElementsCommands(repl)];
  }

  private afterCommit(results: OpResult[]): void {
    const { metrics, log } = this.o;
    const committedAt = this.o.clock.now();
    let changed = false;
    const newBySource = new Map<string, number>();
    let detectionBlocks = 0;
    let extended = 0;
    const verbose = log.isLevelEnabled('debug');
    for (const r of results) {
      if (r.error !== undefined) {
        r.op.reject(r.error);
        continue;
      }
      if (r.op.kind === 'block' && r.plan) {
        const op = r.op;
        const plan = r.plan;
        if (op.opts.detectedAtMs !== undefined) metrics.blockLatency.observe(Math.max(0, committedAt - op.opts.detectedAtMs) / 1000);
        if (plan.kind === 'added') {
          changed = true;
          newBySource.set(op.opts.source, (newBySource.get(op.opts.source) ?? 0) + 1);
          for (const x of plan.replaced) {
            metrics.unblocks.inc({ reason: 'replaced' });
            log.info({ addr: x.address, by: plan.entry.address }, 'block replaced by a wider CIDR block');
          }
          // Detection blocks are reported by their alert event (blocked_until) and a per-batch
          // summary line: a storm of 100k blocks must not mean 100k info lines and events.
          if (op.opts.source !== 'detection') {
            log.info({ addr: plan.entry.address, source: op.opts.source, reason: op.opts.reason, expiresAt: new Date(plan.entry.expiresAtMs).toISOString() }, 'host blocked');
            this.o.emit('host blocked', plan.entry, { source: op.opts.source });
          } else {
            detectionBlocks++;
            if (verbose) log.debug({ addr: plan.entry.address, reason: op.opts.reason, signatureId: op.opts.signatureId }, 'host blocked');
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
          metrics.unblocks.inc({ reason: unblockReasonLabel(r.op.reason) });
          log.info({ addr: e.address, reason: r.op.reason }, 'host unblocked');
          this.o.emit('host unblocked', e, { unblock_reason: r.op.reason });
        }
        r.op.resolve(r.unblock);
      }
    }
    for (const [source, n] of newBySource) metrics.blocks.inc({ source }, n);
    if (extended > 0) metrics.extensions.inc(extended);
    if (detectionBlocks > 0) log.info({ hosts: detectionBlocks, blocked: this.o.model.size }, 'hosts blocked on detections');
    this.o.updateGauges();
    if (changed) this.o.changed();
  }
}
