/**
 * Unpacking a downloaded rule source in memory: `.tar.gz`/`.tgz`/`.tar`, a gzip'ed single file,
 * or a plain `.rules` file. Nothing is written to disk, so no entry can land outside a target
 * directory — and still an archive with an absolute path, a `..` component or a link pointing
 * outside the archive is refused as a whole (a source that ships one is broken or hostile).
 * Bounded: total unpacked bytes, bytes per file, number of entries. Pure.
 */
import { gunzipSync } from 'node:zlib';
import { BulwarkError } from '../errors.js';

export interface ArchiveLimits {
  /** Unpacked bytes of all entries together (the gzip stream is cut there too). */
  maxTotalBytes: number;
  maxFileBytes: number;
  maxEntries: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = { maxTotalBytes: 512 * 1024 * 1024, maxFileBytes: 128 * 1024 * 1024, maxEntries: 10_000 };

export interface UnpackedFile {
  /** Normalised relative path ("rules/emerging-scan.rules"). */
  path: string;
  data: Buffer;
}

export interface Unpacked {
  kind: 'tar' | 'gzip' | 'plain';
  files: UnpackedFile[];
  /** Entries not extracted: directories, links inside the archive, devices (for the report). */
  skipped: string[];
}

function refuse(what: string, message: string): BulwarkError {
  return new BulwarkError('BULWARK_ERR_DATABASE', `${what}: ${message}`);
}

/**
 * A safe relative path or a reason it is not: absolute paths, `..`, empty names and control
 * characters are refused; "./" prefixes and repeated slashes are normalised away.
 */
export function sanitizePath(name: string): { path: string } | { problem: string } {
  if (name.startsWith('/')) return { problem: `absolute path "${name}"` };
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return { problem: 'control character in a file name' };
  }
  const parts: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') return { problem: `".." in path "${name}"` };
    parts.push(p);
  }
  if (parts.length === 0) return { problem: `empty path "${name}"` };
  return { path: parts.join('/') };
}

/** Where a link entry points, resolved against its own directory; undefined when it leaves the archive root. */
function linkTarget(entryPath: string, target: string, hard: boolean): string | undefined {
  if (target.startsWith('/')) return undefined;
  const parts = hard ? [] : entryPath.split('/').slice(0, -1);
  for (const p of target.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(p);
  }
  return parts.join('/');
}

function cstring(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end < 0 || end > off + len ? off + len : end);
}

function octal(b: Buffer, off: number, len: number): number {
  // GNU base-256 for sizes ≥ 8 GiB: far over any bound here, refused by the caller's limits.
  if ((b[off]! & 0x80) !== 0) return Number.MAX_SAFE_INTEGER;
  const s = cstring(b, off, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) return NaN;
  return parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  const want = octal(h, 148, 8);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  return sum === want;
}

/** pax extended header records: "LEN key=value\n". */
function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(data.toString('latin1', i, sp));
    if (!Number.isInteger(len) || len <= 0 || i + len > data.length) break;
    const rec = data.toString('utf8', sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** Reads a (ustar, GNU or pax) tar image. Throws BULWARK_ERR_DATABASE for a corrupt or unsafe archive. */
export function readTar(tar: Buffer, what: string, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS): Unpacked {
  const files: UnpackedFile[] = [];
  const skipped: string[] = [];
  let off = 0;
  let entries = 0;
  let total = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Record<string, string> = {};
  let sawEnd = false;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) {
      sawEnd = true;
      break;
    }
    if (!checksumOk(h)) throw refuse(what, `corrupt tar archive (bad header checksum at offset ${off})`);
    const size = octal(h, 124, 12);
    if (!Number.isFinite(size) || size < 0) throw refuse(what, `corrupt tar archive (bad size at offset ${off})`);
    const tf = h[156] ?? 0;
    const type = tf === 0 ? '0' : String.fromCharCode(tf);
    const dataStart = off + 512;
    const dataEnd = dataStart + size;
    if (dataEnd > tar.length) throw refuse(what, 'truncated tar archive');
    off = dataStart + Math.ceil(size / 512) * 512;
    if (++entries > limits.maxEntries) throw refuse(what, `more than ${limits.maxEntries} archive entries`);
    // Metadata entries name the next entry.
    if (type === 'L' || type === 'K' || type === 'x' || type === 'g') {
      if (size > 1024 * 1024) throw refuse(what, 'oversized tar metadata entry');
      const data = tar.subarray(dataStart, dataEnd);
      if (type === 'L') longName = cstring(data, 0, data.length);
      else if (type === 'K') longLink = cstring(data, 0, data.length);
      else if (type === 'x') pax = paxRecords(data);
      continue;
    }
    const prefix = cstring(h, 345, 155);
    const rawName = pax.path ?? longName ?? (prefix !== '' && h.toString('latin1', 257, 262) === 'ustar' ? `${prefix}/${cstring(h, 0, 100)}` : cstring(h, 0, 100));
    const rawLink = pax.linkpath ?? longLink ?? cstring(h, 157, 100);
    longName = undefined;
    longLink = undefined;
    pax = {};
    const s = sanitizePath(rawName);
    if ('problem' in s) throw refuse(what, `unsafe archive entry: ${s.problem}`);
    if (type === '5') {
      skipped.push(`${s.path}/`);
      continue;
    }
    if (type === '1' || type === '2') {
      const t = linkTarget(s.path, rawLink, type === '1');
      if (t === undefined) throw refuse(what, `unsafe archive entry: link "${s.path}" points outside the archive ("${rawLink}")`);
      skipped.push(`${s.path} -> ${rawLink}`);
      continue;
    }
    if (type !== '0' && type !== '7') {
      skipped.push(`${s.path} (type ${type})`);
      continue;
    }
    if (size > limits.maxFileBytes) throw refuse(what, `archive entry ${s.path} is ${size} bytes (limit ${limits.maxFileBytes})`);
    total += size;
    if (total > limits.maxTotalBytes) throw refuse(what, `archive unpacks to more than ${limits.maxTotalBytes} bytes`);
    files.push({ path: s.path, data: Buffer.from(tar.subarray(dataStart, dataEnd)) });
  }
  if (!sawEnd && off < tar.length) throw refuse(what, 'truncated tar archive');
  if (entries === 0) throw refuse(what, 'empty tar archive');
  return { kind: 'tar', files, skipped };
}

function looksLikeTar(b: Buffer): boolean {
  return b.length >= 512 && b.toString('latin1', 257, 262) === 'ustar' && checksumOk(b.subarray(0, 512));
}

/**
 * Unpacks what was downloaded. `name` is the URL's or file's base name (selects plain-file
 * handling: "custom.rules", "x.rules.gz"). Throws BULWARK_ERR_DATABASE for corrupt data or a
 * bound hit.
 */
export function unpack(data: Buffer, name: string, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS): Unpacked {
  let body = data;
  let gz = false;
  if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) {
    gz = true;
    try {
      body = gunzipSync(data, { maxOutputLength: limits.maxTotalBytes });
    } catch (e) {
      const msg = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError ? `unpacks to more than ${limits.maxTotalBytes} bytes` : `corrupt gzip data (${(e as Error).message})`;
      throw new BulwarkError('BULWARK_ERR_DATABASE', `${name}: ${msg}`, { cause: e });
    }
  }
  if (looksLikeTar(body)) return readTar(body, name, limits);
  if (/\.(tar\.gz|tgz|tar)$/i.test(name)) throw refuse(name, 'not a tar archive');
  const plain = name.replace(/\.gz$/i, '');
  const s = sanitizePath(plain.slice(plain.lastIndexOf('/') + 1));
  if ('problem' in s) throw refuse(name, s.problem);
  if (body.length > limits.maxFileBytes) throw refuse(name, `${body.length} bytes (limit ${limits.maxFileBytes})`);
  if (body.includes(0)) throw refuse(name, 'binary data where a rules file was expected');
  return { kind: gz ? 'gzip' : 'plain', files: [{ path: s.path, data: body }], skipped: [] };
}
