/**
 * The daemon's own cgroup, so isolation can exempt bulwark's own connections (fleet, rule updates,
 * metrics scrape) by cgroup even when it runs as plain root — matching uid 0 would exempt every
 * root process. Entered once by `bulwark run`, before any socket is opened (a socket keeps the
 * cgroup it was created in).
 *
 * - Under a dedicated unit (bulwark.service: the cgroup holds only the daemon and its children),
 *   that cgroup is used as it is.
 * - Otherwise (started from a shell, a container's root cgroup, a shared unit) the daemon creates
 *   `bulwark-daemon-PID` below its current cgroup and moves itself there; on a clean stop it moves
 *   back and removes it; leftovers of a crash are removed at the next start (rmdir only succeeds
 *   on an empty cgroup, so another live daemon's cgroup is never touched).
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { cgroupLevel, childCgroup, readProcCgroup, type CgroupFs, type CgroupRef } from './cgroup.js';

export interface AgentCgroup extends CgroupRef {
  /** Created by the daemon (removed on stop) rather than its own unit's cgroup. */
  created: boolean;
  /** The cgroup the daemon came from (moved back there on stop). */
  origin: string;
}

let current: AgentCgroup | undefined;
let problem: string | undefined;

/** The daemon's cgroup as entered by enterAgentCgroup (undefined: not available, see agentCgroupProblem). */
export function currentAgentCgroup(): AgentCgroup | undefined {
  return current;
}

export function agentCgroupProblem(): string | undefined {
  return problem;
}

async function ppidOf(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[1]);
  } catch {
    return undefined;
  }
}

/** True when every pid is `self` or one of its descendants (the cgroup is the daemon's own). */
export async function onlyOwnProcesses(pids: readonly number[], self: number, ppid: (pid: number) => Promise<number | undefined> = ppidOf): Promise<boolean> {
  for (const pid of pids) {
    let p: number | undefined = pid;
    let hops = 0;
    while (p !== undefined && p !== self && p > 1 && hops++ < 64) p = await ppid(p);
    if (p !== self) return false;
  }
  return true;
}

export const AGENT_CGROUP_PREFIX = 'bulwark-daemon-';

/** Decides and enters the daemon's cgroup. Never throws: without one, the daemon falls back to uid/gid matching (logged). */
export async function enterAgentCgroup(
  fs: CgroupFs,
  log: Logger,
  pid = process.pid,
  own: { cgroupOf: (pid: number) => Promise<string | undefined>; ppid: (pid: number) => Promise<number | undefined> } = { cgroupOf: readProcCgroup, ppid: ppidOf },
): Promise<AgentCgroup | undefined> {
  current = undefined;
  problem = undefined;
  if (fs.mount === undefined) {
    problem = 'no cgroup v2 hierarchy is mounted (isolation.processes.cgroupMount / BULWARK_CGROUP2_MOUNT): the daemon\'s own flows are exempt by uid/gid only';
    log.warn(problem);
    return undefined;
  }
  try {
    const origin = await own.cgroupOf(pid);
    if (origin === undefined) throw new Error('no cgroup v2 entry in /proc/self/cgroup');
    if (origin !== '/' && (await onlyOwnProcesses(await fs.procs(origin), pid, own.ppid))) {
      const id = await fs.id(origin);
      if (id === undefined) throw new Error(`cgroup ${origin} has no id`);
      current = { path: origin, id, level: cgroupLevel(origin), created: false, origin };
    } else {
      // Leftovers of an earlier daemon that died without cleaning up (only empty ones can be removed).
      for (const name of await fs.children(origin).catch(() => [])) {
        if (name.startsWith(AGENT_CGROUP_PREFIX)) await fs.remove(childCgroup(origin, name)).catch(() => undefined);
      }
      const path = childCgroup(origin, `${AGENT_CGROUP_PREFIX}${pid}`);
      await fs.create(path);
      await fs.move(pid, path);
      const id = await fs.id(path);
      if (id === undefined) throw new Error(`cgroup ${path} vanished`);
      current = { path, id, level: cgroupLevel(path), created: true, origin };
    }
    log.info({ cgroup: current.path, id: current.id, created: current.created }, "the daemon's own flows are exempt from isolation by its cgroup");
    return current;
  } catch (e) {
    problem = `cannot use a cgroup of the daemon's own (${errorMessage(e)}): its flows are exempt by uid/gid only`;
    log.warn(problem);
    return undefined;
  }
}

/** Clean stop: back to the original cgroup, and the created one removed. */
export async function leaveAgentCgroup(fs: CgroupFs, log: Logger, pid = process.pid): Promise<void> {
  const cg = current;
  current = undefined;
  if (!cg?.created) return;
  try {
    await fs.move(pid, cg.origin);
    await fs.remove(cg.path);
  } catch (e) {
    log.warn({ cgroup: cg.path, err: errorMessage(e) }, 'could not remove the daemon cgroup (removed at the next start)');
  }
}
