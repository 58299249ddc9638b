/** Frames: `frame:` rules run on the frames parsers report, once each frame's bytes are all in the stream. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppTxDetector } from '../../../../src/engine/detect/app-tx.js';
import type { AppFeedContext } from '../../../../src/engine/detect/types.js';
import { compileRuleset } from '../../../../src/signatures/compile.js';
import { defaultConfig } from '../../../../src/config/types.js';
import type { AlertFrame } from '../../../../src/engine/types.js';

const rs = compileRuleset(
  [{
    file: 't.rules',
    text: [
      'alert tls any any -> any any (flow:to_client; frame:tls.pdu; content:"|17 03 03|"; startswith; sid:1;)',
      'alert tls any any -> any any (flow:to_client; frame:tls.hdr; content:"|17 03 03 00 04|"; bsize:5; sid:2;)',
      'alert tls any any -> any any (flow:to_client; frame:tls.data; content:"ABCD"; startswith; endswith; sid:3;)',
    ].join('\n'),
  }],
  { vars: defaultConfig().databases.vars },
);

/** A feed context over one growing stream per direction, as the engine retains it. */
function harness(): { ctx: AppFeedContext; fired: [number, AlertFrame][]; push(dir: 'to_server' | 'to_client', b: Uint8Array): number } {
  const streams = { to_server: new Uint8Array(0), to_client: new Uint8Array(0) };
  const fired: [number, AlertFrame][] = [];
  const ctx: AppFeedContext = {
    verify: { flowbits: new Set() },
    streamOf: (dir) => ({ buf: streams[dir], len: streams[dir].length }),
    fire: () => undefined,
    fireFrame: (si, frame) => fired.push([rs.signatures[si]!.id, frame]),
  };
  return {
    ctx,
    fired,
    push(dir, b) {
      const at = streams[dir].length;
      const n = new Uint8Array(at + b.length);
      n.set(streams[dir]);
      n.set(b, at);
      streams[dir] = n;
      return at;
    },
  };
}

const hello = (): Uint8Array => {
  // a ServerHello-shaped handshake record (type 22), then application data
  const body = new Uint8Array([2, 0, 0, 0]);
  return new Uint8Array([22, 3, 3, 0, body.length, ...body]);
};

test('TLS frames: the record, header and body frames are inspected once complete, split over feeds', () => {
  const d = new AppTxDetector(rs);
  assert.equal(d.active, true, 'a ruleset with only frame rules is active');
  const f = d.newFlow(443, 40000);
  const h = harness();
  const ch = new Uint8Array([22, 3, 1, 0, 4, 1, 0, 0, 0]);
  let at = h.push('to_server', ch);
  d.data(f, 'to_server', ch, 0, ch.length, at, 0, h.ctx);
  assert.equal(f.proto?.name, 'tls');
  const sh = hello();
  at = h.push('to_client', sh);
  d.data(f, 'to_client', sh, 0, sh.length, at, 0, h.ctx);
  assert.equal(h.fired.length, 0, 'a handshake record is no 17 03 03 frame');
  const app = new Uint8Array([23, 3, 3, 0, 4, 0x41, 0x42, 0x43, 0x44]);
  // the header arrives first: nothing is inspected until the frame's bytes are all there
  at = h.push('to_client', app.subarray(0, 6));
  d.data(f, 'to_client', app, 0, 6, at, 0, h.ctx);
  assert.deepEqual(h.fired.map(([sid]) => sid), [2], 'the 5-byte header frame is complete');
  at = h.push('to_client', app.subarray(6));
  d.data(f, 'to_client', app, 6, app.length - 6, at, 0, h.ctx);
  assert.deepEqual(h.fired.map(([sid]) => sid).sort(), [1, 2, 3]);
  const pdu = h.fired.find(([sid]) => sid === 1)![1];
  assert.deepEqual({ ...pdu, payload: [...pdu.payload] }, {
    type: 'pdu', id: 4, direction: 'toclient', streamOffset: sh.length, length: 9, complete: true, payload: [...app],
  });
  const data = h.fired.find(([sid]) => sid === 3)![1];
  assert.equal(data.streamOffset, sh.length + 5);
  // nothing is inspected twice
  const more = new Uint8Array([23, 3, 3, 0, 1, 0x5a]);
  at = h.push('to_client', more);
  d.data(f, 'to_client', more, 0, more.length, at, 0, h.ctx);
  assert.deepEqual(h.fired.map(([sid]) => sid).sort(), [1, 1, 2, 3]);
  assert.equal(d.counters.frames.inspected, 9);
});

test('frames of types no rule inspects are not kept; a flow without frame rules records none', () => {
  const plain = compileRuleset([{ file: 'p.rules', text: 'alert tls any any -> any any (tls.sni; content:"x"; sid:9;)' }], { vars: defaultConfig().databases.vars });
  const d = new AppTxDetector(plain);
  const f = d.newFlow(443, 40000);
  const h = harness();
  const ch = new Uint8Array([22, 3, 1, 0, 4, 1, 0, 0, 0]);
  d.data(f, 'to_server', ch, 0, ch.length, h.push('to_server', ch), 0, h.ctx);
  assert.equal(f.frames, null);
  assert.equal(d.counters.frames.inspected, 0);
});
