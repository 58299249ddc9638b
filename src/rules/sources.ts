/**
 * Rule sources: the known ones (ET Open) and the operator's list in `<rules.dir>/sources.yaml`,
 * managed by `bulwark rules sources enable|disable|remove` like suricata-update's
 * enable-source / disable-source (which keeps one YAML file per source in the same spirit).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { BulwarkError } from '../errors.js';
import type { ChecksumAlgorithm } from './fetch.js';

export interface KnownSource {
  name: string;
  summary: string;
  url: string;
  /** The checksum the vendor publishes next to the file: URL = url + suffix. */
  checksum: ChecksumAlgorithm | 'none';
  license: string;
  homepage: string;
}

/**
 * Emerging Threats Open for Suricata 7: the URL suricata-update's index resolves for Suricata
 * 7.x. The tarball holds `rules/*.rules`, `rules/classification.config`, `rules/reference.config`,
 * `rules/sid-msg.map`, … and ET publishes its md5 at the same URL + ".md5".
 */
export const KNOWN_SOURCES: readonly KnownSource[] = [
  {
    name: 'et/open',
    summary: 'Emerging Threats Open Ruleset (Suricata 7)',
    url: 'https://rules.emergingthreats.net/open/suricata-7.0.3/emerging.rules.tar.gz',
    checksum: 'md5',
    license: 'MIT (BSD for ET sids) and GPLv2',
    homepage: 'https://rules.emergingthreats.net/',
  },
];

export interface SourceEntry {
  name: string;
  enabled: boolean;
  /** URL, file:// URL or absolute path; for a known source, replaces its URL (a mirror). */
  url?: string;
  /** Published checksum: algorithm (URL = url + ".md5"/".sha256"), "none", or an explicit URL. */
  checksum?: ChecksumAlgorithm | 'none';
  checksumUrl?: string;
}

/** Everything `rules update` needs to fetch one source. */
export interface ResolvedSource {
  name: string;
  url: string;
  checksum: { algorithm: ChecksumAlgorithm; url: string } | undefined;
  known: boolean;
}

export const SOURCES_FILE = 'sources.yaml';
const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}(\/[a-z0-9][a-z0-9._-]{0,63})?$/;

export function checkSourceName(name: string): string | undefined {
  return NAME_RE.test(name) ? undefined : `"${name}" is not a source name (lowercase vendor/name, e.g. "et/open" or "local/custom")`;
}

export function knownSource(name: string): KnownSource | undefined {
  return KNOWN_SOURCES.find((k) => k.name === name);
}

function isUrlLike(s: string): boolean {
  return /^(https?|file):\/\//.test(s) || s.startsWith('/');
}

export function resolveSource(e: SourceEntry): ResolvedSource {
  const known = knownSource(e.name);
  const url = e.url ?? known?.url;
  if (url === undefined) throw new BulwarkError('BULWARK_ERR_CONFIG', `rule source ${e.name}: no URL (it is not a known source; enable it with --url URL or PATH)`);
  const algorithm = e.checksum ?? (e.checksumUrl !== undefined ? (e.checksumUrl.endsWith('.sha256') ? 'sha256' : 'md5') : (known?.checksum ?? 'none'));
  const checksum = algorithm === 'none' ? undefined : { algorithm, url: e.checksumUrl ?? `${url}.${algorithm}` };
  return { name: e.name, url, checksum, known: known !== undefined };
}

function stateError(path: string, message: string, cause?: unknown): BulwarkError {
  return new BulwarkError('BULWARK_ERR_STATE', `${path}: ${message}`, { cause, details: { file: path } });
}

/** Reads `<dir>/sources.yaml`; a missing file is an empty list, a malformed one an error naming the file. */
export async function readSources(dir: string): Promise<SourceEntry[]> {
  const path = join(dir, SOURCES_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw stateError(path, `cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, e);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw stateError(path, `not valid YAML: ${(e as Error).message.split('\n')[0] ?? ''}`, e);
  }
  const list = (doc as { sources?: unknown } | null)?.sources ?? [];
  if (!Array.isArray(list)) throw stateError(path, '"sources" must be a list');
  const out: SourceEntry[] = [];
  for (const [i, raw] of list.entries()) {
    const o = raw as Record<string, unknown> | null;
    const at = `sources[${i}]`;
    if (o === null || typeof o !== 'object') throw stateError(path, `${at}: expected a mapping`);
    if (typeof o.name !== 'string' || checkSourceName(o.name) !== undefined) throw stateError(path, `${at}.name: ${checkSourceName(String(o.name)) ?? 'missing'}`);
    const e: SourceEntry = { name: o.name, enabled: o.enabled !== false };
    if (o.url !== undefined) {
      if (typeof o.url !== 'string' || !isUrlLike(o.url)) throw stateError(path, `${at}.url: expected an http(s):// or file:// URL or an absolute path`);
      e.url = o.url;
    }
    if (o.checksum !== undefined) {
      if (o.checksum !== 'md5' && o.checksum !== 'sha256' && o.checksum !== 'none') throw stateError(path, `${at}.checksum: expected md5, sha256 or none`);
      e.checksum = o.checksum;
    }
    if (o.checksumUrl !== undefined) {
      if (typeof o.checksumUrl !== 'string' || !isUrlLike(o.checksumUrl)) throw stateError(path, `${at}.checksumUrl: expected a URL or absolute path`);
      e.checksumUrl = o.checksumUrl;
    }
    if (out.some((x) => x.name === e.name)) throw stateError(path, `${at}: source ${e.name} listed twice`);
    out.push(e);
  }
  return out;
}

/** Writes the list atomically (temp file + rename). */
export async function writeSources(dir: string, sources: readonly SourceEntry[]): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const path = join(dir, SOURCES_FILE);
  const text = `# Rule sources of \`bulwark rules update\`. Managed by \`bulwark rules sources enable|disable|remove\`.\n${stringify({ sources: sources.map((s) => ({ ...s })) })}`;
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, path);
}

export interface EnableRequest {
  name: string;
  url?: string;
  checksum?: ChecksumAlgorithm | 'none';
  checksumUrl?: string;
}

/** Adds or re-enables a source (pure: returns the new list). */
export function enableSource(list: readonly SourceEntry[], req: EnableRequest): SourceEntry[] {
  const bad = checkSourceName(req.name);
  if (bad) throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', bad);
  if (req.url !== undefined && !isUrlLike(req.url)) throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', `"${req.url}" is not an http(s):// or file:// URL or an absolute path`);
  if (req.checksumUrl !== undefined && !isUrlLike(req.checksumUrl)) throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', `"${req.checksumUrl}" is not a URL or absolute path`);
  const prev = list.find((s) => s.name === req.name);
  const e: SourceEntry = { ...(prev ?? { name: req.name }), enabled: true };
  if (req.url !== undefined) e.url = req.url;
  if (req.checksum !== undefined) e.checksum = req.checksum;
  if (req.checksumUrl !== undefined) e.checksumUrl = req.checksumUrl;
  resolveSource(e); // refuses an unknown source without a URL
  return prev ? list.map((s) => (s.name === req.name ? e : s)) : [...list, e];
}

export function disableSource(list: readonly SourceEntry[], name: string): SourceEntry[] {
  if (!list.some((s) => s.name === name)) throw new BulwarkError('BULWARK_ERR_NOT_FOUND', `rule source ${name} is not enabled (see \`bulwark rules sources list\`)`);
  return list.map((s) => (s.name === name ? { ...s, enabled: false } : s));
}

export function removeSource(list: readonly SourceEntry[], name: string): SourceEntry[] {
  if (!list.some((s) => s.name === name)) throw new BulwarkError('BULWARK_ERR_NOT_FOUND', `rule source ${name} is not configured (see \`bulwark rules sources list\`)`);
  return list.filter((s) => s.name !== name);
}
