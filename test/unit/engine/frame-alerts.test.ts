/** `frame:` rules through the engine: the EVE `frame` object, and the tx metadata of tx-bound frames. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toAlertEvent } from '../../../src/engine/events.js';
import { Conv, feed, makeEngine, rules } from './helpers.js';

test('an SSH record frame alert carries the frame object, the tx id and the ssh object', () => {
  const { engine, detections } = makeEngine(rules([
    'alert ssh any any -> any 22 (msg:"hdr frame new keys"; frame:ssh.record.hdr; content:"|15|"; endswith; bsize:6; sid:2;)',
    'alert ssh any any -> any 22 (msg:"pdu frame"; frame:ssh.record.pdu; content:"|1e|"; offset:5; depth:1; sid:1;)',
  ].join('\n'), [22]));
  const banner = 'SSH-2.0-libssh-0.7.2\r\n';
  const kex = new Uint8Array([0, 0, 0, 12, 4, 30, 1, 2, 3, 4, 5, 6, 0, 0, 0, 0]);
  const newkeys = new Uint8Array([0, 0, 0, 12, 10, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const c = new Conv('198.51.100.10', '203.0.113.20', 40001, 22).handshake()
    .s('SSH-2.0-OpenSSH_7.4\r\n')
    .c(banner)
    .c(kex)
    .c(newkeys);
  feed(engine, c.frames);
  assert.deepEqual(detections.map((d) => d.signatureId), [1, 2]);
  const ev = toAlertEvent(detections[1]!, { action: 'allowed', count: 1, eventId: 'x' });
  assert.deepEqual(ev.frame, {
    type: 'record.hdr', id: 5, direction: 'toserver', stream_offset: banner.length + kex.length, length: 6, complete: true,
    payload: Buffer.from(newkeys.subarray(0, 6)).toString('base64'), payload_printable: '....\n.', tx_id: 0,
  });
  assert.equal(ev.tx_id, 0);
  assert.equal(ev.app_proto, 'ssh');
  assert.equal((ev.ssh as { client?: { software_version?: string } } | undefined)?.client?.software_version, 'libssh-0.7.2');
});

test('a frame whose bytes never all came is inspected on what there is when the flow ends', () => {
  const { engine, detections } = makeEngine(rules('alert tls any any -> any any (flow:to_client; frame:tls.pdu; content:"|17 03 03|"; startswith; sid:7;)', [443]));
  const c = new Conv('198.51.100.10', '203.0.113.20', 40002, 443).handshake()
    .c(new Uint8Array([22, 3, 1, 0, 4, 1, 0, 0, 0]))
    .s(new Uint8Array([22, 3, 3, 0, 4, 2, 0, 0, 0]))
    // an application data record announcing 10 bytes, 3 of which arrive
    .s(new Uint8Array([23, 3, 3, 0, 10, 1, 2, 3]));
  feed(engine, c.frames);
  assert.equal(detections.length, 0, 'incomplete: still waiting');
  engine.flush();
  assert.equal(detections.length, 1);
  const ev = toAlertEvent(detections[0]!, { action: 'allowed', count: 1, eventId: 'x' });
  assert.ok(ev.frame !== undefined);
  assert.equal(ev.frame.length, 15);
  assert.equal(ev.frame.complete, false);
  assert.equal(ev.frame.payload, Buffer.from([23, 3, 3, 0, 10, 1, 2, 3]).toString('base64'));
});
