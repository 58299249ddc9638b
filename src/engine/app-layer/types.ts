/**
 * Contract of the application-layer stage (issues 10 and 11): between stream reassembly and
 * detection. Per TCP flow the framework detects the protocol of each direction by content
 * (probes; ports are only a hint for the probing order), then hands the in-order bytes of both
 * directions to one `AppParser`, which turns them into transactions whose named buffers and
 * keywords the detect stage inspects with Suricata's semantics.
 *
 * A protocol is one folder `src/engine/app-layer/<proto>/` exporting one `AppProtocol` (pure:
 * no I/O, no clock — timestamps come with the data, never throws on input), registered in the
 * framework's protocol list. Adding a protocol never touches the stream or detect stages: the
 * detect stage reads buffers and keywords through the tables here.
 *
 * Memory and work are bounded: every parser has limits (field sizes, pending bytes, open
 * transactions) and reports the bytes it holds (`memory()`, read after every feed: keep it cheap);
 * the framework (detect/app-tx.ts) enforces a per-flow and a global budget
 * (`engine.appLayer.maxFlowMemory` / `maxMemory`), stops the app-layer parsing of a flow that hits
 * one and counts it (`bulwark_applayer_limits_total{limit}`).
 */

import type { FileHashAlgo } from './filehash.js';

/** Suricata's app-layer protocol names (the `app_proto` of EVE, `app-layer-protocol:` values). */
export type AppProtoName =
  | 'http' | 'tls' | 'ssh' | 'smb' | 'dcerpc' | 'ftp' | 'ftp-data' | 'smtp' | 'imap' | 'pop3'
  | 'rdp' | 'vnc' | 'mysql' | 'pgsql' | 'redis' | 'mongodb' | 'ldap' | 'dns' | 'websocket';

/** Direction of a stream, named like Suricata's `flow:` keyword values. */
export type AppDirection = 'to_server' | 'to_client';

/** Probe verdict on the first bytes of one direction. */
export type AppProbeResult = 'match' | 'no' | 'need-more';

/** Why a parser stopped for good (bounded metric label set per protocol). */
export type AppParserState =
  /** Parsing. */
  | 'ok'
  /** The connection switched protocol (STARTTLS → tls, HTTP CONNECT/101 → re-detect): see `upgradeTo`. */
  | 'upgrade'
  /** Parsing stopped for good (invalid data that cannot be resynchronised, a limit, a gap); txs so far stay readable. */
  | 'failed';

/**
 * One transaction (HTTP request/response pair, SMB command, TLS handshake, SSH banner
 * exchange, FTP command/reply, SMTP mail...). Buffers are read by name from the protocol's
 * buffer table; a buffer that does not exist (yet) is null.
 */
export interface AppTx {
  /** 0-based per flow and protocol, in order: EVE `tx_id`. */
  readonly id: number;
  /** Per-direction progress, protocol-defined ordinals; `complete(dir)` says when that side is done. */
  progress(dir: AppDirection): number;
  complete(dir: AppDirection): boolean;
  /**
   * The named buffer can no longer appear in `dir`: the tx progressed past the part that holds it
   * (Suricata's `eof` for an inspect engine: progress > the engine's registered progress, which is
   * when `absent` decides on a buffer that does not exist). Absent: `complete(dir)`.
   */
  bufferFinal?(name: string, dir: AppDirection): boolean;
  /** A single buffer of this tx in `dir` (a spec with `multi: false`), or null when absent. */
  buffer(name: string, dir: AppDirection): Uint8Array | null;
  /** Every instance of a multi-buffer (`multi: true`), in order; [] when none. */
  multiBuffer(name: string, dir: AppDirection): readonly Uint8Array[];
  /**
   * A number that stays the same only while every buffer and multi-buffer of `dir` that is not
   * append-only (AppBufferSpec.appendOnly) holds the same bytes: two calls returning the same
   * number saw the same such buffers (and numbers are not reused by another tx). The detect
   * stage then reuses the prefilter candidates it found on them at that number and reads only
   * the append-only buffers (an HTTP response is inspected per body segment, a request per
   * header segment, with nothing else new to prefilter). Absent: no reuse.
   */
  buffersVersion?(dir: AppDirection): number;
  /** Suricata `app-layer-event:` names raised on this tx (`<proto>.<event>`), for the detect stage and EVE. */
  readonly events: readonly string[];
  /** DCERPC calls: the PDU's data representation is little endian (drep), for byte_test/byte_jump `dce`. */
  readonly dceLittleEndian?: boolean;
}

/** One sticky buffer / content modifier a protocol offers to rules. */
export interface AppBufferSpec {
  /** Suricata's sticky-buffer name, e.g. `tls.sni`, `smb.named_pipe`. */
  readonly name: string;
  /** Other names Suricata accepts for it: legacy sticky names (`tls_sni`) and content modifiers. */
  readonly aliases: readonly string[];
  /** Directions the buffer exists in. */
  readonly directions: readonly AppDirection[];
  /** One instance per tx (false) or several (true, e.g. `tls.certs`): use `AppTx.multiBuffer`. */
  readonly multi: boolean;
  /** The content of a match must be lowercase (Suricata refuses the rule otherwise). */
  readonly lowercaseOnly: boolean;
  /** pcre buffer flag letter when Suricata has one. */
  readonly pcreFlag: string | null;
  /**
   * While its tx is open the buffer only grows: every read starts with the bytes of the previous
   * read of the same tx and direction (wherever they are stored now). The detect stage's
   * prefilter then scans only the new bytes (HTTP bodies: without it, every chunk of a body
   * rescanned the whole body). Absent: false.
   */
  readonly appendOnly?: boolean;
  /**
   * Once a tx returns the buffer, the same array holds the same bytes for as long as the tx
   * returns that array (a change makes a new one, e.g. HTTP's header buffers rebuilt when
   * trailers arrive). The detect stage's prefilter then scans it once per tx and direction and
   * reuses what it found while the tx is re-inspected (Suricata runs each tx prefilter engine
   * once per tx progress). Absent: false (scanned at every inspection).
   */
  readonly stable?: boolean;
}

/**
 * A non-buffer keyword a protocol defines (`tls.version`, `ssh.protoversion`, `dcerpc.iface`,
 * `dcerpc.opnum`, `smb.version`, `tls_cert_expired`, `ftpbounce`...): parsed once at rule load,
 * matched per tx. `parse` throws an Error whose message names what is wrong; the loader turns it
 * into a skip reason with the rule's location.
 */
export interface AppKeywordSpec<P = unknown> {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly directions: readonly AppDirection[];
  parse(value: string | null): P;
  match(tx: AppTx, dir: AppDirection, parsed: P, tsUs: number): boolean;
}

/** What the framework gives a parser: its limits (protocol-defined, with defaults) and the flow's ports. */
export interface AppParserContext {
  readonly serverPort: number;
  readonly clientPort: number;
  /**
   * Addresses of the flow's client and server as text (IPv4 dotted quad, IPv6 as Node prints
   * it), when the framework knows them: FTP's `ftpbounce` compares the PORT address with the
   * client's (Suricata compares with the flow source); without it `ftpbounce` never matches.
   */
  readonly clientAddr?: string;
  readonly serverAddr?: string;
  /**
   * Suricata's AppLayerRequestProtocolChange: a parser about to switch protocol asks first.
   * False (refused, counted as `to="refused"` on bulwark_applayer_protocol_changes_total) while
   * the flow's previous change is still in progress: its new protocol not yet detected, or
   * parsing the data it was detected with. A refused parser raises its FAILED_PROTOCOL_CHANGE
   * event and does not switch. Absent: every change is granted.
   */
  readonly requestProtocolChange?: () => boolean;
  /** Settings of the configuration for the protocols (engine.appLayer.<protocol>); absent: the parsers' defaults. */
  readonly settings?: AppLayerSettings;
  /**
   * Record Suricata's frames (`AppParser.takeFrames`): only when the ruleset has `frame:`
   * rules for this protocol, so parsers do no frame work otherwise. Absent: false.
   */
  readonly frames?: boolean;
  /**
   * Digests to compute of every file (`filemd5`/`filesha1`/`filesha256` rules of this protocol,
   * see ./filehash.ts): only when the ruleset has such rules. Absent: none.
   */
  readonly fileHashes?: readonly FileHashAlgo[];
}

/** Per-protocol settings from the configuration (engine.appLayer), handed to every parser. */
export interface AppLayerSettings {
  /** HTTP: Suricata's libhtp request-body-limit / response-body-limit, in bytes. */
  readonly http?: { readonly requestBodyLimit: number; readonly responseBodyLimit: number };
}

/**
 * A frame (Suricata 7 app-layer frames, app-layer-frames.c): a protocol unit of one direction's
 * stream (an SMB2 message, its header, a TLS record...) that `frame:` rules inspect as a buffer.
 * The bytes are the stream's, read by the framework; the parser only says where they are.
 */
export interface AppFrame {
  /** Suricata's frame type name within the protocol (`smb2.hdr`, `pdu`, `record.data`). */
  readonly type: string;
  /** Stream offset of the first byte, counted from the first byte fed to this parser in the direction (gaps included). */
  readonly offset: number;
  /** Length in bytes; -1 when the frame runs to an end the parser does not know yet. */
  readonly len: number;
  /** The transaction the frame belongs to, when the parser ties it to one (EVE `frame.tx_id`). */
  readonly txId?: number;
}

/**
 * A flow announced by another one (Suricata's app-layer expectation, AppLayerExpectationCreate):
 * FTP's PASV/EPSV/PORT/EPRT followed by RETR/STOR announce a data connection. The framework
 * keeps it (bounded, with an expiry) and, when a new TCP flow between the same two hosts has
 * `port` as its server port, gives that flow this parser instead of probing its content.
 */
export interface AppExpectation {
  readonly proto: AppProtoName;
  /** Server port of the expected flow. */
  readonly port: number;
  /**
   * The expected flow's client is the announcing flow's server (FTP active mode: the FTP server
   * connects to the port the client announced); false: the announcing flow's client connects.
   */
  readonly reversed: boolean;
  /** The parser of the expected flow. */
  create(ctx: AppParserContext): AppParser;
}

/** The per-flow parser of one protocol: in-order bytes in, transactions out. */
export interface AppParser {
  /** In-order stream bytes of one direction (`data[off, off+len)`; the parser copies what it keeps). */
  feed(dir: AppDirection, data: Uint8Array, off: number, len: number, tsUs: number): void;
  /** `len` bytes are missing in `dir` (a reassembly gap): resynchronise or fail. */
  gap(dir: AppDirection, len: number): void;
  /** The direction ended (FIN/RST/flow timeout). */
  end(dir: AppDirection): void;
  readonly state: AppParserState;
  /** Why it failed (bounded label), when `state` is 'failed'. */
  readonly failReason: string | null;
  /** With `state` 'upgrade': the protocol the bytes after the switch belong to (null: re-detect). */
  readonly upgradeTo: AppProtoName | null;
  /** Open transactions in id order (released ones are gone). */
  txs(): Iterable<AppTx>;
  /** The detect stage is done with txs up to and including `id`: free them. */
  release(id: number): void;
  /** Bytes held by this parser (buffers, pending data), for the memory budget. */
  memory(): number;
  /** Counters since creation (malformed input, limits hit...), bounded names, for metrics. */
  counters(): Readonly<Record<string, number>>;
  /**
   * With `state` 'upgrade': the bytes of each direction that came after the switch in the data
   * that caused it (a WebSocket frame in the segment of HTTP's 101), once; the framework hands
   * them to the next protocol before anything later. Absent: none are ever kept.
   */
  takeUpgradeData?(): { to_server: Uint8Array | null; to_client: Uint8Array | null };
  /** Flows this one announced since the last call (FTP data connections); absent: never any. */
  takeFlowExpectations?(): AppExpectation[];
  /**
   * Frames created in `dir` since the last call, in creation order (only with
   * `AppParserContext.frames`); absent: the protocol has none.
   */
  takeFrames?(dir: AppDirection): readonly AppFrame[];
  /**
   * The flow's app layer is dropped for good (ended, over its budget, failed): nothing reads
   * this parser's transactions, their buffers or anything they handed out again, so storage
   * can be reused for other flows. Absent: nothing to give back.
   */
  dispose?(): void;
}

/** A protocol the framework can detect and parse. */
export interface AppProtocol {
  readonly name: AppProtoName;
  /**
   * Rule protocols (`alert <proto> …`) satisfied by a flow of this protocol: its own name, plus
   * e.g. 'dcerpc' for SMB flows carrying DCERPC (Suricata runs dcerpc rules over SMB too).
   */
  readonly ruleProtocols: readonly string[];
  /** Ports tried first when probing (hint only; never required, unless `probePortsOnly`). */
  readonly hintPorts: readonly number[];
  /**
   * Probe only flows whose server port is in `hintPorts` (Suricata's probing parsers registered
   * on a detection port, like DNS over TCP on 53): for protocols whose content check is weak.
   */
  readonly probePortsOnly?: boolean;
  /**
   * Never probed on a fresh flow: only when a protocol change announced it (`upgradeTo`, e.g.
   * HTTP's 101 with `Upgrade: websocket`), where its (weak) probe then confirms it.
   */
  readonly upgradeOnly?: boolean;
  /** Which direction(s) can identify the protocol (servers that speak first: SSH, FTP, SMTP banners). */
  readonly probeDirections: readonly AppDirection[];
  /**
   * Content detection on the first `len` bytes of `dir`. A 'no' is final: given more bytes of
   * the same direction (the same prefix, longer), the probe says 'no' again, so the framework
   * does not ask it again for that direction (see `probeMayRevise`).
   */
  probe(dir: AppDirection, data: Uint8Array, len: number): AppProbeResult;
  /**
   * The probe may answer 'no' to a prefix and something else to a longer one (SMTP's greeting
   * check looks at the whole first line once it has it): asked again on every chunk while the
   * flow probes.
   */
  readonly probeMayRevise?: boolean;
  /** A new parser for one flow. */
  create(ctx: AppParserContext): AppParser;
  readonly buffers: readonly AppBufferSpec[];
  readonly keywords: readonly AppKeywordSpec[];
  /**
   * Suricata's names (`app-layer-event:<proto>.<name>`, lower case, without the prefix) of the
   * events this parser raises on its transactions (`AppTx.events`). A rule naming another event
   * of the protocol is skipped ("unsupported event ..."): it could never fire. Absent: none.
   */
  readonly events?: readonly string[];
  /**
   * The EVE object for this protocol (`http`, `tls`, `smb`...) of a tx, for alerts: written under
   * `eveKey` (default: the name with '-' → '_', Suricata's `ftp_data`); an empty object is not
   * written (Suricata logs no object for protocols without an EVE logger).
   */
  eve(tx: AppTx): Record<string, unknown>;
  readonly eveKey?: string;
  /**
   * Other top-level EVE objects Suricata writes with this protocol's alerts, by key (SMTP's
   * `email` object next to `smtp`); absent when the protocol has none.
   */
  readonly eveExtra?: (tx: AppTx) => Record<string, Record<string, unknown>>;
  /**
   * The tx's files for the EVE `files` array of its alerts (Suricata's AlertAddFiles /
   * EveFileInfo: `filename`, `gaps`, `state` OPEN|CLOSED|TRUNCATED, `stored`, `size`, `tx_id`,
   * `md5` when computed); absent or [] when the tx has none.
   */
  readonly files?: (tx: AppTx) => readonly Record<string, unknown>[];
  /**
   * Suricata's frame type names this parser creates (`frame:` rules naming another one are
   * skipped: they could never match). Absent: none.
   */
  readonly frameTypes?: readonly string[];
}
