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



/** Applies the options in order (Suricata's keyword semantics); throws RuleError / Unsupported. */
export function parseOptions(options: readonly { name: string; value: string | undefined }[], start: OptionsStart): ParsedOptions {
  let stream = start.stream;
  /** App protocol the rule needs (header protocol, or the protocol of its buffers/keywords). */
  let app = start.app;
  const { ruleProtocol, txRule, file } = start;
  const opts = { datasetDir: start.datasetDir };
  const conditions: Condition[] = [];
  const lists: ListDraft[] = [];
  const appKeywords: AppKeywordMatch[] = [];
  const appEvents: string[] = [];
  const flowbits: FlowbitOp[] = [];
  const references: string[] = [];
  const eveReferences: string[] = [];
  const metadata: [string, string][] = [];
  let msg = '';
  let sid: number | undefined;
  let gid = 1;
  let rev = 1;
  let classtype = '';
  let priority: number | undefined;
  let metaSeverity: string | undefined;
  let dir: 'to_server' | 'to_client' | undefined;
  let established: boolean | undefined;
  /** A `flow` keyword was written (a header-only rule with one is never IP-only when it names a direction). */
  let flowDirWritten = false;
  let dsize: Signature['dsize'];
  let flags: Signature['flags'];
  const csum: CsumSpec[] = [];
  let rateFilter: Signature['rateFilter'];
  let appLayerProtocol: Signature['appLayerProtocol'];
  let lastContent: ContentCondition | undefined;
  const vars = new RuleVars();
  const flowints: FlowintSpec[] = [];
  const xbits: XbitSpec[] = [];
  const streamSize: StreamSizeSpec[] = [];
  const events: EventMatch[] = [];
  let targetSide: 'src_ip' | 'dest_ip' | undefined;
  /** The list of the last base64_decode (base64_data continues in it). */
  let b64List: Condition[] | null = null;
  /**
   * After base64_data: the list its decoded bytes are inspected in (that of the base64_decode,
   * whatever buffer is active, as Suricata's DETECT_SM_LIST_BASE64_DATA), until another sticky
   * buffer or pkt_data.
   */
  let b64Active: Condition[] | null = null;
  /** The list the last content/pcre went to (relative keywords without a sticky buffer follow it, as in Suricata). */
  let lastMatchList: Condition[] = conditions;
  /** The active sticky buffer (null: the raw payload/stream). */
  let sticky = null as ListDraft | null;
  /** `frame:` type (the rule inspects frames of protocol `app`). */
  let frameType: string | undefined;

  const needApp = (protocol: string, what: string): void => {
    if (app === undefined) app = protocol;
    else if (app !== protocol) {
      // A protocol whose flows carry another one takes its keywords (Suricata: dcerpc keywords
      // in `alert smb` rules); the rule stays with the carrying protocol.
      if (APP_PROTOCOLS.find((p) => p.name === app)?.ruleProtocols.includes(protocol) === true) return;
      if (APP_PROTOCOLS.find((p) => p.name === protocol)?.ruleProtocols.includes(app) === true) {
        app = protocol;
        return;
      }
      throw new RuleError(`${what} is a ${protocol} keyword in a ${app} rule`);
    }
  };
  const listFor = (b: { protocol: string; buffer: string; multi: boolean; lowercaseOnly: boolean; directions: readonly AppDirection[] }, transforms: Transform[]): ListDraft => {
    const key = transformKey(transforms);
    const txDir = (b as { txDir?: AppDirection }).txDir;
    let l = lists.find((x) => x.buffer === b.buffer && transformKey(x.transforms) === key && x.txDir === txDir);
    if (l === undefined) {
      l = { ...b, transforms, conditions: [] };
      lists.push(l);
    }
    return l;
  };
  /** Where a content/pcre/byte keyword goes: the sticky buffer's list, else the payload. */
  const target = (): Condition[] => {
    if (b64Active !== null) return b64Active;
    if (sticky === null) return conditions;
    // the sticky draft becomes (or joins) the list of the same buffer and transforms
    const l = listFor(sticky, sticky.transforms);
    sticky = l;
    return l.conditions;
  };
  const relTarget = (relative: boolean): Condition[] => ((sticky === null || b64Active !== null) && relative ? lastMatchList : target());
  // Suricata applies a content modifier to the last content of the rule (DetectGetLastSMFromLists),
  // even when other keywords came in between.
  const needContent = (kw: string): ContentCondition => {
    if (!lastContent) throw new RuleError(`${kw} without a preceding content`);
    return lastContent;
  };
  const num = (kw: string, v: string | undefined, min: number, max: number): number => {
    if (v === undefined) throw new RuleError(`${kw} needs a value`);
    return parseInteger(v, kw, min, max);
  };
  const bufferDraft = (name: string): ListDraft => {
    const f = findAppBuffer(name, app);
    if (f === undefined) throw new Error(`no buffer ${name}`);
    needApp(f.protocol.name, name);
    return {
      protocol: f.protocol.name, buffer: SAME_BUFFER[f.spec.name] ?? f.spec.name, multi: f.spec.multi, lowercaseOnly: f.spec.lowercaseOnly,
      directions: f.spec.directions, transforms: [], conditions: [],
    };
  };
  const addContent = (value: string | undefined, into: Condition[]): void => {
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
    lastContent = c;
    lastMatchList = into;
  };

  for (const { name, value } of options) {
    switch (name) {
      case 'msg':
        msg = value === undefined ? '' : unquote(value, 'msg').text.replace(/\\(.)/g, '$1');
        break;
      case 'sid':
        sid = num('sid', value, 1, 2 ** 32 - 1);
        break;
      case 'rev':
        rev = num('rev', value, 0, 2 ** 32 - 1);
        break;
      case 'gid':
        gid = num('gid', value, 0, 2 ** 32 - 1);
        break;
      case 'classtype':
        classtype = (value ?? '').trim();
        break;
      case 'priority':
        priority = num('priority', value, 1, 255);
        break;
      case 'metadata':
        for (const [k, v] of parseMetadata(value)) {
          metadata.push([k, v]);
          if (k === 'signature_severity') metaSeverity = v;
        }
        break;
      case 'reference': {
        const r = parseReference(value);
        references.push(r.reference);
        if (r.eve !== undefined) eveReferences.push(r.eve);
        break;
      }
      case 'flow': {
        const f = parseFlowKeyword(value);
        if (f.dir !== undefined) {
          dir = f.dir;
          flowDirWritten = true;
        }
        if (f.established !== undefined) established = f.established;
        if (f.stream !== undefined) stream = f.stream;
        break;
      }
      case 'content':
        addContent(value, target());
        break;
      case 'uricontent': {
        // Suricata: content in http.uri (no transforms), whatever sticky buffer is active
        if (sticky !== null) throw new RuleError('uricontent after a sticky buffer');
        addContent(value, listFor(bufferDraft('http.uri'), []).conditions);
        break;
      }
      case 'nocase':
        needContent('nocase').nocase = true;
        break;
      case 'depth':
      case 'offset':
      case 'distance':
      case 'within': {
        const c = needContent(name);
        if (c[name] !== undefined || c.vars?.[name] !== undefined) throw new RuleError(`${name} given twice for one content`);
        const varName = (value ?? '').trim();
        if (/^[A-Za-z_]/.test(varName)) {
          // A byte_extract/byte_math variable (Suricata): resolved per verify.
          const slot = vars.lookup(varName);
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
        break;
      }
      case 'startswith':
        needContent('startswith').startswith = true;
        break;
      case 'endswith':
        needContent('endswith').endswith = true;
        break;
      case 'fast_pattern': {
        const c = needContent('fast_pattern');
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
        break;
      }
      case 'pcre': {
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
          if (sticky !== null) {
            // Suricata: allowed when the flag names the active sticky buffer, refused otherwise
            if (sticky.buffer !== spec.name) throw new RuleError(`pcre buffer modifier /${flag} with another sticky buffer active`);
            into = target();
          } else into = listFor(bufferDraft(spec.name), []).conditions;
        } else into = relTarget(t.relative);
        const pc: PcreCondition = { kind: 'pcre', regex: t.regex, source: text, negated, relative: t.relative, overrideLimits: t.overrideLimits };
        if (captures.length > 0) pc.captures = captures;
        into.push(pc);
        lastMatchList = into;
        break;
      }
      case 'isdataat': {
        const c = withIsDataAtVars(value ?? '', vars, parseIsDataAt);
        relTarget(c.relative).push(c);
        break;
      }
      case 'byte_test': {
        const c = withByteTestVars(value ?? '', vars, parseByteTest);
        // Suricata: `dce` makes the rule a dcerpc rule (DetectSignatureSetAppProto ALPROTO_DCERPC).
        if (c.dce === true) needApp('dcerpc', 'byte_test dce');
        relTarget(c.relative).push(c);
        break;
      }
      case 'byte_jump': {
        const c = withByteJumpVars(value ?? '', vars, parseByteJump);
        if (c.dce === true) needApp('dcerpc', 'byte_jump dce');
        relTarget(c.relative).push(c);
        break;
      }
      case 'byte_extract': {
        const c = parseByteExtract(value ?? '', vars);
        relTarget(c.relative).push(c);
        break;
      }
      case 'byte_math': {
        const c = parseByteMath(value ?? '', vars);
        relTarget(c.relative).push(c);
        break;
      }
      case 'base64_decode': {
        const c = parseBase64Decode(value);
        relTarget(c.relative).push(c);
        b64List = relTarget(c.relative);
        break;
      }
      case 'base64_data':
        // Suricata refuses base64_data without a base64_decode before it; the decoded bytes
        // belong to the list of that base64_decode.
        if (b64List === null) throw new RuleError('base64_data without a preceding base64_decode');
        if (value !== undefined) throw new RuleError('base64_data takes no value');
        b64List.push({ kind: 'base64_data' });
        b64Active = b64List;
        lastMatchList = b64List;
        break;
      case 'flowint':
        flowints.push(parseFlowint(value ?? ''));
        break;
      case 'xbits':
        xbits.push(parseXbits(value ?? ''));
        break;
      case 'stream_size':
        streamSize.push(parseStreamSize(value ?? ''));
        break;
      case 'target': {
        const t = (value ?? '').trim();
        if (t !== 'src_ip' && t !== 'dest_ip') throw new RuleError(`target: expected src_ip or dest_ip, got "${t}"`);
        targetSide = t;
        break;
      }
      case 'rawbytes':
        // Content modifier: the raw stream is what bulwark inspects (a no-op, as in Suricata 7).
        needContent('rawbytes');
        break;
      case 'pkt_data':
        sticky = null;
        b64Active = null;
        break;
      case 'frame': {
        // Suricata: frames exist for TCP/UDP app-layer streams only.
        if (stream === 'no' || isPacketProtocol(ruleProtocol)) throw new RuleError("'frame' keyword only supported for TCP and UDP");
        const fr = resolveFrame(value, app);
        if (frameType !== undefined && frameType !== fr.type) throw new Unsupported('two frame types in one rule');
        needApp(fr.protocol, 'frame');
        frameType = fr.type;
        sticky = { protocol: fr.protocol, buffer: `frame:${fr.type}`, multi: false, lowercaseOnly: false, directions: ['to_server', 'to_client'], transforms: [], conditions: [] };
        b64Active = null;
        break;
      }
      case 'bsize': {
        if (sticky === null) throw new RuleError('bsize without a sticky buffer');
        const l = listFor(sticky, sticky.transforms);
        sticky = l;
        if (l.bsize !== undefined) throw new RuleError('bsize given twice for one buffer');
        l.bsize = parseUintMatch(value ?? '', 'bsize', 2 ** 32 - 1);
        break;
      }
      case 'dataset': {
        // Suricata: "datasets are only supported for sticky buffers"; the keyword tests the
        // whole buffer with the transforms before it.
        if (sticky === null) throw new RuleError('dataset without a sticky buffer');
        const spec = parseDataset(value ?? '', { rulesDir: dirname(file), dataDir: opts.datasetDir });
        const l = listFor(sticky, sticky.transforms);
        sticky = l;
        (l.datasets ??= []).push(spec);
        break;
      }
      case 'absent': {
        // Suricata 8 (detect-isdataat.c DetectAbsentSetup): on the active sticky buffer,
        // no value (the buffer must not exist) or `or_else` (absent, or what follows holds).
        if (sticky === null) throw new RuleError('absent without a sticky buffer');
        const v = value?.trim();
        if (v !== undefined && v !== 'or_else') throw new RuleError(`absent: unexpected value "${v.slice(0, 40)}" (only or_else)`);
        const l = listFor(sticky, sticky.transforms);
        sticky = l;
        if (l.absent !== undefined) throw new RuleError('absent given twice for one buffer');
        l.absent = v === undefined ? 'only' : 'or_else';
        break;
      }
      case 'decode-event':
      case 'stream-event':
        // Per-packet engine events (keywords/events.ts): evaluated on every packet, alone in their rule.
        events.push(parseEventKeyword(name, value));
        break;
      case 'app-layer-event': {
        const ev = parseEventName(name, value);
        const dot = ev.indexOf('.');
        const proto = dot < 0 ? undefined : APP_PROTOCOLS.find((p) => p.name === ev.slice(0, dot));
        if (proto?.events?.includes(ev.slice(dot + 1)) !== true) throw new Unsupported(`unsupported event ${ev}`);
        needApp(proto.name, name);
        appEvents.push(ev);
        break;
      }
      case 'app-layer-protocol': {
        const v = (value ?? '').trim();
        const negated = v.startsWith('!');
        const parts = (negated ? v.slice(1) : v).split(',').map((x) => x.trim());
        if (parts.length > 1) throw new Unsupported(`app-layer-protocol mode ${parts[1]!}`);
        const n = parts[0]!;
        if (n === '') throw new RuleError('app-layer-protocol needs a protocol');
        if (n !== 'failed' && n !== 'unknown' && appProtocolForRule(n) === undefined) throw new Unsupported(`app-layer-protocol ${n}`);
        if (appLayerProtocol !== undefined) throw new Unsupported('app-layer-protocol given twice');
        appLayerProtocol = { names: [n === 'failed' || n === 'unknown' ? n : appProtocolForRule(n)!.name], negated };
        break;
      }
      case 'dsize':
        dsize = parseDsize(value ?? '');
        break;
      // Suricata 8 names the keyword tcp.flags, `flags` staying its alias.
      case 'flags':
      case 'tcp.flags':
        flags = parseFlags(value ?? '');
        break;
      case 'ipv4-csum':
      case 'tcpv4-csum':
      case 'tcpv6-csum':
        csum.push(parseCsum(name, CSUM_KEYWORDS.get(name)!, value));
        break;
      case 'udpv4-csum':
      case 'udpv6-csum':
      case 'icmpv4-csum':
      case 'icmpv6-csum':
        throw new Unsupported(`${name}: bulwark inspects TCP only`);
      case 'flowbits':
        flowbits.push(parseFlowbits(value ?? ''));
        break;
      case 'noalert':
        // Suricata's standalone `noalert;` = `flowbits:noalert;` (suricata-update writes it for
        // rules it enables only to set a flowbit another rule checks).
        flowbits.push({ op: 'noalert', names: [], mode: 'all' });
        break;
      case 'threshold':
      case 'detection_filter':
        if (rateFilter) throw new RuleError('more than one threshold/detection_filter');
        rateFilter = parseRateFilter(value ?? '', name);
        break;
      default: {
        if (CONTENT_MODIFIERS.has(name)) {
          // `content:"x"; http_uri;` moves the preceding content (with its modifiers) into the buffer
          const c = needContent(name);
          if (value !== undefined) throw new RuleError(`${name} takes no value`);
          if (sticky !== null || !conditions.includes(c)) throw new RuleError(`${name} on a content that is already in a buffer`);
          const idx = conditions.lastIndexOf(c);
          conditions.splice(idx, 1);
          const l = listFor(bufferDraft(name), []);
          l.conditions.push(c);
          lastMatchList = l.conditions;
          continue;
        }
        if (isTransformKeyword(name)) {
          if (sticky === null) throw new RuleError(`transform ${name} without a sticky buffer`);
          const t = parseTransform(name, value);
          // Suricata collects transforms until the next match uses them (DetectBufferGetActiveList):
          // a fresh draft (not yet a list) extends its chain; after matches, a new chain starts on
          // the base buffer and the next matches go to that buffer+chain's list.
          const base = sticky;
          const chain = lists.includes(base) ? [t] : [...base.transforms, t];
          sticky = { protocol: base.protocol, buffer: base.buffer, multi: base.multi, lowercaseOnly: base.lowercaseOnly, directions: base.directions, transforms: chain, conditions: [] };
          if (base.txDir !== undefined) sticky.txDir = base.txDir;
          b64Active = null;
          break;
        }
        if (name === 'ip.src' || name === 'ip.dst') {
          // Suricata 8 sticky buffers: the packet's source/destination address bytes (4 or 16)
          if (value !== undefined) throw new RuleError(`${name} takes no value`);
          sticky = { protocol: ADDR_PROTOCOL, buffer: name, multi: false, lowercaseOnly: false, directions: ['to_server', 'to_client'], transforms: [], conditions: [] };
          b64Active = null;
          break;
        }
        if (PACKET_HEADER_BUFFERS.has(name)) {
          if (value !== undefined) throw new RuleError(`${name} takes no value`);
          sticky = { protocol: PACKET_PROTOCOL, buffer: name, multi: false, lowercaseOnly: false, directions: ['to_server', 'to_client'], transforms: [], conditions: [] };
          b64Active = null;
          break;
        }
        if (findAppBuffer(name) !== undefined) {
          const v = value?.trim();
          sticky = bufferDraft(name);
          if (v === 'to_client' || v === 'to_server') {
            // Suricata 8: the direction of a buffer both directions have, in a `=>` rule
            if (!txRule) throw new Unsupported('buffer direction outside a transactional rule (=>)');
            if (!sticky.directions.includes(v)) throw new RuleError(`${name} does not exist in ${v}`);
            sticky.txDir = v;
          } else if (value !== undefined) throw new RuleError(`${name} takes no value`);
          b64Active = null;
          break;
        }
        const kw = findAppKeyword(name);
        if (kw !== undefined) {
          needApp(kw.protocol.name, name);
          let parsed: unknown;
          try {
            parsed = kw.spec.parse(value ?? null);
          } catch (e) {
            throw new RuleError(e instanceof Error ? e.message : String(e));
          }
          appKeywords.push({ protocol: kw.protocol.name, name: kw.spec.name, value: parsed });
          break;
        }
        if (!IGNORED_KEYWORDS.has(name)) throw new Unsupported(`unsupported keyword ${name}`);
        if (name === 'prefilter' && value !== undefined) throw new RuleError('prefilter takes no value');
      }
    }
  }
  return {
    stream, app, conditions, lists, appKeywords, appEvents, flowbits, references, eveReferences, metadata, msg, sid, gid, rev, classtype, priority,
    metaSeverity, dir, established, flowDirWritten, dsize, flags, csum, rateFilter, appLayerProtocol, vars, flowints, xbits, streamSize, events,
    targetSide, frameType,
  };
}
