// The daemon as `make run` starts it, inside a test namespace: status, metrics, signals, lock, reload.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createTestNet, type TestNet, type Host } from './netns.js';
import { startDaemon, type DaemonHandle } from './daemon.js';
import { parseExposition } from '../unit/metrics/exposition.js';

let net: TestNet;
let host: Host;
const daemons: DaemonHandle[] = [];

before(async () => {
  net = await createTestNet(['protected']);
  host = net.host('protected');
});

after(async () => {
  for (const d of daemons) await d.destroy();
  await net.destroy();
});

test('defaults (no config file): status --json, /metrics, /healthz; SIGTERM exits 0 and removes the socket', async () => {
  const d = await startDaemon(host, { noConfigFile: true });
  daemons.push(d);
  assert.equal(statSync(d.socket).mode & 0o777, 0o600, 'control socket must be root-only');
  assert.ok(statSync(d.stateDir).isDirectory(), 'state dir not created');
  const st = await d.cli(['status', '--json']);
  assert.equal(st.code, 0, st.stderr);
  const s = JSON.parse(st.stdout) as Record<string, unknown>;
  assert.equal(s.state, 'running');
  assert.equal(s.pid, d.pid);
  assert.equal(s.configPath, null);
  assert.equal(s.socket, d.socket);
  assert.equal(s.stateDir, d.stateDir);
  assert.equal(typeof s.uptimeMs, 'number');
  assert.equal(typeof s.version, 'string');
  // The shipped databases are loaded at start: status names their version.
  assert.match(String((s.database as { version?: unknown } | null)?.version), /\S+ \d{4}/, JSON.stringify(s.database));

  const direct = await d.status();
  assert.deepEqual([direct.pid, direct.version, direct.socket], [d.pid, s.version, d.socket]);
  const human = await d.cli(['status']);
  assert.equal(human.code, 0);
  assert.match(human.stdout, /^config:\s+built-in defaults$/m);
  assert.match(human.stdout, /^database:\s+\S+/m);
  // Seed behaviour: a host with only local settings has protection off by default, says why, and warns at start.
  assert.match(human.stdout, /^protection:\s+off \(this host has only local settings, where Network Threat Protection is off by default/m);
  assert.match(human.stdout, /^fleet:\s+standalone$/m);
  assert.ok(d.logs().some((l) => l.includes('Network Threat Protection is OFF') && l.includes('"level":40')), 'no start warning about protection being off');

  const m = await d.http('/metrics');
  assert.equal(m.status, 200);
  assert.match(m.contentType, /^text\/plain; version=0\.0\.4/);
  const { samples } = parseExposition(m.body + '\n');
  assert.ok(samples.some((x) => x.name === 'bulwark_build_info' && x.labels.version === s.version));
  assert.ok((samples.find((x) => x.name === 'bulwark_control_requests_total' && x.labels.cmd === 'status' && x.labels.result === 'ok')?.value ?? 0) >= 2);
  const h = await d.http('/healthz');
  assert.deepEqual([h.status, h.body], [200, 'ok\n']);
  assert.equal((await d.http('/nope')).status, 404);

  const exit = await d.stop('SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(!existsSync(d.socket), 'socket left behind');
  assert.ok(!existsSync(`${d.stateDir}/bulwark.lock`), 'lock left behind');
  assert.ok(d.logs().some((l) => l.includes('bulwark stopped')));
  const after = await d.cli(['status']);
  assert.equal(after.code, 3);
});

test('a second daemon with the same state dir is refused with the first one\'s pid', async () => {
  const first = await startDaemon(host, { config: { log: { level: 'info' } } });
  daemons.push(first);
  const second = await startDaemon(host, { env: { BULWARK_STATE_DIR: first.stateDir }, waitReady: false });
  daemons.push(second);
  const exit = await second.exited;
  assert.equal(exit.code, 1);
  assert.ok(second.logs().some((l) => l.includes(`another bulwark daemon (pid ${first.pid}) is running`)), second.logs().join('\n'));
  // The first one is untouched.
  assert.equal((await first.cli(['ping'])).code, 0);
  assert.deepEqual(await first.stop('SIGINT'), { code: 0, signal: null });
});

test('SIGHUP with a broken config keeps running and logs the error with its line; a fixed file reloads', async () => {
  const d = await startDaemon(host, { config: { engine: { maxFlows: 1000 } } });
  daemons.push(d);
  const file = d.configFile!;
  const good = readFileSync(file, 'utf8');
  writeFileSync(file, good + 'engine2:\n  maxFlows: 5\n');
  const lineNo = good.split('\n').length; // the appended key's line
  d.signal('SIGHUP');
  const entry = await d.waitForLog((e) => typeof e.msg === 'string' && e.msg.includes('config reload refused'));
  assert.ok(String(entry.msg).includes(`${file}:${lineNo}:1: engine2: unknown key`), String(entry.msg));
  const st = JSON.parse((await d.cli(['status', '--json'])).stdout) as { state: string; counters: Record<string, number> };
  assert.equal(st.state, 'running');
  assert.equal(st.counters.configReloadFailures, 1);
  const m = parseExposition((await d.http('/metrics')).body + '\n');
  assert.equal(m.samples.find((x) => x.name === 'bulwark_config_reloads_total' && x.labels.result === 'failure')?.value, 1);

  // `bulwark reload` reports the same error and exits 78.
  const r = await d.cli(['reload']);
  assert.equal(r.code, 78);
  assert.ok(r.stderr.includes(`engine2: unknown key`), r.stderr);

  writeFileSync(file, good.replace('maxFlows: 1000', 'maxFlows: 2000'));
  const ok = await d.cli(['reload', '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((JSON.parse(ok.stdout) as { reloaded: boolean }).reloaded, true);
  assert.equal((await d.stop()).code, 0);
});

test('a config with an unknown key exits 78 naming the key and line', async () => {
  const d = await startDaemon(host, { rawConfig: 'action: block\nengine:\n  maxFlowz: 1\n', waitReady: false });
  daemons.push(d);
  const exit = await d.exited;
  assert.equal(exit.code, 78);
  assert.ok(d.logs().some((l) => l.includes(`config ${d.configFile!}:3:3: engine.maxFlowz: unknown key`)), d.logs().join('\n'));
});
