/** Reading isolation back from the kernel (`nft -j list table inet bulwark`), pure. */
import type { NftListOutput } from '../blocklist/types.js';
import { boxFromJson, boxKey } from './boxes.js';
import { ISO_COUNTERS, ISO_SETS, type ExpectedElements, type IsoCounterName, type IsoSetName } from './types.js';

export interface KernelView {
  tablePresent: boolean;
  /** Families with a live iso_on element, and the seconds left the kernel reports. */
  on: { ipv4?: number; ipv6?: number };
  rstWindow: boolean;
  /** The chains end with the gated, counted drop rule. */
  dropRules: { iso_in: boolean; iso_out: boolean; iso_fwd: boolean };
  /** The blocklist's base chains jump to ours. */
  hooked: { input: boolean; output: boolean; forward: boolean };
  /** Canonical keys per exclusion set (undefined: set missing). */
  sets: Partial<Record<IsoSetName, string[]>>;
  /** Elements we could not parse (should stay 0). */
  unparsed: number;
  counters: Partial<Record<IsoCounterName, { packets: number; bytes: number }>>;
  /** "CHAIN COMMENT" of each rule in the process chains iso_pin / iso_pout, sorted. */
  procRules: string[];
  /** iso_in / iso_out jump to the process chains. */
  procJumps: { iso_in: boolean; iso_out: boolean };
}

export function emptyView(): KernelView {
  return {
    tablePresent: false,
    on: {},
    rstWindow: false,
    dropRules: { iso_in: false, iso_out: false, iso_fwd: false },
    hooked: { input: false, output: false, forward: false },
    sets: {},
    unparsed: 0,
    counters: {},
    procRules: [],
    procJumps: { iso_in: false, iso_out: false },
  };
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function exprHasDrop(expr: unknown[], counter: string): boolean {
  let gated = false;
  let counted = false;
  let drop = false;
  for (const e of expr) {
    if (!isObj(e)) continue;
    if (isObj(e.match) && e.match.right === '@iso_on' && e.match.op === '==') gated = true;
    if (e.counter === counter || (isObj(e.counter) && e.counter.name === counter)) counted = true;
    if ('drop' in e) drop = true;
  }
  return gated && counted && drop;
}

function exprJumps(expr: unknown[], target: string): boolean {
  return expr.some((e) => isObj(e) && isObj(e.jump) && e.jump.target === target);
}

function ours(o: Obj): boolean {
  const table = 'table' in o && typeof o.table === 'string' ? o.table : o.name;
  return o.family === 'inet' && table === 'bulwark';
}

/** Parses a listing of table inet bulwark, or of the whole ruleset (other tables are ignored). */
export function parseKernelView(out: NftListOutput): KernelView {
  const v = emptyView();
  for (const item of out.nftables) {
    const body = Object.values(item)[0];
    if (!isObj(body) || !ours(body)) continue;
    if (isObj(item.table)) v.tablePresent = true;
    if (isObj(item.set)) {
      const s = item.set;
      const name = s.name;
      const elems = Array.isArray(s.elem) ? s.elem : [];
      if (name === 'iso_on' || name === 'iso_rst') {
        for (const el of elems) {
          let val: unknown = el;
          let expires: number | undefined;
          if (isObj(el) && isObj(el.elem)) {
            val = el.elem.val;
            expires = typeof el.elem.expires === 'number' ? el.elem.expires : undefined;
          }
          if (name === 'iso_rst') v.rstWindow = true;
          else if (val === 'ipv4' || val === 'ipv6') v.on[val] = expires ?? 0;
        }
      } else if (typeof name === 'string' && (ISO_SETS as readonly string[]).includes(name)) {
        const keys: string[] = [];
        for (const el of elems) {
          const b = boxFromJson(el);
          if (b) keys.push(boxKey(b));
          else v.unparsed++;
        }
        v.sets[name as IsoSetName] = keys.sort();
      }
    }
    if (isObj(item.counter)) {
      const c = item.counter;
      if (typeof c.name === 'string' && (ISO_COUNTERS as readonly string[]).includes(c.name)) {
        v.counters[c.name as IsoCounterName] = { packets: Number(c.packets ?? 0), bytes: Number(c.bytes ?? 0) };
      }
    }
    if (isObj(item.rule)) {
      const r = item.rule;
      const expr = Array.isArray(r.expr) ? r.expr : [];
      if (r.chain === 'iso_in' && exprHasDrop(expr, 'iso_dropped_in')) v.dropRules.iso_in = true;
      if (r.chain === 'iso_out' && exprHasDrop(expr, 'iso_dropped_out')) v.dropRules.iso_out = true;
      if (r.chain === 'iso_fwd' && exprHasDrop(expr, 'iso_dropped_fwd')) v.dropRules.iso_fwd = true;
      if ((r.chain === 'iso_pin' || r.chain === 'iso_pout') && typeof r.comment === 'string') v.procRules.push(`${r.chain} ${r.comment}`);
      if (r.chain === 'iso_in' && exprJumps(expr, 'iso_pin')) v.procJumps.iso_in = true;
      if (r.chain === 'iso_out' && exprJumps(expr, 'iso_pout')) v.procJumps.iso_out = true;
      if (r.chain === 'input' && exprJumps(expr, 'iso_in')) v.hooked.input = true;
      if (r.chain === 'output' && exprJumps(expr, 'iso_out')) v.hooked.output = true;
      if (r.chain === 'forward' && exprJumps(expr, 'iso_fwd')) v.hooked.forward = true;
    }
  }
  v.procRules.sort();
  return v;
}

export interface KernelCheck {
  matches: boolean;
  /** Human-readable differences; empty when it matches. */
  problems: string[];
  /** The kernel holds no isolation at all (rules or deadline gone): re-apply and sever. */
  missing: boolean;
}

/** Compares the kernel with what an active isolation needs. */
export function checkKernel(v: KernelView, expected: ExpectedElements, timeLeftMs: number, expectedProc?: readonly string[]): KernelCheck {
  const problems: string[] = [];
  if (expectedProc !== undefined && (expectedProc.length !== v.procRules.length || expectedProc.some((c, i) => c !== v.procRules[i]))) {
    problems.push(`process exclusion chains hold ${v.procRules.length} rules, expected ${expectedProc.length} (contents differ)`);
  }
  if (!v.tablePresent) problems.push('table inet bulwark is missing');
  if (!v.procJumps.iso_in || !v.procJumps.iso_out) problems.push('the isolation chains do not jump to the process exclusion chains');
  for (const fam of ['ipv4', 'ipv6'] as const) {
    const left = v.on[fam];
    if (left === undefined) problems.push(`iso_on has no ${fam} element (deadline gone)`);
    // nft -j reports whole seconds; allow a little drift either way.
    else if (Math.abs(left * 1000 - timeLeftMs) > 5000) problems.push(`iso_on ${fam} expires in ${left}s, state says ${Math.round(timeLeftMs / 1000)}s`);
  }
  for (const c of ['iso_in', 'iso_out', 'iso_fwd'] as const) if (!v.dropRules[c]) problems.push(`chain ${c} has no drop rule`);
  for (const h of ['input', 'output', 'forward'] as const) if (!v.hooked[h]) problems.push(`base chain ${h} does not jump to our chain`);
  for (const s of ISO_SETS) {
    const have = v.sets[s];
    if (have === undefined) {
      problems.push(`set ${s} is missing`);
      continue;
    }
    const want = expected[s].keys;
    if (have.length !== want.length || have.some((k, i) => k !== want[i])) problems.push(`set ${s} has ${have.length} elements, expected ${want.length} (contents differ)`);
  }
  const missing = !v.tablePresent || (v.on.ipv4 === undefined && v.on.ipv6 === undefined) || !v.dropRules.iso_in || !v.dropRules.iso_out;
  return { matches: problems.length === 0, problems, missing };
}
