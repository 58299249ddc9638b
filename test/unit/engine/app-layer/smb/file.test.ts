/** SMB file content (`file.data`, `file.name`): READ/WRITE on non-pipe files, offsets, limits, detection. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmbFileTx, SmbParser, smbEve } from '../../../../../src/engine/app-layer/smb/index.js';
import type { AppDirection } from '../../../../../src/engine/app-layer/types.js';
import { AppTxDetector } from '../../../../../src/engine/detect/app-tx.js';
import type { AppFeedContext } from '../../../../../src/engine/detect/types.js';
import { compileRuleset } from '../../../../../src/signatures/compile.js';
import { defaultConfig } from '../../../../../src/config/types.js';
import {
  ascii, cat, dceBind, le16, le32, nbss, smb1Body, smb1Hdr, smb1TreeConnect, smb1TreeConnectResp, smb1Write, smb2Create, smb2CreateResp, smb2Hdr,
  smb2Read, smb2ReadResp, smb2TreeConnect, smb2TreeConnectResp, smb2Write, zeros,
} from './build.js';

const FID = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const EICAR = ascii('X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*');
const str = (u: Uint8Array | null): string | null => (u === null ? null : Buffer.from(u).toString('latin1'));

type Step = readonly [AppDirection, Uint8Array];

function run(steps: readonly Step[], p = new SmbParser()): SmbParser {
  for (const [dir, msg] of steps) p.feed(dir, msg, 0, msg.length);
  return p;
}
const files = (p: SmbParser): SmbFileTx[] => [...p.txs()].filter((t): t is SmbFileTx => t instanceof SmbFileTx);

/** Disk tree 2 ("data"), file "docs\eicar.com" opened as FID. */
function opened(treeType = 1): Step[] {
  return [
    ['to_server', nbss(smb2TreeConnect(1, '\\\\10.0.0.1\\data'))],
    ['to_client', nbss(smb2TreeConnectResp(1, 2, treeType))],
    ['to_server', nbss(smb2Create(2, 2, 'docs\\eicar.com'))],
    ['to_client', nbss(smb2CreateResp(2, 2, FID))],
  ];
}

test('SMB2 WRITE and READ on a disk file: file.data per direction from offset 0, file.name from the CREATE, complete on CLOSE', () => {
  const head = EICAR.subarray(0, 20);
  const tail = EICAR.subarray(20);
  const p = run([
    ...opened(),
    // written out of order: the tail first (file offset 20), then the head
    ['to_server', nbss(smb2Write(3, 2, FID, tail, 20))],
    ['to_server', nbss(smb2Write(4, 2, FID, head, 0))],
    ['to_server', nbss(smb2Read(5, 2, FID, 4096, 0))],
    ['to_client', nbss(smb2ReadResp(5, 2, EICAR))],
  ]);
  const [w, r] = files(p);
  assert.ok(w && r, 'one file tx per direction');
  assert.equal(w.direction, 'to_server');
  assert.equal(str(w.buffer('file.data', 'to_server')), str(EICAR));
  assert.equal(w.buffer('file.data', 'to_client'), null);
  assert.equal(str(w.buffer('file.name', 'to_server')), 'docs\\eicar.com');
  assert.equal(r.direction, 'to_client');
  assert.equal(str(r.buffer('file.data', 'to_client')), str(EICAR));
  assert.deepEqual(smbEve(w), { id: w.id + 1, dialect: 'unknown', command: 'SMB2_COMMAND_WRITE', filename: 'docs\\eicar.com' });
  assert.equal(w.complete('to_server'), false);
  run([['to_server', nbss(cat(smb2Hdr({ cmd: 6, msgId: 6, treeId: 2 }), le16(24), le16(0), le32(0), FID))]], p);
  assert.equal(w.complete('to_server') && r.complete('to_client'), true, 'CLOSE completes both');
  assert.equal(p.counters().file_bytes, 2 * EICAR.length);
});

test('a hole keeps file.data at the contiguous prefix; overlapping bytes keep the first copy', () => {
  const p = run([
    ...opened(),
    ['to_server', nbss(smb2Write(3, 2, FID, ascii('AAAA'), 0))],
    ['to_server', nbss(smb2Write(4, 2, FID, ascii('CCCC'), 8))],
  ]);
  const [w] = files(p);
  assert.equal(str(w!.buffer('file.data', 'to_server')), 'AAAA');
  run([['to_server', nbss(smb2Write(5, 2, FID, ascii('xxBBBBxx'), 2))]], p);
  assert.equal(str(w!.buffer('file.data', 'to_server')), 'AAAABBBBCCCC');
  assert.equal(p.counters().file_overlap_bytes, 4);
});

test('limits: bytes per file, per flow, and pieces waiting for a hole are bounded and counted', () => {
  const p = run([...opened(), ['to_server', nbss(smb2Write(3, 2, FID, EICAR, 0))]], new SmbParser({ maxFileDataBytes: 16 }));
  assert.equal(str(files(p)[0]!.buffer('file.data', 'to_server')), str(EICAR.subarray(0, 16)));
  assert.equal(p.counters().limit_file_data, 1);

  const q = run([...opened(), ['to_server', nbss(smb2Write(3, 2, FID, EICAR, 0))]], new SmbParser({ maxFileBytesPerFlow: 10 }));
  assert.equal(files(q)[0]!.buffer('file.data', 'to_server')?.length, 10);
  assert.equal(q.counters().limit_file_data, 1);

  const steps: Step[] = [...opened()];
  for (let i = 0; i < 5; i++) steps.push(['to_server', nbss(smb2Write(3 + i, 2, FID, ascii('z'), 10 + 2 * i))]);
  const r = run(steps, new SmbParser({ maxFileRanges: 3 }));
  assert.equal(r.counters().limit_file_ranges, 2);
  assert.equal(files(r)[0]!.buffer('file.data', 'to_server'), null, 'nothing from offset 0 yet');

  // memory goes with the released tx
  const before = p.memory();
  p.release(files(p)[0]!.id);
  assert.ok(p.memory() < before);
});

test('pipes carry DCERPC, not files; a tree whose connect was missed is a file unless its data is DCERPC', () => {
  const pipe = run([...opened(2), ['to_server', nbss(smb2Write(3, 2, FID, EICAR, 0))]]);
  assert.equal(files(pipe).length, 0);
  const unknown = run([['to_server', nbss(smb2Write(3, 9, FID, EICAR, 0))]]);
  assert.equal(str(files(unknown)[0]!.buffer('file.data', 'to_server')), str(EICAR));
  assert.equal(files(unknown)[0]!.buffer('file.name', 'to_server'), null);
  const dce = run([['to_server', nbss(smb2Write(3, 9, FID, dceBind(1, [{ uuid: '4b324fc8-1670-01d3-1278-5a47bf6ee188', ver: 3, ctxid: 0 }]), 0))]]);
  assert.equal(files(dce).length, 0);
});

test('SMB1: NT_CREATE_ANDX names the FID, WRITE_ANDX data at its offset is file.data', () => {
  const name = cat(ascii('\\test.txt'), zeros(1));
  // NT_CREATE_ANDX request (24 words, ASCII name), response with FID 0x4002
  const createWords = cat(Uint8Array.of(0xff, 0), le16(0), Uint8Array.of(0), le16(name.length), le32(0), le32(0), le32(0x12019f), le32(0), le32(0), le32(0x80), le32(7), le32(1), le32(0), le32(0), le32(2), Uint8Array.of(0));
  const createReq = cat(smb1Hdr({ cmd: 0xa2, mid: 3, tid: 7, unicode: false }), smb1Body(createWords, name));
  const respWords = cat(Uint8Array.of(0xff, 0), le16(0), Uint8Array.of(0), le16(0x4002), le32(1), zeros(56));
  const createResp = cat(smb1Hdr({ cmd: 0xa2, mid: 3, tid: 7, reply: true, unicode: false }), smb1Body(respWords.subarray(0, 68), zeros(0)));
  const p = run([
    ['to_server', nbss(smb1TreeConnect(2, '\\\\10.0.0.1\\data'))],
    ['to_client', nbss(smb1TreeConnectResp(2, 7, 'A:'))],
    ['to_server', nbss(createReq)],
    ['to_client', nbss(createResp)],
    ['to_server', nbss(smb1Write(4, 7, 0x4002, EICAR.subarray(10), 10))],
    ['to_server', nbss(smb1Write(5, 7, 0x4002, EICAR.subarray(0, 10), 0))],
  ]);
  const [w] = files(p);
  assert.equal(w?.version, 1);
  assert.equal(str(w.buffer('file.data', 'to_server')), str(EICAR));
  assert.equal(str(w.buffer('file.name', 'to_server')), '\\test.txt');
});

test('alert smb file.data rules fire on the written and on the read file', () => {
  const rs = compileRuleset([{
    file: 't.rules',
    text: [
      'alert smb any any -> any any (msg:"eicar up"; flow:to_server; file.data; content:"EICAR-STANDARD"; sid:1;)',
      'alert smb any any -> any any (msg:"eicar down"; flow:to_client; file_data; content:"X5O!P%"; startswith; sid:2;)',
      'alert smb any any -> any any (msg:"name"; file.name; content:"eicar.com"; endswith; sid:3;)',
    ].join('\n'),
  }], { vars: defaultConfig().databases.vars });
  assert.equal(rs.stats.loaded, 3);
  const d = new AppTxDetector(rs);
  const f = d.newFlow(445, 40000);
  const fired: number[] = [];
  const at = { to_server: 0, to_client: 0 };
  const c: AppFeedContext = { verify: { flowbits: new Set() }, fire: (si) => fired.push(rs.signatures[si]!.id) };
  for (const [dir, m] of [
    ...opened(),
    ['to_server', nbss(smb2Write(3, 2, FID, EICAR, 0))],
    ['to_server', nbss(smb2Read(4, 2, FID, 4096, 0))],
    ['to_client', nbss(smb2ReadResp(4, 2, EICAR))],
  ] as Step[]) {
    d.data(f, dir, m, 0, m.length, at[dir], 0, c);
    at[dir] += m.length;
  }
  // sid 3 has no direction and file.name exists both ways: it matches the written file (to_server)
  // and the read one (to_client), one alert per file transaction, as Suricata's header matching does.
  assert.deepEqual(fired.sort(), [1, 2, 3, 3]);
});

test('a WRITE starting before the in-order file data raises smb.file_overlap on a tx of its own; out-of-order gaps do not', () => {
  const p = run([
    ...opened(),
    ['to_server', nbss(smb2Write(3, 2, FID, EICAR.subarray(20), 20))],
    ['to_server', nbss(smb2Write(4, 2, FID, EICAR.subarray(0, 20), 0))],
  ]);
  const ev = (q: SmbParser): string[] => [...q.txs()].flatMap((t) => t.events);
  assert.deepEqual(ev(p), [], 'filling the hole before later data is no overlap');
  run([['to_server', nbss(smb2Write(5, 2, FID, EICAR.subarray(10, 30), 10))]], p);
  assert.deepEqual(ev(p), ['smb.file_overlap']);
  const t = [...p.txs()].find((x) => x.events.length > 0)!;
  assert.equal(t.complete('to_server') && t.complete('to_client'), true);
  assert.equal(p.counters().event_file_overlap, 1);
});
