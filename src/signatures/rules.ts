/**
 * Suricata / Snort 2 `.rules` importer (the ET Open dialect), TCP payload subset. Every rule is
 * either loaded or skipped with a stable reason (never silently): see docs/signatures.md
 * "Importing Suricata rules" for the supported keywords and the reasons.
 */
import type { BufferList, RuleAction, Severity, Signature } from './types.js';
import type { Draft, ListDraft, ParsedSource, Skip } from './parsed.js';
import { ContentError } from './content.js';
import { PcreInvalid, PcreUnsupported } from './pcre.js';
import { appProtocolForRule, findAppKeyword } from '../engine/app-layer/registry.js';
import type { AppDirection } from '../engine/app-layer/types.js';
import { transformKey } from './transforms.js';
import { parseSuricataPorts, PortError, resolvePorts, type PortSpec } from './ports.js';
import { AddressError, hasNegation, parseAddressSpec } from './address.js';
import { OptionError, Unsupported } from './options.js';
import { CLASSTYPE_DESCRIPTION, type Classification } from './keywords/classification.js';
import { checkEventRule, isPacketProtocol } from './keywords/events.js';
import { FrameError } from './keywords/frame.js';
import { checkAbsent, checkTxRule } from './keywords/rule-shape.js';
import { expandFileKeywords, headerTokens, RuleError, splitOptions } from './rule-text.js';
import { ADDR_PROTOCOL, IGNORED_KEYWORDS, PACKET_PROTOCOL, parseOptions } from './rule-options.js';

export { IGNORED_KEYWORDS, ADDR_PROTOCOL } from './rule-options.js';
export { splitOptions } from './rule-text.js';

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
  const o = parseOptions(options, { stream, app, ruleProtocol, txRule, file, datasetDir: opts.datasetDir });
  ({ stream, app } = o);
  const { conditions, lists, appKeywords, appEvents, flowbits, references, eveReferences, metadata, msg, sid, gid, rev, classtype, priority } = o;
  const { metaSeverity, established, flowDirWritten, dsize, flags, csum, rateFilter, appLayerProtocol, vars, flowints, xbits, streamSize, events } = o;
  const { targetSide, frameType } = o;
  let dir = o.dir;
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
