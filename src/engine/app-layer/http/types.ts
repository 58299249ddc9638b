/**
 * Contract of the HTTP/1.x application-layer parser (issue 10): one `HttpParser` per TCP
 * connection turns the two in-order byte streams into transactions the way libhtp 0.5.x
 * (Suricata 7) / libhtp-rs (Suricata 8) does with Suricata's default configuration
 * (personality IDS, see ./README.md for every rule and its source), and the buffer table gives
 * Suricata's HTTP sticky buffers / content modifiers over those transactions.
 *
 * Pure: no I/O, no clock (timestamps only when the caller gives them), never throws on input.
 * The app-layer framework (another folder) owns protocol detection, per-flow state, memory
 * accounting and metrics; it reads this file only.
 *
 * Implementations: ./parser.ts (`HttpParser`), ./buffers.ts (`httpBuffer`, `httpMultiBuffer`,
 * `HTTP_BUFFERS`), ./eve.ts (`httpEve`), ./probe.ts (`probeHttp`); ./index.ts re-exports them.
 */

/** Direction of a stream or buffer, named like Suricata's `flow:` keyword values. */
export type HttpDirection = 'to_server' | 'to_client';

/**
 * Progress of one side of a transaction; the ordinals are libhtp's (`HTP_REQUEST_*` /
 * `HTP_RESPONSE_*`), which Suricata exposes as the HTTP tx progress:
 * 0 not started, 1 line, 2 headers, 3 body, 4 trailer, 5 complete.
 * A value means "this part is being parsed" (libhtp sets HEADERS when header parsing starts),
 * so a buffer of part P is final once progress > P; `HTTP_BUFFERS[n].complete` says it directly.
 */
export const HttpProgress = {
  NOT_STARTED: 0,
  LINE: 1,
  HEADERS: 2,
  BODY: 3,
  TRAILER: 4,
  COMPLETE: 5,
} as const;
export type HttpProgress = (typeof HttpProgress)[keyof typeof HttpProgress];

/** Parser state of a connection. */
export type HttpParserState =
  /** Parsing HTTP/1.x. */
  | 'http'
  /**
   * The connection left HTTP: a CONNECT answered 2xx whose tunnel does not carry plain HTTP, or
   * a 101 Switching Protocols. Bytes fed after this are counted in `HttpCounters.tunnelBytes`
   * and not parsed; the framework may hand the flow to another protocol (Suricata re-runs
   * protocol detection; `tunnelUpgrade` tells which).
   */
  | 'tunnel'
  /**
   * Parsing stopped for good on this connection (libhtp's HTP_STREAM_ERROR: invalid chunk
   * length, a field over the limit, a gap where none can be resynchronised, too many
   * transactions...). `failReason` says why; transactions parsed so far stay readable.
   */
  | 'failed';

/** Why parsing stopped (`HttpParser.failReason`), one label per kind (bounded metric label). */
export type HttpFailReason =
  | 'request_field_too_long'
  | 'response_field_too_long'
  | 'invalid_request_chunk_len'
  | 'invalid_response_chunk_len'
  | 'invalid_response_content_length'
  | 'invalid_request_transfer_encoding'
  | 'invalid_request_content_length'
  | 'repeated_100_continue'
  | 'response_multipart_byteranges'
  | 'too_many_headers'
  | 'too_many_transactions'
  | 'request_gap'
  | 'response_gap'
  | 'pending_data_limit';

/**
 * Limits, all bounded; defaults are Suricata's / libhtp's (see `DEFAULT_HTTP_LIMITS`).
 * Hitting one is counted in `HttpCounters.limits` and handled the way Suricata does.
 */
export interface HttpLimits {
  /** Request body bytes kept for inspection per tx (Suricata `request-body-limit`, 100 KiB). 0 = none kept. */
  requestBodyLimit: number;
  /** Response body bytes (after decompression) kept per tx (`response-body-limit`, 100 KiB). 0 = none kept. */
  responseBodyLimit: number;
  /**
   * Largest line / header block buffered while waiting for its end (libhtp `field_limit`,
   * Suricata `HTP_CONFIG_DEFAULT_FIELD_LIMIT_HARD` 18,000). Over it: `*_FIELD_TOO_LONG`
   * event and the direction fails, like libhtp.
   */
  fieldLimit: number;
  /** Distinct header names per header block (libhtp-rs `number_headers_limit`, 1024); over it the direction fails. */
  maxHeaders: number;
  /** Repetitions of already-seen header names counted per tx before further ones are dropped (libhtp: 64). */
  maxHeaderRepetitions: number;
  /** Transactions alive (not released) per connection (Suricata `max-tx`, 512); over it the connection fails. */
  maxTransactions: number;
  /**
   * Decompressed bytes produced per body before it is declared a bomb, when the output is also
   * more than `decompressionRatio` times the compressed input (libhtp compression bomb limit
   * 1 MiB, ratio 2048). The body stops there (event `COMPRESSION_BOMB`).
   */
  decompressionBombLimit: number;
  /** See `decompressionBombLimit` (libhtp bomb ratio 2048). */
  decompressionRatio: number;
  /** Content-Encoding layers decoded (Suricata `response-body-decompress-layer-limit`, 2). */
  decompressionLayers: number;
  /**
   * Bytes of one direction held back while that side waits for the other (a response before
   * its request, data after CONNECT before the answer). Over it the connection fails.
   */
  maxPendingBytes: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  requestBodyLimit: 100 * 1024,
  responseBodyLimit: 100 * 1024,
  fieldLimit: 18_000,
  maxHeaders: 1024,
  maxHeaderRepetitions: 64,
  maxTransactions: 512,
  decompressionBombLimit: 1024 * 1024,
  decompressionRatio: 2048,
  decompressionLayers: 2,
  maxPendingBytes: 256 * 1024,
});

/**
 * The defaults with `limits` over them, frozen. Every connection of a configuration asks with
 * the same values: the last result is given again when they are (a spread and a freeze per new
 * connection were half of its construction).
 */
let lastIn: Partial<HttpLimits> | null = null;
let lastOut: Readonly<HttpLimits> = DEFAULT_HTTP_LIMITS;
export function mergedLimits(limits: Partial<HttpLimits>): Readonly<HttpLimits> {
  const keys = Object.keys(limits) as (keyof HttpLimits)[];
  if (keys.length === 0) return DEFAULT_HTTP_LIMITS;
  const prev = lastIn;
  if (prev !== null && keys.length === Object.keys(prev).length && keys.every((k) => Object.hasOwn(prev, k) && prev[k] === limits[k])) return lastOut;
  lastOut = Object.freeze({ ...DEFAULT_HTTP_LIMITS, ...limits });
  lastIn = { ...limits };
  return lastOut;
}

/** Limit kinds, the label of `HttpCounters.limits` (bounded). */
export type HttpLimitKind =
  | 'request_body'
  | 'response_body'
  | 'field'
  | 'headers'
  | 'header_repetitions'
  | 'transactions'
  | 'decompression_bomb'
  | 'decompression_layers'
  | 'pending_bytes';

/**
 * Counters of one parser, monotonic; the framework adds them into its metrics
 * (e.g. `bulwark_app_layer_http_anomalies_total{event}`), resetting nothing.
 */
export interface HttpCounters {
  /** Transactions created. */
  transactions: number;
  /** Bytes fed per direction (including tunnel bytes). */
  requestBytes: number;
  responseBytes: number;
  /** Anomalies by Suricata event name (without the `http.` prefix), e.g. `REQUEST_FIELD_MISSING_COLON`. */
  events: Partial<Record<HttpEventName, number>>;
  /** Limits hit, by kind. */
  limits: Partial<Record<HttpLimitKind, number>>;
  /** Bodies whose decompression stopped as a bomb (also counted in events.COMPRESSION_BOMB). */
  decompressionBombs: number;
  /** Bodies whose compressed data was corrupt (decoding stopped, raw bytes not used). */
  decompressionErrors: number;
  /** Gaps reported per direction, and bytes in them. */
  requestGaps: number;
  responseGaps: number;
  gapBytes: number;
  /** Gaps resynchronised inside a body of known length (parsing continued). */
  gapsResynced: number;
  /** Bytes not parsed because the connection is a tunnel or failed. */
  tunnelBytes: number;
  ignoredBytes: number;
}

/**
 * Suricata's HTTP app-layer events (`http.<NAME>` in `app-layer-event:` and
 * rules/http-events.rules), the subset libhtp/Suricata raise for HTTP/1 parsing.
 */
export type HttpEventName =
  | 'UNKNOWN_ERROR'
  | 'GZIP_DECOMPRESSION_FAILED'
  | 'REQUEST_FIELD_MISSING_COLON'
  | 'RESPONSE_FIELD_MISSING_COLON'
  | 'INVALID_REQUEST_CHUNK_LEN'
  | 'INVALID_RESPONSE_CHUNK_LEN'
  | 'INVALID_TRANSFER_ENCODING_VALUE_IN_REQUEST'
  | 'INVALID_TRANSFER_ENCODING_VALUE_IN_RESPONSE'
  | 'INVALID_CONTENT_LENGTH_FIELD_IN_REQUEST'
  | 'INVALID_CONTENT_LENGTH_FIELD_IN_RESPONSE'
  | 'DUPLICATE_CONTENT_LENGTH_FIELD_IN_REQUEST'
  | 'DUPLICATE_CONTENT_LENGTH_FIELD_IN_RESPONSE'
  | '100_CONTINUE_ALREADY_SEEN'
  | 'UNABLE_TO_MATCH_RESPONSE_TO_REQUEST'
  | 'INVALID_SERVER_PORT_IN_REQUEST'
  | 'INVALID_AUTHORITY_PORT'
  | 'REQUEST_HEADER_INVALID'
  | 'RESPONSE_HEADER_INVALID'
  | 'MISSING_HOST_HEADER'
  | 'HOST_HEADER_AMBIGUOUS'
  | 'INVALID_REQUEST_FIELD_FOLDING'
  | 'INVALID_RESPONSE_FIELD_FOLDING'
  | 'REQUEST_FIELD_TOO_LONG'
  | 'RESPONSE_FIELD_TOO_LONG'
  | 'REQUEST_LINE_INVALID'
  | 'REQUEST_BODY_UNEXPECTED'
  | 'REQUEST_SERVER_PORT_TCP_PORT_MISMATCH'
  | 'REQUEST_URI_HOST_INVALID'
  | 'REQUEST_HEADER_HOST_INVALID'
  | 'REQUEST_AUTH_UNRECOGNIZED'
  | 'REQUEST_HEADER_REPETITION'
  | 'RESPONSE_HEADER_REPETITION'
  | 'DOUBLE_ENCODED_URI'
  | 'URI_DELIM_NON_COMPLIANT'
  | 'METHOD_DELIM_NON_COMPLIANT'
  | 'REQUEST_LINE_LEADING_WHITESPACE'
  | 'TOO_MANY_ENCODING_LAYERS'
  | 'ABNORMAL_CE_HEADER'
  | 'RESPONSE_MULTIPART_BYTERANGES'
  | 'RESPONSE_ABNORMAL_TRANSFER_ENCODING'
  | 'RESPONSE_CHUNKED_OLD_PROTO'
  | 'RESPONSE_INVALID_PROTOCOL'
  | 'RESPONSE_INVALID_STATUS'
  | 'REQUEST_LINE_INCOMPLETE'
  | 'COMPRESSION_BOMB'
  | 'TOO_MANY_WARNINGS'
  | 'FAILED_PROTOCOL_CHANGE'
  | 'REQUEST_CHUNK_EXTENSION'
  | 'RESPONSE_CHUNK_EXTENSION'
  | 'REQUEST_TOO_MANY_HEADERS'
  | 'RESPONSE_TOO_MANY_HEADERS'
  | 'REQUEST_LINE_MISSING_PROTOCOL'
  | 'RESPONSE_BODY_UNEXPECTED'
  | 'GAP';

/**
 * The events of `HttpEventName` this parser actually raises (`app-layer-event:http.<name>`, case-
 * insensitive as Suricata's enum lookup); rules naming the others are skipped. GAP is bulwark's
 * own marker, not a Suricata event.
 */
export const HTTP_RAISED_EVENTS: readonly HttpEventName[] = [
  '100_CONTINUE_ALREADY_SEEN',
  'ABNORMAL_CE_HEADER',
  'COMPRESSION_BOMB',
  'DUPLICATE_CONTENT_LENGTH_FIELD_IN_REQUEST',
  'DUPLICATE_CONTENT_LENGTH_FIELD_IN_RESPONSE',
  'FAILED_PROTOCOL_CHANGE',
  'GZIP_DECOMPRESSION_FAILED',
  'HOST_HEADER_AMBIGUOUS',
  'INVALID_CONTENT_LENGTH_FIELD_IN_REQUEST',
  'INVALID_CONTENT_LENGTH_FIELD_IN_RESPONSE',
  'INVALID_REQUEST_CHUNK_LEN',
  'INVALID_REQUEST_FIELD_FOLDING',
  'INVALID_RESPONSE_CHUNK_LEN',
  'INVALID_RESPONSE_FIELD_FOLDING',
  'INVALID_TRANSFER_ENCODING_VALUE_IN_REQUEST',
  'METHOD_DELIM_NON_COMPLIANT',
  'MISSING_HOST_HEADER',
  'REQUEST_AUTH_UNRECOGNIZED',
  'REQUEST_BODY_UNEXPECTED',
  'REQUEST_CHUNK_EXTENSION',
  'REQUEST_FIELD_MISSING_COLON',
  'REQUEST_FIELD_TOO_LONG',
  'REQUEST_HEADER_HOST_INVALID',
  'REQUEST_HEADER_INVALID',
  'REQUEST_HEADER_REPETITION',
  'REQUEST_LINE_INCOMPLETE',
  'REQUEST_LINE_INVALID',
  'REQUEST_LINE_LEADING_WHITESPACE',
  'REQUEST_LINE_MISSING_PROTOCOL',
  'REQUEST_TOO_MANY_HEADERS',
  'REQUEST_URI_HOST_INVALID',
  'RESPONSE_ABNORMAL_TRANSFER_ENCODING',
  'RESPONSE_BODY_UNEXPECTED',
  'RESPONSE_CHUNKED_OLD_PROTO',
  'RESPONSE_CHUNK_EXTENSION',
  'RESPONSE_FIELD_MISSING_COLON',
  'RESPONSE_FIELD_TOO_LONG',
  'RESPONSE_HEADER_INVALID',
  'RESPONSE_HEADER_REPETITION',
  'RESPONSE_INVALID_PROTOCOL',
  'RESPONSE_INVALID_STATUS',
  'RESPONSE_MULTIPART_BYTERANGES',
  'RESPONSE_TOO_MANY_HEADERS',
  'TOO_MANY_ENCODING_LAYERS',
  'UNABLE_TO_MATCH_RESPONSE_TO_REQUEST',
  'URI_DELIM_NON_COMPLIANT',
];

/** One header as libhtp keeps it in the tx's header table. */
export interface HttpHeader {
  /** Name bytes as received (case kept; LWS between name and colon removed). */
  readonly name: Uint8Array;
  /**
   * Value: LWS trimmed at both ends, folded continuation lines joined without their line ending
   * and with all of their leading whitespace kept (libhtp 0.5: "a\r\n \t b" gives "a \t b"; the
   * folding whitespace is not reduced to one byte), stops at a NUL; repeated names
   * (case-insensitive) are joined into the first one's value with ", " (except Content-Length:
   * the first kept).
   */
  readonly value: Uint8Array;
  /** Bit set of `HttpHeaderFlags`. */
  readonly flags: number;
}

/** Flags on a header (libhtp `HTP_FIELD_*`). */
export const HttpHeaderFlags = {
  /** A continuation line was folded into this header. */
  FOLDED: 1,
  /** The name was seen more than once. */
  REPEATED: 2,
  /** No colon: name empty, the whole line is the value. */
  UNPARSEABLE: 4,
  /** Empty name, LWS before the colon, or non-token characters in the name. */
  INVALID: 8,
} as const;

/** Content coding of a body as decoded (libhtp `HTP_COMPRESSION_*`). */
export type HttpContentEncoding = 'none' | 'gzip' | 'deflate';

/**
 * Body of one side of a transaction: dechunked and (responses, and requests as Suricata
 * enables it) decompressed bytes, kept up to the body limit.
 */
export interface HttpBody {
  /** Kept bytes (≤ the direction's body limit); grows while progress is BODY/TRAILER. */
  readonly data: Uint8Array;
  /** Entity bytes produced (after dechunking and decompression), kept or not. */
  readonly seen: number;
  /** True once `seen` went past the limit: `data` is the first `limit` bytes only. */
  readonly truncated: boolean;
  /** Coding applied to produce `data` ('none' when not compressed or decoding not applied). */
  readonly encoding: HttpContentEncoding;
  /** Decoding stopped: corrupt data ('error') or bomb ('bomb'); `data` keeps what was decoded. */
  readonly decodeStopped: 'error' | 'bomb' | null;
}

/**
 * One HTTP transaction (request + its response), libhtp's `htp_tx_t` as Suricata sees it.
 * All byte fields are copies owned by the tx (never views of caller buffers). Fields absent
 * from the traffic are null. The parser mutates a tx while it is in progress.
 */
export interface HttpTx {
  /** 0-based per connection, in request order: EVE `tx_id`. */
  readonly id: number;
  readonly requestProgress: HttpProgress;
  readonly responseProgress: HttpProgress;

  // ---- request line
  /** Request line without its line ending (libhtp `request_line`). */
  readonly requestLine: Uint8Array | null;
  readonly method: Uint8Array | null;
  /** Raw request target as on the line (`http.uri.raw`). */
  readonly uriRaw: Uint8Array | null;
  /** Suricata's normalised URI (`http.uri`): see README "URI normalisation". */
  readonly uriNormalized: Uint8Array | null;
  /** Request protocol text, e.g. "HTTP/1.1" (null for HTTP/0.9). */
  readonly requestProtocol: Uint8Array | null;
  /** Parsed protocol: -2 invalid, -1 unknown, 9 = 0.9, 100 = 1.0, 101 = 1.1 (libhtp numbering). */
  readonly requestProtocolNumber: number;
  /** Request line had no protocol (HTTP/0.9 style; no headers follow). */
  readonly isHttp09: boolean;
  /** Parsed URI parts (raw), for host/port resolution and EVE. */
  readonly uriHost: Uint8Array | null;
  readonly uriPort: number | null;

  // ---- request headers
  /** Header table in first-seen order (repeated names joined). */
  readonly requestHeaders: readonly HttpHeader[];
  /** Raw header block bytes after the request line up to and including the empty line, plus any trailer block (`http.header.raw`). */
  readonly requestHeadersRaw: Uint8Array | null;
  /** Host used by Suricata (`http.host.raw`): URI authority host if any, else Host header value. */
  readonly hostRaw: Uint8Array | null;
  /** Normalised host (`http.host`): lowercased, trailing dots removed, port stripped when from the header. */
  readonly hostNormalized: Uint8Array | null;
  readonly requestContentLength: number | null;
  readonly requestChunked: boolean;
  readonly requestBody: HttpBody;
  /** Raw request entity bytes as received on the wire (before dechunking), for EVE/stats. */
  readonly requestMessageLength: number;

  // ---- response
  readonly responseLine: Uint8Array | null;
  readonly responseProtocol: Uint8Array | null;
  readonly responseProtocolNumber: number;
  /** Status code text as on the line (`http.stat_code`). */
  readonly statusCode: Uint8Array | null;
  /** Parsed status number, -1 when absent or invalid. */
  readonly statusNumber: number;
  /** Status message (`http.stat_msg`). */
  readonly statusMessage: Uint8Array | null;
  readonly responseHeaders: readonly HttpHeader[];
  readonly responseHeadersRaw: Uint8Array | null;
  readonly responseContentLength: number | null;
  readonly responseChunked: boolean;
  readonly responseBody: HttpBody;
  /** Response bytes of the message body on the wire (libhtp `response_message_len`, EVE `length`). */
  readonly responseMessageLength: number;
  /** The response was seen without a request (libhtp creates the tx; URI "/libhtp::request_uri_not_seen"). */
  readonly responseWithoutRequest: boolean;

  /** Anomaly events raised on this tx, in order, without duplicates. */
  readonly events: readonly HttpEventName[];
  /** Packet timestamp (µs) of the first request / response byte, when the caller gave one. */
  readonly requestStartUs: number | null;
  readonly responseStartUs: number | null;
}

/**
 * The per-connection parser (implemented by `HttpParser` in ./parser.ts:
 * `new HttpParser(limits?: Partial<HttpLimits>, opts?: { serverPort?: number })`).
 * Each direction is fed in order; the framework interleaves directions in capture order.
 */
export interface HttpConnectionParser {
  /** Feed in-order client→server bytes (`data[off, off+len)`, copied as needed). `tsUs`: packet time. */
  request(data: Uint8Array, off: number, len: number, tsUs?: number): void;
  /** Feed in-order server→client bytes. */
  response(data: Uint8Array, off: number, len: number, tsUs?: number): void;
  /**
   * `len` bytes are missing in the request stream. Inside a body of known remaining length the
   * parser skips them and continues (libhtp's gap handling); elsewhere the direction fails.
   */
  requestGap(len: number): void;
  responseGap(len: number): void;
  /** The client side ended (FIN/RST/flow end): finalises what ends with the stream. */
  requestEnd(): void;
  /** The server side ended: completes a response body delimited by connection close. */
  responseEnd(): void;
  /** Live transactions, oldest first (released ones removed). */
  readonly txs: readonly HttpTx[];
  /** The tx with that id if still live. */
  tx(id: number): HttpTx | undefined;
  /**
   * Release every transaction with id ≤ `upToId` that is complete in both directions (or all
   * of them up to that id when `force`): frees their memory. The detector calls it when done.
   */
  release(upToId: number, force?: boolean): void;
  readonly state: HttpParserState;
  readonly failReason: HttpFailReason | null;
  /** After a 101 upgrade: the Upgrade header value (e.g. "websocket", "h2c"); after CONNECT: "connect". */
  readonly tunnelUpgrade: string | null;
  /** Approximate bytes held by the parser and its live transactions (buffers, bodies, headers). */
  readonly memoryBytes: number;
  readonly counters: Readonly<HttpCounters>;
  readonly limits: Readonly<HttpLimits>;
}

/** Names of Suricata HTTP/1 buffers served by `httpBuffer` / `httpMultiBuffer`. */
export type HttpBufferName =
  | 'http.uri'
  | 'http.uri.raw'
  | 'http.method'
  | 'http.request_line'
  | 'http.protocol'
  | 'http.header'
  | 'http.header.raw'
  | 'http.header_names'
  | 'http.cookie'
  | 'http.user_agent'
  | 'http.host'
  | 'http.host.raw'
  | 'http.referer'
  | 'http.accept'
  | 'http.accept_lang'
  | 'http.accept_enc'
  | 'http.content_type'
  | 'http.content_len'
  | 'http.connection'
  | 'http.start'
  | 'http.request_body'
  | 'http.stat_code'
  | 'http.stat_msg'
  | 'http.response_line'
  | 'http.response_body'
  | 'http.location'
  | 'http.server'
  | 'file.data'
  | 'http.request_header'
  | 'http.response_header';

/** One row of `HTTP_BUFFERS`. */
export interface HttpBufferSpec {
  readonly name: HttpBufferName;
  /** Directions the buffer exists in; a two-direction buffer reads the request in to_server and the response in to_client. */
  readonly directions: readonly HttpDirection[];
  /**
   * The buffer is final once the progress of its direction is ≥ this value. Before, `httpBuffer`
   * returns what exists so far (bodies grow) or null; Suricata inspects body buffers while they
   * grow and the others once they exist.
   */
  readonly complete: HttpProgress;
  /** Other names Suricata accepts for it: sticky-buffer aliases and the legacy content modifier (`http_uri`...). */
  readonly aliases: readonly string[];
  /** The legacy content modifier name when one exists (`http_uri` for `http.uri`...). */
  readonly contentModifier: string | null;
  /** pcre buffer flag letter (`/U`...) when Suricata has one. */
  readonly pcreFlag: string | null;
  /** True for multi-buffers (one instance per header): use `httpMultiBuffer`. */
  readonly multi: boolean;
  /** The content of a match must be lowercase (Suricata refuses otherwise): http.host. */
  readonly lowercaseOnly: boolean;
  /** The buffer is built from normalised data (false: raw bytes). */
  readonly normalized: boolean;
}

/**
 * `probeHttp(direction, data, len)` (./probe.ts): content detection like Suricata's HTTP
 * patterns: to_server starts (offset 0, case-insensitive) with a libhtp method followed by a
 * space or tab; to_client starts with "HTTP/0.9", "HTTP/1.0" or "HTTP/1.1" (case-insensitive).
 * 'need-more' while the data is a proper prefix of such a pattern.
 */
export type HttpProbeResult = 'match' | 'no' | 'need-more';

/**
 * EVE `http` object (./eve.ts `httpEve(tx)`), Suricata's field names; a field is present only
 * when Suricata writes it (see README "EVE").
 */
export interface HttpEveObject {
  hostname?: string;
  http_port?: number;
  url?: string;
  http_user_agent?: string;
  http_content_type?: string;
  http_refer?: string;
  http_method?: string;
  protocol?: string;
  status?: number;
  redirect?: string;
  length: number;
  [extra: string]: unknown;
}
