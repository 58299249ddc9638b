/** DCERPC app-layer protocol (over TCP; over SMB see ../smb): semantics and sources in ./README.md. */
import type { AppProtocol } from '../types.js';
import { DCERPC_BUFFERS, DCERPC_KEYWORDS } from './keywords.js';
import { DcerpcParser } from './parser.js';
import { dcerpcEve } from './eve.js';
import { probeDcerpc } from './probe.js';

export * from './types.js';
export { DceCall, DceConn, DceIfaceTable, ByteAccumulator, wireUuid, dceHeaderOk, type DceSink } from './conn.js';
export {
  DCERPC_BUFFERS, DCERPC_KEYWORDS, dceIfaceKeyword, dceOpnumKeyword, parseDceIface, parseDceOpnum, matchDceIface,
  matchDceOpnum, parseUint, matchUint, type UintMatch, type DceIfaceParsed, type DceOpnumParsed,
} from './keywords.js';
export { DcerpcParser } from './parser.js';
export { dcerpcEve, uuidString } from './eve.js';
export { probeDcerpc } from './probe.js';

export const dcerpcProtocol: AppProtocol = {
  name: 'dcerpc',
  ruleProtocols: ['dcerpc'],
  hintPorts: [135],
  probeDirections: ['to_server', 'to_client'],
  probe: probeDcerpc,
  create: (ctx) => new DcerpcParser({}, { frames: ctx.frames === true }),
  frameTypes: ['pdu', 'hdr', 'data'],
  buffers: DCERPC_BUFFERS,
  keywords: DCERPC_KEYWORDS,
  eve: dcerpcEve,
};
