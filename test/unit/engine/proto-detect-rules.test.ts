import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Conv, feed, makeEngine, rules } from './helpers.js';

// Suricata's protocol-detection-only rules (header + app-layer-protocol, SIG_TYPE_PDONLY) match
// on the packet that carries the end of a direction's protocol detection: in IDS mode the first
// packet of that direction after detection (PKT_PROTO_DETECT_TS/TC_DONE).

function http(): Conv {
  return new Conv('198.51.100.10', '198.51.100.11', 40100, 80)
    .handshake() // 1-3
    .c('GET / HTTP/1.1\r\nHost: a\r\n\r\n') // 4: to_server detection ends here
    .s('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n') // 5: to_client detection ends here
    .c('GET /2 HTTP/1.1\r\nHost: a\r\n\r\n') // 6: first to_server packet after it
    .s('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'); // 7: first to_client packet after it
}

test('loaded as a per-packet header rule; a negated protocol (it would match failed detection) stays skipped', () => {
  const r = rules(`alert tcp any any -> any any (app-layer-protocol:http; sid:1;)
alert tcp any any -> any any (app-layer-protocol:!http; sid:2;)
`);
  assert.deepEqual(r.signatures.map((s) => [s.id, s.headerOnly]), [[1, 'packet']]);
  assert.equal(r.app?.protoDetect, true);
  assert.ok(Object.keys(r.stats.skipped).some((k) => /no payload/.test(k)));
});

test('matches once per direction, on the first packet of the direction after its detection', () => {
  const { engine, detections } = makeEngine(rules(`alert tcp any any -> any any (app-layer-protocol:http; sid:1;)
alert tcp any any -> any any (flow:to_server; app-layer-protocol:http; sid:2;)
alert tcp any any -> any any (app-layer-protocol:tls; sid:3;)
`));
  feed(engine, http().frames);
  engine.flush();
  assert.deepEqual(detections.map((d) => [d.signatureId, d.pcapCnt]).sort(), [[1, 6], [1, 7], [2, 6]]);
});

test('a flow whose only data goes one way: one match, on the next packet of that direction (its FIN)', () => {
  const { engine, detections } = makeEngine(rules(`alert tcp any any -> any any (app-layer-protocol:http; sid:1;)
`));
  const c = new Conv('198.51.100.10', '198.51.100.11', 40100, 80).handshake().c('GET / HTTP/1.1\r\nHost: a\r\n\r\n').fin();
  feed(engine, c.frames);
  engine.flush();
  assert.deepEqual(detections.map((d) => [d.signatureId, d.pcapCnt]), [[1, 5]]);
});
