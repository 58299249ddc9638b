import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { ManualClock } from '../../../src/clock.js';
import { silentLogger } from '../../../src/log/index.js';
import { createBlocklistMetrics } from '../../../src/blocklist/metrics.js';
import { StateWriter } from '../../../src/blocklist/state-writer.js';
import { STATE_FILE } from '../../../src/blocklist/state.js';
import type { BlockEntry } from '../../../src/blocklist/types.js';
import { ManualScheduler } from './fakes.js';

const T0 = Date.UTC(2026, 10, 21, 8, 0, 0);

function setup(stateDir: string | undefined) {
  const clock = new ManualClock(T0);
  const sched = new ManualScheduler(clock);
  const registry = new Registry();
  const metrics = createBlocklistMetrics(registry);
  const entries: BlockEntry[] = [{ address: '198.51.100.7', family: 4, reason: 'scan', source: 'cli', blockedAtMs: T0, expiresAtMs: T0 + 3_600_000 }];
  let reads = 0;
  const w = new StateWriter({
    stateDir,
    sched,
    clock,
    log: silentLogger(),
    metrics,
    delayMs: 1000,
    entries: () => {
      reads++;
      return entries;
    },
  });
  return { w, sched, registry, reads: () => reads };
}

test('changes are coalesced into one write after the delay', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-sw-'));
  const s = setup(dir);
  s.w.markDirty();
  s.w.markDirty();
  assert.equal(s.sched.pendingTimers, 1, 'one timer for both changes');
  await s.sched.advance(999);
  assert.equal(existsSync(join(dir, STATE_FILE)), false, 'not before the delay');
  await s.sched.advance(1);
  await s.w.write(false); // waits for the write the timer started (and has nothing more to write)
  assert.equal(s.reads(), 1);
  assert.match(readFileSync(join(dir, STATE_FILE), 'utf8'), /198\.51\.100\.7/);
  await s.w.write(false);
  assert.equal(s.reads(), 1, 'nothing changed since: no write');
  await s.w.write(true);
  assert.equal(s.reads(), 2, 'forced');
});

test('without a state directory nothing is scheduled or written', async () => {
  const s = setup(undefined);
  s.w.markDirty();
  assert.equal(s.sched.pendingTimers, 0);
  await s.w.write(true);
  assert.equal(s.reads(), 0);
});

test('cancel() drops the pending write', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-sw-'));
  const s = setup(dir);
  s.w.markDirty();
  s.w.cancel();
  await s.sched.advance(5000);
  assert.equal(s.reads(), 0);
});

test('a failed write is counted, never thrown, and retried by the next write', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'bulwark-sw-'));
  const notADir = join(parent, 'file');
  writeFileSync(notADir, 'x');
  const s = setup(notADir);
  s.w.markDirty();
  await s.sched.advance(1000);
  for (let i = 0; i < 100 && !/^bulwark_blocklist_state_errors_total 1$/m.test(await s.registry.metrics()); i++) await new Promise((r) => setTimeout(r, 10));
  assert.match(await s.registry.metrics(), /^bulwark_blocklist_state_errors_total 1$/m);
  assert.equal(s.reads(), 1);
  await s.w.write(false); // still dirty: tried again
  assert.equal(s.reads(), 2);
  assert.match(await s.registry.metrics(), /^bulwark_blocklist_state_errors_total 2$/m);
});
