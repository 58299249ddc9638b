/** httpProtocol: the HTTP parser behind the generic AppProtocol contract, and `urilen`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpProtocol, tunnelChangeTarget, URILEN, type UrilenValue } from '../../../../../src/engine/app-layer/http/protocol.js';
import { APP_PROTOCOLS, appProtocolForRule, findAppBuffer, findAppKeyword } from '../../../../../src/engine/app-layer/registry.js';
import type { AppTx } from '../../../../../src/engine/app-layer/types.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const s = (x: Uint8Array | null): string | null => (x === null ? null : Buffer.from(x).toString('latin1'));

function flow(req: string, res?: string): AppTx[] {
  const p = httpProtocol.create({ serverPort: 80, clientPort: 40000 });
  const d = b(req);
  p.feed('to_server', d, 0, d.length, 1_000_000);
  if (res !== undefined) {
    const r = b(res);
    p.feed('to_client', r, 0, r.length, 2_000_000);
  }
  return [...p.txs()];
}

test('registry: http is registered and found by rule protocol, buffer alias and keyword', () => {
  assert.ok(APP_PROTOCOLS.includes(httpProtocol));
  assert.equal(appProtocolForRule('http'), httpProtocol);
  assert.equal(appProtocolForRule('modbus'), undefined); // tls/ssh are registered too
  assert.equal(findAppBuffer('http_uri')?.spec.name, 'http.uri');
  assert.equal(findAppBuffer('http_client_body')?.spec.name, 'http.request_body');
  assert.equal(findAppBuffer('file_data')?.spec.name, 'file.data');
  assert.equal(findAppBuffer('http.host')?.spec.lowercaseOnly, true);
  assert.equal(findAppBuffer('http.uri')?.spec.pcreFlag, 'U');
  assert.equal(findAppBuffer('nonexistent'), undefined);
  assert.equal(findAppKeyword('urilen')?.protocol, httpProtocol);
});

test('probe: request and response starts, need-more on prefixes', () => {
  assert.equal(httpProtocol.probe('to_server', b('GET / HTTP/1.1\r\n'), 16), 'match');
  assert.equal(httpProtocol.probe('to_server', b('GE'), 2), 'need-more');
  assert.equal(httpProtocol.probe('to_server', b('\x16\x03\x01'), 3), 'no');
  assert.equal(httpProtocol.probe('to_client', b('HTTP/1.1 200 OK\r\n'), 17), 'match');
});

test('AppTx: buffers by name and alias, progress, completion, events, multi-buffers', () => {
  const [t] = flow(
    'GET /a/%2e%2e/b?x=1 HTTP/1.1\r\nHost: Example.COM\r\nUser-Agent: ua\r\nCookie: c=1\r\n\r\n',
    'HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nServer: s\r\n\r\nabc',
  );
  assert.ok(t);
  assert.equal(t.id, 0);
  assert.equal(s(t.buffer('http.uri', 'to_server')), '/b?x=1');
  assert.equal(s(t.buffer('http_raw_uri', 'to_server')), '/a/%2e%2e/b?x=1');
  assert.equal(s(t.buffer('http.host', 'to_server')), 'example.com');
  assert.equal(s(t.buffer('http.cookie', 'to_server')), 'c=1');
  assert.equal(s(t.buffer('http.header', 'to_server')), 'Host: Example.COM\r\nUser-Agent: ua\r\n');
  assert.equal(s(t.buffer('http.stat_code', 'to_client')), '404');
  assert.equal(s(t.buffer('file_data', 'to_client')), 'abc');
  assert.equal(s(t.buffer('http.server', 'to_client')), 's');
  // a buffer asked for in a direction it does not exist in, or an unknown name
  assert.equal(t.buffer('http.uri', 'to_client'), null);
  assert.equal(t.buffer('tls.sni', 'to_server'), null);
  assert.deepEqual(t.multiBuffer('http.request_header', 'to_server').map(s), ['Host: Example.COM', 'User-Agent: ua', 'Cookie: c=1']);
  assert.deepEqual(t.multiBuffer('http.request_header', 'to_client'), []);
  assert.equal(t.progress('to_server'), 5);
  assert.ok(t.complete('to_server') && t.complete('to_client'));
  assert.equal(httpProtocol.eve(t).status, 404);
  assert.equal(httpProtocol.eve(t).url, '/a/%2e%2e/b?x=1');
});

test('AppTx events carry the http. prefix; a request in progress is not complete', () => {
  const [t] = flow('GET / HTTP/1.1\r\nBad header line\r\n');
  assert.ok(t);
  assert.equal(t.complete('to_server'), false);
  const [u] = flow('GET / HTTP/1.1\r\nBad header line\r\n\r\n');
  assert.ok(u?.events.includes('http.REQUEST_FIELD_MISSING_COLON'), String(u?.events));
});

test('parser state, release and counters', () => {
  const p = httpProtocol.create({ serverPort: 80, clientPort: 40000 });
  const d = b('GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n');
  p.feed('to_server', d, 0, d.length, 0);
  assert.equal(p.state, 'ok');
  assert.deepEqual([...p.txs()].map((t) => t.id), [0, 1]);
  p.release(0);
  assert.deepEqual([...p.txs()].map((t) => t.id), [1]);
  assert.equal(p.counters().transactions, 2);
  assert.ok(p.memory() > 0);
  const bad = b('POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n');
  const q = httpProtocol.create({ serverPort: 80, clientPort: 40000 });
  q.feed('to_server', bad, 0, bad.length, 0);
  assert.equal(q.state, 'failed');
  assert.equal(q.failReason, 'invalid_request_chunk_len');
});

test('txs(): the same list (and wrappers) while the live txs are the same; a new list when they change, the old one unchanged', () => {
  const p = httpProtocol.create({ serverPort: 80, clientPort: 40000 });
  const d = b('GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n');
  p.feed('to_server', d, 0, d.length, 0);
  const a = p.txs();
  assert.equal(p.txs(), a);
  const first = [...a];
  assert.deepEqual(first.map((t) => t.id), [0, 1]);
  const more = b('GET /3 HTTP/1.1\r\nHost: a\r\n\r\n');
  p.feed('to_server', more, 0, more.length, 0);
  const c = [...p.txs()];
  assert.deepEqual(c.map((t) => t.id), [0, 1, 2]);
  assert.equal(c[0], first[0], 'a tx keeps its wrapper');
  assert.deepEqual([...a].map((t) => t.id), [0, 1], 'the list handed out before is not changed');
  p.release(1);
  assert.deepEqual([...p.txs()].map((t) => t.id), [2]);
  assert.equal([...p.txs()][0], c[2]);
});

test('urilen: Suricata forms on the normalised (default) or raw URI', () => {
  const [t] = flow('GET /a/../bcd HTTP/1.1\r\nHost: h\r\n\r\n'); // norm "/bcd" (4), raw "/a/../bcd" (9)
  assert.ok(t);
  const m = (v: string): boolean => URILEN.match(t, 'to_server', URILEN.parse(v), 0);
  assert.equal(m('4'), true);
  assert.equal(m('9'), false);
  assert.equal(m('9,raw'), true);
  assert.equal(m('<5'), true);
  assert.equal(m('>4'), false);
  assert.equal(m('>=4'), true);
  assert.equal(m('<=3'), false);
  assert.equal(m('3<>5'), true);
  assert.equal(m('4<>9, raw'), false); // exclusive range
  assert.equal(m('8<>10,raw'), true);
  assert.equal(m('!4'), false);
  assert.equal(URILEN.match(t, 'to_client', URILEN.parse('4'), 0), false);
  assert.throws(() => URILEN.parse('x'), /urilen/);
  assert.throws(() => URILEN.parse('5,foo'), /unknown option/);
  assert.throws(() => URILEN.parse('5<>3'), /empty/);
  assert.throws(() => URILEN.parse(null), /needs a value/);
  const v: UrilenValue = URILEN.parse(' > 10 , norm');
  assert.deepEqual(v, { mode: '>', a: 10, b: 0, raw: false });
});

test('tunnels: the protocol change Suricata asks for (CONNECT on the first tx, 101 h2c exact, 101 websocket any case), none otherwise', () => {
  assert.equal(tunnelChangeTarget(200, 'connect', 0), null);
  assert.equal(tunnelChangeTarget(200, 'connect', 1), undefined);
  assert.equal(tunnelChangeTarget(101, 'h2c', 3), null);
  assert.equal(tunnelChangeTarget(101, 'H2C', 0), undefined);
  assert.equal(tunnelChangeTarget(101, 'WebSocket', 0), 'websocket');
  assert.equal(tunnelChangeTarget(101, 'upgrade', 0), undefined);
  assert.equal(tunnelChangeTarget(101, 'TLS/1.0', 0), undefined);
  // the parser: a granted change is 'upgrade', a refused one raises FAILED_PROTOCOL_CHANGE and stays
  for (const [grant, state, events] of [[true, 'upgrade', []], [false, 'ok', ['http.FAILED_PROTOCOL_CHANGE']]] as const) {
    const p = httpProtocol.create({ serverPort: 80, clientPort: 40000, requestProtocolChange: () => grant });
    const req = b('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    const res = b('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n');
    p.feed('to_server', req, 0, req.length, 0);
    p.feed('to_client', res, 0, res.length, 0);
    assert.equal(p.state, state);
    assert.equal(p.upgradeTo, grant ? 'websocket' : null);
    assert.deepEqual([...p.txs()][0]?.events, events);
  }
});

test('body limits come from the settings (engine.appLayer.http), default 100 KiB', () => {
  const body = 'x'.repeat(200 * 1024);
  const req = b(`PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  const res = b(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  const lengths = (settings?: { requestBodyLimit: number; responseBodyLimit: number }): number[] => {
    const p = httpProtocol.create({ serverPort: 80, clientPort: 40000, ...(settings ? { settings: { http: settings } } : {}) });
    p.feed('to_server', req, 0, req.length, 0);
    p.feed('to_client', res, 0, res.length, 0);
    const t = [...p.txs()][0]!;
    return [t.buffer('http.request_body', 'to_server')!.length, t.buffer('file.data', 'to_server')!.length, t.buffer('http.response_body', 'to_client')!.length];
  };
  assert.deepEqual(lengths(), [100 * 1024, 100 * 1024, 100 * 1024]);
  assert.deepEqual(lengths({ requestBodyLimit: 2048, responseBodyLimit: 150 * 1024 }), [2048, 2048, 150 * 1024]);
});

test('txs: one array kept in step with the live txs, the same wrapper per tx across calls', () => {
  const p = httpProtocol.create({ serverPort: 80, clientPort: 40000 });
  const d = b('GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n');
  p.feed('to_server', d, 0, d.length, 0);
  const first = p.txs();
  assert.equal(Array.isArray(first), true); // no generator per call
  const [t0, t1] = [...first];
  assert.equal(p.txs(), first);
  assert.deepEqual([...p.txs()], [t0, t1]);
  p.release(0);
  assert.deepEqual([...p.txs()], [t1]);
  const more = b('GET /3 HTTP/1.1\r\nHost: a\r\n\r\n');
  p.feed('to_server', more, 0, more.length, 0);
  const now = [...p.txs()];
  assert.equal(now.length, 2);
  assert.equal(now[0], t1);
  const t2 = now[1];
  assert.ok(t2);
  assert.equal(t2.id, 2);
  assert.equal(s(t2.buffer('http.uri', 'to_server')), '/3');
  // aliases and multi-buffer names as before: a multi-buffer has no single buffer
  assert.equal(s(t2.buffer('http_uri', 'to_server')), '/3');
  assert.equal(t2.buffer('http.request_header', 'to_server'), null);
  assert.equal(t2.buffer('http.stat_code', 'to_server'), null);
});
