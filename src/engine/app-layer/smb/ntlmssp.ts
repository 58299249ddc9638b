/**
 * NTLMSSP AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3) inside a SESSION_SETUP security blob. The blob
 * is raw NTLMSSP or SPNEGO (GSS-API/ASN.1) wrapping it; the message is found by its signature
 * "NTLMSSP\0" (the SPNEGO token is an OCTET STRING holding the message verbatim).
 */
import { indexOf, le16, le32, utf16leToUtf8 } from './bytes.js';
import type { NtlmsspAuth } from './types.js';

const SIG = new Uint8Array([0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00]);
const NEGOTIATE_UNICODE = 0x00000001;

/** The AUTHENTICATE fields, null when the blob holds no (valid) type-3 message. */
export function parseNtlmsspAuth(blob: Uint8Array, maxName: number): NtlmsspAuth | null {
  const at = indexOf(blob, SIG);
  if (at < 0) return null;
  const m = blob.subarray(at);
  if (le32(m, 8) !== 3 || m.length < 64) return null;
  const flags = le32(m, 60);
  const unicode = (flags & NEGOTIATE_UNICODE) !== 0;
  const field = (o: number): Uint8Array | null => {
    const len = le16(m, o);
    const off = le32(m, o + 4);
    if (len < 0 || off < 0 || off + len > m.length) return null;
    const raw = m.subarray(off, off + Math.min(len, unicode ? maxName * 2 : maxName));
    return unicode ? utf16leToUtf8(raw) : raw.slice();
  };
  const domain = field(28);
  const user = field(36);
  const host = field(44);
  if (!domain || !user || !host) return null;
  return { user, domain, host };
}
