/**
 * What isolation tells operators: the status report (`bulwark isolation status`, the control
 * API) and the EVE-style isolation events. Pure: built from the manager's state, the last
 * kernel view and check, and the process enforcer's report, so the wording lives in one place
 * and is tested without a kernel.
 */
import { formatLeft, timeLeftMs } from './deadline.js';
import type { KernelCheck, KernelView } from './kernel.js';
import type { AgentMatch } from './ruleset.js';
import type { SeverReport } from './sever.js';
import type { IsolationMode, IsolationState } from './types.js';

export const ISOLATED_TAG = 'ISOLATED FROM NETWORK';

export interface StatusReport {
  isolated: boolean;
  tag?: string;
  mode?: IsolationMode;
  reason?: string;
  event?: IsolationState['event'];
  startedAt?: string;
  endsAt?: string;
  timeLeftMs?: number;
  timeLeft?: string;
  severed?: number;
  conntrackRemoved?: number;
  exclusions?: number;
  /** Process exclusions in force and what they resolved to (cgroup path → id, user → uid, executable → pids/cgroups). */
  processExclusions?: Record<string, unknown>[];
  /** How the daemon's own flows are recognised. */
  agent?: Record<string, unknown>;
  /** The last severing: sockets, conntrack entries, conntrack processes and time. */
  lastSever?: SeverReport;
  kernel: { matches: boolean; problems: string[]; secondsLeft?: number; read: boolean };
  warnings: string[];
  last?: { mode: IsolationMode; startedAt: string; endedAt?: string; endedBy?: string; reason: string };
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export interface StatusInputs {
  state: IsolationState | undefined;
  now: number;
  /** The last kernel view read. */
  view: KernelView;
  /** The last check of that view against what isolation expects. */
  check: KernelCheck | undefined;
  /** Whether the kernel was read for this report. */
  read: boolean;
  /** ProcessEnforcer.report(): process exclusions in force and the agent's match. */
  processes: () => { processExclusions: Record<string, unknown>[]; agent: Record<string, unknown> };
  agent: AgentMatch;
  lastSever: SeverReport | undefined;
  warnings: string[];
}

export function statusReport(i: StatusInputs): StatusReport {
  const s = i.state;
  const kernelIsolated = i.view.on.ipv4 !== undefined || i.view.on.ipv6 !== undefined;
  if (!s?.active) {
    const problems = kernelIsolated ? ['the kernel still holds an isolation deadline'] : [];
    const r: StatusReport = { isolated: false, kernel: { matches: problems.length === 0, problems, read: i.read }, warnings: [] };
    if (s) r.last = { mode: s.mode, startedAt: iso(s.startedAtMs), reason: s.reason, ...(s.endedAtMs ? { endedAt: iso(s.endedAtMs) } : {}), ...(s.endedBy ? { endedBy: s.endedBy } : {}) };
    return r;
  }
  const left = timeLeftMs(s.endsAtMs, i.now);
  const check = i.check;
  const secondsLeft = i.view.on.ipv4 ?? i.view.on.ipv6;
  const procs = i.processes();
  return {
    isolated: true,
    tag: ISOLATED_TAG,
    mode: s.mode,
    reason: s.reason,
    ...(s.event ? { event: s.event } : {}),
    startedAt: iso(s.startedAtMs),
    endsAt: iso(s.endsAtMs),
    timeLeftMs: left,
    timeLeft: formatLeft(left),
    severed: s.severed,
    conntrackRemoved: s.conntrackRemoved,
    exclusions: (s.rules ?? []).length,
    ...procs,
    ...(i.agent.kind !== 'none' && procs.agent.match === 'none' ? { agent: { match: i.agent.kind, id: i.agent.id } } : {}),
    ...(i.lastSever ? { lastSever: i.lastSever } : {}),
    kernel: { matches: check?.matches ?? false, problems: check?.problems ?? ['not read yet'], read: i.read, ...(secondsLeft !== undefined ? { secondsLeft } : {}) },
    warnings: i.warnings,
  };
}

/** The EVE-style event of an isolation change (docs/isolation.md). */
export function isolationEvent(action: 'on' | 'off' | 'expired', s: IsolationState, now: number): Record<string, unknown> {
  return {
    timestamp: iso(now),
    event_type: 'isolation',
    isolation: {
      action,
      mode: s.mode,
      reason: s.reason,
      started_at: iso(s.startedAtMs),
      ends_at: iso(s.endsAtMs),
      ...(action === 'on' ? { severed: s.severed, exclusions: (s.rules ?? []).length } : { ended_at: iso(s.endedAtMs ?? now), ended_by: s.endedBy }),
      ...(s.event ? { event_id: s.event.eventId, signature_id: s.event.signatureId, signature: s.event.signature, src_ip: s.event.srcIp } : {}),
    },
    bulwark: { event: action === 'on' ? 'Host isolated from network' : action === 'off' ? 'Host isolation ended' : 'Host isolation expired' },
  };
}
