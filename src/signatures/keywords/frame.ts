/**
 * The `frame:` sticky buffer (Suricata 7, detect-frame.c): `frame:<proto>.<type>` or, in a rule
 * whose protocol is an app protocol, the short `frame:<type>`. The first dotted part is the
 * protocol when it names an app-layer protocol (`tls.pdu`, `ssh.record.pdu`, `http1.response`);
 * otherwise the whole value is a type of the rule's protocol (`frame:smb2.pdu` in `alert smb`).
 * Types are those Suricata's parser of the protocol registers; this engine's parser must create
 * them (AppProtocol.frameTypes), else the rule is skipped with a named reason.
 */
import { APP_PROTOCOLS } from '../../engine/app-layer/registry.js';
import { Unsupported } from '../options.js';

/** Suricata's app-layer protocol names (StringToAppProto), `http1` and `http` being ours `http`. */
const SURICATA_APP_PROTOS: ReadonlySet<string> = new Set([
  'http', 'http1', 'http2', 'ftp', 'ftp-data', 'smtp', 'tls', 'ssh', 'imap', 'pop3', 'smb', 'dcerpc', 'dns', 'doh2',
  'modbus', 'enip', 'dnp3', 'nfs', 'ntp', 'tftp', 'ike', 'krb5', 'quic', 'dhcp', 'snmp', 'sip', 'rfb', 'mqtt',
  'pgsql', 'telnet', 'websocket', 'ldap', 'rdp', 'bittorrent-dht', 'mdns', 'template', 'pop3', 'sdp', 'ssdp',
]);

/** Our protocol name for a Suricata app protocol name in a frame (`http1` → `http`). */
function ourProto(name: string): string {
  return name === 'http1' ? 'http' : name;
}

export class FrameError extends Error {}

/**
 * Resolves a `frame:` value against the rule's app protocol (undefined for `alert tcp`):
 * the protocol and frame type, or a FrameError (Suricata refuses the rule) or Unsupported.
 */
export function resolveFrame(value: string | undefined, ruleApp: string | undefined): { protocol: string; type: string } {
  const v = (value ?? '').trim();
  if (!/^[A-Za-z0-9_.-]+$/.test(v)) throw new FrameError(`frame: bad frame name "${v.slice(0, 60)}"`);
  const dot = v.indexOf('.');
  const head = dot > 0 ? v.slice(0, dot) : '';
  const long = head !== '' && SURICATA_APP_PROTOS.has(head);
  let protocol: string;
  let type: string;
  if (long) {
    protocol = ourProto(head);
    type = v.slice(dot + 1);
    if (ruleApp !== undefined && ruleApp !== protocol) throw new FrameError(`frame '${v}' protocol '${head}' mismatch with rule protocol '${ruleApp}'`);
  } else {
    if (ruleApp === undefined) throw new FrameError(`rule protocol unknown, can't use shorthand notation for frame '${v}'`);
    protocol = ruleApp;
    type = v;
  }
  const p = APP_PROTOCOLS.find((x) => x.name === protocol);
  if (p === undefined) throw new Unsupported(`protocol ${protocol}`);
  if (type === 'stream') throw new Unsupported('frame stream');
  if (p.frameTypes?.includes(type) !== true) throw new Unsupported(`frame ${protocol}.${type}`);
  return { protocol, type };
}
