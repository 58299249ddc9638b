/**
 * HTTP rules end to end inside src/signatures: rule text → compiled ruleset → prefilter
 * candidates and verification on transactions of the real HTTP parser. One golden case per
 * buffer, legacy modifier, pcre flag, transform and keyword.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRuleset } from '../../../src/signatures/compile.js';
import { parseRule } from '../../../src/signatures/rules.js';
import { addRawCandidates, appCandidates, chainHit, missedForGood, scanRawStream, verifyAppSignature } from '../../../src/signatures/verify-app.js';
import { httpProtocol } from '../../../src/engine/app-layer/http/protocol.js';
import { defaultConfig } from '../../../src/config/types.js';
import type { AppDirection, AppTx } from '../../../src/engine/app-layer/types.js';
import type { AppVerifyContext, Ruleset } from '../../../src/signatures/types.js';

const vars = defaultConfig().databases.vars;
const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

function compile(rules: string[]): Ruleset {
  return compileRuleset([{ file: 't.rules', text: rules.join('\n') }], { vars });
}

function txOf(req: string, res?: string): AppTx {
  const p = httpProtocol.create({ serverPort: 80, clientPort: 40000 });
  p.feed('to_server', b(req), 0, req.length, 0);
  if (res !== undefined) p.feed('to_client', b(res), 0, res.length, 0);
  const t = [...p.txs()][0];
  assert.ok(t);
  return t;
}

const REQ =
  'POST /Admin/../login.php?user=%61dmin&x=1 HTTP/1.1\r\nHost: WWW.Example.com:8080\r\nUser-Agent: Mozilla/5.0 (evil)\r\n' +
  'Cookie: session=abc\r\nReferer: http://r.example/\r\nAccept: */*\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
  'Content-Length: 27\r\nConnection: close\r\n\r\npassword=secret&cmd=whoami';
const RES = 'HTTP/1.1 302 Found\r\nServer: Apache\r\nLocation: /home\r\nSet-Cookie: id=1\r\nContent-Length: 21\r\n\r\n<html>uid=0(root)</html>';

/** Ids (sid) that fire on the tx in `dir` through candidates + verify, as the detect stage does. */
function fired(rs: Ruleset, tx: AppTx, dir: AppDirection, ctx: Partial<AppVerifyContext> = {}): number[] {
  const out: number[] = [];
  let n = appCandidates(rs, httpProtocol.ruleProtocols, tx, dir, out);
  // raw-stream signatures are candidates once their fast pattern was seen in the stream (as the detect stage scans it)
  const raw = rs.app?.rawStream?.[dir];
  if (raw !== undefined && ctx.stream !== undefined) {
    const seen: number[] = [];
    scanRawStream(raw, 0, ctx.stream, 0, ctx.streamLength ?? ctx.stream.length, seen);
    n = addRawCandidates(rs, httpProtocol.ruleProtocols, seen, out, n);
  }
  assert.equal(out.length, n);
  const full: AppVerifyContext = { flowbits: new Set(), serverPort: 80, ...ctx };
  return out.filter((i) => verifyAppSignature(rs.signatures[i]!, tx, dir, full)).map((i) => rs.signatures[i]!.id);
}

/** Whether the one rule fires on REQ/RES (direction from the rule). */
function fires(opts: string, header = 'alert http any any -> any any'): boolean {
  const rs = compile([`${header} (msg:"t"; ${opts} sid:1;)`]);
  assert.equal(rs.stats.loaded, 1, JSON.stringify(rs.stats.problems));
  const tx = txOf(REQ, RES);
  const s = rs.signatures[0]!;
  const ids = fired(rs, tx, s.direction);
  // the prefilter never loses a match: a verify on its own agrees
  const alone = verifyAppSignature(s, tx, s.direction, { flowbits: new Set(), serverPort: 80 });
  assert.equal(ids.includes(1), alone, 'candidates and verification disagree');
  return alone;
}

test('sticky buffers: one golden match and one miss per request buffer', () => {
  const cases: [string, string, string][] = [
    ['http.uri', '/login.php?user=admin&x=1', '/Admin/'],
    ['http.uri.raw', '/Admin/../login.php?user=%61dmin', 'user=admin'],
    ['http.method', 'POST', 'GET'],
    ['http.request_line', 'POST /Admin/../login.php?user=%61dmin&x=1 HTTP/1.1', 'GET /'],
    ['http.protocol', 'HTTP/1.1', 'HTTP/1.0'],
    ['http.header', 'User-Agent: Mozilla/5.0 (evil)|0d 0a|', 'Cookie:'],
    ['http.header.raw', 'Host: WWW.Example.com:8080|0d 0a|', 'host: www'],
    ['http.header_names', '|0d 0a|Host|0d 0a|User-Agent|0d 0a|', 'Set-Cookie'],
    ['http.cookie', 'session=abc', 'Cookie'],
    ['http.user_agent', 'Mozilla/5.0 (evil)', 'curl'],
    ['http.host', 'www.example.com', ':8080'],
    ['http.host.raw', 'WWW.Example.com:8080', 'www.example.com'],
    ['http.referer', 'http://r.example/', 'Referer'],
    ['http.accept', '*/*', 'text'],
    ['http.content_type', 'application/x-www-form-urlencoded', 'json'],
    ['http.content_len', '27', '28'],
    ['http.connection', 'close', 'keep-alive'],
    ['http.start', 'POST /Admin', 'Cookie: nope'],
    ['http.request_body', 'cmd=whoami', 'password=x'],
  ];
  for (const [buf, hit, miss] of cases) {
    assert.equal(fires(`flow:to_server; ${buf}; content:"${hit}";`), true, `${buf} "${hit}"`);
    assert.equal(fires(`flow:to_server; ${buf}; content:"${miss}";`), false, `${buf} "${miss}"`);
  }
});

test('sticky buffers of responses, and the response body under its names', () => {
  const cases: [string, string, string][] = [
    ['http.stat_code', '302', '200'],
    ['http.stat_msg', 'Found', 'OK'],
    ['http.response_line', 'HTTP/1.1 302 Found', '404'],
    ['http.server', 'Apache', 'nginx'],
    ['http.location', '/home', '/away'],
    ['http.cookie', 'id=1', 'session'],
    ['http.response_body', 'uid=0(root)', 'gid='],
    ['file.data', 'uid=0(root)', 'gid='],
    ['file_data', '<html>', 'body'],
    ['http.header', 'Server: Apache|0d 0a|', 'Set-Cookie'],
  ];
  for (const [buf, hit, miss] of cases) {
    assert.equal(fires(`flow:to_client; ${buf}; content:"${hit}";`), true, `${buf} "${hit}"`);
    assert.equal(fires(`flow:to_client; ${buf}; content:"${miss}";`), false, `${buf} "${miss}"`);
  }
});

test('file.data to_server: the body of a PUT or a POST without multipart boundary is a file (Suricata 7); other requests have none', () => {
  const rule = 'flow:to_server; file.data; content:"cmd=whoami";';
  const run = (req: string): boolean => {
    const rs = compile([`alert http any any -> any any (msg:"t"; ${rule} sid:1;)`]);
    const s = rs.signatures[0]!;
    return verifyAppSignature(s, txOf(req, RES), 'to_server', { flowbits: new Set(), serverPort: 80 });
  };
  const body = 'password=secret&cmd=whoami';
  const req = (method: string, ct: string | null): string =>
    `${method} /up HTTP/1.1\r\nHost: a\r\n${ct === null ? '' : `Content-Type: ${ct}\r\n`}Content-Length: ${body.length}\r\n\r\n${body}`;
  assert.equal(run(req('POST', null)), true);
  assert.equal(run(req('POST', 'application/x-www-form-urlencoded')), true);
  assert.equal(run(req('PUT', 'multipart/form-data; boundary=x')), true);
  assert.equal(run(req('POST', 'multipart/form-data; boundary=----abc')), false);
  assert.equal(run(req('POST', 'multipart/form-data;   BOUNDARY="q"')), false);
  assert.equal(run(req('POST', `multipart/form-data; boundary=${'b'.repeat(200)}`)), false);
  // a boundary= that does not start a parameter is no boundary
  assert.equal(run(req('POST', 'text/plain; charset=x-boundary=1')), true);
  assert.equal(run(req('PATCH', null)), false);
  assert.equal(run(req('post', null)), false);
});

test('the direction comes from the buffers when the rule has no flow direction', () => {
  const rs = compile(['alert http any any -> any any (http.stat_code; content:"302"; sid:1;)', 'alert http any any -> any any (http.uri; content:"login"; sid:2;)']);
  assert.equal(rs.signatures.find((s) => s.id === 1)?.direction, 'to_client');
  assert.equal(rs.signatures.find((s) => s.id === 2)?.direction, 'to_server');
  const skipped = parseRule('alert http any any -> any any (flow:to_server; http.stat_code; content:"302"; sid:3;)', 't.rules', 1, { vars });
  assert.ok('reason' in skipped && skipped.reason === 'invalid rule');
  const mixed = parseRule('alert http any any -> any any (http.uri; content:"a"; http.stat_code; content:"302"; sid:4;)', 't.rules', 1, { vars });
  assert.ok('reason' in mixed && /both directions/.test(mixed.message));
});

test('legacy content modifiers, uricontent and their relative chains', () => {
  assert.equal(fires('content:"login.php"; http_uri;'), true);
  assert.equal(fires('content:"%61dmin"; http_uri;'), false);
  assert.equal(fires('content:"%61dmin"; http_raw_uri;'), true);
  assert.equal(fires('uricontent:"user=admin";'), true);
  assert.equal(fires('content:"POST"; http_method; content:"evil"; http_user_agent;'), true);
  assert.equal(fires('content:"POST"; http_method; content:"GET"; http_method;'), false);
  assert.equal(fires('content:"Mozilla"; http_header; content:"evil"; http_header; distance:0; within:20;'), true);
  assert.equal(fires('content:"evil"; http_header; content:"Mozilla"; http_header; distance:0;'), false);
  assert.equal(fires('content:"whoami"; http_client_body;'), true);
  assert.equal(fires('content:"root"; http_server_body;'), true);
  assert.equal(fires('content:"session=abc"; http_cookie;'), true);
  assert.equal(fires('content:"www.example.com"; http_host;'), true);
  assert.equal(fires('content:"Example"; http_raw_host;'), true);
  assert.equal(fires('content:"302"; http_stat_code;'), true);
  assert.equal(fires('content:"Found"; http_stat_msg;'), true);
  // a modifier on a content already in a sticky buffer is refused (Suricata too)
  const r = parseRule('alert http any any -> any any (http.uri; content:"a"; http_header; sid:5;)', 't.rules', 1, { vars });
  assert.ok('reason' in r && r.reason === 'invalid rule');
});

test('pcre buffer flags select their buffer; with a sticky buffer only the same one', () => {
  assert.equal(fires('pcre:"/login\\.php\\?user=admin/U";'), true);
  assert.equal(fires('pcre:"/%61dmin/I";'), true);
  assert.equal(fires('pcre:"/^POST$/M";'), true);
  assert.equal(fires('pcre:"/^Mozilla.*evil/V";'), true);
  assert.equal(fires('pcre:"/^www\\.example\\.com$/W";'), true);
  assert.equal(fires('pcre:"/:8080$/Z";'), true);
  assert.equal(fires('pcre:"/User-Agent: [^\\r]+\\r\\n/H";'), true);
  assert.equal(fires('pcre:"/Host: WWW/D";'), true);
  assert.equal(fires('pcre:"/^session=/C";'), true);
  assert.equal(fires('pcre:"/cmd=\\w+/P";'), true);
  // file.data exists in both directions: the response body, and to the server a PUT or non-multipart POST body
  assert.equal(fires('flow:to_client; pcre:"/uid=\\d+/Q";'), true);
  assert.equal(fires('flow:to_server; pcre:"/cmd=\\w+/Q";'), true);
  assert.equal(fires('pcre:"/^30\\d$/S";'), true);
  assert.equal(fires('pcre:"/^Fou/Y";'), true);
  assert.equal(fires('http.uri; content:"login"; pcre:"/user=\\w+$/UR";'), false); // "&x=1" follows
  assert.equal(fires('http.uri; content:"login"; pcre:"/user=\\w+&/UR";'), true);
  const r = parseRule('alert http any any -> any any (http.uri; content:"a"; pcre:"/b/H"; sid:5;)', 't.rules', 1, { vars });
  assert.ok('reason' in r && r.reason === 'invalid rule');
});

test('bsize, urilen, startswith/endswith, offset/depth per buffer', () => {
  assert.equal(fires('http.method; content:"POST"; bsize:4;'), true);
  assert.equal(fires('http.method; content:"POST"; bsize:>4;'), false);
  assert.equal(fires('http.user_agent; bsize:10<>30; content:"evil";'), true);
  assert.equal(fires('urilen:25;'), true); // "/login.php?user=admin&x=1"
  assert.equal(fires('urilen:>25;'), false);
  assert.equal(fires('urilen:>25,raw;'), true);
  assert.equal(fires('http.uri; content:"/login"; startswith;'), true);
  assert.equal(fires('http.uri; content:"login"; startswith;'), false);
  assert.equal(fires('http.uri; content:"x=1"; endswith;'), true);
  assert.equal(fires('http.uri; content:"login"; offset:1; depth:6;'), true);
  assert.equal(fires('http.uri; content:"login"; offset:2;'), false);
  assert.equal(fires('http.uri; content:"/"; content:"user"; distance:0; within:16;'), true);
  assert.equal(fires('http.uri; content:"/"; content:"x=1"; distance:0; within:3;'), false);
  assert.equal(fires('http.uri; content:"x=1"; isdataat:!1,relative;'), true);
  assert.equal(fires('http.host; content:"example"; nocase;'), true);
  assert.equal(fires('http.host; content:"EXAMPLE"; nocase;'), true); // Suricata: a warning, not an error
  const upper = parseRule('alert http any any -> any any (http.host; content:"Example"; sid:5;)', 't.rules', 1, { vars });
  assert.ok('reason' in upper && /lowercase/.test(upper.message));
});

test('transforms on a buffer: a chain, and separate lists for the same buffer with different chains', () => {
  assert.equal(fires('http.uri.raw; url_decode; content:"user=admin";'), true);
  assert.equal(fires('http.uri.raw; content:"user=admin";'), false);
  assert.equal(fires('http.user_agent; to_lowercase; content:"mozilla";'), true);
  assert.equal(fires('http.user_agent; to_uppercase; content:"EVIL";'), true);
  assert.equal(fires('http.user_agent; strip_whitespace; content:"Mozilla/5.0(evil)";'), true);
  assert.equal(fires('http.host; dotprefix; content:".example.com"; endswith;'), true);
  assert.equal(fires('http.header; header_lowercase; content:"user-agent: Mozilla";'), true);
  assert.equal(fires('http.method; to_md5; content:"|a0 24 39 ec 22 9d 8b e0 e7 4b 0c 16 02 39 23 10|"; bsize:16;'), true);
  assert.equal(fires('http.method; to_md5; content:"POST";'), false);
  // user-agent both raw and lowercased in one rule: two lists
  assert.equal(fires('http.user_agent; content:"Mozilla"; http.user_agent; to_lowercase; content:"mozilla";'), true);
  assert.equal(fires('http.user_agent; content:"mozilla"; http.user_agent; to_lowercase; content:"mozilla";'), false);
  // a transform after matches starts a new chain on the base buffer (Suricata 7 DetectBufferGetActiveList)
  assert.equal(fires('http.user_agent; content:"Mozilla"; to_lowercase; content:"mozilla";'), true);
  assert.equal(fires('http.user_agent; content:"mozilla"; to_lowercase; content:"mozilla";'), false);
  assert.equal(fires('http.uri.raw; to_uppercase; content:"/ADMIN"; url_decode; content:"user=admin";'), true); // url_decode alone
  const late = parseRule('alert http any any -> any any (content:"a"; to_lowercase; sid:5;)', 't.rules', 1, { vars });
  assert.ok('reason' in late && /without a sticky buffer/.test(late.message));
});

test('multi-buffers: one header instance must hold the whole list', () => {
  assert.equal(fires('http.request_header; content:"Host: WWW"; startswith;'), true);
  assert.equal(fires('http.request_header; content:"Accept"; content:"Mozilla";'), false);
  assert.equal(fires('http.response_header; content:"Location: /home"; bsize:15;', 'alert http any any -> any any'), true);
});

test('raw content in an alert http rule inspects the stream; app-layer-protocol; ports', () => {
  const rs = compile(['alert http any any -> any any (flow:to_server; content:"whoami"; sid:1;)', 'alert tcp any any -> any 80 (app-layer-protocol:http; content:"x"; sid:2;)', 'alert http any any -> any 8080 (http.method; content:"POST"; sid:3;)']);
  const tx = txOf(REQ, RES);
  const s1 = rs.signatures.find((s) => s.id === 1)!;
  assert.equal(s1.app, 'http');
  assert.equal(fired(rs, tx, 'to_server').includes(1), false); // no stream given
  assert.deepEqual(fired(rs, tx, 'to_server', { stream: b(REQ) }), [1]);
  const s2 = rs.signatures.find((s) => s.id === 2)!;
  assert.equal(s2.app, undefined); // a raw tcp rule with an extra check
  assert.deepEqual(s2.appLayerProtocol, { names: ['http'], negated: false });
  // port 8080 only: not on the server port 80, yes on 8080; `any` app rules are not intercepted ports
  assert.deepEqual(fired(rs, tx, 'to_server', { serverPort: 8080 }), [3]);
  assert.deepEqual(rs.ports, [80, 8080]);
});

test('prefilter: fast pattern chosen per Suricata, always list for rules without buffer content', () => {
  const rs = compile([
    'alert http any any -> any any (flow:to_server; http.method; content:"POST"; http.uri; content:"login.php"; sid:1;)',
    'alert http any any -> any any (flow:to_server; http.method; content:"POST"; fast_pattern; http.uri; content:"login.php"; sid:2;)',
    'alert http any any -> any any (flow:to_server; urilen:>5; sid:3;)',
    'alert http any any -> any any (flow:to_server; http.uri; content:"LOGIN.PHP"; sid:4;)',
    'alert http any any -> any any (flow:to_server; http.uri; content:"LOGIN.PHP"; nocase; sid:5;)',
    'alert http any any -> any any (flow:to_server; http.user_agent; content:"NotThere123"; fast_pattern:3,5; sid:6;)',
  ]);
  const byId = new Map(rs.signatures.map((s, i) => [s.id, i]));
  const s1 = rs.signatures[byId.get(1)!]!;
  assert.equal(s1.buffers![s1.appFastPattern![0]]!.buffer, 'http.uri'); // longest
  const s2 = rs.signatures[byId.get(2)!]!;
  assert.equal(s2.buffers![s2.appFastPattern![0]]!.buffer, 'http.method'); // named
  assert.equal(rs.signatures[byId.get(3)!]!.appFastPattern, undefined);
  assert.deepEqual(rs.app?.always.get('http:to_server'), [byId.get(3)]);
  const tx = txOf(REQ, RES);
  const out: number[] = [];
  appCandidates(rs, ['http'], tx, 'to_server', out);
  // sid 4 is case-sensitive: the folded automaton hit is re-checked and dropped
  assert.deepEqual(out.map((i) => rs.signatures[i]!.id).sort(), [1, 2, 3, 5]);
  assert.deepEqual(fired(rs, tx, 'to_server'), [1, 2, 3, 5]);
  assert.deepEqual(fired(rs, tx, 'to_client'), []);
  // a tx of another protocol name gets nothing
  assert.equal(appCandidates(rs, ['tls'], tx, 'to_server', out), 0);
});

test('buffers not there yet do not match; they match once the tx progressed', () => {
  const rs = compile(['alert http any any -> any any (flow:to_server; http.user_agent; content:"evil"; sid:1;)']);
  const p = httpProtocol.create({ serverPort: 80, clientPort: 40000 });
  const part = 'GET / HTTP/1.1\r\nUser-Agent: evil\r\n';
  p.feed('to_server', b(part), 0, part.length, 0);
  let tx = [...p.txs()][0]!;
  assert.deepEqual(fired(rs, tx, 'to_server'), []);
  p.feed('to_server', b('\r\n'), 0, 2, 0);
  tx = [...p.txs()][0]!;
  assert.deepEqual(fired(rs, tx, 'to_server'), [1]);
});

test('a stable buffer is scanned once per tx direction; a new array (or length) is scanned again', () => {
  const rs = compile([
    'alert http any any -> any any (msg:"uri"; http.uri; content:"/login.php"; sid:1;)',
    'alert http any any -> any any (msg:"ua"; http.user_agent; content:"evil"; sid:2;)',
  ]);
  const real = txOf(REQ);
  const arrays = new Map<string, Uint8Array | null>();
  // The tx hands out the same array per buffer as long as nothing changes it (AppBufferSpec.stable).
  // Its buffers change behind the real tx's back: no buffersVersion (no reuse of whole candidate lists).
  const tx: AppTx = Object.assign(Object.create(real) as AppTx, {
    buffer: (name: string, dir: AppDirection): Uint8Array | null => {
      if (!arrays.has(name)) arrays.set(name, real.buffer(name, dir));
      return arrays.get(name) ?? null;
    },
    buffersVersion: undefined,
  });
  const cache = new Map() as Parameters<typeof appCandidates>[5] & object;
  const sids = (): number[] => {
    const out: number[] = [];
    appCandidates(rs, httpProtocol.ruleProtocols, tx, 'to_server', out, cache);
    return out.map((i) => rs.signatures[i]!.id);
  };
  assert.deepEqual(sids(), [1, 2]);
  // Same array, bytes changed behind the contract's back: what the first scan found is reused.
  arrays.get('http.uri')!.fill(0x41);
  assert.deepEqual(sids(), [1, 2]);
  // A new array (as a rebuilt buffer is) is scanned again.
  arrays.set('http.uri', b('/index.html'));
  assert.deepEqual(sids(), [2]);
  // Without a cache every call scans.
  const out: number[] = [];
  arrays.set('http.uri', b('/x/login.php'));
  appCandidates(rs, httpProtocol.ruleProtocols, tx, 'to_server', out);
  assert.deepEqual(out.map((i) => rs.signatures[i]!.id), [1, 2]);
});

test('candidate plans are per ruleset and protocol list: a reloaded ruleset never reuses the old one', () => {
  const protos = httpProtocol.ruleProtocols;
  const tx = txOf(REQ, RES);
  const a = compile(['alert http any any -> any any (msg:"uri"; http.uri; content:"/login.php"; sid:1;)']);
  const b2 = compile([
    'alert http any any -> any any (msg:"always"; flow:to_server; http.method; sid:7;)',
    'alert http any any -> any any (msg:"ua"; http.user_agent; content:"evil"; sid:2;)',
    'alert http any any -> any any (msg:"loc"; flow:to_client; http.location; content:"/home"; sid:3;)',
  ]);
  const sids = (rs: Ruleset, list: readonly string[], dir: AppDirection): number[] => {
    const out: number[] = [];
    appCandidates(rs, list, tx, dir, out);
    return out.map((i) => rs.signatures[i]!.id).sort((x, y) => x - y);
  };
  assert.deepEqual(sids(a, protos, 'to_server'), [1]);
  assert.deepEqual(sids(b2, protos, 'to_server'), [2, 7]);
  assert.deepEqual(sids(b2, protos, 'to_client'), [3]);
  assert.deepEqual(sids(a, protos, 'to_server'), [1]);
  // another list with the same protocols (a copy) gets the same answer
  assert.deepEqual(sids(b2, [...protos], 'to_server'), [2, 7]);
  assert.deepEqual(sids(b2, ['tls'], 'to_server'), []);
});

test('missedForGood: an anchored head content missed on the covered part of an append-only buffer', () => {
  const rs = compile([
    'alert http any any -> any any (msg:"a"; flow:to_client; http.response_body; content:"200"; startswith; pcre:"/^\\n[0-9A-F]{4}\\n$/R"; sid:1;)',
    'alert http any any -> any any (msg:"b"; flow:to_client; http.response_body; content:"uid"; offset:6; depth:3; sid:2;)',
    'alert http any any -> any any (msg:"c"; flow:to_client; http.response_body; content:"uid"; sid:3;)',
    'alert http any any -> any any (msg:"d"; flow:to_client; http.location; content:"/x"; startswith; sid:4;)',
    'alert http any any -> any any (msg:"e"; flow:to_client; http.response_body; content:"<ht"; startswith; sid:5;)',
    'alert http any any -> any any (msg:"f"; flow:to_client; http.response_body; content:"zz"; startswith; nocase; sid:6;)',
  ]);
  const byId = new Map(rs.signatures.map((s) => [s.id, s]));
  const p = httpProtocol.create({ serverPort: 80, clientPort: 40000 });
  const req = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';
  p.feed('to_server', b(req), 0, req.length, 0);
  const head = 'HTTP/1.1 200 OK\r\nLocation: /home\r\nContent-Length: 20\r\n\r\n<h';
  p.feed('to_client', b(head), 0, head.length, 0);
  const tx = [...p.txs()][0]!;
  const missed = (sid: number): boolean => missedForGood(byId.get(sid)!, tx, 'to_client', 'http');
  // two body bytes: the 3-byte windows are not covered yet
  assert.equal(missed(1), false);
  assert.equal(missed(5), false);
  const more = 'tml>uid=0</html';
  p.feed('to_client', b(more), 0, more.length, 0);
  assert.equal(missed(1), true); // "<ht" is not "200", whatever follows
  assert.equal(missed(6), true);
  assert.equal(missed(5), false); // it is there
  assert.equal(missed(2), false); // "uid" at 6..9 is in its window
  assert.equal(missed(3), false); // not anchored: may come later
  assert.equal(missed(4), false); // http.location is not append-only
  assert.equal(missedForGood(byId.get(1)!, tx, 'to_client', 'tls'), false); // not append-only there
  // and verification agrees: the missed one never fires, the others as before
  const ctx: AppVerifyContext = { flowbits: new Set(), serverPort: 80 };
  assert.equal(verifyAppSignature(byId.get(1)!, tx, 'to_client', ctx), false);
  assert.equal(verifyAppSignature(byId.get(5)!, tx, 'to_client', ctx), true);
});

test('an append-only buffer scanned as it grows (four chains over long growth) finds what a whole scan finds', () => {
  const words = ['secret', 'PassWord', 'evil.exe', 'zz', 'MZ\x90\x00', 'cmd.exe /c', 'abcdefghijklmnopqrstuvwxyz012345'];
  // Bytes a rule's content cannot hold as they are go in |hex|.
  const esc = (w: string): string => Array.from(Buffer.from(w, 'latin1'), (x) => (x < 0x20 || x > 0x7e || x === 0x22 || x === 0x3b || x === 0x5c || x === 0x7c ? `|${x.toString(16).padStart(2, '0')}|` : String.fromCharCode(x))).join('');
  const rs = compile(words.map((w, i) => `alert http any any -> any any (flow:to_server; http.request_body; content:"${esc(w)}";${i % 2 === 0 ? ' nocase;' : ''} sid:${i + 1};)`));
  const real = txOf(REQ);
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  for (let round = 0; round < 40; round++) {
    // One body grown in steps of 1 byte to 9 KiB; words planted anywhere, across step and chain borders too.
    const body = new Uint8Array(40_000);
    for (let i = 0; i < body.length; i++) body[i] = 97 + rnd(26);
    for (let k = rnd(6); k > 0; k--) {
      const w = Buffer.from(rnd(2) === 0 ? words[rnd(words.length)]! : words[rnd(words.length)]!.toUpperCase(), 'latin1');
      body.set(w, rnd(body.length - w.length));
    }
    let len = 0;
    const tx: AppTx = Object.assign(Object.create(real) as AppTx, {
      buffer: (name: string, dir: AppDirection): Uint8Array | null => (name === 'http.request_body' ? body.subarray(0, len) : real.buffer(name, dir)),
    });
    const cache = new Map() as Parameters<typeof appCandidates>[5] & object;
    while (len < body.length) {
      len = Math.min(body.length, len + (rnd(3) === 0 ? 1 + rnd(64) : 1 + rnd(9000)));
      const grown: number[] = [];
      const whole: number[] = [];
      appCandidates(rs, httpProtocol.ruleProtocols, tx, 'to_server', grown, cache);
      appCandidates(rs, httpProtocol.ruleProtocols, tx, 'to_server', whole);
      assert.deepEqual(grown, whole, `round ${round}, ${len} bytes`);
    }
  }
});

test('chainHit: an unmarked state passes; a marked one is unmarked and reports its patterns only from `from` on', () => {
  const rs = compileRuleset(
    [{ file: 't.rules', text: 'alert http any any -> any any (msg:"a"; flow:to_server; http.uri; content:"abc"; sid:1;)' }],
    { vars: defaultConfig().databases.vars },
  );
  const pf = rs.app!.prefilters[0]!;
  const b = Buffer.from('xxabc', 'latin1');
  let s = 0;
  for (let i = 0; i < 4; i++) s = pf.dfa.next[s + b[i]!]!;
  assert.ok(s >= 0);
  const none: number[] = [];
  assert.equal(chainHit(pf, s, b, 3, 0, none), s);
  const end = pf.dfa.next[s + b[4]!]!;
  assert.ok(end < 0);
  const found: number[] = [];
  assert.equal(chainHit(pf, end, b, 4, 5, found), end & 0x7fffffff);
  assert.deepEqual(found, []);
  assert.equal(chainHit(pf, end, b, 4, 4, found), end & 0x7fffffff);
  assert.deepEqual(found.map((i) => rs.signatures[i]!.id), [1]);
});
