/** DCERPC over TCP: framing, BIND/BIND_ACK interfaces, calls, fragments, keywords, limits, gaps. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DcerpcParser, DceCall, dcerpcProtocol, dceIfaceKeyword, dceOpnumKeyword, probeDcerpc, dcerpcEve, parseDceIface, parseDceOpnum,
} from '../../../../../src/engine/app-layer/dcerpc/index.js';
import type { AppDirection, AppTx } from '../../../../../src/engine/app-layer/types.js';
import { ascii, cat, dceBind, dceBindAck, dceRequest, dceResponse } from '../smb/build.js';

const SVCCTL = '367abb81-9844-35f1-ad32-98f038001003';
const OTHER = '12345678-1234-abcd-ef00-0123456789ab';
const hex = (u: Uint8Array | null): string | null => (u === null ? null : Buffer.from(u).toString('hex'));

function run(ts: Uint8Array[], tc: Uint8Array[], split = 0): DcerpcParser {
  const p = new DcerpcParser();
  const feed = (dir: AppDirection, d: Uint8Array): void => {
    if (split <= 0) p.feed(dir, d, 0, d.length);
    else for (let o = 0; o < d.length; o += split) p.feed(dir, d, o, Math.min(split, d.length - o));
  };
  // Interleave like a conversation: ts[i] then tc[i].
  for (let i = 0; i < Math.max(ts.length, tc.length); i++) {
    if (ts[i]) feed('to_server', ts[i]!);
    if (tc[i]) feed('to_client', tc[i]!);
  }
  return p;
}

const iface = (tx: AppTx, v: string): boolean => dceIfaceKeyword.match(tx, 'to_server', dceIfaceKeyword.parse(v), 0);
const opnum = (tx: AppTx, v: string): boolean => dceOpnumKeyword.match(tx, 'to_server', dceOpnumKeyword.parse(v), 0);

test('probe: version 5.0 header by content, need-more before 16 bytes', () => {
  const bind = dceBind(1, [{ uuid: SVCCTL, ver: 2, ctxid: 0 }]);
  assert.equal(probeDcerpc('to_server', bind, bind.length), 'match');
  assert.equal(probeDcerpc('to_server', bind, 8), 'need-more');
  assert.equal(probeDcerpc('to_server', ascii('GET / HTTP/1.1\r\n\r\n'), 18), 'no');
  const badDrep = bind.slice();
  badDrep[4] = 0x20;
  assert.equal(probeDcerpc('to_server', badDrep, badDrep.length), 'no');
  assert.equal(dcerpcProtocol.name, 'dcerpc');
});

test('bind, ack, request/response: iface with version and ctxid, opnum, stub data both ways', () => {
  const stub = ascii('\x09\x00\x00\x00\x00\x01\x00\x00payload');
  const p = run(
    [dceBind(1, [{ uuid: SVCCTL, ver: 2, ctxid: 0 }, { uuid: OTHER, ver: 1, ctxid: 1 }]), dceRequest(2, 0, 15, stub)],
    [dceBindAck(1, [0, 2]), dceResponse(2, ascii('answer'))],
  );
  const calls = p.calls();
  assert.equal(calls.length, 2);
  const [bind, req] = calls as [DceCall, DceCall];
  assert.equal(bind.id, 0);
  assert.equal(req.id, 1);
  assert.equal(req.opnum, 15);
  assert.equal(hex(req.buffer('dcerpc.stub_data', 'to_server')), hex(stub));
  // Response stub as Suricata hands it: from after the common header (8-byte response header included).
  assert.equal(Buffer.from(req.buffer('dcerpc.stub_data', 'to_client')!).subarray(8).toString('latin1'), 'answer');
  assert.ok(req.complete('to_server') && req.complete('to_client'));
  assert.ok(iface(req, SVCCTL));
  assert.ok(iface(req, SVCCTL.toUpperCase()), 'uuid hex is case-insensitive');
  assert.ok(iface(req, `${SVCCTL},=2`));
  assert.ok(!iface(req, `${SVCCTL},>2`));
  assert.ok(iface(req, `${SVCCTL},<3,any_frag`));
  assert.ok(!iface(req, OTHER), 'rejected by the bind ack (result 2)');
  assert.ok(!iface(bind, SVCCTL), 'the BIND tx is not a request');
  assert.ok(opnum(req, '15') && opnum(req, '1-20') && opnum(req, '3,15,40') && opnum(req, '>10'));
  assert.ok(!opnum(req, '16') && !opnum(req, '1-14') && !opnum(bind, '0'));
  const eve = dcerpcEve(req);
  assert.equal(eve.request, 'REQUEST');
  assert.deepEqual(eve.req, { opnum: 15, frag_cnt: 1, stub_data_size: stub.length });
  assert.equal(p.counters().transactions, 2);
});

test('iface: request on another context id does not match; no ack means no match', () => {
  const p = run([dceBind(1, [{ uuid: SVCCTL, ver: 2, ctxid: 0 }, { uuid: OTHER, ver: 1, ctxid: 1 }]), dceRequest(2, 1, 3, ascii('x'))], [dceBindAck(1, [0, 0])]);
  const req = p.calls()[1]!;
  assert.ok(!iface(req, SVCCTL));
  assert.ok(iface(req, OTHER));
  const q = run([dceBind(1, [{ uuid: SVCCTL, ver: 2, ctxid: 0 }]), dceRequest(2, 0, 3, ascii('x'))], []);
  assert.ok(!iface(q.calls()[1]!, SVCCTL), 'not acked');
});

test('bind without PFC_FIRST_FRAG: iface matches only with any_frag', () => {
  const p = run([dceBind(1, [{ uuid: SVCCTL, ver: 2, ctxid: 0 }], 0), dceRequest(2, 0, 42, ascii('x'))], [dceBindAck(1, [0])]);
  const req = p.calls()[1]!;
  assert.ok(!iface(req, SVCCTL));
  assert.ok(iface(req, `${SVCCTL},any_frag`));
});

test('stub data is reassembled over request fragments; one call; byte-by-byte identical', () => {
  const frags = [dceRequest(7, 0, 9, ascii('AAAA'), 1), dceRequest(7, 0, 9, ascii('BBBB'), 0), dceRequest(7, 0, 9, ascii('CCCC'), 2)];
  const ts = [dceBind(1, [{ uuid: SVCCTL, ver: 2, ctxid: 0 }]), cat(...frags)];
  for (const split of [0, 1, 3, 17]) {
    const p = run(ts, [dceBindAck(1, [0])], split);
    const calls = p.calls();
    assert.equal(calls.length, 2, `split ${split}`);
    const c = calls[1]!;
    assert.equal(Buffer.from(c.buffer('dcerpc.stub_data', 'to_server')!).toString(), 'AAAABBBBCCCC');
    assert.equal(c.reqFrags, 3);
    assert.ok(c.complete('to_server'));
  }
  const mid = new DcerpcParser();
  mid.feed('to_server', frags[0]!, 0, frags[0]!.length);
  assert.ok(!mid.calls()[0]!.complete('to_server'), 'first fragment only: request not complete');
});

test('a new first fragment with a reused call id starts a new call', () => {
  const p = run([cat(dceRequest(5, 0, 1, ascii('one')), dceRequest(5, 0, 2, ascii('two')))], []);
  assert.deepEqual(p.calls().map((c) => [c.opnum, Buffer.from(c.stubTs.bytes()).toString()]), [[1, 'one'], [2, 'two']]);
});

test('invalid header fails the direction; gap resynchronises on the next PDU', () => {
  const bad = new DcerpcParser();
  const junk = ascii('\x04\x00garbage-garbage-garbage');
  bad.feed('to_server', junk, 0, junk.length);
  assert.equal(bad.state, 'failed');
  assert.equal(bad.failReason, 'bad_header');
  assert.equal(bad.counters().bad_header, 1);

  const p = new DcerpcParser();
  const r1 = dceRequest(1, 0, 1, ascii('first'));
  p.feed('to_server', r1, 0, 10);
  p.gap('to_server', 50);
  const r2 = cat(ascii('zz\x05'), dceRequest(2, 0, 2, ascii('second')));
  p.feed('to_server', r2, 0, r2.length);
  assert.equal(p.state, 'ok');
  assert.deepEqual(p.calls().map((c) => c.opnum), [2]);
  assert.equal(p.counters().resyncs, 1);
});

test('limits: stub bytes per call are cut and counted; pending bytes fail the flow', () => {
  const p = new DcerpcParser({ maxStubBytes: 10 });
  const r = cat(dceRequest(1, 0, 1, ascii('0123456789abcdef'), 1), dceRequest(1, 0, 1, ascii('more'), 2));
  p.feed('to_server', r, 0, r.length);
  const c = p.calls()[0]!;
  assert.equal(Buffer.from(c.buffer('dcerpc.stub_data', 'to_server')!).toString(), '0123456789');
  assert.ok(c.stubTruncated);
  assert.equal(p.counters().limit_stub_bytes, 2);

  const q = new DcerpcParser({ maxPendingBytes: 100 });
  const big = dceRequest(1, 0, 1, new Uint8Array(500));
  q.feed('to_server', big, 0, 80);
  q.feed('to_server', big, 80, 80);
  assert.equal(q.state, 'failed');
  assert.equal(q.failReason, 'pending_bytes');
});

test('release frees calls; memory accounts stub bytes', () => {
  const p = run([cat(dceRequest(1, 0, 1, new Uint8Array(1000)), dceRequest(2, 0, 1, new Uint8Array(10)))], []);
  const before = p.memory();
  assert.ok(before >= 1010);
  p.release(0);
  assert.deepEqual([...p.txs()].map((t) => t.id), [1]);
  assert.ok(p.memory() < before);
});

test('keyword parsing follows Suricata: bad uuid, bad version, ranges', () => {
  assert.throws(() => parseDceIface('367abb81-9844-35f1-ad32'), /uuid/);
  assert.throws(() => parseDceIface(`${SVCCTL},=70000`), /over/);
  assert.throws(() => parseDceIface(`${SVCCTL},=1,foo`), /any_frag/);
  assert.throws(() => parseDceIface(null));
  assert.deepEqual(parseDceIface(`${SVCCTL},any_frag`).anyFrag, true);
  assert.deepEqual(parseDceOpnum('1,5-7'), { kind: 'ranges', ranges: [[1, 1], [5, 7]] });
  assert.throws(() => parseDceOpnum('7-5'));
  assert.throws(() => parseDceOpnum('abc'));
});
