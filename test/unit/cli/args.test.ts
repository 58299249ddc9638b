import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from '../../../src/cli/args.js';
import { formatBytes, formatDuration, printJson, printKeyValues, printTable } from '../../../src/cli/output.js';
import { isBulwarkError } from '../../../src/errors.js';
import { sink } from './sink.js';

test('flags with values, booleans, repeatable flags, short aliases, positionals, --', () => {
  const r = parseArgs(['198.51.100.7', '--for', '2h', '--force', '--exclude=a', '-x', 'b', '--', '--not-a-flag'], {
    flags: { for: 'string', force: 'boolean', exclude: 'strings', quiet: 'boolean', reason: 'string' },
    short: { x: 'exclude' },
  });
  assert.deepEqual(r.flags, { for: '2h', force: true, exclude: ['a', 'b'], quiet: false, reason: undefined });
  assert.deepEqual(r.positionals, ['198.51.100.7', '--not-a-flag']);
});

test('usage errors: unknown flag, missing value, value on a boolean, repeated string, positional bounds', () => {
  const usage = (args: string[], msg: RegExp): void => {
    assert.throws(
      () => parseArgs(args, { flags: { for: 'string', force: 'boolean' }, minPositionals: 1, maxPositionals: 1, command: 'block' }),
      (e: unknown) => isBulwarkError(e, 'BULWARK_ERR_USAGE') && msg.test(e.message) && e.message.includes('`bulwark block --help`'),
    );
  };
  usage(['x', '--nope'], /unknown flag --nope/);
  usage(['x', '-q'], /unknown flag -q/);
  usage(['x', '--for'], /--for needs a value/);
  usage(['x', '--force=yes'], /takes no value/);
  usage(['x', '--for', '1h', '--for', '2h'], /given twice/);
  usage([], /missing argument/);
  usage(['x', 'y'], /unexpected argument y/);
  assert.equal(parseArgs(['-'], {}).positionals[0], '-');
});


test('output helpers', () => {
  const t = sink();
  printTable(t, ['ADDRESS', 'REASON'], [['198.51.100.7', 'scan'], ['2001:db8::1', null]]);
  assert.equal(t.text(), 'ADDRESS       REASON\n198.51.100.7  scan\n2001:db8::1   -\n');
  const j = sink();
  printJson(j, { a: 1n, b: [1] });
  assert.deepEqual(JSON.parse(j.text()), { a: '1', b: [1] });
  const k = sink();
  printKeyValues(k, [['a', 1], ['long key', { x: 1 }]]);
  assert.equal(k.text(), 'a:        1\nlong key: {"x":1}\n');
  assert.equal(formatDuration(3_723_000), '1h2m3s');
  assert.equal(formatDuration(90_061_000), '1d1h1m1s');
  assert.equal(formatDuration(250), '250ms');
  assert.equal(formatDuration(0), '0ms');
  assert.equal(formatBytes(1536), '1.5KiB');
  assert.equal(formatBytes(12), '12B');
});
