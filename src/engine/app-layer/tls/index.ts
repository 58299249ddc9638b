/** TLS/SSL app-layer protocol: contract in ./types.ts, semantics and sources in ./README.md. */
import type { AppProtocol } from '../types.js';
import { TLS_BUFFERS } from './buffers.js';
import { tlsEve } from './eve.js';
import { TLS_KEYWORDS } from './keywords.js';
import { TlsParser } from './parser.js';
import { probeTls } from './probe.js';
import type { TlsLimits } from './types.js';

export * from './types.js';
export { TlsParser, isTls13 } from './parser.js';
export { TlsTransaction } from './tx.js';
export { TLS_BUFFERS, tlsBuffer, tlsMultiBuffer } from './buffers.js';
export { TLS_KEYWORDS } from './keywords.js';
export { tlsEve, tlsVersionString } from './eve.js';
export { probeTls } from './probe.js';
export { ja3String, ja3sString, ja4, isGrease, md5Hex } from './fingerprint.js';
export { parseCertificate, formatSerial, formatTime } from './der.js';

/** The TLS protocol with the given limits (defaults: `DEFAULT_TLS_LIMITS`). */
export function tlsProtocol(limits: Partial<TlsLimits> = {}): AppProtocol {
  return {
    name: 'tls',
    ruleProtocols: ['tls'],
    hintPorts: [443, 465, 993, 995, 636, 853, 8443, 5061],
    probeDirections: ['to_server', 'to_client'],
    probe: probeTls,
    create: (ctx) => new TlsParser(limits, { frames: ctx.frames === true }),
    frameTypes: ['pdu', 'hdr', 'data', 'alert', 'heartbeat'],
    buffers: TLS_BUFFERS,
    keywords: TLS_KEYWORDS,
    events: ['invalid_sslv2_header', 'invalid_record_version', 'invalid_record_type', 'invalid_handshake_message', 'certificate_invalid_length', 'certificate_invalid_der', 'record_overflow'],
    eve: tlsEve,
  };
}

export const TLS_PROTOCOL: AppProtocol = tlsProtocol();
