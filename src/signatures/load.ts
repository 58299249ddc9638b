/**
 * Loader: reads the configured database directory (+ extra .rules files), checks the manifest,
 * and compiles. The only file I/O of src/signatures besides the manifest helpers.
 */
import { readFile, stat } from 'node:fs/promises';
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { ConfiguredDataset } from './datasets.js';
import { BulwarkError } from '../errors.js';
import { defaultConfig, type Config, type DatabaseLimits } from '../config/types.js';
import type { DatabaseInfo, Ruleset } from './types.js';
import { compileRuleset, type CompileOptions, type DatabaseSource } from './compile.js';
import { assertManifest, listDatabaseDir, type Manifest } from './manifest.js';
import { CLASSIFICATION_FILE, parseClassificationConfig, type Classification } from './keywords/classification.js';

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

/**
 * The compile's dataset options from the config: defaults, data directory and the reader of
 * `load`/`state` files (synchronous: the compile is, and runs in the compile worker). A file over
 * databases.limits.fileSize is refused like a rules file.
 */
export function datasetCompileOptions(cfg: Config['databases']): NonNullable<CompileOptions['datasets']> {
  const ds = cfg.datasets;
  const maxBytes = ((cfg as Partial<Config['databases']>).limits ?? defaultConfig().databases.limits).fileSizeBytes;
  const out: NonNullable<CompileOptions['datasets']> = {
    read: (path: string): string | null => {
      try {
        const st = statSync(path);
        if (st.size > maxBytes) throw new Error(`file is ${st.size} bytes, over databases.limits.fileSize (${maxBytes})`);
        return readFileSync(path, 'latin1');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    },
  };
  if (ds !== undefined) {
    if (ds.dir !== '') out.dir = ds.dir;
    const inDir = (p: string): string => (isAbsolute(p) || ds.dir === '' ? p : join(ds.dir, p));
    out.sets = ds.sets.map((s) => {
      const c: ConfiguredDataset = { name: s.name, type: s.type };
      if (s.load !== undefined) c.load = s.load;
      if (s.state !== undefined) c.state = inDir(s.state);
      if (s.save !== undefined) c.save = inDir(s.save);
      if (s.memcapBytes !== undefined) c.memcap = s.memcapBytes;
      if (s.hashsize !== undefined) c.hashsize = s.hashsize;
      return c;
    });
    out.memcap = ds.memcapBytes;
    out.hashsize = ds.hashsize;
    out.maxSets = ds.maxSets;
  }
  return out;
}

/** A YAML file in the database directory is a signature database when it has a top-level `database:` (network-profiles.yaml is not). */
function isSignatureFile(name: string, text: string): boolean {
  if (name.endsWith('.rules')) return true;
  return /\.ya?ml$/.test(name) && /^database:/m.test(text);
}

function overLimit(file: string, line: number, what: string): BulwarkError {
  return new BulwarkError('BULWARK_ERR_LIMIT', `${file}:${line}: ${what}`, { details: { file, line } });
}

/** The classification.config beside a rules file, when there is one (Suricata's default-rule-path layout). */
async function readClassification(rulesPath: string): Promise<Map<string, Classification> | undefined> {
  const path = join(dirname(rulesPath), CLASSIFICATION_FILE);
  let text: string;
  try {
    const st = await stat(path);
    if (st.size > 1024 * 1024) throw new BulwarkError('BULWARK_ERR_LIMIT', `${path}:0: over 1 MiB`, { details: { file: path, line: 0 } });
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof BulwarkError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BulwarkError('BULWARK_ERR_DATABASE', `${path}:0: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { cause: e, details: { file: path, line: 0 } });
  }
  try {
    return parseClassificationConfig(path, text);
  } catch (e) {
    const m = /:(\d+): /.exec((e as Error).message);
    throw new BulwarkError('BULWARK_ERR_DATABASE', (e as Error).message, { cause: e, details: { file: path, line: m ? Number(m[1]) : 0 } });
  }
}

/** Reads one file, refusing it before reading when it is over limits.fileSizeBytes. */
async function readSource(path: string, limits: DatabaseLimits): Promise<DatabaseSource> {
  try {
    const st = await stat(path);
    if (st.size > limits.fileSizeBytes) throw overLimit(path, 0, `file is ${st.size} bytes, over databases.limits.fileSize (${limits.fileSizeBytes})`);
    const src: DatabaseSource = { file: path, text: await readFile(path, 'utf8') };
    if (path.endsWith('.rules')) {
      const cls = await readClassification(path);
      if (cls) src.classification = cls;
    }
    return src;
  } catch (e) {
    if (e instanceof BulwarkError) throw e;
    throw new BulwarkError('BULWARK_ERR_DATABASE', `${path}:0: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { cause: e, details: { file: path, line: 0 } });
  }
}

/**
 * The bounds of a .rules file checked before anything is parsed: one pass over the text, no
 * allocation per line, so a pathological file (200k rules, a 10 MB rule) is refused in
 * milliseconds instead of after a compile that holds the event loop for seconds. Lines are joined
 * across '\' continuations as the parser does. Returns the number of rules counted so far.
 */
export function prescanRules(file: string, text: string, limits: DatabaseLimits, counted = 0): number {
  let rules = counted;
  let pos = 0;
  let lineNo = 0;
  while (pos < text.length) {
    const startLine = lineNo + 1;
    let ruleLen = 0;
    let first = -1;
    // One logical rule: physical lines joined while they end in '\'.
    for (;;) {
      let end = text.indexOf('\n', pos);
      if (end < 0) end = text.length;
      lineNo++;
      let a = pos;
      let b = end;
      while (a < b && text.charCodeAt(a) <= 32) a++;
      while (b > a && text.charCodeAt(b - 1) <= 32) b--;
      if (first < 0) first = a < b ? text.charCodeAt(a) : -1;
      ruleLen += b - a;
      pos = end + 1;
      if (ruleLen > limits.ruleLengthBytes) throw overLimit(file, startLine, `rule longer than databases.limits.ruleLength (${limits.ruleLengthBytes} bytes)`);
      if (!(b > a && text.charCodeAt(b - 1) === 92 /* \\ */) || pos >= text.length) break;
    }
    if (first === -1 || first === 35 /* # */) continue;
    if (++rules > limits.rules) throw overLimit(file, startLine, `more than databases.limits.rules (${limits.rules}) rules in the ruleset`);
  }
  return rules;
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
  // Older callers (tests, tools) may hand a databases section without limits: use the defaults.
  const limits = (cfg as Partial<Config['databases']>).limits ?? defaultConfig().databases.limits;
  const sources: DatabaseSource[] = [];
  let rules = 0;
  const add = (src: DatabaseSource): void => {
    if (src.file.endsWith('.rules')) rules = prescanRules(src.file, src.text, limits, rules);
    sources.push(src);
  };
  for (const n of names) {
    if (!/\.(ya?ml|rules)$/.test(n)) continue;
    const src = await readSource(join(cfg.dir, n), limits);
    if (isSignatureFile(n, src.text)) add(src);
  }
  for (const r of cfg.rules) add(await readSource(r, limits));
  const extra = (opts.extraSources ?? []).filter((x) => !cfg.rules.includes(x.file));
  for (const x of extra) add({ file: x.file, text: x.text });
  const copts: CompileOptions = { vars: cfg.vars, anyPorts: cfg.anyPorts, maxSignatures: limits.rules, maxContentLength: limits.contentLengthBytes, datasets: datasetCompileOptions(cfg) };
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
