/**
 * The contract between src/signatures (producer) and src/engine (consumer).
 * Documented for humans in docs/signatures.md ("Ruleset interface").
 *
 * Everything here is plain data: a Ruleset is built beside the active one on reload and
 * swapped atomically by replacing one reference, so nothing in it may be mutated after compile.
 */

import type { PcreCapture } from './pcre.js';
import type { Regex } from '../regex/regex.js';
import type { RegexMeter } from '../regex/meter.js';
import type { ByteExtractCondition, ByteMathCondition } from './keywords/bytes.js';
import type { Base64DataCondition, Base64DecodeCondition } from './keywords/base64.js';
import type { FlowintSpec } from './keywords/flowint.js';
import type { XbitSpec } from './keywords/xbits.js';
import type { StreamSizeSpec, StreamSizes } from './keywords/stream-size.js';
import type { EventMatch } from './keywords/events.js';
import type { DatasetSpec } from './keywords/dataset.js';
import type { CsumSpec } from './keywords/csum.js';
import type { AddressMatch } from './address.js';
import type { DatasetDecl, DatasetStore } from './keywords/dataset-store.js';

export type { EventMatch };
export type { ByteExtractCondition, ByteMathCondition, Base64DataCondition, Base64DecodeCondition, FlowintSpec, XbitSpec, StreamSizeSpec, StreamSizes, DatasetSpec, DatasetDecl };
import type { AppDirection, AppTx } from '../engine/app-layer/types.js';
import type { FileHashAlgo } from '../engine/app-layer/filehash.js';

export type Severity = 'low' | 'medium' | 'high' | 'critical';
export type SignatureAction = 'block' | 'alert';
/** Suricata rule actions (the reject variants are kept apart for EVE; they order as `reject`). */
export type RuleAction = 'alert' | 'drop' | 'reject' | 'rejectsrc' | 'rejectdst' | 'rejectboth' | 'pass';
/** Which stream a signature inspects: client→server (to_server) or server→client (to_client). */
export type Direction = 'to_server' | 'to_client';

/** Where a signature or detector came from, for every error and for `db info`. */
export interface SourceRef {
  file: string;
  line: number;
}

/** Inclusive port range; a single port is { from: p, to: p }. */
export interface PortRange {
  from: number;
  to: number;
}

export interface ContentCondition {
  kind: 'content';
  /** Decoded pattern bytes (|hex| escapes resolved). Never empty. */
  bytes: Uint8Array;
  nocase: boolean;
  negated: boolean;
  /** Absolute: match must start at >= offset and end at <= offset + depth (Suricata semantics). */
  offset?: number;
  depth?: number;
  /** Relative to the end of the previous content/pcre match. */
  distance?: number;
  within?: number;
  startswith: boolean;
  endswith: boolean;
  /** The rule named this content `fast_pattern`. */
  fastPattern: boolean;
  /** byte_extract/byte_math variables (slot numbers) standing for offset/depth/distance/within; the number field is then unused. */
  vars?: { offset?: number; depth?: number; distance?: number; within?: number };
  /** `fast_pattern:offset,length`: the prefilter uses bytes[offset, offset+length) (the whole content is still verified). */
  fastPatternPart?: { offset: number; length: number };
}

export interface PcreCondition {
  kind: 'pcre';
  /**
   * Compiled by the product's regex engine (PCRE2, src/regex) with the rule's modifiers; runs on
   * the payload bytes in place. Shared by every flow: Regex.exec keeps no state between calls.
   */
  regex: Regex;
  /** Original text, for logs. */
  source: string;
  negated: boolean;
  /** Suricata `R`: the subject starts at the end of the previous match. */
  relative: boolean;
  /** Suricata `O`: run with the configured override limits instead of the default ones. */
  overrideLimits: boolean;
  /** Capture variables (pcre.ts PcreCapture): capture i takes group i + 1 of the match. */
  captures?: PcreCapture[];
}

export interface IsDataAtCondition {
  kind: 'isdataat';
  offset: number;
  relative: boolean;
  negated: boolean;
  /** The offset is this variable slot (byte_extract/byte_math). */
  offsetVar?: number;
}

export type ByteTestOp = '<' | '>' | '=' | '!' | '<=' | '>=' | '&' | '^';

export interface ByteTestCondition {
  kind: 'byte_test';
  count: number; // 1..10 (string) or 1,2,4,8 (binary)
  op: ByteTestOp;
  negated: boolean;
  value: number;
  offset: number;
  relative: boolean;
  endian: 'big' | 'little';
  /**
   * Suricata `dce`: the endianness is the DCERPC PDU's (drep) when the list is the DCERPC stub
   * data; elsewhere (the payload) big endian, as Suricata's payload inspection has no DCE flags.
   */
  dce?: true;
  /** When set, the bytes are an ASCII number in this base. */
  stringBase?: 8 | 10 | 16;
  bitmask?: number;
  /** Variable slots standing for count / value / offset. */
  countVar?: number;
  valueVar?: number;
  offsetVar?: number;
}

export interface ByteJumpCondition {
  kind: 'byte_jump';
  count: number;
  offset: number;
  relative: boolean;
  endian: 'big' | 'little';
  /** Suricata `dce`: endianness from the DCERPC header on stub data (see ByteTestCondition.dce). */
  dce?: true;
  stringBase?: 8 | 10 | 16;
  multiplier: number;
  postOffset: number;
  align: boolean;
  fromBeginning: boolean;
  /** Suricata 7 `from_end`: the jump counts from the end of the buffer. */
  fromEnd?: boolean;
  /** Suricata 8 `bitmask` (applied to the extracted value before the multiplier). */
  bitmask?: number;
  /** Variable slots standing for count / offset. */
  countVar?: number;
  offsetVar?: number;
}

/** Payload conditions, evaluated in order (relative ones chain on the previous match). */
export type Condition =
  | ContentCondition
  | PcreCondition
  | IsDataAtCondition
  | ByteTestCondition
  | ByteJumpCondition
  | ByteExtractCondition
  | ByteMathCondition
  | Base64DecodeCondition
  | Base64DataCondition;

export interface FlowbitOp {
  op: 'set' | 'unset' | 'isset' | 'isnotset' | 'toggle' | 'noalert';
  /** Bit names; `a|b` in isset means any, `a&b` all — stored as a list plus mode. Empty for noalert. */
  names: string[];
  mode: 'any' | 'all';
}

export interface NumericRange {
  /** dsize semantics: '=' exact min, '<', '>', '<>' exclusive range, '<=' , '>=' ... normalised to inclusive min/max. */
  min: number;
  max: number;
}

export interface TcpFlagsMatch {
  /** Bits that must be set (FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128). */
  mask: number;
  /** '' exact (after ignore), '+' all of mask plus any others, '*' any of mask, '!' none of mask. */
  mode: '' | '+' | '*' | '!';
  /** Bits ignored in the comparison (the `,12` part). */
  ignore: number;
}

export interface RateFilter {
  /** threshold: 'limit' | 'threshold' | 'both' | 'backoff'; detection_filter is 'detection_filter'. */
  type: 'limit' | 'threshold' | 'both' | 'detection_filter' | 'backoff';
  /** `by_flow` (Suricata 7+): counted per flow; `backoff` takes only it. */
  track: 'by_src' | 'by_dst' | 'by_flow';
  count: number;
  /** Window of limit/threshold/both/detection_filter; 0 for backoff (no window). */
  seconds: number;
  /** backoff: after an alert, the next one comes at (match number × multiplier). */
  multiplier?: number;
}

/**
 * A sticky-buffer transform (Suricata `to_lowercase`, `url_decode`…), applied in rule order to
 * the buffer before its conditions run. Semantics in src/signatures/transforms.ts.
 */
export type Transform =
  | { kind: 'to_lowercase' | 'to_uppercase' | 'url_decode' | 'strip_whitespace' | 'compress_whitespace' | 'dotprefix' | 'header_lowercase' | 'to_md5' | 'to_sha1' | 'to_sha256' | 'strip_pseudo_headers' }
  /**
   * `key` static, or read at transform time from `keyAt` (bytes `[offset, offset+length)` of the
   * buffer itself); bytes before `start` are copied unchanged.
   */
  | { kind: 'xor'; key: Uint8Array; keyAt?: { offset: number; length: number }; start: number }
  | { kind: 'from_base64'; offset: number; bytes: number; mode: 'rfc4648' | 'rfc2045' | 'strict' }
  /** Decompression (gzip / zlib framing), output cut at `maxSize` bytes; a broken stream gives an empty buffer. */
  | { kind: 'gunzip' | 'zlib_deflate'; maxSize: number }
  /** A slice by offset and byte count, either negative (from the end); `truncate` clamps instead of emptying. */
  | { kind: 'subslice'; offset: number; nbytes: number | null; truncate: boolean }
  | { kind: 'pcrexform'; regex: Regex; source: string };

/** Buffer length test (`bsize`, Suricata uint forms; `<>` exclusive). */
export interface UintMatch {
  mode: '=' | '!' | '<' | '>' | '<=' | '>=' | '<>';
  a: number;
  b: number;
}

/**
 * The conditions of one app-layer buffer (Suricata's per-buffer sigmatch list): the buffer as the
 * protocol names it, the transforms applied to it, then its conditions in rule order with the
 * detection pointer starting at 0 in the (transformed) buffer. Each list must match on its own
 * buffer; lists are independent of each other. A multi-buffer list matches when one instance does.
 */
export interface BufferList {
  /** App protocol of the buffer (AppProtocol.name), e.g. 'http'. */
  protocol: string;
  /** Canonical buffer name (AppBufferSpec.name), e.g. 'http.uri'. */
  buffer: string;
  multi: boolean;
  transforms: Transform[];
  conditions: Condition[];
  bsize?: UintMatch;
  /** `dataset` keywords on the whole (transformed) buffer, in rule order (keywords/dataset.ts). */
  datasets?: DatasetSpec[];
  /**
   * Suricata 8 `absent` on this buffer: 'only' = the list holds when the buffer does not exist
   * (and never when it does); 'or_else' = it holds when the buffer does not exist, else its
   * conditions decide. Absence is final once the tx direction is complete. Such a list is never
   * the rule's fast pattern (the rule must be a candidate without the buffer).
   */
  absent?: 'only' | 'or_else';
  /**
   * Transactional rules (`=>`, Suricata 8): the direction of the tx this buffer is read in
   * (the signature is verified on the to_client side, with both directions of the tx).
   */
  dir?: 'to_server' | 'to_client';
  /** Identity of (buffer, transforms) for prefilter grouping, e.g. "http.uri" or "http.uri|to_lowercase". */
  key: string;
}

/**
 * A protocol keyword that is not a buffer (`urilen`, `tls.version`…), parsed at load by its
 * AppKeywordSpec. Plain data (the spec is found again by protocol and name at match time), so a
 * ruleset can cross threads.
 */
export interface AppKeywordMatch {
  protocol: string;
  /** AppKeywordSpec.name (canonical). */
  name: string;
  /** What AppKeywordSpec.parse returned (plain data). */
  value: unknown;
  /** Transactional rules (`=>`): the direction the keyword is evaluated in (else the signature's). */
  dir?: 'to_server' | 'to_client';
}

export interface Signature {
  id: number;
  rev: number;
  /** Generator id (Suricata `gid`, default 1): threshold.config entries name rules by gid and sid. */
  gid: number;
  name: string;
  description: string;
  references: string[];
  severity: Severity;
  /** classtype (or the YAML category). */
  category: string;
  /**
   * Imported rules: the alert fields as Suricata's EVE writes them: `category` the class's
   * description ('' without classtype), `severity` the priority (rule, class, else 3),
   * `references` (reference.config prefix + id, rule order).
   */
  eve?: { category: string; severity: number; references: string[] };
  /** Imported rules: `classtype` as written (absent when the rule has none). */
  classtype?: string;
  /** Imported rules: `priority` as written (the classtype's default priority is not filled in). */
  priority?: number;
  /** `metadata` key/value pairs as written (`signature_severity Major` → ['signature_severity', 'Major']); [] for YAML. */
  metadata: [string, string][];
  /**
   * Rule protocol of the header (`alert tcp`, `alert http`…); 'tcp' for YAML signatures and
   * tcp-pkt/tcp-stream. Absent on signatures built by older code: read as 'tcp'.
   */
  protocol?: string;
  /**
   * The app-layer protocol the signature needs (AppProtocol.name), when the rule protocol is one
   * or the rule uses a protocol's buffers or keywords: such a signature is inspected per
   * transaction through `appCandidates` / `verifyAppSignature` (src/signatures/verify-app.ts),
   * never through the raw-stream port groups. Undefined: a raw TCP stream/packet signature.
   */
  app?: string;
  /** `app-layer-protocol:` (Suricata): the flow's detected protocol must (not) be one of `names`; 'failed'/'unknown' as Suricata names them. */
  appLayerProtocol?: { names: string[]; negated: boolean };
  /** App-layer buffer lists (empty for raw signatures). */
  buffers?: BufferList[];
  /**
   * Packet header buffers (`ipv4.hdr`, `ipv6.hdr`, `tcp.hdr`; protocol 'packet'), inspected per
   * packet after the payload conditions, in rule order, sharing the rule's variables.
   */
  packetBuffers?: BufferList[];
  /** App-layer keywords that are not buffers. */
  appKeywords?: AppKeywordMatch[];
  /** `app-layer-event:<proto>.<name>` (lower case): the tx must carry every one of these events. */
  appEvents?: string[];
  /**
   * `frame:` (Suricata 7): the signature inspects frames of this type of protocol `app` (its one
   * buffer list is `frame:<type>`), not transactions; see src/engine/detect/app-frames.ts.
   */
  frame?: string;
  /**
   * For app signatures: the content used as prefilter, `[list, condition]` into `buffers`
   * (Suricata fast pattern selection), or undefined when the signature is on the always list.
   */
  appFastPattern?: [number, number];
  /** Where the signature came from: a bulwark YAML database or an imported Suricata/Snort `.rules` file. */
  origin?: 'yaml' | 'rules';
  /** The rule's own action: `alert` → alert; `drop`/`reject` (and YAML `block`) → block. The response policy decides on top. */
  action: SignatureAction;
  /**
   * The Suricata action as written (`alert drop reject rejectsrc rejectdst rejectboth pass`);
   * absent: `alert` for an `alert` signature, `drop` for a `block` one (YAML). It orders the
   * packet's alert queue (engine.actionOrder) and `pass` never alerts: it ends the packet's
   * lower-ordered alerts, and the flow's inspection when it matched the flow (src/engine/detect/alert-queue.ts).
   */
  ruleAction?: RuleAction;
  /**
   * A rule with nothing but its header (and IP-only compatible keywords: flow established state,
   * flowbits set, noalert, metadata): matched on packet addresses and ports (`header`).
   * `iponly`: Suricata's IP-only rule (ports `any`, no negated address, no flow direction), tried
   * on the first packet of each direction of a flow; `packet`: every packet (Suricata's
   * "like IP-only" rules with negated addresses, and header rules with ports or a direction).
   */
  headerOnly?: 'iponly' | 'packet';
  /** headerOnly rules: the header as written, matched against each packet as it is (source → destination). */
  header?: { src: AddressMatch | null; dst: AddressMatch | null; srcPorts: PortRange[] | null; dstPorts: PortRange[] | null; dir?: Direction };
  /** Destination ports (to_server: server port; to_client: server port too, i.e. the source of the packet). */
  ports: PortRange[];
  direction: Direction;
  /** flow:established → true; flow:not_established → false; absent → either. */
  established?: boolean;
  /** flow:only_stream / no_stream (no_stream = per-packet only). */
  stream?: 'only' | 'no';
  conditions: Condition[];
  /** Index into conditions of the content chosen as fast pattern, or -1 when the signature has no positive content. */
  fastPatternIndex: number;
  dsize?: NumericRange;
  flags?: TcpFlagsMatch;
  /** Checksum keywords (ipv4-csum, tcpv4-csum, tcpv6-csum), all must hold; per packet, like flags. */
  csum?: CsumSpec[];
  flowbits: FlowbitOp[];
  /** `flowint` tests and modifiers, in rule order (modifiers act when the rule matches). */
  flowints?: FlowintSpec[];
  /** `xbits` tests and set/unset/toggle, in rule order. */
  xbits?: XbitSpec[];
  /** `stream_size` tests. */
  streamSize?: StreamSizeSpec[];
  /**
   * Engine-event conditions (`decode-event`, `stream-event`, `app-layer-event`), all of which must
   * hold. A signature with decode or stream events has no other condition: it is evaluated per
   * packet (Ruleset.events), never in the port groups; app-layer events are tested per
   * transaction with the signature's other app-layer conditions.
   */
  events?: EventMatch[];
  /** Suricata `target:src_ip|dest_ip`: which side of the alert is the target (EVE alert.source/target). */
  target?: 'src_ip' | 'dest_ip';
  /** Imported rules: the classtype's priority from classification.config beside the rules file. */
  classPriority?: number;
  /** Number of byte_extract/byte_math variable slots the conditions use. */
  varCount?: number;
  rateFilter?: RateFilter;
  source: SourceRef;
}

/**
 * Multi-pattern DFA over bytes (Aho-Corasick, fully expanded). Case folding for nocase
 * patterns is baked in: a nocase pattern is inserted in lower case and the transitions for
 * upper-case input bytes point where the lower-case ones do.
 *
 * Scanning: `s = 0; for each byte b: s = next[s + b]; if (out[s / 256] !== 0) report`.
 * States are pre-multiplied by 256 (state k is stored as k*256).
 */
export interface Dfa {
  /**
   * next[stateTimes256 + byte] = nextStateTimes256, with bit 31 set when that state has output
   * (automaton.ts markOutputs; mask with STATE_MASK for the state). Length = stateCount * 256.
   * Backed by a SharedArrayBuffer, so scan workers share one copy.
   */
  next: Int32Array;
  /** outStart[state] .. outStart[state+1] is the slice of outList with the patterns ending in that state. Length stateCount + 1. */
  outStart: Int32Array;
  /** Pattern ids (indexes into PortGroup.patterns). */
  outList: Int32Array;
  stateCount: number;
}

export interface GroupPattern {
  /** Index into Ruleset.signatures. */
  signature: number;
  /** Length of the pattern in bytes, so the engine knows where it starts (end - length + 1). */
  length: number;
  /**
   * The automaton is case-insensitive as a whole (every pattern is inserted folded). true: a hit
   * is exact (nocase content, or no letters in it); false: a case-sensitive pattern whose hit may
   * differ in case — re-check `bytes` on the original data (verifySignature does it anyway).
   */
  nocase: boolean;
  /** Pattern bytes, possibly cut to the compiler's maxPatternLength (default 32): `length` is the cut length. */
  bytes: Uint8Array;
}

/** Signatures that share ports and direction: one automaton, scanned once per payload byte. */
export interface PortGroup {
  /** Stable id, e.g. "to_server:80,443,8080". */
  key: string;
  direction: Direction;
  dfa: Dfa;
  patterns: GroupPattern[];
  /** Indexes into Ruleset.signatures of signatures without a usable fast pattern (dsize/flags-only): evaluated on every packet of the group. */
  unanchored: number[];
  /**
   * The app-layer raw-stream patterns of the group's direction, merged into `dfa` (raw-merge.ts):
   * an outList id p >= patterns.length is raw.patterns[p - patterns.length]. rawState[k] is the
   * state (x 256) of AppRuleset.rawStream[direction].dfa that merged state k corresponds to.
   * Absent: the app layer scans the raw stream itself.
   */
  raw?: { patterns: GroupPattern[]; rawState: Int32Array };
  /** The engine's compact scan table (scan-table.ts), when the compile worker (or a scan pool) built it. */
  scan16?: Uint16Array;
}

export type DetectorKind = 'portscan' | 'synflood' | 'bruteforce';

interface DetectorBase {
  /** Reported as alert.signature_id; unique across signatures and detectors. */
  id: number;
  name: string;
  description: string;
  severity: Severity;
  action: SignatureAction;
  source: SourceRef;
}

export interface PortScanSpec extends DetectorBase {
  kind: 'portscan';
  track: 'by_src';
  /** Distinct destination ports touched by one source within `seconds`. */
  distinctPorts: number;
  seconds: number;
}

export interface SynFloodSpec extends DetectorBase {
  kind: 'synflood';
  track: 'by_dst' | 'by_src';
  /** Half-open SYNs (no completed handshake) within `seconds`. */
  count: number;
  seconds: number;
}

export interface BruteForceSpec extends DetectorBase {
  kind: 'bruteforce';
  track: 'by_src';
  ports: PortRange[];
  /** New connections from one source to these ports within `seconds`. */
  count: number;
  seconds: number;
}

export type DetectorSpec = PortScanSpec | SynFloodSpec | BruteForceSpec;

export interface DatabaseInfo {
  name: string;
  version: string;
  released: string;
  file: string;
}

export interface CompileStats {
  compileMs: number;
  /** Approximate bytes held by automata and signature tables. */
  memoryBytes: number;
  loaded: number;
  /** Skipped rules by reason (importer), e.g. { "unsupported keyword http.uri": 1234 }. */
  skipped: Record<string, number>;
  /** Total automaton states over all port groups (each state is 1 KiB of `next`). */
  states?: number;
  /** The per-port groups would have exceeded the state budget: one merged group per direction. */
  mergedGroups?: boolean;
  /** The first skipped rules with file:line, for logs and `db info` (bounded). */
  problems?: { file: string; line: number; reason: string; message: string }[];
  /** Imported rules loaded, per option keyword: enforced, or parsed and ignored (only `tag`). */
  keywords?: { enforced: Record<string, number>; ignored: Record<string, number> };
}

export interface Ruleset {
  databases: DatabaseInfo[];
  /** Combined version string shown by `status` and `db info` (e.g. "bulwark-core 2026.11.21"). */
  version: string;
  signatures: readonly Signature[];
  /**
   * Sorted unique TCP server ports the signatures watch (to_server destination ports, the server
   * ports of to_client signatures, and brute-force detector ports): capture filter and interception.
   */
  ports: readonly number[];
  groups: readonly PortGroup[];
  /**
   * Port → group lookup per direction: index `port` gives the group index or -1.
   * toServer is keyed by destination port, toClient by source port (the server's).
   * A port may belong to one group per direction: the compiler merges overlapping port sets, and
   * when the per-port automata would exceed its memory budget it builds one group per direction.
   * A group can therefore hold signatures for other ports: check Signature.ports on a candidate.
   */
  groupByPort: { toServer: Int32Array; toClient: Int32Array };
  detectors: readonly DetectorSpec[];
  stats: CompileStats;
  /** App-layer prefilters (app signatures are not in `groups`). Absent on rulesets built by older code. */
  app?: AppRuleset;
  /** Signatures on decode / stream events, by the name of their first event (indexes into `signatures`). */
  events?: EventRuleset;
  /** The datasets the rules use (src/signatures/datasets.ts); absent: none. */
  datasets?: DatasetDecl[];
}

/** Per-packet engine-event signatures (they are in no port group and no app prefilter). */
export interface EventRuleset {
  /** `decode-event` name → signatures whose first decode event it is. */
  decode: ReadonlyMap<string, readonly number[]>;
  /** `stream-event` name → signatures whose first stream event it is. */
  stream: ReadonlyMap<string, readonly number[]>;
}

/** One multi-pattern prefilter: the fast patterns of the app signatures on one (protocol, buffer+transforms, direction). */
export interface AppPrefilter {
  protocol: string;
  direction: Direction;
  buffer: string;
  multi: boolean;
  transforms: Transform[];
  key: string;
  dfa: Dfa;
  patterns: GroupPattern[];
}

export interface AppRuleset {
  prefilters: readonly AppPrefilter[];
  /** `${protocol}:${direction}` → indexes into `prefilters`. */
  byProtoDir: ReadonlyMap<string, readonly number[]>;
  /** `${protocol}:${direction}` → app signatures without a prefilter pattern: evaluated on every tx. */
  always: ReadonlyMap<string, readonly number[]>;
  /**
   * Per direction: app signatures without a buffer fast pattern whose raw-stream conditions have
   * one (`alert http … content:"x";` without a sticky buffer, which Suricata inspects on the
   * stream). Their fast patterns are scanned over the flow's in-order stream bytes; a signature
   * becomes a tx candidate once its pattern was seen in that direction (instead of being verified
   * on the whole stream at every tx). Absent on rulesets built by older code: such signatures are
   * then in `always`.
   */
  rawStream?: { to_server: AppRawPrefilter; to_client: AppRawPrefilter };
  /** `frame:` signatures by `${protocol}:${frame type}:${direction}` (never in the tx prefilters). */
  frames?: ReadonlyMap<string, readonly number[]>;
  /** Protocols with `frame:` signatures: their parsers record frames. */
  frameProtocols?: readonly string[];
  /** Per protocol, the file digests its `filemd5`/`filesha1`/`filesha256` signatures need: its parsers compute them. */
  fileHashes?: Readonly<Record<string, readonly FileHashAlgo[]>>;
  /** The ruleset has protocol-detection-only rules (header + app-layer-protocol): flows need protocol detection. */
  protoDetect?: boolean;
}

/** A raw-stream prefilter of app signatures (AppRuleset.rawStream): patterns' `signature` index Ruleset.signatures. */
export interface AppRawPrefilter {
  dfa: Dfa;
  patterns: GroupPattern[];
}

/**
 * What `verifyAppSignature` needs besides the tx: flowbits, the raw stream of the signature's
 * direction (an `alert http` rule's content without a buffer inspects it, as in Suricata), the
 * server port (app signatures with explicit ports check them; `any` means every port), the
 * packet payload length (dsize), the packet time (keywords that need it).
 */
export interface AppVerifyContext extends VerifyContext {
  stream?: Uint8Array;
  streamLength?: number;
  /**
   * Stream offset where the direction's current raw inspection window starts: where its data
   * resumed after the peer last spoke. Raw conditions that fail on the whole stream are tried on
   * [rawFrom, streamLength) too, as Suricata's raw stream inspection runs on the chunk not yet
   * inspected (so `offset`/`depth` anchor on a later request, e.g. an SMB message after the
   * negotiate exchange).
   */
  rawFrom?: number;
  serverPort?: number;
  packetLength?: number;
  tsUs?: number;
  /**
   * The flow's address bytes (4 or 16) of the client (true) or the server (false), for the
   * `ip.src`/`ip.dst` buffers; absent: those buffers do not exist.
   */
  ip?: (client: boolean) => Uint8Array;
}

/**
 * App-layer detection (src/signatures/verify-app.ts), called by the detect stage per transaction
 * and direction whenever the tx progressed:
 *
 * `appCandidates(ruleset, ruleProtocols, tx, dir, out): number` — clears `out` and fills it with
 * the indexes (into ruleset.signatures, ascending, no duplicates) of the app signatures whose
 * prefilter pattern occurs in a buffer of `tx` in `dir` (after the list's transforms) or that are
 * on the always list, for every protocol in `ruleProtocols` (the flow's AppProtocol.ruleProtocols,
 * plus its name); returns out.length.
 *
 * `verifyAppSignature(sig, tx, dir, ctx, meter?): boolean` — evaluates everything the signature
 * has on this tx and direction: direction, ports, flowbits, dsize, app keywords, every buffer
 * list (transforms, bsize, content semantics as in verifySignature) and its raw-stream
 * conditions on ctx.stream (whole, else its window from ctx.rawFrom). Pure; buffers not there yet do not match (call again when the tx
 * progresses). The caller keeps per-tx state so that a signature alerts once per tx.
 */
export type AppCandidatesFn = (ruleset: Ruleset, ruleProtocols: readonly string[], tx: AppTx, dir: AppDirection, out: number[], cache?: AppPrefilterCache) => number;

/**
 * Per tx and direction, what the prefilters of append-only buffers (AppBufferSpec.appendOnly)
 * found so far, keyed by prefilter index: the length scanned, the automaton state at its end and
 * the signatures seen. The next call scans only the bytes added since. For a stable buffer
 * (AppBufferSpec.stable) `src` is the array scanned: while the tx returns that same array (same
 * length) the signatures found are reused without a scan. The caller keeps one per
 * live tx direction and drops it with the tx (or a ruleset swap).
 */
export type AppPrefilterCache = Map<number, { length: number; state: number; found: number[]; src?: Uint8Array }> & {
  /** Signatures that can no longer match this tx direction (verify-app.ts missedForGood): not verified on it again. */
  missed?: Set<number>;
  /**
   * The tx's AppTx.buffersVersion when `fixed` was found (-1 or absent: never): while the tx
   * returns it, the candidates of the always-list and of the prefilters on buffers that are not
   * append-only are `fixed` again, and only the append-only buffers are read.
   */
  version?: number;
  fixed?: number[];
};
export type VerifyAppFn = (sig: Signature, tx: AppTx, dir: AppDirection, ctx: AppVerifyContext, meter?: RegexMeter) => boolean;

/** What the payload verifier needs besides the bytes. */
export interface VerifyContext {
  /** Flowbits currently set on the flow. */
  flowbits: ReadonlySet<string>;
  /** Flowints of the flow (absent: none set). */
  flowints?: ReadonlyMap<string, number>;
  /** xbits tests against the engine's host/pair table for the packet being inspected (absent: no bit is set). */
  xbits?: { holds(s: XbitSpec): boolean };
  /** Stream sizes of the TCP session (absent: stream_size never matches). */
  streamSize?: StreamSizes;
  /** The engine's datasets (absent: every set is empty and set/unset never match). */
  datasets?: Pick<DatasetStore, 'begin' | 'mark' | 'rollback' | 'test'>;
  /** The flow's detected app protocol (AppProtocol.name, 'failed' or 'unknown'), for `app-layer-protocol:`; undefined: not known (no match for such signatures). */
  appProto?: string;
  /** The packet's header bytes by buffer name (`tcp.hdr`…), null when the packet has no such header; absent: no packet (header buffers never match). */
  packetHeader?: (buffer: string) => Uint8Array | null;
}

/**
 * Evaluates every payload condition, dsize and flowbits test of one signature on `data[0..length)`
 * (the reassembled stream of the signature's direction from its first byte, or one packet's payload
 * for `stream: 'no'`). Pure; implemented by src/signatures/verify.ts as
 * `verifySignature(sig, data, length, ctx, meter?): boolean`; `meter` runs the pcre conditions under the
 * engine's limits and inspection budget (default: default limits, no budget). Flowbit set/unset side effects are applied by
 * the caller after a match (so a verify is free of side effects and can be repeated).
 */
export type VerifyFn = (sig: Signature, data: Uint8Array, length: number, ctx: VerifyContext, meter?: RegexMeter) => boolean;
