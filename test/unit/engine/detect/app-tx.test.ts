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
  d.data(f, 'to_server', req, 0, 2, 0, 0, ctx(fired));
  assert.equal(f.state, 'probing');
  d.data(f, 'to_server', req, 2, req.length - 2, 2, 0, ctx(fired));
  assert.equal(f.state, 'parsing');
  assert.deepEqual(fired, [[1, 0, 'http:to_server'], [1, 1, 'http:to_server']]);
  const res = b('HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  d.data(f, 'to_client', res, 0, res.length, 0, 0, ctx(fired));
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
  // bytes no registered protocol claims (HTTP, TLS, SSH, SMB, DCERPC... are registered)
  const junk = b('\x07\x07\x07\x07zz\x00\x01\x02\x03\x04');
  d.data(f, 'to_server', junk, 0, junk.length, 0, 0, ctx(fired));
  // the server side may still identify HTTP (a response first): undecided until it speaks
  assert.equal(f.state, 'probing');
  const reply = b('\x07\x07\x07\x07\x01');
  d.data(f, 'to_client', reply, 0, reply.length, 0, 0, ctx(fired));
  assert.equal(f.state, 'none');
  assert.equal(d.counters.undetected, 1);
  d.data(f, 'to_server', b('GET / HTTP/1.1\r\n\r\n'), 0, 18, junk.length, 0, ctx(fired));
  assert.deepEqual(fired, []);
});

test('a response body delimited by the close is inspected at the end of the direction', () => {
  const r2 = compileRuleset([{ file: 't.rules', text: 'alert http any any -> any any (file.data; content:"secret"; sid:9;)' }], { vars: defaultConfig().databases.vars });
  const d = new AppTxDetector(r2);
  const f = d.newFlow(80, 40000);
  const fired: [number, number, string][] = [];
  const c: AppFeedContext = { verify: { flowbits: new Set() }, fire: (si, tx) => fired.push([r2.signatures[si]!.id, tx.id, '']) };
  const req = b('GET / HTTP/1.0\r\n\r\n');
  d.data(f, 'to_server', req, 0, req.length, 0, 0, c);
  const res = b('HTTP/1.0 200 OK\r\n\r\nthe secret');
  d.data(f, 'to_client', res, 0, res.length, 0, 0, c);
  d.end(f, 'to_client', 0, c);
  assert.deepEqual(fired, [[9, 0, '']]);
});

test('a body growing over many chunks: the prefilter finds a pattern split across chunks, one alert', () => {
  const r2 = compileRuleset([{ file: 't.rules', text: 'alert http any any -> any any (file.data; content:"needle-in-the-body"; sid:9;)' }], { vars: defaultConfig().databases.vars });
  const d = new AppTxDetector(r2);
  const f = d.newFlow(80, 40000);
  const fired: number[] = [];
  const c: AppFeedContext = { verify: { flowbits: new Set() }, fire: (si) => fired.push(r2.signatures[si]!.id) };
  const req = b('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  d.data(f, 'to_server', req, 0, req.length, 0, 0, c);
  // no Content-Length and HTTP/1.0 semantics: the body grows until the close, chunk by chunk
  const body = 'x'.repeat(3000) + 'needle-in-the-body' + 'y'.repeat(3000);
  const res = b('HTTP/1.0 200 OK\r\n\r\n' + body);
  let at = 0;
  for (const n of [19, 1000, 1000, 1009, 5, 4, 1500, 1500]) {
    d.data(f, 'to_client', res, at, Math.min(n, res.length - at), at, 0, c);
    at += n;
  }
  assert.ok(at >= res.length);
  assert.deepEqual(fired, [9]);
  d.end(f, 'to_client', 0, c);
  assert.deepEqual(fired, [9]);
  // the body was scanned incrementally: the cache of the tx direction covers the whole body
  assert.equal(f.pfCache.size, 0); // tx released at the end with its cache
});

test('raw content in an alert http rule: prefiltered on the stream, its own direction, once per flow', () => {
  const r2 = compileRuleset(
    [{
      file: 't.rules',
      text: [
        'alert http any any -> any any (msg:"raw req"; flow:to_server; content:"evil-token"; sid:11;)',
        'alert http any any -> any any (msg:"raw res"; flow:to_client; content:"leaked-data"; sid:12;)',
      ].join('\n'),
    }],
    { vars: defaultConfig().databases.vars },
  );
  assert.equal(r2.app?.always.size, 0); // not verified on every tx: on the raw-stream prefilter
  const raw = r2.app.rawStream;
  assert.ok(raw);
  assert.equal(raw.to_server.patterns.length, 1);
  const d = new AppTxDetector(r2);
  const f = d.newFlow(80, 40000);
  const fired: [number, number][] = [];
  const alerted = new Set<number>();
  const streams = { to_server: [] as number[], to_client: [] as number[] };
  const c: AppFeedContext = {
    verify: { flowbits: new Set() },
    streamOf: (dir) => ({ buf: new Uint8Array(streams[dir]), len: streams[dir].length }),
    flowAlerted: (si) => alerted.has(si),
    fire: (si, tx) => {
      alerted.add(si);
      fired.push([r2.signatures[si]!.id, tx.id]);
    },
  };
  const feed = (dir: 'to_server' | 'to_client', s: string): void => {
    const at = streams[dir].length;
    const bytes = b(s);
    streams[dir].push(...bytes);
    d.data(f, dir, bytes, 0, bytes.length, at, 0, c);
  };
  feed('to_server', 'GET /a?q=evil-token HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.deepEqual(fired, [[11, 0]]);
  // a second request: the same stream bytes would match again, but a stream match alerts once per flow
  feed('to_server', 'GET /b HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.deepEqual(fired, [[11, 0]]);
  // the response side is verified against the response stream only (the request stream holds no "leaked-data")
  feed('to_client', 'HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nleaked-data');
  assert.deepEqual(fired, [[11, 0], [12, 0]]);
});
