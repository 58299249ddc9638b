/**
 * Test hosts in network namespaces. Every host gets one veth into a private "switch" namespace
 * (a bridge), addresses from 198.51.100.0/24 and 2001:db8:b1::/64, no default route, and no
 * forwarding. Everything is deleted by destroy(), and by an exit hook if a test forgets or crashes.
 *
 * Network safety: these hosts can only reach each other; nothing routes out of them.
 */
import { spawn, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Host {
  name: string;
  /** Namespace name (unique per run). */
  ns: string;
  /** Interface name inside the namespace. */
  ifname: string;
  ip4: string;
  ip6: string;
  /** Runs a command inside the namespace and waits (never throws on non-zero exit). */
  exec(cmd: string, args: string[], opts?: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<ExecResult>;
  /** Starts a long-running process inside the namespace; killed by destroy(). */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
}

export interface TestNet {
  hosts: Record<string, Host>;
  host(name: string): Host;
  destroy(): Promise<void>;
}

const live = new Set<string>();
const children = new Set<ChildProcess>();
let hookInstalled = false;

function cleanupSync(): void {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const ns of live) {
    try {
      execFileSync('ip', ['netns', 'pids', ns]).toString().split(/\s+/).filter(Boolean).forEach((p) => {
        try {
          process.kill(Number(p), 'SIGKILL');
        } catch {
          /* gone */
        }
      });
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      /* already deleted */
    }
  }
  live.clear();
}

function installHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      cleanupSync();
      process.kill(process.pid, sig);
    });
  }
}

export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr + String(e) });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    // A child that exits before reading its input must not crash the test with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

async function must(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * Creates the hosts. Host i (0-based, in the order given) gets 198.51.100.(10+i) and 2001:db8:b1::(10+i).
 * Default: an "attacker" and a "protected" host.
 */
export async function createTestNet(names: string[] = ['attacker', 'protected']): Promise<TestNet> {
  installHook();
  const tag = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
  const hub = `bwt-${tag}-hub`;
  const hosts: Record<string, Host> = {};
  const created: string[] = [];
  try {
    await must('ip', ['netns', 'add', hub]);
    live.add(hub);
    created.push(hub);
    const inHub = (args: string[]): Promise<string> => must('ip', ['netns', 'exec', hub, ...args]);
    await inHub(['ip', 'link', 'add', 'br0', 'type', 'bridge']);
    await inHub(['ip', 'link', 'set', 'br0', 'up']);
    await inHub(['ip', 'link', 'set', 'lo', 'up']);
    for (const [i, name] of names.entries()) {
      const ns = `bwt-${tag}-${name}`;
      await must('ip', ['netns', 'add', ns]);
      live.add(ns);
      created.push(ns);
      const a = `bw${tag.slice(-6)}a${i}`.slice(0, 15);
      const b = `bw${tag.slice(-6)}b${i}`.slice(0, 15);
      // Create the pair inside the hub so nothing ever appears in the root namespace.
      await inHub(['ip', 'link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
      await inHub(['ip', 'link', 'set', b, 'netns', ns]);
      await inHub(['ip', 'link', 'set', a, 'master', 'br0']);
      await inHub(['ip', 'link', 'set', a, 'up']);
      const ip4 = `198.51.100.${10 + i}`;
      const ip6 = `2001:db8:b1::${(10 + i).toString(16)}`;
      const inNs = (args: string[]): Promise<string> => must('ip', ['netns', 'exec', ns, ...args]);
      await inNs(['ip', 'link', 'set', b, 'name', 'eth0']);
      await inNs(['ip', 'link', 'set', 'lo', 'up']);
      await inNs(['ip', 'link', 'set', 'eth0', 'up']);
      await inNs(['ip', 'addr', 'add', `${ip4}/24`, 'dev', 'eth0']);
      await inNs(['ip', '-6', 'addr', 'add', `${ip6}/64`, 'dev', 'eth0', 'nodad']);
      await inNs(['sysctl', '-qw', 'net.ipv4.ip_forward=0']);
      hosts[name] = {
        name,
        ns,
        ifname: 'eth0',
        ip4,
        ip6,
        exec: (cmd, args, opts) => run('ip', ['netns', 'exec', ns, cmd, ...args], opts),
        spawn: (cmd, args, opts = {}) => {
          const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'pipe', ...opts });
          children.add(child);
          child.on('exit', () => children.delete(child));
          return child;
        },
      };
    }
  } catch (e) {
    for (const ns of created) {
      await run('ip', ['netns', 'del', ns]);
      live.delete(ns);
    }
    throw e;
  }
  const all = [hub, ...names.map((n) => hosts[n]!.ns)];
  return {
    hosts,
    host(name: string): Host {
      const h = hosts[name];
      if (!h) throw new Error(`no test host ${name}`);
      return h;
    },
    async destroy(): Promise<void> {
      for (const c of children) {
        if (all.some((ns) => c.spawnargs.includes(ns))) c.kill('SIGKILL');
      }
      for (const ns of all) {
        const pids = (await run('ip', ['netns', 'pids', ns])).stdout.split(/\s+/).filter(Boolean);
        for (const p of pids) {
          try {
            process.kill(Number(p), 'SIGKILL');
          } catch {
            /* gone */
          }
        }
        await run('ip', ['netns', 'del', ns]);
        live.delete(ns);
      }
    },
  };
}
