// The compiled CLI as a process: exit codes and messages (no daemon, no namespace needed).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './netns.js';
import { BIN } from './daemon.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-e2e-'));
after(() => { rmSync(dir, { recursive: true, force: true }); });
const env = { ...process.env, BULWARK_SOCKET: join(dir, 'run', 'none.sock'), BULWARK_STATE_DIR: join(dir, 'state') };
const bulwark = (args: string[]) => run(process.execPath, [BIN, ...args], { env });

test('--help exits 0 and lists the commands', async () => {
  const r = await bulwark(['--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^bulwark \S+ — /);
  for (const c of ['run', 'status', 'reload']) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
});

test('--version exits 0', async () => {
  const r = await bulwark(['--version']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^bulwark \d+\.\d+\.\d+/);
});

test('unknown command exits 2 with a one-line hint', async () => {
  const r = await bulwark(['frobnicate']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'bulwark: unknown command "frobnicate" (see `bulwark --help`)\n');
  assert.equal(r.stdout, '');
});

test('status with no daemon exits 3 naming the socket path', async () => {
  const r = await bulwark(['status']);
  assert.equal(r.code, 3);
  assert.ok(r.stderr.includes(join(dir, 'run', 'none.sock')), r.stderr);
  assert.match(r.stderr, /not reachable/);
});

test('a bad config exits 78 naming the key, line and column', async () => {
  const f = join(dir, 'bad.yaml');
  writeFileSync(f, '# comment\nengine:\n  maxFlowz: 1\nlog:\n  level: loud\n');
  // Without BULWARK_SOCKET the CLI must read the file to find the socket (and refuse it).
  const noSocketEnv: NodeJS.ProcessEnv = { ...env };
  delete noSocketEnv.BULWARK_SOCKET;
  for (const cmd of [['status'], ['run'], ['config', 'check']]) {
    const r = await run(process.execPath, [BIN, '--config', f, ...cmd], { env: noSocketEnv });
    assert.equal(r.code, 78, `${cmd[0]!}: ${r.stderr}`);
    assert.ok(r.stderr.includes(`config ${f}:3:3: engine.maxFlowz: unknown key`), r.stderr);
    assert.ok(r.stderr.includes(`config ${f}:5:10: log.level: expected one of`), r.stderr);
  }
});
