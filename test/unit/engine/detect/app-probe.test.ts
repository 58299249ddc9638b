/** Protocol detection while a flow probes (AppTxDetector.probe): held bytes are the detector's own copies. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppTxDetector } from '../../../../src/engine/detect/app-tx.js';
import type { AppFeedContext } from '../../../../src/engine/detect/types.js';
import { compileRuleset } from '../../../../src/signatures/compile.js';
import { defaultConfig } from '../../../../src/config/types.js';

const rs = compileRuleset(
  [{ file: 't.rules', text: 'alert http any any -> any any (msg:"uri"; flow:to_server; http.uri; content:"/admin"; sid:1;)' }],
  { vars: defaultConfig().databases.vars },
);

function ctx(fired: number[]): AppFeedContext {
  return { verify: { flowbits: new Set() }, fire: (si) => fired.push(rs.signatures[si]!.id) };
}

test('bytes held while probing are copies: a caller reusing its buffer (capture, file reader) does not change them', () => {
  const d = new AppTxDetector(rs);
  const f = d.newFlow(8081, 40000);
  const fired: number[] = [];
  // one reused read buffer, as the pcap reader's chunk: "GE" is not enough to detect HTTP
  const cap = Buffer.alloc(64);
  cap.write('GE', 10, 'latin1');
  d.data(f, 'to_server', cap, 10, 2, 0, 0, ctx(fired));
  assert.equal(f.state, 'probing');
  cap.fill(0x58);
  const rest = Buffer.from('T /admin HTTP/1.1\r\nHost: a\r\n\r\n', 'latin1');
  d.data(f, 'to_server', rest, 0, rest.length, 2, 0, ctx(fired));
  assert.equal(f.state, 'parsing');
  assert.equal(f.proto?.name, 'http');
  assert.deepEqual(fired, [1]);
});
