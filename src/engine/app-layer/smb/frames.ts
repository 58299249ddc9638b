/**
 * Suricata's SMB frames (rust/src/smb/smb.rs, SMBFrameType): per NBSS record `nbss.pdu` (header
 * and data), `nbss.hdr` (4 bytes), `nbss.data`; inside a session message, per SMB1 message
 * `smb1.pdu`/`smb1.hdr` (32 bytes)/`smb1.data`, per SMB2 message of a compound chain
 * `smb2.pdu`/`smb2.hdr` (the header's StructureSize)/`smb2.data`, per SMB3 transform
 * `smb3.pdu`/`smb3.hdr` (52 bytes)/`smb3.data`. A message Suricata cannot parse (too short, a
 * chain offset past the record) ends the walk, as its parser errors out there.
 */
import type { AppDirection } from '../types.js';
import type { FrameLog } from '../frames.js';
import { le16, le32 } from './bytes.js';

export const SMB_FRAME_TYPES: readonly string[] = [
  'nbss.pdu', 'nbss.hdr', 'nbss.data',
  'smb1.pdu', 'smb1.hdr', 'smb1.data',
  'smb2.pdu', 'smb2.hdr', 'smb2.data',
  'smb3.pdu', 'smb3.hdr', 'smb3.data',
];

const SMB1_HDR = 32;
const SMB2_HDR = 64;
const SMB3_HDR = 52;

/** The NBSS frames of a record whose 4-byte header starts at stream position `at`. */
export function nbssFrames(log: FrameLog, dir: AppDirection, at: number, recLen: number): void {
  log.add(dir, 'nbss.pdu', at, recLen + 4);
  log.add(dir, 'nbss.hdr', at, 4);
  log.add(dir, 'nbss.data', at + 4, recLen);
}

/**
 * The SMB frames of one session message: `rec` holds its first bytes (all of them unless the
 * record was longer than the parser keeps), `recLen` its declared length, `at` the stream
 * position of its first byte.
 */
export function smbFrames(log: FrameLog, dir: AppDirection, rec: Uint8Array, recLen: number, at: number): void {
  if (rec.length < 4 || rec[1] !== 0x53 || rec[2] !== 0x4d || rec[3] !== 0x42) return;
  switch (rec[0]) {
    case 0xff:
      if (rec.length < SMB1_HDR) return;
      log.add(dir, 'smb1.pdu', at, recLen);
      log.add(dir, 'smb1.hdr', at, SMB1_HDR);
      if (recLen > SMB1_HDR) log.add(dir, 'smb1.data', at + SMB1_HDR, recLen - SMB1_HDR);
      return;
    case 0xfe:
      smb2Frames(log, dir, rec, recLen, at);
      return;
    case 0xfd:
      smb3Frames(log, dir, rec, recLen, at);
  }
}

/** Walks a compound chain as Suricata's parse_smb2_request/response_record (64 fixed bytes, NextCommand). */
function smb2Frames(log: FrameLog, dir: AppDirection, rec: Uint8Array, recLen: number, at: number): void {
  let o = 0;
  while (o < recLen) {
    if (rec.length - o < SMB2_HDR || le32(rec, o) !== 0x424d53fe) return;
    const hlen = le16(rec, o + 4);
    const chain = le32(rec, o + 20);
    const left = recLen - o;
    // The data after the fixed header runs to the next message (chain offset past the header
    // length) or to the end of the record.
    const len = chain > hlen ? SMB2_HDR + (chain - hlen) : left;
    if (len > left) return;
    log.add(dir, 'smb2.pdu', at + o, len);
    log.add(dir, 'smb2.hdr', at + o, hlen);
    if (left > hlen) log.add(dir, 'smb2.data', at + o + hlen, len - hlen);
    o += len;
  }
}

/** SMB3 transform headers: 52 bytes, then OriginalMessageSize bytes of encrypted message. */
function smb3Frames(log: FrameLog, dir: AppDirection, rec: Uint8Array, recLen: number, at: number): void {
  let o = 0;
  while (o < recLen) {
    if (rec.length - o < SMB3_HDR || le32(rec, o) !== 0x424d53fd) return;
    const len = SMB3_HDR + le32(rec, o + 36);
    const left = recLen - o;
    if (len > left) return;
    log.add(dir, 'smb3.pdu', at + o, len);
    log.add(dir, 'smb3.hdr', at + o, SMB3_HDR);
    if (left > SMB3_HDR) log.add(dir, 'smb3.data', at + o + SMB3_HDR, len - SMB3_HDR);
    o += len;
  }
}
