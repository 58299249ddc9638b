import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../src/cli/main.js';
import { commands } from '../../../src/cli/commands/index.js';
import { VERSION } from '../../../src/version.js';
import { sink } from './sink.js';


async function cli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  const stdout = sink();
  const stderr = sink();
  const code = await runCli(argv, { stdout, stderr, env });
  return { code, out: stdout.text(), err: stderr.text() };
}

const dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-'));
const env = { BULWARK_SOCKET: join(dir, 'none.sock') };
test.after(() => { rmSync(dir, { recursive: true, force: true }); });

test('command registry: unique names, every command documented', () => {
  const names = commands.map((c) => c.name);
  assert.equal(new Set(names).size, names.length);
  for (const c of commands) {
    assert.match(c.name, /^[a-z][a-z-]*$/);
    assert.ok(c.summary.length > 0 && c.usage.includes(`bulwark ${c.name}`), `${c.name} usage`);
  }
  for (const n of ['run', 'status', 'reload']) assert.ok(names.includes(n), n);
});

test('--help, -h, no arguments, --version', async () => {
  const h = await cli(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.out, /Usage: bulwark/);
  for (const c of commands) assert.ok(h.out.includes(c.name));
  assert.equal((await cli(['-h'])).code, 0);
  const none = await cli([]);
  assert.equal(none.code, 2);
  assert.match(none.err, /Usage: bulwark/);
  const v = await cli(['--version']);
  assert.equal(v.out, `bulwark ${VERSION}\n`);
  assert.deepEqual(JSON.parse((await cli(['--json', '--version'])).out), { version: VERSION, node: process.version });
  const sh = await cli(['status', '--help']);
  assert.equal(sh.code, 0);
  assert.match(sh.out, /Usage: bulwark status/);
});

test('usage errors exit 2 with a one-line hint', async () => {
  const u = await cli(['frobnicate']);
  assert.equal(u.code, 2);
  assert.equal(u.err, 'bulwark: unknown command "frobnicate" (see `bulwark --help`)\n');
  const f = await cli(['--frob', 'status']);
  assert.equal(f.code, 2);
  assert.match(f.err, /unknown flag --frob/);
  const g = await cli(['status', '--frob'], env);
  assert.equal(g.code, 2);
  assert.match(g.err, /unknown flag --frob \(see `bulwark status --help`\)/);
  assert.equal((await cli(['status', 'extra'], env)).code, 2);
  assert.equal((await cli(['status', '--config'], env)).code, 2);
});

test('daemon not reachable exits 3 naming the socket; --json errors are JSON on stderr', async () => {
  const r = await cli(['status'], env);
  assert.equal(r.code, 3);
  assert.ok(r.err.includes(env.BULWARK_SOCKET), r.err);
  const j = await cli(['status', '--json'], env);
  assert.equal(j.code, 3);
  assert.equal(j.out, '');
  assert.equal((JSON.parse(j.err) as { error: { code: string } }).error.code, 'BULWARK_ERR_UNREACHABLE');
});

test('configuration errors exit 78 naming file, line and key', async () => {
  const f = join(dir, 'bad.yaml');
  writeFileSync(f, 'engine:\n  maxFlowz: 1\n');
  const r = await cli(['--config', f, 'status']);
  assert.equal(r.code, 78);
  assert.equal(r.err, `bulwark: config ${f}:2:3: engine.maxFlowz: unknown key (did you mean "maxFlows"?)\n`);
  const m = await cli(['status', `--config=${join(dir, 'missing.yaml')}`]);
  assert.equal(m.code, 78);
  assert.match(m.err, /cannot read \(ENOENT\)/);
  const run = await cli(['run', '--config', f]);
  assert.equal(run.code, 78);
  assert.match(run.err, /engine\.maxFlowz: unknown key/);
});

test('config check / show', async () => {
  const good = join(dir, 'good.yaml');
  writeFileSync(good, 'engine:\n  maxFlows: 9\naction: alert\n');
  const c = await cli(['config', 'check', '--config', good], {});
  assert.equal(c.code, 0, c.err);
  assert.equal(c.out, `${good}: configuration valid\n`);
  const s = await cli(['--config', good, 'config', 'show'], { BULWARK_STATE_DIR: '/tmp/elsewhere' });
  const shown = JSON.parse(s.out) as { engine: { maxFlows: number }; stateDir: string };
  assert.equal(shown.engine.maxFlows, 9);
  assert.equal(shown.stateDir, '/tmp/elsewhere');
  const bad = join(dir, 'bad2.yaml');
  writeFileSync(bad, 'interfaces: [nosuchif0]\naction: alert\n');
  const b = await cli(['config', 'check', '--config', bad, '--json'], {});
  assert.equal(b.code, 78);
  const j = JSON.parse(b.out) as { valid: boolean; issues: { path: string }[] };
  assert.equal(j.valid, false);
  assert.deepEqual(j.issues.map((i) => i.path), ['interfaces[0]']);
  assert.equal((await cli(['config', 'frob'], {})).code, 2);
  assert.equal((await cli(['config'], {})).code, 2);
});

test('config schema / example print the published files', async () => {
  const { readFileSync } = await import('node:fs');
  const root = new URL('../../../', import.meta.url).pathname;
  assert.equal((await cli(['config', 'schema'])).out, readFileSync(`${root}docs/schema/config.schema.json`, 'utf8'));
  assert.equal((await cli(['config', 'example'])).out, readFileSync(`${root}packaging/bulwark.yaml`, 'utf8'));
});
