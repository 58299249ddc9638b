/**
 * Suricata's `dataset` keyword (detect-dataset.c, datasets.c; Suricata 7 semantics):
 *
 *   dataset:<cmd>,<name>[, type <t>, save <file>, load <file>, state <file>, memcap <size>, hashsize <n>]
 *
 *   cmd   isset | isnotset | set | unset
 *   type  string | md5 | sha256 | ipv4 | ip
 *
 * The keyword tests the whole (transformed) sticky buffer before it against a named set shared
 * by every rule of the ruleset (names compare case-insensitively, as Suricata's strcasecmp).
 * `set` matches when the buffer was not in the set yet (DatasetAdd returned "new"), `unset` when
 * it was there (DatasetRemove removed it); both change the set. An empty buffer never matches
 * (not even isnotset). A buffer of the wrong size for the type (md5 16 bytes, sha256 32, ipv4 4,
 * ip 4 or 16) is an error lookup: isset does not match, isnotset does, set/unset do not.
 *
 * Files (datasets.c DatasetLoad*, DatasetsSave): one item a line; `string` items are base64
 * (strict RFC 4648), md5/sha256 hex, ipv4 dotted quads, ip IPv6 or IPv4 text. A `,<value>` after
 * the item is a datarep reputation: accepted and ignored. The `ip` type stores 16 bytes with an
 * IPv4 address in the first 4 and zeros after (IPv4-mapped text is converted to that), and saves
 * such entries as IPv4 text.
 *
 * This file is pure: parsing, keys, file formats. The runtime store is ./dataset-store.ts; the
 * compile-time declarations (load files, conflicts) are ../datasets.ts.
 */
import { isIP } from 'node:net';
import { OptionError, Unsupported } from '../options.js';

export type DatasetType = 'string' | 'md5' | 'sha256' | 'ipv4' | 'ip';
export type DatasetCmd = 'isset' | 'isnotset' | 'set' | 'unset';

/** Suricata's DATASET_NAME_MAX_LEN. */
export const DATASET_NAME_MAX = 63;
/** Suricata reads dataset files with fgets into a 1024-byte line: longer lines are refused here. */
export const DATASET_LINE_MAX = 1024;
/** Per-entry bookkeeping counted against a set's memcap besides its bytes (bulwark's estimate of a Map entry). */
export const DATASET_ENTRY_OVERHEAD = 64;

export interface DatasetSpec {
  cmd: DatasetCmd;
  /** Lower-cased (names are case-insensitive). */
  name: string;
  type?: DatasetType;
  /** Absolute paths, resolved at parse (see parseDataset). */
  load?: string;
  save?: string;
  /** `state <f>`: load and save the same file. */
  state?: boolean;
  memcap?: number;
  hashsize?: number;
  /**
   * Suricata 8 `format json|ndjson` (datajson.c): the set is loaded from JSON and each item
   * carries the JSON object it came from, which an alert writes under `alert.context.<contextKey>`.
   */
  json?: DatasetJsonSpec;
}

/** The JSON options of a dataset (`format`, `context_key`, `value_key`, `array_key`, `remove_key`). */
export interface DatasetJsonSpec {
  /** `json`: one JSON document holding an array; `ndjson` (`jsonline`): one object a line. */
  format: 'json' | 'ndjson';
  contextKey: string;
  /** Dotted path of the item's value in each object. */
  valueKey: string;
  /** `json` only: dotted path of the array in the document (absent: the document is the array). */
  arrayKey?: string;
  /** Remove the value key from the object kept for the alert. */
  removeKey: boolean;
}

export interface DatasetPaths {
  /** Directory of the rules file: relative `load` paths resolve against it (Suricata SetupLoadPath). */
  rulesDir: string;
  /** Data directory: relative `save`/`state` paths resolve against it (Suricata's data-dir); undefined: refused. */
  dataDir: string | undefined;
}

const TYPES: readonly DatasetType[] = ['string', 'md5', 'sha256', 'ipv4', 'ip'];
const CMDS: readonly DatasetCmd[] = ['isset', 'isnotset', 'set', 'unset'];

/** Sizes as Suricata's ParseSizeString reads them: a number with an optional kb/mb/gb suffix (1024-based). */
export function parseSize(text: string, what: string, max: number): number {
  const m = /^(\d+(?:\.\d+)?)\s*(kb|mb|gb|kib|mib|gib|b)?$/i.exec(text.trim());
  if (!m) throw new OptionError(`${what}: cannot parse size "${text}"`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 ** 2 : unit.startsWith('g') ? 1024 ** 3 : 1;
  const n = Math.floor(Number(m[1]) * mult);
  if (n < 1 || n > max) throw new OptionError(`${what}: ${n} outside 1..${max}`);
  return n;
}

function joinPath(dir: string, p: string): string {
  return p.startsWith('/') ? p : `${dir.replace(/\/+$/, '')}/${p}`;
}

/**
 * Parses the keyword value (DetectDatasetParse). Paths: `load` relative to the rules file's
 * directory; `save` and `state` relative to the data directory, and never outside it (Suricata 7's
 * default `datasets.rules.allow-absolute-filenames: false`; `..` is refused too).
 */
export function parseDataset(value: string, paths: DatasetPaths): DatasetSpec {
  const parts = value.split(',').map((s) => s.trim());
  const cmdText = parts[0] ?? '';
  const cmd = CMDS.find((c) => c === cmdText);
  if (cmd === undefined) throw new OptionError(`dataset: unknown command "${cmdText}" (isset, isnotset, set, unset)`);
  const rawName = parts[1] ?? '';
  if (rawName === '') throw new OptionError('dataset: missing set name');
  if (rawName.length > DATASET_NAME_MAX) throw new OptionError(`dataset: name longer than ${DATASET_NAME_MAX} characters`);
  if (/\s/.test(rawName)) throw new OptionError(`dataset: bad name "${rawName}"`);
  const spec: DatasetSpec = { cmd, name: rawName.toLowerCase() };
  let load: string | undefined;
  let save: string | undefined;
  let state: string | undefined;
  let format: 'csv' | 'json' | 'ndjson' | undefined;
  let contextKey: string | undefined;
  let valueKey: string | undefined;
  let arrayKey: string | undefined;
  let removeKey = false;
  for (const opt of parts.slice(2)) {
    if (opt === 'remove_key') {
      removeKey = true;
      continue;
    }
    const m = /^(\S+)\s+(.+)$/.exec(opt);
    if (!m) throw new OptionError(`dataset: cannot parse option "${opt}"`);
    const key = m[1]!;
    const val = m[2]!.trim();
    switch (key) {
      case 'type': {
        const t = TYPES.find((x) => x === val.toLowerCase());
        if (t === undefined) throw new OptionError(`dataset: unknown type "${val}" (string, md5, sha256, ipv4, ip)`);
        if (spec.type !== undefined) throw new OptionError('dataset: type given twice');
        spec.type = t;
        break;
      }
      case 'load':
        if (load !== undefined) throw new OptionError('dataset: load given twice');
        load = val;
        break;
      case 'save':
        if (save !== undefined) throw new OptionError('dataset: save given twice');
        save = val;
        break;
      case 'state':
        if (state !== undefined) throw new OptionError('dataset: state given twice');
        state = val;
        break;
      case 'memcap':
        spec.memcap = parseSize(val, 'dataset memcap', 2 ** 40);
        break;
      case 'hashsize':
        spec.hashsize = parseSize(val, 'dataset hashsize', 2 ** 24);
        break;
      case 'format': {
        const f = val.toLowerCase();
        if (f === 'csv' || f === 'json' || f === 'ndjson') format = f;
        else if (f === 'jsonline') format = 'ndjson';
        else throw new OptionError(`dataset: unknown format "${val}" (csv, json, ndjson)`);
        break;
      }
      case 'context_key':
        contextKey = val;
        break;
      case 'value_key':
        valueKey = val;
        break;
      case 'array_key':
        arrayKey = val;
        break;
      case 'enrichment_key':
        // another Suricata 8 development spelling (alert.extra): not the one bulwark writes
        throw new Unsupported(`dataset option ${key}`);
      default:
        throw new OptionError(`dataset: unknown option "${key}"`);
    }
  }
  if (format === 'json' || format === 'ndjson') {
    // datajson sets are looked up, never changed by rules (Suricata's datajson keyword: isset/isnotset)
    if (cmd === 'set' || cmd === 'unset') throw new Unsupported(`dataset ${cmd} with format ${format}`);
    if (save !== undefined || state !== undefined) throw new Unsupported(`dataset save/state with format ${format}`);
    if (valueKey === undefined || valueKey === '') throw new OptionError(`dataset: format ${format} needs value_key`);
    if (contextKey === undefined || contextKey === '') throw new Unsupported(`dataset format ${format} without context_key`);
    if (arrayKey !== undefined && format === 'ndjson') throw new Unsupported('dataset array_key with format ndjson');
    const j: DatasetJsonSpec = { format, contextKey, valueKey, removeKey };
    if (arrayKey !== undefined) j.arrayKey = arrayKey;
    spec.json = j;
  } else if (contextKey !== undefined || valueKey !== undefined || arrayKey !== undefined || removeKey) {
    throw new OptionError('dataset: context_key, value_key, array_key and remove_key need format json or ndjson');
  }
  if (state !== undefined && (load !== undefined || save !== undefined)) throw new OptionError("dataset: 'state' can not be mixed with 'load' and 'save'");
  if (load !== undefined) spec.load = joinPath(paths.rulesDir, load);
  const written = state ?? save;
  if (written !== undefined) {
    if (written.startsWith('/')) throw new Unsupported('dataset save/state with an absolute path');
    if (written.split('/').includes('..')) throw new Unsupported('dataset save/state outside the data directory');
    if (paths.dataDir === undefined) throw new Unsupported('dataset save/state without a data directory');
    spec.save = joinPath(paths.dataDir, written);
    if (state !== undefined) {
      spec.load = spec.save;
      spec.state = true;
    }
  }
  return spec;
}

/** Bytes of one item of `type`, or null when `len` is not a size the type takes (Suricata's lookup error). */
function fixedLength(type: DatasetType): number {
  switch (type) {
    case 'md5':
      return 16;
    case 'sha256':
      return 32;
    case 'ipv4':
      return 4;
    case 'ip':
      return 16;
    case 'string':
      return -1;
  }
}

/**
 * The set key of a buffer: its bytes as a latin1 string (one char per byte; V8 hashes strings with
 * a per-process seed). null when the buffer cannot be an item of `type` (lookup error).
 */
export function datasetKey(type: DatasetType, data: Uint8Array): string | null {
  const want = fixedLength(type);
  if (want < 0) return latin1(data);
  if (type === 'ip' && data.length === 4) {
    // Suricata copies the 4 bytes into a zeroed 16-byte key.
    const k = new Uint8Array(16);
    k.set(data);
    return latin1(k);
  }
  return data.length === want ? latin1(data) : null;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, Math.min(b.length, i + 8192)));
  return s;
}

function bytesOf(key: string): Uint8Array {
  const b = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) b[i] = key.charCodeAt(i);
  return b;
}

/** Memory a key is charged against a set's memcap. */
export function entryCost(key: string): number {
  return DATASET_ENTRY_OVERHEAD + key.length;
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** One line of a dataset file → key, or an error message. `line` has no line ending. */
export function parseDatasetLine(type: DatasetType, line: string): string | { error: string } {
  // `item,rep` (datarep files): the reputation value is not used by `dataset`.
  const comma = line.indexOf(',');
  const item = comma < 0 ? line : line.slice(0, comma);
  if (comma >= 0 && !/^\d{1,5}$/.test(line.slice(comma + 1)) ) return { error: `bad reputation value "${line.slice(comma + 1)}"` };
  switch (type) {
    case 'string': {
      if (!B64.test(item)) return { error: 'bad base64 encoding' };
      return latin1(Buffer.from(item, 'base64'));
    }
    case 'md5':
    case 'sha256': {
      const n = type === 'md5' ? 32 : 64;
      if (item.length !== n || !/^[0-9a-fA-F]+$/.test(item)) return { error: `${type} must be ${n} hex digits` };
      return latin1(Buffer.from(item, 'hex'));
    }
    case 'ipv4': {
      const b = ipv4Bytes(item);
      return b === null ? { error: `bad IPv4 address "${item}"` } : latin1(b);
    }
    case 'ip': {
      if (!item.includes(':')) {
        const b = ipv4Bytes(item);
        if (b === null) return { error: `bad IP address "${item}"` };
        const k = new Uint8Array(16);
        k.set(b);
        return latin1(k);
      }
      const b = ipv6Bytes(item);
      if (b === null) return { error: `bad IPv6 address "${item}"` };
      // IPv4-mapped text is stored as Suricata stores IPv4: the 4 bytes first, zeros after.
      if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
        const k = new Uint8Array(16);
        k.set(b.subarray(12, 16));
        return latin1(k);
      }
      return latin1(b);
    }
  }
}

function ipv4Bytes(s: string): Uint8Array | null {
  if (isIP(s) !== 4) return null;
  return Uint8Array.from(s.split('.').map(Number));
}

function ipv6Bytes(s: string): Uint8Array | null {
  if (isIP(s) !== 6) return null;
  let text = s;
  // a trailing dotted quad (::ffff:1.2.3.4) becomes two hex groups
  const dq = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dq) {
    const v4 = ipv4Bytes(dq[1]!)!;
    text = text.slice(0, dq.index) + `${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length > 1 && halves[1] !== '' ? halves[1]!.split(':') : [];
  const groups = halves.length > 1 ? [...head, ...new Array<string>(8 - head.length - tail.length).fill('0'), ...tail] : head;
  if (groups.length !== 8) return null;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 255;
  });
  return out;
}

function ipv6Text(b: Uint8Array): string {
  const words: string[] = [];
  for (let i = 0; i < 8; i++) words.push(((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16));
  // RFC 5952: the longest run (2+) of zero groups becomes '::'
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === '0') j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return words.join(':');
  return `${words.slice(0, best).join(':')}::${words.slice(best + bestLen).join(':')}`;
}

/** The text of one key in the set's file format (DatasetsSave: StringAsBase64, hex, PrintInet). */
export function formatDatasetItem(type: DatasetType, key: string): string {
  const b = bytesOf(key);
  switch (type) {
    case 'string':
      return Buffer.from(b).toString('base64');
    case 'md5':
    case 'sha256':
      return Buffer.from(b).toString('hex');
    case 'ipv4':
      return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
    case 'ip':
      return b.subarray(4).every((x) => x === 0) ? `${b[0]}.${b[1]}.${b[2]}.${b[3]}` : ipv6Text(b);
  }
}

export interface DatasetFileError {
  line: number;
  message: string;
}

/** Parses a whole dataset file; empty lines are skipped (Suricata skips them for strings). */
export function parseDatasetFile(type: DatasetType, text: string): { keys: string[] } | DatasetFileError {
  const keys: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line === '') continue;
    if (line.length >= DATASET_LINE_MAX) return { line: i + 1, message: `line longer than ${DATASET_LINE_MAX - 1} bytes` };
    const k = parseDatasetLine(type, line);
    if (typeof k !== 'string') return { line: i + 1, message: k.error };
    keys.push(k);
  }
  return { keys };
}
