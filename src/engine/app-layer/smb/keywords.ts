/**
 * SMB buffers and keywords (Suricata rust/src/smb/detect.rs, doc rules/smb-keywords): the four
 * sticky buffers of TREE_CONNECT and SESSION_SETUP transactions, `smb.version`, plus the DCERPC
 * ones, which Suricata evaluates on SMB flows too.
 */
import type { AppBufferSpec, AppDirection, AppKeywordSpec } from '../types.js';
import { DceCall } from '../dcerpc/conn.js';
import { DCERPC_BUFFERS, DCERPC_KEYWORDS } from '../dcerpc/keywords.js';
import { SmbTx } from './tx.js';
import { SmbFileTx } from './file.js';

const TS: readonly AppDirection[] = ['to_server'];
const BOTH: readonly AppDirection[] = ['to_server', 'to_client'];

const sticky = (name: string, aliases: readonly string[]): AppBufferSpec => ({
  name,
  aliases,
  directions: TS,
  multi: false,
  lowercaseOnly: false,
  pcreFlag: null,
});

export const SMB_BUFFERS: readonly AppBufferSpec[] = [
  sticky('smb.named_pipe', ['smb_named_pipe']),
  sticky('smb.share', ['smb_share']),
  sticky('smb.ntlmssp_user', []),
  sticky('smb.ntlmssp_domain', []),
  // File content of READ (to_client) / WRITE (to_server) on non-pipe files, and the file's name
  // from its CREATE (Suricata's SMB file transactions; see ./file.ts).
  { name: 'file.data', aliases: ['file_data'], directions: BOTH, multi: false, lowercaseOnly: false, pcreFlag: null },
  { name: 'file.name', aliases: [], directions: BOTH, multi: false, lowercaseOnly: false, pcreFlag: null },
  ...DCERPC_BUFFERS,
];

/** `smb.version:1|2` (surrounding spaces allowed, anything else refused, like Suricata). */
export function parseSmbVersion(value: string | null): 1 | 2 {
  const v = (value ?? '').trim();
  if (v === '1') return 1;
  if (v === '2') return 2;
  throw new Error(`smb.version must be 1 or 2, got "${v}"`);
}

export const smbVersionKeyword: AppKeywordSpec<1 | 2> = {
  name: 'smb.version',
  aliases: [],
  directions: BOTH,
  parse: parseSmbVersion,
  match: (tx, _dir, v) => (tx instanceof SmbTx || tx instanceof SmbFileTx ? tx.version === v : tx instanceof DceCall && tx.smbVersion === v),
};

export const SMB_KEYWORDS: readonly AppKeywordSpec[] = [smbVersionKeyword, ...DCERPC_KEYWORDS];
