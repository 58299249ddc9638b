/**
 * Severing connections when isolation starts. The decision (which flows an exclusion covers) is
 * pure and unit-tested; the side effects sit behind ConnectionKiller: `ss -K` (SOCK_DESTROY) for
 * local sockets — the peer sees the RST because the isolation batch opens the iso_rst window — and
 * one `conntrack -R -` process for the remaining entries (forwarded flows), see conntrack.ts.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { cidrContains, portInSpec } from './addr.js';
import { CT_MARKS, conntrackScript, countConntrackLines, tupleDeletes, type ConntrackPlan, type ConntrackResult } from './conntrack.js';
import { spareKind, type SpareSet } from './processes.js';
import { AGENT_CT_MARK, KEEP_CT_BIT, type EffectiveRule } from './types.js';

export interface SocketInfo {
  proto: 'tcp' | 'udp';
  local: string;
  localPort: number;
  remote: string;
  remotePort: number;
  /** Owning process ids (ss -p). */
  pids: number[];
  uid: number;
  /** The socket's cgroup v2 path (ss --cgroup): the cgroup nft's `socket cgroupv2` matches. */
  cgroup?: string;
}

export interface ConntrackEntry {
  /** Protocol name as conntrack prints it (tcp, udp, icmp, icmpv6...). */
  proto: string;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  mark: number;
}

export interface ConntrackListing {
  entries: ConntrackEntry[];
  complete: boolean;
  /** conntrack's message when the last attempt failed. */
  error?: string;
}

export interface ConnectionKiller {
  listSockets(): Promise<SocketInfo[]>;
  /** Destroys the sockets; returns how many the kernel destroyed. */
  destroySockets(sockets: readonly SocketInfo[]): Promise<number>;
  /** The conntrack table; `complete` false when the listing may miss entries (failed, cut short). */
  listConntrack(): Promise<ConntrackListing>;
  /** Runs the plan (marks, keeps, deletes) in one conntrack process (conntrack.ts). */
  applyConntrack(plan: ConntrackPlan): Promise<ConntrackResult>;
}

function isLoopback(a: string): boolean {
  return a.startsWith('127.') || a === '::1' || a.startsWith('::ffff:127.');
}

function protoMatches(rule: EffectiveRule, proto: string): boolean {
  if (rule.protocol === 'any') {
    if (rule.localPorts === 'any' && rule.remotePorts === 'any') return true;
    return proto === 'tcp' || proto === 'udp';
  }
  if (rule.protocol === 'icmp') return proto === 'icmp' || proto === 'icmpv6' || proto === 'ipv6-icmp';
  return rule.protocol === proto;
}

/** True when an exclusion covers the flow with `remote` as the far end (either direction: replies are allowed). */
export function flowExcluded(rules: readonly EffectiveRule[], proto: string, remote: string, localPort: number | undefined, remotePort: number | undefined): boolean {
  return rules.some((r) => {
    if (r.process) return false;
    if (!protoMatches(r, proto)) return false;
    if (r.remote !== 'any' && !r.remote.some((net) => safeContains(net, remote))) return false;
    if (localPort !== undefined && !portInSpec(r.localPorts, localPort)) return false;
    if (remotePort !== undefined && !portInSpec(r.remotePorts, remotePort)) return false;
    return true;
  });
}

function safeContains(net: string, addr: string): boolean {
  try {
    return cidrContains(net, addr);
  } catch {
    return false;
  }
}

export interface SeverContext {
  rules: readonly EffectiveRule[];
  /** The daemon's pid: its own sockets are spared. */
  agentPid: number;
  /** The daemon's uid when it is not root (its sockets are spared; root would spare everything). */
  agentUid?: number;
  /** Excluded processes and the daemon's cgroup: their sockets are spared. */
  spare?: SpareSet;
}

export function socketsToSever(sockets: readonly SocketInfo[], ctx: SeverContext): SocketInfo[] {
  return sockets.filter((s) => {
    if (isLoopback(s.remote) || isLoopback(s.local) || s.remote === s.local) return false;
    if (s.pids.includes(ctx.agentPid)) return false;
    if (ctx.spare && spareKind(s, ctx.spare) !== undefined) return false;
    if (ctx.agentUid !== undefined && ctx.agentUid !== 0 && s.uid === ctx.agentUid) return false;
    return !flowExcluded(ctx.rules, s.proto, s.remote, s.localPort, s.remotePort);
  });
}

export function conntrackToDelete(entries: readonly ConntrackEntry[], ctx: SeverContext): ConntrackEntry[] {
  return entries.filter((e) => {
    if (isLoopback(e.src) || isLoopback(e.dst)) return false;
    if (e.mark === AGENT_CT_MARK || (e.mark & KEEP_CT_BIT) !== 0) return false;
    // Either end may be the remote one (inbound, outbound or forwarded).
    if (flowExcluded(ctx.rules, e.proto, e.src, e.dport, e.sport)) return false;
    if (flowExcluded(ctx.rules, e.proto, e.dst, e.sport, e.dport)) return false;
    return true;
  });
}

/** A socket that severing spares, and whose mark its conntrack entry gets. */
export interface SparedSocket {
  socket: SocketInfo;
  kind: 'agent' | 'process';
}

/** Sockets spared because they belong to the daemon's cgroup or an excluded process (not loopback). */
export function sparedSockets(sockets: readonly SocketInfo[], ctx: SeverContext): SparedSocket[] {
  const out: SparedSocket[] = [];
  for (const s of sockets) {
    if (isLoopback(s.remote) || isLoopback(s.local)) continue;
    const kind = s.pids.includes(ctx.agentPid) ? 'agent' : ctx.spare ? spareKind(s, ctx.spare) : undefined;
    if (kind) out.push({ socket: s, kind });
  }
  return out;
}

/**
 * Splits the conntrack table: entries of spared sockets get their mark (so the connection keeps
 * flowing through the `ct mark` rules), the rest is kept (exclusions, loopback, marks) or deleted.
 */
export function planConntrack(entries: readonly ConntrackEntry[], ctx: SeverContext, spared: readonly SparedSocket[]): ConntrackPlan {
  const key = (a: string, ap: number | undefined, b: string, bp: number | undefined): string => `${a}|${ap ?? ''}|${b}|${bp ?? ''}`;
  const bySocket = new Map<string, SparedSocket['kind']>();
  for (const s of spared) {
    bySocket.set(key(s.socket.local, s.socket.localPort, s.socket.remote, s.socket.remotePort), s.kind);
    bySocket.set(key(s.socket.remote, s.socket.remotePort, s.socket.local, s.socket.localPort), s.kind);
  }
  const del = new Set(conntrackToDelete(entries, ctx));
  const plan: ConntrackPlan = { mark: [], keep: [], delete: [] };
  for (const e of entries) {
    const kind = e.proto === 'tcp' || e.proto === 'udp' ? bySocket.get(key(e.src, e.sport, e.dst, e.dport)) : undefined;
    if (kind) plan.mark.push({ entry: e, mark: CT_MARKS[kind] });
    else if (del.has(e)) plan.delete.push(e);
    else plan.keep.push(e);
  }
  return plan;
}

function splitHostPort(text: string): { host: string; port: number } | undefined {
  const i = text.lastIndexOf(':');
  if (i <= 0) return undefined;
  let host = text.slice(0, i);
  const port = Number(text.slice(i + 1));
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  host = host.replace(/%.*$/, '');
  if (host.startsWith('::ffff:') && isIP(host.slice(7)) === 4) host = host.slice(7);
  if (!Number.isInteger(port) || isIP(host) === 0) return undefined;
  return { host, port };
}

/** Parses `ss -H -tun -e -p state connected` lines. */
export function parseSs(text: string): SocketInfo[] {
  const out: SocketInfo[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    const proto = f[0];
    if (proto !== 'tcp' && proto !== 'udp') continue;
    const l = splitHostPort(f[4]!);
    const r = splitHostPort(f[5]!);
    if (!l || !r) continue;
    const pids = [...line.matchAll(/pid=([0-9]+)/g)].map((m) => Number(m[1]));
    const uidM = /\buid:([0-9]+)/.exec(line);
    const cgM = /\bcgroup:(\S+)/.exec(line);
    out.push({ proto, local: l.host, localPort: l.port, remote: r.host, remotePort: r.port, pids, uid: uidM ? Number(uidM[1]) : 0, ...(cgM ? { cgroup: cgM[1]! } : {}) });
  }
  return out;
}

/** Parses `conntrack -L` lines (original direction tuple and mark). */
export function parseConntrack(text: string): ConntrackEntry[] {
  const out: ConntrackEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(?:ipv[46]\s+\d+\s+)?(\S+)\s+\d+\s/.exec(line.trim());
    if (!m) continue;
    const src = /\bsrc=(\S+)/.exec(line);
    const dst = /\bdst=(\S+)/.exec(line);
    if (!src || !dst) continue;
    const sport = /\bsport=(\d+)/.exec(line);
    const dport = /\bdport=(\d+)/.exec(line);
    const mark = /\bmark=(\d+)/.exec(line);
    const e: ConntrackEntry = { proto: m[1]!, src: src[1]!, dst: dst[1]!, mark: mark ? Number(mark[1]) : 0 };
    if (sport) e.sport = Number(sport[1]);
    if (dport) e.dport = Number(dport[1]);
    out.push(e);
  }
  return out;
}

function ssAddr(a: string): string {
  return a.includes(':') ? `[${a}]` : a;
}

/** One ss filter expression for a batch of sockets. */
export function ssFilter(batch: readonly SocketInfo[]): string {
  return batch.map((s) => `( src ${ssAddr(s.local)}:${s.localPort} and dst ${ssAddr(s.remote)}:${s.remotePort} )`).join(' or ');
}

interface RunResult {
  code: number;
  stdout: string;
}

/** Output kept per command: a full conntrack table (262144 entries by default) lists in ~60 MiB. */
const MAX_OUTPUT = 64 * 1024 * 1024;
/** Attempts of a conntrack listing or of a mark / keep step before the safe fallback. */
const CT_ATTEMPTS = 3;
/** One listing of a 10k-entry table takes ~25 ms; a dump stuck this long is tried again. */
const LIST_TIMEOUT_MS = 8_000;

function firstLine(s: string): string {
  return s.trim().split('\n')[0] ?? '';
}

function run(cmd: string, args: string[], prefix: string[], timeoutMs = 10_000): Promise<RunResult & { stderr: string }> {
  return runWithInput(cmd, args, prefix, undefined, timeoutMs);
}

function runWithInput(cmd: string, args: string[], prefix: string[], input: string | undefined, timeoutMs: number): Promise<RunResult & { stderr: string }> {
  return new Promise((resolve) => {
    const argv = [...prefix, cmd, ...args];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      if (stdout.length < MAX_OUTPUT) stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < MAX_OUTPUT) stderr += d.toString();
    });
    if (child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr + String(e) });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

export interface SystemKillerOptions {
  /** Argv put before each command (e.g. ["ip", "netns", "exec", NS]) for tests. */
  prefix?: string[];
}

const SS_BATCH = 64;

export function createSystemKiller(opts: SystemKillerOptions = {}): ConnectionKiller {
  const prefix = opts.prefix ?? [];
  return {
    async listSockets() {
      const r = await run('ss', ['-H', '-tun', '-e', '-p', '--cgroup', 'state', 'connected'], prefix);
      return parseSs(r.stdout);
    },
    async destroySockets(sockets) {
      let killed = 0;
      for (const proto of ['tcp', 'udp'] as const) {
        const list = sockets.filter((s) => s.proto === proto);
        for (let i = 0; i < list.length; i += SS_BATCH) {
          const batch = list.slice(i, i + SS_BATCH);
          const r = await run('ss', ['-K', '-H', '-n', proto === 'tcp' ? '-t' : '-u', 'state', 'connected', ssFilter(batch)], prefix);
          killed += r.stdout.split('\n').filter((l) => l.trim() !== '').length;
        }
      }
      return killed;
    },
    async listConntrack() {
      // A dump can fail part way (ENOBUFS on a big, busy table, the timeout) or outgrow the
      // output cap: one more try, then the listing says it is partial (the plan then deletes
      // only what it lists).
      let r = await run('conntrack', ['-L', '-o', 'extended'], prefix, LIST_TIMEOUT_MS);
      for (let attempt = 1; attempt < CT_ATTEMPTS && (r.code !== 0 || r.stdout.length >= MAX_OUTPUT); attempt++) {
        r = await run('conntrack', ['-L', '-o', 'extended'], prefix, LIST_TIMEOUT_MS);
      }
      return { entries: parseConntrack(r.stdout), complete: r.code === 0 && r.stdout.length < MAX_OUTPUT, ...(r.code !== 0 ? { error: firstLine(r.stderr) } : {}) };
    },
    async applyConntrack(plan) {
      const script = conntrackScript(plan);
      const t0 = process.hrtime.bigint();
      const res: ConntrackResult = { deleted: 0, updated: 0, processes: 0, deleteProcesses: 0, strategy: script.strategy, walks: script.walks, ms: 0, failures: [] };
      if (script.steps.length === 0) return res;
      // `conntrack -R FILE` reads the commands from a file: it opens "-" as /dev/stdin by path,
      // which fails when stdin is a socket, as Node's child stdio is.
      const dir = await mkdtemp(join(tmpdir(), 'bulwark-ct-'));
      try {
        const steps = script.steps;
        for (let i = 0; i < steps.length; i++) {
          const step = steps[i]!;
          const file = join(dir, `step${i}`);
          await writeFile(file, step.lines.join('\n') + '\n', { mode: 0o600 });
          let r = await runWithInput('conntrack', ['-R', file], prefix, undefined, 120_000);
          res.processes++;
          // A mark / keep step is idempotent: a failure (seen intermittently on a busy host) is
          // tried again before the deletion gives up deleting by mark.
          for (let attempt = 1; attempt < CT_ATTEMPTS && r.code !== 0 && (step.kind === 'mark' || step.kind === 'keep'); attempt++) {
            res.failures.push(`${step.kind}: ${firstLine(r.stderr)}`);
            r = await runWithInput('conntrack', ['-R', file], prefix, undefined, 120_000);
            res.processes++;
          }
          const n = countConntrackLines(r.stdout);
          if (step.kind === 'delete') {
            res.deleted += n;
            res.deleteProcesses++;
          } else if (step.kind !== 'restore') res.updated += n;
          if (r.code !== 0 && (step.kind === 'mark' || step.kind === 'keep') && script.strategy === 'mark') {
            // A step that kept failing may have left entries without their mark, and deleting
            // by mark would remove them: the deletions go by tuple instead (slower, removes only
            // what was listed to go). The keep bits that were set are still cleared afterwards.
            res.failures.push(`${step.kind}: ${firstLine(r.stderr)}`);
            const restore = steps.slice(i + 1).filter((s) => s.kind === 'restore');
            steps.splice(i + 1, steps.length, tupleDeletes(plan), ...restore);
            res.strategy = 'tuple';
            continue;
          }
          if (r.code !== 0 && n === 0) throw new Error(`conntrack -R (${step.kind}) failed (exit ${r.code}): ${r.stderr.trim().split('\n')[0] ?? ''}`);
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
        res.ms = Number(process.hrtime.bigint() - t0) / 1e6;
      }
      return res;
    },
  };
}
