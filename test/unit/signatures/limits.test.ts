// Bounds on rules files (issue 14): oversized input is refused fast, with file:line, and a running
// daemon keeps its last good ruleset.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { ManualClock } from '../../../src/clock.js';
import { defaultConfig, type Config } from '../../../src/config/types.js';
import { isBulwarkError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log/index.js';
import { createBus } from '../../../src/service/bus.js';
import { createDatabaseComponent, type DatabaseComponent } from '../../../src/service/database.js';
import type { DaemonContext } from '../../../src/service/types.js';
import { loadDatabases, prescanRules } from '../../../src/signatures/load.js';

const limits = defaultConfig().databases.limits;
const rule = (i: number, content = 'abcdef'): string => `alert tcp any any -> any 80 (msg:"t ${i}"; flow:to_server,established; content:"${content}"; sid:${4_000_000 + i}; rev:1;)`;

function dbWith(rulesText: string, over: Partial<Config['databases']['limits']> = {}): { cfg: Config['databases']; file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-limits-'));
  const file = join(dir, 'extra.rules');
  writeFileSync(file, rulesText);
  const empty = mkdtempSync(join(dir, 'db-'));
  const cfg = { ...defaultConfig().databases, dir: empty, rules: [file], requireManifest: false, limits: { ...limits, ...over } };
  return { cfg, file, cleanup: () => { rmSync(dir, { recursive: true, force: true }); } };
}

function limitError(re: RegExp) {
  return (e: unknown): boolean => isBulwarkError(e, 'BULWARK_ERR_LIMIT') && re.test(e.message);
}

test('prescan: counts rules like the parser (comments, blank lines and continuations)', () => {
  const text = ['# comment', '', rule(1), `${rule(2).slice(0, 30)}\\`, `  ${rule(2).slice(30)}`, '   ', rule(3)].join('\n');
  assert.equal(prescanRules('f.rules', text, limits), 3);
  assert.throws(() => prescanRules('f.rules', text, { ...limits, rules: 2 }), limitError(/^f\.rules:7: more than databases\.limits\.rules \(2\)/));
  assert.throws(() => prescanRules('f.rules', text, { ...limits, ruleLengthBytes: 64 }), limitError(/^f\.rules:3: rule longer than/));
});

test('200,000 rules: refused by the rule bound, naming the first rule over it', async () => {
  const lines: string[] = [];
  for (let i = 0; i < 200_000; i++) lines.push(rule(i));
  const d = dbWith(lines.join('\n') + '\n');
  try {
    await assert.rejects(loadDatabases(d.cfg, { skipManifest: true }), limitError(new RegExp(`^${d.file}:150001: more than databases\\.limits\\.rules \\(150000\\)`)));
  } finally {
    d.cleanup();
  }
});

test('a 10 MB content: refused by the rule length bound; a 20 KiB one by the content bound (decoded bytes)', async () => {
  const huge = dbWith(`${rule(1)}\n${rule(2, 'A'.repeat(10 * 1024 * 1024))}\n`);
  try {
    await assert.rejects(loadDatabases(huge.cfg, { skipManifest: true }), limitError(new RegExp(`^${huge.file}:2: rule longer than databases\\.limits\\.ruleLength \\(65536 bytes\\)`)));
  } finally {
    huge.cleanup();
  }
  const big = dbWith(`${rule(1)}\n\n${rule(2, 'B'.repeat(20 * 1024))}\n`);
  try {
    await assert.rejects(loadDatabases(big.cfg, { skipManifest: true }), limitError(new RegExp(`^${big.file}:3: content of 20480 bytes, over databases\\.limits\\.contentLength \\(16384\\)`)));
  } finally {
    big.cleanup();
  }
  // Hex-escaped content counts its decoded bytes: 8 KiB of |41 42 43 44| (3 characters a byte) is fine.
  const hex = dbWith(`${rule(1, `|${'41 '.repeat(8 * 1024).trim()}|`)}\n`);
  try {
    const r = await loadDatabases(hex.cfg, { skipManifest: true });
    assert.equal(r.ruleset.signatures.length, 1);
  } finally {
    hex.cleanup();
  }
});

test('a file over the size bound is refused before it is read', async () => {
  const d = dbWith(`${rule(1)}\n${'#'.repeat(4096)}\n`, { fileSizeBytes: 2048 });
  try {
    await assert.rejects(loadDatabases(d.cfg, { skipManifest: true }), limitError(new RegExp(`^${d.file}:0: file is \\d+ bytes, over databases\\.limits\\.fileSize \\(2048\\)`)));
  } finally {
    d.cleanup();
  }
});

test('a database reload over a bound is refused and the running ruleset stays', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-limits-comp-'));
  try {
    cpSync(fileURLToPath(new URL('../../../databases', import.meta.url)), join(dir, 'db'), { recursive: true });
    const good = join(dir, 'ok.rules');
    writeFileSync(good, `${rule(1)}\n`);
    const config: Config = defaultConfig();
    config.databases = { ...config.databases, dir: join(dir, 'db'), rules: [good] };
    const ctx = { config, configPath: undefined, log: silentLogger(), registry: new Registry(), clock: new ManualClock(1_700_000_000_000), commands: { register: () => undefined }, bus: createBus(silentLogger()), get: () => undefined } as unknown as DaemonContext;
    const c = createDatabaseComponent()(ctx) as DatabaseComponent;
    await c.start();
    const before = c.ruleset!;
    writeFileSync(good, `${rule(1, 'C'.repeat(10 * 1024 * 1024))}\n`);
    await assert.rejects(c.reloadDatabases(), limitError(/ok\.rules:1: rule longer than/));
    assert.equal(c.ruleset, before, 'the active ruleset is the last good one');
    await c.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
