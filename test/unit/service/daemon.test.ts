import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../../../src/service/daemon.js';
import { controlCall } from '../../../src/service/control-client.js';
import { defaultConfig, type Config } from '../../../src/config/types.js';
import type { Component, ComponentFactory, DaemonContext } from '../../../src/service/types.js';
import { isBulwarkError, BulwarkError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log/index.js';
import { parseExposition } from '../metrics/exposition.js';
import type { Ruleset } from '../../../src/signatures/types.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function setup(yaml = ''): { dir: string; file: string; config: Config } {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-daemon-'));
  cleanups.push(() => { rmSync(dir, { recursive: true, force: true }); });
  const file = join(dir, 'bulwark.yaml');
  const text = `stateDir: ${dir}/state\ncontrol:\n  socket: ${dir}/run/bulwark.sock\nmetrics:\n  listen: 127.0.0.1:0\nevents:\n  file: ""\nlog:\n  level: fatal\n${yaml}`;
  writeFileSync(file, text);
  const config: Config = { ...defaultConfig(), stateDir: `${dir}/state`, control: { socket: `${dir}/run/bulwark.sock` }, metrics: { ...defaultConfig().metrics, enabled: true, listen: '127.0.0.1:0' } };
  return { dir, file, config };
}

interface Probe {
  order: string[];
  reloads: string[];
}

function fake(name: string, probe: Probe, opts: { failStart?: boolean; refuseReload?: boolean; onCtx?: (ctx: DaemonContext) => void } = {}): ComponentFactory {
  return (ctx) => {
    opts.onCtx?.(ctx);
    const c: Component = {
      name,
      start() {
        probe.order.push(`start ${name}`);
        return opts.failStart ? Promise.reject(new Error(`${name} cannot start`)) : Promise.resolve();
      },
      stop() {
        probe.order.push(`stop ${name}`);
        return Promise.resolve();
      },
      reload(cfg) {
        probe.reloads.push(`${name} ${cfg.engine.maxFlows}`);
        return opts.refuseReload && cfg.engine.maxFlows === 13 ? Promise.reject(new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', `${name} refuses 13`)) : Promise.resolve();
      },
      status: () => ({ ok: true, name }),
    };
    return c;
  };
}

function daemon(s: ReturnType<typeof setup>, components: ComponentFactory[]): Daemon {
  const runtimeProbes = { interfaceNames: () => ['lo', 'eth0'], hasBinary: () => Promise.resolve(true) };
  const d = new Daemon({ config: s.config, configPath: s.file, explicitConfigPath: s.file, env: {}, log: silentLogger(), components, runtimeProbes });
  cleanups.push(() => d.stop());
  return d;
}

test('starts components in order, stops them in reverse, and cleans up socket and lock', async () => {
  const s = setup();
  const probe: Probe = { order: [], reloads: [] };
  const d = daemon(s, [fake('a', probe), fake('b', probe)]);
  await d.start();
  assert.equal(d.currentState, 'running');
  assert.ok(existsSync(s.config.control.socket));
  assert.equal(readFileSync(join(s.config.stateDir, 'bulwark.lock'), 'utf8').trim(), String(process.pid));
  await d.stop();
  assert.deepEqual(probe.order, ['start a', 'start b', 'stop b', 'stop a']);
  assert.ok(!existsSync(s.config.control.socket), 'socket left behind');
  assert.ok(!existsSync(join(s.config.stateDir, 'bulwark.lock')), 'lock left behind');
});

test('a component failing to start stops the started ones and releases everything', async () => {
  const s = setup();
  const probe: Probe = { order: [], reloads: [] };
  const d = daemon(s, [fake('a', probe), fake('b', probe, { failStart: true }), fake('c', probe)]);
  await assert.rejects(d.start(), /component b: start failed: b cannot start/);
  assert.deepEqual(probe.order, ['start a', 'start b', 'stop a']);
  assert.ok(!existsSync(join(s.config.stateDir, 'bulwark.lock')));
  assert.equal(d.currentState, 'stopped');
});

test('a second daemon on the same state dir is refused with the pid', async () => {
  const s = setup();
  const d1 = daemon(s, []);
  await d1.start();
  const d2 = new Daemon({ config: { ...s.config, control: { socket: join(s.dir, 'other.sock') } }, configPath: s.file, env: {}, log: silentLogger(), components: [], isLockHolderAlive: () => true });
  await assert.rejects(d2.start(), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_LOCKED') && e.message.includes(`another bulwark daemon (pid ${process.pid}) is running`));
  // d1 is unaffected.
  assert.equal(((await controlCall(s.config.control.socket, 'ping')) as Record<string, unknown>).pong, true);
});

test('status merges component status, database version and counters; components register commands', async () => {
  const s = setup();
  const probe: Probe = { order: [], reloads: [] };
  let ctxSeen: DaemonContext | undefined;
  const d = daemon(s, [
    fake('sig', probe, {
      onCtx: (ctx) => {
        ctxSeen = ctx;
        ctx.commands.register('sig.hello', (args) => Promise.resolve({ hello: args.name }));
      },
    }),
  ]);
  await d.start();
  assert.ok(ctxSeen);
  assert.equal(ctxSeen.get('sig')?.name, 'sig');
  assert.deepEqual(await controlCall(s.config.control.socket, 'sig.hello', { name: 'x' }), { hello: 'x' });
  ctxSeen.bus.emitRuleset({ version: 'core 2026.11.21', databases: [], signatures: [], ports: [80, 443] } as unknown as Ruleset);
  const st = (await controlCall(s.config.control.socket, 'status')) as Record<string, unknown>;
  assert.equal(st.state, 'running');
  assert.equal(st.pid, process.pid);
  assert.equal(st.configPath, s.file);
  assert.deepEqual(st.components, { sig: { ok: true, name: 'sig' } });
  assert.equal((st.database as Record<string, unknown>).version, 'core 2026.11.21');
  assert.equal((st.database as Record<string, unknown>).ports, 2);
  assert.equal((st.counters as Record<string, unknown>).controlRequests, 1);
  assert.equal(typeof st.uptimeMs, 'number');
});

test('reload: valid file reaches components; invalid file keeps the old config and is counted', async () => {
  const s = setup();
  const probe: Probe = { order: [], reloads: [] };
  const d = daemon(s, [fake('a', probe), fake('b', probe, { refuseReload: true })]);
  await d.start();
  writeFileSync(s.file, readFileSync(s.file, 'utf8') + 'engine:\n  maxFlows: 12\n');
  const r = (await controlCall(s.config.control.socket, 'reload')) as Record<string, unknown>;
  assert.equal(r.reloaded, true);
  assert.deepEqual(probe.reloads, ['a 12', 'b 12']);
  assert.equal(d.currentConfig.engine.maxFlows, 12);

  writeFileSync(s.file, readFileSync(s.file, 'utf8') + 'bogus: 1\n');
  await assert.rejects(controlCall(s.config.control.socket, 'reload'), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_CONFIG') && /bulwark\.yaml:\d+:1: bogus: unknown key/.test(e.message));
  assert.equal(d.currentConfig.engine.maxFlows, 12);

  // A component refusing: everybody goes back to the old config.
  writeFileSync(s.file, readFileSync(s.file, 'utf8').replace('bogus: 1\n', '').replace('maxFlows: 12', 'maxFlows: 13'));
  await assert.rejects(controlCall(s.config.control.socket, 'reload'), /refused by b: b refuses 13/);
  assert.deepEqual(probe.reloads, ['a 12', 'b 12', 'a 13', 'b 13', 'a 12']);
  assert.equal(d.currentConfig.engine.maxFlows, 12);

  const text = await (await fetch(`${d.metricsUrl!}/metrics`)).text();
  const { samples } = parseExposition(text);
  const v = (result: string): number | undefined => samples.find((x) => x.name === 'bulwark_config_reloads_total' && x.labels.result === result)?.value;
  assert.equal(v('success'), 1);
  assert.equal(v('failure'), 2);
});

test('reload keeps restart-only keys and reports them', async () => {
  const s = setup();
  const d = daemon(s, []);
  await d.start();
  writeFileSync(s.file, readFileSync(s.file, 'utf8').replace('127.0.0.1:0', '127.0.0.1:1'));
  const r = (await d.reload()) as { restartNeeded: string[] };
  assert.deepEqual(r.restartNeeded, ['metrics.listen']);
  assert.equal(d.currentConfig.metrics.listen, '127.0.0.1:0');
});

test('metrics HTTP: /metrics is valid exposition text, /healthz says ok, others 404', async () => {
  const s = setup();
  const d = daemon(s, []);
  await d.start();
  await controlCall(s.config.control.socket, 'nope').catch(() => undefined);
  await controlCall(s.config.control.socket, 'ping');
  const res = await fetch(`${d.metricsUrl!}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const { samples } = parseExposition(await res.text());
  assert.ok(samples.some((x) => x.name === 'bulwark_build_info'));
  assert.equal(samples.find((x) => x.name === 'bulwark_control_requests_total' && x.labels.cmd === 'unknown')?.value, 1);
  assert.equal(samples.find((x) => x.name === 'bulwark_control_requests_total' && x.labels.cmd === 'ping')?.value, 1);
  const h = await fetch(`${d.metricsUrl!}/healthz`);
  assert.equal(h.status, 200);
  assert.equal(await h.text(), 'ok\n');
  assert.equal((await fetch(`${d.metricsUrl!}/`)).status, 404);
  assert.equal((await fetch(`${d.metricsUrl!}/metrics`, { method: 'POST' })).status, 405);
});

test('metrics disabled: no HTTP server', async () => {
  const s = setup();
  s.config.metrics = { ...s.config.metrics, enabled: false, listen: '127.0.0.1:0' };
  const d = daemon(s, []);
  await d.start();
  assert.equal(d.metricsUrl, undefined);
});

test('reload refuses a config whose interfaces do not exist (runtime check)', async () => {
  const s = setup();
  const d = daemon(s, []);
  await d.start();
  writeFileSync(s.file, readFileSync(s.file, 'utf8') + 'interfaces: [eth0, nosuch0]\n');
  await assert.rejects(d.reload(), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_CONFIG') && e.message.includes('interfaces[1]: interface "nosuch0" does not exist'));
  assert.deepEqual(d.currentConfig.interfaces, []);
  writeFileSync(s.file, readFileSync(s.file, 'utf8').replace(', nosuch0', ''));
  await d.reload();
  assert.deepEqual(d.currentConfig.interfaces, ['eth0']);
});
