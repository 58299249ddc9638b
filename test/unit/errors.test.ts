import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BulwarkError, isBulwarkError } from '../../src/errors.js';

test('BulwarkError keeps code, cause and details', () => {
  const cause = new Error('inner');
  const e = new BulwarkError('BULWARK_ERR_CONFIG', 'load config x.yaml:3: bad', { cause, details: { line: 3 } });
  assert.equal(e.code, 'BULWARK_ERR_CONFIG');
  assert.equal(e.cause, cause);
  assert.deepEqual(e.details, { line: 3 });
  assert.ok(isBulwarkError(e, 'BULWARK_ERR_CONFIG'));
  assert.ok(!isBulwarkError(e, 'BULWARK_ERR_NFT'));
  assert.ok(!isBulwarkError(new Error('x')));
});
