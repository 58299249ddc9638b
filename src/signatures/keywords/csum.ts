/**
 * Suricata's checksum keywords (detect-csum.c): `ipv4-csum`, `tcpv4-csum`, `tcpv6-csum` with
 * `valid` or `invalid` (optionally in double quotes). Per packet, like `flags`:
 *
 * - a packet of another IP version or protocol never matches (either value);
 * - when the capture ignores checksums (Suricata's PKT_IGNORE_CHECKSUM: `-k none`, or auto mode
 *   after it judged the capture offloaded) the keyword answers "valid" without computing;
 * - otherwise the checksum is computed.
 *
 * `udpv4-csum`, `udpv6-csum`, `icmpv4-csum`, `icmpv6-csum` exist in Suricata but bulwark inspects
 * TCP only: rules with them are skipped (rules.ts).
 */
import { OptionError } from '../options.js';

export type CsumKind = 'ipv4' | 'tcpv4' | 'tcpv6';

export interface CsumSpec {
  kind: CsumKind;
  /** true: `valid`, false: `invalid`. */
  valid: boolean;
}

export const CSUM_KEYWORDS: ReadonlyMap<string, CsumKind> = new Map<string, CsumKind>([
  ['ipv4-csum', 'ipv4'],
  ['tcpv4-csum', 'tcpv4'],
  ['tcpv6-csum', 'tcpv6'],
]);

/** The checksum keywords of protocols bulwark does not inspect. */
export const CSUM_UNSUPPORTED: ReadonlySet<string> = new Set(['udpv4-csum', 'udpv6-csum', 'icmpv4-csum', 'icmpv6-csum']);

/**
 * DetectCsumParseArg: `valid` or `invalid`, case-insensitive, with or without double quotes.
 * Suricata decides which one it is on the value as written, quotes included, so `"valid"` is
 * accepted and means invalid: kept, as rules are given Suricata's meaning.
 */
export function parseCsum(name: string, kind: CsumKind, value: string | undefined): CsumSpec {
  const key = (value ?? '').trim();
  const str = key.length >= 2 && key.startsWith('"') && key.endsWith('"') ? key.slice(1, -1) : key;
  const s = str.toLowerCase();
  if (s !== 'valid' && s !== 'invalid') throw new OptionError(`${name}: expected valid or invalid, got "${key.slice(0, 40)}"`);
  return { kind, valid: key.toLowerCase() === 'valid' };
}
