/** HTTP/1.x parser: transactions, framing, anomalies, streaming invariance, limits, gaps. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { HttpParser, httpBuffer, httpEve, type HttpTx } from '../../../../../src/engine/app-layer/http/index.js';
import { rng } from '../../../../../bench/lib/gen.js';
import { BodyAcc } from '../../../../../src/engine/app-layer/http/body.js';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from '../../../../../src/engine/app-layer/http/types.js';
import { HASH_MASK, asTx, keyHash, nameHash } from '../../../../../src/engine/app-layer/http/tx.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const s = (x: Uint8Array | null): string | null => (x === null ? null : Buffer.from(x).toString('latin1'));

function feed(p: HttpParser, req: Uint8Array, res: Uint8Array, split?: (n: number) => number[]): void {
  const cut = (d: Uint8Array, fn: (off: number, len: number) => void): void => {
    if (!split) {
      fn(0, d.length);
      return;
    }
    let o = 0;
    for (const n of split(d.length)) {
      fn(o, n);
      o += n;
    }
  };
  cut(req, (o, n) => { p.request(req, o, n); });
  cut(res, (o, n) => { p.response(res, o, n); });
}

/** Everything observable about a tx, for equality across splits. */
function snapshot(t: HttpTx): unknown {
  const names = ['http.uri', 'http.uri.raw', 'http.method', 'http.protocol', 'http.header', 'http.header.raw', 'http.host', 'http.request_body', 'http.stat_code', 'http.stat_msg', 'http.response_body'] as const;
  const o: Record<string, unknown> = { id: t.id, rp: t.requestProgress, sp: t.responseProgress, ev: [...t.events].sort() };
  for (const n of names) o[n] = s(httpBuffer(t, n, n.startsWith('http.stat') || n === 'http.response_body' ? 'to_client' : 'to_server'));
  o.resHeader = s(httpBuffer(t, 'http.header', 'to_client'));
  o.eve = httpEve(t);
  return o;
}

const REQS = b(
  'POST /up?a=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n' +
    'GET /two HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc' +
    'HEAD /three HTTP/1.0\r\n\r\n',
);
const gz = zlib.gzipSync(Buffer.from('compressed body '.repeat(50)));
const RESS = new Uint8Array(Buffer.concat([
  Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', 'latin1'),
  Buffer.from(`HTTP/1.1 404 Not Found\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`, 'latin1'),
  gz,
  Buffer.from('HTTP/1.0 200 OK\r\nContent-Length: 99\r\n\r\n', 'latin1'),
]));

test('pipelined requests, chunked with extension and trailer, 100-continue, gzip, HEAD without body', () => {
  const p = new HttpParser();
  feed(p, REQS, RESS);
  assert.equal(p.txs.length, 3);
  const [a, c, h] = p.txs as [HttpTx, HttpTx, HttpTx];
  assert.equal(s(a.requestBody.data), 'hello');
  assert.ok(a.events.includes('REQUEST_CHUNK_EXTENSION'));
  assert.match(s(httpBuffer(a, 'http.header'))!, /X-Trailer: t\r\n$/); // trailers join the header table
  assert.match(s(httpBuffer(a, 'http.header.raw'))!, /\r\n\r\nX-Trailer: t\r\n\r\n$/);
  assert.equal(s(a.responseBody.data), 'abc');
  assert.equal(a.statusNumber, 200);
  assert.equal(s(c.requestBody.data), 'abc');
  assert.equal(c.statusNumber, 404);
  assert.equal(s(c.responseBody.data), 'compressed body '.repeat(50));
  assert.equal(c.responseBody.encoding, 'gzip');
  assert.equal(httpEve(c).length, gz.length);
  assert.equal(s(h.method), 'HEAD');
  assert.equal(h.responseProgress, 5, 'HEAD response has no body even with Content-Length');
  for (const t of p.txs) assert.equal(t.requestProgress, 5);
});

test('same transactions whatever the split: byte by byte and 300 random splits', () => {
  const ref = new HttpParser();
  feed(ref, REQS, RESS);
  const want = ref.txs.map(snapshot);
  const one = new HttpParser();
  feed(one, REQS, RESS, (n) => Array.from({ length: n }, () => 1));
  assert.deepEqual(one.txs.map(snapshot), want);
  const r = rng(7);
  for (let i = 0; i < 300; i++) {
    const p = new HttpParser();
    feed(p, REQS, RESS, (n) => {
      const parts: number[] = [];
      let left = n;
      while (left > 0) {
        const k = Math.min(left, 1 + Math.floor(r() * 40));
        parts.push(k);
        left -= k;
      }
      return parts;
    });
    assert.deepEqual(p.txs.map(snapshot), want, `split ${i}`);
  }
});

test('HTTP/0.9: no headers, response is body to connection close, later request data ignored', () => {
  const p = new HttpParser();
  p.request(b('GET /old\r\n'), 0, 10);
  p.request(b('GET /ignored HTTP/1.1\r\n\r\n'), 0, 25);
  p.response(b('<html>old</html>'), 0, 16);
  p.responseEnd();
  assert.equal(p.txs.length, 1);
  const t = p.txs[0]!;
  assert.equal(t.isHttp09, true);
  assert.equal(httpBuffer(t, 'http.protocol'), null);
  assert.equal(s(t.responseBody.data), '<html>old</html>');
  assert.equal(t.responseProgress, 5);
});

test('protocol-less line followed by headers is not HTTP/0.9 (REQUEST_LINE_MISSING_PROTOCOL)', () => {
  const p = new HttpParser();
  const d = b('GET /x\r\nHost: a\r\n\r\n');
  p.request(d, 0, d.length);
  const t = p.txs[0]!;
  assert.equal(t.isHttp09, false);
  assert.ok(t.events.includes('REQUEST_LINE_MISSING_PROTOCOL'));
  assert.equal(s(httpBuffer(t, 'http.host')), 'a');
});

test('CONNECT: 2xx makes a tunnel, non-2xx continues HTTP', () => {
  const p = new HttpParser();
  const d = b('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01');
  p.request(d, 0, d.length);
  const r = b('HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03');
  p.response(r, 0, r.length);
  assert.equal(p.state, 'tunnel');
  assert.equal(p.tunnelUpgrade, 'connect');
  assert.equal(httpEve(p.txs[0]!).hostname, 'example.com');
  const q = new HttpParser();
  const d2 = b('CONNECT example.com:443 HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n');
  q.request(d2, 0, d2.length);
  const r2 = b('HTTP/1.1 407 Proxy Auth\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  q.response(r2, 0, r2.length);
  assert.equal(q.state, 'http');
  assert.equal(q.txs.length, 2);
  assert.equal(q.txs[1]!.statusNumber, 200);
});

test('101 Switching Protocols: tunnel with the Upgrade value', () => {
  const p = new HttpParser();
  const d = b('GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n');
  p.request(d, 0, d.length);
  const r = b('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello');
  p.response(r, 0, r.length);
  assert.equal(p.state, 'tunnel');
  assert.equal(p.tunnelUpgrade, 'websocket');
  assert.equal(p.counters.tunnelBytes, 0);
  p.response(r, 0, 4);
  assert.equal(p.counters.tunnelBytes, 4);
});

test('response without request, 204/304 without body, body delimited by close', () => {
  const p = new HttpParser();
  const r = b('HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.0 200 OK\r\n\r\nuntil close');
  p.response(r, 0, r.length);
  assert.equal(p.txs.length, 3);
  assert.ok(p.txs[0]!.events.includes('UNABLE_TO_MATCH_RESPONSE_TO_REQUEST'));
  assert.equal(s(p.txs[0]!.uriRaw), '/libhtp::request_uri_not_seen');
  assert.equal(p.txs[0]!.responseProgress, 5);
  assert.equal(p.txs[1]!.responseProgress, 5);
  assert.equal(p.txs[2]!.responseProgress, 3);
  p.responseEnd();
  assert.equal(p.txs[2]!.responseProgress, 5);
  assert.equal(s(p.txs[2]!.responseBody.data), 'until close');
});

test('header anomalies: missing colon, folding, invalid name, repeated names joined, duplicate C-L', () => {
  const p = new HttpParser();
  const d = b('GET / HTTP/1.1\nHost: a\nNoColonHere\nX-A: 1\n\tfolded\nBad Name: v\nX-A: 2\nContent-Length: 0\nContent-Length: 00\nUser-Agent: U1\nUser-Agent: U2\n\n');
  p.request(d, 0, d.length);
  const t = p.txs[0]!;
  for (const e of ['REQUEST_FIELD_MISSING_COLON', 'REQUEST_HEADER_INVALID', 'REQUEST_HEADER_REPETITION'] as const) assert.ok(t.events.includes(e), e);
  assert.ok(!t.events.includes('DUPLICATE_CONTENT_LENGTH_FIELD_IN_REQUEST'), 'same C-L value is not ambiguous');
  assert.equal(s(httpBuffer(t, 'http.user_agent')), 'U1, U2');
  const hdr = s(httpBuffer(t, 'http.header'))!;
  assert.ok(hdr.includes(': NoColonHere\r\n'), hdr);
  assert.ok(hdr.includes('X-A: 1\tfolded, 2\r\n'), hdr);
  assert.ok(hdr.includes('Content-Length: 0\r\n'), hdr);
  assert.equal(t.requestProgress, 5);
});

test('request line anomalies: leading whitespace, tab delimiters, invalid line', () => {
  const p = new HttpParser();
  const d = b('  GET\t/x\tHTTP/1.0\r\n\r\nFOO\r\n');
  p.request(d, 0, d.length);
  const t = p.txs[0]!;
  assert.equal(s(t.method), 'GET');
  assert.equal(s(t.uriRaw), '/x');
  assert.equal(s(t.requestProtocol), 'HTTP/1.0');
  for (const e of ['REQUEST_LINE_LEADING_WHITESPACE', 'METHOD_DELIM_NON_COMPLIANT', 'URI_DELIM_NON_COMPLIANT'] as const) assert.ok(t.events.includes(e), e);
});

test('unexpected data after a request body is body (REQUEST_BODY_UNEXPECTED); a method starts the next request', () => {
  const p = new HttpParser();
  const d = b('POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nabjunk line\r\nGET /n HTTP/1.1\r\n\r\n');
  p.request(d, 0, d.length);
  assert.equal(p.txs.length, 2);
  assert.equal(s(p.txs[0]!.requestBody.data), 'abjunk line\r\n');
  assert.ok(p.txs[0]!.events.includes('REQUEST_BODY_UNEXPECTED'));
  assert.equal(s(p.txs[1]!.uriRaw), '/n');
});

test('data after a request read from a range of a larger array: lines end at the range end, not at an LF after it', () => {
  const head = 'GET / HTTP/1.1\r\nHost: h\r\n\r\n';
  // the segment [0, n) of an array whose bytes after n hold line ends (a capture buffer's next packet)
  const all = b(`${head}alpha beta\r\ngamma delta\r\nGET /next HTTP/1.1\r\n\r\n`);
  const n = head.length + 'alpha beta\r\ngam'.length;
  const p = new HttpParser();
  p.request(all, 0, n);
  assert.equal(s(p.txs[0]!.requestBody.data), 'alpha beta\r\n', 'the partial line is held, not body');
  p.request(all, n, all.length - n);
  assert.equal(p.txs.length, 2);
  assert.equal(s(p.txs[0]!.requestBody.data), 'alpha beta\r\ngamma delta\r\n');
  assert.equal(p.txs[0]!.requestMessageLength, 'alpha beta\r\ngamma delta\r\n'.length);
  assert.ok(p.txs[0]!.events.includes('REQUEST_BODY_UNEXPECTED'));
  assert.equal(s(p.txs[1]!.uriRaw), '/next');
  // the same with the whole as one segment
  const q = new HttpParser();
  q.request(all, 0, all.length);
  assert.equal(s(q.txs[0]!.requestBody.data), 'alpha beta\r\ngamma delta\r\n');
  // a segment at an offset whose range ends inside a line: nothing after it is read
  const r = new HttpParser();
  const off = 7;
  const shifted = b(`${'x'.repeat(off)}${head}one\r\ntw\r\n`);
  r.request(shifted, off, head.length + 'one\r\ntw'.length);
  assert.equal(s(r.txs[0]!.requestBody.data), 'one\r\n');
});

test('unexpected data after a request: many lines in one segment are the same body, length and events as line by line', () => {
  const junk = 'a b c\r\n\r\n   \r\n  x\tGET\r\nPOSTX /y\r\nnot a method\n'.repeat(20);
  const tail = '  GET /n HTTP/1.1\r\n\r\nPUT /p HTTP/1.1\r\nContent-Length: 1\r\n\r\nzmore\r\npart';
  const gzBody = zlib.gzipSync(Buffer.from('inflated '.repeat(20)));
  for (const head of [
    b('GET / HTTP/1.1\r\nHost: h\r\n\r\n'),
    new Uint8Array(Buffer.concat([Buffer.from(`POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: ${gzBody.length}\r\n\r\n`, 'latin1'), gzBody])),
  ]) {
    const req = new Uint8Array(Buffer.concat([head, Buffer.from(junk + tail, 'latin1')]));
    for (const limit of [100 * 1024, 300]) {
      const view = (p: HttpParser): unknown => p.txs.map((t) => ({ snap: snapshot(t), len: t.requestMessageLength, seen: t.requestBody.seen, truncated: t.requestBody.truncated, rp: t.requestProgress }));
      const whole = new HttpParser({ requestBodyLimit: limit });
      whole.request(req, 0, req.length);
      const txs = whole.txs;
      assert.equal(txs.length, 3);
      assert.ok(txs[0]!.events.includes('REQUEST_BODY_UNEXPECTED'));
      assert.equal(s(txs[1]!.uriRaw), '/n');
      const plain = head.length < 60;
      if (plain) {
        assert.equal(txs[0]!.requestMessageLength, junk.length);
        assert.equal(txs[0]!.requestBody.seen, junk.length);
        assert.equal(txs[0]!.requestBody.truncated, limit === 300, 'cut at the limit');
        assert.equal(s(txs[0]!.requestBody.data), limit === 300 ? junk.slice(0, 300) : junk);
      }
      assert.equal(s(txs[2]!.requestBody.data), 'zmore\r\n');
      assert.equal(whole.counters.events.REQUEST_BODY_UNEXPECTED, 2);
      // Split inside lines only (a segment ending at a line end or at the end of a body completes
      // the request, as libhtp): the first segment ends inside the first line after the head,
      // then every 1 to 3 bytes.
      const bodyEnd = req.lastIndexOf(0x7a) + 1; // after the PUT's one-byte body
      for (const step of [1, 2, 3]) {
        const split = new HttpParser({ requestBodyLimit: limit });
        let o = 0;
        for (let i = head.length + 1; i < req.length; i += step) {
          if (req[i - 1] === 0x0a || i === bodyEnd) continue;
          split.request(req, o, i - o);
          o = i;
        }
        split.request(req, o, req.length - o);
        assert.deepEqual(view(split), view(whole), `step ${step}`);
        assert.deepEqual(split.counters.events, whole.counters.events);
        assert.deepEqual(split.counters.limits, whole.counters.limits);
      }
    }
  }
});

test('the lines after a request reach an undecoded body in one write per segment (not one per line), a buffered line start in one of its own', (t) => {
  const write = t.mock.method(BodyAcc.prototype, 'write');
  const lines = 'one two\r\nthree\r\n\r\nfour five six\r\n'.repeat(10);
  const req = b('GET / HTTP/1.1\r\nHost: h\r\n\r\n' + lines + 'GET /n HTTP/1.1\r\n\r\n');
  const p = new HttpParser();
  p.request(req, 0, req.length);
  assert.equal(s(p.txs[0]!.requestBody.data), lines);
  assert.deepEqual(write.mock.calls.map((c) => c.arguments[2] - c.arguments[1]), [lines.length]);
  // the first segment ends inside a body line: its start is buffered, then written before the rest
  write.mock.resetCalls();
  const q = new HttpParser();
  const cut = req.indexOf(0x74 /* t */, 30); // inside 'one two'
  q.request(req, 0, cut);
  q.request(req, cut, req.length - cut);
  assert.equal(s(q.txs[0]!.requestBody.data), lines);
  assert.equal(s(q.txs[1]!.uriRaw), '/n');
  const held = cut - 'GET / HTTP/1.1\r\nHost: h\r\n\r\n'.length;
  assert.deepEqual(write.mock.calls.map((c) => c.arguments[2] - c.arguments[1]), [held, lines.length - held]);
});

test('invalid chunk length stops the direction; invalid C-L/T-E stops it with the event', () => {
  for (const [req, ev, reason] of [
    ['POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'INVALID_REQUEST_CHUNK_LEN', 'invalid_request_chunk_len'],
    ['POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n', 'INVALID_CONTENT_LENGTH_FIELD_IN_REQUEST', 'invalid_request_content_length'],
    ['POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n', 'INVALID_TRANSFER_ENCODING_VALUE_IN_REQUEST', 'invalid_request_transfer_encoding'],
  ] as const) {
    const p = new HttpParser();
    const d = b(req);
    p.request(d, 0, d.length);
    assert.equal(p.state, 'failed', req);
    assert.equal(p.failReason, reason);
    assert.ok(p.txs[0]!.events.includes(ev));
    p.request(d, 0, d.length); // ignored, no throw
    assert.ok(p.counters.ignoredBytes > 0);
  }
});

test('limits: field limit, body limit, transactions; counted', () => {
  const p = new HttpParser({ fieldLimit: 100 });
  const long = b(`GET /${'a'.repeat(200)} HTTP/1.1\r\n\r\n`);
  p.request(long, 0, 50);
  p.request(long, 50, 100);
  assert.equal(p.state, 'failed');
  assert.equal(p.failReason, 'request_field_too_long');
  assert.equal(p.counters.limits.field, 1);

  const q = new HttpParser({ responseBodyLimit: 10 });
  const r = b('HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n' + 'x'.repeat(30));
  q.response(r, 0, r.length);
  const t = q.txs[0]!;
  assert.equal(t.responseBody.data.length, 10);
  assert.equal(t.responseBody.seen, 30);
  assert.equal(t.responseBody.truncated, true);
  assert.equal(q.counters.limits.response_body, 1);
  assert.equal(httpEve(t).length, 30);

  const m = new HttpParser({ maxTransactions: 3 });
  const many = b('GET / HTTP/1.1\r\n\r\n'.repeat(5));
  m.request(many, 0, many.length);
  assert.equal(m.state, 'failed');
  assert.equal(m.failReason, 'too_many_transactions');
  const ok = new HttpParser({ maxTransactions: 3 });
  for (let i = 0; i < 5; i++) {
    const one = b('GET / HTTP/1.1\r\n\r\n');
    ok.request(one, 0, one.length);
    const rr = b('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    ok.response(rr, 0, rr.length);
    ok.release(ok.txs[ok.txs.length - 1]!.id);
  }
  assert.equal(ok.state, 'http', 'released transactions do not count');
  assert.equal(ok.txs.length, 0);
  assert.equal(ok.counters.transactions, 5);
});

test('limits: each parser gets the defaults with its own overrides, also when consecutive parsers ask with the same or other values', () => {
  const asked: Partial<HttpLimits>[] = [{ requestBodyLimit: 10 }, { requestBodyLimit: 10 }, { requestBodyLimit: 20 }, { responseBodyLimit: 10 }, {}, { responseBodyLimit: 10 }];
  for (const l of asked) {
    const got = new HttpParser(l).limits;
    assert.deepEqual(got, { ...DEFAULT_HTTP_LIMITS, ...l });
    assert.ok(Object.isFrozen(got));
  }
});

test('gaps: resynchronised inside a Content-Length body, fatal elsewhere', () => {
  const p = new HttpParser();
  const d = b('POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nab');
  p.request(d, 0, d.length);
  p.requestGap(5);
  const rest = b('xyzGET /next HTTP/1.1\r\n\r\n');
  p.request(rest, 0, rest.length);
  assert.equal(p.state, 'http');
  assert.equal(p.txs.length, 2);
  assert.equal(s(p.txs[0]!.requestBody.data), 'abxyz');
  assert.equal(p.counters.gapsResynced, 1);
  assert.ok(p.txs[0]!.events.includes('GAP'));
  const q = new HttpParser();
  const h = b('GET / HTTP/1.1\r\nHo');
  q.request(h, 0, h.length);
  q.requestGap(10);
  assert.equal(q.state, 'failed');
  assert.equal(q.failReason, 'request_gap');
});

test('memoryBytes grows with kept data and shrinks on release', () => {
  const p = new HttpParser();
  const before = p.memoryBytes;
  const r = b('HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n' + 'y'.repeat(5000));
  const q = b('GET / HTTP/1.1\r\n\r\n');
  p.request(q, 0, q.length);
  p.response(r, 0, r.length);
  const mid = p.memoryBytes;
  assert.ok(mid > before + 5000, `${mid}`);
  p.release(0);
  assert.ok(p.memoryBytes < mid - 5000);
});

test('EVE content_range: parsed with the PCRE2 engine from the raw header bytes', () => {
  const range = (value: string): unknown => {
    const p = new HttpParser();
    feed(p, b('GET /f HTTP/1.1\r\nHost: h\r\n\r\n'), b(`HTTP/1.1 206 Partial\r\nContent-Range: ${value}\r\nContent-Length: 0\r\n\r\n`));
    return httpEve(p.txs[0]!).content_range;
  };
  assert.deepEqual(range('bytes 10-19/200'), { raw: 'bytes 10-19/200', start: 10, end: 19, size: 200 });
  assert.deepEqual(range('BYTES */200'), { raw: 'BYTES */200', size: 200 });
  assert.deepEqual(range('bytes 0-9/*'), { raw: 'bytes 0-9/*', start: 0, end: 9 });
  assert.deepEqual(range('items 1-2/3'), { raw: 'items 1-2/3' });
});

test('a URI may hold spaces: the protocol follows the last SP (libhtp-rs allow_space_uri, as Suricata 8 runs it)', () => {
  const p = new HttpParser();
  const d = b('GET /uri afterspace HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP  / 01.10\r\n\r\nGET /a b  \r\n\r\n');
  p.request(d, 0, d.length);
  const [t1, t2, t3] = p.txs;
  assert.equal(s(t1!.uriRaw), '/uri afterspace');
  assert.equal(s(t1!.requestProtocol), 'HTTP/1.1');
  assert.ok(!t1!.events.includes('URI_DELIM_NON_COMPLIANT'));
  // libhtp-rs RequestLineParsing5
  assert.equal(s(t2!.uriRaw), '/ HTTP  /');
  assert.equal(s(t2!.requestProtocol), '01.10');
  // trailing whitespace is not a delimiter
  assert.equal(s(t3!.uriRaw), '/a');
  assert.equal(s(t3!.requestProtocol), 'b');
});

test('a response gap no body absorbs stops the response side only: later requests are still parsed (suricata-verify http-gap-beyond-body)', () => {
  const p = new HttpParser();
  const feedReq = (x: string): void => { const d = b(x); p.request(d, 0, d.length); };
  const feedRes = (x: string): void => { const d = b(x); p.response(d, 0, d.length); };
  feedReq('GET /1 HTTP/1.0\r\n\r\n');
  feedRes('HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\n');
  feedReq('GET /2 HTTP/1.0\r\n\r\n');
  // 12 body bytes and 115 more are missing: the body ends inside the gap
  p.responseGap(127);
  feedRes('AAAAAAAAAAAAAAHTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi');
  feedReq('GET /3 HTTP/1.0\r\n\r\n');
  assert.equal(p.state, 'http');
  assert.deepEqual(p.txs.map((t) => [s(t.uriRaw), t.requestProgress, t.responseProgress]), [['/1', 5, 5], ['/2', 5, 0], ['/3', 5, 0]]);
  assert.ok(p.txs[0]!.events.includes('GAP'));
  assert.equal(p.counters.responseGaps, 1);
  assert.equal(p.counters.ignoredBytes, 'AAAAAAAAAAAAAAHTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi'.length);
  // a gap between responses (no body to absorb it) does the same
  const q = new HttpParser();
  const r = b('GET / HTTP/1.1\r\n\r\n');
  q.request(r, 0, r.length);
  q.responseGap(10);
  q.request(r, 0, r.length);
  assert.equal(q.state, 'http');
  assert.equal(q.txs.length, 2);
});

test('header lookup hashes are 30-bit small integers, the same from the header parser, nameHash and keyHash', () => {
  const names = ['Host', 'content-LENGTH', 'X-A', '', 'Transfer-Encoding', 'user-agent', 'Cookie', 'zz', 'A'.repeat(40)];
  const p = new HttpParser();
  const head = `GET / HTTP/1.1\r\n${names.map((n, i) => `${n}: v${i}`).join('\r\n')}\r\nno colon line\r\n\r\n`;
  p.request(b(head), 0, head.length);
  const t = asTx(p.txs[0]!);
  assert.equal(t.reqHeaders.size, names.length, "the line without a colon joins the empty name");
  for (const h of t.reqHeaders.list) {
    assert.ok(Number.isInteger(h.hash) && h.hash >= 0 && h.hash <= HASH_MASK, `${s(h.name)}: ${h.hash}`);
    assert.equal(h.hash, nameHash(h.name, 0, h.name.length));
    assert.equal(h.hash, keyHash(s(h.name)!.toLowerCase()));
    assert.equal(t.reqHeaders.get(s(h.name)!.toLowerCase()), h);
  }
  assert.ok(HASH_MASK < 2 ** 30, 'a small integer with 31-bit Smis');
});
