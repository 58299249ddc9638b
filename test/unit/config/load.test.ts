import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyEnvOverrides, loadConfig, readConfigFile } from '../../../src/config/load.js';
import { checkRuntime } from '../../../src/config/runtime.js';
import { defaultConfig } from '../../../src/config/types.js';
import { isBulwarkError } from '../../../src/errors.js';

test('env overrides replace single keys and are validated', () => {
  const c = applyEnvOverrides(defaultConfig(), { BULWARK_STATE_DIR: '/tmp/s', BULWARK_SOCKET: '/tmp/s/b.sock', BULWARK_METRICS_LISTEN: '127.0.0.1:0', BULWARK_EVENTS_FILE: '', BULWARK_LOG_LEVEL: 'debug' });
  assert.equal(c.stateDir, '/tmp/s');
  assert.equal(c.control.socket, '/tmp/s/b.sock');
  assert.equal(c.metrics.listen, '127.0.0.1:0');
  assert.equal(c.events.file, '');
  assert.equal(c.log.level, 'debug');
  assert.equal(defaultConfig().stateDir, '/var/lib/bulwark');
  assert.throws(
    () => applyEnvOverrides(defaultConfig(), { BULWARK_SOCKET: 'relative.sock', BULWARK_LOG_LEVEL: 'loud' }),
    (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_CONFIG') && /BULWARK_SOCKET: control\.socket: must be an absolute path/.test(e.message) && /BULWARK_LOG_LEVEL/.test(e.message),
  );
});

test('an explicit config path must exist; a file is read and merged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-cfg-'));
  try {
    await assert.rejects(loadConfig(join(dir, 'missing.yaml'), {}), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_CONFIG') && e.message.includes('cannot read (ENOENT)'));
    const f = join(dir, 'b.yaml');
    writeFileSync(f, 'engine:\n  maxFlows: 7\n');
    const l = await loadConfig(f, { BULWARK_STATE_DIR: '/tmp/x' });
    assert.equal(l.path, f);
    assert.equal(l.config.engine.maxFlows, 7);
    assert.equal(l.config.stateDir, '/tmp/x');
    await assert.rejects(readConfigFile(dir), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_CONFIG') && e.message.includes('not a regular file'));
    writeFileSync(f, 'x'.repeat(2 * 1024 * 1024));
    await assert.rejects(readConfigFile(f), /larger than/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runtime checks: missing interfaces are errors, a missing nft binary depends on the action', async () => {
  // Protection is off by default on a local-only host: these checks are about a protecting host.
  const on = { ...defaultConfig(), protection: { enabled: true } };
  const c = { ...on, interfaces: ['eth0', 'nope0'] };
  const probes = { interfaceNames: () => ['lo', 'eth0'], hasBinary: () => Promise.resolve(false) };
  const issues = await checkRuntime(c, probes);
  assert.deepEqual(
    issues.map((i) => [i.severity, i.path]),
    [
      ['error', 'interfaces[1]'],
      ['error', 'action'],
    ],
  );
  const alertOnly = await checkRuntime({ ...on, action: 'alert' }, probes);
  assert.deepEqual(alertOnly.map((i) => i.severity), ['warning']);
  const fine = await checkRuntime(on, { interfaceNames: () => ['lo'], hasBinary: () => Promise.resolve(true) });
  assert.deepEqual(fine, []);
});
