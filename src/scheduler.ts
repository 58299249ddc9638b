/**
 * Timers for everything that is not driven by packet timestamps: the blocklist's and isolation's
 * batching, expiry and periodic kernel checks. Injected (like Clock) so tests drive time by hand.
 * Separate from clock.ts because a clock only reads time, while a scheduler makes things happen.
 */

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

export interface PeriodicOptions {
  /** Period (ms), read each time the task is armed (a reload may change it); 0 or less: never. */
  intervalMs(): number;
  /** Whether the task should run at all now (the service is running, something to watch...). */
  when(): boolean;
  run(): Promise<unknown>;
  /** A failed run is reported, never fatal: the next run is armed anyway. */
  onError(e: unknown): void;
}

/**
 * A task run every period, counted from the end of the previous run: runs never overlap and a
 * slow kernel cannot pile them up. At most one timer is armed at a time.
 */
export class Periodic {
  private timer: unknown;

  constructor(
    private readonly sched: Scheduler,
    private readonly o: PeriodicOptions,
  ) {}

  /** Arms the next run, unless one is armed, the period is 0 or `when()` says no. */
  arm(): void {
    const every = this.o.intervalMs();
    if (every <= 0 || this.timer !== undefined || !this.o.when()) return;
    this.timer = this.sched.setTimeout(() => {
      this.timer = undefined;
      void this.o
        .run()
        .catch((e: unknown) => {
          this.o.onError(e);
        })
        .finally(() => {
          this.arm();
        });
    }, every);
  }

  cancel(): void {
    if (this.timer !== undefined) this.sched.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
