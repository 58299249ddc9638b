/** SMB over NBSS: framing, SMB1/SMB2 commands, the SMB buffers and keywords, DCERPC on pipes, limits, gaps. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmbParser, SmbTx, smbProtocol, probeSmb, smbEve, smbVersionKeyword, parseSmbVersion } from '../../../../../src/engine/app-layer/smb/index.js';
import { DceCall, dceIfaceKeyword, dceOpnumKeyword } from '../../../../../src/engine/app-layer/dcerpc/index.js';
import type { AppDirection, AppTx } from '../../../../../src/engine/app-layer/types.js';
import { rng } from '../../../../../bench/lib/gen.js';
import {
  le16, le32, smb1Hdr, smb1Body, utf16, ascii, cat, dceBind, dceBindAck, dceRequest, dceResponse, nbss, ntlmAuth, smb1Negotiate, smb1SessionSetup, smb1Trans, smb1TransResp,
  smb1TreeConnect, smb1TreeConnectResp, smb1Write, smb2Create, smb2CreateResp, smb2Hdr, smb2Ioctl, smb2IoctlResp, smb2Negotiate,
  smb2NegotiateResp, smb2Read, smb2ReadResp, smb2SessionSetup, smb2TreeConnect, smb2TreeConnectResp, smb2Write, zeros,
} from './build.js';

const SRVSVC = '4b324fc8-1670-01d3-1278-5a47bf6ee188';
const str = (u: Uint8Array | null): string | null => (u === null ? null : Buffer.from(u).toString('utf8'));
const FID = Uint8Array.from({ length: 16 }, (_, i) => i + 1);

type Step = readonly [AppDirection, Uint8Array];

function run(steps: readonly Step[], split?: (n: number) => number[], p = new SmbParser()): SmbParser {
  for (const [dir, msg] of steps) {
    if (!split) p.feed(dir, msg, 0, msg.length);
    else {
      let o = 0;
      for (const n of split(msg.length)) {
        p.feed(dir, msg, o, n);
        o += n;
      }
    }
  }
  return p;
}

const smbTxs = (p: SmbParser): SmbTx[] => [...p.txs()].filter((t): t is SmbTx => t instanceof SmbTx);
const dceTxs = (p: SmbParser): DceCall[] => [...p.txs()].filter((t): t is DceCall => t instanceof DceCall);

/** A whole SMB2 session: negotiate, NTLMSSP auth, IPC$ + disk tree, srvsvc pipe with DCERPC over WRITE/READ and IOCTL. */
function smb2Session(): Step[] {
  const bind = dceBind(2, [{ uuid: SRVSVC, ver: 3, ctxid: 0 }]);
  return [
    ['to_server', nbss(smb2Negotiate(0, [0x0202, 0x0210, 0x0300, 0x0311]))],
    ['to_client', nbss(smb2NegotiateResp(0, 0x0311))],
    ['to_server', nbss(smb2SessionSetup(1, ntlmAuth('Administrator', 'CONTOSO', 'WS01')))],
    ['to_client', nbss(smb2Hdr({ cmd: 1, msgId: 1, response: true, sessionId: 5 }))],
    ['to_server', nbss(smb2TreeConnect(2, '\\\\10.0.0.1\\IPC$'))],
    ['to_client', nbss(smb2TreeConnectResp(2, 1, 2))],
    ['to_server', nbss(smb2TreeConnect(3, '\\\\10.0.0.1\\data'))],
    ['to_client', nbss(smb2TreeConnectResp(3, 2, 1))],
    ['to_server', nbss(smb2Create(4, 1, 'srvsvc'))],
    ['to_client', nbss(smb2CreateResp(4, 1, FID))],
    ['to_server', nbss(smb2Write(5, 1, FID, bind))],
    ['to_client', nbss(smb2Hdr({ cmd: 9, msgId: 5, response: true, treeId: 1 }))],
    ['to_server', nbss(smb2Read(6, 1, FID, 1024))],
    ['to_client', nbss(smb2ReadResp(6, 1, dceBindAck(2, [0])))],
    ['to_server', nbss(smb2Ioctl(7, 1, FID, dceRequest(3, 0, 15, ascii('\\\\SERVER\x00'))))],
    ['to_client', nbss(smb2IoctlResp(7, 1, FID, dceResponse(3, ascii('shares'))))],
  ];
}

test('probe: NBSS session message with an SMB1/SMB2/SMB3-transform signature', () => {
  const m = nbss(smb2Negotiate(0, [0x0202]));
  assert.equal(probeSmb('to_server', m, m.length), 'match');
  assert.equal(probeSmb('to_server', m, 5), 'need-more');
  assert.equal(probeSmb('to_server', nbss(ascii('\xffSMBr')), 9), 'match');
  assert.equal(probeSmb('to_server', nbss(ascii('\xfdSMB....')), 12), 'match');
  assert.equal(probeSmb('to_server', nbss(ascii('\xfcSMB....')), 12), 'no');
  assert.equal(probeSmb('to_server', ascii('GET / HTTP/1.1'), 14), 'no');
  assert.equal(probeSmb('to_server', nbss(ascii('HELLOxxx')), 12), 'no');
  assert.deepEqual(smbProtocol.ruleProtocols, ['smb', 'dcerpc']);
});

test('SMB2 session: version, dialects, ntlmssp user/domain, share vs named pipe, DCERPC over WRITE/READ and IOCTL', () => {
  const p = run(smb2Session());
  const txs = smbTxs(p);
  const neg = txs.find((t) => t.kind === 'negotiate')!;
  assert.deepEqual(neg.dialects, ['2.02', '2.10', '3.00', '3.11']);
  assert.equal(neg.dialect, '3.11');
  assert.ok(smbVersionKeyword.match(neg, 'to_server', 2, 0));
  assert.ok(!smbVersionKeyword.match(neg, 'to_server', 1, 0));
  const ss = txs.find((t) => t.kind === 'session_setup')!;
  assert.equal(str(ss.buffer('smb.ntlmssp_user', 'to_server')), 'Administrator');
  assert.equal(str(ss.buffer('smb.ntlmssp_domain', 'to_server')), 'CONTOSO');
  assert.equal(ss.buffer('smb.ntlmssp_user', 'to_client'), null);
  const [ipc, data] = txs.filter((t) => t.kind === 'tree_connect') as [SmbTx, SmbTx];
  // Suricata's share bytes: 00 bytes removed from the UTF-16 path, first byte dropped.
  assert.equal(str(ipc.buffer('smb.named_pipe', 'to_server')), '\\10.0.0.1\\IPC$');
  assert.equal(ipc.buffer('smb.share', 'to_server'), null);
  assert.equal(str(data.buffer('smb.share', 'to_server')), '\\10.0.0.1\\data');
  assert.equal(data.buffer('smb.named_pipe', 'to_server'), null);
  assert.equal(str(txs.find((t) => t.kind === 'create')!.filename), 'srvsvc');

  const calls = dceTxs(p);
  assert.equal(calls.length, 2, 'bind + request');
  const req = calls[1]!;
  assert.equal(req.opnum, 15);
  assert.equal(str(req.buffer('dcerpc.stub_data', 'to_server')), '\\\\SERVER\x00');
  assert.equal(str(req.buffer('dcerpc.stub_data', 'to_client')), 'shares', 'over SMB the response header is not stub');
  const ifaceOk = (v: string): boolean => dceIfaceKeyword.match(req, 'to_server', dceIfaceKeyword.parse(v), 0);
  assert.ok(ifaceOk(SRVSVC) && ifaceOk(`${SRVSVC},=3`) && !ifaceOk(`${SRVSVC},>3`));
  assert.ok(!dceIfaceKeyword.match(calls[0]!, 'to_server', dceIfaceKeyword.parse(SRVSVC), 0), 'BIND is not a request');
  assert.ok(dceOpnumKeyword.match(req, 'to_server', dceOpnumKeyword.parse('15'), 0));
  assert.ok(smbVersionKeyword.match(req, 'to_server', 2, 0), 'DCERPC tx over SMB2 has smb.version 2');
  // tx ids are per flow, SMB commands and DCERPC calls in one sequence.
  const ids = [...p.txs()].map((t) => t.id);
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(p.counters().smb2_records, 16);

  const eve = smbEve(ss);
  assert.deepEqual(eve.ntlmssp, { domain: 'CONTOSO', user: 'Administrator', host: 'WS01' });
  assert.equal(smbEve(ipc).named_pipe, '\\10.0.0.1\\IPC$');
  assert.equal((smbEve(req).dcerpc as Record<string, unknown>).request, 'REQUEST');
});

test('same transactions and buffers whatever the segmentation (byte by byte, 200 random splits)', () => {
  const snap = (p: SmbParser): unknown => [...p.txs()].map((t: AppTx) => ({
    id: t.id,
    eve: t instanceof SmbTx ? smbEve(t) : null,
    pipe: str(t.buffer('smb.named_pipe', 'to_server')),
    stub: str(t.buffer('dcerpc.stub_data', 'to_server')),
    ts: t.complete('to_server'),
    tc: t.complete('to_client'),
  }));
  const want = snap(run(smb2Session()));
  assert.deepEqual(snap(run(smb2Session(), (n) => Array.from({ length: n }, () => 1))), want);
  const r = rng(11);
  for (let i = 0; i < 200; i++) {
    const split = (n: number): number[] => {
      const out: number[] = [];
      let left = n;
      while (left > 0) {
        const k = Math.min(left, 1 + Math.floor(r() * 40));
        out.push(k);
        left -= k;
      }
      return out;
    };
    assert.deepEqual(snap(run(smb2Session(), split)), want);
  }
});

test('tree connect: buffers are final only with the response; a failed connect is not a pipe', () => {
  const p = run([['to_server', nbss(smb2TreeConnect(2, '\\\\srv\\IPC$'))]]);
  const tc = smbTxs(p)[0]!;
  assert.equal(tc.complete('to_server'), false);
  assert.equal(tc.buffer('smb.named_pipe', 'to_server'), null);
  run([['to_client', nbss(smb2TreeConnectResp(2, 0, 0, 0xc00000cc))]], undefined, p);
  assert.equal(tc.complete('to_server'), true);
  assert.equal(str(tc.buffer('smb.share', 'to_server')), '\\srv\\IPC$');
  assert.equal(tc.status, 0xc00000cc);
});

test('SMB1: negotiate (smb.version 1), ntlmssp in extended-security session setup, unicode and ascii tree connect, DCERPC over TRANS', () => {
  const bind = dceBind(1, [{ uuid: SRVSVC, ver: 3, ctxid: 0 }]);
  const steps: Step[] = [
    ['to_server', nbss(smb1Negotiate(1, ['PC NETWORK PROGRAM 1.0', 'NT LM 0.12', 'SMB 2.002']))],
    ['to_client', nbss(smb2NegotiateResp(0, 0x0202))],
    ['to_server', nbss(smb1SessionSetup(2, ntlmAuth('root', 'WORKGROUP', 'kali', false)))],
    ['to_server', nbss(smb1TreeConnect(3, '\\\\SRV\\IPC$'))],
    ['to_client', nbss(smb1TreeConnectResp(3, 2048, 'IPC'))],
    ['to_server', nbss(smb1TreeConnect(4, '\\\\SRV\\PUBLIC', false))],
    ['to_client', nbss(smb1TreeConnectResp(4, 2049, 'A:'))],
    ['to_server', nbss(smb1Write(5, 2048, 0x4000, bind))],
    ['to_server', nbss(smb1Trans(6, 2048, 0x4000, dceRequest(2, 0, 21, ascii('stub!'))))],
    ['to_client', nbss(smb1TransResp(6, 2048, dceResponse(2, ascii('reply'))))],
  ];
  const p = run(steps);
  const txs = smbTxs(p);
  const neg = txs[0]!;
  assert.equal(neg.version, 1);
  assert.deepEqual(neg.dialects, ['PC NETWORK PROGRAM 1.0', 'NT LM 0.12', 'SMB 2.002']);
  assert.equal(neg.dialect, '2.02', 'SMB2 response to the SMB1 negotiate completes it');
  assert.ok(neg.complete('to_client'));
  assert.ok(smbVersionKeyword.match(neg, 'to_server', 1, 0));
  const ss = txs.find((t) => t.kind === 'session_setup')!;
  assert.equal(str(ss.buffer('smb.ntlmssp_user', 'to_server')), 'root');
  assert.equal(str(ss.buffer('smb.ntlmssp_domain', 'to_server')), 'WORKGROUP');
  const trees = txs.filter((t) => t.kind === 'tree_connect');
  assert.equal(str(trees[0]!.buffer('smb.named_pipe', 'to_server')), '\\SRV\\IPC$', 'first byte dropped like Suricata');
  assert.equal(str(trees[1]!.buffer('smb.share', 'to_server')), '\\SRV\\PUBLIC');
  const calls = dceTxs(p);
  assert.equal(calls.length, 2);
  const req = calls[1]!;
  assert.equal(req.opnum, 21);
  assert.equal(str(req.buffer('dcerpc.stub_data', 'to_server')), 'stub!');
  assert.equal(str(req.buffer('dcerpc.stub_data', 'to_client')), 'reply');
  assert.ok(smbVersionKeyword.match(req, 'to_server', 1, 0));
  // The bind was not acked (no READ of the ack): no iface match.
  assert.ok(!dceIfaceKeyword.match(req, 'to_server', dceIfaceKeyword.parse(SRVSVC), 0));
});

test('DCERPC on a write to an unknown tree is recognised by content; a disk tree carries none', () => {
  const p = run([['to_server', nbss(smb2Write(9, 77, FID, dceRequest(1, 0, 4, ascii('abc'))))]]);
  assert.equal(dceTxs(p).length, 1);
  const q = run([
    ['to_server', nbss(smb2TreeConnect(2, '\\\\srv\\data'))],
    ['to_client', nbss(smb2TreeConnectResp(2, 3, 1))],
    ['to_server', nbss(smb2Write(9, 3, FID, dceRequest(1, 0, 4, ascii('abc'))))],
  ]);
  assert.equal(dceTxs(q).length, 0);
});

test('compound SMB2 requests are all parsed; SMB3 transform records are counted and skipped', () => {
  const a = smb2Negotiate(0, [0x0311]);
  const first = smb2TreeConnect(1, '\\\\s\\IPC$');
  const pad = (8 - (first.length % 8)) % 8;
  const chained = cat(first, zeros(pad));
  chained.set([chained.length & 0xff, chained.length >> 8, 0, 0], 20); // NextCommand
  const p = run([['to_server', nbss(a)], ['to_server', nbss(cat(chained, smb2Create(2, 0, 'x.txt')))], ['to_server', nbss(ascii('\xfdSMB' + '\x00'.repeat(48)))]]);
  assert.deepEqual(smbTxs(p).map((t) => t.kind), ['negotiate', 'tree_connect', 'create']);
  assert.equal(p.counters().encrypted_records, 1);
});

test('NBSS control records are skipped; non-SMB payload counted; malformed input never throws', () => {
  const p = run([['to_server', nbss(ascii('\x20CKFDENECFDEFFCFGEFFCCACACACACACA\x00'), 0x81)], ['to_server', nbss(ascii('not smb at all'))], ['to_server', nbss(smb2Negotiate(0, [0x0202]))]]);
  assert.equal(p.counters().nbss_control, 1);
  assert.equal(p.counters().not_smb, 1);
  assert.equal(smbTxs(p).length, 1);
  const r = rng(3);
  const whole = cat(...smb2Session().map(([, m]) => m));
  for (let i = 0; i < 300; i++) {
    const q = new SmbParser();
    const fuzzed = whole.slice();
    for (let k = 0; k < 20; k++) fuzzed[Math.floor(r() * fuzzed.length)] = Math.floor(r() * 256);
    q.feed('to_server', fuzzed, 0, fuzzed.length);
    q.feed('to_client', fuzzed, 0, fuzzed.length);
    for (const t of q.txs()) t.buffer('smb.share', 'to_server');
    assert.equal(q.state, 'ok');
  }
});

test('gaps: inside a record the record is skipped and framing kept; across records resync on the next SMB header', () => {
  const r1 = nbss(smb2TreeConnect(1, '\\\\s\\lost'));
  const r2 = nbss(smb2TreeConnect(2, '\\\\s\\kept'));
  const p = new SmbParser();
  p.feed('to_server', r1, 0, 20);
  p.gap('to_server', 10);
  p.feed('to_server', r1, 30, r1.length - 30);
  p.feed('to_server', r2, 0, r2.length);
  assert.deepEqual(smbTxs(p).map((t) => str(t.share)), ['\\s\\kept']);
  assert.equal(p.counters().gap_skipped_in_record, 1);

  const q = new SmbParser();
  q.feed('to_server', r1, 0, 20);
  q.gap('to_server', 500);
  const junk = cat(ascii('garbage'), r2);
  q.feed('to_server', junk, 0, 9);
  q.feed('to_server', junk, 9, junk.length - 9);
  assert.deepEqual(smbTxs(q).map((t) => str(t.share)), ['\\s\\kept']);
  assert.equal(q.counters().gap_resynced, 1);
});

test('limits: long records are parsed on their head and skipped; transactions bounded; release frees', () => {
  const p = new SmbParser({ maxRecordBytes: 200, maxTransactions: 3 });
  const big = nbss(smb2Write(1, 0, FID, new Uint8Array(5000)));
  p.feed('to_server', big, 0, big.length);
  p.feed('to_server', nbss(smb2Create(2, 0, 'a')), 0, nbss(smb2Create(2, 0, 'a')).length);
  assert.equal(p.counters().limit_record_bytes, 1);
  assert.equal(smbTxs(p).length, 2, 'framing kept after the cut record');
  for (let i = 3; i < 8; i++) {
    const m = nbss(smb2Create(i, 0, `f${i}`));
    p.feed('to_server', m, 0, m.length);
  }
  assert.equal([...p.txs()].length, 3);
  assert.ok((p.counters().limit_transactions ?? 0) >= 4);
  const ids = [...p.txs()].map((t) => t.id);
  p.release(ids[1]!);
  assert.deepEqual([...p.txs()].map((t) => t.id), [ids[2]]);
  assert.ok(p.memory() > 0);
});

test('smb.version parsing like Suricata', () => {
  assert.equal(parseSmbVersion(' 2 '), 2);
  assert.equal(parseSmbVersion('1'), 1);
  assert.throws(() => parseSmbVersion('3'));
  assert.throws(() => parseSmbVersion(null));
});

test('a closed file id is forgotten (SMB1 FIDs are reused); junk on a pipe resynchronises on the next PDU', () => {
  const close2 = (msgId: number, fileId: Uint8Array): Uint8Array => cat(smb2Hdr({ cmd: 6, msgId }), Uint8Array.of(24, 0, 0, 0, 0, 0, 0, 0), fileId);
  const p = run([
    ['to_server', nbss(smb2Write(1, 77, FID, dceRequest(1, 0, 4, ascii('abc'))))],
    ['to_server', nbss(close2(2, FID))],
    ['to_server', nbss(smb2Write(3, 77, FID, ascii('MZ\x90\x00 not dcerpc at all')))],
  ]);
  assert.equal(dceTxs(p).length, 1);
  assert.equal(p.counters().dcerpc_bad_header, undefined);
  const q = run([
    ['to_server', nbss(smb2Write(1, 77, FID, dceRequest(1, 0, 4, ascii('abc'))))],
    ['to_server', nbss(smb2Write(2, 77, FID, ascii('garbage-garbage-garbage!')))],
    ['to_server', nbss(smb2Write(3, 77, FID, dceRequest(2, 0, 5, ascii('def'))))],
  ]);
  assert.deepEqual(dceTxs(q).map((c) => c.opnum), [4, 5]);
  assert.equal(q.counters().dcerpc_bad_header, 1);
});

test('SMB1 AndX chain: SESSION_SETUP_ANDX followed by TREE_CONNECT_ANDX in one message', () => {
  const blob = ntlmAuth('bob', 'LAB', 'pc', false);
  const ssLen = 1 + 24 + 2 + blob.length;
  let tcAt = 32 + ssLen;
  const pad = tcAt % 2; // keep the chained block's unicode path aligned like the builder expects
  tcAt += pad;
  const ssWords = cat(Uint8Array.of(0x75, 0), le16(tcAt), le16(4356), le16(10), le16(0), le32(0), le16(blob.length), le32(0), le32(0x8000e3fc));
  const tcWords = cat(Uint8Array.of(0xff, 0), le16(0), le16(0x08), le16(1));
  // tree connect bytes: password (1 byte), then the path aligned to 2 from the header start
  const bytesAt = tcAt + 1 + 8 + 2 + 1;
  const path = cat(bytesAt % 2 ? zeros(1) : zeros(0), utf16('\\\\SRV\\IPC$'), zeros(2), ascii('?????'), zeros(1));
  const msg = cat(smb1Hdr({ cmd: 0x73, mid: 9 }), smb1Body(ssWords, blob), zeros(pad), smb1Body(tcWords, cat(zeros(1), path)));
  const p = run([['to_server', nbss(msg)], ['to_client', nbss(cat(smb1Hdr({ cmd: 0x73, mid: 9, reply: true }), Uint8Array.of(3, 0x75, 0, 41, 0, 0, 0), le16(0), Uint8Array.of(3, 0xff, 0, 0, 0, 1, 0), le16(4), ascii('IPC\0')))]]);
  const txs = smbTxs(p);
  assert.deepEqual(txs.map((t) => t.kind), ['session_setup', 'tree_connect']);
  assert.equal(str(txs[0]!.buffer('smb.ntlmssp_user', 'to_server')), 'bob');
  assert.equal(str(txs[1]!.buffer('smb.named_pipe', 'to_server')), '\\SRV\\IPC$');
  assert.ok(txs.every((t) => t.complete('to_client')));
});
