/**
 * Severing the host's connections when isolation starts: destroy the sockets isolation does not
 * spare (ss -K), then remove (or mark) their conntrack entries in one batch. killer.ts decides
 * which sockets and entries go; this runs those decisions through the adapters and reports what
 * happened. Separate from the manager because it is a one-shot operation with its own failure
 * policy: each half is logged and skipped on error, since new connections are blocked anyway.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { planConntrack, socketsToSever, sparedSockets, type ConnectionKiller, type SeverContext, type SocketInfo } from './killer.js';
import type { ProcessEnforcer } from './process-enforcer.js';
import type { AgentMatch } from './ruleset.js';
import type { EffectiveRule } from './types.js';

/** The last severing, for status: sockets, conntrack entries, conntrack processes and time. */
export interface SeverReport {
  sockets: number;
  conntrack: number;
  conntrackProcesses: number;
  conntrackDeleteProcesses: number;
  strategy: string;
  conntrackMs: number;
  totalMs: number;
}

export interface SeverDeps {
  killer: ConnectionKiller;
  procs: ProcessEnforcer;
  log: Logger;
  agent: AgentMatch;
  agentPid: number;
}

export async function severConnections(d: SeverDeps, rules: readonly EffectiveRule[]): Promise<SeverReport> {
  const t0 = process.hrtime.bigint();
  const ctx: SeverContext = { rules, agentPid: d.agentPid, ...(d.agent.kind === 'uid' ? { agentUid: d.agent.id } : {}) };
  let sockets = 0;
  let conntrack = 0;
  let listed: SocketInfo[] = [];
  const ct = { processes: 0, deleteProcesses: 0, strategy: 'none', ms: 0 };
  try {
    listed = await d.killer.listSockets();
    ctx.spare = await d.procs.spareSet(listed.flatMap((s) => s.pids));
    const victims = socketsToSever(listed, ctx);
    if (victims.length > 0) sockets = await d.killer.destroySockets(victims);
  } catch (e) {
    d.log.error({ err: errorMessage(e) }, 'destroying sockets failed; new connections are still blocked');
  }
  try {
    const table = await d.killer.listConntrack();
    const plan = planConntrack(table.entries, ctx, sparedSockets(listed, ctx));
    if (!table.complete) {
      plan.partial = true;
      d.log.warn({ listed: table.entries.length, error: table.error }, 'the conntrack listing may be partial: only listed entries are deleted, by tuple');
    }
    if (plan.delete.length > 0 || plan.mark.length > 0) {
      const r = await d.killer.applyConntrack(plan);
      conntrack = r.deleted;
      Object.assign(ct, { processes: r.processes, deleteProcesses: r.deleteProcesses, strategy: r.strategy, ms: r.ms });
      if (r.failures.length > 0) d.log.warn({ failures: r.failures, strategy: r.strategy }, 'conntrack failed during severing (retried; deletion by tuple if a mark step kept failing)');
      d.log.info({ candidates: plan.delete.length, deleted: r.deleted, kept: plan.keep.length, marked: plan.mark.length, strategy: r.strategy, walks: r.walks, processes: r.processes, ms: Math.round(r.ms) }, 'conntrack entries removed in one batch');
    }
  } catch (e) {
    d.log.error({ err: errorMessage(e) }, 'removing conntrack entries failed');
  }
  const totalMs = Number(process.hrtime.bigint() - t0) / 1e6;
  d.log.info({ sockets, conntrack, conntrackProcesses: ct.processes, conntrackMs: Math.round(ct.ms), totalMs: Math.round(totalMs) }, 'connections severed');
  return { sockets, conntrack, conntrackProcesses: ct.processes, conntrackDeleteProcesses: ct.deleteProcesses, strategy: ct.strategy, conntrackMs: Math.round(ct.ms), totalMs: Math.round(totalMs) };
}
