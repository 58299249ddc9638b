import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.js';
import { Periodic } from '../../src/scheduler.js';
import { ManualScheduler } from './blocklist/fakes.js';

function setup(o: { intervalMs?: number; when?: () => boolean; run?: () => Promise<unknown> } = {}) {
  const clock = new ManualClock(0);
  const sched = new ManualScheduler(clock);
  const runs: number[] = [];
  const errors: unknown[] = [];
  const p = new Periodic(sched, {
    intervalMs: () => o.intervalMs ?? 1000,
    when: o.when ?? (() => true),
    run:
      o.run ??
      (() => {
        runs.push(clock.now());
        return Promise.resolve();
      }),
    onError: (e) => errors.push(e),
  });
  return { clock, sched, runs, errors, p };
}

test('Periodic runs every period, arming one timer at a time', async () => {
  const s = setup();
  s.p.arm();
  s.p.arm(); // already armed: no second timer
  assert.equal(s.sched.pendingTimers, 1);
  await s.sched.advance(3500);
  assert.deepEqual(s.runs, [1000, 2000, 3000]);
  assert.equal(s.sched.pendingTimers, 1);
});

test('Periodic counts the period from the end of the previous run (no overlap)', async () => {
  const clock = new ManualClock(0);
  const sched = new ManualScheduler(clock);
  const started: number[] = [];
  const p = new Periodic(sched, {
    intervalMs: () => 1000,
    when: () => true,
    // each run takes 500 ms of (scheduler) time
    run: () => {
      started.push(clock.now());
      return new Promise<void>((resolve) => sched.setTimeout(resolve, 500));
    },
    onError: () => undefined,
  });
  p.arm();
  await sched.advance(4000);
  // 1000 → run until 1500 → next at 2500 → run until 3000 → next at 4000
  assert.deepEqual(started, [1000, 2500, 4000]);
});

test('a failed run is reported and the next run is still armed', async () => {
  let n = 0;
  const s = setup({
    run: () => {
      n++;
      return n === 1 ? Promise.reject(new Error('nft gone')) : Promise.resolve();
    },
  });
  s.p.arm();
  await s.sched.advance(2000);
  assert.equal(n, 2);
  assert.equal(s.errors.length, 1);
  assert.match(String(s.errors[0]), /nft gone/);
});

test('Periodic is not armed when when() says no or the period is 0; cancel() disarms', async () => {
  let on = false;
  const a = setup({ when: () => on });
  a.p.arm();
  assert.equal(a.sched.pendingTimers, 0);
  on = true;
  a.p.arm();
  assert.equal(a.sched.pendingTimers, 1);
  a.p.cancel();
  assert.equal(a.sched.pendingTimers, 0);
  await a.sched.advance(5000);
  assert.deepEqual(a.runs, []);

  const b = setup({ intervalMs: 0 });
  b.p.arm();
  assert.equal(b.sched.pendingTimers, 0);
});

test('the period is read each time the task is armed (a reload can change it)', async () => {
  let every = 1000;
  const s = setup();
  const p = new Periodic(s.sched, {
    intervalMs: () => every,
    when: () => true,
    run: () => {
      s.runs.push(s.clock.now());
      every = 3000;
      return Promise.resolve();
    },
    onError: () => undefined,
  });
  p.arm();
  await s.sched.advance(7000);
  assert.deepEqual(s.runs, [1000, 4000, 7000]);
});
