/** docs/schema/database.schema.json names exactly the keys the YAML loader accepts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CONTENT_KEYS, DETECTOR_KEYS, SIG_KEYS } from '../../../src/signatures/yaml.js';

const schema = JSON.parse(readFileSync(new URL('../../../docs/schema/database.schema.json', import.meta.url), 'utf8')) as {
  properties: Record<string, unknown>;
  $defs: Record<string, { properties: Record<string, unknown> }>;
};
const keys = (o: Record<string, unknown>) => Object.keys(o).sort();

test('schema keys match the loader', () => {
  assert.deepEqual(keys(schema.properties), ['database', 'definitions', 'detectors', 'signatures']);
  assert.deepEqual(keys(schema.$defs.signature!.properties), [...SIG_KEYS].sort());
  assert.deepEqual(keys(schema.$defs.content!.properties), [...CONTENT_KEYS].sort());
  assert.deepEqual(keys(schema.$defs.detector!.properties), [...DETECTOR_KEYS].sort());
});
