/**
 * DNS over TCP: framing (2-byte length), probe (port 53, plausible header, direction), names with
 * compression, events, limits, gaps; `alert dns` rules through the real loader and AppTxDetector.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsParser, DnsTx, probeDnsTcp, parseMessage, DEFAULT_DNS_LIMITS, dnsEve } from '../../../../../src/engine/app-layer/dns/index.js';
import { AppTxDetector } from '../../../../../src/engine/detect/app-tx.js';
import type { AppFeedContext } from '../../../../../src/engine/detect/types.js';
import { compileRuleset } from '../../../../../src/signatures/compile.js';
import { defaultConfig } from '../../../../../src/config/types.js';

const be16 = (n: number): number[] => [n >> 8, n & 0xff];
const s = (u: Uint8Array): string => Buffer.from(u).toString('latin1');

function qname(name: string): number[] {
  const out: number[] = [];
  for (const l of name.split('.')) out.push(l.length, ...Buffer.from(l, 'latin1'));
  out.push(0);
  return out;
}

interface Msg { id?: number; flags?: number; questions?: [string, number][]; answers?: { name: number[]; type: number; rdata: number[] }[]; raw?: number[] }

/** An RFC 1035 message (header, questions, answers with the given owner-name bytes). */
function msg(m: Msg): Uint8Array {
  const q = m.questions ?? [];
  const a = m.answers ?? [];
  const out = [...be16(m.id ?? 0x1234), ...be16(m.flags ?? 0x0100), ...be16(q.length), ...be16(a.length), 0, 0, 0, 0];
  for (const [n, t] of q) out.push(...qname(n), ...be16(t), ...be16(1));
  for (const r of a) out.push(...r.name, ...be16(r.type), ...be16(1), 0, 0, 0, 60, ...be16(r.rdata.length), ...r.rdata);
  if (m.raw) out.push(...m.raw);
  return Uint8Array.from(out);
}

/** TCP framing: each message after its 2-byte length. */
const tcp = (...ms: Uint8Array[]): Uint8Array => Uint8Array.from(ms.flatMap((x) => [...be16(x.length), ...x]));

test('probe: a request with a plausible header to the server, a response to the client; need-more before 14 bytes', () => {
  const q = tcp(msg({ questions: [['www.example.com', 1]] }));
  assert.equal(probeDnsTcp('to_server', q, q.length), 'match');
  assert.equal(probeDnsTcp('to_server', q, 10), 'need-more');
  // only the header so far: judged on the header (Suricata probes partial messages that way)
  assert.equal(probeDnsTcp('to_server', q, 14), 'match');
  assert.equal(probeDnsTcp('to_client', q, q.length), 'no', 'a request is not a response');
  const r = tcp(msg({ flags: 0x8180, questions: [['www.example.com', 1]] }));
  assert.equal(probeDnsTcp('to_client', r, r.length), 'match');
  // a request without questions, records the length cannot hold, a body that does not parse
  assert.equal(probeDnsTcp('to_server', tcp(msg({})), 14), 'no');
  const many = Uint8Array.from([0, 20, 0x12, 0x34, 0x01, 0x00, 0x00, 0x40, 0, 0, 0, 0, 0, 0, ...new Array<number>(8).fill(0)]);
  assert.equal(probeDnsTcp('to_server', many, many.length), 'no');
  const bad = tcp(msg({ questions: [['a.b', 1]], raw: [] }).slice(0, 16));
  assert.equal(probeDnsTcp('to_server', bad, bad.length), 'no');
  const http = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(probeDnsTcp('to_server', http, http.length), 'no');
});

test('parser: messages split over segments and several in one, zero-length prefixes skipped, one tx per message', () => {
  const p = new DnsParser();
  const q1 = msg({ id: 1, questions: [['a.example', 1]] });
  const q2 = msg({ id: 2, flags: 0x2800, questions: [['b.example', 16], ['c.example', 28]] });
  const bytes = Uint8Array.from([0, 0, ...tcp(q1, q2)]);
  p.feed('to_server', bytes, 0, 5);
  assert.equal([...p.txs()].length, 0);
  p.feed('to_server', bytes, 5, bytes.length - 5);
  const txs = [...p.txs()];
  assert.equal(txs.length, 2);
  assert.deepEqual(txs[1]!.multiBuffer('dns.query', 'to_server').map(s), ['b.example', 'c.example']);
  assert.deepEqual(txs[1]!.multiBuffer('dns.query', 'to_client'), []);
  assert.equal(txs[1]!.msg?.header.id, 2);
  assert.equal(p.state, 'ok');
});

test('names: compression pointers followed; a pointer loop ends the name with infinite_loop; overlong names are cut', () => {
  // answer owner name = pointer to the question name at offset 12
  const r = msg({ flags: 0x8180, questions: [['mail.example.com', 1]], answers: [{ name: [0xc0, 12], type: 5, rdata: [0xc0, 17] }] });
  const parsed = parseMessage(r, r.length, DEFAULT_DNS_LIMITS);
  assert.ok(typeof parsed !== 'string');
  assert.deepEqual(parsed.answerTypes, [5]);
  // a question whose name points at itself
  const loop = Uint8Array.from([0, 1, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
  const l = parseMessage(loop, loop.length, DEFAULT_DNS_LIMITS);
  assert.ok(typeof l !== 'string' && l.pointerLoop);
  const p = new DnsParser();
  const f = tcp(loop);
  p.feed('to_server', f, 0, f.length);
  assert.deepEqual([...p.txs()][0]!.events, ['dns.infinite_loop']);
  const long = msg({ questions: [[Array.from({ length: 20 }, () => 'x'.repeat(60)).join('.'), 1]] });
  const lp = parseMessage(long, long.length, { ...DEFAULT_DNS_LIMITS, maxName: 100 });
  assert.ok(typeof lp !== 'string' && lp.nameTooLong && lp.queries[0]!.name.length === 100);
});

test('invalid input: malformed body → event on the last tx and the parser stops; a response sent to the server stops it too', () => {
  const p = new DnsParser();
  const ok = tcp(msg({ questions: [['a.example', 1]] }));
  p.feed('to_server', ok, 0, ok.length);
  // header says one question, the name runs past the message
  const bad = tcp(Uint8Array.from([0, 9, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 9, 0x61]));
  p.feed('to_server', bad, 0, bad.length);
  assert.equal(p.state, 'failed');
  assert.equal(p.failReason, 'malformed');
  assert.deepEqual([...p.txs()][0]!.events, ['dns.malformed_data']);
  const p2 = new DnsParser();
  const resp = tcp(msg({ flags: 0x8180, questions: [['a.example', 1]] }));
  p2.feed('to_server', resp, 0, resp.length);
  assert.equal(p2.failReason, 'not_a_request');
  // response without QR: tx kept, event not_a_response
  const p3 = new DnsParser();
  p3.feed('to_client', ok, 0, ok.length);
  assert.deepEqual([...p3.txs()][0]!.events, ['dns.not_a_response']);
});

test('gap: the partial message is dropped, parsing resumes at a chunk that probes as DNS; transaction bound', () => {
  const p = new DnsParser();
  const q = tcp(msg({ questions: [['a.example', 1]] }));
  p.feed('to_server', q, 0, 7);
  p.gap('to_server', 100);
  p.feed('to_server', Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16), 0, 16);
  assert.equal([...p.txs()].length, 0);
  p.feed('to_server', q, 0, q.length);
  assert.equal([...p.txs()].length, 1);
  assert.equal(p.counters().ignored_bytes, 16);
  const small = new DnsParser({ maxTransactions: 2 });
  const three = tcp(...[1, 2, 3].map((id) => msg({ id, questions: [['a.example', 1]] })));
  small.feed('to_server', three, 0, three.length);
  assert.equal(small.failReason, 'too_many_transactions');
});

const vars = defaultConfig().databases.vars;

function run(rules: string[], port: number, steps: ['to_server' | 'to_client', Uint8Array][]): { sids: number[]; eve: Record<string, unknown>[] } {
  const rs = compileRuleset([{ file: 't.rules', text: rules.join('\n') }], { vars });
  assert.equal(rs.stats.loaded, rules.length, 'every rule loads');
  const d = new AppTxDetector(rs);
  const f = d.newFlow(port, 40000);
  const sids: number[] = [];
  const eve: Record<string, unknown>[] = [];
  const stream = { to_server: [] as number[], to_client: [] as number[] };
  for (const [dir, b] of steps) {
    stream[dir].push(...b);
    const st = Uint8Array.from(stream[dir]);
    const ctx: AppFeedContext = {
      verify: { flowbits: new Set(), stream: st, streamLength: st.length },
      fire: (si, tx, proto) => {
        sids.push(rs.signatures[si]!.id);
        eve.push(proto.eve(tx));
      },
    };
    d.data(f, dir, b, 0, b.length, stream[dir].length - b.length, 0, ctx);
  }
  return { sids: sids.sort((a, b) => a - b), eve };
}

const RULES = [
  'alert dns any any -> any any (msg:"query"; dns.query; content:"evil.example"; nocase; sid:1;)',
  'alert dns any any -> any any (msg:"legacy"; dns_query; content:"evil"; sid:2;)',
  'alert dns any any -> any any (msg:"opcode"; dns.opcode:!0; sid:3;)',
  'alert dns any any -> any any (msg:"txt query"; flow:to_server; dns.rrtype:16; sid:4;)',
  'alert dns $EXTERNAL_NET any -> $HOME_NET any (msg:"payload"; content:"|06|tunnel|07|example|00 00 10 00 01|"; sid:5;)',
  'alert dns any any -> any any (msg:"answer type"; flow:to_client; dns.rrtype:5; sid:6;)',
];

test('alert dns rules load and apply to DNS over TCP on port 53: dns.query, dns.opcode, dns.rrtype, payload; EVE dns object', () => {
  const q = tcp(msg({ id: 7, questions: [['x.EVIL.example', 1]] }), msg({ id: 8, flags: 0x2800, questions: [['tunnel.example', 16]] }));
  const r = tcp(msg({ id: 7, flags: 0x8180, questions: [['x.evil.example', 1]], answers: [{ name: [0xc0, 12], type: 5, rdata: [0xc0, 14] }] }));
  const out = run(RULES, 53, [['to_server', q], ['to_client', r]]);
  // 1: nocase query (request tx 0); 2 is case-sensitive ("EVIL" is not "evil"), and the
  // response's question is to_client while the rule (no flow) is to_server; 3 and 4: tx 1
  // (opcode 5, TXT); 5: the raw question bytes; 6: the response's CNAME answer.
  assert.deepEqual(out.sids, [1, 3, 4, 5, 6]);
  const first = out.eve[0]!;
  assert.deepEqual(first, { version: 3, type: 'request', tx_id: 0, id: 7, opcode: 0, queries: [{ rrname: 'x.EVIL.example', rrtype: 'A' }] });
  // the legacy name works on the lowercase query of a to_server request
  assert.deepEqual(run([RULES[1]!], 53, [['to_server', tcp(msg({ questions: [['x.evil.example', 1]] }))]]).sids, [2]);
});

test('DNS is probed on server port 53 only: the same bytes on another port are not DNS', () => {
  const q = tcp(msg({ questions: [['evil.example', 16]] }));
  assert.deepEqual(run(RULES, 5353, [['to_server', q]]).sids, []);
  const dnsTx = new DnsTx(0, 'to_server', null);
  assert.deepEqual(dnsEve(dnsTx), {});
});
