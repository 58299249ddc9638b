/** Suricata HTTP buffers byte for byte, URI normalisation cases (libhtp IDS personality as Suricata sets it), EVE, probing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HTTP_BUFFERS, HttpParser, httpBuffer, httpBufferSpec, httpEve, httpMultiBuffer, probeHttp, type HttpTx } from '../../../../../src/engine/app-layer/http/index.js';
import { normalizePath, parseUri, normalizedUri } from '../../../../../src/engine/app-layer/http/uri.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const s = (x: Uint8Array | null): string | null => (x === null ? null : Buffer.from(x).toString('latin1'));

function tx(req: string, res?: string): HttpTx {
  const p = new HttpParser();
  const d = b(req);
  p.request(d, 0, d.length);
  if (res !== undefined) {
    const r = b(res);
    p.response(r, 0, r.length);
  }
  return p.txs[0]!;
}

test('URI normalisation: libhtp path decoding with Suricata defaults', () => {
  const cases: [string, string][] = [
    ['/a/./b/../c', '/a/c'], // dot segments
    ['/a//b///c', '/a/b/c'], // separators compressed
    ['/a\\b\\..\\c', '/a/c'], // backslashes are separators
    ['/a%2fb%2F..%2fc', '/a/c'], // encoded separators decoded, then resolved
    ['/a%5cb', '/a/b'], // encoded backslash too
    ['/%u0041%U0042', '/AB'], // %u decoded in the path (IDS)
    ['/%uFF21', '/A'], // fullwidth A by best fit
    ['/%u2215x', '/x'], // division slash → '/' by best fit, then compressed with the leading one
    ['/%zz%4', '/%zz%4'], // invalid encodings keep the '%'
    ['/%u12', '/%u12'], // short %u
    ['/%2541', '/%41'], // no double decoding (double-decode-path: no)
    ['/ABC', '/ABC'], // no lowercasing (Suricata turns it off)
    ['/\xc3\xa9', '/\xe9'], // UTF-8 é by best fit
    ['/\xc0\xaf', '//'], // overlong '/' decoded after separator compression (libhtp order): two slashes
    ['/\xff', '/?'], // invalid UTF-8 byte → '?'
    ['/a\xc3', '/a'], // truncated sequence dropped
    ['/%00x', '/\x00x'], // encoded NUL kept
    ['../../etc/passwd', 'etc/passwd'],
  ];
  for (const [raw, want] of cases) assert.equal(s(normalizePath(b(raw))), want, raw);
});

test('normalised URI: query %-decoded without %u or +, fragment decoded, absolute URI reduced to path', () => {
  const n = (u: string): string => s(normalizedUri(parseUri(b(u))))!;
  assert.equal(n('/p?a=%41%u0042+c&d=%zz'), '/p?a=A%u0042+c&d=%zz');
  assert.equal(n('/p?q=../x'), '/p?q=../x'); // no dot resolution in the query
  assert.equal(n('/p#fr%41g'), '/p#frAg');
  assert.equal(n('http://user:pw@Host.EXAMPLE:81/a/../b?x'), '/b?x');
  assert.equal(n('*'), '*');
});

test('request buffers: uri, raw uri, method, line, protocol, host (URI wins over Host header)', () => {
  const t = tx('GET http://WWW.A.com./x/%2e%2e/y?q=1 HTTP/1.1\r\nHost: other.org:81\r\nUser-Agent: Mozilla\r\nCookie: s=1\r\nReferer: http://r/\r\nAccept: */*\r\nAccept-Language: en\r\nAccept-Encoding: gzip\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n');
  assert.equal(s(httpBuffer(t, 'http.uri')), '/y?q=1');
  assert.equal(s(httpBuffer(t, 'http.uri.raw')), 'http://WWW.A.com./x/%2e%2e/y?q=1');
  assert.equal(s(httpBuffer(t, 'http.method')), 'GET');
  assert.equal(s(httpBuffer(t, 'http.request_line')), 'GET http://WWW.A.com./x/%2e%2e/y?q=1 HTTP/1.1');
  assert.equal(s(httpBuffer(t, 'http.protocol')), 'HTTP/1.1');
  assert.equal(s(httpBuffer(t, 'http.host')), 'www.a.com');
  assert.equal(s(httpBuffer(t, 'http.host.raw')), 'WWW.A.com.');
  assert.ok(t.events.includes('HOST_HEADER_AMBIGUOUS'));
  assert.equal(s(httpBuffer(t, 'http.user_agent')), 'Mozilla');
  assert.equal(s(httpBuffer(t, 'http.cookie')), 's=1');
  assert.equal(s(httpBuffer(t, 'http.referer')), 'http://r/');
  assert.equal(s(httpBuffer(t, 'http.accept')), '*/*');
  assert.equal(s(httpBuffer(t, 'http.accept_lang')), 'en');
  assert.equal(s(httpBuffer(t, 'http.accept_enc')), 'gzip');
  assert.equal(s(httpBuffer(t, 'http.connection')), 'close');
  assert.equal(s(httpBuffer(t, 'http.content_type')), 'text/plain');
  assert.equal(s(httpBuffer(t, 'http.content_len')), '0');
  assert.equal(httpEve(t).hostname, 'www.a.com');
});

test('header buffers: http.header without Cookie and trailing LWS, raw header with its empty line, names, start, multi', () => {
  const req = 'POST /f HTTP/1.0\r\nHost: Example.com:8080 \r\nCookie: a=b\r\nX-Y:\tv  \r\nContent-Length: 2\r\n\r\nhi';
  const t = tx(req, 'HTTP/1.0 302 Found\r\nSet-Cookie: z=1\r\nLocation: /new\r\nServer: nginx\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: 4\r\n\r\nbody');
  assert.equal(s(httpBuffer(t, 'http.header')), 'Host: Example.com:8080\r\nX-Y: v\r\nContent-Length: 2\r\n');
  assert.equal(s(httpBuffer(t, 'http.header.raw')), 'Host: Example.com:8080 \r\nCookie: a=b\r\nX-Y:\tv  \r\nContent-Length: 2\r\n\r\n');
  assert.equal(s(httpBuffer(t, 'http.header_names')), '\r\nHost\r\nCookie\r\nX-Y\r\nContent-Length\r\n\r\n');
  assert.equal(s(httpBuffer(t, 'http.start')), 'POST /f HTTP/1.0\r\nHost: Example.com:8080\r\nCookie: a=b\r\nX-Y: v\r\nContent-Length: 2\r\n\r\n');
  assert.deepEqual(httpMultiBuffer(t, 'http.request_header').map(s), ['Host: Example.com:8080', 'Cookie: a=b', 'X-Y: v', 'Content-Length: 2']);
  assert.equal(s(httpBuffer(t, 'http.host')), 'example.com');
  assert.equal(s(httpBuffer(t, 'http.host.raw')), 'Example.com:8080');
  assert.equal(s(httpBuffer(t, 'http.request_body')), 'hi');
  // response side
  assert.equal(s(httpBuffer(t, 'http.header', 'to_client')), 'Location: /new\r\nServer: nginx\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: 4\r\n');
  assert.equal(s(httpBuffer(t, 'http.cookie', 'to_client')), 'z=1');
  assert.equal(s(httpBuffer(t, 'http.stat_code')), '302');
  assert.equal(s(httpBuffer(t, 'http.stat_msg')), 'Found');
  assert.equal(s(httpBuffer(t, 'http.response_line')), 'HTTP/1.0 302 Found');
  assert.equal(s(httpBuffer(t, 'http.protocol', 'to_client')), 'HTTP/1.0');
  assert.equal(s(httpBuffer(t, 'http.location')), '/new');
  assert.equal(s(httpBuffer(t, 'http.server')), 'nginx');
  assert.equal(s(httpBuffer(t, 'http.response_body')), 'body');
  assert.equal(s(httpBuffer(t, 'file.data', 'to_client')), 'body');
  // to the server: a non-multipart POST body is a file too
  assert.equal(s(httpBuffer(t, 'file.data', 'to_server')), 'hi');
  assert.equal(s(httpBuffer(t, 'http.start', 'to_client'))!.startsWith('HTTP/1.0 302 Found\r\nSet-Cookie: z=1\r\n'), true);
  assert.deepEqual(httpEve(t), {
    hostname: 'example.com', http_port: 8080, url: '/f', http_content_type: 'text/html', http_method: 'POST',
    protocol: 'HTTP/1.0', status: 302, redirect: '/new', length: 4,
  });
});

test('buffers are absent before their part is parsed, and headers only once the block is complete', () => {
  const p = new HttpParser();
  const d = b('GET /a HTTP/1.1\r\nHost: x\r\n');
  p.request(d, 0, d.length);
  const t = p.txs[0]!;
  assert.equal(s(httpBuffer(t, 'http.uri')), '/a');
  assert.equal(httpBuffer(t, 'http.header'), null);
  assert.equal(httpBuffer(t, 'http.host'), null);
  assert.equal(httpBuffer(t, 'http.stat_code'), null);
  p.request(b('\r\n'), 0, 2);
  assert.equal(s(httpBuffer(t, 'http.header')), 'Host: x\r\n');
});

test('buffer table: names, legacy modifiers, pcre flags, directions', () => {
  assert.equal(httpBufferSpec('http_uri')?.name, 'http.uri');
  assert.equal(httpBufferSpec('http_raw_header')?.name, 'http.header.raw');
  assert.equal(httpBufferSpec('http_client_body')?.name, 'http.request_body');
  assert.equal(httpBufferSpec('http_server_body')?.name, 'http.response_body');
  assert.equal(httpBufferSpec('file_data')?.name, 'file.data');
  assert.equal(httpBufferSpec('http_stat_code')?.pcreFlag, 'S');
  const flags = HTTP_BUFFERS.map((x) => x.pcreFlag).filter((f) => f !== null).sort().join('');
  assert.equal(flags, 'CDHIMPQSUVWYZ'); // every pcre buffer flag Suricata accepts
  assert.deepEqual(httpBufferSpec('http.header')?.directions, ['to_server', 'to_client']);
  assert.equal(httpBufferSpec('http.host')?.lowercaseOnly, true);
  assert.equal(httpBufferSpec('http.request_header')?.multi, true);
});

test('probing: methods with SP/TAB at offset 0 to the server, HTTP/x.y to the client', () => {
  assert.equal(probeHttp('to_server', b('GET / HTTP/1.1\r\n')), 'match');
  assert.equal(probeHttp('to_server', b('post\t/')), 'match');
  assert.equal(probeHttp('to_server', b('GE')), 'need-more');
  assert.equal(probeHttp('to_server', b(' GET /')), 'no');
  assert.equal(probeHttp('to_server', b('\x16\x03\x01')), 'no');
  assert.equal(probeHttp('to_client', b('HTTP/1.1 200 OK')), 'match');
  assert.equal(probeHttp('to_client', b('http/1.0 ')), 'match');
  assert.equal(probeHttp('to_client', b('HTTP/2')), 'no');
  assert.equal(probeHttp('to_client', b('HTT')), 'need-more');
});
