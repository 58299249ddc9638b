/** SMB, DCERPC/TCP and SSH frames: types, offsets and lengths as Suricata's parsers create them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmbParser } from '../../../../../src/engine/app-layer/smb/parser.js';
import { DcerpcParser } from '../../../../../src/engine/app-layer/dcerpc/parser.js';
import { SshParser } from '../../../../../src/engine/app-layer/ssh/parser.js';
import type { AppFrame } from '../../../../../src/engine/app-layer/types.js';
import { dceBind, nbss, smb2Hdr, smb2Negotiate, uuidLE } from './build.js';

const show = (fs: readonly AppFrame[]): string[] => fs.map((f) => `${f.type}@${f.offset}+${f.len}`);

test('SMB: NBSS and SMB2 frames of each message of a compound, at stream offsets across feeds', () => {
  const p = new SmbParser({}, { frames: true });
  const first = smb2Negotiate(1, [0x0202]);
  // a compound: the first message points to the second (NextCommand = its 8-aligned length)
  const pad = (8 - (first.length % 8)) % 8;
  const m1 = new Uint8Array(first.length + pad);
  m1.set(first);
  m1.set([m1.length & 0xff, m1.length >> 8], 20);
  const m2 = smb2Hdr({ cmd: 0x10, msgId: 2 });
  const rec = nbss(new Uint8Array([...m1, ...m2]));
  const lead = nbss(new Uint8Array(0), 0x85); // a keep-alive first: frames count from the stream start
  const all = new Uint8Array([...lead, ...rec]);
  p.feed('to_server', all, 0, 7);
  assert.deepEqual(show(p.takeFrames('to_server')), ['nbss.pdu@0+4', 'nbss.hdr@0+4', 'nbss.data@4+0']);
  p.feed('to_server', all, 7, all.length - 7);
  assert.deepEqual(show(p.takeFrames('to_server')), [
    `nbss.pdu@4+${rec.length}`, 'nbss.hdr@4+4', `nbss.data@8+${rec.length - 4}`,
    `smb2.pdu@8+${m1.length}`, 'smb2.hdr@8+64', `smb2.data@72+${m1.length - 64}`,
    `smb2.pdu@${8 + m1.length}+64`, `smb2.hdr@${8 + m1.length}+64`,
  ]);
  assert.deepEqual(p.takeFrames('to_server'), [], 'taken once');
});

test('SMB: no frames unless asked for; a gap moves the positions on', () => {
  const quiet = new SmbParser();
  const rec = nbss(smb2Negotiate(1, [0x0202]));
  quiet.feed('to_client', rec, 0, rec.length);
  assert.deepEqual(quiet.takeFrames('to_client'), []);
  const p = new SmbParser({}, { frames: true });
  p.gap('to_client', 100);
  p.feed('to_client', rec, 0, rec.length);
  assert.deepEqual(show(p.takeFrames('to_client')).slice(0, 4), [`nbss.pdu@100+${rec.length}`, 'nbss.hdr@100+4', `nbss.data@104+${rec.length - 4}`, `smb2.pdu@104+${rec.length - 4}`]);
});

test('DCERPC/TCP: pdu, 16-byte hdr and data frames per PDU', () => {
  const p = new DcerpcParser({}, { frames: true });
  const bind = dceBind(1, [{ uuid: '4b324fc8-1670-01d3-1278-5a47bf6ee188', ver: 3, ctxid: 0 }]);
  assert.ok(uuidLE('4b324fc8-1670-01d3-1278-5a47bf6ee188').length === 16);
  const two = new Uint8Array([...bind, ...bind]);
  p.feed('to_server', two, 0, bind.length + 3);
  assert.deepEqual(show(p.takeFrames('to_server')), [`pdu@0+${bind.length}`, 'hdr@0+16', `data@16+${bind.length - 16}`]);
  p.feed('to_server', two, bind.length + 3, bind.length - 3);
  const n = bind.length;
  assert.deepEqual(show(p.takeFrames('to_server')), [`pdu@${n}+${n}`, `hdr@${n}+16`, `data@${n + 16}+${n - 16}`]);
});

test('SSH: record.pdu/hdr/data per binary packet, tied to the tx, NEWKEYS included', () => {
  const p = new SshParser({}, { frames: true });
  const banner = new Uint8Array(Buffer.from('SSH-2.0-libssh-0.7.2\r\n', 'latin1'));
  // packet_length 12: padding_length 4, code 30, 6 payload bytes, 4 padding bytes
  const kex = new Uint8Array([0, 0, 0, 12, 4, 30, 1, 2, 3, 4, 5, 6, 0, 0, 0, 0]);
  const newkeys = new Uint8Array([0, 0, 0, 12, 10, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const all = new Uint8Array([...banner, ...kex, ...newkeys]);
  p.feed('to_server', all, 0, all.length);
  const b = banner.length;
  const fs = p.takeFrames('to_server');
  assert.deepEqual(show(fs), [
    `record.pdu@${b}+16`, `record.hdr@${b}+6`, `record.data@${b + 6}+10`,
    `record.pdu@${b + 16}+16`, `record.hdr@${b + 16}+6`, `record.data@${b + 22}+10`,
  ]);
  assert.ok(fs.every((f) => f.txId === 0));
});
