import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../../../src/config/types.js';
import { isBulwarkError } from '../../../src/errors.js';
import { applyPolicy, checkLocalChange, mergePolicies, parsePolicyDoc, validateSettings } from '../../../src/fleet/policy.js';
import type { PolicyDoc } from '../../../src/fleet/types.js';

const doc = (key: string, settings: PolicyDoc['settings'], locks: PolicyDoc['locks'] = []): PolicyDoc => ({ v: 1, key, settings, locks, updatedAt: 1 });

test('settings are validated with the configuration schema (durations normalised, bad values refused with the policy named)', () => {
  assert.deepEqual(validateSettings({ protection: true, blockDuration: '2h', isolationDuration: '8h', neverBlock: ['203.0.113.0/24'] }, 'policy fleet'), {
    protection: true,
    blockDuration: 7_200_000,
    isolationDuration: 28_800_000,
    neverBlock: ['203.0.113.0/24'],
  });
  assert.throws(() => validateSettings({ blockDuration: 'forever' }, 'policy fleet'), (e: Error) => isBulwarkError(e, 'BULWARK_ERR_CONFIG') && /policy fleet/.test(e.message) && /blockDuration/.test(e.message));
  assert.throws(() => validateSettings({ action: 'dry-run' }, 'policy fleet'), /action/);
  assert.throws(() => validateSettings({ protectoin: true }, 'policy fleet'), /unknown setting protectoin/);
  assert.throws(() => validateSettings({ share: 'everyone' }, 'policy fleet'), /share/);
});

test('policy documents: key must match, locks must be known settings', () => {
  assert.equal(parsePolicyDoc(JSON.stringify(doc('fleet', { protection: false }, ['protection'])), 'fleet').ok, true);
  assert.equal(parsePolicyDoc(JSON.stringify(doc('fleet', {})), 'group.web').ok, false);
  assert.equal(parsePolicyDoc(JSON.stringify({ ...doc('fleet', {}), locks: ['nope'] }), 'fleet').ok, false);
  assert.equal(parsePolicyDoc('not json', 'fleet').ok, false);
});

test('merge: fleet → groups in config order → host, later wins; a lock keeps the locking level\'s value; neverBlock adds up', () => {
  const eff = mergePolicies([
    doc('fleet', { protection: true, blockDuration: 3_600_000, neverBlock: ['198.51.100.1'] }, ['blockDuration']),
    doc('group.web', { protection: false, blockDuration: 60_000, neverBlock: ['198.51.100.2'] }),
    doc('group.db', { action: 'alert' }),
    doc('host.h1', { action: 'block' }, ['action']),
  ]);
  assert.equal(eff.settings.protection, false);
  assert.equal(eff.source.protection, 'group.web');
  assert.equal(eff.settings.blockDuration, 3_600_000, 'locked at fleet level');
  assert.equal(eff.locked.blockDuration, 'fleet');
  assert.equal(eff.settings.action, 'block');
  assert.equal(eff.locked.action, 'host.h1');
  assert.deepEqual(eff.settings.neverBlock, ['198.51.100.1', '198.51.100.2']);
  assert.deepEqual(eff.keys, ['fleet', 'group.web', 'group.db', 'host.h1']);
});

test('seed behaviour: a policy-managed host protects unless the policy says off; a local-only host follows its file (default off)', () => {
  const local = defaultConfig();
  assert.equal(local.protection.enabled, false);
  assert.equal(applyPolicy(local, mergePolicies([]), true).protection.enabled, true);
  assert.equal(applyPolicy(local, mergePolicies([doc('fleet', { protection: false })]), true).protection.enabled, false);
  assert.equal(applyPolicy(local, mergePolicies([]), false).protection.enabled, false);
  assert.equal(applyPolicy({ ...local, protection: { enabled: true } }, mergePolicies([]), false).protection.enabled, true);
});

test('applyPolicy overlays the managed settings and adds the NATS servers as management endpoints', () => {
  const local = { ...defaultConfig(), neverBlock: ['192.0.2.1'] };
  const c = applyPolicy(
    local,
    mergePolicies([doc('fleet', { blockDuration: 60_000, action: 'alert', isolationDuration: 120_000, profiles: [], neverBlock: ['198.51.100.9'] })]),
    true,
    { neverBlock: ['198.51.100.254'], management: [{ address: '198.51.100.2', port: 4222, description: 'fleet NATS server' }] },
  );
  assert.equal(c.blockDurationMs, 60_000);
  assert.equal(c.action, 'alert');
  assert.equal(c.isolation.durationMs, 120_000);
  assert.deepEqual(c.isolation.profiles, []);
  assert.deepEqual(c.neverBlock, ['192.0.2.1', '198.51.100.9', '198.51.100.254']);
  assert.deepEqual(c.management, [{ address: '198.51.100.2', port: 4222, description: 'fleet NATS server' }]);
  assert.deepEqual(local.management, [], 'the local config is not modified');
});

test('a local config change to a locked setting is refused naming the policy; other changes pass', () => {
  const eff = mergePolicies([doc('group.web', { protection: true }, ['protection'])]);
  const prev = { ...defaultConfig(), protection: { enabled: true } };
  assert.throws(
    () => {
      checkLocalChange(prev, { ...prev, protection: { enabled: false } }, eff);
    },
    (e: Error) => isBulwarkError(e, 'BULWARK_ERR_POLICY_LOCKED') && /locked by fleet policy "group.web"/.test(e.message),
  );
  checkLocalChange(prev, { ...prev, blockDurationMs: 5000 }, eff);
});
