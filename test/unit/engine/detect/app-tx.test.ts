/** AppTxDetector: content detection, parser feeding, one alert per signature per tx, release. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppTxDetector } from '../../../../src/engine/detect/app-tx.js';
import type { AppFeedContext } from '../../../../src/engine/detect/types.js';
import { compileRuleset } from '../../../../src/signatures/compile.js';
import { defaultConfig } from '../../../../src/config/types.js';
import { negotiate, sessionSetupAnonymous, transPeekNamedPipe, treeConnectIpc } from '../../../fixtures/smb1-exploit.js';

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

test('alert smb raw content anchored with offset/depth matches a later request: the window starts where the client resumed after the server spoke', () => {
  // ET "ETERNALBLUE Probe MS17-010 (Generic Flags)" (sid 2025992), its content and offsets.
  const rule = 'alert smb any any -> $HOME_NET any (msg:"probe"; flow:to_server,established; content:"|ff|SMB|25 00 00 00 00|"; offset:4; depth:9; content:"|00 00 00 00 00 00 00 00 00 00|"; distance:5; within:10; content:"|23 00 00 00 07 00 5c 50 49 50 45 5c 00|"; fast_pattern; endswith; sid:2025992;)';
  const r3 = compileRuleset([{ file: 't.rules', text: rule }], { vars: defaultConfig().databases.vars });
  assert.equal(r3.signatures.length, 1, "the ET rule loads as an alert smb signature");
  assert.equal(r3.signatures[0]!.app, "smb");
  const ids = { tid: 0, uid: 0, pid: 0xfeff, mid: 1 };
  const requests = [negotiate(ids), sessionSetupAnonymous({ ...ids, mid: 2 }), treeConnectIpc({ ...ids, mid: 3 }, '203.0.113.5'), transPeekNamedPipe({ ...ids, mid: 4, uid: 100, tid: 1 })];
  // Minimal SMB1 replies (status 0, reply flag, same command and mid), enough to end each turn.
  const reply = (cmd: number, mid: number): Uint8Array => {
    const m = Buffer.alloc(4 + 32 + 3);
    m.writeUInt32BE(35, 0);
    m.write('\xffSMB', 4, 'latin1');
    m[8] = cmd;
    m[13] = 0x98;
    m.writeUInt16LE(0xfeff, 4 + 26);
    m.writeUInt16LE(mid, 4 + 30);
    return new Uint8Array(m);
  };
  const run = (answer: boolean): number[] => {
    const d = new AppTxDetector(r3);
    const f = d.newFlow(445, 40000);
    const fired: number[] = [];
    const streams = { to_server: new Uint8Array(4096), to_client: new Uint8Array(4096) };
    const lens = { to_server: 0, to_client: 0 };
    const feed = (dir: 'to_server' | 'to_client', bytes: Uint8Array): void => {
      streams[dir].set(bytes, lens[dir]);
      const at = lens[dir];
      lens[dir] += bytes.length;
      const c: AppFeedContext = {
        verify: { flowbits: new Set(), stream: streams[dir], streamLength: lens[dir] },
        fire: (si) => fired.push(r3.signatures[si]!.id),
      };
      d.data(f, dir, bytes, 0, bytes.length, at, 0, c);
    };
    for (const [i, q] of requests.entries()) {
      feed('to_server', new Uint8Array(q));
      if (answer && i < 3) feed('to_client', reply(q[8]!, i + 1));
    }
    assert.equal(f.proto?.name, 'smb');
    return fired;
  };
  // The server answered each request: the TRANS record starts the client's last window.
  assert.deepEqual(run(true), [2025992]);
  // Requests left unanswered keep their txs live; the raw-only rule still alerts once per chunk.
  // Pipelined without any reply: the only window is the whole stream, whose offset 4 is the
  // NEGOTIATE header, so the anchored content cannot match (neither does Suricata's first chunk).
  assert.deepEqual(run(false), []);
});

// ---- the URI normalisation the live e2e relies on (test/e2e/http-live.test.ts) ----

test('a %2e-encoded traversal in the query matches http.uri content only after normalisation; http.uri.raw keeps the encoding', () => {
  const content = '/remote/fgt_lang?lang=/../';
  const r = compileRuleset([{
    file: 't.rules',
    text: [
      `alert http any any -> any any (flow:to_server; http.uri; content:"${content}"; depth:35; isdataat:30,relative; sid:11;)`,
      `alert http any any -> any any (flow:to_server; http.uri.raw; content:"${content}"; depth:35; isdataat:30,relative; sid:12;)`,
      'alert http any any -> any any (flow:to_server; http.uri.raw; content:"lang=/%2e%2e/"; sid:13;)',
    ].join('\n'),
  }], { vars: defaultConfig().databases.vars });
  const run = (target: string): number[] => {
    const d = new AppTxDetector(r);
    const f = d.newFlow(8000, 40000);
    const ids: number[] = [];
    const req = b(`GET ${target} HTTP/1.1\r\nHost: 198.51.100.11:8000\r\n\r\n`);
    d.data(f, 'to_server', req, 0, req.length, 0, 0, { verify: { flowbits: new Set() }, fire: (si) => ids.push(r.signatures[si]!.id) });
    return ids.sort();
  };
  assert.deepEqual(run('/remote/fgt_lang?lang=/%2e%2e/%2e%2e/%2e%2e/%2e%2e//////////////////////////dev/cmdb/sslvpn_websession'), [11, 13]);
  // the same target unencoded: the raw-URI copy matches as well (so its silence above is the encoding)
  assert.deepEqual(run('/remote/fgt_lang?lang=/../../../..//////////////////////////dev/cmdb/sslvpn_websession'), [11, 12]);
});

// ---- memory budget ----

const budgetRules = compileRuleset([{
  file: 't.rules',
  text: [
    'alert http any any -> any any (msg:"uri"; flow:to_server; http.uri; content:"/admin"; sid:1;)',
    'alert http any any -> any any (msg:"body"; flow:to_server; http.request_body; content:"BODYMARK"; sid:2;)',
  ].join('\n'),
}], { vars: defaultConfig().databases.vars });

function collect(ids: number[]): AppFeedContext {
  return { verify: { flowbits: new Set() }, fire: (si) => ids.push(budgetRules.signatures[si]!.id) };
}

/** A POST announcing a 90,000-byte body (kept up to the 100 KiB request-body limit), headers and the first body bytes. */
const POST_HEAD = b(`POST /admin HTTP/1.1\r\nHost: a\r\nContent-Length: 90000\r\n\r\n${'x'.repeat(1000)}`);
const BODY_MORE = b(`${'y'.repeat(500)}BODYMARK${'z'.repeat(500)}`);

test('a flow over the per-flow budget stops its app-layer parsing, counted; its memory is given back', () => {
  // Control: under the default budget both signatures fire on this traffic.
  const ok = new AppTxDetector(budgetRules);
  const f0 = ok.newFlow(80, 40000);
  const ids0: number[] = [];
  ok.data(f0, 'to_server', POST_HEAD, 0, POST_HEAD.length, 0, 0, collect(ids0));
  ok.data(f0, 'to_server', BODY_MORE, 0, BODY_MORE.length, POST_HEAD.length, 0, collect(ids0));
  assert.deepEqual(ids0, [1, 2]);
  assert.ok(ok.memory >= 90_000, `the kept body is accounted (${ok.memory})`);
  assert.equal(ok.memory, f0.mem);
  assert.deepEqual(ok.counters.limits, { flow: 0, global: 0 });

  const d = new AppTxDetector(budgetRules, { maxFlowMemory: 64 * 1024 });
  const f = d.newFlow(80, 40000);
  const ids: number[] = [];
  d.data(f, 'to_server', POST_HEAD, 0, POST_HEAD.length, 0, 0, collect(ids));
  // the feed that crossed the budget was inspected (the request line and headers), then the parser went
  assert.deepEqual(ids, [1]);
  assert.equal(f.state, 'limit');
  assert.equal(f.parser, null);
  assert.deepEqual(d.counters.limits, { flow: 1, global: 0 });
  assert.equal(d.memory, 0);
  assert.equal(f.mem, 0);
  // later bytes of the flow are not parsed any more
  d.data(f, 'to_server', BODY_MORE, 0, BODY_MORE.length, POST_HEAD.length, 0, collect(ids));
  assert.deepEqual(ids, [1]);
  assert.equal(d.memory, 0);
  assert.deepEqual(d.counters.limits, { flow: 1, global: 0 }, 'counted once per flow');
  // the control flow gives its bytes back when it ends
  ok.free(f0);
  assert.equal(ok.memory, 0);
  assert.equal(f0.state, 'ended');
  ok.free(f0);
  assert.equal(ok.memory, 0, 'free is idempotent');
});

test('many flows hit the global budget: the flow whose growth crosses it stops, the others keep parsing; all memory returns when flows end', () => {
  // An unfinished request line: each flow holds its buffered bytes (no tx yet, nothing inspected).
  const head = b(`GET /admin?${'p'.repeat(3000)}`);
  const probe = new AppTxDetector(budgetRules);
  const pf = probe.newFlow(80, 40000);
  probe.data(pf, 'to_server', head, 0, head.length, 0, 0, collect([]));
  const per = pf.mem;
  assert.ok(per > 3000, `a flow holds its pending request line (${per})`);

  const d = new AppTxDetector(budgetRules, { maxMemory: Math.floor(5.5 * per) });
  const flows = Array.from({ length: 10 }, (_, i) => d.newFlow(80, 40000 + i));
  for (const f of flows) d.data(f, 'to_server', head, 0, head.length, 0, 0, collect([]));
  assert.deepEqual(flows.map((f) => f.state), [...Array<string>(5).fill('parsing'), ...Array<string>(5).fill('limit')]);
  assert.deepEqual(d.counters.limits, { flow: 0, global: 5 });
  assert.equal(d.memory, 5 * per);
  assert.ok(d.memory <= Math.floor(5.5 * per));
  // a cut flow is not parsed any more: its request never completes
  const ids: number[] = [];
  const rest = b(' HTTP/1.1\r\nHost: a\r\n\r\n');
  d.data(flows[9]!, 'to_server', rest, 0, rest.length, head.length, 0, collect(ids));
  assert.deepEqual(ids, []);
  // flows that end make room: a flow within the budget completes its request (it grows) and is inspected
  for (const f of flows.slice(1, 4)) d.free(f);
  assert.equal(d.memory, 2 * per);
  d.data(flows[0]!, 'to_server', rest, 0, rest.length, head.length, 0, collect(ids));
  assert.deepEqual(ids, [1]);
  assert.equal(flows[0]!.state, 'parsing');
  const late = d.newFlow(80, 41000);
  d.data(late, 'to_server', head, 0, head.length, 0, 0, collect([]));
  assert.equal(late.state, 'parsing');
  assert.deepEqual(d.counters.limits, { flow: 0, global: 5 });
  for (const f of [...flows, late]) d.free(f);
  assert.equal(d.memory, 0);
});

test('bytes held while probing count, and a gap that ends probing gives them back', () => {
  const d = new AppTxDetector(budgetRules, { maxFlowMemory: 1000 });
  const f = d.newFlow(80, 40000);
  // 'G' alone: HTTP needs more
  d.data(f, 'to_server', b('G'), 0, 1, 0, 0, collect([]));
  assert.equal(f.state, 'probing');
  assert.equal(d.memory, 1);
  d.gap(f, 'to_server', 100);
  assert.equal(f.state, 'none');
  assert.equal(d.memory, 0);
  // a probing flow over the per-flow budget is cut like a parsing one
  const g = d.newFlow(80, 40001);
  const big = b('\x07'.repeat(1500));
  d.data(g, 'to_server', big, 0, big.length, 0, 0, collect([]));
  assert.equal(g.state, 'limit');
  assert.equal(d.counters.limits.flow, 1);
  assert.equal(d.memory, 0);
});

test('a flow that ends gives its parser back (AppParser.dispose): the HTTP arena slab goes to the pool', async () => {
  const { pooledSlabBytes } = await import('../../../../src/engine/app-layer/http/bytes.js');
  const d = new AppTxDetector(rs);
  const f = d.newFlow(80, 40000);
  const fired: [number, number, string][] = [];
  const req = b('GET /admin HTTP/1.1\r\nHost: a\r\n\r\n');
  d.data(f, 'to_server', req, 0, req.length, 0, 0, ctx(fired));
  assert.equal(f.state, 'parsing');
  const before = pooledSlabBytes();
  d.free(f);
  assert.equal(f.parser, null);
  assert.ok(pooledSlabBytes() > before, 'the slab went to the pool');
  assert.equal(d.memory, 0);
});
