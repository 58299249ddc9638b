/**
 * The real ProcessHost: systemctl for units, getent for users and groups (NSS included), a /proc
 * scan for executables. Thin: the decisions are in processes.ts.
 */
import { execFile } from 'node:child_process';
import { readFile, readdir, readlink } from 'node:fs/promises';
import { createCgroupFs, parseProcCgroup, type CgroupFs } from './cgroup.js';
import { unitPathFrom, type ProcInfo, type ProcessHost } from './processes.js';

function exec(cmd: string, args: string[], timeoutMs = 5000): Promise<{ ok: boolean; stdout: string; missing: boolean }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 1024 * 1024 }, (err, stdout) => {
      const code = (err as NodeJS.ErrnoException | null)?.code;
      resolve({ ok: err === null, stdout, missing: code === 'ENOENT' });
    });
  });
}

async function getentId(db: 'passwd' | 'group', name: string): Promise<number | undefined> {
  const r = await exec('getent', [db, name]);
  if (!r.ok) return undefined;
  const f = r.stdout.split('\n')[0]?.split(':');
  const id = Number(f?.[2]);
  return Number.isInteger(id) ? id : undefined;
}

async function readProc(pid: number): Promise<ProcInfo | undefined> {
  try {
    const [comm, cg, exe] = await Promise.all([
      readFile(`/proc/${pid}/comm`, 'utf8'),
      readFile(`/proc/${pid}/cgroup`, 'utf8'),
      readlink(`/proc/${pid}/exe`).catch(() => undefined), // kernel thread or gone
    ]);
    const info: ProcInfo = { pid, comm: comm.trim() };
    const c = parseProcCgroup(cg);
    if (c !== undefined) info.cgroup = c;
    if (exe !== undefined) info.exe = exe;
    return info;
  } catch {
    return undefined; // exited during the scan
  }
}

/** One pass over /proc: pid, comm, exe and cgroup of every process, 64 processes at a time. */
export async function scanProcesses(): Promise<ProcInfo[]> {
  const pids = (await readdir('/proc')).filter((n) => /^[0-9]+$/.test(n)).map(Number);
  const out: ProcInfo[] = [];
  for (let i = 0; i < pids.length; i += 64) {
    for (const p of await Promise.all(pids.slice(i, i + 64).map(readProc))) if (p) out.push(p);
  }
  return out;
}

export function createProcessHost(cgroupMount: string | undefined, cgroups?: CgroupFs): ProcessHost {
  return {
    cgroups: cgroups ?? createCgroupFs(cgroupMount),
    async unitCgroup(unit) {
      const r = await exec('systemctl', ['show', '--property=ControlGroup,Slice', unit]);
      if (!r.ok) {
        const path = unitPathFrom(unit, undefined, undefined);
        return { path, note: `systemctl ${r.missing ? 'is not installed' : 'cannot answer (no systemd?)'}; assumed ${path}` };
      }
      const props = new Map(r.stdout.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const));
      return { path: unitPathFrom(unit, props.get('ControlGroup'), props.get('Slice')) };
    },
    uid: (user) => getentId('passwd', user),
    gid: (group) => getentId('group', group),
    processes: scanProcesses,
    async processGid(pid) {
      try {
        const m = /^Gid:\s+[0-9]+\s+([0-9]+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
        return m ? Number(m[1]) : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
