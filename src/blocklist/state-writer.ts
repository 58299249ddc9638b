/**
 * When the blocklist state file is written: coalesced after changes (a dirty flag and one timer,
 * whose delay grows with the cost of the last write), one write in flight at a time, and a forced
 * write at stop. state.ts owns the file format and the atomic write; the service owns the model.
 * Separate from both because it is its own small scheduler with its own failure policy (a failed
 * write is counted, logged and retried on the next change, never thrown).
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Scheduler } from '../scheduler.js';
import type { BlocklistMetrics } from './metrics.js';
import { saveStateAsync } from './state.js';
import type { BlockEntry } from './types.js';

export interface StateWriterOptions {
  /** Directory of blocklist.json; undefined = no state file (every call is a no-op). */
  stateDir: string | undefined;
  sched: Scheduler;
  clock: Clock;
  log: Logger;
  metrics: BlocklistMetrics;
  /** Shortest delay between a change and its write (ms). */
  delayMs: number;
  /** The entries to save, read when the write starts. */
  entries: (now: number) => BlockEntry[];
}

export class StateWriter {
  private timer: unknown;
  private writing: Promise<void> | undefined;
  private lastWriteMs = 0;
  private dirty = false;

  constructor(private readonly o: StateWriterOptions) {}

  markDirty(): void {
    if (this.o.stateDir === undefined) return;
    this.dirty = true;
    if (this.timer !== undefined) return;
    // A big file is written less often: at most ~5% of the time goes to writing it (100k
    // entries: ~0.5 s of work, so every ~10 s). The kernel holds the blocks meanwhile.
    this.timer = this.o.sched.setTimeout(
      () => {
        this.timer = undefined;
        void this.write(false);
      },
      Math.max(this.o.delayMs, 20 * this.lastWriteMs),
    );
  }

  /** Drops the pending coalesced write (stop() then writes with force). */
  cancel(): void {
    if (this.timer !== undefined) this.o.sched.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Writes the state file if something changed (or always when `force`), one write at a time,
   * without stalling the event loop (saveStateAsync); resolves when written. Never throws.
   */
  async write(force: boolean): Promise<void> {
    while (this.writing) await this.writing;
    const dir = this.o.stateDir;
    if (dir === undefined || (!force && !this.dirty)) return;
    this.dirty = false;
    const now = this.o.clock.now();
    const started = performance.now();
    this.writing = saveStateAsync(dir, this.o.entries(now), now)
      .catch((e: unknown) => {
        this.dirty = true;
        this.o.metrics.stateErrors.inc();
        this.o.log.error({ err: errorMessage(e) }, 'blocklist state file not written');
      })
      .finally(() => {
        this.writing = undefined;
        this.lastWriteMs = performance.now() - started;
      });
    await this.writing;
  }
}
