import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock, isBulwarkProcess } from '../../../src/service/lock.js';
import { isBulwarkError } from '../../../src/errors.js';

test('lock: exclusive, stale locks taken over, released only by the owner', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-lock-'));
  try {
    const lock = await acquireLock(dir, () => true);
    assert.equal(readFileSync(lock.path, 'utf8'), `${process.pid}\n`);
    await assert.rejects(acquireLock(dir, () => true), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_LOCKED'));
    await lock.release();
    assert.ok(!existsSync(lock.path));

    writeFileSync(join(dir, 'bulwark.lock'), '999999\n');
    await assert.rejects(acquireLock(dir, (pid) => pid === 999999), /another bulwark daemon \(pid 999999\) is running/);
    const taken = await acquireLock(dir, () => false); // owner dead: stale
    assert.equal(readFileSync(taken.path, 'utf8'), `${process.pid}\n`);
    // Someone else's lock (file rewritten) is not removed by our release.
    writeFileSync(taken.path, '4242\n');
    await taken.release();
    assert.ok(existsSync(taken.path));

    writeFileSync(taken.path, 'garbage');
    const g = await acquireLock(dir, () => true);
    await g.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('liveness probe: dead pids are not alive, this test process is not a bulwark process by name', () => {
  assert.equal(isBulwarkProcess(2 ** 22 + 12345), false);
  const self = readFileSync(`/proc/${process.pid}/cmdline`, 'utf8').includes('bulwark');
  assert.equal(isBulwarkProcess(process.pid), self);
});
