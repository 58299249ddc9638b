import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alertMatchesPolicy } from '../../../src/isolation/policy.js';
import { defaultConfig } from '../../../src/config/types.js';
import type { AlertEvent } from '../../../src/engine/types.js';

function alert(p: { severity?: 'low' | 'high' | 'critical'; sid?: number; detector?: 'portscan' | 'bruteforce' }): AlertEvent {
  return {
    timestamp: '2026-11-21T08:00:00.000Z',
    flow_id: '1',
    event_type: 'alert',
    src_ip: '198.51.100.66',
    src_port: 1,
    dest_ip: '198.51.100.11',
    dest_port: 80,
    proto: 'TCP',
    alert: { action: 'allowed', signature_id: p.sid ?? 1, rev: 1, signature: 's', category: 'c', severity: 1 },
    bulwark: { event: 'Network attack detected', event_id: 'e', attack: 's', severity: p.severity ?? 'low', count: 1, ...(p.detector ? { detector: p.detector } : {}) },
  };
}

test('policy: disabled by default; matches by severity, signature id or detector', () => {
  const def = defaultConfig().isolation.policy;
  assert.equal(def.enabled, false);
  assert.equal(alertMatchesPolicy(def, alert({ severity: 'critical' })), false, 'default policy never isolates');
  const on = { ...def, enabled: true };
  assert.equal(alertMatchesPolicy(on, alert({ severity: 'critical' })), true, 'enabled default: critical');
  assert.equal(alertMatchesPolicy(on, alert({ severity: 'high' })), false);
  const bySid = { enabled: true, severities: [], signatureIds: [2000042], detectors: [] };
  assert.equal(alertMatchesPolicy(bySid, alert({ sid: 2000042 })), true);
  assert.equal(alertMatchesPolicy(bySid, alert({ sid: 2000043, severity: 'critical' })), false);
  const byDet = { enabled: true, severities: [], signatureIds: [], detectors: ['bruteforce' as const] };
  assert.equal(alertMatchesPolicy(byDet, alert({ detector: 'bruteforce' })), true);
  assert.equal(alertMatchesPolicy(byDet, alert({ detector: 'portscan' })), false);
  assert.equal(alertMatchesPolicy(byDet, alert({})), false);
});
