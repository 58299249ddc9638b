/**
 * Suricata's per-packet alert queue (detect-engine-alert.c PacketAlertFinalize, and the signature
 * order of detect-engine-sigorder.c), as pure logic:
 *
 * - Every signature has an internal order ("num"): by action (engine.actionOrder, Suricata's
 *   `action-order`, default pass, drop, reject, alert), then by how it uses flowbits, flowints,
 *   host bits and ip-pair bits (rules that set come before rules that only read), then priority
 *   (1 first; the rule's, else its classtype's, else 3), then sid.
 * - The matches of one packet are sorted by that order. A `pass` match ends the packet's list:
 *   it is not logged and nothing after it is; matched on the flow (IP-only, stream or
 *   transaction match) it passes the flow, whose later packets are not inspected.
 * - At most `packetAlertMax` alerts per packet (Suricata's packet-alert-max, default 15); the
 *   rest are discarded and counted (Suricata's detect.alert_queue_overflow).
 */
import type { RuleAction, Signature } from '../../signatures/types.js';

/** Suricata's default `action-order`. */
export const DEFAULT_ACTION_ORDER: readonly ActionClass[] = ['pass', 'drop', 'reject', 'alert'];
export const ACTION_CLASSES = ['pass', 'drop', 'reject', 'alert'] as const;
export type ActionClass = (typeof ACTION_CLASSES)[number];
/** Suricata's default packet-alert-max. */
export const DEFAULT_PACKET_ALERT_MAX = 15;

/** The rule action of a signature (YAML `block` signatures act as `drop`). */
export function ruleActionOf(s: Pick<Signature, 'ruleAction' | 'action'>): RuleAction {
  return s.ruleAction ?? (s.action === 'block' ? 'drop' : 'alert');
}

/** The action class that orders a signature (the reject variants order as reject). */
export function actionClass(a: RuleAction): ActionClass {
  return a === 'rejectsrc' || a === 'rejectdst' || a === 'rejectboth' ? 'reject' : a;
}

/** Suricata's variable use types: set-only 4, set and read 3, read-only 2, unused 1 (higher first). */
function useType(read: number, write: number): number {
  if (read > 0 && write === 0) return 2;
  if (read === 0 && write > 0) return 4;
  if (read > 0 && write > 0) return 3;
  return 1;
}

interface OrderKey {
  action: number;
  flowbits: number;
  flowint: number;
  hostbits: number;
  ippair: number;
  prio: number;
  sid: number;
}

function orderKey(s: Signature, actionRank: ReadonlyMap<ActionClass, number>): OrderKey {
  let r = 0;
  let w = 0;
  for (const f of s.flowbits) {
    if (f.op === 'isset' || f.op === 'isnotset') r++;
    else if (f.op === 'set' || f.op === 'unset' || f.op === 'toggle') w++;
  }
  const flowbits = useType(r, w);
  r = 0;
  w = 0;
  for (const f of s.flowints ?? []) {
    if (f.op === '=' || f.op === '+' || f.op === '-') w++;
    else r++;
  }
  const flowint = useType(r, w);
  let hr = 0;
  let hw = 0;
  let pr = 0;
  let pw = 0;
  for (const x of s.xbits ?? []) {
    const write = x.op === 'set' || x.op === 'unset' || x.op === 'toggle';
    if (x.track === 'ip_pair') {
      if (write) pw++;
      else pr++;
    } else if (write) hw++;
    else hr++;
  }
  return {
    action: actionRank.get(actionClass(ruleActionOf(s))) ?? ACTION_CLASSES.length,
    flowbits,
    flowint,
    hostbits: useType(hr, hw),
    ippair: useType(pr, pw),
    prio: s.priority ?? s.classPriority ?? s.eve?.severity ?? 3,
    sid: s.id,
  };
}

/**
 * The internal order of every signature (index → rank, 0 first), as Suricata numbers its
 * signatures. `actionOrder` must name each of pass, drop, reject, alert once.
 */
export function signatureOrder(sigs: readonly Signature[], actionOrder: readonly ActionClass[] = DEFAULT_ACTION_ORDER): Int32Array<ArrayBuffer> {
  const actionRank = new Map<ActionClass, number>();
  actionOrder.forEach((a, i) => actionRank.set(a, i));
  const keys = sigs.map((s) => orderKey(s, actionRank));
  const idx = sigs.map((_, i) => i);
  idx.sort((a, b) => {
    const x = keys[a]!;
    const y = keys[b]!;
    return (
      x.action - y.action ||
      y.flowbits - x.flowbits ||
      y.flowint - x.flowint ||
      y.hostbits - x.hostbits ||
      y.ippair - x.ippair ||
      x.prio - y.prio ||
      x.sid - y.sid ||
      a - b
    );
  });
  const rank = new Int32Array(sigs.length);
  idx.forEach((si, r) => (rank[si] = r));
  return rank;
}

/** One match of the packet waiting in the queue. */
export interface QueuedMatch {
  /** Signature index. */
  si: number;
  /** The match concerns the flow (IP-only rule, stream or transaction match): a pass/drop applies to the flow. */
  flowMatch: boolean;
}

export interface QueueResult {
  /** Positions (into the input) of the matches that alert, in alert order. */
  alert: number[];
  /** A pass matched: position of the pass match (it does not alert), else -1. */
  pass: number;
  /** Alerts discarded past packetAlertMax. */
  overflow: number;
  /** Matches not alerted because a pass came first. */
  passed: number;
  /** Positions of those matches. */
  hidden: number[];
}

/**
 * Finalizes one packet's queue: sorts by `rank`, stops at a pass, keeps at most `max` alerts.
 * `isPass(si)`: the signature's action is pass.
 */
export function finalizeQueue(q: readonly QueuedMatch[], rank: Int32Array<ArrayBuffer>, isPass: (si: number) => boolean, max: number): QueueResult {
  const order = q.map((_, i) => i);
  if (order.length > 1) order.sort((a, b) => rank[q[a]!.si]! - rank[q[b]!.si]! || a - b);
  const res: QueueResult = { alert: [], pass: -1, overflow: 0, passed: 0, hidden: [] };
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (res.alert.length >= max) {
      // Suricata counts the discarded ones (a pass past the limit is not applied either).
      res.overflow++;
      continue;
    }
    if (isPass(q[i]!.si)) {
      res.pass = i;
      res.passed = order.length - k - 1;
      for (let j = k + 1; j < order.length; j++) res.hidden.push(order[j]!);
      break;
    }
    res.alert.push(i);
  }
  return res;
}

/** Parses an action-order list (Suricata `action-order`): each of pass, drop, reject, alert exactly once. */
export function parseActionOrder(list: readonly string[]): ActionClass[] {
  const out: ActionClass[] = [];
  for (const raw of list) {
    const a = raw.trim().toLowerCase();
    if (!(ACTION_CLASSES as readonly string[]).includes(a)) throw new Error(`unknown action "${raw}" (expected pass, drop, reject, alert)`);
    if (out.includes(a as ActionClass)) throw new Error(`action "${a}" named twice`);
    out.push(a as ActionClass);
  }
  if (out.length !== ACTION_CLASSES.length) throw new Error(`action order must name each of ${ACTION_CLASSES.join(', ')} once`);
  return out;
}
