import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blocklistEvent } from '../../../src/blocklist/events.js';
import type { BlockEntry } from '../../../src/blocklist/types.js';

const T0 = Date.UTC(2026, 10, 21, 8, 0, 0);

test('blocklist events are EVE-style, with signature and event ids only when known', () => {
  const e: BlockEntry = { address: '198.51.100.7', family: 4, reason: 'scan', source: 'cli', blockedAtMs: T0, expiresAtMs: T0 + 3_600_000 };
  assert.deepEqual(blocklistEvent('host unblocked', e, { unblock_reason: 'expired' }, T0 + 5000), {
    timestamp: '2026-11-21T08:00:05.000Z',
    event_type: 'blocklist',
    src_ip: '198.51.100.7',
    bulwark: {
      event: 'host unblocked',
      address: '198.51.100.7',
      reason: 'scan',
      source: 'cli',
      blocked_at: '2026-11-21T08:00:00.000Z',
      expires_at: '2026-11-21T09:00:00.000Z',
      unblock_reason: 'expired',
    },
  });
  const d = blocklistEvent('host blocked', { ...e, source: 'detection', signatureId: 2001219, eventId: 'ev-1' }, { source: 'detection' }, T0);
  assert.equal((d.bulwark as Record<string, unknown>).signature_id, 2001219);
  assert.equal((d.bulwark as Record<string, unknown>).event_id, 'ev-1');
});
