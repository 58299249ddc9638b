/**
 * The application-layer protocols the engine knows, in probing order. A protocol folder adds
 * its `AppProtocol` here and nothing else: the framework probes and parses with it, and the rule
 * loader (src/signatures) takes its rule protocols, buffers and keywords from this list, so
 * `alert <proto>` rules using them load.
 */
import type { AppBufferSpec, AppKeywordSpec, AppProtocol } from './types.js';
import { httpProtocol } from './http/protocol.js';
import { TLS_PROTOCOL } from './tls/index.js';
import { SSH_PROTOCOL } from './ssh/index.js';
import { dcerpcProtocol } from './dcerpc/index.js';
import { smbProtocol } from './smb/index.js';
import { FTP_DATA_PROTOCOL, FTP_PROTOCOL } from './ftp/index.js';
import { SMTP_PROTOCOL } from './smtp/index.js';
import { POP3_PROTOCOL } from './pop3/index.js';
import { IMAP_PROTOCOL } from './imap/index.js';
import { BANNER_PROTOCOLS } from './banners/index.js';
import { DNS_PROTOCOL } from './dns/index.js';
import { WEBSOCKET_PROTOCOL } from './websocket/index.js';

/**
 * Probing order matters where patterns overlap:
 * - dcerpc before smb: the DCERPC keywords and buffers (shared by both) resolve to `dcerpc`, so
 *   `alert tcp … dcerpc.iface` rules belong to dcerpc and run on DCERPC over TCP and over SMB;
 * - FTP before POP3 (both accept `USER ` from the client; a POP3 server's `+OK` greeting
 *   identifies POP3 before the client speaks);
 * - ftp-data is never probed (created from an FTP expectation), it is listed for its rule
 *   protocol and keywords;
 * - dns last, and only on server port 53 (`probePortsOnly`): its length-prefix check is weak;
 * - websocket is only ever taken after HTTP announced it (`upgradeOnly`).
 */
export const APP_PROTOCOLS: readonly AppProtocol[] = [
  httpProtocol, TLS_PROTOCOL, SSH_PROTOCOL, dcerpcProtocol, smbProtocol,
  FTP_PROTOCOL, SMTP_PROTOCOL, POP3_PROTOCOL, IMAP_PROTOCOL, ...BANNER_PROTOCOLS, FTP_DATA_PROTOCOL, DNS_PROTOCOL, WEBSOCKET_PROTOCOL,
];

/** The protocol whose `ruleProtocols` include `proto` (`alert http` → http), if registered. */
export function appProtocolForRule(proto: string): AppProtocol | undefined {
  return APP_PROTOCOLS.find((p) => p.ruleProtocols.includes(proto));
}

/**
 * Buffer by sticky name or alias across protocols, with its protocol. Several protocols share
 * names (`file.data` of http, smtp, ftp-data): `preferred` (the rule's app protocol, when known)
 * is looked at first.
 */
export function findAppBuffer(name: string, preferred?: string): { protocol: AppProtocol; spec: AppBufferSpec } | undefined {
  if (preferred !== undefined) {
    const p = APP_PROTOCOLS.find((x) => x.name === preferred);
    const s = p?.buffers.find((x) => x.name === name || x.aliases.includes(name));
    if (p !== undefined && s !== undefined) return { protocol: p, spec: s };
  }
  for (const p of APP_PROTOCOLS) {
    for (const s of p.buffers) if (s.name === name || s.aliases.includes(name)) return { protocol: p, spec: s };
  }
  return undefined;
}

/** Non-buffer keyword by name or alias across protocols. */
export function findAppKeyword(name: string): { protocol: AppProtocol; spec: AppKeywordSpec } | undefined {
  for (const p of APP_PROTOCOLS) {
    for (const k of p.keywords) if (k.name === name || k.aliases.includes(name)) return { protocol: p, spec: k };
  }
  return undefined;
}
