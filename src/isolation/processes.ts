/**
 * Process exclusions from isolation: a systemd unit, a cgroup, a user, a group or an executable.
 * This file is the resolution logic (selector → what the kernel matches: cgroup ids, uid, gid),
 * the placement of executables into bulwark-owned cgroups, and the predicate that spares their
 * connections when severing. Every side effect goes through `ProcessHost` (fakes in the tests).
 *
 * How each kind is enforced (docs/isolation.md "Process exclusions"):
 * - unit / cgroup: `socket cgroupv2 level N <id>` on the socket (outbound in the output chain,
 *   inbound in the input chain, where the kernel looks up the listening socket). The id is
 *   re-resolved on every rescan, so a restarted unit (new cgroup, new id) keeps its exclusion.
 * - user / group: `meta skuid` / `meta skgid` in the output chain (the input hook does not know the
 *   owner of a new inbound connection), so these are outbound only.
 * - executable: matching processes are moved into a child cgroup `bulwark-excluded` of their own
 *   cgroup (their unit's accounting, limits and stop semantics stay), which is then matched like a
 *   cgroup. Sockets a process opened before it was moved keep their old cgroup (the kernel binds a
 *   socket to the cgroup it was created in): its established connections are kept by conntrack
 *   mark, listeners it opened before are not covered (documented).
 */
import { basename } from 'node:path';
import type { ExclusionRule } from '../config/types.js';
import { checkAccount, checkCgroupPath, checkExecutable, checkUnit } from '../config/schema.js';
import { BulwarkError, errorMessage } from '../errors.js';
import { cgroupLevel, cgroupWithin, childCgroup, normaliseCgroupPath, slicePath, type CgroupFs, type CgroupRef } from './cgroup.js';
import type { EffectiveRule } from './types.js';

export type ProcessKind = 'unit' | 'cgroup' | 'user' | 'group' | 'executable';
export const PROCESS_KINDS: readonly ProcessKind[] = ['unit', 'cgroup', 'user', 'group', 'executable'];

export interface ProcessSelector {
  kind: ProcessKind;
  value: string;
}

/** Name of the child cgroup executables are moved into (below their own cgroup). */
export const EXCLUDED_CGROUP = 'bulwark-excluded';
/** Drain-and-remove rounds when isolation ends (a forking process can repopulate the cgroup). */
const RELEASE_ROUNDS = 10;
const RELEASE_RETRY_MS = 50;
/** Bound on processes moved per executable rule and cgroups matched per rule (kernel rules stay few). */
export const MAX_PROCESSES_PER_RULE = 256;
export const MAX_CGROUPS_PER_RULE = 32;

const CHECKS: Record<ProcessKind, (s: string) => string | undefined> = {
  unit: checkUnit,
  cgroup: (s) => checkCgroupPath(s) ?? (/["\\]/.test(s) ? 'must not contain quotes or backslashes' : undefined),
  user: checkAccount,
  group: checkAccount,
  executable: checkExecutable,
};

/** The process selector of a rule, if it is a process exclusion. */
export function selectorOf(rule: Partial<Pick<ExclusionRule, ProcessKind>>): ProcessSelector | undefined {
  for (const kind of PROCESS_KINDS) {
    const v = rule[kind];
    if (typeof v === 'string') return { kind, value: v };
  }
  return undefined;
}

function bad(message: string): BulwarkError {
  return new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', message);
}

/**
 * Validates the process fields of an exclusion (raw input); returns the selector or undefined when
 * the rule is an address exclusion. A process exclusion covers all of the process's traffic in its
 * direction, so address, port and protocol fields must stay "any"; users and groups are outbound
 * only (the input hook cannot see who owns the socket a new connection is for).
 */
export function validateProcessFields(r: Record<string, unknown>, where: string): ProcessSelector | undefined {
  const given = PROCESS_KINDS.filter((k) => r[k] !== undefined && r[k] !== null && r[k] !== '');
  if (given.length === 0) return undefined;
  if (given.length > 1) throw bad(`${where}: give only one of ${PROCESS_KINDS.join(', ')} (got ${given.join(' and ')})`);
  const kind = given[0]!;
  const value = r[kind];
  if (typeof value !== 'string') throw bad(`${where}: ${kind} must be a string`);
  const problem = CHECKS[kind](value);
  if (problem) throw bad(`${where}: ${kind} "${value}" ${problem}`);
  const anyish = (v: unknown): boolean => v === undefined || v === null || v === '' || v === 'any';
  if (!anyish(r.remoteAddress) || !anyish(r.localPorts) || !anyish(r.remotePorts) || !anyish(r.protocol)) {
    throw bad(`${where}: a ${kind} exclusion covers all of the process's traffic; remoteAddress, protocol and ports cannot be combined with it (use a separate address exclusion)`);
  }
  if ((kind === 'user' || kind === 'group') && r.direction !== 'outbound') {
    throw bad(`${where}: ${kind} exclusions are outbound only (the kernel cannot tell the owner of a new inbound connection); use direction outbound, or exclude the service's unit or cgroup for inbound`);
  }
  return { kind, value: kind === 'cgroup' ? normaliseCgroupPath(value) : value };
}

export function describeSelector(s: ProcessSelector): string {
  return `${s.kind} ${s.value}`;
}

// ---- resolution ----

export interface ProcInfo {
  pid: number;
  /** /proc/PID/comm (at most 15 characters). */
  comm: string;
  /** readlink /proc/PID/exe (undefined for kernel threads and unreadable ones). */
  exe?: string;
  /** cgroup v2 path (/proc/PID/cgroup "0::" line). */
  cgroup?: string;
}

/** The machine, as process exclusions see it. */
export interface ProcessHost {
  cgroups: CgroupFs;
  /** A unit's cgroup path ("/system.slice/x.service"), also for a stopped unit (from its slice). */
  unitCgroup(unit: string): Promise<{ path: string; note?: string }>;
  uid(user: string): Promise<number | undefined>;
  gid(group: string): Promise<number | undefined>;
  processes(): Promise<ProcInfo[]>;
  /** Effective gid of a process (for sparing sockets of group exclusions), undefined if gone. */
  processGid(pid: number): Promise<number | undefined>;
}

export type ResolvedMatch = { kind: 'cgroup'; cgroup: CgroupRef } | { kind: 'uid'; id: number } | { kind: 'gid'; id: number };

export interface ResolvedProcessRule {
  ruleId: string;
  direction: EffectiveRule['direction'];
  selector: ProcessSelector;
  /** What the kernel matches now (empty: nothing to match yet — left out with a warning). */
  matches: ResolvedMatch[];
  /** cgroup path the unit/cgroup rule stands for (shown even while missing). */
  cgroupPath?: string;
  /** Executable rules: pids matched, and those that could not be moved. */
  pids?: number[];
  unmoved?: number[];
  state: 'resolved' | 'missing';
  warning?: string;
}

export interface ProcessResolution {
  rules: ResolvedProcessRule[];
  warnings: string[];
  /** Stable text of what the kernel should hold: when it changes, the rules are reloaded. */
  key: string;
}

export function resolutionKey(rules: readonly ResolvedProcessRule[]): string {
  return rules
    .map((r) => `${r.ruleId}|${r.direction}|${r.matches.map((m) => (m.kind === 'cgroup' ? `cg:${m.cgroup.path}:${m.cgroup.id}` : `${m.kind}:${m.id}`)).join(',')}`)
    .join(';');
}

function exeMatches(p: ProcInfo, value: string): boolean {
  const exe = p.exe?.replace(/ \(deleted\)$/, '');
  if (value.startsWith('/')) return exe === value;
  return p.comm === value.slice(0, 15) || (exe !== undefined && basename(exe) === value);
}

/** Resolves process exclusions and places matching executables; one instance per daemon. */
export class ProcessExclusions {
  /** Child cgroups created for executables (released when isolation ends). */
  private readonly placed = new Set<string>();
  /** Total processes moved into exclusion cgroups (metric). */
  moved = 0;

  constructor(
    private readonly host: ProcessHost,
    private readonly ownPid: number,
  ) {}

  private async cgroupMatch(path: string): Promise<CgroupRef | undefined> {
    const id = await this.host.cgroups.id(path);
    return id === undefined ? undefined : { path, id, level: cgroupLevel(path) };
  }

  /** Resolves every process rule; never throws (a rule that cannot be resolved is left out with a warning). */
  async resolve(rules: readonly EffectiveRule[]): Promise<ProcessResolution> {
    const out: ResolvedProcessRule[] = [];
    const warnings: string[] = [];
    let procs: ProcInfo[] | undefined;
    for (const rule of rules) {
      const sel = rule.process;
      if (!sel) continue;
      const r: ResolvedProcessRule = { ruleId: rule.id, direction: rule.direction, selector: sel, matches: [], state: 'missing' };
      try {
        switch (sel.kind) {
          case 'unit':
          case 'cgroup': {
            if (this.host.cgroups.mount === undefined) throw new Error('no cgroup v2 hierarchy is mounted (see isolation.processes.cgroupMount)');
            let path = sel.value;
            if (sel.kind === 'unit') {
              const u = await this.host.unitCgroup(sel.value);
              path = u.path;
              if (u.note) r.warning = u.note;
            }
            r.cgroupPath = normaliseCgroupPath(path);
            const m = await this.cgroupMatch(r.cgroupPath);
            if (m) r.matches.push({ kind: 'cgroup', cgroup: m });
            else r.warning = `cgroup ${r.cgroupPath} does not exist (${sel.kind === 'unit' ? 'unit stopped?' : 'not created yet'}); left out until it appears`;
            break;
          }
          case 'user':
          case 'group': {
            const numeric = /^[0-9]+$/.test(sel.value);
            const id = numeric ? Number(sel.value) : sel.kind === 'user' ? await this.host.uid(sel.value) : await this.host.gid(sel.value);
            if (id === undefined) r.warning = `${sel.kind} ${sel.value} is unknown on this host; left out`;
            else if (id === 0) r.warning = `${sel.kind} ${sel.value} is root (id 0): excluding it would exempt every root process; left out`;
            else r.matches.push({ kind: sel.kind === 'user' ? 'uid' : 'gid', id });
            break;
          }
          case 'executable': {
            if (this.host.cgroups.mount === undefined) throw new Error('no cgroup v2 hierarchy is mounted (see isolation.processes.cgroupMount)');
            procs ??= await this.host.processes();
            await this.placeExecutable(r, procs.filter((p) => p.pid !== this.ownPid && exeMatches(p, sel.value)));
            break;
          }
        }
      } catch (e) {
        r.warning = `${describeSelector(sel)}: ${errorMessage(e)}; left out`;
      }
      if (r.matches.length > 0) r.state = 'resolved';
      if (r.warning) warnings.push(`process exclusion ${rule.id} (${describeSelector(sel)}): ${r.warning}`);
      out.push(r);
    }
    return { rules: out, warnings, key: resolutionKey(out) };
  }

  private async placeExecutable(r: ResolvedProcessRule, procs: ProcInfo[]): Promise<void> {
    const cgroups = new Map<string, CgroupRef>();
    r.pids = [];
    r.unmoved = [];
    for (const p of procs.slice(0, MAX_PROCESSES_PER_RULE)) {
      if (p.cgroup === undefined) continue;
      r.pids.push(p.pid);
      const target = p.cgroup.endsWith(`/${EXCLUDED_CGROUP}`) ? p.cgroup : childCgroup(p.cgroup, EXCLUDED_CGROUP);
      if (!cgroups.has(target) && cgroups.size >= MAX_CGROUPS_PER_RULE) {
        r.unmoved.push(p.pid);
        continue;
      }
      try {
        if (target !== p.cgroup) {
          await this.host.cgroups.create(target);
          this.placed.add(target);
          await this.host.cgroups.move(p.pid, target);
          this.moved++;
        }
        const m = await this.cgroupMatch(target);
        if (m) cgroups.set(target, m);
      } catch (e) {
        r.unmoved.push(p.pid);
        r.warning = `process ${p.pid} could not be moved into ${target}: ${errorMessage(e)}`;
      }
    }
    if (procs.length > MAX_PROCESSES_PER_RULE) r.warning = `${procs.length} processes match; only the first ${MAX_PROCESSES_PER_RULE} are placed`;
    if (r.unmoved.length > 0 && r.warning === undefined) r.warning = `${r.unmoved.length} processes not placed (more than ${MAX_CGROUPS_PER_RULE} cgroups)`;
    if (procs.length === 0) r.warning = 'no running process matches; added when one starts';
    for (const c of cgroups.values()) r.matches.push({ kind: 'cgroup', cgroup: c });
  }

  /**
   * Isolation ended: moves placed processes back to their parent cgroup and removes the
   * bulwark-owned cgroups. Returns the problems (logged by the caller).
   */
  async release(): Promise<string[]> {
    const problems: string[] = [];
    for (const cg of [...this.placed]) {
      const parent = normaliseCgroupPath(cg.slice(0, cg.lastIndexOf('/')) || '/');
      try {
        if ((await this.host.cgroups.id(cg)) !== undefined) await this.drain(cg, parent, problems);
        this.placed.delete(cg);
      } catch (e) {
        problems.push(`removing ${cg}: ${errorMessage(e)}`);
      }
    }
    return problems;
  }
  /**
   * Moves every process of `cg` back to `parent` and removes `cg`. A placed process that forks
   * while it is being moved leaves its child in `cg` (the child inherits the cgroup at fork), so
   * the rmdir can fail with the cgroup still populated: drain and retry, a bounded number of
   * rounds (the last error is thrown to the caller, which reports it and keeps the cgroup listed).
   */
  private async drain(cg: string, parent: string, problems: string[]): Promise<void> {
    for (let round = 1; ; round++) {
      for (const pid of await this.host.cgroups.procs(cg)) {
        await this.host.cgroups.move(pid, parent).catch((e: unknown) => {
          if (round === RELEASE_ROUNDS) problems.push(`moving ${pid} back to ${parent}: ${errorMessage(e)}`);
        });
      }
      try {
        await this.host.cgroups.remove(cg);
        return;
      } catch (e) {
        if (round >= RELEASE_ROUNDS) throw e;
        await new Promise((r) => setTimeout(r, RELEASE_RETRY_MS));
      }
    }
  }
}

/** Builds the cgroup path of a unit from systemctl's answers (pure; the adapter runs systemctl). */
export function unitPathFrom(unit: string, controlGroup: string | undefined, slice: string | undefined): string {
  if (controlGroup !== undefined && controlGroup.trim() !== '') return normaliseCgroupPath(controlGroup.trim());
  const s = slice?.trim();
  const parent = s !== undefined && s !== '' ? slicePath(s) : unit.endsWith('.slice') ? '/' : '/system.slice';
  if (unit.endsWith('.slice')) return slicePath(unit);
  return childCgroup(parent, unit);
}

// ---- severing ----

/** The process side of severing: which sockets belong to excluded processes or to the daemon. */
export interface SpareSet {
  /** cgroups whose sockets are spared (excluded units/cgroups/placed executables, the daemon's own). */
  cgroups: { path: string; mark: 'agent' | 'process' }[];
  uids: number[];
  gids: number[];
  pids: number[];
  /** Effective gid per pid, filled by the caller when gids is not empty. */
  pidGids?: Map<number, number>;
}

/** Returns 'agent' | 'process' when the socket belongs to an excluded process or the daemon, else undefined. */
export function spareKind(s: { cgroup?: string; uid: number; pids: number[] }, set: SpareSet): 'agent' | 'process' | undefined {
  if (s.cgroup !== undefined) {
    for (const c of set.cgroups) if (c.path !== '/' && cgroupWithin(s.cgroup, c.path)) return c.mark;
  }
  if (set.uids.length > 0 && s.uid !== 0 && set.uids.includes(s.uid)) return 'process';
  if (s.pids.some((p) => set.pids.includes(p))) return 'process';
  if (set.gids.length > 0 && set.pidGids && s.pids.some((p) => set.gids.includes(set.pidGids!.get(p) ?? -1))) return 'process';
  return undefined;
}

export function spareSetFrom(res: ProcessResolution | undefined, agent: CgroupRef | undefined): SpareSet {
  const set: SpareSet = { cgroups: [], uids: [], gids: [], pids: [] };
  if (agent) set.cgroups.push({ path: agent.path, mark: 'agent' });
  for (const r of res?.rules ?? []) {
    for (const m of r.matches) {
      if (m.kind === 'cgroup') set.cgroups.push({ path: m.cgroup.path, mark: 'process' });
      else if (m.kind === 'uid') set.uids.push(m.id);
      else set.gids.push(m.id);
    }
    set.pids.push(...(r.pids ?? []));
  }
  return set;
}
