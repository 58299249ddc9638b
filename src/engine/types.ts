/**
 * The engine's outputs, consumed by src/service (wiring), src/blocklist (response) and
 * src/isolation (automatic isolation policy). Event fields are documented in docs/events.md.
 */
import type { Severity, SignatureAction, DetectorKind, RuleAction } from '../signatures/types.js';

/**
 * This host's own IP addresses, as the live engine needs them (kept current by the service; the
 * engine only looks them up). An inbound packet with one of them as source is spoofed; on links
 * without MAC addresses a packet to none of them is not for this host.
 */
export interface LocalAddresses {
  /** False until the service has read the addresses once: address checks are skipped meanwhile. */
  readonly known: boolean;
  /** IPv4 address as an unsigned 32-bit number. */
  has4(addr: number): boolean;
  /** IPv6 address: 16 bytes of `buf` from `offset`. */
  has6(buf: Uint8Array, offset: number): boolean;
}

/** One "Network attack detected" finding, before folding and before the response decision. */
export interface Detection {
  /** Packet timestamp (ms since epoch) of the packet that completed the match. */
  timestampMs: number;
  /** Stable id of the flow (EVE flow_id); 0 for detector findings not tied to one flow. */
  flowId: bigint;
  srcIp: string;
  srcPort: number;
  destIp: string;
  destPort: number;
  /** EVE proto: 'TCP' for flows and detectors; decode-event alerts name their packet's protocol ('UDP', 'IPV6-ICMP', a number, '' without IP). */
  proto: string;
  signatureId: number;
  rev: number;
  /** Signature matches: the Suricata rule action (`alert`, `drop`, `reject`…; YAML `block` = drop). */
  ruleAction?: RuleAction;
  /** IPS simulation (`scan --simulate-ips`): a drop/reject rule's alert, whose packet Suricata would have dropped (EVE alert.action blocked). */
  ipsDrop?: boolean;
  /** Signature or detector name, e.g. "Intrusion.HTTP.Log4Shell.JNDI". */
  signature: string;
  category: string;
  severity: Severity;
  /** What the signature asks for; the service applies the configured action mode on top. */
  action: SignatureAction;
  /** Set for behavioural detector findings. */
  detector?: DetectorKind;
  /**
   * True when the source completed a TCP handshake on the flow that matched (or, for detectors,
   * completed one recently): only such evidence may lead to a block (spoofable otherwise). Live,
   * the handshake counts only when this host's side of it was seen leaving this host
   * (docs/engine.md, "Handshake evidence").
   */
  handshakeCompleted: boolean;
  /**
   * Detector findings: `half-open` when the evidence is SYNs or FIN/NULL/Xmas probes only (anyone
   * can send them in any address's name), `handshake` when the source's own handshakes completed.
   * Login-failure findings (sshd authentication failures) say `login-failure`.
   */
  evidence?: 'half-open' | 'handshake' | 'login-failure';
  /**
   * Half-open findings keyed by their source: the source is a verified peer (completed a verified
   * handshake before the finding's window, within 24 h, and raised no detection since).
   */
  verifiedPeer?: boolean;
  /** Bounded printable excerpt of the payload around the match (≤ 256 chars). */
  payloadExcerpt?: string;
  /** App-layer signature matches: the flow's protocol (EVE `app_proto`), the tx id and the protocol objects by EVE key (`http`, `tls`, `email`…). */
  appProto?: string;
  /** The flow's protocol before a protocol change (STARTTLS: `smtp`), EVE `app_proto_orig`. */
  appProtoOrig?: string;
  txId?: number;
  /**
   * 1-based number of the captured packet whose processing raised the match (Suricata's EVE
   * `pcap_cnt`: in a file, the packet's position; live, the engine's packet count). Absent for
   * matches raised outside a packet (flow timeout, end of file), as Suricata omits it for its pseudo packets.
   */
  pcapCnt?: number;
  appEve?: AppEveObjects;
  /**
   * Suricata's EVE `pkt_src`: where the packet that raised the match came from — `wire/pcap`
   * (captured), `defrag` (rebuilt from IP fragments) or `stream (flow timeout)` (raised when the
   * flow ended: timeout, end of file, shutdown). Absent for detector findings.
   */
  pktSrc?: 'wire/pcap' | 'defrag' | 'stream (flow timeout)';
  /**
   * The packet that raised a signature match, with its link-layer header (a copy), and the
   * capture's link type (EVE `packet`, `packet_info`). Absent without such a packet (flow timeout,
   * detector findings).
   */
  packet?: { data: Uint8Array; linkType: number };
  /**
   * Signature matches on a flow: the inspected data (EVE `payload`, `payload_printable`,
   * `payload_length`, `stream`). `stream` true for stream and app-layer (transaction) matches:
   * `data` is then the direction's stream as Suricata dumps it (gaps as "[N bytes missing]",
   * at most 4 KiB); false for packet matches: the packet's payload.
   */
  payload?: { data: Uint8Array; stream: boolean };
  /** Signature matches on a flow: which way the packet that raised it went (EVE `direction`). */
  direction?: 'to_server' | 'to_client';
  /**
   * Signature matches on a flow: the flow's counters when it matched (EVE alert `flow` object):
   * packets and bytes (whole frames) each way, its start, and its endpoints as the flow sees them
   * (source = client).
   */
  flow?: FlowCounters;
  /** EVE `files` of an app-layer alert: the tx's files as Suricata's alert writes them (EveFileInfo: filename, gaps, state, stored, size, tx_id). */
  appFiles?: readonly Record<string, unknown>[];
  /** A `frame:` signature's match: the frame it matched (EVE alert `frame` object). */
  frame?: AlertFrame;
  /** Imported rules: classtype, priority and metadata as written (for response policies). */
  classtype?: string;
  priority?: number;
  metadata?: readonly [string, string][];
  /**
   * Imported rules: `alert.category`, `alert.severity` and `alert.references` as Suricata's EVE
   * writes them (class description, numeric priority, reference URLs); they replace bulwark's
   * classtype name and severity scale in the alert object.
   */
  eve?: { readonly category: string; readonly severity: number; readonly references: readonly string[] };
  /** Signature generator id (Suricata `gid`; 1 unless the rule says otherwise). Absent for detectors. */
  gid?: number;
  /** Imported rules: Suricata `target:` (which side is attacked), EVE alert.source / alert.target. */
  target?: 'src_ip' | 'dest_ip';
  /**
   * Suricata 8 EVE `alert.context`: what the rule's JSON dataset lookups found (context key →
   * the item's object) and its pcre `alert_*` captures (name → text).
   */
  context?: Record<string, unknown>;
  /**
   * Suricata's EVE `metadata.flowvars` / `metadata.pktvars`: the flow's pcre `flow:` captures
   * when the rule matched (its own included), and the rule's `pkt:` captures.
   */
  flowvars?: readonly [string, string][];
  pktvars?: readonly [string, string][];
  /** Where the signature came from (a bulwark YAML database or an imported `.rules` file). Absent for detectors. */
  origin?: 'yaml' | 'rules';
  /**
   * A threshold.config `rate_filter` is active for this match and changes its action (Suricata's
   * `new_action`): it takes precedence over the response policy. `source` is "FILE:LINE".
   */
  newAction?: { action: 'alert' | 'block'; source: string };
  /** Detector details: distinct ports, connection count, window... */
  details?: Record<string, number | string>;
}

/** A flow's counters and endpoints when a signature matched on it (source = the flow's client). */
export interface FlowCounters {
  pktsToServer: number;
  pktsToClient: number;
  bytesToServer: number;
  bytesToClient: number;
  startMs: number;
  srcIp: string;
  destIp: string;
  srcPort: number;
  destPort: number;
}

/** The EVE alert `flow` object (Suricata's EveAddFlow plus the flow's endpoints). */
export interface FlowSummary {
  pkts_toserver: number;
  pkts_toclient: number;
  bytes_toserver: number;
  bytes_toclient: number;
  start: string;
  src_ip: string;
  dest_ip: string;
  src_port: number;
  dest_port: number;
}

/** Protocol objects of an app-layer alert by EVE key (`http`, `tls`, `email`...). */
export type AppEveObjects = Record<string, Record<string, unknown>>;

/**
 * The EVE keys of protocol objects an alert may carry (Suricata's AlertAddAppLayer names for the
 * protocols bulwark parses); other keys a protocol returns are not written.
 */
export const APP_EVE_KEYS = ['http', 'tls', 'ssh', 'smb', 'dcerpc', 'ftp', 'ftp_data', 'smtp', 'email', 'pop3', 'dns', 'websocket'] as const;
export type AppEveKey = (typeof APP_EVE_KEYS)[number];

/** EVE-JSON compatible alert line (plus bulwark fields). See docs/events.md. */
export interface AlertEvent extends Partial<Record<AppEveKey, Record<string, unknown>>> {
  timestamp: string;
  flow_id: string;
  event_type: 'alert';
  src_ip: string;
  src_port: number;
  dest_ip: string;
  dest_port: number;
  proto: string;
  /** Number of the packet that raised the match in its capture (Suricata's `pcap_cnt`). */
  pcap_cnt?: number;
  /** Suricata's verdict (`bulwark scan`): alert, or drop for a drop rule under --simulate-ips. */
  verdict?: { action: 'alert' | 'drop' };
  /** App-layer matches (Suricata EVE): protocol, transaction id, and the protocol objects under their names (`http`, `tls`...). */
  app_proto?: string;
  /** The protocol before a protocol change (STARTTLS), as Suricata's EveAddAppProto writes it. */
  app_proto_orig?: string;
  tx_id?: number;
  /** Where the packet that raised the match came from (Suricata's pkt_src). */
  pkt_src?: string;
  direction?: 'to_server' | 'to_client';
  flow?: FlowSummary;
  /** The inspected data (base64), as printable text, its length, and whether it is stream data (1) or the packet's payload (0). */
  payload?: string;
  payload_printable?: string;
  payload_length?: number;
  stream?: 0 | 1;
  /** The packet that raised the match, base64, with its link-layer header. */
  packet?: string;
  packet_info?: { linktype: number; linktype_name: string };
  /** Files of the alert's tx (Suricata's alert `files`): see Detection.appFiles. */
  files?: Record<string, unknown>[];
  /** The frame a `frame:` signature matched (Suricata's FrameJsonLogOneFrame). */
  frame?: {
    type: string;
    id: number;
    direction: 'toserver' | 'toclient';
    stream_offset: number;
    length: number;
    complete: boolean;
    payload: string;
    payload_printable: string;
    tx_id?: number;
  };
  /** Suricata's flow and packet variables of the alert (pcre captures): one object per variable. */
  metadata?: { flowvars?: Record<string, string>[]; pktvars?: Record<string, string>[] };
  alert: {
    action: 'allowed' | 'blocked';
    signature_id: number;
    rev: number;
    signature: string;
    category: string;
    severity: number; // EVE: 1 = highest
    /** Imported rules: Suricata's gid. */
    gid?: number;
    /** Imported rules with `reference:` keywords: the references as URLs (Suricata's reference.config prefixes). */
    references?: string[];
    /** Imported rules: `metadata` as Suricata's EVE writes it (key → values, in rule order). */
    metadata?: Record<string, string[]>;
    /** Rules with `target:`: the attacker (source) and the attacked side (target). */
    source?: { ip: string; port: number };
    target?: { ip: string; port: number };
    /** Suricata 8: JSON dataset objects and pcre alert captures of the match (Detection.context). */
    context?: Record<string, unknown>;
  };
  bulwark: {
    event: 'Network attack detected';
    event_id: string;
    attack: string;
    severity: Severity;
    detector?: DetectorKind;
    /** Repeats of (source, signature) folded into this event. */
    count: number;
    blocked_until?: string;
    block_skipped?: string;
    payload_excerpt?: string;
    details?: Record<string, number | string>;
    /** What the block decision rested on (docs/events.md): half-open, handshake or login-failure. */
    evidence?: 'half-open' | 'handshake' | 'login-failure';
    /** What the response policy decided for this detection and why (docs/response.md). */
    response?: { action: 'block' | 'alert'; policy_rule: string; reason: string };
  };
}

/**
 * The frame a `frame:` signature matched (Suricata's alert `frame` object, FrameJsonLogOneFrame):
 * type name, id (per direction, from 1), direction, stream offset, length, whether its bytes were
 * all there, its first 256 bytes, and its tx when the parser tied it to one.
 */
export interface AlertFrame {
  type: string;
  id: number;
  direction: 'toserver' | 'toclient';
  streamOffset: number;
  length: number;
  complete: boolean;
  payload: Uint8Array;
  txId?: number;
}
