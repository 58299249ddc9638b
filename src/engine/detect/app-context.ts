/**
 * What the app-layer detector (./app-tx.ts) hands its parsers and verifiers per flow: its
 * counters, the verify context of a direction, the parser context of a new parser, and the
 * lazily formatted flow addresses.
 */
import type { AppDirection, AppLayerSettings, AppParserContext, AppProtocol } from '../app-layer/types.js';
import type { FileHashAlgo } from '../app-layer/filehash.js';
import type { AppVerifyContext, Ruleset } from '../../signatures/types.js';
import { protoName } from './app-held.js';
import type { AppFeedContext, AppFlow, AppTxCounters } from './types.js';

const DIR_INDEX = { to_server: 0, to_client: 1 } as const;

/**
 * The detector's counters; flowsByProto reads the Map (in detection order, as the record was).
 * Every number is written twice here: a field V8 saw only its initial value in is "const", and
 * the first change to it later (the first alert, the first frame) deoptimizes each optimized
 * function that read it (inspectTx, inspect, probe) in the middle of the inspection.
 */
export function newCounters(byProto: ReadonlyMap<string, number>): AppTxCounters {
  const c: AppTxCounters = {
    get flowsByProto(): Record<string, number> {
      return Object.fromEntries(byProto);
    },
    undetected: 0, parserFailed: 0, txInspected: 0, candidates: 0, alerts: 0, limits: { flow: 0, global: 0 }, protoChanges: {}, unexpectedProto: 0, expectedFlows: 0,
    frames: { inspected: 0, dropped: 0, unavailable: 0 }, rawMerged: 0,
  };
  for (const o of [c, c.limits, c.frames] as Record<string, unknown>[]) {
    for (const k of Object.keys(o)) {
      if (typeof o[k] !== 'number') continue;
      o[k] = 1;
      o[k] = 0;
    }
  }
  return c;
}

/**
 * Verify context of `dir`: its own raw stream when the engine gives streams per direction;
 * otherwise the stream at hand is the fed side's (`fed`), and the other side's payload
 * conditions must not see it.
 */
export function verifyContextOf(f: AppFlow, dir: AppDirection, proto: AppProtocol, tsUs: number, ctx: AppFeedContext, fed: boolean): AppVerifyContext {
  // Every field of AppVerifyContext copied explicitly (a spread builds a slow dictionary-mode object).
  const src = ctx.verify;
  const v: AppVerifyContext = { flowbits: src.flowbits, serverPort: f.serverPort, appProto: protoName(proto), tsUs };
  if (src.flowints !== undefined) v.flowints = src.flowints;
  if (src.xbits !== undefined) v.xbits = src.xbits;
  if (src.streamSize !== undefined) v.streamSize = src.streamSize;
  if (src.packetLength !== undefined) v.packetLength = src.packetLength;
  if (src.datasets !== undefined) v.datasets = src.datasets;
  if (src.ip !== undefined) v.ip = src.ip;
  if (ctx.streamOf !== undefined) {
    const st = ctx.streamOf(dir);
    if (st !== null) {
      v.stream = st.buf;
      v.streamLength = st.len;
    }
  } else if (fed && src.stream !== undefined) {
    v.stream = src.stream;
    if (src.streamLength !== undefined) v.streamLength = src.streamLength;
  }
  // Raw content is also tried on the direction's current window (since the other side last spoke).
  if (v.stream !== undefined) v.rawFrom = f.rawFrom[DIR_INDEX[dir]];
  return v;
}

/** Fills clientAddr/serverAddr from the lazy formatter; true when both are known. */
export function resolveAddrs(f: AppFlow): boolean {
  if (f.addrs !== undefined && (f.clientAddr === undefined || f.serverAddr === undefined)) {
    const [c, s] = f.addrs();
    f.clientAddr = c;
    f.serverAddr = s;
  }
  return f.clientAddr !== undefined && f.serverAddr !== undefined;
}

const FILE_HASHES = new WeakMap<object, ReadonlyMap<string, readonly FileHashAlgo[]>>();
/**
 * The ruleset's file hashes of a protocol (AppRuleset.fileHashes) through a Map: a keyed load
 * by protocol name took the first name as its feedback and deoptimized probe at the next one.
 */
export function fileHashesOf(rs: Ruleset, proto: string): readonly FileHashAlgo[] | undefined {
  const fh = rs.app?.fileHashes;
  if (fh === undefined) return undefined;
  let m = FILE_HASHES.get(fh);
  if (m === undefined) FILE_HASHES.set(fh, (m = new Map(Object.entries(fh))));
  return m.get(proto);
}

export function parserContext(f: AppFlow, counters: AppTxCounters, settings: AppLayerSettings | undefined, frames: boolean, fileHashes: readonly FileHashAlgo[] | undefined): AppParserContext {
  resolveAddrs(f);
  return {
    serverPort: f.serverPort, clientPort: f.clientPort, frames,
    ...(fileHashes !== undefined && fileHashes.length > 0 ? { fileHashes } : {}),
    ...(settings !== undefined ? { settings } : {}),
    requestProtocolChange: () => {
      if (!f.changing) return true;
      counters.protoChanges.refused = (counters.protoChanges.refused ?? 0) + 1;
      return false;
    },
    ...(f.clientAddr !== undefined ? { clientAddr: f.clientAddr } : {}),
    ...(f.serverAddr !== undefined ? { serverAddr: f.serverAddr } : {}),
  };
}
