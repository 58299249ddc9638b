/** WebSocket as an `AppProtocol`: detection after an HTTP upgrade, buffer, keywords, EVE `websocket` (see ./README.md). */
import type { AppBufferSpec, AppDirection, AppKeywordSpec, AppProbeResult, AppProtocol, AppTx } from '../types.js';
import { matchUint, parseUint, type UintMatch } from '../text/values.js';
import { WebSocketParser, WebSocketTx } from './parser.js';
import { WEBSOCKET_OPCODES, type WebSocketLimits } from './types.js';

const BOTH: readonly AppDirection[] = ['to_server', 'to_client'];

export const WEBSOCKET_BUFFERS: readonly AppBufferSpec[] = [
  { name: 'websocket.payload', aliases: [], directions: BOTH, multi: false, lowercaseOnly: false, pcreFlag: null },
];

const asWs = (tx: AppTx, dir: AppDirection): WebSocketTx | null => (tx instanceof WebSocketTx && tx.dir === dir ? tx : null);

/**
 * Suricata's u8/u32 keyword values (rust/src/detect/uint.rs): the comparisons of `parseUint`
 * plus the bitmask form `&MASK=VALUE` / `&MASK!=VALUE`.
 */
type UintOrMask = UintMatch | { readonly op: 'mask'; readonly mask: number; readonly value: number; readonly neg: boolean };

function parseUintOrMask(value: string | null, max: number, what: string): UintOrMask {
  const v = (value ?? '').trim();
  const m = /^&\s*(0x[0-9a-f]+|[0-9]+)\s*(!?=)\s*(0x[0-9a-f]+|[0-9]+)$/i.exec(v);
  if (m !== null) {
    const mask = Number(m[1]);
    const val = Number(m[3]);
    if (mask > max || val > max) throw new Error(`${what}: ${v} out of range 0-${max}`);
    return { op: 'mask', mask, value: val, neg: m[2] === '!=' };
  }
  return parseUint(value, max, what);
}

function matchUintOrMask(m: UintOrMask, x: number): boolean {
  if (m.op === 'mask') return ((x & m.mask) === m.value) !== m.neg;
  return matchUint(m, x);
}

/** `websocket.opcode`: a u8 value or an opcode name (`text`, `ping`…; Suricata's enum form). */
const opcodeKw: AppKeywordSpec<UintOrMask> = {
  name: 'websocket.opcode',
  aliases: [],
  directions: BOTH,
  parse(value) {
    const v = (value ?? '').trim();
    const named = /^(!?)\s*([a-z]+)$/i.exec(v);
    if (named !== null) {
      const code = WEBSOCKET_OPCODES[named[2]!.toLowerCase()];
      if (code === undefined) throw new Error(`websocket.opcode: unknown opcode "${named[2]!}"`);
      return { op: named[1] === '!' ? 'ne' : 'eq', a: code };
    }
    return parseUintOrMask(value, 255, 'websocket.opcode');
  },
  match: (tx, dir, m) => {
    const t = asWs(tx, dir);
    return t !== null && matchUintOrMask(m, t.opcode);
  },
};

/** `websocket.mask`: u32 on the masking key (big-endian); frames without a mask never match. */
const maskKw: AppKeywordSpec<UintOrMask> = {
  name: 'websocket.mask',
  aliases: [],
  directions: BOTH,
  parse: (value) => parseUintOrMask(value, 0xffffffff, 'websocket.mask'),
  match: (tx, dir, m) => {
    const t = asWs(tx, dir);
    return t !== null && t.mask !== null && matchUintOrMask(m, t.mask);
  },
};

/**
 * `websocket.flags`: a u8 on the four high bits of the first byte, or a list of `fin` / `comp`
 * names each optionally negated (`fin,!comp`: a bitmask on those bits), as Suricata's parse_flags.
 */
const flagsKw: AppKeywordSpec<UintOrMask> = {
  name: 'websocket.flags',
  aliases: [],
  directions: BOTH,
  parse(value) {
    const v = (value ?? '').trim();
    if (/^[!a-z ,]+$/i.test(v) && v !== '') {
      let mask = 0;
      let want = 0;
      for (const item of v.split(/[ ,]+/).filter((x) => x !== '')) {
        const neg = item.startsWith('!');
        const name = neg ? item.slice(1) : item;
        const bit = name === 'fin' ? 0x80 : name === 'comp' ? 0x40 : -1;
        if (bit < 0) throw new Error(`websocket.flags: unknown flag "${name}" (fin, comp)`);
        if ((mask & bit) !== 0) throw new Error(`websocket.flags: repeated flag "${name}"`);
        mask |= bit;
        if (!neg) want |= bit;
      }
      return { op: 'mask', mask, value: want, neg: false };
    }
    return parseUintOrMask(value, 255, 'websocket.flags');
  },
  match: (tx, dir, m) => {
    const t = asWs(tx, dir);
    return t !== null && matchUintOrMask(m, t.flags);
  },
};

export const WEBSOCKET_KEYWORDS: readonly AppKeywordSpec[] = [opcodeKw, maskKw, flagsKw];

const OPCODE_NAMES = new Map(Object.entries(WEBSOCKET_OPCODES).map(([k, v]) => [v, k]));

/** EVE `websocket` (rust/src/websocket/logger.rs): fin, mask (when masked), opcode name or `unknown-N`. */
export function websocketEve(tx: AppTx): Record<string, unknown> {
  if (!(tx instanceof WebSocketTx)) return {};
  const o: Record<string, unknown> = { fin: tx.fin };
  if (tx.mask !== null) o.mask = tx.mask;
  o.opcode = OPCODE_NAMES.get(tx.opcode) ?? `unknown-${tx.opcode}`;
  return o;
}

/** Suricata's probe: the reserved bits RSV2/RSV3 are zero (RSV1 is permessage-deflate). */
export function probeWebSocket(_dir: AppDirection, data: Uint8Array, len: number): AppProbeResult {
  if (len < 1) return 'need-more';
  return (data[0]! & 0x30) === 0 ? 'match' : 'no';
}

export function websocketProtocol(limits: Partial<WebSocketLimits> = {}): AppProtocol {
  return {
    name: 'websocket',
    ruleProtocols: ['websocket'],
    hintPorts: [],
    // Never probed on a fresh flow (its one-byte check would take anything): only where HTTP
    // announced it (101 Switching Protocols, Upgrade: websocket), as Suricata.
    upgradeOnly: true,
    probeDirections: BOTH,
    probe: probeWebSocket,
    create: (ctx) => new WebSocketParser(limits, { frames: ctx.frames === true }),
    frameTypes: ['pdu', 'header', 'data'],
    buffers: WEBSOCKET_BUFFERS,
    keywords: WEBSOCKET_KEYWORDS,
    events: ['skip_end_of_payload', 'reassembly_limit_reached'],
    eve: websocketEve,
  };
}

export const WEBSOCKET_PROTOCOL: AppProtocol = websocketProtocol();
