/**
 * cgroup v2 helpers for process exclusions and the daemon's own flows. The parsers are pure; the
 * `CgroupFs` adapter does the file I/O (mountinfo, stat for the cgroup id, cgroup.procs writes).
 *
 * Why ids are resolved here and re-resolved later: nft's `socket cgroupv2 level N "path"` turns
 * the path into the cgroup id (the directory's inode) when the rule is loaded. A unit that restarts
 * gets a new cgroup with a new id and the loaded rule silently matches nothing. So the path is
 * stat'ed by the daemon on every rescan and the rule reloaded when the id changes.
 */
import { mkdir, readFile, readdir, rmdir, stat, writeFile } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';

/** A cgroup as the kernel matches it: path below the cgroup2 root, its id, and its depth. */
export interface CgroupRef {
  /** "/system.slice/app.service" (leading slash, no trailing slash; "/" is the root). */
  path: string;
  /** The cgroup id: the inode number of the cgroup directory. */
  id: number;
  /** Depth below the root (root = 0): the `level` of `socket cgroupv2 level N`. */
  level: number;
}

/** Where nft resolves cgroup paths from (hard-coded in nft: SYSFS_CGROUPSV2_PATH). */
export const NFT_CGROUP_BASE = '/sys/fs/cgroup';

function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * The mount point of the cgroup v2 hierarchy from /proc/self/mountinfo text: the first `cgroup2`
 * mount of the whole hierarchy (root "/"). Pure v2 hosts mount it on /sys/fs/cgroup, hybrid hosts
 * on /sys/fs/cgroup/unified; inside `ip netns exec` /sys is remounted and there may be none.
 */
export function findCgroup2Mount(mountinfo: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    if (line.slice(sep + 3).split(' ')[0] !== 'cgroup2') continue;
    const pre = line.slice(0, sep).split(' ');
    if (pre[3] !== '/' || pre[4] === undefined) continue;
    return unescapeMountField(pre[4]);
  }
  return undefined;
}

/** The process's cgroup v2 path from /proc/PID/cgroup text (the "0::" line), or undefined. */
export function parseProcCgroup(text: string): string | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('0::')) return normaliseCgroupPath(line.slice(3).replace(/ \(deleted\)$/, ''));
  }
  return undefined;
}

export function normaliseCgroupPath(p: string): string {
  const parts = p.split('/').filter((c) => c !== '');
  return '/' + parts.join('/');
}

export function cgroupLevel(path: string): number {
  return normaliseCgroupPath(path).split('/').filter((c) => c !== '').length;
}

/** True when `path` is `ancestor` or below it. */
export function cgroupWithin(path: string, ancestor: string): boolean {
  const p = normaliseCgroupPath(path);
  const a = normaliseCgroupPath(ancestor);
  return a === '/' || p === a || p.startsWith(a + '/');
}

/**
 * The string nft needs for a cgroup: nft stats `/sys/fs/cgroup/<arg>`, so a hierarchy mounted
 * elsewhere (hybrid hosts, test mounts) is reached with a path relative to /sys/fs/cgroup.
 */
export function nftCgroupArg(mount: string, path: string): string {
  const rel = relative(NFT_CGROUP_BASE, join(mount, normaliseCgroupPath(path)));
  return rel === '' ? '.' : rel;
}

/** systemd slice name → its cgroup path ("a-b.slice" → "/a.slice/a-b.slice", "-.slice" → "/"). */
export function slicePath(slice: string): string {
  if (slice === '-.slice' || slice === '') return '/';
  const base = slice.replace(/\.slice$/, '');
  const parts = base.split('-');
  const out: string[] = [];
  for (let i = 1; i <= parts.length; i++) out.push(`${parts.slice(0, i).join('-')}.slice`);
  return '/' + out.join('/');
}

/** File access for cgroups, behind an interface so the resolution logic is tested with fakes. */
export interface CgroupFs {
  /** The cgroup2 mount point, or undefined when none is visible. */
  readonly mount: string | undefined;
  /** The cgroup id of a path, or undefined when the cgroup does not exist. */
  id(path: string): Promise<number | undefined>;
  /** Pids in the cgroup itself (not its children). */
  procs(path: string): Promise<number[]>;
  /** Creates the cgroup (and parents) if missing. */
  create(path: string): Promise<void>;
  /** Moves a process into the cgroup. */
  move(pid: number, path: string): Promise<void>;
  /** Removes an empty cgroup (errors when populated). */
  remove(path: string): Promise<void>;
  /** Child cgroup names. */
  children(path: string): Promise<string[]>;
}

export function createCgroupFs(mount: string | undefined): CgroupFs {
  const abs = (p: string): string => {
    if (mount === undefined) throw new Error('no cgroup v2 hierarchy is mounted');
    return join(mount, normaliseCgroupPath(p));
  };
  return {
    mount,
    async id(p) {
      if (mount === undefined) return undefined;
      try {
        const s = await stat(abs(p), { bigint: true });
        return s.isDirectory() ? Number(s.ino) : undefined;
      } catch {
        return undefined;
      }
    },
    async procs(p) {
      const text = await readFile(join(abs(p), 'cgroup.procs'), 'utf8');
      return text.split('\n').filter((l) => /^[0-9]+$/.test(l)).map(Number);
    },
    async create(p) {
      await mkdir(abs(p), { recursive: true });
    },
    async move(pid, p) {
      await writeFile(join(abs(p), 'cgroup.procs'), `${pid}\n`);
    },
    async remove(p) {
      await rmdir(abs(p));
    },
    async children(p) {
      const entries = await readdir(abs(p), { withFileTypes: true });
      return entries.filter((e) => e.isDirectory()).map((e) => e.name);
    },
  };
}

/** Reads /proc/self/mountinfo; `override` (config or BULWARK_CGROUP2_MOUNT) wins. */
export async function discoverCgroup2Mount(override?: string): Promise<string | undefined> {
  if (override !== undefined && override !== '') return override;
  try {
    return findCgroup2Mount(await readFile('/proc/self/mountinfo', 'utf8'));
  } catch {
    return undefined;
  }
}

export async function readProcCgroup(pid: number | 'self'): Promise<string | undefined> {
  try {
    return parseProcCgroup(await readFile(`/proc/${pid}/cgroup`, 'utf8'));
  } catch {
    return undefined;
  }
}

export function childCgroup(parent: string, name: string): string {
  return normaliseCgroupPath(posix.join(normaliseCgroupPath(parent), name));
}
