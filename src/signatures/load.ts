/**
 * Loader: reads the configured database directory (+ extra .rules files), checks the manifest,
 * and compiles. The only file I/O of src/signatures besides the manifest helpers.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BulwarkError } from '../errors.js';
import type { Config } from '../config/types.js';
import type { DatabaseInfo, Ruleset } from './types.js';
import { compileRuleset, type CompileOptions, type DatabaseSource } from './compile.js';
import { assertManifest, listDatabaseDir, type Manifest } from './manifest.js';

export interface LoadOptions {
  /** Skip the manifest check even when config requires it (tests, `db info --no-verify`). */
  skipManifest?: boolean;
  now?: () => number;
  /**
   * Sources compiled after `databases.rules`, already read, with the databases they stand for
   * (the merged file `bulwark rules update` installs: src/rules/installed.ts).
   */
  extraSources?: readonly ExtraSource[];
  /** Keep this many skipped-rule examples (default: the compiler's 50). */
  maxProblems?: number;
  /** Called during the compile (src/signatures/compile.ts `progress`). */
  progress?: CompileOptions['progress'];
}

export interface ExtraSource extends DatabaseSource {
  databases: DatabaseInfo[];
}

export interface LoadedDatabases {
  ruleset: Ruleset;
  /** Files compiled, in order. */
  files: string[];
  manifest: Manifest | undefined;
}

/** A YAML file in the database directory is a signature database when it has a top-level `database:` (network-profiles.yaml is not). */
function isSignatureFile(name: string, text: string): boolean {
  if (name.endsWith('.rules')) return true;
  return /\.ya?ml$/.test(name) && /^database:/m.test(text);
}

async function readSource(path: string): Promise<DatabaseSource> {
  try {
    return { file: path, text: await readFile(path, 'utf8') };
  } catch (e) {
    throw new BulwarkError('BULWARK_ERR_DATABASE', `${path}:0: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { cause: e, details: { file: path, line: 0 } });
  }
}

/** Reads, verifies and compiles config.databases. Throws BULWARK_ERR_DATABASE / _INTEGRITY / _LIMIT. */
export async function loadDatabases(cfg: Config['databases'], opts: LoadOptions = {}): Promise<LoadedDatabases> {
  let manifest: Manifest | undefined;
  if (cfg.requireManifest && !opts.skipManifest) manifest = await assertManifest(cfg.dir);
  let names: string[];
  try {
    names = await listDatabaseDir(cfg.dir);
  } catch (e) {
    throw new BulwarkError('BULWARK_ERR_DATABASE', `${cfg.dir}: cannot list database directory: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { cause: e });
  }
  const sources: DatabaseSource[] = [];
  for (const n of names) {
    if (!/\.(ya?ml|rules)$/.test(n)) continue;
    const src = await readSource(join(cfg.dir, n));
    if (isSignatureFile(n, src.text)) sources.push(src);
  }
  for (const r of cfg.rules) sources.push(await readSource(r));
  const extra = (opts.extraSources ?? []).filter((x) => !cfg.rules.includes(x.file));
  for (const x of extra) sources.push({ file: x.file, text: x.text });
  const copts: CompileOptions = { vars: cfg.vars, anyPorts: cfg.anyPorts };
  if (opts.now) copts.now = opts.now;
  if (opts.maxProblems !== undefined) copts.maxProblems = opts.maxProblems;
  if (opts.progress) copts.progress = opts.progress;
  let ruleset = compileRuleset(sources, copts);
  const extraDbs = extra.flatMap((x) => x.databases);
  if (extraDbs.length > 0) {
    // The installed rule sources name themselves beside the YAML databases ("…, et/open 2026.12.01").
    const databases = [...ruleset.databases, ...extraDbs];
    ruleset = { ...ruleset, databases, version: [...new Set(databases.map((d) => `${d.name} ${d.version}`))].join(', ') };
  }
  return { ruleset, files: sources.map((s) => s.file), manifest };
}
