/**
 * Bringing the model along with the kernel's own expiry. The kernel expires blocked elements by
 * itself (set timeouts); this wakes up at the model's next expiry, drops what expired from the
 * model and reports it (event, metric, log), and remembers the addresses it just dropped: the
 * kernel removes them up to a second later, so a batch re-adding one must replace, not add.
 * Separate from the service because it is a timer with its own state (the next deadline, the
 * recently expired addresses) that the batch planning and the kernel check only read.
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Scheduler } from '../scheduler.js';
import type { BlocklistMetrics } from './metrics.js';
import type { BlockModel } from './model.js';
import type { BlockEntry } from './types.js';

export interface ExpiryOptions {
  model: BlockModel;
  clock: Clock;
  log: Logger;
  metrics: BlocklistMetrics;
  sched: Scheduler;
  /** Runs the expiry processing under the service's lock. */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Whether the service runs (no timers before start() and after stop()). */
  running: () => boolean;
  /** "host unblocked" with unblock_reason expired. */
  emitExpired: (e: BlockEntry) => void;
  /** Entries were dropped from the model: gauges and the state file follow. */
  changed: () => void;
  /** How long an address that the model expired is treated as possibly still in the kernel (ms). */
  recentlyExpiredMs: number;
}

export class ExpiryTracker {
  /** Address → when the model expired it. */
  readonly recentlyExpired = new Map<string, number>();
  private timer: unknown;
  private at: number | undefined;

  constructor(private readonly o: ExpiryOptions) {}

  /** Arms the timer for the model's next expiry (kept when already armed for that time). */
  schedule(): void {
    if (!this.o.running()) return;
    const next = this.o.model.nextExpiry();
    if (next === this.at && this.timer !== undefined) return;
    if (this.timer !== undefined) this.o.sched.clearTimeout(this.timer);
    this.timer = undefined;
    this.at = next;
    if (next === undefined) return;
    // Timers over ~24.8 days overflow; re-arm daily instead.
    const delay = Math.min(Math.max(0, next - this.o.clock.now()), 24 * 3600_000);
    this.timer = this.o.sched.setTimeout(() => {
      this.timer = undefined;
      this.at = undefined;
      void this.o
        .exclusive(() => {
          this.process();
          return Promise.resolve();
        })
        .catch((e: unknown) => {
          this.o.log.error({ err: errorMessage(e) }, 'expiry processing failed');
        });
    }, delay);
  }

  cancel(): void {
    if (this.timer !== undefined) this.o.sched.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Forgets addresses expired long enough ago for the kernel to have dropped them too. */
  pruneRecent(now: number): void {
    for (const [a, t] of this.recentlyExpired) if (t < now - this.o.recentlyExpiredMs) this.recentlyExpired.delete(a);
  }

  private process(): void {
    const now = this.o.clock.now();
    const gone = this.o.model.expire(now);
    for (const e of gone) {
      this.recentlyExpired.set(e.address, now);
      this.o.metrics.unblocks.inc({ reason: 'expired' });
      this.o.log.info({ addr: e.address, blockedAt: new Date(e.blockedAtMs).toISOString() }, 'host unblocked: expired');
      this.o.emitExpired(e);
    }
    if (this.recentlyExpired.size > 100_000) this.recentlyExpired.clear();
    if (gone.length > 0) this.o.changed();
    this.schedule();
  }
}
