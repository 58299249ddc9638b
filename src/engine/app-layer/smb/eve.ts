/** EVE `smb` object (Suricata rust/src/smb/log.rs field names, the fields this parser fills). */
import type { AppTx } from '../types.js';
import { DceCall } from '../dcerpc/conn.js';
import { dcerpcEve } from '../dcerpc/eve.js';
import { SmbTx } from './tx.js';
import { SmbFileTx } from './file.js';

const SMB1_NAMES: Record<number, string> = {
  0x25: 'SMB1_COMMAND_TRANS', 0x2b: 'SMB1_COMMAND_ECHO', 0x2e: 'SMB1_COMMAND_READ_ANDX', 0x2f: 'SMB1_COMMAND_WRITE_ANDX',
  0x32: 'SMB1_COMMAND_TRANS2', 0x72: 'SMB1_COMMAND_NEGOTIATE_PROTOCOL', 0x73: 'SMB1_COMMAND_SESSION_SETUP_ANDX',
  0x74: 'SMB1_COMMAND_LOGOFF_ANDX', 0x75: 'SMB1_COMMAND_TREE_CONNECT_ANDX', 0xa0: 'SMB1_COMMAND_NT_TRANS',
  0xa2: 'SMB1_COMMAND_NT_CREATE_ANDX', 0x71: 'SMB1_COMMAND_TREE_DISCONNECT', 0x04: 'SMB1_COMMAND_CLOSE',
};
const SMB2_NAMES = [
  'SMB2_COMMAND_NEGOTIATE_PROTOCOL', 'SMB2_COMMAND_SESSION_SETUP', 'SMB2_COMMAND_SESSION_LOGOFF', 'SMB2_COMMAND_TREE_CONNECT',
  'SMB2_COMMAND_TREE_DISCONNECT', 'SMB2_COMMAND_CREATE', 'SMB2_COMMAND_CLOSE', 'SMB2_COMMAND_FLUSH', 'SMB2_COMMAND_READ',
  'SMB2_COMMAND_WRITE', 'SMB2_COMMAND_LOCK', 'SMB2_COMMAND_IOCTL', 'SMB2_COMMAND_CANCEL', 'SMB2_COMMAND_KEEPALIVE',
  'SMB2_COMMAND_FIND', 'SMB2_COMMAND_CHANGE_NOTIFY', 'SMB2_COMMAND_GET_INFO', 'SMB2_COMMAND_SET_INFO',
  'SMB2_COMMAND_OPLOCK_BREAK',
];

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

export function smbEve(tx: AppTx): Record<string, unknown> {
  if (tx instanceof DceCall) {
    return { id: tx.id + 1, dialect: 'unknown', command: tx.smbVersion === 1 ? 'SMB1_COMMAND_TRANS' : 'SMB2_COMMAND_IOCTL', dcerpc: dcerpcEve(tx) };
  }
  if (tx instanceof SmbFileTx) {
    // Suricata logs a file tx under the command that carried its data.
    const read = tx.direction === 'to_client';
    const o: Record<string, unknown> = { id: tx.id + 1, dialect: 'unknown', command: tx.version === 1 ? (read ? 'SMB1_COMMAND_READ_ANDX' : 'SMB1_COMMAND_WRITE_ANDX') : (read ? 'SMB2_COMMAND_READ' : 'SMB2_COMMAND_WRITE') };
    if (tx.name) o.filename = text(tx.name);
    return o;
  }
  if (!(tx instanceof SmbTx)) return {};
  const o: Record<string, unknown> = {
    id: tx.id + 1,
    dialect: tx.dialect ?? 'unknown',
    command: tx.version === 1 ? (SMB1_NAMES[tx.command] ?? `SMB1_COMMAND_${tx.command}`) : (SMB2_NAMES[tx.command] ?? `SMB2_COMMAND_${tx.command}`),
  };
  if (tx.status !== null) {
    o.status_code = `0x${tx.status.toString(16)}`;
  }
  if (tx.kind === 'negotiate') o.client_dialects = tx.dialects;
  if (tx.kind === 'session_setup' && tx.ntlmssp) {
    o.ntlmssp = { domain: text(tx.ntlmssp.domain), user: text(tx.ntlmssp.user), host: text(tx.ntlmssp.host) };
  }
  if (tx.kind === 'tree_connect' && tx.share) {
    if (tx.isPipe) o.named_pipe = text(tx.share);
    else o.share = text(tx.share);
    if (tx.isPipe !== null) o.share_type = tx.isPipe ? 'PIPE' : 'FILE';
  }
  if (tx.kind === 'create' && tx.filename) o.filename = text(tx.filename);
  return o;
}

/**
 * EVE `files` of an SMB alert (Suricata's AlertAddFiles / EveFileInfo for the file of a file
 * tx): filename (from the CREATE that opened it; absent when that was not seen), gaps (a gap
 * inside a record skips the file bytes, so never marked here), state OPEN until the file is
 * closed or its side ends, stored (no filestore), size (file bytes seen so far), tx_id.
 */
export function smbFiles(tx: AppTx): Record<string, unknown>[] {
  if (!(tx instanceof SmbFileTx)) return [];
  const f: Record<string, unknown> = {};
  if (tx.name) f.filename = text(tx.name);
  f.gaps = false;
  f.state = tx.closed ? 'CLOSED' : 'OPEN';
  f.stored = false;
  f.size = tx.seen;
  f.tx_id = tx.id;
  return [f];
}
