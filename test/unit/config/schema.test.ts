import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { defaultConfig } from '../../../src/config/types.js';
import { CONFIG_SCHEMA, schemaPaths, cidrProblem, portListProblem, parseListen, type SchemaNode } from '../../../src/config/schema.js';
import { toJsonSchema } from '../../../src/config/json-schema.js';
import { renderExampleConfig } from '../../../src/config/example.js';
import { parseConfig } from '../../../src/config/parse.js';

const root = new URL('../../../', import.meta.url).pathname;

/** Leaf key paths of a plain value (objects recurse; lists and scalars are leaves). */
function valuePaths(v: unknown, prefix = ''): string[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return [prefix];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => valuePaths(x, prefix ? `${prefix}.${k}` : k));
}

function jsonSchemaHas(schema: Record<string, unknown>, path: string): boolean {
  let node: Record<string, unknown> = schema;
  for (const part of path.split('.')) {
    const props = node.properties as Record<string, Record<string, unknown>> | undefined;
    const next = props?.[part];
    if (!next) return false;
    node = next;
  }
  return true;
}

const defaultsPaths = valuePaths(defaultConfig()).filter((p) => !p.startsWith('databases.vars.'));

/** YAML path of a Config property path (durations: `blockDurationMs` is written `blockDuration`). */
const yamlPathOf = new Map(schemaPaths(CONFIG_SCHEMA, '', true).map((p, i) => [p, schemaPaths()[i]!]));

test('every key of defaultConfig() is in the parser schema', () => {
  const known = new Set(schemaPaths(CONFIG_SCHEMA, '', true).map((p) => p.replace(/\[\]\..*$/, '')));
  for (const p of defaultsPaths) assert.ok(known.has(p) || known.has(p.replace(/\.[^.]+$/, '')), `schema misses ${p}`);
});

test('every key of defaultConfig() is in docs/schema/config.schema.json, and the file is current', () => {
  const published = JSON.parse(readFileSync(`${root}docs/schema/config.schema.json`, 'utf8')) as Record<string, unknown>;
  for (const p of defaultsPaths) assert.ok(jsonSchemaHas(published, yamlPathOf.get(p) ?? p), `JSON schema misses ${p}`);
  assert.ok(jsonSchemaHas(published, 'control.group'));
  assert.deepEqual(published, toJsonSchema(), 'docs/schema/config.schema.json is stale: node bin/bulwark.js config schema > docs/schema/config.schema.json');
});

test('every schema key is documented in docs/configuration.md', () => {
  const doc = readFileSync(`${root}docs/configuration.md`, 'utf8');
  for (const p of schemaPaths()) assert.ok(doc.includes(`\`${p}\``), `docs/configuration.md does not document ${p}`);
});

test('the shipped example config is current and parses to the defaults', () => {
  const file = `${root}packaging/bulwark.yaml`;
  const text = readFileSync(file, 'utf8');
  assert.equal(text, renderExampleConfig(), 'packaging/bulwark.yaml is stale: node bin/bulwark.js config example > packaging/bulwark.yaml');
  assert.deepEqual(parseConfig(text, file), defaultConfig());
});

test('schema has no field without documentation', () => {
  const walk = (n: SchemaNode, p: string): void => {
    if (n.kind === 'object') {
      for (const [k, f] of Object.entries(n.fields)) {
        assert.ok(f.doc.length > 5, `${p}${k} undocumented`);
        walk(f.node, `${p}${k}.`);
      }
    } else if (n.kind === 'array') walk(n.items, p);
  };
  walk(CONFIG_SCHEMA, '');
});

test('value checks', () => {
  assert.equal(cidrProblem('198.51.100.0/24'), undefined);
  assert.equal(cidrProblem('2001:db8::/32'), undefined);
  assert.equal(cidrProblem('2001:db8::1'), undefined);
  assert.match(cidrProblem('2001:db8::/129') ?? '', /prefix/);
  assert.match(cidrProblem('example.org') ?? '', /not an IP/);
  assert.match(cidrProblem('10.0.0.0/') ?? '', /prefix/);
  assert.equal(portListProblem('any'), undefined);
  assert.equal(portListProblem('22, 8000-8010'), undefined);
  assert.ok(portListProblem('0') !== undefined);
  assert.ok(portListProblem('70000') !== undefined);
  assert.ok(portListProblem('22,') !== undefined);
  assert.deepEqual(parseListen('127.0.0.1:9747'), { host: '127.0.0.1', port: 9747 });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListen('localhost:80'), { host: 'localhost', port: 80 });
  assert.equal(parseListen('::1:80'), undefined);
  assert.equal(parseListen('127.0.0.1:65536'), undefined);
  assert.equal(parseListen('[nothex]:80'), undefined);
});

test('the commented sample entries of the example config are valid', async () => {
  const { SAMPLES } = await import('../../../src/config/example.js');
  const text = `management:\n${SAMPLES.management!.map((l) => `  ${l}`).join('\n')}\nisolation:\n  exclusions:\n${SAMPLES.exclusions!.map((l) => `    ${l}`).join('\n')}\n`;
  const c = parseConfig(text, '/x.yaml');
  assert.deepEqual(c.management, [{ address: '198.51.100.5', port: 443, description: 'management server' }]);
  assert.equal(c.isolation.exclusions[0]!.remoteAddress, '203.0.113.0/24');
  assert.equal(c.isolation.exclusions[0]!.direction, 'inbound');
});
