/** SMB1/SMB2/3 app-layer protocol over NBSS/TCP, with DCERPC on named pipes: see ./README.md. */
import type { AppProtocol } from '../types.js';
import { SMB_BUFFERS, SMB_KEYWORDS } from './keywords.js';
import { SmbParser } from './parser.js';
import { smbEve, smbFiles } from './eve.js';
import { probeSmb } from './probe.js';
import { SMB_FRAME_TYPES } from './frames.js';

export * from './types.js';
export { SmbParser } from './parser.js';
export { SmbTx } from './tx.js';
export { SmbFileTx } from './file.js';
export { SMB_BUFFERS, SMB_KEYWORDS, smbVersionKeyword, parseSmbVersion } from './keywords.js';
export { smbEve, smbFiles } from './eve.js';
export { probeSmb } from './probe.js';
export { parseNtlmsspAuth } from './ntlmssp.js';
export { smb2Dialect } from './smb2.js';

export const smbProtocol: AppProtocol = {
  name: 'smb',
  // Suricata runs dcerpc rules (dcerpc.iface/opnum/stub_data, `alert dcerpc`) on SMB flows.
  ruleProtocols: ['smb', 'dcerpc'],
  hintPorts: [445, 139],
  probeDirections: ['to_server', 'to_client'],
  probe: probeSmb,
  create: (ctx) => new SmbParser({}, { frames: ctx.frames === true }),
  frameTypes: SMB_FRAME_TYPES,
  buffers: SMB_BUFFERS,
  keywords: SMB_KEYWORDS,
  eve: smbEve,
  files: smbFiles,
  events: ['file_overlap'],
};
