/** Builders for TLS byte streams in tests (RFC 5246 / 8446 wire formats). */

export const u8 = (...xs: number[]): Uint8Array => new Uint8Array(xs);
export const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts));
const u16 = (v: number): Uint8Array => u8(v >> 8, v & 0xff);
const u24 = (v: number): Uint8Array => u8(v >> 16, (v >> 8) & 0xff, v & 0xff);
const vec8 = (b: Uint8Array): Uint8Array => cat(u8(b.length), b);
const vec16 = (b: Uint8Array): Uint8Array => cat(u16(b.length), b);
const list16 = (xs: number[]): Uint8Array => cat(...xs.map(u16));
export const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

export const record = (type: number, body: Uint8Array, version = 0x0301): Uint8Array => cat(u8(type), u16(version), u16(body.length), body);
export const handshake = (type: number, body: Uint8Array): Uint8Array => cat(u8(type), u24(body.length), body);

export interface Ext { type: number; data: Uint8Array }
export const ext = (type: number, data: Uint8Array = u8()): Ext => ({ type, data });
export const sniExt = (name: string): Ext => ext(0, vec16(cat(u8(0), vec16(ascii(name)))));
export const groupsExt = (gs: number[]): Ext => ext(10, vec16(list16(gs)));
export const pointFormatsExt = (pf: number[]): Ext => ext(11, vec8(u8(...pf)));
export const sigAlgsExt = (s: number[]): Ext => ext(13, vec16(list16(s)));
export const alpnExt = (names: string[]): Ext => ext(16, vec16(cat(...names.map((n) => vec8(ascii(n))))));
export const clientVersionsExt = (vs: number[]): Ext => ext(43, vec8(list16(vs)));
export const serverVersionExt = (v: number): Ext => ext(43, u16(v));

const exts = (es: Ext[]): Uint8Array => vec16(cat(...es.map((e) => cat(u16(e.type), vec16(e.data)))));

export function clientHello(version: number, ciphers: number[], es: Ext[] | null): Uint8Array {
  const body = cat(u16(version), new Uint8Array(32).fill(7), vec8(u8()), vec16(list16(ciphers)), vec8(u8(0)), es === null ? u8() : exts(es));
  return handshake(1, body);
}

export const HRR_RANDOM = new Uint8Array(Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex'));

export function serverHello(version: number, cipher: number, es: Ext[] | null, random: Uint8Array = new Uint8Array(32).fill(9)): Uint8Array {
  const body = cat(u16(version), random, vec8(u8()), u16(cipher), u8(0), es === null ? u8() : exts(es));
  return handshake(2, body);
}

export const certificate = (ders: Uint8Array[]): Uint8Array => {
  const list = cat(...ders.map((d) => cat(u24(d.length), d)));
  return handshake(11, cat(u24(list.length), list));
};
export const serverHelloDone = (): Uint8Array => handshake(14, u8());
export const ccs = (version = 0x0303): Uint8Array => record(20, u8(1), version);
export const appData = (n: number, version = 0x0303): Uint8Array => record(23, new Uint8Array(n).fill(0xaa), version);
