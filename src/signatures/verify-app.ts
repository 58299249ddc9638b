/**
 * App-layer detection for the detect stage (contracts `AppCandidatesFn` and `VerifyAppFn` in
 * ./types.ts): prefilter candidates of a transaction, then full verification of one signature
 * on one transaction and direction. Pure; the caller keeps per-tx detection state.
 */
import type { AppDirection, AppKeywordSpec, AppTx } from '../engine/app-layer/types.js';
import { APP_PROTOCOLS } from '../engine/app-layer/registry.js';
import type { AppCandidatesFn, AppVerifyContext, BufferList, Ruleset, Signature, VerifyAppFn } from './types.js';
import { appLayerProtocolHolds, flowbitsHold, matchConditions, ruleStateHolds } from './verify.js';
import { applyTransforms } from './transforms.js';
import { uintHolds } from './options.js';
import { UNMETERED, type RegexMeter } from '../regex/meter.js';

/** Per-call dedup of candidates: stamp[i] === gen when signature i is already in `out`. */
let stamp = new Uint32Array(0);
let gen = 0;

function mark(i: number, out: number[]): void {
  if (stamp[i] === gen) return;
  stamp[i] = gen;
  out.push(i);
}

function nextGen(n: number): void {
  if (stamp.length < n) stamp = new Uint32Array(Math.max(n, stamp.length * 2));
  gen = (gen + 1) >>> 0;
  if (gen === 0) {
    stamp.fill(0);
    gen = 1;
  }
}

/** Case-exact check of a case-sensitive pattern whose folded hit ends at `end`. */
function exactAt(data: Uint8Array, end: number, pat: Uint8Array): boolean {
  const start = end - pat.length;
  for (let k = 0; k < pat.length; k++) if (data[start + k] !== pat[k]) return false;
  return true;
}

/** See AppCandidatesFn in ./types.ts. */
export const appCandidates: AppCandidatesFn = (ruleset: Ruleset, ruleProtocols: readonly string[], tx: AppTx, dir: AppDirection, out: number[]): number => {
  out.length = 0;
  const app = ruleset.app;
  if (app === undefined) return 0;
  nextGen(ruleset.signatures.length);
  for (const proto of ruleProtocols) {
    const key = `${proto}:${dir}`;
    const always = app.always.get(key);
    if (always !== undefined) for (const i of always) mark(i, out);
    const pfs = app.byProtoDir.get(key);
    if (pfs === undefined) continue;
    for (const pi of pfs) {
      const pf = app.prefilters[pi]!;
      if (pf.multi) {
        for (const inst of tx.multiBuffer(pf.buffer, dir)) scan(pf, inst, out);
      } else {
        const b = tx.buffer(pf.buffer, dir);
        if (b !== null) scan(pf, b, out);
      }
    }
  }
  if (out.length > 1) out.sort((a, b) => a - b);
  return out.length;
};

function scan(pf: NonNullable<Ruleset['app']>['prefilters'][number], raw: Uint8Array, out: number[]): void {
  const data = pf.transforms.length === 0 ? raw : applyTransforms(raw, pf.transforms);
  if (data === null) return;
  const { next, outStart, outList } = pf.dfa;
  let s = 0;
  for (let i = 0; i < data.length; i++) {
    s = next[s + data[i]!]!;
    const k = s >>> 8;
    const a = outStart[k]!;
    const e = outStart[k + 1]!;
    for (let j = a; j < e; j++) {
      const p = pf.patterns[outList[j]!]!;
      if (stamp[p.signature] === gen) continue;
      if (!p.nocase && !exactAt(data, i + 1, p.bytes)) continue;
      mark(p.signature, out);
    }
  }
}

/** Ports of an app signature: `any` resolves to 1–65535 at compile, so this is a plain range test. */
function portOk(sig: Signature, port: number | undefined): boolean {
  if (port === undefined) return true;
  for (const r of sig.ports) if (port >= r.from && port <= r.to) return true;
  return false;
}

function listHolds(l: BufferList, b: Uint8Array, meter: RegexMeter, owner: number, tx: AppTx): boolean {
  const data = l.transforms.length === 0 ? b : applyTransforms(b, l.transforms);
  if (data === null) return false;
  if (l.bsize !== undefined && !uintHolds(l.bsize, data.length)) return false;
  // byte_test/byte_jump `dce` on the stub data read in the PDU's byte order (Suricata sets
  // DETECT_CI_FLAGS_DCE_LE/BE only when inspecting dce_stub_data).
  const dceLittle = l.buffer === 'dcerpc.stub_data' && tx.dceLittleEndian === true;
  return matchConditions(l.conditions, data, data.length, meter, owner, dceLittle);
}

const SPECS = new Map<string, AppKeywordSpec | undefined>();
/** The keyword's spec from the registry (a signature keeps only plain data). */
function keywordSpec(protocol: string, name: string): AppKeywordSpec | undefined {
  const key = `${protocol}:${name}`;
  if (SPECS.has(key)) return SPECS.get(key);
  const spec = APP_PROTOCOLS.find((p) => p.name === protocol)?.keywords.find((k) => k.name === name);
  SPECS.set(key, spec);
  return spec;
}

/** See VerifyAppFn in ./types.ts. */
export const verifyAppSignature: VerifyAppFn = (sig: Signature, tx: AppTx, dir: AppDirection, ctx: AppVerifyContext, meter: RegexMeter = UNMETERED): boolean => {
  if (sig.direction !== dir) return false;
  if (!portOk(sig, ctx.serverPort)) return false;
  if (sig.flowbits.length > 0 && !flowbitsHold(sig.flowbits, ctx.flowbits)) return false;
  if (!ruleStateHolds(sig, ctx)) return false;
  if (sig.appLayerProtocol !== undefined && !appLayerProtocolHolds(sig.appLayerProtocol, ctx.appProto)) return false;
  if (sig.dsize !== undefined) {
    const n = ctx.packetLength;
    if (n === undefined || n < sig.dsize.min || n > sig.dsize.max) return false;
  }
  if (sig.appKeywords !== undefined) {
    for (const k of sig.appKeywords) {
      const spec = keywordSpec(k.protocol, k.name);
      if (spec === undefined || !spec.match(tx, dir, k.value, ctx.tsUs ?? 0)) return false;
    }
  }
  if (sig.buffers !== undefined) {
    for (const l of sig.buffers) {
      if (l.multi) {
        let any = false;
        for (const inst of tx.multiBuffer(l.buffer, dir)) {
          if (listHolds(l, inst, meter, sig.id, tx)) {
            any = true;
            break;
          }
        }
        if (!any) return false;
      } else {
        const b = tx.buffer(l.buffer, dir);
        if (b === null || !listHolds(l, b, meter, sig.id, tx)) return false;
      }
    }
  }
  if (sig.conditions.length > 0) {
    const st = ctx.stream;
    if (st === undefined) return false;
    if (!matchConditions(sig.conditions, st, ctx.streamLength ?? st.length, meter, sig.id)) return false;
  }
  return true;
};
