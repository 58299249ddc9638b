/**
 * The bulwark YAML database format (docs/signatures.md, docs/schema/database.schema.json).
 * Strict: unknown keys, wrong types, bad hex, bad ports and duplicate ids are errors with
 * file:line, and one error refuses the whole file (a database is all or nothing).
 */
import { parseDocument, LineCounter, isAlias, isMap, isSeq, isScalar, type Document, type Node, type YAMLMap } from 'yaml';
import { BulwarkError } from '../errors.js';
import type {
  Condition,
  ContentCondition,
  DatabaseInfo,
  DetectorSpec,
  Direction,
  FlowbitOp,
  PortRange,
  Severity,
  SignatureAction,
} from './types.js';
import type { Draft, ParsedSource } from './parsed.js';
import { decodeContent, ContentError } from './content.js';
import { compilePcre, PcreInvalid, PcreUnsupported } from './pcre.js';
import { parseYamlPort, PortError, type PortSpec } from './ports.js';
import { OptionError, Unsupported, parseByteJump, parseByteTest, parseDsize, parseFlags, parseFlowbits, parseIsDataAt } from './options.js';

/** Signature ids of the bulwark format, and detector ids (docs/signatures.md "Ids"). */
export const SIGNATURE_ID_MIN = 1;
export const SIGNATURE_ID_MAX = 2 ** 31 - 1;

const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];
const ACTIONS: readonly SignatureAction[] = ['block', 'alert'];
const DIRECTIONS: readonly Direction[] = ['to_server', 'to_client'];

class At extends Error {
  constructor(
    readonly node: Node | null | undefined,
    message: string,
  ) {
    super(message);
  }
}

type Obj = Map<string, { key: Node; value: Node | null }>;

/** The document being parsed, to resolve aliases (`ports: *web`). Parsing is synchronous. */
let currentDoc: Document | undefined;

function deref(node: Node | null | undefined): Node | null | undefined {
  if (isAlias(node) && currentDoc) return node.resolve(currentDoc);
  return node;
}

function asMap(n: Node | null | undefined, what: string): Obj {
  const node = deref(n);
  if (!isMap(node)) throw new At(node, `${what} must be a mapping`);
  const out: Obj = new Map();
  for (const p of (node as YAMLMap<Node, Node | null>).items) {
    if (!isScalar(p.key)) throw new At(node, `${what}: keys must be plain strings`);
    out.set(String(p.key.value), { key: p.key, value: p.value });
  }
  return out;
}

function allowOnly(m: Obj, allowed: readonly string[], what: string): void {
  for (const [k, { key }] of m) if (!allowed.includes(k)) throw new At(key, `${what}: unknown key "${k}" (allowed: ${allowed.join(', ')})`);
}

function req(m: Obj, k: string, what: string, parent: Node | null | undefined): Node {
  const e = m.get(k);
  if (e?.value == null) throw new At(e?.key ?? parent, `${what}: "${k}" is required`);
  return e.value;
}

function str(node: Node | null | undefined, what: string): string {
  if (!isScalar(node) || (typeof node.value !== 'string' && typeof node.value !== 'number')) throw new At(node, `${what} must be a string`);
  return String(node.value);
}

function int(node: Node | null | undefined, what: string, min: number, max: number): number {
  if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value)) throw new At(node, `${what} must be an integer`);
  if (node.value < min || node.value > max) throw new At(node, `${what} ${node.value} outside ${min}..${max}`);
  return node.value;
}

function bool(node: Node | null | undefined, what: string): boolean {
  if (!isScalar(node) || typeof node.value !== 'boolean') throw new At(node, `${what} must be true or false`);
  return node.value;
}

function oneOf<T extends string>(node: Node | null | undefined, allowed: readonly T[], what: string): T {
  const s = str(node, what);
  if (!(allowed as readonly string[]).includes(s)) throw new At(node, `${what} "${s}" is not one of ${allowed.join(', ')}`);
  return s as T;
}

function seq(n: Node | null | undefined, what: string): Node[] {
  const node = deref(n);
  if (!isSeq(node)) throw new At(node, `${what} must be a list`);
  return node.items as Node[];
}

function ports(n: Node, what: string): PortSpec {
  const node = deref(n) ?? n;
  if (isScalar(node) && node.value === 'any') return { any: true, include: [], exclude: [] };
  const items = seq(node, what);
  if (items.length === 0) throw new At(node, `${what} must not be empty`);
  const include: PortRange[] = [];
  for (const it of items) {
    try {
      include.push(parseYamlPort(isScalar(it) ? it.value : undefined));
    } catch (e) {
      if (e instanceof PortError) throw new At(it, `${what}: ${e.message}`);
      throw e;
    }
  }
  return { any: false, include, exclude: [] };
}

export const SIG_KEYS = [
  'id', 'rev', 'name', 'description', 'references', 'severity', 'category', 'action', 'ports', 'direction',
  'flow', 'stream', 'match', 'dsize', 'flags', 'flowbits', 'threshold',
] as const;
export const CONTENT_KEYS = ['content', 'negate', 'nocase', 'offset', 'depth', 'distance', 'within', 'startswith', 'endswith', 'fast_pattern'] as const;
export const DETECTOR_KEYS = ['id', 'kind', 'name', 'description', 'severity', 'action', 'track', 'distinct_ports', 'count', 'seconds', 'ports'] as const;

function matchItem(node: Node): Condition {
  const m = asMap(node, 'match item');
  const keys = [...m.keys()];
  const wrap = <T>(fn: () => T, at: Node | null | undefined): T => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof OptionError || e instanceof ContentError || e instanceof PortError || e instanceof PcreInvalid) throw new At(at, e.message);
      if (e instanceof Unsupported || e instanceof PcreUnsupported) throw new At(at, `unsupported: ${e.reason}`);
      throw e;
    }
  };
  if (m.has('content')) {
    allowOnly(m, CONTENT_KEYS, 'content item');
    const cnode = req(m, 'content', 'content item', node);
    const c: ContentCondition = {
      kind: 'content',
      bytes: wrap(() => decodeContent(str(cnode, 'content'), false), cnode),
      nocase: m.has('nocase') ? bool(m.get('nocase')!.value, 'nocase') : false,
      negated: m.has('negate') ? bool(m.get('negate')!.value, 'negate') : false,
      startswith: m.has('startswith') ? bool(m.get('startswith')!.value, 'startswith') : false,
      endswith: m.has('endswith') ? bool(m.get('endswith')!.value, 'endswith') : false,
      fastPattern: m.has('fast_pattern') ? bool(m.get('fast_pattern')!.value, 'fast_pattern') : false,
    };
    for (const k of ['offset', 'depth', 'distance', 'within'] as const) {
      const e = m.get(k);
      if (e) c[k] = int(e.value, k, k === 'distance' ? -65535 : 0, 65535);
    }
    if ((c.offset !== undefined || c.depth !== undefined) && (c.distance !== undefined || c.within !== undefined)) {
      throw new At(node, 'content mixes absolute (offset/depth) and relative (distance/within) modifiers');
    }
    if (c.depth !== undefined && c.depth < c.bytes.length) throw new At(m.get('depth')!.value, `depth ${c.depth} is shorter than the content (${c.bytes.length} bytes)`);
    if (c.within !== undefined && c.within < c.bytes.length) throw new At(m.get('within')!.value, `within ${c.within} is shorter than the content (${c.bytes.length} bytes)`);
    if (c.negated && c.fastPattern) throw new At(node, 'fast_pattern on a negated content');
    return c;
  }
  if (keys.length !== 1 && !(m.has('pcre') && keys.every((k) => k === 'pcre' || k === 'negate'))) {
    throw new At(node, `match item: expected one of content, pcre, isdataat, byte_test, byte_jump (got ${keys.join(', ')})`);
  }
  const [k] = keys as [string];
  const v = m.get(k)!.value;
  switch (k) {
    case 'pcre': {
      const text = str(v, 'pcre');
      const t = wrap(() => compilePcre(text), v);
      return {
        kind: 'pcre',
        regex: t.regex,
        source: text,
        negated: m.has('negate') ? bool(m.get('negate')!.value, 'negate') : false,
        relative: t.relative,
        overrideLimits: t.overrideLimits,
      };
    }
    case 'isdataat':
      return wrap(() => parseIsDataAt(str(v, 'isdataat')), v);
    case 'byte_test':
      return wrap(() => parseByteTest(str(v, 'byte_test')), v);
    case 'byte_jump':
      return wrap(() => parseByteJump(str(v, 'byte_jump')), v);
    default:
      throw new At(m.get(k)!.key, `match item: unknown keyword "${k}" (allowed: content, pcre, isdataat, byte_test, byte_jump)`);
  }
}

function signature(node: Node, file: string, line: (n: Node | null | undefined) => number): Draft {
  const m = asMap(node, 'signature');
  allowOnly(m, SIG_KEYS, 'signature');
  const id = int(req(m, 'id', 'signature', node), 'id', SIGNATURE_ID_MIN, SIGNATURE_ID_MAX);
  const what = `signature ${id}`;
  const name = str(req(m, 'name', what, node), 'name');
  if (!/^[A-Za-z0-9][\w.-]*$/.test(name)) throw new At(m.get('name')!.value, `name "${name}": use dotted words like Intrusion.HTTP.Log4Shell.JNDI`);
  const conditions: Condition[] = [];
  const matchNode = m.get('match')?.value;
  if (matchNode != null) for (const it of seq(matchNode, 'match')) conditions.push(matchItem(it));
  const flowbits: FlowbitOp[] = [];
  const fbNode = m.get('flowbits')?.value;
  if (fbNode != null) {
    for (const it of seq(fbNode, 'flowbits')) {
      try {
        flowbits.push(parseFlowbits(str(it, 'flowbits item')));
      } catch (e) {
        if (e instanceof OptionError) throw new At(it, e.message);
        throw e;
      }
    }
  }
  const refs = m.get('references')?.value;
  const sig: Draft['sig'] = {
    id,
    rev: m.has('rev') ? int(m.get('rev')!.value, 'rev', 1, 1_000_000) : 1,
    gid: 1,
    name,
    description: m.has('description') ? str(m.get('description')!.value, 'description') : '',
    references: refs == null ? [] : seq(refs, 'references').map((r) => str(r, 'reference')),
    severity: oneOf(req(m, 'severity', what, node), SEVERITIES, 'severity'),
    category: str(req(m, 'category', what, node), 'category'),
    metadata: [],
    origin: 'yaml',
    action: m.has('action') ? oneOf(m.get('action')!.value, ACTIONS, 'action') : 'block',
    direction: m.has('direction') ? oneOf(m.get('direction')!.value, DIRECTIONS, 'direction') : 'to_server',
    conditions,
    flowbits,
    source: { file, line: line(node) },
  };
  const flow = m.has('flow') ? oneOf(m.get('flow')!.value, ['established', 'not_established', 'any'] as const, 'flow') : 'established';
  if (flow !== 'any') sig.established = flow === 'established';
  if (m.has('stream')) sig.stream = oneOf(m.get('stream')!.value, ['only', 'no'] as const, 'stream');
  const conv = <T>(k: string, fn: (s: string) => T): T | undefined => {
    const e = m.get(k);
    if (!e) return undefined;
    const s = isScalar(e.value) && typeof e.value.value === 'number' ? String(e.value.value) : str(e.value, k);
    try {
      return fn(s);
    } catch (err) {
      if (err instanceof OptionError) throw new At(e.value, err.message);
      if (err instanceof Unsupported) throw new At(e.value, `unsupported: ${err.reason}`);
      throw err;
    }
  };
  const dsize = conv('dsize', parseDsize);
  if (dsize) sig.dsize = dsize;
  const flags = conv('flags', parseFlags);
  if (flags) sig.flags = flags;
  const th = m.get('threshold')?.value;
  if (th != null) {
    const t = asMap(th, 'threshold');
    allowOnly(t, ['type', 'track', 'count', 'seconds'], 'threshold');
    sig.rateFilter = {
      type: oneOf(req(t, 'type', 'threshold', th), ['limit', 'threshold', 'both', 'detection_filter'] as const, 'threshold type'),
      track: oneOf(req(t, 'track', 'threshold', th), ['by_src', 'by_dst'] as const, 'threshold track'),
      count: int(req(t, 'count', 'threshold', th), 'threshold count', 1, 1_000_000),
      seconds: int(req(t, 'seconds', 'threshold', th), 'threshold seconds', 1, 604_800),
    };
  }
  if (conditions.length === 0 && !sig.dsize && !sig.flags) throw new At(node, `${what}: needs a match, dsize or flags condition`);
  return { sig, portSpec: ports(req(m, 'ports', what, node), `${what} ports`) };
}

function detector(node: Node, file: string, line: (n: Node | null | undefined) => number): DetectorSpec {
  const m = asMap(node, 'detector');
  allowOnly(m, DETECTOR_KEYS, 'detector');
  const id = int(req(m, 'id', 'detector', node), 'id', SIGNATURE_ID_MIN, SIGNATURE_ID_MAX);
  const what = `detector ${id}`;
  const kind = oneOf(req(m, 'kind', what, node), ['portscan', 'synflood', 'bruteforce'] as const, 'kind');
  const base = {
    id,
    name: str(req(m, 'name', what, node), 'name'),
    description: m.has('description') ? str(m.get('description')!.value, 'description') : '',
    severity: oneOf(req(m, 'severity', what, node), SEVERITIES, 'severity'),
    action: m.has('action') ? oneOf(m.get('action')!.value, ACTIONS, 'action') : 'block',
    source: { file, line: line(node) },
  };
  const seconds = int(req(m, 'seconds', what, node), 'seconds', 1, 3600);
  const onlyFor = (k: string, kinds: string[]): void => {
    if (m.has(k) && !kinds.includes(kind)) throw new At(m.get(k)!.key, `${what}: "${k}" does not apply to kind ${kind}`);
  };
  onlyFor('distinct_ports', ['portscan']);
  onlyFor('count', ['synflood', 'bruteforce']);
  onlyFor('ports', ['bruteforce']);
  switch (kind) {
    case 'portscan':
      return {
        ...base,
        kind,
        track: m.has('track') ? oneOf(m.get('track')!.value, ['by_src'] as const, 'track') : 'by_src',
        distinctPorts: int(req(m, 'distinct_ports', what, node), 'distinct_ports', 2, 65535),
        seconds,
      };
    case 'synflood':
      return {
        ...base,
        kind,
        track: m.has('track') ? oneOf(m.get('track')!.value, ['by_src', 'by_dst'] as const, 'track') : 'by_dst',
        count: int(req(m, 'count', what, node), 'count', 2, 10_000_000),
        seconds,
      };
    case 'bruteforce': {
      const p = ports(req(m, 'ports', what, node), `${what} ports`);
      if (p.any) throw new At(m.get('ports')!.value, `${what}: brute-force ports must be listed`);
      return {
        ...base,
        kind,
        track: m.has('track') ? oneOf(m.get('track')!.value, ['by_src'] as const, 'track') : 'by_src',
        ports: p.include,
        count: int(req(m, 'count', what, node), 'count', 2, 1_000_000),
        seconds,
      };
    }
  }
}

/** Parses one YAML database file; throws BULWARK_ERR_DATABASE "file:line: message". */
export function parseYamlDatabase(file: string, text: string): ParsedSource {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const fail = (lineNo: number, message: string): never => {
    throw new BulwarkError('BULWARK_ERR_DATABASE', `${file}:${lineNo}: ${message}`, { details: { file, line: lineNo } });
  };
  currentDoc = doc;
  const firstErr = doc.errors[0];
  if (firstErr) fail(lc.linePos(firstErr.pos[0]).line, `invalid YAML: ${firstErr.message.split('\n')[0]!}`);
  const line = (n: Node | null | undefined): number => (n?.range ? lc.linePos(n.range[0]).line : 1);
  try {
    const root = asMap(doc.contents, 'database file');
    allowOnly(root, ['database', 'signatures', 'detectors', 'definitions'], 'database file');
    const dbNode = req(root, 'database', 'database file', doc.contents);
    const db = asMap(dbNode, 'database');
    allowOnly(db, ['name', 'version', 'released'], 'database');
    const database: DatabaseInfo = {
      name: str(req(db, 'name', 'database', dbNode), 'database name'),
      version: str(req(db, 'version', 'database', dbNode), 'database version'),
      released: str(req(db, 'released', 'database', dbNode), 'database released'),
      file,
    };
    if (!/^\d{4}-\d{2}-\d{2}$/.test(database.released)) throw new At(db.get('released')!.value, `released "${database.released}" must be a date YYYY-MM-DD`);
    const out: ParsedSource = { file, database, drafts: [], detectors: [], skipped: [] };
    const seen = new Map<number, number>();
    const checkId = (id: number, n: Node): void => {
      const prev = seen.get(id);
      if (prev !== undefined) throw new At(n, `duplicate id ${id} (first defined at line ${prev})`);
      seen.set(id, line(n));
    };
    const sigs = root.get('signatures')?.value;
    if (sigs != null) {
      for (const n of seq(sigs, 'signatures')) {
        const d = signature(n, file, line);
        checkId(d.sig.id, asMap(n, 'signature').get('id')!.value!);
        out.drafts.push(d);
      }
    }
    const dets = root.get('detectors')?.value;
    if (dets != null) {
      for (const n of seq(dets, 'detectors')) {
        const d = detector(n, file, line);
        checkId(d.id, asMap(n, 'detector').get('id')!.value!);
        out.detectors.push(d);
      }
    }
    return out;
  } catch (e) {
    if (e instanceof At) return fail(line(e.node), e.message);
    throw e;
  } finally {
    currentDoc = undefined;
  }
}
