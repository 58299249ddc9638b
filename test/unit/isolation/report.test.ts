import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyView } from '../../../src/isolation/kernel.js';
import { ISOLATED_TAG, isolationEvent, statusReport, type StatusInputs } from '../../../src/isolation/report.js';
import type { IsolationState } from '../../../src/isolation/types.js';

const T0 = Date.UTC(2026, 10, 21, 8, 0, 0);
const H = 3_600_000;

function state(o: Partial<IsolationState> = {}): IsolationState {
  return { version: 1, active: true, mode: 'manual', reason: 'manual isolation', startedAtMs: T0, endsAtMs: T0 + H, startedBy: 'cli', severed: 4, conntrackRemoved: 1, managementAddresses: {}, rules: [], ...o };
}

function inputs(o: Partial<StatusInputs>): StatusInputs {
  return {
    state: undefined,
    now: T0 + 60_000,
    view: emptyView(),
    check: undefined,
    read: false,
    processes: () => ({ processExclusions: [], agent: { match: 'none' } }),
    agent: { kind: 'none' },
    lastSever: undefined,
    warnings: [],
    ...o,
  };
}

test('not isolated: the last isolation is reported, and a deadline left in the kernel is a problem', () => {
  const view = emptyView();
  view.on.ipv4 = 30;
  const r = statusReport(inputs({ state: state({ active: false, endedAtMs: T0 + 1000, endedBy: 'cli' }), view, read: true }));
  assert.deepEqual(r, {
    isolated: false,
    kernel: { matches: false, problems: ['the kernel still holds an isolation deadline'], read: true },
    warnings: [],
    last: { mode: 'manual', startedAt: '2026-11-21T08:00:00.000Z', reason: 'manual isolation', endedAt: '2026-11-21T08:00:01.000Z', endedBy: 'cli' },
  });
  assert.deepEqual(statusReport(inputs({})), { isolated: false, kernel: { matches: true, problems: [], read: false }, warnings: [] });
});

test('isolated: time left, kernel check, and the agent match when no cgroup rule recognises the daemon', () => {
  const view = emptyView();
  view.on.ipv4 = 3540;
  const r = statusReport(inputs({ state: state(), view, check: { matches: true, problems: [], missing: false }, agent: { kind: 'uid', id: 0 }, warnings: ['w1'] }));
  assert.equal(r.isolated, true);
  assert.equal(r.tag, ISOLATED_TAG);
  assert.equal(r.timeLeftMs, H - 60_000);
  assert.equal(r.severed, 4);
  assert.deepEqual(r.agent, { match: 'uid', id: 0 });
  assert.deepEqual(r.kernel, { matches: true, problems: [], read: false, secondsLeft: 3540 });
  assert.deepEqual(r.warnings, ['w1']);
  // Not read yet: no check to report.
  assert.deepEqual(statusReport(inputs({ state: state() })).kernel, { matches: false, problems: ['not read yet'], read: false });
});

test('isolation events: on carries the severing, off and expired carry the end', () => {
  const on = isolationEvent('on', state({ event: { eventId: 'e1', signatureId: 7, signature: 'sig', severity: 'high', srcIp: '203.0.113.5' } }), T0);
  assert.deepEqual(on.isolation, {
    action: 'on',
    mode: 'manual',
    reason: 'manual isolation',
    started_at: '2026-11-21T08:00:00.000Z',
    ends_at: '2026-11-21T09:00:00.000Z',
    severed: 4,
    exclusions: 0,
    event_id: 'e1',
    signature_id: 7,
    signature: 'sig',
    src_ip: '203.0.113.5',
  });
  assert.deepEqual(on.bulwark, { event: 'Host isolated from network' });
  const off = isolationEvent('expired', state({ active: false, endedBy: 'expired' }), T0 + H);
  assert.equal((off.isolation as Record<string, unknown>).ended_at, '2026-11-21T09:00:00.000Z');
  assert.equal((off.isolation as Record<string, unknown>).ended_by, 'expired');
  assert.deepEqual(off.bulwark, { event: 'Host isolation expired' });
});
