/**
 * The runtime of Suricata's datasets: one set per name for the whole engine, shared by every rule
 * and flow (datasets.c). Pure: no I/O, no clock. The engine's detect stage holds one store; a
 * new ruleset is applied with `sync`, which keeps a set when its declaration is unchanged
 * (so what `set` added survives a reload, as Suricata keeps its non-static sets) and rebuilds it
 * from the declaration's items otherwise. What must be written to `save`/`state` files is
 * returned by `snapshots()`; the service writes them (atomically, on reload and stop).
 *
 * Bounds: each set has a memcap in bytes (entries × DATASET_ENTRY_OVERHEAD + item bytes); an add
 * over it is refused and counted (`bulwark_dataset_memcap_refused_total`), as Suricata's THash
 * refuses new data once its memcap is reached.
 */
import { entryCost, formatDatasetItem, type DatasetCmd, type DatasetSpec, type DatasetType } from './dataset.js';

/** A set as the compiler declares it (plain data: it crosses threads inside the Ruleset). */
export interface DatasetDecl {
  name: string;
  type: DatasetType;
  memcap: number;
  hashsize: number;
  load?: string;
  save?: string;
  /** The loaded items (keys, see datasetKey). */
  items: string[];
  /** JSON sets (`format json|ndjson`): the format, and each item's object as compact JSON (parallel to `items`). */
  format?: 'json' | 'ndjson';
  values?: string[];
  /**
   * Identity for reloads: type, bounds, files, and for static sets (load without save) a digest
   * of the loaded items, so an edited load file is read again while a `state` set keeps its
   * runtime additions.
   */
  fingerprint: string;
}

interface LiveSet {
  decl: DatasetDecl;
  keys: Set<string>;
  bytes: number;
  /** JSON sets: each key's object (compact JSON); null for CSV sets. */
  json: Map<string, string> | null;
}

export interface DatasetStats {
  sets: number;
  entries: number;
  memcapRefused: number;
}

export interface DatasetSnapshot {
  name: string;
  path: string;
  /** The file content (one item a line). */
  text: string;
  entries: number;
}

/**
 * A dataset operation a verified signature asks for, applied when the whole rule matched:
 * set/unset change the set; `context` is a JSON set's object found by an isset lookup, which the
 * alert writes under `alert.context.<contextKey>`.
 */
interface PendingOp {
  set: LiveSet;
  cmd: 'set' | 'unset' | 'context';
  key: string;
  contextKey?: string;
}

export class DatasetStore {
  private readonly sets = new Map<string, LiveSet>();
  private memcapRefusedN = 0;
  /** Operations of the signature being verified (see begin / commit). */
  private pending: PendingOp[] = [];
  /** What the last commit found in JSON sets: [context key, compact JSON] in rule order (takeContext). */
  private context: [string, string][] | null = null;

  /** Applies a ruleset's declarations; sets no longer declared are dropped. */
  sync(decls: readonly DatasetDecl[]): void {
    const next = new Map<string, LiveSet>();
    for (const d of decls) {
      const cur = this.sets.get(d.name);
      if (cur !== undefined && cur.decl.fingerprint === d.fingerprint) {
        cur.decl = d;
        next.set(d.name, cur);
        continue;
      }
      const s: LiveSet = { decl: d, keys: new Set(), bytes: 0, json: d.values === undefined ? null : new Map() };
      for (let i = 0; i < d.items.length; i++) this.insert(s, d.items[i]!, d.values?.[i]);
      next.set(d.name, s);
    }
    this.sets.clear();
    for (const [k, v] of next) this.sets.set(k, v);
  }

  has(name: string, key: string): boolean {
    return this.sets.get(name)?.keys.has(key) === true;
  }

  /** Adds now (not through a rule); 1 added, 0 already there, -1 refused (memcap) or no such set. */
  add(name: string, key: string): 1 | 0 | -1 {
    const s = this.sets.get(name);
    if (s === undefined) return -1;
    if (s.keys.has(key)) return 0;
    return this.insert(s, key) ? 1 : -1;
  }

  remove(name: string, key: string): boolean {
    const s = this.sets.get(name);
    if (s?.keys.delete(key) !== true) return false;
    s.bytes -= entryCost(key) + (s.json?.get(key)?.length ?? 0);
    s.json?.delete(key);
    return true;
  }

  /** Starts the verification of one signature: pending operations of an earlier one are dropped. */
  begin(): void {
    if (this.pending.length > 0) this.pending = [];
  }

  /** A mark to roll back to when the list the keyword is in does not match after all. */
  mark(): number {
    return this.pending.length;
  }

  rollback(mark: number): void {
    this.pending.length = mark;
  }

  /**
   * The test of one dataset keyword on `key` (null: the buffer cannot be an item of the set's
   * type). set/unset record their change; `commit` applies it when the rule matched.
   */
  test(spec: DatasetSpec, key: string | null, empty: boolean): boolean {
    if (empty) return false;
    const s = this.sets.get(spec.name);
    if (s === undefined) return spec.cmd === 'isnotset';
    const cmd: DatasetCmd = spec.cmd;
    if (key === null) return cmd === 'isnotset';
    const present = s.keys.has(key);
    switch (cmd) {
      case 'isset':
        if (present && spec.json !== undefined && s.json !== null) this.pending.push({ set: s, cmd: 'context', key, contextKey: spec.json.contextKey });
        return present;
      case 'isnotset':
        return !present;
      case 'set':
        if (present) return false;
        if (s.bytes + entryCost(key) > s.decl.memcap) {
          this.memcapRefusedN++;
          return false;
        }
        this.pending.push({ set: s, cmd, key });
        return true;
      case 'unset':
        if (!present) return false;
        this.pending.push({ set: s, cmd, key });
        return true;
    }
  }

  /** Applies the set/unset operations of the signature that matched. */
  commit(): void {
    this.context = null;
    for (const op of this.pending) {
      if (op.cmd === 'context') {
        const v = op.set.json?.get(op.key);
        if (v !== undefined) (this.context ??= []).push([op.contextKey!, v]);
      } else if (op.cmd === 'set') {
        if (!op.set.keys.has(op.key)) this.insert(op.set, op.key);
      } else if (op.set.keys.delete(op.key)) op.set.bytes -= entryCost(op.key);
    }
    this.pending = [];
  }

  /** The JSON objects the last commit found ([context key, compact JSON]), once; null when none. */
  takeContext(): [string, string][] | null {
    const c = this.context;
    this.context = null;
    return c;
  }

  private insert(s: LiveSet, key: string, json?: string): boolean {
    const cost = entryCost(key) + (json?.length ?? 0);
    if (s.bytes + cost > s.decl.memcap) {
      this.memcapRefusedN++;
      return false;
    }
    s.keys.add(key);
    s.bytes += cost;
    if (json !== undefined) s.json?.set(key, json);
    return true;
  }

  /** The sets with a save/state file and their content in the file format. */
  snapshots(): DatasetSnapshot[] {
    const out: DatasetSnapshot[] = [];
    for (const s of this.sets.values()) {
      const path = s.decl.save;
      if (path === undefined) continue;
      let text = '';
      for (const k of s.keys) text += `${formatDatasetItem(s.decl.type, k)}\n`;
      out.push({ name: s.decl.name, path, text, entries: s.keys.size });
    }
    return out;
  }

  stats(): DatasetStats {
    let entries = 0;
    for (const s of this.sets.values()) entries += s.keys.size;
    return { sets: this.sets.size, entries, memcapRefused: this.memcapRefusedN };
  }
}
