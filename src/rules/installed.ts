/**
 * The installed rule set: `<rules.dir>/bulwark.rules`, one merged file whose first lines carry
 * its manifest (sources with their checksums and release dates, policy files, counts), so the
 * rules and their description are switched by one rename. The daemon loads the file after
 * `databases.rules` (the loader's extraSources) when it exists; a missing file means no source
 * was installed yet.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BulwarkError } from '../errors.js';
import type { Config } from '../config/types.js';
import type { ExtraSource } from '../signatures/load.js';
import type { DatabaseInfo } from '../signatures/types.js';
import { sha256 } from '../signatures/manifest.js';
import type { MergeStats } from './merge.js';
import type { ChecksumAlgorithm } from './fetch.js';

export const RULES_FILE = 'bulwark.rules';
const MANIFEST_MARK = '# bulwark-manifest: ';
const TITLE = '# bulwark merged rules: written by `bulwark rules update`, do not edit (change the policy files and update again)';

export interface SourceRecord {
  name: string;
  url: string;
  /** What was downloaded: a tar archive, a gzip'ed file or a plain rules file. */
  kind: 'tar' | 'gzip' | 'plain';
  bytes: number;
  sha256: string;
  /** The checksum the source published and we verified. */
  checksum: { algorithm: ChecksumAlgorithm; value: string; url: string } | null;
  /** The download was skipped because the published checksum matched the cached copy. */
  cached: boolean;
  lastModified: string | null;
  fetchedAt: string;
  /** YYYY-MM-DD: Last-Modified of the download (or the file's mtime), else the fetch date. */
  released: string;
  version: string;
  files: number;
  rules: number;
  enabled: number;
}

export interface RulesManifest {
  format: 1;
  generatedAt: string;
  generator: string;
  sources: SourceRecord[];
  /** Policy file → sha256 of its content, null when absent. */
  policy: Record<string, string | null>;
  stats: MergeStats;
  /** What the importer made of the enabled rules of this file, at install time. */
  compile: { loaded: number; skipped: Record<string, number>; compileMs: number; signaturesTotal: number };
  /** sha256 of everything after the header: a hand edit shows as a mismatch. */
  bodySha256: string;
}

export function rulesDir(config: Pick<Config, 'rules' | 'stateDir'>): string {
  return config.rules.dir === '' ? join(config.stateDir, 'rules') : config.rules.dir;
}

export function installedRulesFile(config: Pick<Config, 'rules' | 'stateDir'>): string {
  return join(rulesDir(config), RULES_FILE);
}

/** The file's text: title, manifest line, then the rules. */
export function renderInstalled(manifest: Omit<RulesManifest, 'bodySha256'>, body: string): string {
  const m: RulesManifest = { ...manifest, bodySha256: sha256(body) };
  return `${TITLE}\n${MANIFEST_MARK}${JSON.stringify(m)}\n${body}`;
}

export interface InstalledRules {
  file: string;
  text: string;
  manifest: RulesManifest | undefined;
  /** Why the manifest is missing or does not describe the body. */
  problem: string | undefined;
}

/** Splits the header off; manifest undefined with a problem when it is absent or does not match. */
export function parseInstalled(file: string, text: string): InstalledRules {
  const first = text.indexOf('\n');
  const second = first < 0 ? -1 : text.indexOf('\n', first + 1);
  const line = second < 0 ? '' : text.slice(first + 1, second);
  if (!line.startsWith(MANIFEST_MARK)) return { file, text, manifest: undefined, problem: 'no bulwark manifest header (not written by `bulwark rules update`)' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.slice(MANIFEST_MARK.length));
  } catch {
    return { file, text, manifest: undefined, problem: 'manifest header is not valid JSON' };
  }
  const m = parsed as RulesManifest;
  const p = parsed as Partial<RulesManifest> | null;
  if (p?.format !== 1 || !Array.isArray(p.sources)) return { file, text, manifest: undefined, problem: 'unknown manifest format' };
  if (sha256(text.slice(second + 1)) !== m.bodySha256) return { file, text, manifest: m, problem: 'the rules were edited after `bulwark rules update` wrote them (sha256 mismatch)' };
  return { file, text, manifest: m, problem: undefined };
}

/** Reads the installed file; undefined when none is installed. */
export async function readInstalled(file: string): Promise<InstalledRules | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BulwarkError('BULWARK_ERR_DATABASE', `${file}:0: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { cause: e, details: { file, line: 0 } });
  }
  return parseInstalled(file, text);
}

/** The databases the file stands for, for `db info` and `status` ("et/open 2026.12.01"). */
export function installedDatabases(r: InstalledRules): DatabaseInfo[] {
  if (!r.manifest) return [{ name: 'rules', version: 'unmanaged', released: '', file: r.file }];
  return r.manifest.sources.map((s) => ({ name: s.name, version: s.version, released: s.released, file: r.file }));
}

/** The installed file as a loader source (src/signatures/load.ts extraSources), or none. */
export async function installedExtraSources(config: Pick<Config, 'rules' | 'stateDir'>): Promise<ExtraSource[]> {
  const r = await readInstalled(installedRulesFile(config));
  return r ? [{ file: r.file, text: r.text, databases: installedDatabases(r) }] : [];
}
