/**
 * Compile-time side of Suricata's datasets: the sets the rules name, declared once per name for
 * the whole ruleset (DatasetGet in datasets.c), their `load`/`state` files read and parsed, and
 * the rules that cannot get their set skipped with a reason:
 *
 *   "dataset not defined"        no `type` and no earlier rule (or config entry) declared the name
 *   "dataset type conflict"      the name exists with another type
 *   "dataset load/save mismatch" the rule names other load/save files than the set has
 *   "dataset load error"         the load file is missing, unreadable or has a bad line
 *   "dataset over memcap"        the load file does not fit the set's memcap
 *   "too many datasets"          over DatasetOptions.maxSets
 *
 * Rules are taken in load order, as Suricata does: the first rule (or config entry) that names a
 * set with a type declares it. Files are read through `read` (injected: the compiler does no I/O).
 */
import { createHash } from 'node:crypto';
import type { Draft, Skip } from './parsed.js';
import { entryCost, parseDatasetFile, type DatasetJsonSpec, type DatasetSpec, type DatasetType } from './keywords/dataset.js';
import { parseDatajsonFile } from './keywords/datajson.js';
import type { DatasetDecl } from './keywords/dataset-store.js';

/** A set declared by configuration (bulwark's equivalent of suricata.yaml `datasets:`). */
export interface ConfiguredDataset {
  name: string;
  type: DatasetType;
  /** Absolute paths (the config loader resolves them). */
  load?: string;
  state?: string;
  save?: string;
  memcap?: number;
  hashsize?: number;
}

export interface DatasetOptions {
  /** Default memcap of a set in bytes (config databases.datasets.memcap). */
  memcap: number;
  /** Default hashsize (accepted and bounded like Suricata's; the Map grows by itself). */
  hashsize: number;
  /** Most sets in one ruleset. */
  maxSets: number;
  /** Reads a dataset file: its text, or null when it does not exist. Throws on other errors. */
  read?: (path: string) => string | null;
  /** Sets declared by configuration, before any rule. */
  sets?: readonly ConfiguredDataset[];
}

export const DATASET_DEFAULTS: Readonly<Pick<DatasetOptions, 'memcap' | 'hashsize' | 'maxSets'>> = {
  memcap: 16 * 1024 * 1024,
  hashsize: 4096,
  maxSets: 1024,
};

class DatasetSkip extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Every dataset keyword of a draft, in rule order. */
export function datasetSpecsOf(d: Draft): DatasetSpec[] {
  const out: DatasetSpec[] = [];
  for (const l of d.sig.buffers ?? []) if (l.datasets !== undefined) out.push(...l.datasets);
  return out;
}

function fingerprint(d: Omit<DatasetDecl, 'fingerprint'>): string {
  const base = `${d.type}|${d.memcap}|${d.hashsize}|${d.load ?? ''}|${d.save ?? ''}|${d.format ?? 'csv'}`;
  // A static set (load only) is read again when its file changed; a set with save/state keeps
  // its runtime content across reloads (Suricata's DatasetReload hides static sets only).
  if (d.save !== undefined) return `${base}|dynamic`;
  const h = createHash('sha256');
  for (const k of d.items) h.update(k, 'latin1').update('\n');
  if (d.values !== undefined) for (const v of d.values) h.update(v).update('\n');
  return `${base}|${h.digest('hex')}`;
}

interface Declaring {
  name: string;
  type: DatasetType;
  load?: string;
  save?: string;
  state?: boolean;
  memcap?: number;
  hashsize?: number;
  json?: DatasetJsonSpec;
}

function declare(spec: Declaring, opts: DatasetOptions): DatasetDecl {
  const memcap = spec.memcap ?? opts.memcap;
  const hashsize = spec.hashsize ?? opts.hashsize;
  let items: string[] = [];
  let values: string[] | undefined;
  if (spec.load !== undefined) {
    let text: string | null;
    if (opts.read === undefined) throw new DatasetSkip('dataset load error', `${spec.load}: dataset files cannot be read here`);
    try {
      text = opts.read(spec.load);
    } catch (e) {
      throw new DatasetSkip('dataset load error', `${spec.load}: ${e instanceof Error ? e.message : String(e)}`);
    }
    // A missing state file is an empty set (Suricata opens it "a+").
    if (text === null && spec.state !== true) throw new DatasetSkip('dataset load error', `${spec.load}: no such file`);
    if (text !== null && spec.json !== undefined) {
      const r = parseDatajsonFile(spec.type, spec.json, text);
      if ('message' in r) throw new DatasetSkip('dataset load error', `${spec.load}:${r.line}: ${r.message}`);
      let bytes = 0;
      for (let i = 0; i < r.keys.length; i++) {
        bytes += entryCost(r.keys[i]!) + r.values[i]!.length;
        if (bytes > memcap) throw new DatasetSkip('dataset over memcap', `${spec.load}: dataset ${spec.name} does not fit its memcap (${memcap} bytes)`);
      }
      items = r.keys;
      values = r.values;
    } else if (text !== null) {
      const r = parseDatasetFile(spec.type, text);
      if ('message' in r) throw new DatasetSkip('dataset load error', `${spec.load}:${r.line}: ${r.message}`);
      const seen = new Set<string>();
      let bytes = 0;
      for (const k of r.keys) {
        if (seen.has(k)) continue;
        seen.add(k);
        bytes += entryCost(k);
        if (bytes > memcap) throw new DatasetSkip('dataset over memcap', `${spec.load}: dataset ${spec.name} does not fit its memcap (${memcap} bytes)`);
      }
      items = [...seen];
    }
  }
  const d: Omit<DatasetDecl, 'fingerprint'> = { name: spec.name, type: spec.type, memcap, hashsize, items };
  if (spec.json !== undefined) {
    d.format = spec.json.format;
    d.values = values ?? [];
  }
  if (spec.load !== undefined) d.load = spec.load;
  if (spec.save !== undefined) d.save = spec.save;
  return { ...d, fingerprint: fingerprint(d) };
}

/**
 * Declares the sets of `drafts` (and of opts.sets); returns the drafts that can run, the skipped
 * ones, and the declarations. Errors in a configured set throw (the configuration is wrong).
 */
export function resolveDatasets(drafts: readonly Draft[], opts: DatasetOptions): { kept: Draft[]; skipped: Skip[]; decls: DatasetDecl[] } {
  const decls = new Map<string, DatasetDecl>();
  for (const c of opts.sets ?? []) {
    const name = c.name.toLowerCase();
    const spec: Declaring = { name, type: c.type };
    if (c.state !== undefined) {
      spec.load = c.state;
      spec.save = c.state;
      spec.state = true;
    } else {
      if (c.load !== undefined) spec.load = c.load;
      if (c.save !== undefined) spec.save = c.save;
    }
    if (c.memcap !== undefined) spec.memcap = c.memcap;
    if (c.hashsize !== undefined) spec.hashsize = c.hashsize;
    decls.set(name, declare(spec, opts));
  }
  const kept: Draft[] = [];
  const skipped: Skip[] = [];
  for (const d of drafts) {
    const specs = datasetSpecsOf(d);
    if (specs.length === 0) {
      kept.push(d);
      continue;
    }
    try {
      for (const s of specs) {
        const cur = decls.get(s.name);
        if (cur !== undefined) {
          if (s.type !== undefined && s.type !== cur.type) throw new DatasetSkip('dataset type conflict', `dataset ${s.name} is of type ${cur.type}, the rule says ${s.type}`);
          // a JSON set carries objects a CSV set has not (and the other way round)
          if ((s.json?.format ?? 'csv') !== (cur.format ?? 'csv')) {
            throw new DatasetSkip('dataset format conflict', `dataset ${s.name} is loaded as ${cur.format ?? 'csv'}, the rule says ${s.json?.format ?? 'csv'}`);
          }
          // DatasetGet: a rule naming files must name the set's own.
          if ((s.load !== undefined || s.save !== undefined) && (s.load !== cur.load || s.save !== cur.save)) {
            throw new DatasetSkip('dataset load/save mismatch', `dataset ${s.name} is loaded from ${cur.load ?? '(nothing)'} and saved to ${cur.save ?? '(nothing)'}`);
          }
          // the matcher needs the type to build keys (the rule may have named the set alone)
          s.type = cur.type;
          continue;
        }
        if (s.type === undefined) throw new DatasetSkip('dataset not defined', `dataset ${s.name} has no type and no earlier rule defines it`);
        if (decls.size >= opts.maxSets) throw new DatasetSkip('too many datasets', `more than ${opts.maxSets} datasets`);
        const spec: Declaring = { name: s.name, type: s.type };
        if (s.load !== undefined) spec.load = s.load;
        if (s.save !== undefined) spec.save = s.save;
        if (s.state === true) spec.state = true;
        if (s.memcap !== undefined) spec.memcap = s.memcap;
        if (s.hashsize !== undefined) spec.hashsize = s.hashsize;
        if (s.json !== undefined) spec.json = s.json;
        decls.set(s.name, declare(spec, opts));
      }
      kept.push(d);
    } catch (e) {
      if (!(e instanceof DatasetSkip)) throw e;
      const src = d.sig.source;
      skipped.push({ file: src.file, line: src.line, reason: e.reason, message: `${src.file}:${src.line}: ${e.message}` });
    }
  }
  return { kept, skipped, decls: [...decls.values()] };
}
