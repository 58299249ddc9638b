/**
 * Sticky-buffer transforms with Suricata's semantics (rust/src/detect/transforms/*.rs,
 * detect-transform-*.c): parsing at rule load and application to a buffer before inspection.
 * Pure: a transform returns a new array (the buffer belongs to the transaction), or null when
 * Suricata flags the buffer as an error (from_base64 decoding nothing), which no content matches.
 */
import { createHash } from 'node:crypto';
import type { Transform } from './types.js';
import { compileRegex, regexProblem } from '../regex/regex.js';
import { Unsupported, OptionError } from './options.js';
import { Inflater } from '../engine/app-layer/http/inflate.js';

/** Names of the transforms without options. */
const SIMPLE = new Set([
  'to_lowercase', 'to_uppercase', 'url_decode', 'strip_whitespace', 'compress_whitespace', 'dotprefix', 'header_lowercase',
  'to_md5', 'to_sha1', 'to_sha256', 'strip_pseudo_headers',
]);
/** Transforms Suricata has that are not implemented here (skipped with a reason, never ignored). */
const KNOWN_UNSUPPORTED = new Set(['domain', 'tld', 'luaxform', 'from_json']);
/** Transforms with options, parsed below. */
const WITH_OPTIONS = new Set(['xor', 'from_base64', 'pcrexform', 'gunzip', 'zlib_deflate', 'subslice']);

export function isTransformKeyword(name: string): boolean {
  return SIMPLE.has(name) || WITH_OPTIONS.has(name) || KNOWN_UNSUPPORTED.has(name);
}

/** Parses a transform keyword (`isTransformKeyword(name)` must hold). Throws OptionError / Unsupported. */
export function parseTransform(name: string, value: string | undefined): Transform {
  if (SIMPLE.has(name)) {
    if (value !== undefined) throw new OptionError(`${name} takes no value`);
    return { kind: name as 'to_lowercase' };
  }
  if (KNOWN_UNSUPPORTED.has(name)) throw new Unsupported(`unsupported transform ${name}`);
  if (name === 'xor') return parseXor(value);
  if (name === 'gunzip' || name === 'zlib_deflate') return { kind: name, maxSize: parseMaxSize(name, value) };
  if (name === 'subslice') return parseSubslice(value);
  if (name === 'from_base64') {
    const t: { kind: 'from_base64'; offset: number; bytes: number; mode: 'rfc4648' | 'rfc2045' | 'strict' } = { kind: 'from_base64', offset: 0, bytes: 0, mode: 'rfc4648' };
    const seen = new Set<string>();
    const parts = (value ?? '').trim() === '' ? [] : (value ?? '').split(',');
    if (parts.length > 3) throw new OptionError('from_base64: at most bytes, offset and mode');
    for (const part of parts) {
      const m = /^\s*(\w+)\s+(\S+)\s*$/.exec(part);
      if (!m) throw new OptionError(`from_base64: cannot parse "${part.trim()}"`);
      const k = m[1]!;
      const v = m[2]!;
      if (seen.has(k)) throw new OptionError(`from_base64: ${k} given twice`);
      seen.add(k);
      if (k === 'mode') {
        if (v !== 'rfc4648' && v !== 'rfc2045' && v !== 'strict') throw new OptionError(`from_base64: invalid mode ${v}`);
        t.mode = v;
      } else if (k === 'offset' || k === 'bytes') {
        if (!/^\d+$/.test(v)) {
          if (/^[A-Za-z_]/.test(v)) throw new Unsupported('byte_extract variable');
          throw new OptionError(`from_base64: ${k} must be a number`);
        }
        const n = Number(v);
        if (n > 65535) throw new OptionError(`from_base64: ${k} over 65535`);
        t[k] = n;
      } else throw new OptionError(`from_base64: unknown option ${k}`);
    }
    return t;
  }
  if (name === 'pcrexform') {
    const m = /^"(.*)"$/s.exec((value ?? '').trim());
    if (!m) throw new OptionError('pcrexform: expected a quoted regex');
    const source = m[1]!.replace(/\\([";\\])/g, '$1');
    let regex;
    try {
      regex = compileRegex(source, {});
    } catch (e) {
      const p = regexProblem(e);
      if (p === undefined) throw e;
      throw new OptionError(`pcrexform: ${p.message} at offset ${p.offset}`);
    }
    if (regex.captureCount < 1) throw new OptionError('pcrexform: the regex needs a capture group');
    return { kind: 'pcrexform', regex, source };
  }
  throw new Unsupported(`unsupported transform ${name}`);
}

/**
 * Suricata's xor (rust/src/detect/transforms/xor.rs; quotes optional): `KEY`, `extract N OFF`
 * (also spelled `var N OFF`: an N-byte key read from the buffer at OFF when the transform runs),
 * each optionally after `offset START,` (XOR starts at START; the bytes before it, often the
 * embedded key, are kept as they are).
 */
function parseXor(value: string | undefined): Transform {
  let rest = (value ?? '').trim();
  let start = 0;
  const off = /^offset\s+([^,]*),(.*)$/s.exec(rest);
  if (off) {
    if (!/^\d+$/.test(off[1]!.trim())) throw new OptionError(`xor: invalid offset "${off[1]!.trim()}"`);
    start = Number(off[1]!.trim());
    if (start > 0xffffffff) throw new OptionError('xor: offset over 4294967295');
    rest = off[2]!.trim();
  } else if (/^offset\s/.test(rest)) throw new OptionError('xor: offset needs the form "offset N,KEY"');
  const v = /^(?:extract|var)\s+(\S+)\s+(\S+)$/.exec(rest);
  if (v) {
    if (!/^\d+$/.test(v[1]!) || !/^\d+$/.test(v[2]!)) throw new OptionError('xor: key location must be "extract BYTES OFFSET"');
    const length = Number(v[1]);
    const offset = Number(v[2]);
    if (length < 1 || length > 255) throw new OptionError('xor: key byte count must be 1 to 255');
    if (offset > 65535) throw new OptionError('xor: key offset over 65535');
    return { kind: 'xor', key: new Uint8Array(0), keyAt: { offset, length }, start };
  }
  if (/^(?:extract|var)(?:\s|$)/.test(rest)) throw new OptionError('xor: key location must be "extract BYTES OFFSET"');
  const hex = rest.length >= 2 && rest.startsWith('"') && rest.endsWith('"') ? rest.slice(1, -1) : rest;
  if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length % 2 !== 0) throw new OptionError('xor: expected an even-length hex key');
  if (hex.length > 510) throw new OptionError('xor: key longer than 255 bytes');
  return { kind: 'xor', key: Uint8Array.from(Buffer.from(hex, 'hex')), start };
}

/** Suricata's default output bound of gunzip / zlib_deflate (rust/src/detect/transforms/decompress.rs). */
export const DECOMPRESS_DEFAULT_MAX = 1024;
/** The largest max-size accepted (Suricata's u32): the output buffer is allocated up front. */
const DECOMPRESS_MAX = 0xffffffff;

/** `max-size N[unit]` (also written `max-size=N`), units kb/mb/gb and KiB/MiB/GiB all binary, as Suricata's uint parser. */
function parseMaxSize(name: string, value: string | undefined): number {
  const v = (value ?? '').trim();
  if (v === '') return DECOMPRESS_DEFAULT_MAX;
  let size: number | undefined;
  for (const part of v.split(',')) {
    const m = /^\s*max-size\s*(?:=|\s)\s*(\d+)\s*(kb|mb|gb|kib|mib|gib)?\s*$/i.exec(part);
    if (!m) throw new OptionError(`${name}: cannot parse "${part.trim()}" (expected max-size N)`);
    if (size !== undefined) throw new OptionError(`${name}: max-size given twice`);
    const unit = (m[2] ?? '').toLowerCase();
    const mult = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 * 1024 : unit.startsWith('g') ? 1024 * 1024 * 1024 : 1;
    size = Number(m[1]) * mult;
    if (size === 0) throw new OptionError(`${name}: max-size 0 would always give an empty buffer`);
    if (size > DECOMPRESS_MAX) throw new OptionError(`${name}: max-size over 4294967295`);
  }
  return size ?? DECOMPRESS_DEFAULT_MAX;
}

/** Suricata's subslice (rust/src/detect/transforms/subslice.rs): `OFFSET[, NBYTES][, truncate]`. */
function parseSubslice(value: string | undefined): Transform {
  const parts = (value ?? '').trim().split(',').map((p) => p.trim());
  const int = (p: string): number => {
    if (!/^[-+]?\d+$/.test(p)) throw new OptionError(`subslice: "${p}" is not an integer`);
    const n = Number(p);
    if (!Number.isSafeInteger(n)) throw new OptionError(`subslice: ${p} out of range`);
    return n;
  };
  const isTruncate = (p: string): boolean => p.toLowerCase() === 'truncate';
  if (parts.length === 1) return { kind: 'subslice', offset: int(parts[0]!), nbytes: null, truncate: false };
  if (parts.length === 2 && isTruncate(parts[1]!)) return { kind: 'subslice', offset: int(parts[0]!), nbytes: null, truncate: true };
  if (parts.length === 2 || (parts.length === 3 && isTruncate(parts[2]!))) {
    const nbytes = int(parts[1]!);
    if (nbytes === 0) throw new OptionError('subslice: nbytes 0');
    return { kind: 'subslice', offset: int(parts[0]!), nbytes, truncate: parts.length === 3 };
  }
  throw new OptionError("subslice: expected 'offset', 'offset, nbytes', 'offset, truncate' or 'offset, nbytes, truncate'");
}

/** Stable text of a transform chain (prefilter grouping, `BufferList.key`). */
export function transformKey(ts: readonly Transform[]): string {
  return ts
    .map((t) => {
      switch (t.kind) {
        case 'xor':
          return t.keyAt !== undefined ? `xor(@${t.keyAt.offset}:${t.keyAt.length},${t.start})` : `xor(${Buffer.from(t.key).toString('hex')},${t.start})`;
        case 'from_base64':
          return `from_base64(${t.offset},${t.bytes},${t.mode})`;
        case 'pcrexform':
          return `pcrexform(${t.source})`;
        case 'gunzip':
        case 'zlib_deflate':
          return `${t.kind}(${t.maxSize})`;
        case 'subslice':
          return `subslice(${t.offset},${t.nbytes ?? ''},${t.truncate})`;
        default:
          return t.kind;
      }
    })
    .join('|');
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/** Suricata url_decode: %XX decoded, '+' → space, an invalid or cut escape kept as it is. */
export function urlDecode(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x25) {
      const h = i + 1 < b.length ? hexVal(b[i + 1]!) : -1;
      const l = i + 2 < b.length ? hexVal(b[i + 2]!) : -1;
      if (h >= 0 && l >= 0) {
        out[n++] = (h << 4) | l;
        i += 2;
        continue;
      }
      // Suricata's state machine: '%' then whatever valid hex digit was taken, then the byte that broke it
      out[n++] = 0x25;
      if (h >= 0) {
        out[n++] = b[i + 1]!;
        i++;
        if (i + 1 < b.length) {
          out[n++] = b[i + 1]!;
          i++;
        }
      } else if (i + 1 < b.length) {
        out[n++] = b[i + 1]!;
        i++;
      }
      continue;
    }
    out[n++] = c === 0x2b ? 0x20 : c;
  }
  return out.subarray(0, n);
}

const B64 = (() => {
  const t = new Int16Array(256).fill(-1);
  const a = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < a.length; i++) t[a.charCodeAt(i)] = i;
  return t;
})();

/**
 * Suricata's SCBase64Decode: rfc4648 stops at the first byte outside the alphabet (padding
 * included) and keeps what was decoded; rfc2045 skips such bytes; strict fails on them. A last
 * incomplete quantum gives its whole bytes. Returns null when nothing was decoded.
 */
export function base64Decode(b: Uint8Array, mode: 'rfc4648' | 'rfc2045' | 'strict'): Uint8Array | null {
  const out = new Uint8Array(Math.floor((b.length * 3) / 4) + 3);
  let n = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    const v = B64[c]!;
    if (v < 0) {
      if (mode === 'rfc2045') continue;
      if (mode === 'strict' && c !== 0x3d) return null;
      break;
    }
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return n === 0 ? null : out.subarray(0, n);
}

/** Applies a chain; null when a transform flags an error (no match on this buffer). */
export function applyTransforms(input: Uint8Array, ts: readonly Transform[]): Uint8Array | null {
  let b = input;
  for (const t of ts) {
    const r = applyOne(b, t);
    if (r === null) return null;
    b = r;
  }
  return b;
}

const PCREX_OV = new Int32Array(4);

function applyOne(b: Uint8Array, t: Transform): Uint8Array | null {
  switch (t.kind) {
    case 'to_lowercase': {
      const o = new Uint8Array(b.length);
      for (let i = 0; i < b.length; i++) {
        const c = b[i]!;
        o[i] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
      }
      return o;
    }
    case 'to_uppercase': {
      const o = new Uint8Array(b.length);
      for (let i = 0; i < b.length; i++) {
        const c = b[i]!;
        o[i] = c >= 0x61 && c <= 0x7a ? c - 0x20 : c;
      }
      return o;
    }
    case 'strip_whitespace': {
      const o = new Uint8Array(b.length);
      let n = 0;
      for (const c of b) if (!isSpace(c)) o[n++] = c;
      return o.subarray(0, n);
    }
    case 'compress_whitespace': {
      // a run of whitespace keeps its first byte (not a space: compress_whitespace.rs)
      const o = new Uint8Array(b.length);
      let n = 0;
      let space = false;
      for (const c of b) {
        if (!isSpace(c)) {
          o[n++] = c;
          space = false;
        } else if (!space) {
          o[n++] = c;
          space = true;
        }
      }
      return o.subarray(0, n);
    }
    case 'dotprefix': {
      if (b.length === 0) return b;
      const o = new Uint8Array(b.length + 1);
      o[0] = 0x2e;
      o.set(b, 1);
      return o;
    }
    case 'header_lowercase': {
      // names (up to ':') lowercased on every line; values kept
      const o = new Uint8Array(b.length);
      let inValue = false;
      for (let i = 0; i < b.length; i++) {
        const c = b[i]!;
        if (!inValue) {
          if (c === 0x3a) inValue = true;
          o[i] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
        } else {
          o[i] = c;
          if (c === 0x0a) inValue = false;
        }
      }
      return o;
    }
    case 'strip_pseudo_headers': {
      const o = new Uint8Array(b.length);
      let n = 0;
      let start = 0;
      while (start < b.length) {
        let end = b.indexOf(0x0a, start);
        end = end < 0 ? b.length : end + 1;
        if (b[start] !== 0x3a) {
          o.set(b.subarray(start, end), n);
          n += end - start;
        }
        start = end;
      }
      return o.subarray(0, n);
    }
    case 'url_decode':
      return urlDecode(b);
    case 'to_md5':
    case 'to_sha1':
    case 'to_sha256': {
      if (b.length === 0) return b;
      const alg = t.kind === 'to_md5' ? 'md5' : t.kind === 'to_sha1' ? 'sha1' : 'sha256';
      return new Uint8Array(createHash(alg).update(b).digest());
    }
    case 'xor': {
      // Suricata leaves the buffer untransformed when the start or the key lies outside it.
      if (b.length === 0 || t.start > b.length) return b;
      let k = t.key;
      if (t.keyAt !== undefined) {
        const end = t.keyAt.offset + t.keyAt.length;
        if (end > b.length) return b;
        k = b.subarray(t.keyAt.offset, end);
      }
      const o = new Uint8Array(b.length);
      o.set(b.subarray(0, t.start));
      for (let i = t.start, j = 0; i < b.length; i++, j++) o[i] = b[i]! ^ k[j % k.length]!;
      return o;
    }
    case 'from_base64': {
      let s = b;
      if (t.offset > 0) {
        if (t.offset >= s.length) return b;
        s = s.subarray(t.offset);
      }
      if (t.bytes > 0) {
        if (t.bytes >= s.length) return b;
        s = s.subarray(0, t.bytes);
      }
      return base64Decode(s, t.mode);
    }
    case 'gunzip':
    case 'zlib_deflate':
      return b.length === 0 ? b : decompress(b, t.kind === 'gunzip' ? 'gzip' : 'zlib', t.maxSize);
    case 'subslice':
      return b.length === 0 ? b : subslice(b, t.offset, t.nbytes, t.truncate);
    case 'pcrexform': {
      // the first capture group of the first match replaces the buffer; no match leaves it as is
      const rc = t.regex.exec(b, 0, b.length, PCREX_OV);
      if (rc < 2 || PCREX_OV[2]! < 0) return b;
      return b.slice(PCREX_OV[2], PCREX_OV[3]);
    }
  }
}

/**
 * At most `max` decompressed bytes (more input is not decoded). A stream broken before the
 * bound gives an empty buffer (Suricata truncates the buffer to 0 on a decoder error); a
 * stream that merely ends early gives what was decoded.
 */
function decompress(b: Uint8Array, format: 'gzip' | 'zlib', max: number): Uint8Array {
  const out = new Uint8Array(Math.min(max, 64 * 1024));
  let buf = out;
  let n = 0;
  const inf = new Inflater(format, (d) => {
    const take = Math.min(d.length, max - n);
    if (n + take > buf.length) {
      const nb = new Uint8Array(Math.min(max, Math.max(n + take, buf.length * 2)));
      nb.set(buf.subarray(0, n));
      buf = nb;
    }
    buf.set(d.subarray(0, take), n);
    n += take;
    return n < max;
  });
  const st = inf.push(b);
  inf.dispose();
  if (st === 'error') return new Uint8Array(0);
  return buf.subarray(0, n);
}

/** Suricata's subslice_apply; out of range without truncate gives an empty buffer. */
export function subslice(b: Uint8Array, offset: number, nbytes: number | null, truncate: boolean): Uint8Array {
  const len = b.length;
  if (Math.abs(offset) > len && !truncate) return new Uint8Array(0);
  let start = offset >= 0 ? Math.min(offset, len) : len + Math.max(offset, -len);
  let end: number;
  if (nbytes === null) end = len;
  else if (nbytes < 0) {
    end = len + nbytes;
    if (end < 0) {
      if (!truncate) return new Uint8Array(0);
      end = 0;
    }
  } else {
    end = start + nbytes;
    if (end > len && !truncate) return new Uint8Array(0);
    end = Math.min(end, len);
  }
  if (end < start) [start, end] = [end, start];
  return b.subarray(start, end);
}
