/** Daemon component "database" (src/service/database.ts): load, swap, refuse, metrics, commands. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { createDatabaseComponent, type DatabaseComponent } from '../../../src/service/database.js';
import { createBus } from '../../../src/service/bus.js';
import type { CommandHandler, DaemonContext } from '../../../src/service/types.js';
import { defaultConfig, type Config } from '../../../src/config/types.js';
import { silentLogger } from '../../../src/log/index.js';
import { ManualClock } from '../../../src/clock.js';
import { writeManifest } from '../../../src/signatures/manifest.js';
import { isBulwarkError } from '../../../src/errors.js';
import type { Ruleset } from '../../../src/signatures/types.js';

const shipped = fileURLToPath(new URL('../../../databases', import.meta.url));

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-db-'));
  cpSync(shipped, dir, { recursive: true });
  const config: Config = defaultConfig();
  config.databases.dir = dir;
  config.stateDir = join(dir, 'state'); // never the host's /var/lib/bulwark/rules
  const registry = new Registry();
  const handlers = new Map<string, CommandHandler>();
  const bus = createBus(silentLogger());
  const emitted: Ruleset[] = [];
  bus.onRuleset((r) => emitted.push(r));
  const ctx: DaemonContext = {
    config,
    configPath: undefined,
    log: silentLogger(),
    registry,
    clock: new ManualClock(1_700_000_000_000),
    commands: { register: (n, h) => void handlers.set(n, h) },
    bus,
    get: () => undefined,
  };
  const c = createDatabaseComponent()(ctx) as DatabaseComponent;
  const call = (n: string) => handlers.get(n)!({});
  const metric = async (name: string) => (await registry.getSingleMetricAsString(name));
  return { dir, config, c, call, emitted, metric, cleanup: () => { rmSync(dir, { recursive: true, force: true }); } };
}

test('start loads the shipped databases and publishes the ruleset', async () => {
  const s = setup();
  try {
    await s.c.start();
    assert.equal(s.emitted.length, 1);
    assert.equal(s.c.ruleset, s.emitted[0]);
    assert.ok(s.c.ruleset!.signatures.length >= 60);
    const info = (await s.call('db.info')) as Record<string, unknown>;
    assert.equal(info.active, true);
    assert.equal(info.signatures, s.c.ruleset!.signatures.length);
    assert.match(String(info.ports), /445/);
    assert.deepEqual(await s.call('db.verify'), { dir: s.dir, ok: true, problems: [], version: '2026.11.21' });
    assert.match(await s.metric('bulwark_database_signatures'), new RegExp(`bulwark_database_signatures ${s.c.ruleset!.signatures.length}`));
    assert.match(await s.metric('bulwark_database_reloads_total'), /result="success"} 1/);
  } finally {
    s.cleanup();
  }
});

test('a manifest mismatch or a syntax error keeps the active ruleset; a good change swaps it', async () => {
  const s = setup();
  try {
    await s.c.start();
    const before = s.c.ruleset!;
    const web = join(s.dir, 'web.yaml');
    // 1. edited without regenerating the manifest → refused (integrity)
    writeFileSync(web, readFileSync(web, 'utf8').replace('web_ports: &web [80,', 'web_ports: &web [80, 8181,'));
    await assert.rejects(s.call('db.reload'), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_INTEGRITY') && /web\.yaml: sha256 mismatch/.test(e.message));
    assert.equal(s.c.ruleset, before);
    const v = (await s.call('db.verify')) as { ok: boolean };
    assert.equal(v.ok, false);
    // 2. broken YAML with a matching manifest → refused with file:line
    writeFileSync(web, readFileSync(web, 'utf8').replace("name: Intrusion.HTTP.Log4Shell.JNDI", 'name: [Intrusion'));
    await writeManifest(s.dir);
    await assert.rejects(s.call('db.reload'), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_DATABASE') && /web\.yaml:\d+: invalid YAML/.test(e.message));
    assert.equal(s.c.ruleset, before);
    assert.equal(s.emitted.length, 1);
    assert.match(await s.metric('bulwark_database_reload_errors_total'), /bulwark_database_reload_errors_total 2/);
    assert.match(await s.metric('bulwark_database_reloads_total'), /result="failure"} 2/);
    const info = (await s.call('db.info')) as { lastError: { message: string; line: number } };
    assert.match(info.lastError.message, /invalid YAML/);
    // 3. fixed and re-manifested → swapped, new port published
    writeFileSync(web, readFileSync(web, 'utf8').replace('name: [Intrusion', 'name: Intrusion.HTTP.Log4Shell.JNDI'));
    await writeManifest(s.dir);
    const r = (await s.call('db.reload')) as { reloaded: boolean };
    assert.equal(r.reloaded, true);
    assert.notEqual(s.c.ruleset, before);
    assert.equal(s.emitted.length, 2);
    assert.ok(s.c.ruleset.ports.includes(8181));
    assert.ok(!before.ports.includes(8181));
    // 4. SIGHUP path: reload(config) with a missing directory → throws, ruleset kept
    const cur = s.c.ruleset;
    const bad: Config = { ...s.config, databases: { ...s.config.databases, dir: join(s.dir, 'nope') } };
    await assert.rejects(s.c.reload!(bad), (e: unknown) => isBulwarkError(e));
    assert.equal(s.c.ruleset, cur);
    assert.equal(s.c.status!().lastError !== null, true);
  } finally {
    s.cleanup();
  }
});

test('start fails clearly when the manifest does not match (no previous ruleset)', async () => {
  const s = setup();
  try {
    writeFileSync(join(s.dir, 'extra.rules'), 'alert tcp any any -> any 80 (msg:"x"; content:"x"; sid:1;)\n');
    await assert.rejects(s.c.start(), (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_INTEGRITY') && /extra\.rules: not in manifest/.test(e.message));
    assert.equal(s.c.ruleset, undefined);
    assert.equal(s.emitted.length, 0);
  } finally {
    s.cleanup();
  }
});

test('the rules installed by `bulwark rules update` load after the databases, named by their source; release dates are exported', async () => {
  const s = setup();
  try {
    const { mkdirSync } = await import('node:fs');
    const { renderInstalled, installedRulesFile } = await import('../../../src/rules/installed.js');
    await s.c.start();
    assert.match(await s.metric('bulwark_database_release_timestamp_seconds'), /database="bulwark-core"} 1795219200/);
    const file = installedRulesFile(s.config);
    mkdirSync(join(s.config.stateDir, 'rules'), { recursive: true });
    const manifest = { format: 1, generatedAt: '', generator: '', sources: [{ name: 'et/open', version: '2026.12.01', released: '2026-12-01' }], policy: {}, stats: {}, compile: {} };
    writeFileSync(file, renderInstalled(manifest as never, '# group et/open rules/x.rules\nalert tcp any any -> $HOME_NET 6379 (msg:"X"; content:"EVIL"; sid:2990001; rev:1;)\n'));
    const r = await s.c.reloadDatabases();
    assert.equal(r.version, 'bulwark-core 2026.11.21, et/open 2026.12.01');
    assert.ok(r.signatures.some((x) => x.id === 2990001 && x.source.file === file));
    const info = (await s.call('db.info')) as { databases: { name: string }[]; installedRules: string };
    assert.deepEqual(info.databases.map((d) => d.name).filter((n) => n === 'et/open'), ['et/open']);
    assert.equal(info.installedRules, file);
    assert.match(await s.metric('bulwark_database_release_timestamp_seconds'), /database="et\/open"} 1796083200/);
  } finally {
    s.cleanup();
  }
});
