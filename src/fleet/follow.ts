/**
 * Keeps one ordered stream consumer alive across server deaths and reconnects (the logic behind
 * FleetConnection.follow; src/fleet/nats.ts supplies the real consumers, unit tests a fake).
 *
 * Why not leave it to the client library: an ordered consumer is an R1 ephemeral consumer that
 * lives on one server. When that server dies, @nats-io/jetstream cancels its missed-heartbeat
 * monitor on the client's disconnect and, after the reconnect, polls the dead consumer's info
 * (every 5–15 s, forever) before it restarts the monitor; a host whose connection and consumer
 * were both on the dead server then receives nothing until that server returns (seen in the
 * fleet e2e test: an operator unblock never acknowledged). So this loop owns the lifecycle:
 * - after every reconnect it re-creates the consumer at once (the old one may be gone with its
 *   server; re-creating is one API call and loses nothing);
 * - a watchdog of its own re-creates a consumer that shows no sign of life (message or server
 *   heartbeat) for `silenceMs` while the connection is up (its server died, ours did not);
 * - every re-created consumer starts right after the last sequence handed to the handler, so
 *   nothing is skipped and nothing already handled is delivered again;
 * - creation failures (leader elections) are retried with a bounded, jittered backoff between
 *   the starts of two attempts (an attempt that timed out is followed by the next at once).
 */
import type { Clock } from '../clock.js';
import type { Scheduler } from '../scheduler.js';
import type { ConnState, FleetMsg, StartAt } from './types.js';

/** One incarnation of the consumer, as the adapter created it. */
export interface ConsumerRun {
  /** Messages in stream order; ends when the consumer is closed or ends on its own. */
  readonly messages: AsyncIterable<FleetMsg>;
  /** Ends `messages` (and drops the server-side consumer, best effort). */
  close(): Promise<void>;
}

/** Creates consumers of one filter subject of one stream. */
export interface ConsumerSource {
  /** `alive` is called on every server heartbeat (or other server status) of this consumer. */
  open(start: StartAt, alive: () => void): Promise<ConsumerRun>;
}

/** Why a consumer was re-created (log text; `ended`: it ended on its own). */
export type RecreateReason = 'reconnected' | 'silent' | 'ended';

export interface FollowDeps {
  source: ConsumerSource;
  /** The connection's state now. */
  state(): ConnState;
  /** Subscribes to the connection's state changes; returns the unsubscribe. */
  onState(fn: (s: ConnState) => void): () => void;
  clock: Clock;
  scheduler: Scheduler;
  /** 0 ≤ x < 1, for backoff jitter. */
  random: () => number;
  /** Problems worth a log line (creation failures, handler errors, silent consumers). */
  onError(e: unknown, what: string): void;
  /** A consumer was re-created (log line: when and why a host resumed). */
  onNotice(what: string): void;
  /** What this follower reads, for log lines ("BULWARK_DECISIONS bulwark.decisions.fleet.>"). */
  label: string;
  /** No message or heartbeat for this long while connected: the consumer is re-created. */
  silenceMs: number;
  /** Longest wait between two creation attempts. */
  maxBackoffMs: number;
}

/** Backoff before creation attempt `attempt` (0-based): 250 ms doubling, capped, ±25 % jitter. */
export function backoffMs(attempt: number, maxMs: number, random: () => number): number {
  const base = Math.min(maxMs, 250 * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.75 + 0.5 * random()));
}

export class StreamFollower {
  private lastSeq = 0;
  private stopped = false;
  private current: ConsumerRun | undefined;
  /** Why `current` is being closed by us (undefined: it ended on its own). */
  private closing: RecreateReason | undefined;
  private lastAlive = 0;
  /** The handler is working on a message. */
  private busy = false;
  private watchdog: unknown;
  private sleeping: { timer: unknown; wake: () => void } | undefined;
  private unsubscribe: (() => void) | undefined;
  private prevState: ConnState;
  /** Consumers created so far (the first one included). */
  created = 0;
  /** Re-creations by reason (tests, status). */
  readonly recreated: Record<RecreateReason, number> = { reconnected: 0, silent: 0, ended: 0 };

  constructor(
    private readonly d: FollowDeps,
    private readonly start: StartAt,
    private readonly fn: (m: FleetMsg) => void | Promise<void>,
  ) {
    this.prevState = d.state();
  }

  /** Starts the loop; resolves when it ended (stopped, or the connection closed for good). */
  run(): Promise<void> {
    this.unsubscribe = this.d.onState((s) => {
      this.onState(s);
    });
    this.arm();
    return this.loop().finally(() => {
      this.stop();
    });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    if (this.watchdog !== undefined) this.d.scheduler.clearTimeout(this.watchdog);
    this.watchdog = undefined;
    this.wakeUp();
    const c = this.current;
    this.current = undefined;
    if (c) void c.close().catch(() => undefined);
  }

  /** Last stream sequence handed to the handler (0: none yet). */
  get position(): number {
    return this.lastSeq;
  }

  private finished(): boolean {
    return this.stopped || this.d.state() === 'closed';
  }

  private onState(s: ConnState): void {
    const prev = this.prevState;
    this.prevState = s;
    if (s === 'closed') {
      this.stop();
      return;
    }
    // Back after a lost connection: whatever server the consumer lived on may be gone.
    if (s === 'connected' && prev !== 'connected') {
      this.recreate('reconnected');
      this.wakeUp();
    }
  }

  private alive(): void {
    this.lastAlive = this.d.clock.now();
  }

  /** The watchdog: checks a few times per silence period. */
  private arm(): void {
    if (this.stopped) return;
    this.watchdog = this.d.scheduler.setTimeout(() => {
      this.watchdog = undefined;
      // A handler that takes long (an isolation order) is not a silent consumer.
      if (this.current && !this.busy && this.d.state() === 'connected' && this.d.clock.now() - this.lastAlive > this.d.silenceMs) {
        this.d.onError(new Error(`no message or heartbeat for ${this.d.clock.now() - this.lastAlive} ms`), `follow ${this.d.label}: re-creating the consumer`);
        this.recreate('silent');
      }
      this.arm();
    }, Math.max(100, Math.floor(this.d.silenceMs / 4)));
  }

  private recreate(reason: RecreateReason): void {
    const c = this.current;
    if (!c || this.closing !== undefined) return;
    this.closing = reason;
    void c.close().catch(() => undefined);
  }

  private wakeUp(): void {
    const s = this.sleeping;
    if (!s) return;
    this.sleeping = undefined;
    this.d.scheduler.clearTimeout(s.timer);
    s.wake();
  }

  /** Sleeps `ms` unless woken (reconnect, stop). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.d.scheduler.setTimeout(() => {
        this.sleeping = undefined;
        resolve();
      }, ms);
      this.sleeping = { timer, wake: resolve };
    });
  }

  /** Read through a call: set by a state or watchdog callback while the loop awaited. */
  private closingReason(): RecreateReason | undefined {
    return this.closing;
  }

  private startAt(): StartAt {
    return this.lastSeq > 0 ? { seq: this.lastSeq + 1 } : this.start;
  }

  private async loop(): Promise<void> {
    let attempt = 0;
    /** Why the previous consumer went (undefined: this is the first one). */
    let previous: RecreateReason | undefined;
    /** Failed creation attempts since the previous consumer went. */
    let failed = 0;
    while (!this.finished()) {
      let run: ConsumerRun;
      const began = this.d.clock.now();
      try {
        run = await this.d.source.open(this.startAt(), () => {
          this.alive();
        });
      } catch (e) {
        if (this.finished()) return;
        failed++;
        this.d.onError(e, `follow ${this.d.label}: creating the consumer (attempt ${failed})`);
        // Attempts start at most every backoff: one that already waited out a timeout (no
        // leader answered) is followed by the next at once rather than after a further pause.
        const wait = backoffMs(attempt++, this.d.maxBackoffMs, this.d.random) - (this.d.clock.now() - began);
        if (wait > 0) await this.sleep(wait);
        continue;
      }
      this.created++;
      if (previous !== undefined) this.d.onNotice(`follow ${this.d.label}: consumer re-created (${previous}; attempt ${failed + 1}), resuming after sequence ${this.lastSeq}`);
      failed = 0;
      if (this.finished()) {
        await run.close().catch(() => undefined);
        return;
      }
      this.current = run;
      this.closing = undefined;
      this.alive();
      try {
        for await (const m of run.messages) {
          attempt = 0;
          this.alive();
          this.busy = true;
          try {
            await this.fn(m);
          } catch (e) {
            this.d.onError(e, `handler ${this.d.label}`);
          } finally {
            this.busy = false;
          }
          this.lastSeq = m.seq;
          this.alive();
        }
      } catch (e) {
        if (!this.finished() && this.closingReason() === undefined) this.d.onError(e, `follow ${this.d.label}: the consumer failed`);
      }
      this.current = undefined;
      const reason = this.closingReason() ?? 'ended';
      this.closing = undefined;
      if (this.finished()) return;
      this.recreated[reason]++;
      previous = reason;
      // A consumer that ends on its own again and again backs off further; one we replaced
      // (reconnect, silence) starts the backoff over.
      if (reason !== 'ended') attempt = 0;
      // A consumer that ended on its own (deleted, server error) is re-created after a pause;
      // one we closed (reconnect, silence) at once.
      if (reason === 'ended') await this.sleep(backoffMs(attempt++, this.d.maxBackoffMs, this.d.random));
    }
  }
}
