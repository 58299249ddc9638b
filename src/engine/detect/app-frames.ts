/**
 * Frame inspection (Suricata 7 `frame:` rules, detect-engine-frame.c / DetectRunFrames): the
 * frames a parser reports (`AppParser.takeFrames`) are placed in their direction's stream, and
 * once a frame's bytes are all in the retained stream the `frame:` signatures of its protocol,
 * type and direction run on them, each frame once (Suricata prunes a frame once inspected in
 * full). At the end of a direction the frames still open are inspected on the bytes there are.
 *
 * Bounded: at most MAX_LIVE_FRAMES frames wait per direction (Suricata's container holds 3 + 256);
 * frames of types no rule inspects are not kept. Counters: inspected, dropped (over the bound),
 * unavailable (their bytes are not in the retained stream: over the stream memory budget).
 */
import type { AppDirection, AppFrame, AppParser, AppProtocol, AppTx } from '../app-layer/types.js';
import type { AppVerifyContext, Ruleset } from '../../signatures/types.js';
import { verifyAppSignature } from '../../signatures/verify-app.js';
import type { RegexMeter } from '../../regex/meter.js';
import type { AlertFrame } from '../types.js';

/** Frames waiting for their bytes per direction (Suricata: FRAMES_STATIC_CNT 3 + 256 dynamic). */
export const MAX_LIVE_FRAMES = 259;
/** Frame bytes written in an alert's `frame.payload` (Suricata logs the first 256). */
const EVE_PAYLOAD_BYTES = 256;

export interface LiveFrame {
  /** Per direction, from 1 (Suricata's Frames.base_id). */
  readonly id: number;
  readonly type: string;
  /** Stream offset of the direction (from its first byte). */
  readonly offset: number;
  readonly len: number;
  readonly txId?: number;
}

/** Per-flow frame state (part of AppFlow). */
export interface FlowFrames {
  /** Stream offset of the first byte fed to the current parser, per direction. */
  base: [number, number];
  nextId: [number, number];
  live: [LiveFrame[], LiveFrame[]];
}

export interface FrameCounters {
  inspected: number;
  dropped: number;
  unavailable: number;
}

export function newFlowFrames(): FlowFrames {
  return { base: [0, 0], nextId: [1, 1], live: [[], []] };
}

/** Key of the frame signatures of (protocol, frame type, direction) in `AppRuleset.frames`. */
export function frameKey(proto: string, type: string, dir: AppDirection): string {
  return `${proto}:${type}:${dir}`;
}

/** The ruleset has `frame:` rules for protocol `proto` (its parsers then record frames). */
export function wantsFrames(ruleset: Ruleset, proto: string): boolean {
  return ruleset.app?.frameProtocols?.includes(proto) === true;
}

/** Takes the parser's new frames of both directions into the flow's live lists (only types some rule inspects). */
export function collectFrames(ff: FlowFrames, parser: AppParser, proto: string, ruleset: Ruleset, counters: FrameCounters): void {
  if (parser.takeFrames === undefined) return;
  const map = ruleset.app?.frames;
  for (const dir of ['to_server', 'to_client'] as const) {
    const got: readonly AppFrame[] = parser.takeFrames(dir);
    if (got.length === 0) continue;
    const di = dir === 'to_server' ? 0 : 1;
    const live = ff.live[di];
    for (const fr of got) {
      const id = ff.nextId[di]++;
      if (map?.has(frameKey(proto, fr.type, dir)) !== true) continue;
      if (live.length >= MAX_LIVE_FRAMES) {
        counters.dropped++;
        continue;
      }
      const f: LiveFrame = { id, type: fr.type, offset: ff.base[di] + fr.offset, len: fr.len };
      live.push(fr.txId === undefined ? f : { ...f, txId: fr.txId });
    }
  }
}

/** A frame as a transaction for the verifier: its one buffer is `frame:<type>`. */
class FrameView implements AppTx {
  readonly events: readonly string[] = [];
  constructor(
    readonly id: number,
    private readonly name: string,
    private readonly data: Uint8Array,
  ) {}
  progress(): number {
    return 1;
  }
  complete(): boolean {
    return true;
  }
  buffer(name: string): Uint8Array | null {
    return name === this.name ? this.data : null;
  }
  multiBuffer(): readonly Uint8Array[] {
    return [];
  }
}

export interface FrameInspectEnv {
  ruleset: Ruleset;
  proto: AppProtocol;
  /** The retained stream of the direction (from offset 0), null when there is none. */
  stream: { buf: Uint8Array; len: number } | null;
  vctx: AppVerifyContext;
  meter?: RegexMeter;
  /** The parser's live tx with this id (frames tied to a tx alert with its app-layer objects). */
  txById(id: number): AppTx | null;
  fire(sigIndex: number, frame: AlertFrame, tx: AppTx | null): void;
}

/**
 * Inspects the frames of `dir` whose bytes are all in the stream (`eof`: every frame, on the
 * bytes there are); inspected frames leave the live list.
 */
export function inspectFrames(ff: FlowFrames, dir: AppDirection, env: FrameInspectEnv, eof: boolean, counters: FrameCounters): void {
  const di = dir === 'to_server' ? 0 : 1;
  const live = ff.live[di];
  if (live.length === 0) return;
  const st = env.stream;
  const keep: LiveFrame[] = [];
  for (const fr of live) {
    const have = st === null ? 0 : st.len;
    const end = fr.len < 0 ? have : fr.offset + fr.len;
    if (!eof && (fr.len < 0 || end > have)) {
      keep.push(fr);
      continue;
    }
    if (st === null || fr.offset > have) {
      counters.unavailable++;
      continue;
    }
    counters.inspected++;
    const stop = Math.min(end, have);
    const data = st.buf.subarray(fr.offset, stop);
    const sigs = env.ruleset.app?.frames?.get(frameKey(env.proto.name, fr.type, dir));
    if (sigs === undefined) continue;
    const view = new FrameView(fr.txId ?? 0, `frame:${fr.type}`, data);
    for (const si of sigs) {
      const sig = env.ruleset.signatures[si];
      if (sig === undefined || !verifyAppSignature(sig, view, dir, env.vctx, env.meter)) continue;
      const alert: AlertFrame = {
        type: fr.type,
        id: fr.id,
        direction: dir === 'to_server' ? 'toserver' : 'toclient',
        streamOffset: fr.offset,
        length: fr.len < 0 ? stop - fr.offset : fr.len,
        complete: fr.len >= 0 && stop >= end,
        payload: data.slice(0, EVE_PAYLOAD_BYTES),
      };
      if (fr.txId !== undefined) alert.txId = fr.txId;
      env.fire(si, alert, fr.txId === undefined ? null : env.txById(fr.txId));
    }
  }
  ff.live[di] = keep;
}
