/**
 * The option part of a rule (src/signatures/rules.ts parses the header and decides what the
 * rule is from what this returns): each keyword applied in order to the rule being built, as
 * Suricata's parser does (content modifiers apply to the last content, sticky buffers and
 * transforms select the list later matches go to, base64_data switches to decoded bytes).
 */
import type { AppKeywordMatch, Condition, ContentCondition, FlowbitOp, PcreCondition, Signature, Transform } from './types.js';
import { decodeContent } from './content.js';
import { compilePcreSpec, parsePcre, parsePcreCaptures, PcreUnsupported, splitPcreCaptures } from './pcre.js';
import { APP_PROTOCOLS, appProtocolForRule, findAppBuffer, findAppKeyword } from '../engine/app-layer/registry.js';
import type { AppDirection } from '../engine/app-layer/types.js';
import { isTransformKeyword, parseTransform, transformKey } from './transforms.js';
import {
  Unsupported,
  parseByteJump,
  parseByteTest,
  parseDsize,
  parseFlags,
  parseFlowbits,
  parseInteger,
  parseIsDataAt,
  parseRateFilter,
  parseUintMatch,
} from './options.js';
import { RuleVars, parseByteExtract, parseByteMath, withByteJumpVars, withByteTestVars, withIsDataAtVars } from './keywords/bytes.js';
import { parseBase64Decode } from './keywords/base64.js';
import { parseFlowint, type FlowintSpec } from './keywords/flowint.js';
import { parseXbits, type XbitSpec } from './keywords/xbits.js';
import { parseStreamSize, type StreamSizeSpec } from './keywords/stream-size.js';
import { parseMetadata, parseReference } from './keywords/reference.js';
import { parseFlowKeyword } from './keywords/flow.js';
import { CSUM_KEYWORDS, parseCsum, type CsumSpec } from './keywords/csum.js';
import { isPacketProtocol, parseEventKeyword, type EventMatch } from './keywords/events.js';
import { parseDataset } from './keywords/dataset.js';
import { resolveFrame } from './keywords/frame.js';
import { parseEventName, RuleError, unquote } from './rule-text.js';
import { dirname } from 'node:path';
import type { ListDraft, OptionsStart, ParsedOptions } from './parsed.js';

/**
 * Option keywords parsed and ignored: `tag` (it asks Suricata to log the packets that follow an
 * alert) and `prefilter` (it makes Suricata use the rule's non-content keyword as the
 * prefilter; performance only); neither changes what matches. `rawbytes` is a no-op on the raw stream
 * bulwark inspects (Suricata 7 ignores it too) and counts as enforced.
 */
export const IGNORED_KEYWORDS: ReadonlySet<string> = new Set(['tag', 'prefilter']);

/** The pseudo-protocol of packet header buffers (no app layer involved). */
export const PACKET_PROTOCOL = 'packet';
/**
 * The pseudo-protocol of the address buffers `ip.src` / `ip.dst` (Suricata 8): loaded in app-layer
 * rules, whose verification gives them the address of the tx direction's sender / receiver.
 */
export const ADDR_PROTOCOL = 'ip';
/**
 * Packet header sticky buffers (Suricata detect-ipv4hdr.c, detect-ipv6hdr.c, detect-tcphdr.c):
 * the header bytes with options (IPv6: the 40-byte fixed header). Other protocols' headers
 * (udp.hdr, icmpv4.hdr…) are parsed here and skipped: bulwark inspects TCP only.
 */
const PACKET_HEADER_BUFFERS: ReadonlySet<string> = new Set(['ipv4.hdr', 'ipv6.hdr', 'tcp.hdr', 'udp.hdr', 'icmpv4.hdr', 'icmpv6.hdr']);

/**
 * Legacy content modifiers (Suricata detect-http-*.c: keywords that move the preceding content
 * into a buffer). Every other HTTP buffer name, legacy or dotted, is a sticky buffer.
 */
const CONTENT_MODIFIERS = new Set([
  'http_uri', 'http_raw_uri', 'http_header', 'http_raw_header', 'http_cookie', 'http_method', 'http_client_body',
  'http_server_body', 'http_stat_code', 'http_stat_msg', 'http_user_agent', 'http_host', 'http_raw_host',
]);

/**
 * Buffers Suricata (6+) registers on one inspection buffer: `http.response_body` and
 * `http_server_body` are the `file_data` buffer, so a rule's matches on them form one list.
 */
const SAME_BUFFER: Readonly<Record<string, string>> = { 'http.response_body': 'file.data' };



/** The rule being built: what the header decided, then each option's effect, in order. */
class RuleOptions implements ParsedOptions {
  stream: 'only' | 'no' | undefined;
  /** App protocol the rule needs (header protocol, or the protocol of its buffers/keywords). */
  app: string | undefined;
  readonly ruleProtocol: string;
  readonly txRule: boolean;
  readonly file: string;
  readonly datasetDir: string | undefined;
  readonly conditions: Condition[] = [];
  readonly lists: ListDraft[] = [];
  readonly appKeywords: AppKeywordMatch[] = [];
  readonly appEvents: string[] = [];
  readonly flowbits: FlowbitOp[] = [];
  readonly references: string[] = [];
  readonly eveReferences: string[] = [];
  readonly metadata: [string, string][] = [];
  msg = '';
  sid: number | undefined = undefined;
  gid = 1;
  rev = 1;
  classtype = '';
  priority: number | undefined = undefined;
  metaSeverity: string | undefined = undefined;
  dir: 'to_server' | 'to_client' | undefined = undefined;
  established: boolean | undefined = undefined;
  /** A `flow` keyword was written (a header-only rule with one is never IP-only when it names a direction). */
  flowDirWritten = false;
  dsize: Signature['dsize'] = undefined;
  flags: Signature['flags'] = undefined;
  readonly csum: CsumSpec[] = [];
  rateFilter: Signature['rateFilter'] = undefined;
  appLayerProtocol: Signature['appLayerProtocol'] = undefined;
  lastContent: ContentCondition | undefined = undefined;
  readonly vars = new RuleVars();
  readonly flowints: FlowintSpec[] = [];
  readonly xbits: XbitSpec[] = [];
  readonly streamSize: StreamSizeSpec[] = [];
  readonly events: EventMatch[] = [];
  targetSide: 'src_ip' | 'dest_ip' | undefined = undefined;
  /** The list of the last base64_decode (base64_data continues in it). */
  b64List: Condition[] | null = null;
  /**
   * After base64_data: the list its decoded bytes are inspected in (that of the base64_decode,
   * whatever buffer is active, as Suricata's DETECT_SM_LIST_BASE64_DATA), until another sticky
   * buffer or pkt_data.
   */
  b64Active: Condition[] | null = null;
  /** The list the last content/pcre went to (relative keywords without a sticky buffer follow it, as in Suricata). */
  lastMatchList: Condition[];
  /** The active sticky buffer (null: the raw payload/stream). */
  sticky: ListDraft | null = null;
  /** `frame:` type (the rule inspects frames of protocol `app`). */
  frameType: string | undefined = undefined;

  constructor(start: OptionsStart) {
    this.stream = start.stream;
    this.app = start.app;
    this.ruleProtocol = start.ruleProtocol;
    this.txRule = start.txRule;
    this.file = start.file;
    this.datasetDir = start.datasetDir;
    this.lastMatchList = this.conditions;
  }

  needApp(protocol: string, what: string): void {
    if (this.app === undefined) this.app = protocol;
    else if (this.app !== protocol) {
      // A protocol whose flows carry another one takes its keywords (Suricata: dcerpc keywords
      // in `alert smb` rules); the rule stays with the carrying protocol.
      if (APP_PROTOCOLS.find((p) => p.name === this.app)?.ruleProtocols.includes(protocol) === true) return;
      if (APP_PROTOCOLS.find((p) => p.name === protocol)?.ruleProtocols.includes(this.app) === true) {
        this.app = protocol;
        return;
      }
      throw new RuleError(`${what} is a ${protocol} keyword in a ${this.app} rule`);
    }
  }
  listFor(b: { protocol: string; buffer: string; multi: boolean; lowercaseOnly: boolean; directions: readonly AppDirection[] }, transforms: Transform[]): ListDraft {
    const key = transformKey(transforms);
    const txDir = (b as { txDir?: AppDirection }).txDir;
    let l = this.lists.find((x) => x.buffer === b.buffer && transformKey(x.transforms) === key && x.txDir === txDir);
    if (l === undefined) {
      l = { ...b, transforms, conditions: [] };
      this.lists.push(l);
    }
    return l;
  }
  /** Where a content/pcre/byte keyword goes: the sticky buffer's list, else the payload. */
  target(): Condition[] {
    if (this.b64Active !== null) return this.b64Active;
    if (this.sticky === null) return this.conditions;
    // the sticky draft becomes (or joins) the list of the same buffer and transforms
    const l = this.listFor(this.sticky, this.sticky.transforms);
    this.sticky = l;
    return l.conditions;
  }
  relTarget(relative: boolean): Condition[] {
    return (this.sticky === null || this.b64Active !== null) && relative ? this.lastMatchList : this.target();
  }
  // Suricata applies a content modifier to the last content of the rule (DetectGetLastSMFromLists),
  // even when other keywords came in between.
  needContent(kw: string): ContentCondition {
    if (!this.lastContent) throw new RuleError(`${kw} without a preceding content`);
    return this.lastContent;
  }
  bufferDraft(name: string): ListDraft {
    const f = findAppBuffer(name, this.app);
    if (f === undefined) throw new Error(`no buffer ${name}`);
    this.needApp(f.protocol.name, name);
    return {
      protocol: f.protocol.name, buffer: SAME_BUFFER[f.spec.name] ?? f.spec.name, multi: f.spec.multi, lowercaseOnly: f.spec.lowercaseOnly,
      directions: f.spec.directions, transforms: [], conditions: [],
    };
  }
  addContent(value: string | undefined, into: Condition[]): void {
    if (value === undefined) throw new RuleError('content needs a value');
    const { text, negated } = unquote(value, 'content');
    const c: ContentCondition = {
      kind: 'content',
      bytes: decodeContent(text, true),
      nocase: false,
      negated,
      startswith: false,
      endswith: false,
      fastPattern: false,
    };
    into.push(c);
    this.lastContent = c;
    this.lastMatchList = into;
  }
}

function num(kw: string, v: string | undefined, min: number, max: number): number {
  if (v === undefined) throw new RuleError(`${kw} needs a value`);
  return parseInteger(v, kw, min, max);
}

type OptionHandler = (s: RuleOptions, value: string | undefined, name: string) => void;

/** The same handler under several keyword names. */
function each(names: readonly string[], h: OptionHandler): [string, OptionHandler][] {
  return names.map((n) => [n, h]);
}

/**
 * The option keywords with a fixed name, each applied to the rule being built (Suricata's
 * semantics: see docs/signatures.md). Others (content modifiers, transforms, sticky buffers, app
 * keywords, ignored keywords) are resolved by name in otherOption.
 */
const OPTION_HANDLERS: ReadonlyMap<string, OptionHandler> = new Map<string, OptionHandler>([
  ['msg', (s, value) => {
    s.msg = value === undefined ? '' : unquote(value, 'msg').text.replace(/\\(.)/g, '$1');
  }],
  ['sid', (s, value) => {
    s.sid = num('sid', value, 1, 2 ** 32 - 1);
  }],
  ['rev', (s, value) => {
    s.rev = num('rev', value, 0, 2 ** 32 - 1);
  }],
  ['gid', (s, value) => {
    s.gid = num('gid', value, 0, 2 ** 32 - 1);
  }],
  ['classtype', (s, value) => {
    s.classtype = (value ?? '').trim();
  }],
  ['priority', (s, value) => {
    s.priority = num('priority', value, 1, 255);
  }],
  ['metadata', (s, value) => {
    for (const [k, v] of parseMetadata(value)) {
      s.metadata.push([k, v]);
      if (k === 'signature_severity') s.metaSeverity = v;
    }
  }],
  ['reference', (s, value) => {
    const r = parseReference(value);
    s.references.push(r.reference);
    if (r.eve !== undefined) s.eveReferences.push(r.eve);
  }],
  ['flow', (s, value) => {
    const f = parseFlowKeyword(value);
    if (f.dir !== undefined) {
      s.dir = f.dir;
      s.flowDirWritten = true;
    }
    if (f.established !== undefined) s.established = f.established;
    if (f.stream !== undefined) s.stream = f.stream;
  }],
  ['content', (s, value) => {
    s.addContent(value, s.target());
  }],
  ['uricontent', (s, value) => {
    // Suricata: content in http.uri (no transforms), whatever sticky buffer is active
    if (s.sticky !== null) throw new RuleError('uricontent after a sticky buffer');
    s.addContent(value, s.listFor(s.bufferDraft('http.uri'), []).conditions);
  }],
  ['nocase', (s) => {
    s.needContent('nocase').nocase = true;
  }],
  ...each(['depth', 'offset', 'distance', 'within'], (s, value, kw) => {
    const name = kw as 'depth' | 'offset' | 'distance' | 'within';
    const c = s.needContent(name);
    if (c[name] !== undefined || c.vars?.[name] !== undefined) throw new RuleError(`${name} given twice for one content`);
    const varName = (value ?? '').trim();
    if (/^[A-Za-z_]/.test(varName)) {
      // A byte_extract/byte_math variable (Suricata): resolved per verify.
      const slot = s.vars.lookup(varName);
      if (slot === undefined) throw new RuleError(`${name}: unknown variable "${varName}"`);
      (c.vars ??= {})[name] = slot;
    } else {
      const v = num(name, value, name === 'distance' ? -65535 : 0, 65535);
      if ((name === 'depth' || name === 'within') && v < c.bytes.length) throw new RuleError(`${name} ${v} is shorter than the content (${c.bytes.length} bytes)`);
      c[name] = v;
    }
    const absolute = c.offset !== undefined || c.depth !== undefined || c.vars?.offset !== undefined || c.vars?.depth !== undefined;
    const relative = c.distance !== undefined || c.within !== undefined || c.vars?.distance !== undefined || c.vars?.within !== undefined;
    if (absolute && relative) {
      throw new RuleError('content mixes absolute (offset/depth) and relative (distance/within) modifiers');
    }
  }),
  ['startswith', (s) => {
    s.needContent('startswith').startswith = true;
  }],
  ['endswith', (s) => {
    s.needContent('endswith').endswith = true;
  }],
  ['fast_pattern', (s, value) => {
    const c = s.needContent('fast_pattern');
    const v = value?.trim();
    if (c.negated && v !== undefined && v !== 'only') throw new RuleError('fast_pattern on a negated content');
    if (v !== undefined && v !== 'only') {
      const m = /^(\d+)\s*,\s*(\d+)$/.exec(v);
      if (!m) throw new RuleError(`fast_pattern: expected "only" or offset,length, got "${v}"`);
      const o = Number(m[1]);
      const l = Number(m[2]);
      if (l === 0 || o + l > c.bytes.length) throw new RuleError(`fast_pattern:${o},${l} outside the content (${c.bytes.length} bytes)`);
      c.fastPatternPart = { offset: o, length: l };
    }
    c.fastPattern = true;
  }],
  ['pcre', (s, value) => {
    if (value === undefined) throw new RuleError('pcre needs a value');
    const { text, negated } = unquote(value, 'pcre', true);
    const cut = splitPcreCaptures(text);
    const p = parsePcre(cut.spec.replace(/\\([";])/g, '$1'));
    const t = compilePcreSpec(p, cut.names !== '');
    const captures = parsePcreCaptures(p.pattern, cut.names, t.regex.captureCount);
    let into: Condition[];
    if (p.buffer !== undefined) {
      const flag = p.buffer;
      const spec = APP_PROTOCOLS.flatMap((ap) => ap.buffers).find((b) => b.pcreFlag === flag);
      if (spec === undefined) throw new PcreUnsupported(`pcre: buffer modifier /${flag}`);
      if (s.sticky !== null) {
        // Suricata: allowed when the flag names the active sticky buffer, refused otherwise
        if (s.sticky.buffer !== spec.name) throw new RuleError(`pcre buffer modifier /${flag} with another sticky buffer active`);
        into = s.target();
      } else into = s.listFor(s.bufferDraft(spec.name), []).conditions;
    } else into = s.relTarget(t.relative);
    const pc: PcreCondition = { kind: 'pcre', regex: t.regex, source: text, negated, relative: t.relative, overrideLimits: t.overrideLimits };
    if (captures.length > 0) pc.captures = captures;
    into.push(pc);
    s.lastMatchList = into;
  }],
  ['isdataat', (s, value) => {
    const c = withIsDataAtVars(value ?? '', s.vars, parseIsDataAt);
    s.relTarget(c.relative).push(c);
  }],
  ['byte_test', (s, value) => {
    const c = withByteTestVars(value ?? '', s.vars, parseByteTest);
    // Suricata: `dce` makes the rule a dcerpc rule (DetectSignatureSetAppProto ALPROTO_DCERPC).
    if (c.dce === true) s.needApp('dcerpc', 'byte_test dce');
    s.relTarget(c.relative).push(c);
  }],
  ['byte_jump', (s, value) => {
    const c = withByteJumpVars(value ?? '', s.vars, parseByteJump);
    if (c.dce === true) s.needApp('dcerpc', 'byte_jump dce');
    s.relTarget(c.relative).push(c);
  }],
  ['byte_extract', (s, value) => {
    const c = parseByteExtract(value ?? '', s.vars);
    s.relTarget(c.relative).push(c);
  }],
  ['byte_math', (s, value) => {
    const c = parseByteMath(value ?? '', s.vars);
    s.relTarget(c.relative).push(c);
  }],
  ['base64_decode', (s, value) => {
    const c = parseBase64Decode(value);
    s.relTarget(c.relative).push(c);
    s.b64List = s.relTarget(c.relative);
  }],
  ['base64_data', (s, value) => {
    // Suricata refuses base64_data without a base64_decode before it; the decoded bytes
    // belong to the list of that base64_decode.
    if (s.b64List === null) throw new RuleError('base64_data without a preceding base64_decode');
    if (value !== undefined) throw new RuleError('base64_data takes no value');
    s.b64List.push({ kind: 'base64_data' });
    s.b64Active = s.b64List;
    s.lastMatchList = s.b64List;
  }],
  ['flowint', (s, value) => {
    s.flowints.push(parseFlowint(value ?? ''));
  }],
  ['xbits', (s, value) => {
    s.xbits.push(parseXbits(value ?? ''));
  }],
  ['stream_size', (s, value) => {
    s.streamSize.push(parseStreamSize(value ?? ''));
  }],
  ['target', (s, value) => {
    const t = (value ?? '').trim();
    if (t !== 'src_ip' && t !== 'dest_ip') throw new RuleError(`target: expected src_ip or dest_ip, got "${t}"`);
    s.targetSide = t;
  }],
  ['rawbytes', (s) => {
    // Content modifier: the raw stream is what bulwark inspects (a no-op, as in Suricata 7).
    s.needContent('rawbytes');
  }],
  ['pkt_data', (s) => {
    s.sticky = null;
    s.b64Active = null;
  }],
  ['frame', (s, value) => {
    // Suricata: frames exist for TCP/UDP app-layer streams only.
    if (s.stream === 'no' || isPacketProtocol(s.ruleProtocol)) throw new RuleError("'frame' keyword only supported for TCP and UDP");
    const fr = resolveFrame(value, s.app);
    if (s.frameType !== undefined && s.frameType !== fr.type) throw new Unsupported('two frame types in one rule');
    s.needApp(fr.protocol, 'frame');
    s.frameType = fr.type;
    s.sticky = { protocol: fr.protocol, buffer: `frame:${fr.type}`, multi: false, lowercaseOnly: false, directions: ['to_server', 'to_client'], transforms: [], conditions: [] };
    s.b64Active = null;
  }],
  ['bsize', (s, value) => {
    if (s.sticky === null) throw new RuleError('bsize without a sticky buffer');
    const l = s.listFor(s.sticky, s.sticky.transforms);
    s.sticky = l;
    if (l.bsize !== undefined) throw new RuleError('bsize given twice for one buffer');
    l.bsize = parseUintMatch(value ?? '', 'bsize', 2 ** 32 - 1);
  }],
  ['dataset', (s, value) => {
    // Suricata: "datasets are only supported for sticky buffers"; the keyword tests the
    // whole buffer with the transforms before it.
    if (s.sticky === null) throw new RuleError('dataset without a sticky buffer');
    const spec = parseDataset(value ?? '', { rulesDir: dirname(s.file), dataDir: s.datasetDir });
    const l = s.listFor(s.sticky, s.sticky.transforms);
    s.sticky = l;
    (l.datasets ??= []).push(spec);
  }],
  ['absent', (s, value) => {
    // Suricata 8 (detect-isdataat.c DetectAbsentSetup): on the active sticky buffer,
    // no value (the buffer must not exist) or `or_else` (absent, or what follows holds).
    if (s.sticky === null) throw new RuleError('absent without a sticky buffer');
    const v = value?.trim();
    if (v !== undefined && v !== 'or_else') throw new RuleError(`absent: unexpected value "${v.slice(0, 40)}" (only or_else)`);
    const l = s.listFor(s.sticky, s.sticky.transforms);
    s.sticky = l;
    if (l.absent !== undefined) throw new RuleError('absent given twice for one buffer');
    l.absent = v === undefined ? 'only' : 'or_else';
  }],
  ...each(['decode-event', 'stream-event'], (s, value, name) => {
    // Per-packet engine events (keywords/events.ts): evaluated on every packet, alone in their rule.
    s.events.push(parseEventKeyword(name as 'decode-event' | 'stream-event', value));
  }),
  ['app-layer-event', (s, value, name) => {
    const ev = parseEventName(name, value);
    const dot = ev.indexOf('.');
    const proto = dot < 0 ? undefined : APP_PROTOCOLS.find((p) => p.name === ev.slice(0, dot));
    if (proto?.events?.includes(ev.slice(dot + 1)) !== true) throw new Unsupported(`unsupported event ${ev}`);
    s.needApp(proto.name, name);
    s.appEvents.push(ev);
  }],
  ['app-layer-protocol', (s, value) => {
    const v = (value ?? '').trim();
    const negated = v.startsWith('!');
    const parts = (negated ? v.slice(1) : v).split(',').map((x) => x.trim());
    if (parts.length > 1) throw new Unsupported(`app-layer-protocol mode ${parts[1]!}`);
    const n = parts[0]!;
    if (n === '') throw new RuleError('app-layer-protocol needs a protocol');
    if (n !== 'failed' && n !== 'unknown' && appProtocolForRule(n) === undefined) throw new Unsupported(`app-layer-protocol ${n}`);
    if (s.appLayerProtocol !== undefined) throw new Unsupported('app-layer-protocol given twice');
    s.appLayerProtocol = { names: [n === 'failed' || n === 'unknown' ? n : appProtocolForRule(n)!.name], negated };
  }],
  ['dsize', (s, value) => {
    s.dsize = parseDsize(value ?? '');
    return;
      // Suricata 8 names the keyword tcp.flags, `flags` staying its alias.
  }],
  ...each(['flags', 'tcp.flags'], (s, value) => {
    s.flags = parseFlags(value ?? '');
  }),
  ...each(['ipv4-csum', 'tcpv4-csum', 'tcpv6-csum'], (s, value, name) => {
    s.csum.push(parseCsum(name, CSUM_KEYWORDS.get(name)!, value));
  }),
  ...each(['udpv4-csum', 'udpv6-csum', 'icmpv4-csum', 'icmpv6-csum'], (s, value, name) => {
    throw new Unsupported(`${name}: bulwark inspects TCP only`);
  }),
  ['flowbits', (s, value) => {
    s.flowbits.push(parseFlowbits(value ?? ''));
  }],
  ['noalert', (s) => {
    // Suricata's standalone `noalert;` = `flowbits:noalert;` (suricata-update writes it for
    // rules it enables only to set a flowbit another rule checks).
    s.flowbits.push({ op: 'noalert', names: [], mode: 'all' });
  }],
  ...each(['threshold', 'detection_filter'], (s, value, name) => {
    if (s.rateFilter) throw new RuleError('more than one threshold/detection_filter');
    s.rateFilter = parseRateFilter(value ?? '', name as 'threshold' | 'detection_filter');
  }),
]);

/** A keyword without a fixed handler: content modifier, transform, sticky buffer, app keyword, or ignored. */
function otherOption(s: RuleOptions, name: string, value: string | undefined): void {
  if (CONTENT_MODIFIERS.has(name)) {
    // `content:"x"; http_uri;` moves the preceding content (with its modifiers) into the buffer
    const c = s.needContent(name);
    if (value !== undefined) throw new RuleError(`${name} takes no value`);
    if (s.sticky !== null || !s.conditions.includes(c)) throw new RuleError(`${name} on a content that is already in a buffer`);
    const idx = s.conditions.lastIndexOf(c);
    s.conditions.splice(idx, 1);
    const l = s.listFor(s.bufferDraft(name), []);
    l.conditions.push(c);
    s.lastMatchList = l.conditions;
    return;
  }
  if (isTransformKeyword(name)) {
    if (s.sticky === null) throw new RuleError(`transform ${name} without a sticky buffer`);
    const t = parseTransform(name, value);
    // Suricata collects transforms until the next match uses them (DetectBufferGetActiveList):
    // a fresh draft (not yet a list) extends its chain; after matches, a new chain starts on
    // the base buffer and the next matches go to that buffer+chain's list.
    const base = s.sticky;
    const chain = s.lists.includes(base) ? [t] : [...base.transforms, t];
    s.sticky = { protocol: base.protocol, buffer: base.buffer, multi: base.multi, lowercaseOnly: base.lowercaseOnly, directions: base.directions, transforms: chain, conditions: [] };
    if (base.txDir !== undefined) s.sticky.txDir = base.txDir;
    s.b64Active = null;
    return;
  }
  if (name === 'ip.src' || name === 'ip.dst') {
    // Suricata 8 sticky buffers: the packet's source/destination address bytes (4 or 16)
    if (value !== undefined) throw new RuleError(`${name} takes no value`);
    s.sticky = { protocol: ADDR_PROTOCOL, buffer: name, multi: false, lowercaseOnly: false, directions: ['to_server', 'to_client'], transforms: [], conditions: [] };
    s.b64Active = null;
    return;
  }
  if (PACKET_HEADER_BUFFERS.has(name)) {
    if (value !== undefined) throw new RuleError(`${name} takes no value`);
    s.sticky = { protocol: PACKET_PROTOCOL, buffer: name, multi: false, lowercaseOnly: false, directions: ['to_server', 'to_client'], transforms: [], conditions: [] };
    s.b64Active = null;
    return;
  }
  if (findAppBuffer(name) !== undefined) {
    const v = value?.trim();
    s.sticky = s.bufferDraft(name);
    if (v === 'to_client' || v === 'to_server') {
      // Suricata 8: the direction of a buffer both directions have, in a `=>` rule
      if (!s.txRule) throw new Unsupported('buffer direction outside a transactional rule (=>)');
      if (!s.sticky.directions.includes(v)) throw new RuleError(`${name} does not exist in ${v}`);
      s.sticky.txDir = v;
    } else if (value !== undefined) throw new RuleError(`${name} takes no value`);
    s.b64Active = null;
    return;
  }
  const kw = findAppKeyword(name);
  if (kw !== undefined) {
    s.needApp(kw.protocol.name, name);
    let parsed: unknown;
    try {
      parsed = kw.spec.parse(value ?? null);
    } catch (e) {
      throw new RuleError(e instanceof Error ? e.message : String(e));
    }
    s.appKeywords.push({ protocol: kw.protocol.name, name: kw.spec.name, value: parsed });
    return;
  }
  if (!IGNORED_KEYWORDS.has(name)) throw new Unsupported(`unsupported keyword ${name}`);
  if (name === 'prefilter' && value !== undefined) throw new RuleError('prefilter takes no value');
}

/** Applies the options in order (Suricata's keyword semantics); throws RuleError / Unsupported. */
export function parseOptions(options: readonly { name: string; value: string | undefined }[], start: OptionsStart): ParsedOptions {
  const s = new RuleOptions(start);
  for (const { name, value } of options) {
    const h = OPTION_HANDLERS.get(name);
    if (h !== undefined) h(s, value, name);
    else otherOption(s, name, value);
  }
  return s;
}
