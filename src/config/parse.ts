/**
 * parseConfig: YAML text → validated, normalised Config merged over defaultConfig(). Pure (no I/O).
 * Every problem is collected with its YAML path and line:column, e.g.
 *   config /etc/bulwark/bulwark.yaml:7:3: engine.maxFlowz: unknown key (did you mean "maxFlows"?)
 * and thrown together as one BulwarkError('BULWARK_ERR_CONFIG') with details.errors.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { BulwarkError } from '../errors.js';
import { CONFIG_SCHEMA, propOf, type SchemaNode } from './schema.js';
import { defaultConfig, type Config } from './types.js';
import { parseDuration, parseSize } from './units.js';

export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  /** YAML path, e.g. "engine.timeouts.new", "management[0].address"; "" for document-level problems. */
  path: string;
  message: string;
}

export function formatIssue(i: ConfigIssue): string {
  return `config ${i.file}:${i.line}:${i.column}: ${i.path === '' ? '' : `${i.path}: `}${i.message}`;
}

/** Thrown for any invalid configuration; message = every issue, one per line. */
export function configError(issues: ConfigIssue[]): BulwarkError {
  return new BulwarkError('BULWARK_ERR_CONFIG', issues.map(formatIssue).join('\n'), { details: { errors: issues } });
}

/** Cap on issues reported, so a garbage file does not produce megabytes of errors. */
const MAX_ISSUES = 100;

class Walker {
  readonly issues: ConfigIssue[] = [];
  constructor(
    private readonly doc: Document,
    private readonly lc: LineCounter,
    private readonly file: string,
  ) {}

  issue(node: YamlNode | null | undefined, path: string, message: string): void {
    if (this.issues.length >= MAX_ISSUES) return;
    const offset = node?.range?.[0] ?? 0;
    const pos = this.lc.linePos(offset);
    this.issues.push({ file: this.file, line: pos.line, column: pos.col, path, message });
  }

  private deref(node: unknown): YamlNode | null {
    if (isAlias(node)) return (node.resolve(this.doc) as YamlNode | undefined) ?? null;
    return (node as YamlNode | null | undefined) ?? null;
  }

  /**
   * Returns the normalised value, or `base` (the default) when the node is invalid
   * (the issue is recorded; the caller throws at the end).
   */
  walk(raw: unknown, schema: SchemaNode, base: unknown, path: string, at: YamlNode | null): unknown {
    const node = this.deref(raw);
    const where = node ?? at;
    switch (schema.kind) {
      case 'object': {
        if (node === null || (isScalar(node) && node.value === null)) {
          // `engine:` with every child commented out: keep the defaults.
          return base;
        }
        if (!isMap(node)) {
          this.issue(where, path, `expected a mapping, got ${describe(node)}`);
          return base;
        }
        const out: Record<string, unknown> = { ...(base as Record<string, unknown> | undefined) };
        const seen = new Set<string>();
        for (const pair of node.items) {
          const keyNode = this.deref(pair.key);
          const key = isScalar(keyNode) ? keyNode.value : undefined;
          if (typeof key !== 'string') {
            this.issue(keyNode ?? where, path, 'keys must be strings');
            continue;
          }
          const kp = path === '' ? key : `${path}.${key}`;
          const field = Object.hasOwn(schema.fields, key) ? schema.fields[key] : undefined;
          if (!field) {
            const hint = suggest(key, Object.keys(schema.fields));
            this.issue(keyNode, kp, `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}`);
            continue;
          }
          seen.add(key);
          const prop = propOf(key, field);
          const valueNode = this.deref(pair.value);
          if (field.optional && (valueNode === null || (isScalar(valueNode) && valueNode.value === null))) {
            // `group: ~` explicitly unsets an optional key.
            Reflect.deleteProperty(out, prop);
            continue;
          }
          out[prop] = this.walk(pair.value, field.node, out[prop] ?? field.default, kp, keyNode);
        }
        if (base === undefined) {
          // An object inside a list: no default object to merge over.
          for (const [key, field] of Object.entries(schema.fields)) {
            if (seen.has(key)) continue;
            if (field.required) this.issue(node, path, `missing required key "${key}"`);
            else if (field.default !== undefined) out[propOf(key, field)] = field.default;
          }
        }
        return out;
      }
      case 'array': {
        if (!isSeq(node)) {
          this.issue(where, path, `expected a list, got ${describe(node)}`);
          return base;
        }
        if (node.items.length > schema.maxItems) {
          this.issue(node, path, `at most ${schema.maxItems} entries allowed, got ${node.items.length}`);
          return base;
        }
        if (schema.minItems !== undefined && node.items.length < schema.minItems) {
          this.issue(node, path, `at least ${schema.minItems} entries needed, got ${node.items.length}`);
          return base;
        }
        const items = node.items.map((item, i) => this.walk(item, schema.items, undefined, `${path}[${i}]`, node));
        if (schema.unique === true) {
          const seen = new Set<string>();
          for (const v of items) {
            const k = JSON.stringify(v);
            if (seen.has(k)) {
              this.issue(node, path, `${k} is listed twice`);
              return base;
            }
            seen.add(k);
          }
        }
        return items;
      }
      case 'map': {
        if (node === null || (isScalar(node) && node.value === null)) return base;
        if (!isMap(node)) {
          this.issue(where, path, `expected a mapping, got ${describe(node)}`);
          return base;
        }
        if (node.items.length > schema.maxEntries) {
          this.issue(node, path, `at most ${schema.maxEntries} entries allowed`);
          return base;
        }
        const out: Record<string, unknown> = { ...(base as Record<string, unknown> | undefined) };
        const keyRe = new RegExp(schema.keyPattern);
        for (const pair of node.items) {
          const keyNode = this.deref(pair.key);
          const key = isScalar(keyNode) ? keyNode.value : undefined;
          if (typeof key !== 'string' || !keyRe.test(key)) {
            this.issue(keyNode ?? node, path, `bad key ${JSON.stringify(key)} (letters, digits and "_")`);
            continue;
          }
          out[key] = this.walk(pair.value, schema.values, undefined, `${path}.${key}`, keyNode);
        }
        return out;
      }
      default:
        return this.scalar(node, where, schema, base, path);
    }
  }

  private scalar(node: YamlNode | null, where: YamlNode | null, schema: SchemaNode, base: unknown, path: string): unknown {
    if (!isScalar(node)) {
      this.issue(where, path, `expected ${expected(schema)}, got ${describe(node)}`);
      return base;
    }
    const v = node.value;
    const bad = (msg?: string): unknown => {
      this.issue(node, path, msg ?? `expected ${expected(schema)}, got ${describe(node)}`);
      return base;
    };
    switch (schema.kind) {
      case 'boolean':
        return typeof v === 'boolean' ? v : bad();
      case 'integer':
        if (typeof v !== 'number' || !Number.isInteger(v)) return bad();
        if (v < schema.min || v > schema.max) return bad(`${v} is out of range ${schema.min}..${schema.max}`);
        return v;
      case 'duration': {
        const ms = typeof v === 'number' ? (Number.isInteger(v) && v >= 0 ? v : undefined) : typeof v === 'string' ? parseDuration(v) : undefined;
        if (ms === undefined) return bad(`expected a duration like "500ms", "90s", "90m", "8h", "1d" (or milliseconds), got ${describe(node)}`);
        if (ms < schema.min || ms > schema.max) return bad(`${String(v)} is out of range ${fmtMs(schema.min)}..${fmtMs(schema.max)}`);
        return ms;
      }
      case 'size': {
        const n = typeof v === 'number' ? (Number.isInteger(v) && v >= 0 ? v : undefined) : typeof v === 'string' ? parseSize(v) : undefined;
        if (n === undefined) return bad(`expected a size like "64KiB", "32MiB", "1GiB" (or bytes), got ${describe(node)}`);
        if (n < schema.min || n > schema.max) return bad(`${String(v)} is out of range ${schema.min}..${schema.max} bytes`);
        return n;
      }
      case 'string': {
        if (typeof v !== 'string') return bad();
        if (schema.maxLength !== undefined && v.length > schema.maxLength) return bad(`longer than ${schema.maxLength} characters`);
        const problem = schema.check?.(v);
        return problem === undefined ? v : bad(problem);
      }
      case 'enum':
        if (typeof v === 'string' && schema.values.includes(v)) return v;
        return bad(`expected one of ${schema.values.map((x) => `"${x}"`).join(', ')}, got ${describe(node)}`);
      default:
        return bad();
    }
  }
}

function fmtMs(ms: number): string {
  if (ms === 0) return '0';
  for (const [u, f] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms % f === 0) return `${ms / f}${u}`;
  return `${ms}ms`;
}

function expected(s: SchemaNode): string {
  switch (s.kind) {
    case 'boolean':
      return 'true or false';
    case 'integer':
      return `an integer ${s.min}..${s.max}`;
    case 'string':
      return 'a string';
    case 'enum':
      return `one of ${s.values.join(', ')}`;
    case 'duration':
      return 'a duration';
    case 'size':
      return 'a size';
    case 'array':
      return 'a list';
    default:
      return 'a mapping';
  }
}

function describe(node: YamlNode | null): string {
  if (node === null) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (typeof v === 'string') return `"${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
    return 'an unsupported value';
  }
  return 'an unsupported value';
}

/** Closest known key within edit distance 2, for "did you mean". */
function suggest(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_v, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/**
 * Parses and validates `text` (the content of `fileName`, used in messages and to resolve
 * relative database paths). Throws BulwarkError('BULWARK_ERR_CONFIG') listing every problem.
 */
export function parseConfig(text: string, fileName: string): Config {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, strict: true });
  const issues: ConfigIssue[] = [];
  for (const e of [...doc.errors]) {
    const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
    issues.push({ file: fileName, line: pos.line, column: pos.col, path: '', message: `YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}` });
  }
  if (issues.length > 0) throw configError(issues);
  const defaults = defaultConfig();
  const w = new Walker(doc, lc, fileName);
  const contents = doc.contents;
  let config: Config = defaults;
  if (contents !== null && !(isScalar(contents) && contents.value === null)) {
    config = w.walk(contents, CONFIG_SCHEMA, defaults, '', null) as Config;
  }
  if (w.issues.length > 0) throw configError(w.issues);
  const base = dirname(resolve(fileName));
  const rel = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  return {
    ...config,
    databases: {
      ...config.databases,
      dir: rel(config.databases.dir),
      rules: config.databases.rules.map(rel),
      // configured dataset load files are relative to the config file (state/save: to datasets.dir)
      ...(config.databases.datasets
        ? { datasets: { ...config.databases.datasets, sets: config.databases.datasets.sets.map((s) => (s.load === undefined ? s : { ...s, load: rel(s.load) })) } }
        : {}),
    },
    response: { ...config.response, thresholdFile: config.response.thresholdFile === '' ? '' : rel(config.response.thresholdFile) },
  };
}
