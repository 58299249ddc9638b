/**
 * `bulwark rules update` (and the daemon's scheduled update): fetch every enabled source,
 * verify its published checksum, unpack it, merge with the policy files, compile the whole
 * ruleset the way the daemon will (databases.dir + databases.rules + the candidate) and only
 * then switch: the merged file is replaced by one rename (the previous one kept as
 * bulwark.rules.prev), the daemon is asked to reload, and when it refuses the previous file is
 * put back. Any failure before the switch leaves every installed file untouched.
 */
import { link, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BulwarkError, errorMessage } from '../errors.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/types.js';
import { VERSION } from '../version.js';
import { loadDatabases, type LoadedDatabases, type LoadOptions } from '../signatures/load.js';
import { sha256 } from '../signatures/manifest.js';
import { DEFAULT_ARCHIVE_LIMITS, unpack } from './archive.js';
import { digest, fetchChecksum, fetchSource, type Fetched, type FetchOptions } from './fetch.js';
import { installedRulesFile, parseInstalled, readInstalled, renderInstalled, rulesDir, type RulesManifest, type SourceRecord } from './installed.js';
import { mergeSources, renderRules, type MergeStats, type SourceContent } from './merge.js';
import { EMPTY_POLICY, parseMatcherFile, parseModifyFile, type RulePolicy } from './policy.js';
import { readSources, resolveSource, type ResolvedSource } from './sources.js';

export interface UpdateProgress {
  download(source: string, received: number, total: number | undefined): void;
  compile(done: number, total: number): void;
  /** Clears whatever is drawn (before printing results). */
  end(): void;
}

export interface UpdateDeps {
  config: Config;
  clock: Clock;
  /** Re-download even when the published checksum matches the cached copy; rewrite an unchanged set. */
  force?: boolean;
  progress?: UpdateProgress;
  /** Asks the running daemon to reload; resolves false when no daemon runs; throws when it refuses. */
  reload?: () => Promise<boolean>;
  /** Compiles the merged rules to validate them (default loadDatabases on this thread; the daemon passes its compile worker). */
  load?: (cfg: Config['databases'], opts: LoadOptions) => Promise<LoadedDatabases>;
  /** Injected in unit tests. */
  fetch?: (url: string, o: FetchOptions) => Promise<Fetched>;
  fetchChecksum?: (url: string, algorithm: 'md5' | 'sha256', timeoutMs: number) => Promise<string>;
}

export interface UpdateReport {
  file: string;
  changed: boolean;
  /** undefined: no reload asked (unchanged), true: the daemon reloaded, false: no daemon running. */
  reloaded: boolean | undefined;
  sources: SourceRecord[];
  stats: MergeStats;
  compile: RulesManifest['compile'];
  warnings: string[];
  /** Ruleset version after the update ("bulwark-core 2026.11.21, et/open 2026.12.01"). */
  version: string;
}

const LOCK = 'update.lock';

function cacheName(name: string): string {
  return name.replace(/[^a-z0-9._-]/g, '_');
}

async function acquire(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o644);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return () => rm(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new BulwarkError('BULWARK_ERR_STATE', `${path}: ${errorMessage(e)}`, { cause: e });
      const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      let alive = false;
      if (Number.isInteger(pid) && pid > 0) {
        try {
          process.kill(pid, 0);
          alive = true;
        } catch (k) {
          alive = (k as NodeJS.ErrnoException).code === 'EPERM';
        }
      }
      if (alive) throw new BulwarkError('BULWARK_ERR_LOCKED', `another rules update is running (pid ${pid}, ${path})`);
      await rm(path, { force: true });
    }
  }
  throw new BulwarkError('BULWARK_ERR_LOCKED', `cannot take ${path}`);
}

async function readPolicyFile(path: string): Promise<string | undefined> {
  if (path === '') return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BulwarkError('BULWARK_ERR_CONFIG', `${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { cause: e });
  }
}

/** Reads and parses the four policy files; a malformed line refuses the update (file:line). */
export async function loadPolicy(rules: Config['rules']): Promise<{ policy: RulePolicy; hashes: Record<string, string | null> }> {
  const policy: RulePolicy = { ...EMPTY_POLICY, disable: [], enable: [], drop: [], modify: [] };
  const hashes: Record<string, string | null> = {};
  const files: [keyof RulePolicy, string][] = [
    ['disable', rules.disableConf],
    ['enable', rules.enableConf],
    ['drop', rules.dropConf],
    ['modify', rules.modifyConf],
  ];
  for (const [kind, path] of files) {
    const text = await readPolicyFile(path);
    if (path !== '') hashes[path] = text === undefined ? null : sha256(text);
    if (text === undefined) continue;
    if (kind === 'modify') policy.modify = parseModifyFile(path, text);
    else policy[kind] = parseMatcherFile(path, text);
  }
  return { policy, hashes };
}

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

async function fetchOne(src: ResolvedSource, dir: string, deps: UpdateDeps): Promise<{ content: SourceContent; record: SourceRecord; data: Buffer; cacheable: boolean }> {
  const cfg = deps.config.rules;
  const fetch = deps.fetch ?? fetchSource;
  const getSum = deps.fetchChecksum ?? fetchChecksum;
  const now = deps.clock.now();
  let published: string | undefined;
  if (src.checksum) published = await getSum(src.checksum.url, src.checksum.algorithm, cfg.timeoutMs);
  const cacheFile = join(dir, 'cache', cacheName(src.name));
  let data: Buffer | undefined;
  let lastModified: string | undefined;
  let cached = false;
  // Like suricata-update: when the published checksum equals the cached copy's, do not download again.
  if (published !== undefined && src.checksum && deps.force !== true) {
    const meta = await readFile(`${cacheFile}.json`, 'utf8').then((t) => JSON.parse(t) as { url?: string; lastModified?: string }).catch(() => undefined);
    const prev = meta?.url === src.url ? await readFile(cacheFile).catch(() => undefined) : undefined;
    if (prev && digest(src.checksum.algorithm, prev) === published) {
      data = prev;
      lastModified = meta?.lastModified;
      cached = true;
    }
  }
  let url = src.url;
  if (!data) {
    const f = await fetch(src.url, { timeoutMs: cfg.timeoutMs, maxBytes: cfg.maxDownloadSize, onProgress: (n, total) => deps.progress?.download(src.name, n, total) });
    data = f.data;
    lastModified = f.lastModified;
    url = f.url;
    if (src.checksum && published !== undefined) {
      const got = digest(src.checksum.algorithm, data);
      if (got !== published) {
        throw new BulwarkError('BULWARK_ERR_INTEGRITY', `${src.name}: ${src.checksum.algorithm} of ${src.url} is ${got}, the source publishes ${published} (${src.checksum.url}): download refused`, {
          details: { source: src.name, url: src.url, reason: 'checksum mismatch' },
        });
      }
    }
  }
  const unpacked = unpack(data, basename(new URL(src.url, 'file:///').pathname), DEFAULT_ARCHIVE_LIMITS);
  const files = unpacked.files.map((f) => ({ path: f.path, text: f.data.toString('utf8') }));
  if (!files.some((f) => f.path.endsWith('.rules'))) throw new BulwarkError('BULWARK_ERR_DATABASE', `${src.name}: ${src.url} holds no .rules file`, { details: { source: src.name, reason: 'no rules' } });
  const released = lastModified !== undefined ? lastModified.slice(0, 10) : isoDay(now);
  const versionFile = files.find((f) => /(^|\/)version\.txt$/.test(f.path))?.text.split('\n')[0]?.trim();
  const version = versionFile !== undefined && /^[A-Za-z0-9._-]{1,32}$/.test(versionFile) ? versionFile : released.replace(/-/g, '.');
  const record: SourceRecord = {
    name: src.name,
    url,
    kind: unpacked.kind,
    bytes: data.length,
    sha256: sha256(data),
    checksum: src.checksum && published !== undefined ? { algorithm: src.checksum.algorithm, value: published, url: src.checksum.url } : null,
    cached,
    lastModified: lastModified ?? null,
    fetchedAt: new Date(now).toISOString(),
    released,
    version,
    files: files.filter((f) => f.path.endsWith('.rules')).length,
    rules: 0,
    enabled: 0,
  };
  return { content: { name: src.name, files }, record, data, cacheable: !cached };
}

async function writeAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/** Runs one update. Throws BulwarkError (nothing installed changed) or returns the report. */
export async function runRulesUpdate(deps: UpdateDeps): Promise<UpdateReport> {
  const config = deps.config;
  const dir = rulesDir(config);
  await mkdir(join(dir, 'cache'), { recursive: true, mode: 0o755 });
  const release = await acquire(dir);
  try {
    const enabled = (await readSources(dir)).filter((s) => s.enabled);
    if (enabled.length === 0) throw new BulwarkError('BULWARK_ERR_CONFIG', 'no rule source is enabled: `bulwark rules sources enable et/open` (or NAME --url URL|PATH)');
    const resolved = enabled.map(resolveSource);
    const { policy, hashes } = await loadPolicy(config.rules);
    const fetched = [];
    for (const src of resolved) fetched.push(await fetchOne(src, dir, deps));
    const merged = mergeSources(
      fetched.map((f) => f.content),
      { policy, ignore: config.rules.ignore },
    );
    for (const f of fetched) {
      f.record.rules = merged.stats.groups.filter((g) => g.source === f.record.name).reduce((a, g) => a + g.total, 0);
      f.record.enabled = merged.stats.groups.filter((g) => g.source === f.record.name).reduce((a, g) => a + g.enabled, 0);
    }
    const body = renderRules(merged.rules);
    const file = installedRulesFile(config);
    const previous = await readInstalled(file);
    const prevBody = previous?.manifest ? previous.text.slice(previous.text.indexOf('\n', previous.text.indexOf('\n') + 1) + 1) : undefined;
    const sameRules = prevBody !== undefined && prevBody === body && JSON.stringify(previous?.manifest?.policy) === JSON.stringify(hashes);

    // Compile exactly what the daemon will load, before anything is switched.
    const manifestBase: Omit<RulesManifest, 'bodySha256' | 'compile'> = {
      format: 1,
      generatedAt: new Date(deps.clock.now()).toISOString(),
      generator: `bulwark ${VERSION}`,
      sources: fetched.map((f) => f.record),
      policy: hashes,
      stats: merged.stats,
    };
    const draft = parseInstalled(file, renderInstalled({ ...manifestBase, compile: { loaded: 0, skipped: {}, compileMs: 0, signaturesTotal: 0 } }, body));
    const loaded = await (deps.load ?? loadDatabases)(config.databases, {
      extraSources: [{ file, text: draft.text, databases: [] }],
      maxProblems: Number.MAX_SAFE_INTEGER,
      ...(deps.progress ? { progress: (d: number, t: number) => deps.progress?.compile(d, t) } : {}),
    });
    deps.progress?.end();
    const r = loaded.ruleset;
    const skipped: Record<string, number> = {};
    for (const p of r.stats.problems ?? []) if (p.file === file) skipped[p.reason] = (skipped[p.reason] ?? 0) + 1;
    const compile = { loaded: r.signatures.filter((s) => s.source.file === file).length, skipped, compileMs: r.stats.compileMs, signaturesTotal: r.signatures.length };
    const versionOf = (extra: SourceRecord[]): string => [...new Set([...r.databases.map((d) => `${d.name} ${d.version}`), ...extra.map((s) => `${s.name} ${s.version}`)])].join(', ');
    const report: UpdateReport = { file, changed: false, reloaded: undefined, sources: manifestBase.sources, stats: merged.stats, compile, warnings: merged.warnings, version: versionOf(manifestBase.sources) };

    for (const f of fetched) {
      if (!f.cacheable) continue;
      const base = join(dir, 'cache', cacheName(f.record.name));
      await writeAtomic(base, f.data);
      await writeAtomic(`${base}.json`, JSON.stringify({ url: f.record.url, sha256: f.record.sha256, lastModified: f.record.lastModified, fetchedAt: f.record.fetchedAt }) + '\n');
    }
    if (sameRules && deps.force !== true) return report;

    // The switch: one rename; the previous file stays as .prev for the rollback below.
    const prevPath = `${file}.prev`;
    const hadPrevious = previous !== undefined;
    if (hadPrevious) {
      await rm(prevPath, { force: true });
      await link(file, prevPath);
    }
    await writeAtomic(file, renderInstalled({ ...manifestBase, compile }, body));
    report.changed = true;
    if (deps.reload) {
      try {
        report.reloaded = await deps.reload();
      } catch (e) {
        if (hadPrevious) await rename(prevPath, file);
        else await rm(file, { force: true });
        throw new BulwarkError('BULWARK_ERR_DATABASE', `the daemon refused the new rules (${errorMessage(e)}); the previous rules file was put back`, { cause: e });
      }
    }
    return report;
  } finally {
    deps.progress?.end();
    await release();
  }
}

/** Counts of the installed file for `rules stats` (no network). */
export async function installedManifest(config: Config): Promise<{ file: string; manifest: RulesManifest | undefined; problem: string | undefined } | undefined> {
  const file = installedRulesFile(config);
  const r = await readInstalled(file);
  return r ? { file, manifest: r.manifest, problem: r.problem } : undefined;
}

