/** EVE dcerpc object: a REQUEST names the interface bound to its context id (Suricata 8.0.5+). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DcerpcParser } from '../../../../../src/engine/app-layer/dcerpc/parser.js';
import { dcerpcEve } from '../../../../../src/engine/app-layer/dcerpc/eve.js';
import { dceBind, dceBindAck, dceRequest } from '../smb/build.js';

test('a request logs the interface of its context id; one on an unbound context logs none', () => {
  const p = new DcerpcParser();
  const feed = (dir: 'to_server' | 'to_client', b: Uint8Array): void => {
    p.feed(dir, b, 0, b.length);
  };
  feed('to_server', dceBind(1, [
    { uuid: '00020400-0000-0000-c000-000000000046', ver: 0, ctxid: 0 },
    { uuid: '4b324fc8-1670-01d3-1278-5a47bf6ee188', ver: 3, ctxid: 1 },
  ]));
  feed('to_client', dceBindAck(1, [0, 0]));
  feed('to_server', dceRequest(2, 1, 6, new Uint8Array(8)));
  feed('to_server', dceRequest(3, 7, 6, new Uint8Array(8)));
  const reqs = p.calls().filter((c) => c.callId !== 1).map((c) => dcerpcEve(c));
  assert.deepEqual(reqs[0]?.interfaces, [{ uuid: '4b324fc8-1670-01d3-1278-5a47bf6ee188', version: '3.0', ack_result: 0 }]);
  assert.equal(reqs[1]?.interfaces, undefined);
});
