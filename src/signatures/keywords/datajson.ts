/**
 * Dataset files in JSON (Suricata 8 `dataset:…, format json|ndjson, context_key K, value_key V
 * [, array_key A][, remove_key]`, datajson.c): every object of the file whose dotted `value_key`
 * holds a string adds that string as an item of the set, with the object itself (compact JSON)
 * as the item's context; an alert of a rule whose lookup found the item writes the object under
 * `alert.context.<context_key>`.
 *
 *   json    one document; the array at the dotted `array_key` (else the document itself) lists
 *           the objects
 *   ndjson  one object a line (Suricata's `jsonline`); empty lines are skipped
 *
 * Items are the value as text: `string` sets take its UTF-8 bytes as they are (no base64, unlike
 * CSV files), md5/sha256 hex, ipv4/ip address text. Objects without the value key are skipped
 * (Suricata: "entries can be in another format"); a file without any is an error, as is a value
 * that is not a string or not an item of the type. `remove_key` drops the value key from the
 * object kept. The first object of an item wins. Pure: text in, keys and JSON texts out.
 */
import { parseDatasetLine, type DatasetFileError, type DatasetJsonSpec, type DatasetType } from './dataset.js';

export interface DatajsonItems {
  keys: string[];
  /** The compact JSON of each key's object, parallel to `keys`. */
  values: string[];
}

/** Most nesting of a dotted key (bounds the walk; Suricata has none, keys are rule text). */
const MAX_PATH = 32;

function pathOf(key: string): string[] | null {
  const parts = key.split('.');
  return parts.length > MAX_PATH || parts.some((p) => p === '') ? null : parts;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** GetSubObjectByKey: each step must be an object that has the key. */
function getPath(v: unknown, path: readonly string[]): unknown {
  let cur = v;
  for (const k of path) {
    if (!isObject(cur) || !Object.hasOwn(cur, k)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function withoutPath(v: Record<string, unknown>, path: readonly string[]): Record<string, unknown> {
  const copy = structuredClone(v);
  let cur: unknown = copy;
  for (const k of path.slice(0, -1)) cur = isObject(cur) ? cur[k] : undefined;
  if (isObject(cur)) Reflect.deleteProperty(cur, path[path.length - 1]!);
  return copy;
}

/** The set key of a JSON value of `type`, or an error message. */
function itemKey(type: DatasetType, value: string): string | { error: string } {
  if (type === 'string') return Buffer.from(value, 'utf8').toString('latin1');
  // the CSV parser reads `item,reputation`: a comma is never part of these items
  if (value.includes(',')) return { error: `bad ${type} value "${value.slice(0, 80)}"` };
  return parseDatasetLine(type, value);
}

/** Parses a dataset file in `spec.format`; errors name the line (1 for a whole-document error). */
export function parseDatajsonFile(type: DatasetType, spec: DatasetJsonSpec, text: string): DatajsonItems | DatasetFileError {
  const valuePath = pathOf(spec.valueKey);
  if (valuePath === null) return { line: 1, message: `bad value_key "${spec.valueKey}"` };
  const objects: [unknown, number][] = [];
  if (spec.format === 'json') {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      return { line: 1, message: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` };
    }
    let arr = doc;
    if (spec.arrayKey !== undefined) {
      const ap = pathOf(spec.arrayKey);
      if (ap === null) return { line: 1, message: `bad array_key "${spec.arrayKey}"` };
      arr = getPath(doc, ap);
      if (arr === undefined) return { line: 1, message: `no key "${spec.arrayKey}"` };
    }
    if (!Array.isArray(arr)) return { line: 1, message: 'not an array' };
    for (const o of arr as unknown[]) objects.push([o, 1]);
  } else {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === '') continue;
      try {
        objects.push([JSON.parse(line), i + 1]);
      } catch (e) {
        return { line: i + 1, message: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` };
      }
    }
  }
  const keys: string[] = [];
  const values: string[] = [];
  const seen = new Set<string>();
  let found = false;
  for (const [o, line] of objects) {
    const v = getPath(o, valuePath);
    if (v === undefined) continue;
    found = true;
    if (typeof v !== 'string') return { line, message: `value of "${spec.valueKey}" is not a string` };
    const k = itemKey(type, v);
    if (typeof k !== 'string') return { line, message: k.error };
    if (seen.has(k)) continue;
    seen.add(k);
    keys.push(k);
    values.push(JSON.stringify(spec.removeKey ? withoutPath(o as Record<string, unknown>, valuePath) : o));
  }
  if (!found) return { line: 1, message: `no entry has the key "${spec.valueKey}"` };
  return { keys, values };
}
