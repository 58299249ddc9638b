/** `bulwark db …` (src/cli/commands/db.ts) with a fake context. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { dbCommand } from '../../../src/cli/commands/db.js';
import { defaultConfig } from '../../../src/config/types.js';
import { BulwarkError, isBulwarkError } from '../../../src/errors.js';
import { exitCodeFor } from '../../../src/cli/main.js';
import type { CliContext, ControlClient } from '../../../src/cli/types.js';

const shipped = fileURLToPath(new URL('../../../databases', import.meta.url));
const mismatch = fileURLToPath(new URL('../../fixtures/signatures/manifest-mismatch', import.meta.url));

function ctx(json: boolean, control?: ControlClient): { c: CliContext; out: () => string } {
  const stdout = new PassThrough();
  let text = '';
  stdout.on('data', (d: Buffer) => (text += d.toString()));
  const cfg = defaultConfig();
  cfg.databases.dir = shipped;
  const c: CliContext = {
    json,
    configPath: undefined,
    stdout,
    stderr: new PassThrough(),
    control: () => (control ? Promise.resolve(control) : Promise.reject(new BulwarkError('BULWARK_ERR_UNREACHABLE', 'daemon not running'))),
    config: () => Promise.resolve(cfg),
  };
  return { c, out: () => text };
}

test('db info --json works offline from the configured directory', async () => {
  const { c, out } = ctx(true);
  assert.equal(await dbCommand.run(c, ['info']), 0);
  const j = JSON.parse(out()) as Record<string, unknown>;
  assert.equal(j.source, 'files');
  assert.ok((j.signatures as number) >= 60);
  assert.equal(j.skippedTotal, 0);
  assert.equal(typeof j.compileMs, 'number');
  assert.equal(typeof j.memoryBytes, 'number');
  assert.match(String(j.ports), /3389/);
});

test('db info (human) prints name, counts, ports, compile time and memory', async () => {
  const { c, out } = ctx(false);
  assert.equal(await dbCommand.run(c, ['info']), 0);
  for (const k of ['database:', 'bulwark-core 2026.11.21', 'signatures:', 'ports:', 'compile time:', 'memory:', 'rules skipped:']) assert.ok(out().includes(k), k);
});

test('db info --active asks the daemon; unreachable daemon → exit 3', async () => {
  const calls: string[] = [];
  const { c, out } = ctx(true, { call: (cmd) => (calls.push(cmd), Promise.resolve({ active: true, signatures: 5 })) });
  assert.equal(await dbCommand.run(c, ['info', '--active']), 0);
  assert.deepEqual(calls, ['db.info']);
  assert.deepEqual(JSON.parse(out()), { active: true, signatures: 5 });
  const down = ctx(true);
  await assert.rejects(dbCommand.run(down.c, ['info', '--active']), (e: unknown) => exitCodeFor(e) === 3);
});

test('db verify: 0 for the shipped directory, 1 for a manifest mismatch', async () => {
  const ok = ctx(false);
  assert.equal(await dbCommand.run(ok.c, ['verify']), 0);
  assert.match(ok.out(), /manifest ok/);
  const bad = ctx(true);
  assert.equal(await dbCommand.run(bad.c, ['verify', mismatch]), 1);
  const j = JSON.parse(bad.out()) as { ok: boolean; manifest: { problems: string[] } };
  assert.equal(j.ok, false);
  assert.match(j.manifest.problems[0]!, /db\.yaml: sha256 mismatch/);
});

test('db reload: exit 0 on success; the daemon error propagates (exit 1)', async () => {
  const good = ctx(false, { call: () => Promise.resolve({ reloaded: true, version: 'v', signatures: 3, ports: 2, compileMs: 1 }) });
  assert.equal(await dbCommand.run(good.c, ['reload']), 0);
  assert.match(good.out(), /databases reloaded: v, 3 signatures/);
  const failing = ctx(false, { call: () => Promise.reject(new BulwarkError('BULWARK_ERR_DATABASE', 'web.yaml:12: invalid YAML')) });
  await assert.rejects(dbCommand.run(failing.c, ['reload']), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_DATABASE') && exitCodeFor(e) === 1);
});

test('db usage errors', async () => {
  const { c } = ctx(false);
  await assert.rejects(dbCommand.run(c, []), (e: unknown) => exitCodeFor(e) === 2);
  await assert.rejects(dbCommand.run(c, ['frobnicate']), (e: unknown) => exitCodeFor(e) === 2);
  await assert.rejects(dbCommand.run(c, ['info', 'extra']), (e: unknown) => exitCodeFor(e) === 2);
});
