/**
 * Suricata / Snort 2 `.rules` importer (the ET Open dialect), TCP payload subset. Every rule is
 * either loaded or skipped with a stable reason (never silently): see docs/signatures.md
 * "Importing Suricata rules" for the supported keywords and the reasons.
 */
import type { AppKeywordMatch, BufferList, Condition, ContentCondition, FlowbitOp, PcreCondition, RuleAction, Severity, Signature, Transform, UintMatch } from './types.js';
import type { Draft, ParsedSource, Skip } from './parsed.js';
import { decodeContent, ContentError } from './content.js';
import { compilePcreSpec, parsePcre, parsePcreCaptures, PcreInvalid, PcreUnsupported, splitPcreCaptures } from './pcre.js';
import { APP_PROTOCOLS, appProtocolForRule, findAppBuffer, findAppKeyword } from '../engine/app-layer/registry.js';
import type { AppDirection } from '../engine/app-layer/types.js';
import { isTransformKeyword, parseTransform, transformKey } from './transforms.js';
import { parseSuricataPorts, PortError, resolvePorts, type PortSpec } from './ports.js';
import { AddressError, hasNegation, parseAddressSpec } from './address.js';
import {
  OptionError,
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
import { CLASSTYPE_DESCRIPTION, type Classification } from './keywords/classification.js';
import { eveReference } from './keywords/reference.js';
import { CSUM_KEYWORDS, parseCsum, type CsumSpec } from './keywords/csum.js';
import { checkEventRule, isPacketProtocol, parseEventKeyword, type EventMatch } from './keywords/events.js';
import { parseDataset, type DatasetSpec } from './keywords/dataset.js';
import { FrameError, resolveFrame } from './keywords/frame.js';
import { checkAbsent, checkTxRule } from './keywords/rule-shape.js';
import { dirname } from 'node:path';

class RuleError extends Error {}

/** Suricata's default classification priorities (classification.config) for the common classtypes. */
export const CLASSTYPE_PRIORITY: Readonly<Record<string, number>> = {
  'attempted-admin': 1,
  'attempted-user': 1,
  'inappropriate-content': 1,
  'policy-violation': 1,
  'shellcode-detect': 1,
  'successful-admin': 1,
  'successful-user': 1,
  'trojan-activity': 1,
  'unsuccessful-user': 1,
  'web-application-attack': 1,
  'targeted-activity': 1,
  'exploit-kit': 1,
  'domain-c2': 1,
  'command-and-control': 1,
  'credential-theft': 1,
  'social-engineering': 1,
  'coin-mining': 2,
  'external-ip-check': 2,
  'pup-activity': 2,
  'attempted-dos': 2,
  'attempted-recon': 2,
  'bad-unknown': 2,
  'default-login-attempt': 2,
  'denial-of-service': 2,
  'misc-attack': 2,
  'non-standard-protocol': 2,
  'rpc-portmap-decode': 2,
  'successful-dos': 2,
  'successful-recon-largescale': 2,
  'successful-recon-limited': 2,
  'suspicious-filename-detect': 2,
  'suspicious-login': 2,
  'system-call-detect': 2,
  'unusual-client-port-connection': 2,
  'web-application-activity': 2,
  'client-side-exploit': 2,
  'icmp-event': 3,
  'misc-activity': 3,
  'network-scan': 3,
  'not-suspicious': 3,
  'protocol-command-decode': 3,
  'string-detect': 3,
  unknown: 3,
  'tcp-connection': 4,
};

/**
 * Option keywords parsed and ignored: `tag` (it asks Suricata to log the packets that follow an
 * alert) and `prefilter` (it makes Suricata use the rule's non-content keyword as the
 * prefilter; performance only); neither changes what matches. `rawbytes` is a no-op on the raw stream
 * bulwark inspects (Suricata 7 ignores it too) and counts as enforced.
 */
export const IGNORED_KEYWORDS: ReadonlySet<string> = new Set(['tag', 'prefilter']);

/** The pseudo-protocol of packet header buffers (no app layer involved). */
const PACKET_PROTOCOL = 'packet';
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
 * The legacy `filename:"x"` and `fileext:"x"` keywords as Suricata sets them up
 * (detect-filename.c): a nocase content on the `file.name` buffer (`fileext`: `.x` with
 * endswith), after which no sticky buffer is active (a later content is a payload content
 * again). Quotes are optional and `!` negates, as Suricata allows; without a value Suricata
 * refuses the rule.
 */
function expandFileKeywords(options: { name: string; value: string | undefined }[]): { name: string; value: string | undefined }[] {
  if (!options.some((o) => o.name === 'filename' || o.name === 'fileext')) return options;
  const out: { name: string; value: string | undefined }[] = [];
  for (const o of options) {
    if (o.name !== 'filename' && o.name !== 'fileext') {
      out.push(o);
      continue;
    }
    let v = (o.value ?? '').trim();
    if (v === '') throw new RuleError(`${o.name} needs a value`);
    const neg = v.startsWith('!');
    if (neg) v = v.slice(1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    // the value becomes a quoted content: characters content syntax gives a meaning stay out
    if (v === '' || /["\\;|]/.test(v)) throw new RuleError(`${o.name}: unsupported value "${v}"`);
    const text = o.name === 'fileext' ? `.${v}` : v;
    out.push({ name: 'file.name', value: undefined }, { name: 'content', value: `${neg ? '!' : ''}"${text}"` }, { name: 'nocase', value: undefined });
    if (o.name === 'fileext') out.push({ name: 'endswith', value: undefined });
    out.push({ name: 'pkt_data', value: undefined });
  }
  return out;
}

/** Splits the option text at top-level ';' (quotes and backslash escapes respected). */
export function splitOptions(body: string): { name: string; value: string | undefined }[] {
  const out: { name: string; value: string | undefined }[] = [];
  let cur = '';
  let inQuote = false;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch === '\\' && i + 1 < body.length) {
      cur += ch + body[i + 1]!;
      i++;
      continue;
    }
    if (ch === '"') inQuote = !inQuote;
    if (ch === ';' && !inQuote) {
      push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (inQuote) throw new RuleError('unterminated quoted string');
  if (cur.trim() !== '') throw new RuleError(`option without terminating ';': "${cur.trim().slice(0, 40)}"`);
  return out;
  function push(s: string): void {
    const t = s.trim();
    if (t === '') return;
    const colon = t.indexOf(':');
    if (colon < 0) out.push({ name: t.toLowerCase(), value: undefined });
    else out.push({ name: t.slice(0, colon).trim().toLowerCase(), value: t.slice(colon + 1).trim() });
  }
}

/**
 * The event a decode-event / stream-event / app-layer-event keyword names, lower case (Suricata
 * looks event names up case-insensitively); stream events get the `stream.` prefix their EVE
 * name has when the rule leaves it out.
 */
function parseEventName(kw: string, value: string | undefined): string {
  const v = (value ?? '').trim().toLowerCase();
  if (!/^[a-z0-9_]+(\.[a-z0-9_]+)?$/.test(v)) throw new RuleError(`${kw}: bad event name "${(value ?? '').trim().slice(0, 60)}"`);
  return kw === 'stream-event' && !v.startsWith('stream.') ? `stream.${v}` : v;
}

/**
 * Removes surrounding quotes and an optional leading '!'. Quotes are mandatory unless `optional`
 * (Suricata's SIGMATCH_QUOTES_OPTIONAL keywords, such as pcre, take the value bare too).
 */
function unquote(v: string, what: string, optional = false): { text: string; negated: boolean } {
  let t = v.trim();
  let negated = false;
  if (t.startsWith('!')) {
    negated = true;
    t = t.slice(1).trim();
  }
  const quoted = t.length >= 2 && t.startsWith('"') && t.endsWith('"');
  if (!quoted) {
    if (optional && t !== '') return { text: t, negated };
    throw new RuleError(`${what}: expected a quoted string`);
  }
  return { text: t.slice(1, -1), negated };
}

/** Tokenises the header: action proto src sport dir dst dport (brackets may contain spaces). */
function headerTokens(h: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  for (const ch of h) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (/\s/.test(ch) && depth === 0) {
      if (cur !== '') out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur !== '') out.push(cur);
  return out;
}

function severityOf(priority: number | undefined, metaSeverity: string | undefined): Severity {
  switch (metaSeverity?.toLowerCase()) {
    case 'critical':
      return 'critical';
    case 'major':
      return 'high';
    case 'minor':
      return 'medium';
    case 'informational':
      return 'low';
  }
  if (priority === undefined) return 'medium';
  if (priority <= 1) return 'high';
  if (priority === 2) return 'medium';
  return 'low';
}

export interface RulesOptions {
  vars: Record<string, string>;
  /** classification.config beside the rules file: classtypes must be defined there and give the default priority. */
  classification?: ReadonlyMap<string, Classification>;
  /** Called every 1024 lines with the line index and the line count (CLI progress bars). */
  progress?: (line: number, lines: number) => void;
  /**
   * Data directory of datasets: relative `save`/`state` files of the `dataset` keyword live there
   * (Suricata's data-dir). Undefined: rules with save/state are skipped.
   */
  datasetDir?: string;
  /**
   * Load rules about this host's own outbound connections too (client side `$HOME_NET`, server
   * side `$EXTERNAL_NET`). Only `bulwark scan --rules` without databases sets it: reading a
   * capture, Suricata inspects every connection in it, whoever opened it. Default: skipped.
   */
  outboundRules?: boolean;
}

/**
 * Parses a `.rules` text. Rules that cannot be loaded are listed in `skipped` with a reason;
 * the import itself only fails on I/O (not here).
 */
export function parseRulesFile(file: string, text: string, opts: RulesOptions): ParsedSource {
  const out: ParsedSource = { file, drafts: [], detectors: [], skipped: [] };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if ((i & 1023) === 0) opts.progress?.(i, lines.length);
    let line = lines[i]!.trim();
    const lineNo = i + 1;
    // Continuation lines ending in '\'.
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i++;
      line = line.slice(0, -1) + lines[i]!.trim();
    }
    if (line === '' || line.startsWith('#')) continue;
    const r = parseRule(line, file, lineNo, opts);
    if ('reason' in r) out.skipped.push(r);
    else {
      out.drafts.push(r);
      if (r.bothDirections === true) out.drafts.push(twinDraft(r));
    }
  }
  return out;
}

/** The to_client copy of a rule that matches both directions (its conditions are shared, read-only). */
function twinDraft(d: Draft): Draft {
  const t: Draft = { sig: { ...d.sig, direction: 'to_client' }, portSpec: d.portSpec, twin: true };
  if (d.keywords) t.keywords = d.keywords;
  return t;
}

/** Parses one rule line; returns a Draft or a Skip. */
export function parseRule(line: string, file: string, lineNo: number, opts: RulesOptions): Draft | Skip {
  const skip = (reason: string, message = reason): Skip => ({ file, line: lineNo, reason, message });
  try {
    return parseRuleOrThrow(line, file, lineNo, opts);
  } catch (e) {
    if (e instanceof Unsupported || e instanceof PcreUnsupported) return skip(e.reason);
    if (e instanceof RuleError || e instanceof AddressError || e instanceof OptionError || e instanceof ContentError || e instanceof PortError || e instanceof PcreInvalid || e instanceof FrameError) {
      return skip('invalid rule', `${file}:${lineNo}: ${e.message}`);
    }
    throw e;
  }
}

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

/** A buffer list being built, before its key is final (transforms come right after the sticky keyword). */
interface ListDraft {
  protocol: string;
  buffer: string;
  multi: boolean;
  lowercaseOnly: boolean;
  directions: readonly AppDirection[];
  transforms: Transform[];
  conditions: Condition[];
  bsize?: UintMatch;
  datasets?: DatasetSpec[];
  absent?: 'only' | 'or_else';
  /** `=>` rules: the direction the sticky keyword named (`file.data: to_client`). */
  txDir?: AppDirection;
}

function parseRuleOrThrow(line: string, file: string, lineNo: number, opts: RulesOptions): Draft {
  const open = line.indexOf('(');
  if (open < 0 || !line.endsWith(')')) throw new RuleError('expected "action proto src sport -> dst dport (options;)"');
  const head = headerTokens(line.slice(0, open));
  if (head.length !== 7) throw new RuleError(`header has ${head.length} fields, expected 7`);
  const [action, proto, srcAddr, srcPort, arrow, dstAddr, dstPort] = head as [string, string, string, string, string, string, string];
  if (!['alert', 'drop', 'reject', 'rejectsrc', 'rejectdst', 'rejectboth', 'pass'].includes(action)) throw new RuleError(`unknown action "${action}"`);
  let stream: 'only' | 'no' | undefined;
  /** App protocol the rule needs (header protocol, or the protocol of its buffers/keywords). */
  let app: string | undefined;
  let ruleProtocol = 'tcp';
  if (proto === 'tcp-pkt') stream = 'no';
  else if (proto === 'tcp-stream') stream = 'only';
  // Packet-level rule protocols (`alert pkthdr|ip|ipv6|udp …`): only decode-event rules load (checked below).
  else if (isPacketProtocol(proto)) ruleProtocol = proto;
  else if (proto !== 'tcp') {
    const ap = appProtocolForRule(proto);
    if (ap === undefined) throw new Unsupported(`protocol ${proto}`);
    app = ap.name;
    ruleProtocol = proto;
  }
  if (arrow === '<>') throw new Unsupported('bidirectional rule (<>)');
  // `=>`: a transactional rule (Suricata 8), request and response keywords on one tx
  const txRule = arrow === '=>';
  if (arrow !== '->' && !txRule) throw new RuleError(`bad direction "${arrow}"`);

  const options = expandFileKeywords(splitOptions(line.slice(open + 1, -1)));
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
        // "key value, key value, …" (Suricata detect-metadata.c); a rule may have several.
        for (const part of (value ?? '').split(',')) {
          const t = part.trim();
          if (t === '') continue;
          const sp = t.search(/\s/);
          const k = sp < 0 ? t : t.slice(0, sp);
          const v = sp < 0 ? '' : t.slice(sp + 1).trim();
          metadata.push([k, v]);
          if (k === 'signature_severity') metaSeverity = v;
        }
        break;
      case 'reference': {
        const v = value ?? '';
        const comma = v.indexOf(',');
        const type = comma < 0 ? v.trim() : v.slice(0, comma).trim().toLowerCase();
        const ref = comma < 0 ? '' : v.slice(comma + 1).trim();
        references.push(type === 'cve' ? `CVE-${ref.replace(/^CVE-/i, '')}` : type === 'url' ? `https://${ref.replace(/^https?:\/\//, '')}` : `${type}:${ref}`);
        if (comma >= 0) eveReferences.push(eveReference(v.slice(0, comma), ref));
        break;
      }
      case 'flow':
        for (const f of (value ?? '').split(',').map((x) => x.trim())) {
          switch (f) {
            case 'to_server':
            case 'from_client':
              dir = 'to_server';
              flowDirWritten = true;
              break;
            case 'to_client':
            case 'from_server':
              dir = 'to_client';
              flowDirWritten = true;
              break;
            case 'established':
              established = true;
              break;
            case 'not_established':
              established = false;
              break;
            case 'stateless':
              break;
            case 'only_stream':
              stream = 'only';
              break;
            case 'no_stream':
              stream = 'no';
              break;
            default:
              throw new Unsupported(`flow ${f}`);
          }
        }
        break;
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
  if (sid === undefined) throw new RuleError('rule has no sid');
  const toList = (l: ListDraft): BufferList => {
    const key = l.transforms.length === 0 ? l.buffer : `${l.buffer}|${transformKey(l.transforms)}`;
    const b: BufferList = { protocol: l.protocol, buffer: l.buffer, multi: false, transforms: l.transforms, conditions: l.conditions, key };
    if (l.bsize !== undefined) b.bsize = l.bsize;
    return b;
  };
  checkAbsent(lists);
  if (lists.some((l) => l.protocol === ADDR_PROTOCOL)) {
    if (app === undefined) throw new Unsupported('ip.src/ip.dst outside an app-layer rule');
    // Suricata inspects them per packet: only next to tx buffers or keywords (one alert per tx) is
    // the meaning the same here; an app rule on addresses alone alerts on every packet there.
    if (!lists.some((l) => l.protocol !== ADDR_PROTOCOL && l.protocol !== PACKET_PROTOCOL) && appKeywords.length === 0 && appEvents.length === 0) {
      throw new Unsupported('ip.src/ip.dst without a transaction buffer');
    }
  }
  const packetLists: BufferList[] = lists.filter((l) => l.protocol === PACKET_PROTOCOL && (l.conditions.length > 0 || l.bsize !== undefined)).map(toList);
  if (lists.some((l) => l.protocol === PACKET_PROTOCOL && l.absent !== undefined)) throw new Unsupported('absent on a packet header buffer');
  if (packetLists.length > 0 && app !== undefined) throw new Unsupported('packet header buffer in an app-layer rule');
  if (packetLists.length > 0 && proto === 'tcp-stream') throw new Unsupported('packet header buffer in a tcp-stream rule');
  if (packetLists.some((l) => l.buffer !== 'tcp.hdr' && l.buffer !== 'ipv4.hdr' && l.buffer !== 'ipv6.hdr')) throw new Unsupported('packet header buffer of another protocol');
  const bufferLists: BufferList[] = lists
    .filter((l) => l.protocol !== PACKET_PROTOCOL && (l.conditions.length > 0 || l.bsize !== undefined || l.datasets !== undefined || l.absent !== undefined))
    .map((l) => {
      const key = l.transforms.length === 0 ? l.buffer : `${l.buffer}|${transformKey(l.transforms)}`;
      // Prefilter under the rule's protocol (an `alert smb` rule's dcerpc.stub_data list runs on SMB flows only).
      const b: BufferList = { protocol: app ?? l.protocol, buffer: l.buffer, multi: l.multi, transforms: l.transforms, conditions: l.conditions, key };
      if (l.bsize !== undefined) b.bsize = l.bsize;
      if (l.datasets !== undefined) b.datasets = l.datasets;
      if (l.absent !== undefined) b.absent = l.absent;
      const txDir = l.txDir ?? (l.directions.length === 1 ? l.directions[0] : undefined);
      if (txRule && txDir !== undefined) b.dir = txDir;
      return b;
    });
  if (txRule) checkTxRule(bufferLists, appKeywords, { app, dir, raw: conditions.length > 0, packet: packetLists.length > 0 });
  for (const cs of [conditions, ...bufferLists.map((l) => l.conditions), ...packetLists.map((l) => l.conditions)]) {
    for (const c of cs) {
      if (c.kind === 'content' && c.startswith && (c.offset !== undefined || c.depth !== undefined || c.distance !== undefined || c.within !== undefined)) {
        throw new RuleError('startswith cannot be combined with offset/depth/distance/within');
      }
    }
  }
  if (frameType !== undefined) {
    // Suricata refuses frame rules mixed with payload matches or other app-layer inspection.
    if (conditions.length > 0) throw new RuleError('frame rule with a payload match');
    if (appKeywords.length > 0 || appEvents.length > 0) throw new RuleError('frame rule with an app-layer keyword');
    if (bufferLists.some((l) => !l.buffer.startsWith('frame:'))) throw new RuleError('frame rule with another buffer');
    if (bufferLists.length === 0) throw new Unsupported('frame without a match');
  }
  const stateTest =
    flowbits.some((f) => f.op === 'isset' || f.op === 'isnotset') ||
    flowints.some((f) => f.op !== '=' && f.op !== '+' && f.op !== '-') ||
    xbits.some((x) => x.op === 'isset' || x.op === 'isnotset') ||
    streamSize.length > 0;
  // Suricata refuses uppercase content in lowercase-only buffers (http.host); with nocase it only warns
  for (const l of lists) {
    if (!l.lowercaseOnly || l.transforms.length > 0) continue;
    for (const c of l.conditions) {
      if (c.kind === 'content' && !c.nocase && c.bytes.some((x) => x >= 0x41 && x <= 0x5a)) throw new RuleError(`${l.buffer} content must be lowercase`);
    }
  }
  if (events.length > 0 || isPacketProtocol(ruleProtocol)) {
    // decode-event / stream-event rules: nothing but the events (and metadata, thresholds).
    checkEventRule({
      protocol: ruleProtocol, events, header: [srcAddr, srcPort, dstAddr, dstPort],
      others: conditions.length > 0 || appEvents.length > 0 || lists.length > 0 || appKeywords.length > 0 || flowbits.length > 0 || flowints.length > 0 || xbits.length > 0 ||
        streamSize.length > 0 || dsize !== undefined || flags !== undefined || csum.length > 0 || appLayerProtocol !== undefined || dir !== undefined ||
        established !== undefined || stream !== undefined || app !== undefined || targetSide !== undefined,
    });
  }
  // Nothing but the header (Suricata's IP-only / "like IP-only" / header packet rules): matched
  // on each packet's addresses and ports; flowbits set and flow state are IP-only compatible.
  let header: Signature['header'];
  let headerOnly: Signature['headerOnly'];
  // Suricata's protocol-detection-only rules (SIG_TYPE_PDONLY): the header and `app-layer-protocol:`
  // alone, matched per packet on the packets that carry the end of a direction's protocol detection.
  // A negated name also matches flows whose detection failed, which the engine does not report: skipped.
  const pdOnly = appLayerProtocol !== undefined && !appLayerProtocol.negated && appLayerProtocol.names.every((n) => n !== 'failed' && n !== 'unknown');
  if (events.length === 0 && !isPacketProtocol(ruleProtocol) && app === undefined && (appLayerProtocol === undefined || pdOnly) && appEvents.length === 0 && lists.length === 0 && appKeywords.length === 0 && conditions.length === 0 && packetLists.length === 0 && !dsize && !flags && csum.length === 0 && !stateTest) {
    if (flowints.length > 0 || xbits.length > 0) throw new Unsupported('flowint/xbits in a rule without payload conditions');
    if (stream !== undefined) throw new Unsupported('flow only_stream/no_stream in a rule without payload conditions');
    const src = parseAddressSpec(srcAddr, opts.vars);
    const dst = parseAddressSpec(dstAddr, opts.vars);
    let srcPorts: PortSpec;
    let dstPorts: PortSpec;
    try {
      srcPorts = parseSuricataPorts(srcPort, opts.vars);
      dstPorts = parseSuricataPorts(dstPort, opts.vars);
    } catch (e) {
      if (e instanceof PortError && /undefined port variable/.test(e.message)) throw new Unsupported('undefined port variable');
      throw e;
    }
    const every = [{ from: 0, to: 65535 }];
    const portList = (sp: PortSpec): { from: number; to: number }[] | null => (sp.any && sp.exclude.length === 0 ? null : resolvePorts(sp, every));
    header = { src, dst, srcPorts: portList(srcPorts), dstPorts: portList(dstPorts) };
    // Suricata (SignatureIsIPOnly): no flow direction, no negated address; ports any as the
    // IP-only engine matches addresses only.
    const ipOnly = !flowDirWritten && !hasNegation(src) && !hasNegation(dst) && header.srcPorts === null && header.dstPorts === null;
    headerOnly = ipOnly && appLayerProtocol === undefined ? 'iponly' : 'packet';
  }
  // Without payload conditions but with app-layer-protocol, app-layer-event or buffers of an
  // unregistered kind: not a header rule (those keywords must hold), and nothing else evaluates them.
  if (headerOnly === undefined && events.length === 0 && !isPacketProtocol(ruleProtocol) && app === undefined && conditions.length === 0 && packetLists.length === 0 && !dsize && !flags && csum.length === 0 && !stateTest) {
    throw new Unsupported('no payload, dsize or flags condition');
  }
  if (app !== undefined) {
    if (flags) throw new Unsupported('flags in an app-layer rule');
    if (csum.length > 0) throw new Unsupported('checksum keyword in an app-layer rule');
    if (stream !== undefined) throw new Unsupported('flow only_stream/no_stream in an app-layer rule');
  }

  // Direction: the flow keyword, else the one every buffer and keyword of the rule exists in,
  // else the side with ports. Buffers of both directions in one rule: Suricata refuses it.
  let bufDirs: Set<AppDirection> | undefined;
  const restrict = (ds: readonly AppDirection[]): void => {
    bufDirs = new Set([...(bufDirs ?? new Set<AppDirection>(['to_server', 'to_client']))].filter((d) => ds.includes(d)));
  };
  if (!txRule) {
    for (const l of lists) if (bufferLists.some((b) => b.buffer === l.buffer)) restrict(l.directions);
    for (const k of appKeywords) restrict(findAppKeyword(k.name)?.spec.directions ?? []);
  }
  if (bufDirs !== undefined) {
    if (bufDirs.size === 0) throw new RuleError('the rule mixes keywords of both directions');
    if (dir !== undefined && !bufDirs.has(dir)) throw new RuleError(`a keyword of the rule does not exist in ${dir}`);
    if (dir === undefined && bufDirs.size === 1) dir = [...bufDirs][0]!;
  }
  // Suricata matches a header against each packet as it is: one that reads the same both ways
  // (`any any -> any any`, `$HOME_NET any -> $HOME_NET any`) matches both directions unless the
  // flow keyword or the rule's buffers fix one.
  // (decode/stream-event rules are per packet already: no twin.)
  const bothDirections = !txRule && headerOnly === undefined && dir === undefined && srcAddr === dstAddr && srcPort === dstPort && events.length === 0 && !isPacketProtocol(ruleProtocol);
  // Which side is the server (the protected host)? flow direction first, else the side with ports.
  if (dir === undefined) dir = !txRule && dstPort === 'any' && srcPort !== 'any' ? 'to_client' : 'to_server';
  const serverAddr = dir === 'to_server' ? dstAddr : srcAddr;
  const clientAddr = dir === 'to_server' ? srcAddr : dstAddr;
  // bulwark inspects connections made TO this host; rules about this host's own outbound
  // connections (client side $HOME_NET, or server side $EXTERNAL_NET) do not apply.
  if (opts.outboundRules !== true && (serverAddr === '$EXTERNAL_NET' || clientAddr === '$HOME_NET')) throw new Unsupported('outbound rule (this host as client)');
  let portSpec: PortSpec;
  try {
    portSpec = parseSuricataPorts(dir === 'to_server' ? dstPort : srcPort, opts.vars);
  } catch (e) {
    if (e instanceof PortError && /undefined port variable/.test(e.message)) throw new Unsupported('undefined port variable');
    throw e;
  }

  // A transactional rule reads its header as a request (source = client) and is verified on the
  // response side of the tx, when both directions are there.
  if (txRule) dir = 'to_client';
  let classPriority: number | undefined;
  if (classtype !== '') {
    if (opts.classification) {
      // Suricata refuses a rule whose classtype its classification.config does not define.
      const cls = opts.classification.get(classtype.toLowerCase());
      if (cls === undefined) throw new Unsupported('classtype not in classification.config');
      classPriority = cls.priority;
    } else classPriority = CLASSTYPE_PRIORITY[classtype];
  }
  const severity = severityOf(priority ?? classPriority, metaSeverity);
  // What Suricata's EVE writes: the class's description (classification.config) and the
  // priority (the rule's, else the class's, else 3).
  let eveCategory = '';
  if (classtype !== '') {
    const lc = classtype.toLowerCase();
    eveCategory = opts.classification?.get(lc)?.description ?? CLASSTYPE_DESCRIPTION[lc] ?? classtype;
  }
  const eve = { category: eveCategory, severity: priority ?? classPriority ?? 3, references: eveReferences };
  const sig: Draft['sig'] = {
    id: sid,
    rev,
    gid,
    name: msg === '' ? `sid:${sid}` : msg,
    description: msg,
    references,
    severity,
    category: classtype === '' ? 'unknown' : classtype,
    eve,
    metadata,
    origin: 'rules',
    protocol: ruleProtocol,
    action: action === 'alert' || action === 'pass' ? 'alert' : 'block',
    ruleAction: action as RuleAction,
    direction: dir,
    conditions,
    flowbits,
    source: { file, line: lineNo },
  };
  if (app !== undefined) {
    sig.app = app;
    sig.buffers = bufferLists;
    sig.appKeywords = appKeywords;
    if (appEvents.length > 0) sig.appEvents = appEvents;
    if (frameType !== undefined) sig.frame = frameType;
  }
  if (packetLists.length > 0) sig.packetBuffers = packetLists;
  if (appLayerProtocol !== undefined) sig.appLayerProtocol = appLayerProtocol;
  if (classtype !== '') sig.classtype = classtype;
  if (priority !== undefined) sig.priority = priority;
  if (established !== undefined) sig.established = established;
  if (stream !== undefined) sig.stream = stream;
  if (dsize) sig.dsize = dsize;
  if (flags) sig.flags = flags;
  if (csum.length > 0) sig.csum = csum;
  if (rateFilter) sig.rateFilter = rateFilter;
  if (flowints.length > 0) sig.flowints = flowints;
  if (xbits.length > 0) sig.xbits = xbits;
  if (streamSize.length > 0) sig.streamSize = streamSize;
  if (targetSide !== undefined) sig.target = targetSide;
  if (vars.size > 0) sig.varCount = vars.size;
  if (events.length > 0) sig.events = events;
  if (headerOnly !== undefined && header !== undefined) {
    sig.headerOnly = headerOnly;
    sig.header = flowDirWritten ? { ...header, dir } : header;
  }
  if (classPriority !== undefined) sig.classPriority = classPriority;
  const used = [...new Set(options.map((o) => o.name))];
  const draft: Draft = { sig, portSpec, keywords: { enforced: used.filter((n) => !IGNORED_KEYWORDS.has(n)), ignored: used.filter((n) => IGNORED_KEYWORDS.has(n)) } };
  if (bothDirections) draft.bothDirections = true;
  return draft;
}
