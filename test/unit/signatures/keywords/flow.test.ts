import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlowKeyword } from '../../../../src/signatures/keywords/flow.js';
import { Unsupported } from '../../../../src/signatures/options.js';

test('flow keyword: direction aliases, state and stream selection; a later setting of a kind wins', () => {
  assert.deepEqual(parseFlowKeyword('to_server,established'), { dir: 'to_server', established: true });
  assert.deepEqual(parseFlowKeyword('from_server, not_established'), { dir: 'to_client', established: false });
  assert.deepEqual(parseFlowKeyword('from_client,only_stream'), { dir: 'to_server', stream: 'only' });
  assert.deepEqual(parseFlowKeyword('stateless,no_stream'), { stream: 'no' });
  assert.deepEqual(parseFlowKeyword('to_server,to_client'), { dir: 'to_client' });
});

test('flow keyword: an option Suricata has and bulwark does not is refused with its name', () => {
  assert.throws(() => parseFlowKeyword('established,only_frag'), (e: unknown) => e instanceof Unsupported && e.reason === 'flow only_frag');
});
