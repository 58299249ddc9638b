/**
 * Compiler: parsed databases → Ruleset (types.ts). Pure and deterministic: the same sources
 * and options always give the same ruleset (only stats.compileMs varies). No I/O: the loader
 * (load.ts) reads files and hands their text in.
 */
import { BulwarkError } from '../errors.js';
import type {
  AppPrefilter,
  AppRuleset,
  CompileStats,
  ContentCondition,
  DatabaseInfo,
  DetectorSpec,
  Direction,
  EventRuleset,
  GroupPattern,
  PortGroup,
  PortRange,
  Ruleset,
  Signature,
} from './types.js';
import type { Draft, ParsedSource, Skip } from './parsed.js';
import { buildDfa, countStates, dfaBytes, isCaseless } from './automaton.js';
import { mergeRawPatterns } from './raw-merge.js';
import { parseYamlDatabase } from './yaml.js';
import { parseRulesFile, type RulesOptions } from './rules.js';
import type { Classification } from './keywords/classification.js';
import { concretePorts, formatRanges, normalizeRanges, resolvePorts } from './ports.js';
import { DATASET_DEFAULTS, resolveDatasets, type DatasetOptions } from './datasets.js';
import { resolveFileHashLists } from './filehash-lists.js';
import { FILE_HASH_KEYWORDS, type FileHashAlgo } from '../engine/app-layer/filehash.js';

export interface DatabaseSource {
  /** Path (for messages and SourceRef); the extension selects the format: .yaml/.yml or .rules. */
  file: string;
  text: string;
  /** .rules files: the classification.config found beside the file (classtype → priority). */
  classification?: ReadonlyMap<string, Classification>;
}

export interface CompileOptions {
  /** Suricata variables ($HOME_NET, $HTTP_PORTS...), config databases.vars. */
  vars?: Record<string, string>;
  /** What a port `any` stands for; empty/undefined = union of the other rules' ports. */
  anyPorts?: readonly number[];
  /** When no rule names an explicit port and anyPorts is empty, `any` means 1-65535 (offline `scan` only). */
  anyIsAllWhenUnnamed?: boolean;
  /**
   * Automaton patterns are cut to this many bytes (the verifier checks the whole content):
   * bounds the state count, hence memory (each state costs 1 KiB). Default 32.
   */
  maxPatternLength?: number;
  /** Refuse a ruleset whose automata would need more states than this (memory bound). Default 262,144 (256 MiB). */
  maxTotalStates?: number;
  /**
   * When the per-port-group automata together exceed this many states, each direction gets one
   * merged automaton instead (the engine re-checks Signature.ports). Default 65,536 (64 MiB).
   */
  groupStateBudget?: number;
  /** Refuse (BULWARK_ERR_LIMIT) a ruleset of more signatures and detectors than this (config databases.limits.rules). */
  maxSignatures?: number;
  /** Refuse (BULWARK_ERR_LIMIT, file:line) a content longer than this many bytes (config databases.limits.contentLength). */
  maxContentLength?: number;
  /** Keep at most this many skipped-rule examples with file:line in stats.problems. Default 50. */
  maxProblems?: number;
  /** Monotonic milliseconds for compileMs (injected; default performance.now). */
  now?: () => number;
  /** Progress for CLI progress bars: source characters parsed so far, of `total` (parsing is most of a compile). */
  progress?: (done: number, total: number) => void;
  /**
   * Datasets (`dataset` keyword): defaults, the file reader (the compiler does no I/O itself) and
   * `dir`, the data directory of relative save/state files (undefined: such rules are skipped).
   */
  datasets?: Partial<DatasetOptions> & { dir?: string };
  /** .rules: load outbound rules too (RulesOptions.outboundRules; offline `scan --rules` only). */
  outboundRules?: boolean;
}

/** A decode-event or stream-event signature: evaluated per packet (Ruleset.events), in no port group. */
export function isPacketEventSig(s: Pick<Signature, 'events'>): boolean {
  return s.events !== undefined && s.events.length > 0;
}

/** How a signature id is shown in messages. */
function where(s: { source: { file: string; line: number } }): string {
  return `${s.source.file}:${s.source.line}`;
}

/** Parses one source by its extension. YAML errors throw; rule problems become skips. */
export function parseSource(src: DatabaseSource, vars: Record<string, string>, onLine?: (line: number, lines: number) => void, datasetDir?: string, outboundRules = false): ParsedSource {
  if (/\.ya?ml$/i.test(src.file)) return parseYamlDatabase(src.file, src.text);
  if (/\.rules$/i.test(src.file)) {
    const ro: RulesOptions = { vars };
    if (datasetDir !== undefined) ro.datasetDir = datasetDir;
    if (outboundRules) ro.outboundRules = true;
    if (onLine) ro.progress = onLine;
    if (src.classification) ro.classification = src.classification;
    return parseRulesFile(src.file, src.text, ro);
  }
  throw new BulwarkError('BULWARK_ERR_DATABASE', `${src.file}:1: unknown database format (expected .yaml, .yml or .rules)`, { details: { file: src.file, line: 1 } });
}

function tallyKeywords(into: { enforced: Record<string, number>; ignored: Record<string, number> }, k: NonNullable<Draft['keywords']>): void {
  for (const n of k.enforced) into.enforced[n] = (into.enforced[n] ?? 0) + 1;
  for (const n of k.ignored) into.ignored[n] = (into.ignored[n] ?? 0) + 1;
}

function sortedCounts(r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
}

/** Scores a content as a fast pattern: longer and more varied bytes are more selective. */
function fastPatternScore(c: ContentCondition): number {
  const len = Math.min(c.bytes.length, 32);
  const distinct = new Set(c.bytes).size;
  return len * 4 + Math.min(distinct, 16);
}

/**
 * Fast pattern of an app signature among its buffer lists (Suricata's selection: a content the
 * rule names `fast_pattern`, else the best positive content of any buffer, longer first), as
 * [list, condition]; undefined when it has no positive buffer content (always evaluated).
 */
export function chooseAppFastPattern(lists: NonNullable<Signature['buffers']>): [number, number] | undefined {
  let best: [number, number] | undefined;
  let bestScore = -1;
  for (let li = 0; li < lists.length; li++) {
    // a buffer that may be absent cannot decide whether the rule runs
    if (lists[li]!.absent !== undefined) continue;
    // transactional rules run on the response side: a request buffer cannot prefilter them there
    if (lists[li]!.dir === 'to_server') continue;
    // the address buffers are not tx buffers the prefilter scans
    if (lists[li]!.buffer === 'ip.src' || lists[li]!.buffer === 'ip.dst') continue;
    const conds = lists[li]!.conditions;
    for (let ci = 0; ci < conds.length; ci++) {
      const c = conds[ci]!;
      // Contents after base64_data inspect the decoded bytes, not the buffer the prefilter scans.
      if (c.kind === 'base64_data') break;
      if (c.kind !== 'content' || c.negated) continue;
      if (c.fastPattern) return [li, ci];
      const sc = fastPatternScore(c);
      if (sc > bestScore) {
        best = [li, ci];
        bestScore = sc;
      }
    }
  }
  return best;
}

/** The bytes the prefilter looks for: the fast_pattern part when given, cut to maxLen. */
function prefilterBytes(c: ContentCondition, maxLen: number): Uint8Array {
  const b = c.fastPatternPart ? c.bytes.subarray(c.fastPatternPart.offset, c.fastPatternPart.offset + c.fastPatternPart.length) : c.bytes;
  return b.length > maxLen ? b.subarray(0, maxLen) : b;
}

/** Prefilters per (protocol, buffer+transforms, direction) over the app signatures, and the always lists. */
function buildAppRuleset(signatures: readonly Signature[], maxLen: number): { app: AppRuleset; states: number } {
  const groups = new Map<string, { pf: Omit<AppPrefilter, 'dfa'>; sigs: number[] }>();
  const always = new Map<string, number[]>();
  const raw: Record<Direction, GroupPattern[]> = { to_server: [], to_client: [] };
  const frames = new Map<string, number[]>();
  signatures.forEach((s, i) => {
    if (s.app === undefined) return;
    if (s.frame !== undefined) {
      // Frame signatures run on frames (detect/app-frames.ts), never on transactions.
      const k = `${s.app}:${s.frame}:${s.direction}`;
      let a = frames.get(k);
      if (!a) frames.set(k, (a = []));
      a.push(i);
      return;
    }
    const fp = s.appFastPattern;
    if (fp === undefined && s.fastPatternIndex >= 0) {
      // Its raw-stream conditions hold only where their fast pattern occurs in the stream.
      const bytes = prefilterBytes(s.conditions[s.fastPatternIndex] as ContentCondition, maxLen);
      raw[s.direction].push({ signature: i, length: bytes.length, nocase: true, bytes });
      return;
    }
    if (fp === undefined) {
      const k = `${s.app}:${s.direction}`;
      let a = always.get(k);
      if (!a) always.set(k, (a = []));
      a.push(i);
      return;
    }
    const l = s.buffers![fp[0]]!;
    const c = l.conditions[fp[1]] as ContentCondition;
    const gk = `${l.protocol}\u0000${l.key}\u0000${s.direction}`;
    let g = groups.get(gk);
    if (!g) {
      g = { pf: { protocol: l.protocol, direction: s.direction, buffer: l.buffer, multi: l.multi, transforms: l.transforms, key: l.key, patterns: [] }, sigs: [] };
      groups.set(gk, g);
    }
    const bytes = prefilterBytes(c, maxLen);
    g.pf.patterns.push({ signature: i, length: bytes.length, nocase: c.nocase || isCaseless(bytes), bytes });
  });
  const prefilters: AppPrefilter[] = [];
  const byProtoDir = new Map<string, number[]>();
  let states = 0;
  for (const gk of [...groups.keys()].sort()) {
    const { pf } = groups.get(gk)!;
    const dfa = buildDfa(pf.patterns);
    states += dfa.stateCount;
    const k = `${pf.protocol}:${pf.direction}`;
    let list = byProtoDir.get(k);
    if (!list) byProtoDir.set(k, (list = []));
    list.push(prefilters.length);
    prefilters.push({ ...pf, dfa });
  }
  const rawStream = {
    to_server: { dfa: buildDfa(raw.to_server), patterns: raw.to_server },
    to_client: { dfa: buildDfa(raw.to_client), patterns: raw.to_client },
  };
  states += rawStream.to_server.dfa.stateCount + rawStream.to_client.dfa.stateCount;
  const frameProtocols = [...new Set(signatures.filter((s) => s.frame !== undefined && s.app !== undefined).map((s) => s.app!))].sort();
  const fileHashes: Record<string, FileHashAlgo[]> = {};
  for (const s of signatures) {
    for (const k of s.appKeywords ?? []) {
      const algo = FILE_HASH_KEYWORDS[k.name];
      if (algo === undefined) continue;
      const a = (fileHashes[k.protocol] ??= []);
      if (!a.includes(algo)) a.push(algo);
    }
  }
  // Protocol-detection-only rules (header + app-layer-protocol) need the flows' protocol detection.
  const protoDetect = signatures.some((s) => s.headerOnly !== undefined && s.appLayerProtocol !== undefined);
  return { app: { prefilters, byProtoDir, always, rawStream, frames, frameProtocols, fileHashes, ...(protoDetect ? { protoDetect } : {}) }, states };
}

export function chooseFastPattern(conditions: Signature['conditions']): number {
  let best = -1;
  let bestScore = -1;
  for (let i = 0; i < conditions.length; i++) {
    const c = conditions[i]!;
    // Contents after base64_data inspect the decoded bytes, which the raw-stream automaton never sees.
    if (c.kind === 'base64_data') break;
    if (c.kind !== 'content' || c.negated) continue;
    if (c.fastPattern) return i;
    const s = fastPatternScore(c);
    if (s > bestScore) {
      best = i;
      bestScore = s;
    }
  }
  return best;
}

/** Elementary port intervals with the sorted list of signatures that apply there. */
function portSets(sigs: readonly Signature[], idx: readonly number[]): { ranges: PortRange[]; members: number[] }[] {
  const events = new Map<number, { add: number[]; del: number[] }>();
  const ev = (p: number) => {
    let e = events.get(p);
    if (!e) events.set(p, (e = { add: [], del: [] }));
    return e;
  };
  for (const i of idx) {
    for (const r of sigs[i]!.ports) {
      ev(r.from).add.push(i);
      ev(r.to + 1).del.push(i);
    }
  }
  const points = [...events.keys()].sort((a, b) => a - b);
  const active = new Map<number, number>();
  const byKey = new Map<string, { ranges: PortRange[]; members: number[] }>();
  for (let k = 0; k < points.length; k++) {
    const p = points[k]!;
    const e = events.get(p)!;
    for (const i of e.del) {
      const n = active.get(i)! - 1;
      if (n === 0) active.delete(i);
      else active.set(i, n);
    }
    for (const i of e.add) active.set(i, (active.get(i) ?? 0) + 1);
    const nextP = points[k + 1];
    if (active.size === 0 || nextP === undefined) continue;
    const members = [...active.keys()].sort((a, b) => a - b);
    const key = members.join(',');
    let g = byKey.get(key);
    if (!g) byKey.set(key, (g = { ranges: [], members }));
    g.ranges.push({ from: p, to: nextP - 1 });
  }
  return [...byKey.values()].map((g) => ({ ranges: normalizeRanges(g.ranges), members: g.members }));
}

function buildGroup(direction: Direction, ranges: PortRange[], members: number[], sigs: readonly Signature[], maxLen: number): PortGroup {
  const patterns: GroupPattern[] = [];
  const unanchored: number[] = [];
  for (const i of members) {
    const s = sigs[i]!;
    if (s.fastPatternIndex < 0) {
      unanchored.push(i);
      continue;
    }
    const c = s.conditions[s.fastPatternIndex] as ContentCondition;
    const bytes = c.bytes.length > maxLen ? c.bytes.subarray(0, maxLen) : c.bytes;
    patterns.push({ signature: i, length: bytes.length, nocase: c.nocase || isCaseless(bytes), bytes });
  }
  return { key: `${direction}:${formatRanges(ranges)}`, direction, dfa: buildDfa(patterns), patterns, unanchored };
}

function signatureBytes(s: Signature): number {
  let n = 200 + s.name.length * 2 + s.description.length * 2;
  for (const c of s.conditions) n += 64 + (c.kind === 'content' ? c.bytes.length : c.kind === 'pcre' ? c.source.length * 4 : 0);
  return n;
}

/**
 * Compiles sources into a Ruleset. Throws BULWARK_ERR_DATABASE with file:line for a refused
 * YAML database, a signature id defined twice across files, or a ruleset over the state bound.
 */
export function compileRuleset(sources: readonly DatabaseSource[], opts: CompileOptions = {}): Ruleset {
  const now = opts.now ?? (() => performance.now());
  const t0 = now();
  const vars = opts.vars ?? {};
  const maxLen = opts.maxPatternLength ?? 32;
  const maxStates = opts.maxTotalStates ?? 262_144;
  const maxProblems = opts.maxProblems ?? 50;

  const progress = opts.progress;
  const totalChars = sources.reduce((a, x) => a + x.text.length, 0);
  let parsedChars = 0;
  const parsed = sources.map((s) => {
    const p = parseSource(s, vars, progress ? (line, lines) => { progress(parsedChars + Math.floor((s.text.length * line) / Math.max(1, lines)), totalChars); } : undefined, opts.datasets?.dir, opts.outboundRules === true);
    parsedChars += s.text.length;
    progress?.(parsedChars, totalChars);
    return p;
  });
  const databases: DatabaseInfo[] = [];
  const skipped: Skip[] = [];
  let drafts: Draft[] = [];
  const detectors: DetectorSpec[] = [];
  const ids = new Map<number, string>();
  for (const p of parsed) {
    if (p.database) databases.push(p.database);
    skipped.push(...p.skipped);
    const yaml = p.database !== undefined;
    // A twin follows its rule and shares its fate (a duplicate sid drops both).
    let ruleKept = false;
    for (const d of p.drafts) {
      if (d.twin === true) {
        if (ruleKept) drafts.push(d);
        continue;
      }
      ruleKept = false;
      const prev = ids.get(d.sig.id);
      if (prev !== undefined) {
        if (yaml) throw new BulwarkError('BULWARK_ERR_DATABASE', `${where(d.sig)}: duplicate id ${d.sig.id} (also defined at ${prev})`, { details: { file: d.sig.source.file, line: d.sig.source.line } });
        skipped.push({ file: d.sig.source.file, line: d.sig.source.line, reason: 'duplicate sid', message: `${where(d.sig)}: sid ${d.sig.id} also defined at ${prev}` });
        continue;
      }
      ids.set(d.sig.id, where(d.sig));
      drafts.push(d);
      ruleKept = true;
    }
    for (const d of p.detectors) {
      const prev = ids.get(d.id);
      if (prev !== undefined) throw new BulwarkError('BULWARK_ERR_DATABASE', `${where(d)}: duplicate id ${d.id} (also defined at ${prev})`, { details: { file: d.source.file, line: d.source.line } });
      ids.set(d.id, where(d));
      detectors.push(d);
    }
  }

  // Datasets are declared in load order (the first rule naming a set with a type declares it).
  const dso = opts.datasets;
  const dsOpts: DatasetOptions = {
    memcap: dso?.memcap ?? DATASET_DEFAULTS.memcap,
    hashsize: dso?.hashsize ?? DATASET_DEFAULTS.hashsize,
    maxSets: dso?.maxSets ?? DATASET_DEFAULTS.maxSets,
  };
  if (dso?.read !== undefined) dsOpts.read = dso.read;
  if (dso?.sets !== undefined) dsOpts.sets = dso.sets;
  let ds: ReturnType<typeof resolveDatasets>;
  try {
    ds = resolveDatasets(drafts, dsOpts);
  } catch (e) {
    // only a configured set can fail the whole compile
    throw new BulwarkError('BULWARK_ERR_DATABASE', `datasets: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  drafts = ds.kept;
  skipped.push(...ds.skipped);
  // filemd5/filesha1/filesha256 lists, read with the dataset reader (same size bound)
  const fh = resolveFileHashLists(drafts, dso?.read !== undefined ? { read: dso.read } : {});
  drafts = fh.kept;
  skipped.push(...fh.skipped);

  const rules = drafts.filter((d) => d.twin !== true);
  if (opts.maxSignatures !== undefined && rules.length + detectors.length > opts.maxSignatures) {
    const d = rules[opts.maxSignatures] ?? rules.at(-1);
    throw new BulwarkError('BULWARK_ERR_LIMIT', `${d ? where(d.sig) : 'ruleset'}: more than ${opts.maxSignatures} signatures (databases.limits.rules)`, { details: d ? { file: d.sig.source.file, line: d.sig.source.line } : {} });
  }
  if (opts.maxContentLength !== undefined) {
    for (const d of drafts) {
      for (const c of d.sig.conditions) {
        if (c.kind === 'content' && c.bytes.length > opts.maxContentLength) {
          throw new BulwarkError('BULWARK_ERR_LIMIT', `${where(d.sig)}: content of ${c.bytes.length} bytes, over databases.limits.contentLength (${opts.maxContentLength})`, { details: { file: d.sig.source.file, line: d.sig.source.line } });
        }
      }
    }
  }

  // What `any` stands for: configured, else the union of every rule's explicit ports.
  let anyRanges: PortRange[];
  if (opts.anyPorts && opts.anyPorts.length > 0) anyRanges = normalizeRanges(opts.anyPorts.map((p) => ({ from: p, to: p })));
  else anyRanges = normalizeRanges(drafts.flatMap((d) => concretePorts(d.portSpec)));
  // Offline scans of rules that name no port: `any` is every port, as in Suricata (the daemon
  // never does this: it intercepts the ports it watches).
  if (anyRanges.length === 0 && opts.anyIsAllWhenUnnamed === true) anyRanges = [{ from: 1, to: 65535 }];

  const signatures: Signature[] = [];
  const keywords = { enforced: {} as Record<string, number>, ignored: {} as Record<string, number> };
  const allPorts: PortRange[] = [{ from: 1, to: 65535 }];
  const anyPortApp = new Set<Signature>();
  let twins = 0;
  for (const d of drafts) {
    // An app-layer rule with port `any` applies wherever its protocol is detected (Suricata):
    // every port, without adding ports to the intercepted set. So does a decode/stream-event
    // rule (always `any`): engine events are raised on any packet.
    // A header-only rule matches its own header ports on every packet (Signature.header): it is
    // evaluated outside the port groups and adds no port to the intercepted set.
    const everywhere = ((d.sig.app !== undefined || isPacketEventSig(d.sig)) && d.portSpec.any) || d.sig.headerOnly !== undefined;
    const ports = d.sig.headerOnly !== undefined ? allPorts : resolvePorts(d.portSpec, everywhere ? allPorts : anyRanges).filter((r) => r.to >= 1);
    if (ports.length === 0) {
      if (d.twin === true) continue;
      skipped.push({ file: d.sig.source.file, line: d.sig.source.line, reason: 'no ports left (any-port set empty or all excluded)', message: `${where(d.sig)}: no ports` });
      continue;
    }
    const sig: Signature = { ...d.sig, ports: ports.map((r) => ({ from: Math.max(1, r.from), to: r.to })), fastPatternIndex: d.sig.packetBuffers !== undefined ? -1 : chooseFastPattern(d.sig.conditions) };
    // (packet header rules run on every packet of their port group, payload or not: no fast pattern)
    if (sig.buffers !== undefined) {
      const fp = chooseAppFastPattern(sig.buffers);
      if (fp !== undefined) sig.appFastPattern = fp;
    }
    signatures.push(sig);
    if (everywhere) anyPortApp.add(sig);
    if (d.twin === true) twins++;
    else if (d.keywords) tallyKeywords(keywords, d.keywords);
  }
  // Deterministic order independent of file order.
  signatures.sort((a, b) => a.id - b.id);

  const groups: PortGroup[] = [];
  const toServer = new Int32Array(65536).fill(-1);
  const toClient = new Int32Array(65536).fill(-1);
  const budget = opts.groupStateBudget ?? 65_536;
  const statesOf = (members: readonly number[]): number =>
    countStates(
      members
        .filter((i) => signatures[i]!.fastPatternIndex >= 0)
        .map((i) => {
          const sg = signatures[i]!;
          const b = (sg.conditions[sg.fastPatternIndex] as ContentCondition).bytes;
          return { bytes: b.length > maxLen ? b.subarray(0, maxLen) : b };
        }),
    );
  const plan: { direction: Direction; sets: { ranges: PortRange[]; members: number[] }[] }[] = [];
  let totalStates = 0;
  for (const direction of ['to_server', 'to_client'] as const) {
    const idx: number[] = [];
    signatures.forEach((sg, i) => {
      // app signatures are inspected per transaction (ruleset.app), not on the raw stream
      // (a rule matching both directions is two signatures: itself and its to_client twin)
      if (sg.direction === direction && sg.app === undefined && !isPacketEventSig(sg) && sg.headerOnly === undefined) idx.push(i);
    });
    const sets = portSets(signatures, idx).sort((a, b) => a.ranges[0]!.from - b.ranges[0]!.from);
    plan.push({ direction, sets });
    for (const set of sets) totalStates += statesOf(set.members);
  }
  // Ports with different signature sets get their own automaton, so signatures on many ports
  // (any, $HTTP_PORTS) are copied into every group. Over the budget, each direction gets one
  // merged automaton instead; the engine re-checks Signature.ports on every candidate.
  let merged = false;
  if (totalStates > budget) {
    merged = true;
    totalStates = 0;
    for (const p of plan) {
      if (p.sets.length === 0) continue;
      const members = [...new Set(p.sets.flatMap((x) => x.members))].sort((a, b) => a - b);
      p.sets = [{ ranges: normalizeRanges(p.sets.flatMap((x) => x.ranges)), members }];
      totalStates += statesOf(members);
    }
  }
  if (totalStates > maxStates) {
    throw new BulwarkError('BULWARK_ERR_LIMIT', `ruleset needs ${totalStates} automaton states (limit ${maxStates}, 1 KiB each): too many distinct patterns; load fewer rules or lower maxPatternLength`);
  }
  for (const { direction, sets } of plan) {
    for (const set of sets) {
      const g = buildGroup(direction, set.ranges, set.members, signatures, maxLen);
      const gi = groups.length;
      groups.push(g);
      const table = direction === 'to_server' ? toServer : toClient;
      for (const r of set.ranges) table.fill(gi, r.from, r.to + 1);
    }
  }

  const { app, states: appStates } = buildAppRuleset(signatures, maxLen);
  totalStates += appStates;
  if (totalStates > maxStates) {
    throw new BulwarkError('BULWARK_ERR_LIMIT', `ruleset needs ${totalStates} automaton states with the app-layer prefilters (limit ${maxStates}, 1 KiB each): too many distinct patterns; load fewer rules or lower maxPatternLength`);
  }
  // The raw-stream patterns join the stream automata (one scan per byte) within the group budget
  // and the state limit; groups left out keep the app layer's own raw pass.
  if (app.rawStream) totalStates += mergeRawPatterns(groups, app.rawStream, Math.min(budget, maxStates - totalStates));

  const portSet = new Set<number>();
  for (const s of signatures) if (!anyPortApp.has(s)) for (const r of s.ports) for (let p = r.from; p <= r.to; p++) portSet.add(p);
  for (const d of detectors) if (d.kind === 'bruteforce') for (const r of d.ports) for (let p = r.from; p <= r.to; p++) portSet.add(p);
  const ports = [...portSet].sort((a, b) => a - b);

  const skippedCounts: Record<string, number> = {};
  for (const s of skipped) skippedCounts[s.reason] = (skippedCounts[s.reason] ?? 0) + 1;
  let memoryBytes = toServer.byteLength + toClient.byteLength;
  for (const g of groups) memoryBytes += dfaBytes(g.dfa) + g.patterns.length * 48 + (g.raw?.rawState.byteLength ?? 0);
  for (const g of app.prefilters) memoryBytes += dfaBytes(g.dfa) + g.patterns.length * 48;
  if (app.rawStream) for (const g of [app.rawStream.to_server, app.rawStream.to_client]) memoryBytes += dfaBytes(g.dfa) + g.patterns.length * 48;
  for (const s of signatures) memoryBytes += signatureBytes(s);

  const stats: CompileStats = {
    compileMs: 0,
    memoryBytes,
    loaded: signatures.length - twins,
    skipped: Object.fromEntries(Object.entries(skippedCounts).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))),
    states: totalStates,
    mergedGroups: merged,
    problems: skipped.slice(0, maxProblems).map((s) => ({ file: s.file, line: s.line, reason: s.reason, message: s.message })),
    keywords: { enforced: sortedCounts(keywords.enforced), ignored: sortedCounts(keywords.ignored) },
  };
  // A database split over several files names itself once: "bulwark-core 2026.11.21", not once per file.
  const version = databases.length > 0 ? [...new Set(databases.map((d) => `${d.name} ${d.version}`))].join(', ') : sources.length > 0 ? 'rules only' : 'empty';
  const events: EventRuleset = { decode: new Map(), stream: new Map() };
  signatures.forEach((s, i) => {
    const e = s.events?.[0];
    if (e === undefined) return;
    const m = events[e.kind] as Map<string, number[]>;
    let l = m.get(e.name);
    if (l === undefined) m.set(e.name, (l = []));
    l.push(i);
  });
  const ruleset: Ruleset = {
    databases,
    version,
    signatures,
    ports,
    groups,
    groupByPort: { toServer, toClient },
    detectors: detectors.sort((a, b) => a.id - b.id),
    stats,
    app,
    events,
  };
  if (ds.decls.length > 0) ruleset.datasets = ds.decls;
  stats.compileMs = Math.round((now() - t0) * 10) / 10;
  return ruleset;
}
