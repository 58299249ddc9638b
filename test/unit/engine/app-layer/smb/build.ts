/**
 * Byte builders for SMB/DCERPC unit tests: each message is written field by field from the
 * specifications (MS-SMB2 2.2, MS-CIFS 2.2, DCE 1.1 ch. 12, MS-NLMP 2.2.1.3), not copied captures.
 */

export const cat = (...p: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(p));
export const le16 = (v: number): Uint8Array => Uint8Array.of(v & 0xff, (v >> 8) & 0xff);
export const le32 = (v: number): Uint8Array => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return new Uint8Array(b); };
export const be32 = (v: number): Uint8Array => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return new Uint8Array(b); };
export const le64 = (v: number): Uint8Array => cat(le32(v), le32(0));
export const zeros = (n: number): Uint8Array => new Uint8Array(n);
export const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
export const utf16 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf16le'));

/** NBSS session message (type 0, 24-bit length). */
export function nbss(payload: Uint8Array, type = 0): Uint8Array {
  return cat(Uint8Array.of(type, (payload.length >> 16) & 0xff, (payload.length >> 8) & 0xff, payload.length & 0xff), payload);
}

// ---------------------------------------------------------------- DCERPC

/** Canonical UUID string → wire bytes (little-endian data representation). */
export function uuidLE(s: string): Uint8Array {
  const h = Buffer.from(s.replace(/-/g, ''), 'hex');
  return cat(Uint8Array.of(h[3]!, h[2]!, h[1]!, h[0]!, h[5]!, h[4]!, h[7]!, h[6]!), h.subarray(8));
}

export const NDR = '8a885d04-1ceb-11c9-9fe8-08002b104860';

export function dceHdr(ptype: number, flags: number, body: Uint8Array, callId: number, authLen = 0): Uint8Array {
  return cat(Uint8Array.of(5, 0, ptype, flags, 0x10, 0, 0, 0), le16(16 + body.length), le16(authLen), le32(callId), body);
}

export function dceBind(callId: number, ifaces: readonly { uuid: string; ver: number; ctxid: number }[], flags = 3, ptype = 11): Uint8Array {
  const items = ifaces.map((i) => cat(le16(i.ctxid), Uint8Array.of(1, 0), uuidLE(i.uuid), le16(i.ver), le16(0), uuidLE(NDR), le32(2)));
  return dceHdr(ptype, flags, cat(le16(4280), le16(4280), le32(0), Uint8Array.of(ifaces.length, 0, 0, 0), ...items), callId);
}

export function dceBindAck(callId: number, results: readonly number[], secAddr = '\\PIPE\\srvsvc\0'): Uint8Array {
  const sec = ascii(secAddr);
  let head = cat(le16(4280), le16(4280), le32(0x1234), le16(sec.length), sec);
  const pad = (4 - ((16 + head.length) % 4)) % 4;
  head = cat(head, zeros(pad));
  const res = results.map((r) => cat(le16(r), le16(0), uuidLE(NDR), le32(2)));
  return dceHdr(12, 3, cat(head, Uint8Array.of(results.length, 0, 0, 0), ...res), callId);
}

export function dceRequest(callId: number, ctxid: number, opnum: number, stub: Uint8Array, flags = 3): Uint8Array {
  return dceHdr(0, flags, cat(le32(stub.length), le16(ctxid), le16(opnum), stub), callId);
}

export function dceResponse(callId: number, stub: Uint8Array, flags = 3): Uint8Array {
  return dceHdr(2, flags, cat(le32(stub.length), le16(0), Uint8Array.of(0, 0), stub), callId);
}

// ---------------------------------------------------------------- SMB2

export interface Smb2HdrOpts { cmd: number; msgId: number; response?: boolean; status?: number; treeId?: number; sessionId?: number; next?: number }

export function smb2Hdr(o: Smb2HdrOpts): Uint8Array {
  return cat(
    Uint8Array.of(0xfe, 0x53, 0x4d, 0x42), le16(64), le16(0), le32(o.status ?? 0), le16(o.cmd), le16(1),
    le32(o.response ? 1 : 0), le32(o.next ?? 0), le64(o.msgId), le32(0xfeff), le32(o.treeId ?? 0), le64(o.sessionId ?? 0), zeros(16),
  );
}

export function smb2Negotiate(msgId: number, dialects: readonly number[]): Uint8Array {
  return cat(smb2Hdr({ cmd: 0, msgId }), le16(36), le16(dialects.length), le16(1), le16(0), le32(0), zeros(16), zeros(8), ...dialects.map(le16));
}

export function smb2NegotiateResp(msgId: number, dialect: number): Uint8Array {
  return cat(smb2Hdr({ cmd: 0, msgId, response: true }), le16(65), le16(1), le16(dialect), le16(0), zeros(16), le32(0), le32(65536), le32(65536), le32(65536), zeros(16), le16(0), le16(0), le32(0));
}

export function smb2SessionSetup(msgId: number, blob: Uint8Array): Uint8Array {
  return cat(smb2Hdr({ cmd: 1, msgId }), le16(25), Uint8Array.of(0, 1), le32(0), le32(0), le16(64 + 24), le16(blob.length), le64(0), blob);
}

export function smb2TreeConnect(msgId: number, path: string, sessionId = 5): Uint8Array {
  const p = utf16(path);
  return cat(smb2Hdr({ cmd: 3, msgId, sessionId }), le16(9), le16(0), le16(64 + 8), le16(p.length), p);
}

export function smb2TreeConnectResp(msgId: number, treeId: number, shareType: number, status = 0): Uint8Array {
  return cat(smb2Hdr({ cmd: 3, msgId, response: true, treeId, status }), le16(16), Uint8Array.of(shareType, 0), le32(0), le32(0), le32(0x1f01ff));
}

export function smb2Create(msgId: number, treeId: number, name: string): Uint8Array {
  const n = utf16(name);
  return cat(smb2Hdr({ cmd: 5, msgId, treeId }), le16(57), Uint8Array.of(0, 0), le32(2), zeros(8), zeros(8), le32(0x12019f), le32(0), le32(7), le32(1), le32(0), le16(64 + 56), le16(n.length), le32(0), le32(0), n);
}

export function smb2CreateResp(msgId: number, treeId: number, fileId: Uint8Array): Uint8Array {
  return cat(smb2Hdr({ cmd: 5, msgId, response: true, treeId }), le16(89), Uint8Array.of(0, 0), le32(1), zeros(32), zeros(16), le32(0x80), le32(0), fileId, le32(0), le32(0));
}

export function smb2Write(msgId: number, treeId: number, fileId: Uint8Array, data: Uint8Array, offset = 0): Uint8Array {
  return cat(smb2Hdr({ cmd: 9, msgId, treeId }), le16(49), le16(64 + 48), le32(data.length), le64(offset), fileId, le32(0), le32(0), le16(0), le16(0), le32(0), data);
}

export function smb2Read(msgId: number, treeId: number, fileId: Uint8Array, len: number, offset = 0): Uint8Array {
  return cat(smb2Hdr({ cmd: 8, msgId, treeId }), le16(49), Uint8Array.of(0x50, 0), le32(len), le64(offset), fileId, le32(0), le32(0), le32(0), le16(0), le16(0), Uint8Array.of(0));
}

export function smb2ReadResp(msgId: number, treeId: number, data: Uint8Array): Uint8Array {
  return cat(smb2Hdr({ cmd: 8, msgId, response: true, treeId }), le16(17), Uint8Array.of(64 + 16, 0), le32(data.length), le32(0), le32(0), data);
}

export function smb2Ioctl(msgId: number, treeId: number, fileId: Uint8Array, input: Uint8Array, code = 0x0011c017): Uint8Array {
  return cat(smb2Hdr({ cmd: 11, msgId, treeId }), le16(57), le16(0), le32(code), fileId, le32(64 + 56), le32(input.length), le32(0), le32(0), le32(0), le32(1024), le32(1), le32(0), input);
}

export function smb2IoctlResp(msgId: number, treeId: number, fileId: Uint8Array, output: Uint8Array, code = 0x0011c017): Uint8Array {
  return cat(smb2Hdr({ cmd: 11, msgId, response: true, treeId }), le16(49), le16(0), le32(code), fileId, le32(64 + 48), le32(0), le32(64 + 48), le32(output.length), le32(0), le32(0), output);
}

// ---------------------------------------------------------------- SMB1

export interface Smb1HdrOpts { cmd: number; mid: number; reply?: boolean; status?: number; tid?: number; uid?: number; pid?: number; unicode?: boolean }

export function smb1Hdr(o: Smb1HdrOpts): Uint8Array {
  const flags2 = 0xc807 & (o.unicode === false ? 0x7fff : 0xffff);
  return cat(
    Uint8Array.of(0xff, 0x53, 0x4d, 0x42, o.cmd), le32(o.status ?? 0), Uint8Array.of(o.reply ? 0x98 : 0x18), le16(flags2),
    le16(0), zeros(8), le16(0), le16(o.tid ?? 0), le16(o.pid ?? 0xfeff), le16(o.uid ?? 0), le16(o.mid),
  );
}

/** Word block + byte block after a 32-byte header. */
export function smb1Body(words: Uint8Array, bytes: Uint8Array): Uint8Array {
  return cat(Uint8Array.of(words.length / 2), words, le16(bytes.length), bytes);
}

export function smb1Negotiate(mid: number, dialects: readonly string[]): Uint8Array {
  return cat(smb1Hdr({ cmd: 0x72, mid }), smb1Body(zeros(0), cat(...dialects.map((d) => cat(Uint8Array.of(2), ascii(d), Uint8Array.of(0))))));
}

export function smb1TreeConnect(mid: number, path: string, unicode = true): Uint8Array {
  const hdr = smb1Hdr({ cmd: 0x75, mid, unicode });
  const words = cat(Uint8Array.of(0xff, 0), le16(0), le16(0x08), le16(1));
  // bytes start at 32 + 1 + 8 + 2 = 43 (odd): password "\0" (1 byte) puts the path at 44.
  const pathBytes = unicode ? cat(utf16(path), zeros(2)) : cat(ascii(path), zeros(1));
  return cat(hdr, smb1Body(words, cat(zeros(1), pathBytes, ascii('?????'), zeros(1))));
}

export function smb1TreeConnectResp(mid: number, tid: number, service: string): Uint8Array {
  const words = cat(Uint8Array.of(0xff, 0), le16(0), le16(1));
  return cat(smb1Hdr({ cmd: 0x75, mid, reply: true, tid }), smb1Body(words, cat(ascii(service), zeros(1))));
}

export function smb1SessionSetup(mid: number, blob: Uint8Array): Uint8Array {
  const words = cat(Uint8Array.of(0xff, 0), le16(0), le16(4356), le16(10), le16(0), le32(0), le16(blob.length), le32(0), le32(0x8000e3fc));
  return cat(smb1Hdr({ cmd: 0x73, mid }), smb1Body(words, blob));
}

/** WRITE_ANDX on `fid` of tree `tid`, data right after the byte count (wc 14). */
export function smb1Write(mid: number, tid: number, fid: number, data: Uint8Array, offset = 0): Uint8Array {
  const dataOff = 32 + 1 + 28 + 2;
  const words = cat(Uint8Array.of(0xff, 0), le16(0), le16(fid), le32(offset), le32(0), le16(8), le16(data.length), le16(0), le16(data.length), le16(dataOff), le32(0));
  return cat(smb1Hdr({ cmd: 0x2f, mid, tid }), smb1Body(words, data));
}

/** TRANS TransactNmPipe on `fid`: DCERPC in the data. */
export function smb1Trans(mid: number, tid: number, fid: number, data: Uint8Array): Uint8Array {
  const name = cat(utf16('\\PIPE\\'), zeros(2));
  const wordsLen = 2 * 16;
  const bytesStart = 32 + 1 + wordsLen + 2;
  const pad = bytesStart % 2; // name aligned
  const dataOff = bytesStart + pad + name.length;
  const words = cat(le16(0), le16(data.length), le16(0), le16(1024), Uint8Array.of(0, 0), le16(0), le32(0), le16(0), le16(0), le16(dataOff), le16(data.length), le16(dataOff), Uint8Array.of(2, 0), le16(0x26), le16(fid));
  return cat(smb1Hdr({ cmd: 0x25, mid, tid }), smb1Body(words, cat(zeros(pad), name, data)));
}

export function smb1TransResp(mid: number, tid: number, data: Uint8Array): Uint8Array {
  const bytesStart = 32 + 1 + 20 + 2;
  const pad = 1;
  const dataOff = bytesStart + pad;
  const words = cat(le16(0), le16(data.length), le16(0), le16(0), le16(dataOff), le16(0), le16(data.length), le16(dataOff), le16(0), Uint8Array.of(0, 0));
  return cat(smb1Hdr({ cmd: 0x25, mid, reply: true, tid }), smb1Body(words, cat(zeros(pad), data)));
}

// ---------------------------------------------------------------- NTLMSSP

/** AUTHENTICATE_MESSAGE with Unicode strings, optionally wrapped in a minimal SPNEGO NegTokenResp. */
export function ntlmAuth(user: string, domain: string, host: string, spnego = true): Uint8Array {
  const d = utf16(domain);
  const u = utf16(user);
  const h = utf16(host);
  const base = 72;
  const f = (len: number, off: number): Uint8Array => cat(le16(len), le16(len), le32(off));
  const msg = cat(
    ascii('NTLMSSP\0'), le32(3),
    f(0, base), f(0, base), f(d.length, base), f(u.length, base + d.length), f(h.length, base + d.length + u.length), f(0, base),
    le32(0xe2088215), zeros(8), d, u, h,
  );
  if (!spnego) return msg;
  // a1 LL 30 LL a2 LL 04 LL <msg>  (short-form lengths suffice for < 128 bytes)
  const oct = cat(Uint8Array.of(0x04, msg.length), msg);
  const a2 = cat(Uint8Array.of(0xa2, oct.length), oct);
  const seq = cat(Uint8Array.of(0x30, a2.length), a2);
  return cat(Uint8Array.of(0xa1, seq.length), seq);
}
