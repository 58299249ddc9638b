/**
 * SMB2/3 records (MS-SMB2 2.2): the 64-byte header, compound chains (NextCommand), and the
 * commands behind Suricata's SMB buffers: NEGOTIATE, SESSION_SETUP, TREE_CONNECT, CREATE, and
 * READ/WRITE/IOCTL(FSCTL_PIPE_TRANSCEIVE) carrying DCERPC on named pipes.
 */
import type { AppDirection } from '../types.js';
import { le16, le32, le64key, utf16leToUtf8 } from './bytes.js';
import { parseNtlmsspAuth } from './ntlmssp.js';
import type { SmbState } from './state.js';
import { FSCTL_PIPE_TRANSCEIVE, STATUS_PENDING, Smb2Cmd, type SmbTxKind } from './types.js';

const HDR = 64;
const FLAG_RESPONSE = 0x1;
const FLAG_ASYNC = 0x2;

/** Suricata's smb2_dialect_string. */
export function smb2Dialect(d: number): string {
  switch (d) {
    case 0x0202: return '2.02';
    case 0x0210: return '2.10';
    case 0x0222: return '2.22';
    case 0x0224: return '2.24';
    case 0x02ff: return '2.??';
    case 0x0300: return '3.00';
    case 0x0302: return '3.02';
    case 0x0310: return '3.10';
    case 0x0311: return '3.11';
    default: return d.toString(16);
  }
}

function kindOf(cmd: number): SmbTxKind {
  switch (cmd) {
    case Smb2Cmd.NEGOTIATE: return 'negotiate';
    case Smb2Cmd.SESSION_SETUP: return 'session_setup';
    case Smb2Cmd.TREE_CONNECT: return 'tree_connect';
    case Smb2Cmd.CREATE: return 'create';
    default: return 'generic';
  }
}

/** One NBSS record holding SMB2 message(s) starting with "\xfeSMB". */
export function smb2Record(st: SmbState, dir: AppDirection, rec: Uint8Array): void {
  let o = 0;
  for (let guard = 0; guard < 64; guard++) {
    if (rec.length - o < HDR || le16(rec, o + 4) !== 64) {
      st.count('malformed');
      return;
    }
    const next = le32(rec, o + 20);
    const end = next > 0 && o + next <= rec.length ? o + next : rec.length;
    // Offsets inside a message are from its own header start.
    message(st, dir, rec.subarray(o, end));
    if (next === 0 || next < HDR || o + next >= rec.length) return;
    o += next;
  }
}

function message(st: SmbState, dir: AppDirection, m: Uint8Array): void {
  const cmd = le16(m, 12);
  const status = le32(m, 8);
  const flags = le32(m, 16);
  const msgId = le64key(m, 24);
  const treeId = (flags & FLAG_ASYNC) === 0 ? le32(m, 36) : -1;
  const treeKey = treeId >= 0 ? `2:${treeId}` : undefined;
  const key = `2:${cmd}:${msgId}`;
  const isResponse = (flags & FLAG_RESPONSE) !== 0;
  if (isResponse !== (dir === 'to_client')) {
    st.count('malformed');
    return;
  }
  if (!isResponse) request(st, m, cmd, key, treeKey);
  else response(st, m, cmd, status, key, treeKey);
}

function request(st: SmbState, m: Uint8Array, cmd: number, key: string, treeKey: string | undefined): void {
  const b = HDR;
  const tx = st.newTx(2, cmd, kindOf(cmd), key);
  tx.reqDone = true;
  switch (cmd) {
    case Smb2Cmd.NEGOTIATE: {
      const n = le16(m, b + 2);
      for (let i = 0; i < n && b + 36 + 2 * i + 2 <= m.length && i < 64; i++) tx.dialects.push(smb2Dialect(le16(m, b + 36 + 2 * i)));
      return;
    }
    case Smb2Cmd.SESSION_SETUP: {
      const off = le16(m, b + 12);
      const len = le16(m, b + 14);
      if (off >= 0 && len > 0 && off + len <= m.length) tx.ntlmssp = parseNtlmsspAuth(m.subarray(off, off + len), st.limits.maxNameBytes);
      return;
    }
    case Smb2Cmd.TREE_CONNECT: {
      const off = le16(m, b + 4);
      const len = le16(m, b + 6);
      if (off < 0 || len < 0 || off + len > m.length) {
        st.count('malformed');
        return;
      }
      // Suricata: the UTF-16 path with every 00 byte removed, then its first byte dropped
      // ("\\srv\IPC$" becomes "\srv\IPC$").
      const raw = m.subarray(off, off + len).filter((c) => c !== 0);
      tx.share = st.name(raw.length > 1 ? raw.subarray(1) : raw);
      return;
    }
    case Smb2Cmd.CREATE: {
      const off = le16(m, b + 44);
      const len = le16(m, b + 46);
      if (off >= 0 && len > 0 && off + len <= m.length) tx.filename = st.name(utf16leToUtf8(m.subarray(off, off + len)));
      return;
    }
    case Smb2Cmd.WRITE: {
      const off = le16(m, b + 2);
      const len = le32(m, b + 4);
      const fileKey = fid(m, b + 16);
      if (off < 0 || len < 0 || fileKey === null) return;
      st.pipeData('to_server', 2, treeKey, fileKey, m.subarray(Math.min(off, m.length), Math.min(off + len, m.length)), le64(m, b + 8));
      return;
    }
    case Smb2Cmd.READ: {
      const fileKey = fid(m, b + 16);
      if (fileKey !== null) st.setPending(key, { command: cmd, fileKey, fileOffset: le64(m, b + 8), ...(treeKey ? { treeKey } : {}) });
      return;
    }
    case Smb2Cmd.CLOSE: {
      const fileKey = fid(m, b + 8);
      if (fileKey !== null) st.closeFile(fileKey);
      return;
    }
    case Smb2Cmd.IOCTL: {
      const code = le32(m, b + 4);
      const fileKey = fid(m, b + 8);
      if (code !== FSCTL_PIPE_TRANSCEIVE || fileKey === null) return;
      st.setPending(key, { command: cmd, fileKey, ...(treeKey ? { treeKey } : {}) });
      const off = le32(m, b + 24);
      const len = le32(m, b + 28);
      if (off > 0 && len > 0) st.pipeData('to_server', 2, treeKey, fileKey, m.subarray(Math.min(off, m.length), Math.min(off + len, m.length)));
      return;
    }
    default:
  }
}

function response(st: SmbState, m: Uint8Array, cmd: number, status: number, key: string, treeKey: string | undefined): void {
  const b = HDR;
  if (status === STATUS_PENDING) return; // interim: the final response follows
  const pending = st.takePending(key);
  const tx = st.txByKey(key) ?? (cmd === Smb2Cmd.NEGOTIATE ? st.negotiateTx() : undefined);
  if (!tx) st.count('response_without_request');
  if (tx) {
    tx.respDone = true;
    tx.status = status;
  }
  const ok = status === 0 || status === 0x80000005; // SUCCESS, BUFFER_OVERFLOW (partial pipe read)
  switch (cmd) {
    case Smb2Cmd.NEGOTIATE:
      if (tx && le16(m, b) === 65) tx.dialect = smb2Dialect(le16(m, b + 4));
      return;
    case Smb2Cmd.CREATE: {
      // FileId of the opened file (CREATE response body offset 64): names it for file.name.
      const fileKey = fid(m, b + 64);
      if (status === 0 && tx?.filename && fileKey !== null) st.openFile(fileKey, tx.filename);
      return;
    }
    case Smb2Cmd.TREE_CONNECT: {
      if (!tx) return;
      // Suricata sets the share type only from a successful response; a failed connect keeps is_pipe false.
      tx.isPipe = status === 0 && m[b + 2] === 2;
      if (status === 0 && treeKey && tx.share) st.setTree(treeKey, { share: tx.share, isPipe: tx.isPipe });
      return;
    }
    case Smb2Cmd.READ: {
      if (!ok || !pending?.fileKey) return;
      const off = m[b + 2] ?? 0;
      const len = le32(m, b + 4);
      if (len > 0 && off >= HDR) st.pipeData('to_client', 2, pending.treeKey ?? treeKey, pending.fileKey, m.subarray(Math.min(off, m.length), Math.min(off + len, m.length)), pending.fileOffset ?? null);
      return;
    }
    case Smb2Cmd.IOCTL: {
      if (!ok || !pending?.fileKey) return;
      const off = le32(m, b + 32);
      const len = le32(m, b + 36);
      if (off > 0 && len > 0) st.pipeData('to_client', 2, pending.treeKey ?? treeKey, pending.fileKey, m.subarray(Math.min(off, m.length), Math.min(off + len, m.length)));
      return;
    }
    default:
  }
}

/** A 64-bit little-endian file offset (-1 when out of bounds; beyond 2^53 loses precision, harmless here). */
function le64(m: Uint8Array, o: number): number {
  if (o + 8 > m.length) return -1;
  return le32(m, o) + le32(m, o + 4) * 0x100000000;
}

function fid(m: Uint8Array, o: number): string | null {
  if (o + 16 > m.length) return null;
  return `2:${Buffer.from(m.subarray(o, o + 16)).toString('hex')}`;
}

