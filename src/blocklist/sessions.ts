/**
 * Authenticated sessions for the never-block list (docs/blocklist.md "Never-block"): the operator's
 * own SSH session must never be cut, but a peer of port 22 that never authenticated (a brute
 * forcer) must not be protected by its own connections. So only:
 * - remote hosts of current utmp sessions (USER_PROCESS records whose process is alive);
 * - peers of sshd session processes past authentication: sshd sets the title of the post-auth
 *   child to "sshd: USER@pts/N" or "sshd: USER@notty" (scp, sftp, ansible write no utmp entry);
 *   OpenSSH 9.8+ runs it as "sshd-session: USER@…". Pre-auth titles ("[priv]", "[net]",
 *   "[preauth]", "[listener]") never match. The peer is read from the process's own sockets:
 *   /proc/PID/fd → socket:[inode] → /proc/PID/net/tcp{,6}; only processes in the daemon's own
 *   network namespace (/proc/PID/ns/net) count.
 * Parsers are pure; ProcSessionSource does the reads behind the SessionSource interface.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { isIP } from 'node:net';
import { normalizeAddress } from './address.js';

export interface SessionSource {
  /** Remote addresses of authenticated sessions (normalised, deduplicated). */
  authenticatedPeers(): Promise<string[]>;
}

/** glibc struct utmp on Linux (x86_64 and the other 64-bit ABIs with 32-bit time fields): 384 bytes. */
const UTMP_SIZE = 384;
const UT_USER_PROCESS = 7;

export interface UtmpSession {
  pid: number;
  user: string;
  line: string;
  /** The remote address, when the record has one (ut_addr_v6, else ut_host if it is an address). */
  address?: string;
}

function cstr(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end === -1 || end > off + len ? off + len : end);
}

/** USER_PROCESS records of a utmp file. */
export function parseUtmp(buf: Buffer): UtmpSession[] {
  const out: UtmpSession[] = [];
  for (let o = 0; o + UTMP_SIZE <= buf.length; o += UTMP_SIZE) {
    if (buf.readInt32LE(o) !== UT_USER_PROCESS) continue;
    const pid = buf.readInt32LE(o + 4);
    const line = cstr(buf, o + 8, 32);
    const user = cstr(buf, o + 44, 32);
    const host = cstr(buf, o + 76, 256);
    const a = o + 348;
    let address: string | undefined;
    const w1 = buf.readUInt32LE(a + 4);
    const w2 = buf.readUInt32LE(a + 8);
    const w3 = buf.readUInt32LE(a + 12);
    if (w1 === 0 && w2 === 0 && w3 === 0) {
      if (buf.readUInt32LE(a) !== 0) address = `${buf[a]}.${buf[a + 1]}.${buf[a + 2]}.${buf[a + 3]}`;
    } else {
      const g: string[] = [];
      for (let i = 0; i < 16; i += 2) g.push(buf.readUInt16BE(a + i).toString(16));
      address = g.join(':');
    }
    if (address === undefined) {
      // Some writers leave ut_addr_v6 empty; ut_host may still hold the address ("198.51.100.7" or "host:display").
      const h = host.replace(/:\d+(\.\d+)?$/, '');
      if (isIP(h) !== 0) address = h;
    }
    const s: UtmpSession = { pid, user, line };
    if (address !== undefined) {
      try {
        s.address = normalizeAddress(address);
      } catch {
        // not an address: a local session
      }
    }
    out.push(s);
  }
  return out;
}

/** True for the title of an sshd session process past authentication. */
export function isAuthenticatedSshd(cmdline: string): boolean {
  const t = cmdline.replace(/\0+$/, '').split('\0')[0] ?? '';
  return /^sshd(?:-session)?: [^\s@[\]]+@(?:pts\/\d+|tty\w*|notty)(?:\s|$)/.test(t.trim());
}

/** Established TCP sockets of a /proc/net/tcp or tcp6 text: inode → remote address. */
export function parseProcNetTcp(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const c = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
    if (c.length < 10 || c[3] !== '01') continue;
    const rem = c[2];
    const inode = c[9];
    if (rem === undefined || inode === undefined || inode === '0') continue;
    const addr = procHexAddress(rem.slice(0, rem.indexOf(':')));
    if (addr !== undefined) out.set(inode, addr);
  }
  return out;
}

/** "0100007F" → 127.0.0.1; 32 hex digits → IPv6 (four host-order 32-bit words, as the kernel prints them). */
export function procHexAddress(hex: string): string | undefined {
  try {
    if (hex.length === 8) {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(parseInt(hex, 16));
      return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
    }
    if (hex.length === 32) {
      const b = Buffer.alloc(16);
      for (let i = 0; i < 4; i++) b.writeUInt32LE(parseInt(hex.slice(i * 8, i * 8 + 8), 16), i * 4);
      const g: string[] = [];
      for (let i = 0; i < 16; i += 2) g.push(b.readUInt16BE(i).toString(16));
      return normalizeAddress(g.join(':'));
    }
  } catch {
    // malformed line
  }
  return undefined;
}

const MAX_PIDS = 65_536;
const MAX_FDS = 4096;

/** Reads utmp and /proc. `root` and `utmp` are parameters for tests on a fake tree. */
export class ProcSessionSource implements SessionSource {
  constructor(
    private readonly root = '/proc',
    private readonly utmpPaths: readonly string[] = ['/run/utmp', '/var/run/utmp'],
  ) {}

  async authenticatedPeers(): Promise<string[]> {
    const out = new Set<string>();
    for (const a of await this.utmpPeers()) out.add(a);
    for (const a of await this.sshdPeers()) out.add(a);
    return [...out].sort();
  }

  private async utmpPeers(): Promise<string[]> {
    for (const p of this.utmpPaths) {
      let buf: Buffer;
      try {
        buf = await readFile(p);
      } catch {
        continue;
      }
      const out: string[] = [];
      for (const s of parseUtmp(buf)) {
        // A stale record (the login process died without cleaning up) is no current session.
        if (s.address !== undefined && (await this.alive(s.pid))) out.push(s.address);
      }
      return out;
    }
    return [];
  }

  private async alive(pid: number): Promise<boolean> {
    if (pid <= 0) return false;
    try {
      await readFile(`${this.root}/${pid}/stat`);
      return true;
    } catch {
      return false;
    }
  }

  private async sshdPeers(): Promise<string[]> {
    let pids: string[];
    try {
      pids = (await readdir(this.root)).filter((n) => /^\d+$/.test(n)).slice(0, MAX_PIDS);
    } catch {
      return [];
    }
    // Titles in parallel batches (a busy host has thousands of processes); sockets only for sshd ones.
    const sshd: string[] = [];
    for (let i = 0; i < pids.length; i += 128) {
      const batch = pids.slice(i, i + 128);
      const cmds = await Promise.all(batch.map((pid) => readFile(`${this.root}/${pid}/cmdline`, 'latin1').catch(() => '')));
      cmds.forEach((cmd, j) => {
        if (cmd.startsWith('sshd') && isAuthenticatedSshd(cmd)) sshd.push(batch[j]!);
      });
    }
    // Only sessions in this network namespace: a peer of another namespace's sshd is not this host's.
    const selfNs = await readlink(`${this.root}/self/ns/net`).catch(() => undefined);
    const out: string[] = [];
    for (const pid of sshd) {
      if (selfNs !== undefined && (await readlink(`${this.root}/${pid}/ns/net`).catch(() => undefined)) !== selfNs) continue;
      const inodes = new Set<string>();
      try {
        for (const fd of (await readdir(`${this.root}/${pid}/fd`)).slice(0, MAX_FDS)) {
          const l = await readlink(`${this.root}/${pid}/fd/${fd}`).catch(() => '');
          const m = /^socket:\[(\d+)\]$/.exec(l);
          if (m?.[1] !== undefined) inodes.add(m[1]);
        }
      } catch {
        continue;
      }
      if (inodes.size === 0) continue;
      for (const f of ['tcp', 'tcp6']) {
        const text = await readFile(`${this.root}/${pid}/net/${f}`, 'utf8').catch(() => '');
        for (const [inode, addr] of parseProcNetTcp(text)) if (inodes.has(inode)) out.push(addr);
      }
    }
    return out;
  }
}
