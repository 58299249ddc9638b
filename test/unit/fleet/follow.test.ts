/**
 * StreamFollower (src/fleet/follow.ts): the consumer lifecycle behind FleetConnection.follow,
 * against a fake ConsumerSource, a manual clock and a manual scheduler.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../../src/clock.js';
import { backoffMs, StreamFollower, type ConsumerRun, type ConsumerSource, type FollowDeps } from '../../../src/fleet/follow.js';
import type { Scheduler } from '../../../src/scheduler.js';
import type { ConnState, FleetMsg, StartAt } from '../../../src/fleet/types.js';
import { flushAsync } from './fake.js';

/** Timers fired by hand, in due order, as the clock is advanced. */
class ManualScheduler implements Scheduler {
  private next = 1;
  readonly timers = new Map<number, { due: number; fn: () => void }>();
  constructor(private readonly clock: ManualClock) {}
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { due: this.clock.now() + ms, fn });
    return id;
  }
  clearTimeout(t: unknown): void {
    this.timers.delete(t as number);
  }
  /** Moves time forward in small steps, firing what falls due and letting promises settle. */
  async advance(ms: number, step = 100): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      this.clock.advance(Math.min(step, end - this.clock.now()));
      for (;;) {
        const due = [...this.timers.entries()].filter(([, t]) => t.due <= this.clock.now()).sort((a, b) => a[1].due - b[1].due)[0];
        if (!due) break;
        this.timers.delete(due[0]);
        due[1].fn();
        await flushAsync();
      }
      await flushAsync();
    }
  }
}

/** One fake consumer incarnation: messages pushed by the test, ended by close() or end(). */
class FakeRun implements ConsumerRun {
  private readonly queue: (FleetMsg | null)[] = [];
  private waiting: (() => void) | undefined;
  closed = false;
  constructor(readonly start: StartAt, readonly alive: () => void) {}
  push(seq: number, subject = 'bulwark.decisions.fleet.x.a'): void {
    this.queue.push({ subject, seq, data: new Uint8Array(), pending: 0 });
    this.waiting?.();
  }
  end(): void {
    this.queue.push(null);
    this.waiting?.();
  }
  close(): Promise<void> {
    this.closed = true;
    this.end();
    return Promise.resolve();
  }
  get messages(): AsyncIterable<FleetMsg> {
    return this.iterate();
  }
  private async *iterate(): AsyncGenerator<FleetMsg> {
    for (;;) {
      const m = this.queue.shift();
      if (m === null) return;
      if (m !== undefined) {
        yield m;
        continue;
      }
      await new Promise<void>((r) => (this.waiting = r));
      this.waiting = undefined;
    }
  }
}

class FakeSource implements ConsumerSource {
  readonly runs: FakeRun[] = [];
  /** Errors thrown by the next open() calls, in order. */
  failures: Error[] = [];
  /** A failing open() answers after this long (a request nobody answers: timeout). */
  failAfterMs = 0;
  opens = 0;
  scheduler: ManualScheduler | undefined;
  open(start: StartAt, alive: () => void): Promise<ConsumerRun> {
    this.opens++;
    const f = this.failures.shift();
    if (f && this.failAfterMs > 0 && this.scheduler) {
      const s = this.scheduler;
      return new Promise((_r, reject) => {
        s.setTimeout(() => {
          reject(f);
        }, this.failAfterMs);
      });
    }
    if (f) return Promise.reject(f);
    const r = new FakeRun(start, alive);
    this.runs.push(r);
    return Promise.resolve(r);
  }
  get last(): FakeRun {
    const r = this.runs.at(-1);
    assert.ok(r, 'no consumer was created');
    return r;
  }
}

function setup(start: StartAt = 'all', handler?: (m: FleetMsg) => void | Promise<void>, failures: Error[] = [], failAfterMs = 0) {
  const clock = new ManualClock(1_000_000);
  const scheduler = new ManualScheduler(clock);
  const source = new FakeSource();
  source.failures = failures;
  source.failAfterMs = failAfterMs;
  source.scheduler = scheduler;
  let state: ConnState = 'connected';
  const listeners = new Set<(s: ConnState) => void>();
  const errors: string[] = [];
  const notices: string[] = [];
  const seen: number[] = [];
  const deps: FollowDeps = {
    source,
    state: () => state,
    onState: (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    clock,
    scheduler,
    random: () => 0.5,
    onError: (e, what) => errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`),
    onNotice: (what) => notices.push(what),
    label: 'S f.>',
    silenceMs: 5000,
    maxBackoffMs: 2000,
  };
  const f = new StreamFollower(deps, start, handler ?? ((m) => void seen.push(m.seq)));
  const done = f.run();
  const setState = (s: ConnState): void => {
    state = s;
    for (const l of [...listeners]) l(s);
  };
  return { f, done, clock, scheduler, source, setState, errors, notices, seen, listeners };
}

test('delivers in order; after a reconnect the consumer is re-created right after the last sequence handled', async () => {
  const t = setup();
  await flushAsync();
  assert.equal(t.source.runs.length, 1);
  assert.equal(t.source.last.start, 'all');
  const first = t.source.last;
  first.push(3);
  first.push(7);
  await flushAsync();
  assert.deepEqual(t.seen, [3, 7]);
  // The connection drops and comes back (to another server): the old consumer may live on the
  // dead server and would never deliver again; the follower does not wait to find out.
  t.setState('reconnecting');
  await flushAsync();
  assert.equal(t.source.runs.length, 1, 'nothing is re-created while the connection is down');
  t.setState('connected');
  await flushAsync();
  assert.equal(first.closed, true);
  assert.equal(t.source.runs.length, 2);
  assert.deepEqual(t.source.last.start, { seq: 8 });
  t.source.last.push(9);
  await flushAsync();
  assert.deepEqual(t.seen, [3, 7, 9]);
  assert.equal(t.f.recreated.reconnected, 1);
  assert.deepEqual(t.notices, ['follow S f.>: consumer re-created (reconnected; attempt 1), resuming after sequence 7']);
  t.f.stop();
  await t.done;
});

test('a consumer silent for silenceMs while connected is re-created; heartbeats keep it', async () => {
  const t = setup({ seq: 5 });
  await flushAsync();
  const first = t.source.last;
  assert.deepEqual(first.start, { seq: 5 });
  // Heartbeats every 2 s for 20 s: alive, never re-created.
  for (let i = 0; i < 10; i++) {
    await t.scheduler.advance(2000);
    first.alive();
  }
  assert.equal(t.source.runs.length, 1);
  first.push(5);
  await flushAsync();
  // Its server dies: no more heartbeats, our connection stays up.
  await t.scheduler.advance(4000);
  assert.equal(t.source.runs.length, 1, 'not yet: 4 s of silence');
  await t.scheduler.advance(3000);
  assert.equal(first.closed, true);
  assert.equal(t.source.runs.length, 2);
  assert.deepEqual(t.source.last.start, { seq: 6 });
  assert.equal(t.f.recreated.silent, 1);
  assert.ok(t.errors.some((e) => /re-creating the consumer/.test(e)), t.errors.join('\n'));
  t.f.stop();
  await t.done;
});

test('with no message handled yet, a re-created consumer starts where the first one did', async () => {
  const t = setup({ seq: 42 });
  await flushAsync();
  await t.scheduler.advance(7000);
  assert.equal(t.source.runs.length, 2);
  assert.deepEqual(t.source.last.start, { seq: 42 });
  t.f.stop();
  await t.done;
});

test('the watchdog does not count time while the connection is down', async () => {
  const t = setup();
  await flushAsync();
  t.setState('reconnecting');
  await t.scheduler.advance(30_000);
  assert.equal(t.source.runs.length, 1);
  assert.equal(t.source.runs[0]!.closed, false);
  t.f.stop();
  await t.done;
});

test('creation failures (leader election) are retried with a bounded backoff; a reconnect retries at once', async () => {
  const t = setup('all', undefined, Array.from({ length: 8 }, () => new Error('timeout')));
  await flushAsync();
  assert.equal(t.source.opens, 1);
  // 250, 500, 1000, 2000, 2000 … (random 0.5: no jitter offset)
  await t.scheduler.advance(250);
  assert.equal(t.source.opens, 2);
  await t.scheduler.advance(500);
  assert.equal(t.source.opens, 3);
  await t.scheduler.advance(1000);
  assert.equal(t.source.opens, 4);
  await t.scheduler.advance(2000);
  assert.equal(t.source.opens, 5);
  await t.scheduler.advance(2000);
  assert.equal(t.source.opens, 6, 'backoff capped at maxBackoffMs');
  t.setState('reconnecting');
  await flushAsync();
  t.setState('connected');
  await flushAsync();
  assert.equal(t.source.opens, 7, 'the reconnect woke the retry');
  await t.scheduler.advance(4100);
  assert.equal(t.source.opens, 9);
  assert.equal(t.source.runs.length, 1, 'the ninth attempt created the consumer');
  t.source.last.push(1);
  await flushAsync();
  assert.deepEqual(t.seen, [1]);
  assert.equal(t.errors.filter((e) => /creating the consumer/.test(e)).length, 8);
  t.f.stop();
  await t.done;
});

test('an attempt that timed out is followed by the next at once (attempts start at most every backoff)', async () => {
  // Each failing creation takes 2 s (no leader answers until the timeout).
  const t = setup('all', undefined, Array.from({ length: 4 }, () => new Error('timeout')), 2000);
  await flushAsync();
  assert.equal(t.source.opens, 1);
  const starts: number[] = [];
  let seen = 1;
  for (let i = 0; i < 100 && t.source.runs.length === 0; i++) {
    await t.scheduler.advance(100);
    if (t.source.opens > seen) {
      seen = t.source.opens;
      starts.push(t.clock.now() - 1_000_000);
    }
  }
  // 2 s per failed attempt, none of the 250/500/1000/2000 ms backoffs on top.
  assert.deepEqual(starts, [2000, 4000, 6000, 8000]);
  assert.equal(t.source.runs.length, 1);
  t.f.stop();
  await t.done;
});

test('a consumer that ends on its own is re-created after a pause, from the last sequence', async () => {
  const t = setup();
  await flushAsync();
  t.source.last.push(10);
  t.source.last.end();
  await flushAsync();
  assert.equal(t.source.runs.length, 1);
  await t.scheduler.advance(400);
  assert.equal(t.source.runs.length, 2);
  assert.deepEqual(t.source.last.start, { seq: 11 });
  assert.equal(t.f.recreated.ended, 1);
  t.f.stop();
  await t.done;
});

test('a handler error is reported and the position still advances (no redelivery loop)', async () => {
  const seen: number[] = [];
  const t = setup('all', (m) => {
    seen.push(m.seq);
    if (m.seq === 2) throw new Error('boom');
  });
  await flushAsync();
  for (const s of [1, 2, 3]) t.source.last.push(s);
  await flushAsync();
  assert.deepEqual(seen, [1, 2, 3]);
  assert.equal(t.f.position, 3);
  assert.ok(t.errors.some((e) => e === 'handler S f.>: boom'));
  t.f.stop();
  await t.done;
});

test('the handler is awaited before the next message (backpressure), also across a re-creation', async () => {
  let release: () => void = () => undefined;
  const order: string[] = [];
  const t = setup('all', async (m) => {
    order.push(`start ${m.seq}`);
    if (m.seq === 1) await new Promise<void>((r) => (release = r));
    order.push(`end ${m.seq}`);
  });
  await flushAsync();
  t.source.last.push(1);
  t.source.last.push(2);
  await flushAsync();
  assert.deepEqual(order, ['start 1']);
  // A reconnect while the handler is busy: the old consumer is closed after the message in hand.
  t.setState('reconnecting');
  t.setState('connected');
  await flushAsync();
  assert.equal(t.source.runs.length, 1, 'no second consumer while the first one\'s message is in hand');
  release();
  await flushAsync();
  // What the closed consumer had already received may still be handed over (the client library
  // does so too); the new consumer starts right after whatever was handled: no gap, no repeat.
  assert.equal(t.source.runs.length, 2);
  assert.deepEqual(t.source.last.start, { seq: t.f.position + 1 });
  for (let s = t.f.position + 1; s <= 3; s++) t.source.last.push(s);
  await flushAsync();
  assert.deepEqual(order, ['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  t.f.stop();
  await t.done;
});

test('a handler that takes longer than silenceMs does not make the consumer count as silent', async () => {
  let release: () => void = () => undefined;
  const t = setup('all', async () => {
    await new Promise<void>((r) => (release = r));
  });
  await flushAsync();
  t.source.last.push(1);
  await flushAsync();
  await t.scheduler.advance(20_000);
  assert.equal(t.source.runs.length, 1);
  release();
  await flushAsync();
  assert.equal(t.f.position, 1);
  // Once it is idle again the watchdog counts from the end of the handler.
  await t.scheduler.advance(4000);
  assert.equal(t.source.runs.length, 1);
  await t.scheduler.advance(3000);
  assert.equal(t.source.runs.length, 2);
  assert.deepEqual(t.source.last.start, { seq: 2 });
  t.f.stop();
  await t.done;
});

test('stop closes the consumer, ends the loop and removes the state listener; a closed connection ends it too', async () => {
  const t = setup();
  await flushAsync();
  t.f.stop();
  await t.done;
  assert.equal(t.source.last.closed, true);
  assert.equal(t.listeners.size, 0);
  await t.scheduler.advance(30_000);
  assert.equal(t.source.opens, 1);
  assert.equal(t.scheduler.timers.size, 0, 'no timer left behind');

  const u = setup();
  await flushAsync();
  u.setState('closed');
  await u.done;
  assert.equal(u.source.last.closed, true);
  await u.scheduler.advance(30_000);
  assert.equal(u.source.opens, 1);
});

test('backoffMs: doubling from 250 ms, capped, jitter within ±25 %', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 20].map((a) => backoffMs(a, 2000, () => 0.5)), [250, 500, 1000, 2000, 2000, 2000]);
  assert.equal(backoffMs(3, 2000, () => 0), 1500);
  assert.equal(backoffMs(3, 2000, () => 0.999999), 2500);
});
