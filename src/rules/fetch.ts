/**
 * Downloading rule sources: http(s) with a deadline, a size cap (checked against
 * Content-Length first, then while reading), at most 5 redirects and never from https down to
 * http, progress callbacks; `file://` URLs and absolute paths read a local file under the same
 * cap. Published checksums (ET's `.md5`, a `.sha256`) are fetched the same way and compared.
 */
import { createHash } from 'node:crypto';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { open, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { BulwarkError } from '../errors.js';
import { VERSION } from '../version.js';

export interface FetchOptions {
  /** Whole-transfer deadline (connect, redirects, body). */
  timeoutMs: number;
  maxBytes: number;
  /** Bytes received so far and the announced total (undefined when unknown). */
  onProgress?: (received: number, total: number | undefined) => void;
}

export interface Fetched {
  data: Buffer;
  /** Final URL after redirects (or the file path). */
  url: string;
  /** Last-Modified of the response, or the file's mtime (ISO 8601). */
  lastModified: string | undefined;
}

const MAX_REDIRECTS = 5;

function tooLarge(what: string, n: number | string, max: number): BulwarkError {
  return new BulwarkError('BULWARK_ERR_LIMIT', `${what}: larger than the download limit (${n} > ${max} bytes, rules.maxDownloadSize)`, { details: { url: what, reason: 'too large' } });
}

function unreachable(what: string, why: string, cause?: unknown): BulwarkError {
  return new BulwarkError('BULWARK_ERR_DATABASE', `${what}: download failed: ${why}`, { cause, details: { url: what, reason: why } });
}

/** Local path of a `file://` URL or an absolute path; undefined for anything else. */
export function localPath(source: string): string | undefined {
  if (source.startsWith('file://')) return fileURLToPath(source);
  if (source.startsWith('/')) return source;
  return undefined;
}

async function readLocal(path: string, o: FetchOptions): Promise<Fetched> {
  let size: number;
  let mtime: Date;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
    mtime = st.mtime;
  } catch (e) {
    throw unreachable(path, (e as NodeJS.ErrnoException).code ?? (e as Error).message, e);
  }
  if (size > o.maxBytes) throw tooLarge(path, size, o.maxBytes);
  const fh = await open(path, 'r');
  try {
    // Read at most maxBytes + 1 so a file that grew after stat is still caught.
    const buf = Buffer.alloc(Math.min(size, o.maxBytes) + 1);
    let n = 0;
    for (;;) {
      const r = await fh.read(buf, n, buf.length - n, null);
      if (r.bytesRead === 0) break;
      n += r.bytesRead;
      o.onProgress?.(n, size);
      if (n === buf.length) break;
    }
    if (n > o.maxBytes) throw tooLarge(path, `${n}+`, o.maxBytes);
    if (n === buf.length) throw unreachable(path, 'file changed while reading');
    return { data: buf.subarray(0, n), url: path, lastModified: mtime.toISOString() };
  } finally {
    await fh.close();
  }
}

function request(url: URL, signal: AbortSignal): Promise<IncomingMessage> {
  const get = url.protocol === 'https:' ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    const req = get(url, { headers: { 'user-agent': `bulwark/${VERSION}`, accept: '*/*' }, signal }, resolve);
    req.on('error', reject);
  });
}

async function readBody(res: IncomingMessage, what: string, o: FetchOptions): Promise<Buffer> {
  const announced = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
  if (announced !== undefined && Number.isFinite(announced) && announced > o.maxBytes) {
    res.destroy();
    throw tooLarge(what, announced, o.maxBytes);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res) {
    const b = chunk as Buffer;
    n += b.length;
    if (n > o.maxBytes) {
      res.destroy();
      throw tooLarge(what, `${n}+`, o.maxBytes);
    }
    chunks.push(b);
    o.onProgress?.(n, announced);
  }
  if (announced !== undefined && n !== announced) throw unreachable(what, `connection closed after ${n} of ${announced} bytes`);
  return Buffer.concat(chunks, n);
}

/** Downloads `source` (http, https, file:// or an absolute path). Throws BulwarkError (DATABASE / LIMIT). */
export async function fetchSource(source: string, o: FetchOptions): Promise<Fetched> {
  const path = localPath(source);
  if (path !== undefined) return readLocal(path, o);
  let url: URL;
  try {
    url = new URL(source);
  } catch (e) {
    throw unreachable(source, 'not a URL', e);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw unreachable(source, `unsupported scheme ${url.protocol} (http, https, file)`);
  const signal = AbortSignal.timeout(o.timeoutMs);
  try {
    for (let hop = 0; ; hop++) {
      const res = await request(url, signal);
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location !== undefined) {
        res.resume();
        if (hop >= MAX_REDIRECTS) throw unreachable(source, `more than ${MAX_REDIRECTS} redirects`);
        const next = new URL(res.headers.location, url);
        if (url.protocol === 'https:' && next.protocol !== 'https:') throw unreachable(source, `redirect from https to ${next.protocol} refused`);
        if (next.protocol !== 'http:' && next.protocol !== 'https:') throw unreachable(source, `redirect to ${next.protocol} refused`);
        url = next;
        continue;
      }
      if (status !== 200) {
        res.resume();
        throw unreachable(source, `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`);
      }
      const data = await readBody(res, source, o);
      const lm = res.headers['last-modified'];
      const lmDate = lm === undefined ? NaN : Date.parse(lm);
      return { data, url: url.toString(), lastModified: Number.isNaN(lmDate) ? undefined : new Date(lmDate).toISOString() };
    }
  } catch (e) {
    if (e instanceof BulwarkError) throw e;
    if (signal.aborted) throw unreachable(source, `timed out after ${o.timeoutMs} ms`, e);
    throw unreachable(source, (e as NodeJS.ErrnoException).code ?? (e as Error).message, e);
  }
}

export type ChecksumAlgorithm = 'md5' | 'sha256';

export function digest(algorithm: ChecksumAlgorithm, data: Uint8Array): string {
  return createHash(algorithm).update(data).digest('hex');
}

/** The hex digest in a checksum file: the first word ("d41d8c…" or md5sum's "d41d8c…  file"). */
export function parseChecksumFile(text: string, algorithm: ChecksumAlgorithm): string | undefined {
  const word = text.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  const len = algorithm === 'md5' ? 32 : 64;
  return new RegExp(`^[0-9a-f]{${len}}$`).test(word) ? word : undefined;
}

/** Downloads and parses a published checksum (small: capped at 4 KiB). */
export async function fetchChecksum(url: string, algorithm: ChecksumAlgorithm, timeoutMs: number): Promise<string> {
  const f = await fetchSource(url, { timeoutMs, maxBytes: 4096 });
  const sum = parseChecksumFile(f.data.toString('latin1'), algorithm);
  if (sum === undefined) throw new BulwarkError('BULWARK_ERR_INTEGRITY', `${url}: not a ${algorithm} checksum file`, { details: { url, reason: 'bad checksum file' } });
  return sum;
}
