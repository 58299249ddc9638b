/**
 * Suricata's `base64_decode` and `base64_data` keywords (detect-base64-decode.c,
 * detect-base64-data.c, util-base64.c; Suricata 7/8):
 *
 *   base64_decode[:bytes N][, offset N][, relative]   decodes part of the inspected buffer
 *   base64_data                                      later content/pcre/byte keywords inspect
 *                                                    the decoded bytes (from their start)
 *
 * base64_decode matches when it decoded at least one byte and does not move the detection
 * pointer. Decoding is Suricata's BASE64_MODE_RELAX: it stops at the first byte outside the
 * alphabet ('=' is padding) and keeps the bytes of a trailing partial block.
 */
import { OptionError } from '../options.js';

/** Suricata's BASE64_DECODE_MAX: the most input bytes one base64_decode reads. */
export const BASE64_DECODE_MAX = 65535;

export interface Base64DecodeCondition {
  kind: 'base64_decode';
  /** Input bytes to decode at most (Suricata default BASE64_DECODE_MAX). */
  bytes: number;
  offset: number;
  relative: boolean;
}

/** Marks where the rule switches to the decoded buffer. */
export interface Base64DataCondition {
  kind: 'base64_data';
}

export function parseBase64Decode(v: string | undefined): Base64DecodeCondition {
  const out: Base64DecodeCondition = { kind: 'base64_decode', bytes: BASE64_DECODE_MAX, offset: 0, relative: false };
  if (v === undefined || v.trim() === '') return out;
  // Suricata's pattern: [bytes N,] [offset N,] [relative] in this order.
  const m = /^\s*(?:bytes\s+(\d+)\s*,?)?\s*(?:offset\s+(\d+)\s*,?)?\s*(\w+)?\s*$/.exec(v);
  if (!m || (m[1] === undefined && m[2] === undefined && m[3] === undefined)) throw new OptionError(`base64_decode: cannot parse "${v}"`);
  if (m[3] !== undefined && m[3] !== 'relative') throw new OptionError(`base64_decode: invalid argument "${m[3]}"`);
  if (m[1] !== undefined) {
    const b = Number(m[1]);
    if (b < 1 || b > 0xffffffff) throw new OptionError(`base64_decode: bad bytes ${m[1]}`);
    out.bytes = b;
  }
  if (m[2] !== undefined) out.offset = Number(m[2]);
  out.relative = m[3] === 'relative';
  return out;
}

const VALUE = new Int8Array(256).fill(-1);
{
  const a = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < a.length; i++) VALUE[a.charCodeAt(i)] = i;
}

/** Decodes data[from, from+len) in RELAX mode. */
export function decodeBase64Relax(data: Uint8Array, from: number, len: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((len * 3) / 4));
  let n = 0;
  let acc = 0;
  let have = 0; // sextets in the current block (padding included)
  let pad = 0;
  const flush = (): void => {
    // A block of `have` sextets (`pad` of them padding) yields (have*6)/8 bytes minus padding.
    const bits = (have - pad) * 6;
    const bytes = Math.floor(bits / 8);
    const v = acc << (6 * (4 - have));
    for (let k = 0; k < bytes; k++) out[n++] = (v >>> (16 - 8 * k)) & 0xff;
    acc = 0;
    have = 0;
    pad = 0;
  };
  for (let i = from; i < from + len; i++) {
    const b = data[i]!;
    const v = VALUE[b]!;
    if (v < 0) {
      if (b !== 0x3d) break; // invalid character: RELAX keeps what was decoded
      if (have === 0) continue;
      pad++;
      acc = acc << 6;
    } else {
      if (pad > 0) break; // data after padding inside a block
      acc = (acc << 6) | v;
    }
    have++;
    if (have === 4) flush();
  }
  if (have > 0) flush();
  return out.subarray(0, n);
}

/** Runs base64_decode at detection pointer `prev`: the decoded bytes (empty = no match). */
export function evalBase64Decode(c: Base64DecodeCondition, data: Uint8Array, length: number, prev: number): Uint8Array {
  let start = 0;
  let avail = length;
  if (c.relative) {
    start = prev;
    avail = length - prev;
  }
  if (c.offset !== 0) {
    if (c.offset >= avail) return new Uint8Array(0);
    start += c.offset;
    avail -= c.offset;
  }
  if (avail <= 0) return new Uint8Array(0);
  return decodeBase64Relax(data, start, Math.min(avail, c.bytes));
}
