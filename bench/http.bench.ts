/**
 * HTTP/1.x parser micro-benchmark: MB/s of request + response bytes through HttpParser
 * (pipelined GETs and POSTs, chunked and Content-Length bodies, a gzip body every 8th
 * response), fed in 1,460-byte segments like TCP payloads; buffers http.uri and http.header
 * built for every transaction as the detector would.
 */
import zlib from 'node:zlib';
import { HttpParser, httpBuffer } from '../src/engine/app-layer/http/index.js';

const TARGET_MBPS = 200;
const gz = zlib.gzipSync(Buffer.from('<html><body>' + 'hello world '.repeat(300) + '</body></html>'));
const reqs: Buffer[] = [];
const ress: Buffer[] = [];
for (let i = 0; i < 64; i++) {
  reqs.push(Buffer.from(i % 3 === 0
    ? `POST /api/v1/items/${i}?q=%41b%2fc&x=${i} HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: */*\r\nCookie: session=abcdef${i}\r\nContent-Type: application/json\r\nContent-Length: 120\r\n\r\n${'{"k":"v"}'.repeat(13)}abc`
    : `GET /static/../img/${i}.png?size=%32%30 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;q=0.5\r\nReferer: http://www.example.com/\r\nConnection: keep-alive\r\n\r\n`, 'latin1'));
  if (i % 8 === 0) ress.push(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: ${gz.length}\r\n\r\n`), gz]));
  else if (i % 2 === 0) ress.push(Buffer.from(`HTTP/1.1 200 OK\r\nServer: nginx\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n${'x'.repeat(1024)}\r\n200\r\n${'y'.repeat(512)}\r\n0\r\n\r\n`));
  else ress.push(Buffer.from(`HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: image/png\r\nContent-Length: 2048\r\n\r\n${'z'.repeat(2048)}`));
}
const reqStream = Buffer.concat(reqs);
const resStream = Buffer.concat(ress);
const SEG = 1460;

function once(): number {
  const p = new HttpParser();
  let r = 0;
  let s = 0;
  // interleave: requests run a little ahead of responses, as on the wire
  while (r < reqStream.length || s < resStream.length) {
    if (r < reqStream.length) {
      const n = Math.min(SEG, reqStream.length - r);
      p.request(reqStream, r, n);
      r += n;
    }
    if (s < resStream.length && (r >= reqStream.length || s < r)) {
      const n = Math.min(SEG, resStream.length - s);
      p.response(resStream, s, n);
      s += n;
    }
    for (const t of p.txs) {
      httpBuffer(t, 'http.uri');
      httpBuffer(t, 'http.header');
    }
    const last = p.txs[p.txs.length - 1];
    if (last) p.release(last.id);
  }
  if (p.counters.transactions !== 64 || p.state !== 'http') throw new Error(`bench parse broken: ${p.counters.transactions} ${p.state}`);
  return reqStream.length + resStream.length;
}

for (let i = 0; i < 50; i++) once(); // warm-up
let bytes = 0;
const t0 = performance.now();
while (performance.now() - t0 < 3000) bytes += once();
const secs = (performance.now() - t0) / 1000;
const mbps = bytes / secs / 1e6;
console.log(JSON.stringify({ bench: 'http-parser', bytes, seconds: Number(secs.toFixed(2)), mb_per_s: Number(mbps.toFixed(1)), target_mb_per_s: TARGET_MBPS, tx_per_s: Math.round((bytes / (reqStream.length + resStream.length)) * 64 / secs) }));
if (mbps < TARGET_MBPS) console.log(`below target ${TARGET_MBPS} MB/s`);
