/** withRetry (src/fleet/nats.ts): which JetStream failures are retried, and for how long. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withRetry } from '../../../src/fleet/nats.js';

test('withRetry retries leader-election failures until the call succeeds', async () => {
  const errors = ['timeout', '503 no responders', 'JetStream system temporarily unavailable'];
  let calls = 0;
  const v = await withRetry(() => {
    const e = errors[calls++];
    return e === undefined ? Promise.resolve(42) : Promise.reject(new Error(e));
  }, 30_000);
  assert.equal(v, 42);
  assert.equal(calls, 4);
});

test('withRetry throws other errors at once, and a transient one once the budget is spent', async () => {
  let calls = 0;
  await assert.rejects(
    withRetry(() => {
      calls++;
      return Promise.reject(new Error('permissions violation'));
    }),
    /permissions violation/,
  );
  assert.equal(calls, 1);
  calls = 0;
  await assert.rejects(
    withRetry(() => {
      calls++;
      return Promise.reject(new Error('timeout'));
    }, 1000),
    /timeout/,
  );
  // Attempts at 0, 200, 600 and 1400 ms (the last one past the budget); fewer on a stalled machine.
  assert.ok(calls >= 2 && calls <= 4, `${calls} attempts for a 1 s budget`);
});
