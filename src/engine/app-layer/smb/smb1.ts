/**
 * SMB1 records (MS-CIFS / MS-SMB 2.2): the 32-byte header, AndX chains, and the commands behind
 * Suricata's SMB buffers: NEGOTIATE, SESSION_SETUP_ANDX (extended security: NTLMSSP),
 * TREE_CONNECT_ANDX, NT_CREATE_ANDX, and WRITE_ANDX/READ_ANDX/TRANS(TransactNmPipe) carrying
 * DCERPC on named pipes. Offsets inside the message are from the "\xffSMB" header start.
 */
import type { AppDirection } from '../types.js';
import { cstr, le16, le32, ustr, utf16leToUtf8 } from './bytes.js';
import { parseNtlmsspAuth } from './ntlmssp.js';
import type { SmbState } from './state.js';
import { Smb1Cmd, TRANS_TRANSACT_NMPIPE, type SmbTxKind } from './types.js';

const HDR = 32;
const FLAGS_REPLY = 0x80;
const FLAGS2_UNICODE = 0x8000;
/** Commands whose parameter block starts with an AndX header (MS-CIFS 2.2.4: LOCKING_ANDX 0x24, OPEN_ANDX 0x2d too). */
const ANDX = new Set<number>([
  0x24, 0x2d, Smb1Cmd.READ_ANDX, Smb1Cmd.WRITE_ANDX, Smb1Cmd.SESSION_SETUP_ANDX, Smb1Cmd.LOGOFF_ANDX, Smb1Cmd.TREE_CONNECT_ANDX,
  Smb1Cmd.NT_CREATE_ANDX,
]);

function kindOf(cmd: number): SmbTxKind {
  switch (cmd) {
    case Smb1Cmd.NEGOTIATE: return 'negotiate';
    case Smb1Cmd.SESSION_SETUP_ANDX: return 'session_setup';
    case Smb1Cmd.TREE_CONNECT_ANDX: return 'tree_connect';
    case Smb1Cmd.NT_CREATE_ANDX: return 'create';
    default: return 'generic';
  }
}

/** A parameter block: word count at `o`, words, byte count, bytes. */
interface Block {
  readonly cmd: number;
  readonly words: number;
  readonly wc: number;
  readonly bytes: number;
  readonly bc: number;
}

function block(m: Uint8Array, cmd: number, o: number): Block | null {
  if (o >= m.length) return null;
  const wc = m[o]!;
  const words = o + 1;
  const bcAt = words + 2 * wc;
  const bc = le16(m, bcAt);
  if (bc < 0) return null;
  return { cmd, words, wc, bytes: bcAt + 2, bc: Math.min(bc, m.length - (bcAt + 2)) };
}

export function smb1Record(st: SmbState, dir: AppDirection, m: Uint8Array): void {
  if (m.length < HDR + 1) {
    st.count('malformed');
    return;
  }
  const reply = (m[9]! & FLAGS_REPLY) !== 0;
  if (reply !== (dir === 'to_client')) {
    st.count('malformed');
    return;
  }
  const status = le32(m, 5);
  const unicode = (le16(m, 10) & FLAGS2_UNICODE) !== 0;
  const tid = le16(m, 24);
  const pid = le16(m, 26);
  const mid = le16(m, 30);
  const treeKey = `1:${tid}`;
  let cmd = m[4]!;
  let at = HDR;
  const seen = new Set<number>();
  for (let guard = 0; guard < 16; guard++) {
    const blk = block(m, cmd, at);
    if (!blk) {
      st.count('malformed');
      return;
    }
    const key = `1:${cmd}:${mid}:${pid}`;
    if (reply) response(st, m, blk, status, key, treeKey);
    else request(st, m, blk, unicode, key, treeKey);
    if (!ANDX.has(cmd) || blk.wc < 2) return;
    const next = m[blk.words]!;
    const nextOff = le16(m, blk.words + 2);
    // An AndX chain only moves forward (a loop or a backward offset ends it).
    if (next === 0xff || nextOff <= at || nextOff >= m.length || seen.has(nextOff)) return;
    seen.add(nextOff);
    cmd = next;
    at = nextOff;
  }
}

function request(st: SmbState, m: Uint8Array, blk: Block, unicode: boolean, key: string, treeKey: string): void {
  const { cmd, words: w, wc } = blk;
  const tx = st.newTx(1, cmd, kindOf(cmd), key);
  tx.reqDone = true;
  const bytesEnd = blk.bytes + blk.bc;
  switch (cmd) {
    case Smb1Cmd.NEGOTIATE: {
      // Dialects: 0x02 followed by a NUL-terminated ASCII string, repeated.
      let o = blk.bytes;
      while (o < bytesEnd && m[o] === 0x02 && tx.dialects.length < 64) {
        const s = cstr(m, o + 1, bytesEnd);
        tx.dialects.push(Buffer.from(s).toString('latin1'));
        o += 1 + s.length + 1;
      }
      return;
    }
    case Smb1Cmd.SESSION_SETUP_ANDX: {
      if (wc !== 12) return; // 13: pre-NTLMSSP (no security blob), not a Suricata ntlmssp source
      const len = le16(m, w + 14);
      if (len > 0 && blk.bytes + len <= m.length) tx.ntlmssp = parseNtlmsspAuth(m.subarray(blk.bytes, blk.bytes + len), st.limits.maxNameBytes);
      return;
    }
    case Smb1Cmd.TREE_CONNECT_ANDX: {
      if (wc < 4) return;
      const pwLen = le16(m, w + 6);
      let o = blk.bytes + Math.max(pwLen, 0);
      if (o > bytesEnd) return;
      let path: Uint8Array;
      if (unicode) {
        if (o % 2 === 1) o++; // Unicode strings are 2-byte aligned from the header start
        path = utf16leToUtf8(ustr(m, o, bytesEnd));
      } else {
        path = cstr(m, o, bytesEnd);
      }
      // Suricata (smb1.rs): the path with its first byte dropped ("\\\\srv\\IPC$" becomes "\\srv\\IPC$").
      tx.share = st.name(path.length > 1 ? path.subarray(1) : path);
      return;
    }
    case Smb1Cmd.NT_CREATE_ANDX: {
      if (wc < 24) return;
      const nameLen = le16(m, w + 5);
      let o = blk.bytes;
      if (unicode && o % 2 === 1) o++;
      const raw = m.subarray(o, Math.min(o + Math.max(nameLen, 0), bytesEnd));
      tx.filename = st.name(unicode ? utf16leToUtf8(ustr(raw, 0)) : cstr(raw, 0));
      return;
    }
    case Smb1Cmd.WRITE_ANDX: {
      if (wc < 12) return;
      const fid = le16(m, w + 4);
      const len = le16(m, w + 20) + (wc >= 12 ? (le16(m, w + 18) << 16) >>> 0 : 0);
      const off = le16(m, w + 22);
      const at = le32(m, w + 6) + (wc >= 14 ? le32(m, w + 24) * 0x100000000 : 0);
      if (off > 0 && len > 0) st.pipeData('to_server', 1, treeKey, `1:${fid}`, m.subarray(Math.min(off, m.length), Math.min(off + len, m.length)), at);
      return;
    }
    case Smb1Cmd.CLOSE: {
      if (wc >= 1) st.closeFile(`1:${le16(m, w)}`);
      return;
    }
    case Smb1Cmd.READ_ANDX: {
      if (wc < 10) return;
      const at = le32(m, w + 6) + (wc >= 12 ? le32(m, w + 20) * 0x100000000 : 0);
      st.setPending(key, { command: cmd, fileKey: `1:${le16(m, w + 4)}`, treeKey, fileOffset: at });
      return;
    }
    case Smb1Cmd.TRANS: {
      if (wc < 16) return;
      const setupCount = m[w + 26]!;
      const sub = le16(m, w + 28);
      if (setupCount < 2 || sub !== TRANS_TRANSACT_NMPIPE) return;
      const fileKey = `1:${le16(m, w + 30)}`;
      st.setPending(key, { command: cmd, fileKey, treeKey });
      const count = le16(m, w + 22);
      const off = le16(m, w + 24);
      if (off > 0 && count > 0) st.pipeData('to_server', 1, treeKey, fileKey, m.subarray(Math.min(off, m.length), Math.min(off + count, m.length)));
      return;
    }
    default:
  }
}

function response(st: SmbState, m: Uint8Array, blk: Block, status: number, key: string, treeKey: string): void {
  const { cmd, words: w, wc } = blk;
  const pending = st.takePending(key);
  const tx = st.txByKey(key);
  if (!tx) st.count('response_without_request');
  if (tx) {
    tx.respDone = true;
    tx.status = status;
  }
  switch (cmd) {
    case Smb1Cmd.NEGOTIATE: {
      // The response names the chosen dialect by index into the request's list.
      const idx = le16(m, w);
      if (tx && wc >= 1 && idx >= 0 && idx < tx.dialects.length) tx.dialect = tx.dialects[idx]!;
      return;
    }
    case Smb1Cmd.TREE_CONNECT_ANDX: {
      if (!tx) return;
      // Service is ASCII whatever flags2 says: "IPC" for a named-pipe tree.
      const service = wc >= 3 ? cstr(m, blk.bytes, blk.bytes + blk.bc) : new Uint8Array(0);
      tx.isPipe = status === 0 && Buffer.from(service).toString('latin1') === 'IPC';
      if (status === 0 && tx.share) st.setTree(treeKey, { share: tx.share, isPipe: tx.isPipe });
      return;
    }
    case Smb1Cmd.READ_ANDX: {
      if (status !== 0 && status !== 0x80000005) return;
      if (!pending?.fileKey || wc < 12) return;
      const len = le16(m, w + 10) + ((le16(m, w + 14) << 16) >>> 0);
      const off = le16(m, w + 12);
      if (off > 0 && len > 0) st.pipeData('to_client', 1, pending.treeKey, pending.fileKey, m.subarray(Math.min(off, m.length), Math.min(off + len, m.length)), pending.fileOffset ?? null);
      return;
    }
    case Smb1Cmd.NT_CREATE_ANDX: {
      // FID of the opened file (after AndX and OplockLevel): names it for file.name.
      if (status === 0 && tx?.filename && wc >= 3) st.openFile(`1:${le16(m, w + 5)}`, tx.filename);
      return;
    }
    case Smb1Cmd.TRANS: {
      if (status !== 0 && status !== 0x80000005) return;
      if (!pending?.fileKey || wc < 10) return;
      const count = le16(m, w + 12);
      const off = le16(m, w + 14);
      if (off > 0 && count > 0) st.pipeData('to_client', 1, pending.treeKey, pending.fileKey, m.subarray(Math.min(off, m.length), Math.min(off + count, m.length)));
      return;
    }
    default:
  }
}
