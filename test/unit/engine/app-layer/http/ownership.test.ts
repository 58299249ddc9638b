/**
 * Transactions own their bytes (types.ts: "copies owned by the tx, never views of caller
 * buffers") also when the caller feeds Node Buffers, whose `slice` is a view, and reuses them
 * for the next packet as capture code does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { HTTP_BUFFERS, HttpParser, httpBuffer, httpEve, httpMultiBuffer, type HttpTx } from '../../../../../src/engine/app-layer/http/index.js';

const s = (x: Uint8Array | null): string | null => (x === null ? null : Buffer.from(x).toString('latin1'));

function everything(t: HttpTx): unknown {
  const o: Record<string, unknown> = {
    fields: [t.requestLine, t.method, t.uriRaw, t.uriNormalized, t.requestProtocol, t.uriHost, t.hostRaw, t.hostNormalized,
      t.requestHeadersRaw, t.responseLine, t.responseProtocol, t.statusCode, t.statusMessage, t.responseHeadersRaw,
      t.requestBody.data, t.responseBody.data].map(s),
    headers: [...t.requestHeaders, ...t.responseHeaders].map((h) => [s(h.name), s(h.value)]),
    eve: httpEve(t),
  };
  for (const b of HTTP_BUFFERS) {
    if (b.multi) o[b.name] = httpMultiBuffer(t, b.name).map(s);
    else for (const d of b.directions) o[`${b.name} ${d}`] = s(httpBuffer(t, b.name, d));
  }
  return o;
}

test('tx fields and buffers stay as parsed when the caller reuses its Buffer segments', () => {
  const p = new HttpParser();
  const req = Buffer.from('GET http://Example.COM:8080/a/../b?c=%41 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: UA\r\nX-F: 1\r\n 2\r\nContent-Length: 3\r\n\r\nabc', 'latin1');
  const res = Buffer.from('HTTP/1.1 200 Fine\r\nServer: s\r\nSet-Cookie: a\r\nSet-Cookie: b\r\nContent-Length: 4\r\n\r\nbody', 'latin1');
  // one packet at a time through the same capture buffer
  const cap = Buffer.alloc(2048);
  const feed = (src: Buffer, dir: 'request' | 'response', step: number): void => {
    for (let o = 0; o < src.length; o += step) {
      const n = Math.min(step, src.length - o);
      src.copy(cap, 100, o, o + n);
      if (dir === 'request') p.request(cap, 100, n);
      else p.response(cap, 100, n);
      cap.fill(0x5a);
    }
  };
  const ref = new HttpParser();
  ref.request(new Uint8Array(req), 0, req.length);
  ref.response(new Uint8Array(res), 0, res.length);
  const want = everything(ref.txs[0]!);
  feed(req, 'request', req.length);
  feed(res, 'response', res.length);
  assert.deepEqual(everything(p.txs[0]!), want);
  // every two-segment split of each direction, and 7-byte segments; each segment reused after use
  const splits: number[][] = [[7]];
  for (let c = 1; c < Math.max(req.length, res.length); c++) splits.push([c]);
  for (const [cut] of splits) {
    const q = new HttpParser();
    const feedq = (src: Buffer, dir: 'request' | 'response'): void => {
      const bounds = cut === 7 ? Array.from({ length: Math.ceil(src.length / 7) }, (_, i) => i * 7) : [0, Math.min(cut!, src.length)];
      for (let k = 0; k < bounds.length; k++) {
        const o = bounds[k]!;
        const e = k + 1 < bounds.length ? bounds[k + 1]! : src.length;
        if (e <= o) continue;
        const seg = Buffer.from(src.subarray(o, e));
        if (dir === 'request') q.request(seg, 0, seg.length);
        else q.response(seg, 0, seg.length);
        seg.fill(0x5a);
      }
    };
    feedq(req, 'request');
    feedq(res, 'response');
    assert.deepEqual(everything(q.txs[0]!), want, `split at ${cut}`);
  }
});

test('a gzip body split inside a code decodes right when the first segment is reused', () => {
  const text = 'hello hello hello hello '.repeat(20);
  const gz = zlib.gzipSync(Buffer.from(text));
  const head = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`, 'latin1');
  const res = Buffer.concat([head, gz]);
  const get = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  for (let cut = head.length + 11; cut < res.length - 8; cut++) {
    const p = new HttpParser();
    p.request(get, 0, get.length);
    const seg = Buffer.from(res.subarray(0, cut));
    p.response(seg, 0, seg.length);
    seg.fill(0x5a); // the capture buffer is reused
    const rest = Buffer.from(res.subarray(cut));
    p.response(rest, 0, rest.length);
    const t = p.txs[0]!;
    assert.equal(s(t.responseBody.data), text, `cut at ${cut}`);
    assert.deepEqual(t.events, [], `cut at ${cut}`);
  }
});
