/**
 * Raw-stream app signatures (`alert smtp … content:"QUIT"`) still see stream bytes that come
 * after the flow's last tx was complete and released (an SMTP QUIT opens no tx, Suricata 8.0.7).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppTxDetector } from '../../../../src/engine/detect/app-tx.js';
import type { AppFeedContext } from '../../../../src/engine/detect/types.js';
import { compileRuleset } from '../../../../src/signatures/compile.js';
import { defaultConfig } from '../../../../src/config/types.js';
import type { AppDirection } from '../../../../src/engine/app-layer/types.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

test('smtp: QUIT after a released mail transaction is seen by a raw-stream smtp rule, once', () => {
  const rules = [
    'alert smtp any any -> any any (msg:"quit"; flow:to_server; content:"QUIT"; sid:1;)',
    'alert smtp any any -> any any (msg:"never"; flow:to_server; content:"NOT-THERE"; sid:2;)',
  ];
  const rs = compileRuleset([{ file: 't.rules', text: rules.join('\n') }], { vars: defaultConfig().databases.vars });
  assert.equal(rs.signatures.length, 2);
  const d = new AppTxDetector(rs);
  const f = d.newFlow(25, 40000, '198.51.100.7', '203.0.113.2');
  const fired: { sid: number; tx: number }[] = [];
  const at = { to_server: 0, to_client: 0 };
  // The retained raw stream of each direction, as the engine's stream stage gives it.
  const streams = { to_server: new Uint8Array(0), to_client: new Uint8Array(0) };
  const ctx: AppFeedContext = {
    verify: { flowbits: new Set() },
    streamOf: (dir) => ({ buf: streams[dir], len: streams[dir].length }),
    // the engine's per-flow alert memory
    flowAlerted: (si) => fired.some((x) => x.sid === rs.signatures[si]!.id),
    fire: (si, tx) => fired.push({ sid: rs.signatures[si]!.id, tx: tx.id }),
  };
  const feed = (dir: AppDirection, s: string): void => {
    const data = b(s);
    streams[dir] = new Uint8Array([...streams[dir], ...data]);
    d.data(f, dir, data, 0, data.length, at[dir], 0, ctx);
    at[dir] += data.length;
  };
  feed('to_client', '220 mx ESMTP\r\n');
  feed('to_server', 'EHLO c\r\n');
  feed('to_client', '250 mx\r\n');
  feed('to_server', 'MAIL FROM:<a@b>\r\n');
  feed('to_client', '250 ok\r\n');
  feed('to_server', 'DATA\r\n');
  feed('to_client', '354 go\r\n');
  feed('to_server', 'Subject: x\r\n\r\nbody\r\n.\r\n');
  feed('to_client', '250 queued\r\n');
  assert.equal([...f.parser!.txs()].length, 0, 'the mail tx is released');
  assert.deepEqual(fired, []);
  feed('to_server', 'QUIT\r\n');
  assert.deepEqual(fired, [{ sid: 1, tx: 0 }]);
  feed('to_client', '221 bye\r\n');
  feed('to_server', 'NOOP\r\n');
  assert.deepEqual(fired, [{ sid: 1, tx: 0 }], 'once per flow');
});
