/** Header-only signatures (Signature.header): a packet's addresses and ports against the rule header as written. */
import type { Signature } from '../../signatures/types.js';
import { matchAddr4, matchAddr6 } from '../../signatures/address.js';
import type { DecodedPacket } from '../decode/decode.js';
import { portIn } from './alert.js';

/** Does packet `p` (as it travels: source → destination) match the header of `sig`? */
export function matchHeader(sig: Signature, p: DecodedPacket): boolean {
  const h = sig.header;
  if (h === undefined) return false;
  if (h.srcPorts !== null && !portIn(h.srcPorts, p.srcPort)) return false;
  if (h.dstPorts !== null && !portIn(h.dstPorts, p.dstPort)) return false;
  if (p.ipVersion === 4) return matchAddr4(h.src, p.src4 >>> 0) && matchAddr4(h.dst, p.dst4 >>> 0);
  return matchAddr6(h.src, p.buf, p.src6Offset) && matchAddr6(h.dst, p.buf, p.dst6Offset);
}
