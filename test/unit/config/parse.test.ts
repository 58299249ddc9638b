import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, type ConfigIssue } from '../../../src/config/parse.js';
import { defaultConfig } from '../../../src/config/types.js';
import { isBulwarkError } from '../../../src/errors.js';

const dir = new URL('../../fixtures/config/', import.meta.url).pathname;

function firstLineValue(text: string, tag: string): string {
  const m = new RegExp(`^# ${tag}: (.*)$`).exec(text.split('\n')[0] ?? '');
  if (!m) throw new Error(`fixture has no "# ${tag}:" on line 1`);
  return m[1]!;
}

/** Deep subset: every key of `want` equals the same key of `got` (arrays compared whole). */
function assertSubset(got: unknown, want: unknown, path = ''): void {
  if (want !== null && typeof want === 'object' && !Array.isArray(want)) {
    assert.ok(got !== null && typeof got === 'object', `${path}: expected an object`);
    for (const [k, v] of Object.entries(want)) assertSubset((got as Record<string, unknown>)[k], v, `${path}.${k}`);
    return;
  }
  assert.deepEqual(got, want, path);
}

/** Removes `want`'s keys from a copy of `o` so the rest can be compared with the defaults. */
function without(o: unknown, want: unknown): unknown {
  if (want === null || typeof want !== 'object' || Array.isArray(want) || o === null || typeof o !== 'object') return undefined;
  const out: Record<string, unknown> = { ...(o as Record<string, unknown>) };
  for (const [k, v] of Object.entries(want)) {
    const inner = without(out[k], v);
    if (inner === undefined) Reflect.deleteProperty(out, k);
    else out[k] = inner;
  }
  return out;
}

const invalid = readdirSync(join(dir, 'invalid')).filter((f) => f.endsWith('.yaml')).sort();
const valid = readdirSync(join(dir, 'valid')).filter((f) => f.endsWith('.yaml')).sort();

test('fixtures exist', () => {
  assert.ok(invalid.length >= 20, `only ${invalid.length} invalid fixtures`);
  assert.ok(valid.length >= 5, `only ${valid.length} valid fixtures`);
});

test('invalid config fixtures are refused with path and line:column', async (t) => {
  for (const name of invalid) {
    await t.test(name, () => {
      const file = join(dir, 'invalid', name);
      const text = readFileSync(file, 'utf8');
      const want = firstLineValue(text, 'wantErr');
      assert.throws(
        () => parseConfig(text, file),
        (e: unknown) => {
          assert.ok(isBulwarkError(e, 'BULWARK_ERR_CONFIG'), `not a config error: ${String(e)}`);
          assert.ok(e.message.includes(`config ${file}${want}`), `message:\n${e.message}\nwanted to contain:\n${file}${want}`);
          return true;
        },
      );
    });
  }
});

test('valid fixtures parse, and merge over the defaults', async (t) => {
  for (const name of valid) {
    await t.test(name, () => {
      const file = join(dir, 'valid', name);
      const text = readFileSync(file, 'utf8');
      const want: unknown = JSON.parse(firstLineValue(text, 'expect'));
      const got = parseConfig(text, file);
      assertSubset(got, want);
      // Everything the fixture did not set is exactly the default (vars merge by name).
      const rest = without(got, want) as Record<string, unknown>;
      const defaults = without(defaultConfig(), want) as Record<string, unknown>;
      if (name === 'vars-merge.yaml') {
        const vars = got.databases.vars;
        for (const [k, v] of Object.entries(defaultConfig().databases.vars)) if (k !== 'HOME_NET') assert.equal(vars[k], v, k);
        Reflect.deleteProperty(rest, 'databases');
        Reflect.deleteProperty(defaults, 'databases');
      }
      assert.deepEqual(rest, defaults);
    });
  }
});

test('all errors are collected, not just the first', () => {
  const file = join(dir, 'invalid', 'several-errors.yaml');
  try {
    parseConfig(readFileSync(file, 'utf8'), file);
    assert.fail('accepted');
  } catch (e) {
    assert.ok(isBulwarkError(e, 'BULWARK_ERR_CONFIG'));
    const issues = e.details?.errors as ConfigIssue[];
    assert.deepEqual(
      issues.map((i) => `${i.line}:${i.column} ${i.path}`),
      ['2:1 colour', '4:13 engine.maxFlows', '6:10 log.level'],
    );
    assert.equal(e.message.split('\n').length, 3);
  }
});

test('relative database paths resolve against the config file directory', () => {
  const c = parseConfig('databases:\n  dir: db\n  rules: [extra/local.rules, /abs/x.rules]\n', '/etc/bulwark/bulwark.yaml');
  assert.equal(c.databases.dir, '/etc/bulwark/db');
  assert.deepEqual(c.databases.rules, ['/etc/bulwark/extra/local.rules', '/abs/x.rules']);
});

test('an empty or comment-only file is the defaults', () => {
  assert.deepEqual(parseConfig('', '/x.yaml'), defaultConfig());
  assert.deepEqual(parseConfig('# nothing\n', '/x.yaml'), defaultConfig());
});

test('defaults are not shared between parses', () => {
  const a = parseConfig('neverBlock: [203.0.113.1]\n', '/x.yaml');
  a.engine.maxFlows = 1;
  const b = parseConfig('', '/x.yaml');
  assert.equal(b.engine.maxFlows, defaultConfig().engine.maxFlows);
});

test('a hostile file produces a bounded number of issues', () => {
  const text = Array.from({ length: 500 }, (_v, i) => `k${i}: 1`).join('\n');
  try {
    parseConfig(text, '/x.yaml');
    assert.fail('accepted');
  } catch (e) {
    assert.ok(isBulwarkError(e, 'BULWARK_ERR_CONFIG'));
    assert.equal((e.details?.errors as unknown[]).length, 100);
  }
});

test('engine.appLayer.http body limits: Suricata request-body-limit / response-body-limit, bounded (no 0 = unlimited)', () => {
  const c = parseConfig('engine:\n  appLayer:\n    http:\n      responseBodyLimit: 1MiB\n', '/x.yaml');
  assert.deepEqual(c.engine.appLayer.http, { requestBodyLimit: 100 * 1024, responseBodyLimit: 1024 * 1024 });
  assert.equal(c.engine.appLayer.maxFlowMemory, defaultConfig().engine.appLayer.maxFlowMemory);
  assert.throws(() => parseConfig('engine:\n  appLayer:\n    http:\n      requestBodyLimit: 0\n', '/x.yaml'), /engine\.appLayer\.http\.requestBodyLimit/);
});
