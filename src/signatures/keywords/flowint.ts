/**
 * Suricata's `flowint` keyword (detect-flowint.c): integer variables on the flow.
 *
 *   flowint:name, =|+|-, value|othervar     modify (applied when the rule matches, like
 *                                           flowbits set: Suricata's post-match list)
 *   flowint:name, ==|!=|<|<=|>|>=, value|var  compare (no match while the variable is unset)
 *   flowint:name, isset | isnotset | notset
 *
 * Values are uint32 as in Suricata (an add wraps, a subtraction below zero wraps).
 * The store is the flow's own map (bounded by the names the ruleset uses).
 */
import { OptionError } from '../options.js';

export type FlowintOp = '=' | '+' | '-' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'isset' | 'isnotset';

export interface FlowintSpec {
  name: string;
  op: FlowintOp;
  /** A number, or another flowint's name. Absent for isset/isnotset. */
  value?: number | { var: string };
}

const NAME = /^[A-Za-z_][\w.-]*$/;

export function parseFlowint(v: string): FlowintSpec {
  const parts = v.split(',').map((s) => s.trim());
  const name = parts[0] ?? '';
  if (!NAME.test(name)) throw new OptionError(`flowint: bad name "${name}"`);
  let op = parts[1] ?? '';
  if (op === 'notset') op = 'isnotset';
  if (op === 'isset' || op === 'isnotset') {
    if (parts.length !== 2) throw new OptionError(`flowint: ${op} takes no value`);
    return { name, op };
  }
  if (!['=', '+', '-', '==', '!=', '<', '<=', '>', '>='].includes(op)) throw new OptionError(`flowint: unknown modifier "${op}"`);
  if (parts.length !== 3) throw new OptionError(`flowint: ${op} needs one value`);
  const t = parts[2]!;
  let value: FlowintSpec['value'];
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    if (n > 0xffffffff) throw new OptionError(`flowint: ${t} is not a uint32`);
    value = n;
  } else if (NAME.test(t)) value = { var: t };
  else throw new OptionError(`flowint: bad value "${t}"`);
  return { name, op: op as FlowintOp, value };
}

export const isFlowintModifier = (s: FlowintSpec): boolean => s.op === '=' || s.op === '+' || s.op === '-';

function valueOf(s: FlowintSpec, vars: ReadonlyMap<string, number>): number | undefined {
  const v = s.value;
  if (v === undefined) return undefined;
  return typeof v === 'number' ? v : vars.get(v.var);
}

/** The test part of one flowint keyword (modifiers always hold: they act after the match). */
export function flowintHolds(s: FlowintSpec, vars: ReadonlyMap<string, number>): boolean {
  if (isFlowintModifier(s)) {
    // A modifier whose value names an unset variable does not match (Suricata).
    return typeof s.value === 'number' || valueOf(s, vars) !== undefined;
  }
  const cur = vars.get(s.name);
  if (s.op === 'isset') return cur !== undefined;
  if (s.op === 'isnotset') return cur === undefined;
  const target = valueOf(s, vars);
  if (cur === undefined || target === undefined) return false;
  switch (s.op) {
    case '==':
      return cur === target;
    case '!=':
      return cur !== target;
    case '<':
      return cur < target;
    case '<=':
      return cur <= target;
    case '>':
      return cur > target;
    default:
      return cur >= target;
  }
}

/** Applies a modifier to the flow's variables (after the rule matched). */
export function applyFlowint(s: FlowintSpec, vars: Map<string, number>): void {
  if (!isFlowintModifier(s)) return;
  const v = valueOf(s, vars);
  if (v === undefined) return;
  const cur = vars.get(s.name);
  if (s.op === '=' || cur === undefined) {
    // Suricata: + or - on an unset variable sets it to the value.
    vars.set(s.name, v >>> 0);
    return;
  }
  vars.set(s.name, s.op === '+' ? (cur + v) >>> 0 : (cur - v) >>> 0);
}
