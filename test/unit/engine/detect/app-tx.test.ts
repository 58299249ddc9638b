/** AppTxDetector: content detection, parser feeding, one alert per signature per tx, release. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppTxDetector, type AppFeedContext } from '../../../../src/engine/detect/app-tx.js';
import { compileRuleset } from '../../../../src/signatures/compile.js';
import { defaultConfig } from '../../../../src/config/types.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const rs = compileRuleset(
  [{
    file: 't.rules',
    text: [
      'alert http any any -> any any (msg:"uri"; flow:to_server; http.uri; content:"/admin"; sid:1;)',
      'alert http any any -> any any (msg:"status"; http.stat_code; content:"500"; sid:2;)',
      'alert tcp any any -> any 80 (msg:"raw"; content:"GET"; sid:3;)',
    ].join('\n'),
  }],
  { vars: defaultConfig().databases.vars },
);

function ctx(fired: [number, number, string][]): AppFeedContext {
  return {
    verify: { flowbits: new Set() },
    fire: (si, tx, proto, dir) => fired.push([rs.signatures[si]!.id, tx.id, `${proto.name}:${dir}`]),
  };
}

test('HTTP on any port: detected by content, one alert per signature per tx, txs released', () => {
  const d = new AppTxDetector(rs);
  assert.equal(d.active, true);
  const f = d.newFlow(8081, 40000);
  const fired: [number, number, string][] = [];
  const req = b('GET /admin HTTP/1.1\r\nHost: a\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n');
  // split inside the method: probing needs more, then detects
  d.data(f, 'to_server', req, 0, 2, 0, ctx(fired));
  assert.equal(f.state, 'probing');
  d.data(f, 'to_server', req, 2, req.length - 2, 0, ctx(fired));
  assert.equal(f.state, 'parsing');
  assert.deepEqual(fired, [[1, 0, 'http:to_server'], [1, 1, 'http:to_server']]);
  const res = b('HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  d.data(f, 'to_client', res, 0, res.length, 0, ctx(fired));
  assert.deepEqual(fired.slice(2), [[2, 0, 'http:to_client']]);
  // re-feeding nothing new alerts nothing again; both txs completed and were released
  assert.equal([...f.parser!.txs()].length, 0);
  assert.equal(f.alerted.size, 0);
  assert.equal(d.counters.flowsByProto.http, 1);
});

test('not HTTP: probing gives up, nothing parsed; raw tcp signatures are not the app path', () => {
  const d = new AppTxDetector(rs);
  const f = d.newFlow(80, 40000);
  const fired: [number, number, string][] = [];
  const tls = b('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03');
  d.data(f, 'to_server', tls, 0, tls.length, 0, ctx(fired));
  // the server side may still identify HTTP (a response first): undecided until it speaks
  assert.equal(f.state, 'probing');
  const hello = b('\x16\x03\x03\x00\x31\x02');
  d.data(f, 'to_client', hello, 0, hello.length, 0, ctx(fired));
  assert.equal(f.state, 'none');
  assert.equal(d.counters.undetected, 1);
  d.data(f, 'to_server', b('GET / HTTP/1.1\r\n\r\n'), 0, 18, 0, ctx(fired));
  assert.deepEqual(fired, []);
});

test('a response body delimited by the close is inspected at the end of the direction', () => {
  const r2 = compileRuleset([{ file: 't.rules', text: 'alert http any any -> any any (file.data; content:"secret"; sid:9;)' }], { vars: defaultConfig().databases.vars });
  const d = new AppTxDetector(r2);
  const f = d.newFlow(80, 40000);
  const fired: [number, number, string][] = [];
  const c: AppFeedContext = { verify: { flowbits: new Set() }, fire: (si, tx) => fired.push([r2.signatures[si]!.id, tx.id, '']) };
  const req = b('GET / HTTP/1.0\r\n\r\n');
  d.data(f, 'to_server', req, 0, req.length, 0, c);
  const res = b('HTTP/1.0 200 OK\r\n\r\nthe secret');
  d.data(f, 'to_client', res, 0, res.length, 0, c);
  d.end(f, 'to_client', 0, c);
  assert.deepEqual(fired, [[9, 0, '']]);
});
