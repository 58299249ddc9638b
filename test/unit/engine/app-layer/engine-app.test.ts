/** The engine's app-layer call site: HTTP detected on any port, app signatures on transactions, EVE fields. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { compileRuleset } from '../../../../src/signatures/compile.js';
import { defaultConfig } from '../../../../src/config/types.js';
import { toAlertEvent } from '../../../../src/engine/events.js';
import { Conv, feed, makeEngine } from '../helpers.js';

function appRules(text: string): ReturnType<typeof compileRuleset> {
  return compileRuleset([{ file: 't.rules', text }], { vars: defaultConfig().databases.vars });
}

test('alert http on a non-HTTP port: detected by content, alert once per tx with app_proto, tx_id and the http object', async () => {
  const rs = appRules('alert http any any -> any any (msg:"admin uri"; flow:to_server; http.uri; content:"/admin/../secret"; sid:10;)\nalert http any any -> any any (msg:"uri normalised"; http.uri; content:"/secret"; sid:11;)');
  const registry = new Registry();
  const { engine, detections } = makeEngine(rs, { registry, pcapCount: true });
  const c = new Conv('198.51.100.9', '203.0.113.5', 41000, 8081).handshake();
  c.c('GET /admin/%2e%2e/secret HTTP/1.1\r\nHost: Example.ORG\r\nUser-Agent: t\r\n\r\n');
  c.s('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  c.c('GET /x/../secret HTTP/1.1\r\nHost: example.org\r\n\r\n');
  c.fin();
  feed(engine, c.frames);
  const got = detections.map((d) => [d.signatureId, d.txId, d.appProto]);
  // sid 10 needs the raw "/admin/../secret": the normalised uri is "/secret" (libhtp), so only sid 11 fires, once per tx.
  assert.deepEqual(got, [
    [11, 0, 'http'],
    [11, 1, 'http'],
  ]);
  const d0 = detections[0]!;
  assert.equal(d0.destPort, 8081);
  assert.equal((d0.appEve as { url?: string }).url, '/admin/%2e%2e/secret', 'EVE url is the raw request uri, as Suricata logs it');
  assert.equal((d0.appEve as { hostname?: string }).hostname, 'example.org');
  assert.equal(d0.pcapCnt, 4, 'pcap_cnt: the request is the 4th packet');
  const ev = toAlertEvent(d0, { action: 'allowed', eventId: 'e', count: 1 });
  assert.equal(ev.app_proto, 'http');
  assert.equal(ev.tx_id, 0);
  assert.equal(ev.pcap_cnt, 4);
  assert.equal((ev.http as { http_method?: string }).http_method, 'GET');
  const st = engine.stats();
  assert.equal(st.appLayer.flowsByProto.http, 1);
  const m = await registry.getSingleMetricAsString('bulwark_applayer_flows_total');
  assert.match(m, /bulwark_applayer_flows_total\{app_proto="http"\} 1/);
});

test('not HTTP: probing gives up (counted as unknown), raw tcp rules still match', () => {
  const rs = appRules('alert http any any -> any any (http.uri; content:"/x"; sid:20;)\nalert tcp any any -> any 9000 (content:"SSH-2.0"; sid:21;)');
  const { engine, detections } = makeEngine(rs);
  const c = new Conv('198.51.100.9', '203.0.113.5', 41001, 9000).handshake();
  c.s('SSH-2.0-OpenSSH_9.6\r\n');
  c.c('SSH-2.0-client /x\r\n');
  c.fin();
  feed(engine, c.frames);
  assert.deepEqual(detections.map((d) => [d.signatureId, d.appProto]), [[21, undefined]]);
  assert.equal(engine.stats().appLayer.undetected, 1);
});

test('app-layer memory: a per-flow limit stops parsing that flow and is counted', () => {
  const rs = appRules('alert http any any -> any any (http.uri; content:"/never"; sid:30;)');
  const { engine } = makeEngine(rs, { appLayer: { maxFlowMemory: 8 * 1024 } });
  const c = new Conv('198.51.100.9', '203.0.113.5', 41002, 80).handshake();
  // Request headers that never end: the parser holds them (bounded by its own limits too).
  c.c('GET /a HTTP/1.1\r\nX-Long: ' + 'a'.repeat(1400));
  for (let i = 0; i < 40; i++) c.c('b'.repeat(1400));
  feed(engine, c.frames);
  const st = engine.stats().appLayer;
  assert.equal(st.flowsByProto.http, 1);
  assert.equal(st.limits.flow, 1, 'the flow went over its 8 KiB parser budget once');
  assert.equal(st.memoryBytes, 0, 'its parser memory was released');
});
