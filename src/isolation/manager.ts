/**
 * IsolationManager: turns isolation on and off, keeps the kernel, the state file and the metrics in
 * step, re-applies after restarts and tampering, and ends isolation on time. Every side effect goes
 * through injected adapters (Nft, ConnectionKiller, resolver, host-info reader, Clock).
 */
import { lookup } from 'node:dns/promises';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { buildInstallBatch } from '../blocklist/ruleset.js';
import type { Nft, NftListOutput } from '../blocklist/types.js';
import type { Clock } from '../clock.js';
import type { Config, ManagementEndpoint } from '../config/types.js';
import type { AlertEvent } from '../engine/types.js';
import { BulwarkError, errorMessage } from '../errors.js';
import { isNftNotFound } from '../blocklist/nft.js';
import { parseCidr, normaliseAddress } from './addr.js';
import { deadline, formatLeft, isolationLengthMs, shouldReapply, timeLeftMs } from './deadline.js';
import {
  addDeviceExclusion,
  checkLimits,
  describeRule,
  emptyDeviceFile,
  editDeviceExclusion,
  removeDeviceExclusion,
  selectRules,
  setDeviceExclusionStatus,
  validateExclusion,
  type ResolvedManagement,
} from './exclusions.js';
import { checkKernel, emptyView, parseKernelView, type KernelCheck, type KernelView } from './kernel.js';
import { planConntrack, socketsToSever, sparedSockets, type ConnectionKiller, type SeverContext, type SocketInfo } from './killer.js';
import { ProcessEnforcer } from './process-enforcer.js';
import { alertMatchesPolicy } from './policy.js';
import { checkProfileNames, type HostNetInfo, type ProfileDb } from './profiles.js';
import { buildApplyScript, buildLiftScript, compileElements, type AgentMatch } from './ruleset.js';
import { readDeviceFile, readState, writeDeviceFile, writeState } from './state.js';
import { ISO_COUNTERS, ISO_SETS, type DeviceExclusion, type EffectiveRule, type ExpectedElements, type IsolationMode, type IsolationState } from './types.js';

export const ISOLATED_TAG = 'ISOLATED FROM NETWORK';

export interface Scheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(t: unknown): void;
}

export const realScheduler: Scheduler = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (t) => {
    clearTimeout(t as NodeJS.Timeout);
  },
};

export interface ManagerDeps {
  nft: Nft;
  killer: ConnectionKiller;
  clock: Clock;
  log: Logger;
  config: Config;
  profiles: ProfileDb;
  hostInfo: () => Promise<HostNetInfo>;
  /** Host name → addresses (default: getaddrinfo with a timeout). */
  resolve?: (host: string) => Promise<string[]>;
  agent: AgentMatch;
  agentPid: number;
  emitEvent: (e: Record<string, unknown>) => void;
  registry?: Registry;
  scheduler?: Scheduler;
  /** Tamper check period (ms); 0 disables it. Default 5000 (re-applied within 10 s). */
  verifyIntervalMs?: number;
  /** Process exclusions and the daemon's cgroup rules (default: none resolvable, agent by uid/gid only). */
  processes?: ProcessEnforcer;
}

export interface OnOptions {
  mode: IsolationMode;
  forMs?: number;
  reason?: string;
  event?: IsolationState['event'];
  by: string;
}

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
  lastSever?: { sockets: number; conntrack: number; conntrackProcesses: number; conntrackDeleteProcesses: number; strategy: string; conntrackMs: number; totalMs: number };
  kernel: { matches: boolean; problems: string[]; secondsLeft?: number; read: boolean };
  warnings: string[];
  last?: { mode: IsolationMode; startedAt: string; endedAt?: string; endedBy?: string; reason: string };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

async function defaultResolve(host: string): Promise<string[]> {
  const timeout = new Promise<never>((_, reject) => {
    setTimeout(() => {
      reject(new Error(`resolving ${host} timed out`));
    }, 3000).unref();
  });
  const res = await Promise.race([lookup(host, { all: true, verbatim: true }), timeout]);
  return res.map((r) => r.address);
}

function isAddressOrCidr(s: string): boolean {
  try {
    parseCidr(s);
    return true;
  } catch {
    return false;
  }
}

export class IsolationManager {
  private state: IsolationState | undefined;
  private expected: ExpectedElements | undefined;
  private expiryTimer: unknown;
  private verifyTimer: unknown;
  private rescanTimer: unknown;
  private lastSever: StatusReport['lastSever'];
  private readonly procs: ProcessEnforcer;
  private queue: Promise<unknown> = Promise.resolve();
  private running = false;
  private warnings: string[] = [];
  private lastView: KernelView = emptyView();
  private lastCheck: KernelCheck | undefined;
  private counterCache: Record<string, number> = {};
  private counterReported: Record<string, number> = {};
  private counterBase: Record<string, number> = {};
  private readonly sched: Scheduler;
  private readonly resolve: (host: string) => Promise<string[]>;
  private config: Config;
  private readonly m: {
    active: Gauge;
    dropped: Counter;
    severed: Counter;
    reapplied: Counter;
  } | undefined;

  constructor(private readonly d: ManagerDeps) {
    this.sched = d.scheduler ?? realScheduler;
    this.resolve = d.resolve ?? defaultResolve;
    this.config = d.config;
    this.procs = d.processes ?? new ProcessEnforcer({ nft: d.nft, log: d.log, resolver: undefined, cgroupMount: undefined, agent: undefined });
    if (d.registry) {
      // eslint-disable-next-line @typescript-eslint/no-this-alias
      const self = this;
      this.m = {
        active: new Gauge({
          name: 'bulwark_isolation_active',
          help: '1 while the host is isolated from the network (by state), else 0.',
          registers: [d.registry],
          collect() {
            this.set(self.state?.active ? 1 : 0);
          },
        }),
        dropped: new Counter({
          name: 'bulwark_isolation_dropped_packets_total',
          help: 'Packets dropped by isolation (nft named counters iso_dropped_*, read every verify period).',
          labelNames: ['direction'],
          registers: [d.registry],
          collect() {
            for (const c of ISO_COUNTERS) {
              const dir = c.slice('iso_dropped_'.length);
              const total = self.counterCache[c] ?? 0;
              const reported = self.counterReported[c] ?? 0;
              if (total > reported) {
                this.inc({ direction: dir }, total - reported);
                self.counterReported[c] = total;
              } else if (reported === 0) this.inc({ direction: dir }, 0);
            }
          },
        }),
        severed: new Counter({ name: 'bulwark_isolation_severed_connections_total', help: 'Connections cut when isolation started (sockets destroyed plus conntrack entries removed).', registers: [d.registry] }),
        reapplied: new Counter({
          name: 'bulwark_isolation_reapplied_total',
          help: 'Isolation put back into the kernel: after a daemon restart or reboot (restart), or because the rules disappeared (tamper).',
          labelNames: ['reason'],
          registers: [d.registry],
        }),
      };
      this.m.reapplied.inc({ reason: 'restart' }, 0);
      this.m.reapplied.inc({ reason: 'tamper' }, 0);
    }
  }

  /** Serialises every kernel/state change. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  get current(): IsolationState | undefined {
    return this.state;
  }

  async start(): Promise<void> {
    checkProfileNames(this.d.profiles, this.config.isolation.profiles);
    this.running = true;
    await this.serial(async () => {
      this.state = await readState(this.config.stateDir);
      const s = this.state;
      if (!s?.active) return;
      const now = this.d.clock.now();
      if (!shouldReapply(s.endsAtMs, now)) {
        await this.expireLocked('expired while the daemon was not running');
        return;
      }
      const expected = await this.computeExpected(s.mode);
      this.expected = expected.elements;
      const view = await this.readKernel();
      const check = checkKernel(view, expected.elements, timeLeftMs(s.endsAtMs, now));
      if (!check.matches) {
        this.d.log.warn({ problems: check.problems, timeLeftMs: timeLeftMs(s.endsAtMs, now) }, 'isolation state file says isolated; re-applying to the kernel with the time left');
        await this.applyLocked(s, expected, check.missing, 'restart');
      } else {
        this.d.log.info({ endsAt: iso(s.endsAtMs) }, 'isolation still in force in the kernel');
      }
      this.scheduleExpiry();
    });
    this.scheduleVerify();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.expiryTimer !== undefined) this.sched.clearTimeout(this.expiryTimer);
    if (this.verifyTimer !== undefined) this.sched.clearTimeout(this.verifyTimer);
    if (this.rescanTimer !== undefined) this.sched.clearTimeout(this.rescanTimer);
    this.expiryTimer = this.verifyTimer = this.rescanTimer = undefined;
    await this.queue;
  }

  async reload(config: Config): Promise<void> {
    checkProfileNames(this.d.profiles, config.isolation.profiles);
    this.config = config;
    const s = this.state;
    if (s?.active) await this.serial(() => this.refreshLocked());
  }

  /** Management endpoints with host names resolved now (before any commit); last known addresses on failure. */
  private async resolveManagement(list: readonly ManagementEndpoint[]): Promise<{ resolved: ResolvedManagement[]; addresses: Record<string, string[]> }> {
    const known = this.state?.managementAddresses ?? {};
    const addresses: Record<string, string[]> = {};
    const resolved: ResolvedManagement[] = [];
    for (const ep of list) {
      if (isAddressOrCidr(ep.address)) {
        resolved.push({ endpoint: ep, addresses: [normaliseAddress(ep.address)] });
        continue;
      }
      try {
        const addrs = [...new Set((await this.resolve(ep.address)).filter(isAddressOrCidr).map(normaliseAddress))];
        if (addrs.length === 0) throw new Error('no addresses');
        addresses[ep.address] = addrs;
        resolved.push({ endpoint: ep, addresses: addrs });
      } catch (e) {
        const last = known[ep.address] ?? [];
        addresses[ep.address] = last;
        const msg = `management host ${ep.address} did not resolve (${errorMessage(e)}); ${last.length ? `using last known ${last.join(', ')}` : 'no known address: not reachable during isolation'}`;
        this.warnings.push(msg);
        this.d.log.warn({ host: ep.address, lastKnown: last }, msg);
        resolved.push({ endpoint: ep, addresses: last });
      }
    }
    return { resolved, addresses };
  }

  private async computeExpected(mode: IsolationMode): Promise<{ rules: EffectiveRule[]; elements: ExpectedElements; managementAddresses: Record<string, string[]> }> {
    this.warnings = [];
    const device = await readDeviceFile(this.config.stateDir).catch((e: unknown) => {
      // A damaged device list must not stop containment: isolate with fewer exclusions, say so.
      const msg = `device exclusion list unusable (${errorMessage(e)}); isolating without device exclusions`;
      this.d.log.error({ err: errorMessage(e) }, msg);
      this.warnings.push(msg);
      return emptyDeviceFile();
    });
    const [host, mgmt] = await Promise.all([this.d.hostInfo(), this.resolveManagement(this.config.management)]);
    const policy = this.config.isolation.exclusions.map((r, i) => validateExclusion(r, `isolation.exclusions[${i}]`));
    const rules = selectRules({ mode, profiles: this.config.isolation.profiles, db: this.d.profiles, host, device, policy, management: mgmt.resolved });
    return { rules, elements: compileElements(rules), managementAddresses: mgmt.addresses };
  }

  private async readKernel(): Promise<KernelView> {
    try {
      const view = parseKernelView(await listIsolation(this.d.nft));
      this.lastView = view;
      for (const c of ISO_COUNTERS) {
        const k = view.counters[c]?.packets;
        if (k === undefined) continue;
        // A recreated table restarts the kernel counters at 0: keep the metric monotonic.
        const prevKernel = (this.counterCache[c] ?? 0) - (this.counterBase[c] ?? 0);
        if (k < prevKernel) this.counterBase[c] = this.counterCache[c] ?? 0;
        this.counterCache[c] = (this.counterBase[c] ?? 0) + k;
      }
      return view;
    } catch (e) {
      if (isNftNotFound(e)) {
        this.lastView = emptyView();
        return this.lastView;
      }
      throw e;
    }
  }

  /** Puts the base table back (blocklist layout) when it or its jumps to our chains are gone. */
  private async ensureBase(view: KernelView): Promise<void> {
    if (view.tablePresent && view.hooked.input && view.hooked.output && view.hooked.forward) return;
    this.d.log.warn({ table: view.tablePresent, hooked: view.hooked }, 'table inet bulwark or its jumps to the isolation chains are missing; reinstalling the base chains');
    await this.d.nft.apply(buildInstallBatch({ defaultTimeoutMs: this.config.blockDurationMs }));
  }

  private async applyLocked(
    s: IsolationState,
    expected: { rules: EffectiveRule[]; elements: ExpectedElements; managementAddresses: Record<string, string[]> },
    sever: boolean,
    reapplied?: 'restart' | 'tamper',
  ): Promise<void> {
    const now = this.d.clock.now();
    const left = timeLeftMs(s.endsAtMs, now);
    const view = await this.readKernel();
    await this.ensureBase(view);
    // The process chains first, in their own batch: a cgroup that vanished can only fail that one.
    await this.procs.apply(expected.rules);
    const script = buildApplyScript({ elements: expected.elements, timeLeftMs: left, rstWindowMs: sever ? this.config.isolation.rstWindowMs : 0, agent: this.d.agent });
    await this.d.nft.applyText(script);
    this.expected = expected.elements;
    s.managementAddresses = { ...s.managementAddresses, ...expected.managementAddresses };
    s.rules = expected.rules;
    if (reapplied) this.m?.reapplied.inc({ reason: reapplied });
    this.state = s;
    await writeState(this.config.stateDir, s);
    this.scheduleRescan();
    if (sever) {
      const r = await this.sever(expected.rules);
      s.severed += r.sockets + r.conntrack;
      s.conntrackRemoved += r.conntrack;
      await writeState(this.config.stateDir, s);
    }
  }

  private async sever(rules: readonly EffectiveRule[]): Promise<{ sockets: number; conntrack: number }> {
    const t0 = process.hrtime.bigint();
    const ctx: SeverContext = { rules, agentPid: this.d.agentPid, ...(this.d.agent.kind === 'uid' ? { agentUid: this.d.agent.id } : {}) };
    let sockets = 0;
    let conntrack = 0;
    let listed: SocketInfo[] = [];
    const ct = { processes: 0, deleteProcesses: 0, strategy: 'none', ms: 0 };
    try {
      listed = await this.d.killer.listSockets();
      ctx.spare = await this.procs.spareSet(listed.flatMap((s) => s.pids));
      const victims = socketsToSever(listed, ctx);
      if (victims.length > 0) sockets = await this.d.killer.destroySockets(victims);
    } catch (e) {
      this.d.log.error({ err: errorMessage(e) }, 'destroying sockets failed; new connections are still blocked');
    }
    try {
      const plan = planConntrack(await this.d.killer.listConntrack(), ctx, sparedSockets(listed, ctx));
      if (plan.delete.length > 0 || plan.mark.length > 0) {
        const r = await this.d.killer.applyConntrack(plan);
        conntrack = r.deleted;
        Object.assign(ct, { processes: r.processes, deleteProcesses: r.deleteProcesses, strategy: r.strategy, ms: r.ms });
        this.d.log.info({ candidates: plan.delete.length, deleted: r.deleted, kept: plan.keep.length, marked: plan.mark.length, strategy: r.strategy, walks: r.walks, processes: r.processes, ms: Math.round(r.ms) }, 'conntrack entries removed in one batch');
      }
    } catch (e) {
      this.d.log.error({ err: errorMessage(e) }, 'removing conntrack entries failed');
    }
    this.m?.severed.inc(sockets + conntrack);
    const totalMs = Number(process.hrtime.bigint() - t0) / 1e6;
    this.lastSever = { sockets, conntrack, conntrackProcesses: ct.processes, conntrackDeleteProcesses: ct.deleteProcesses, strategy: ct.strategy, conntrackMs: Math.round(ct.ms), totalMs: Math.round(totalMs) };
    this.d.log.info({ sockets, conntrack, conntrackProcesses: ct.processes, conntrackMs: Math.round(ct.ms), totalMs: Math.round(totalMs) }, 'connections severed');
    return { sockets, conntrack };
  }

  /** Turns isolation on (or re-applies it with a new deadline when already on). */
  on(o: OnOptions): Promise<StatusReport> {
    return this.serial(async () => {
      const now = this.d.clock.now();
      const len = isolationLengthMs(this.config.isolation, o.forMs);
      const expected = await this.computeExpected(o.mode);
      const prev = this.state;
      const s: IsolationState = {
        version: 1,
        active: true,
        mode: o.mode,
        reason: o.reason ?? (o.mode === 'manual' ? 'manual isolation' : 'automatic isolation'),
        startedAtMs: now,
        endsAtMs: deadline(now, this.config.isolation, o.forMs),
        startedBy: o.by,
        severed: 0,
        conntrackRemoved: 0,
        managementAddresses: prev?.managementAddresses ?? {},
      };
      if (o.event) s.event = o.event;
      await this.applyLocked(s, expected, true);
      this.d.log.warn({ mode: s.mode, reason: s.reason, endsAt: iso(s.endsAtMs), durationMs: len, severed: s.severed, exclusions: expected.rules.length }, 'host isolated from the network');
      this.d.emitEvent(this.event('on', s));
      this.scheduleExpiry();
      this.scheduleVerify();
      try {
        this.lastCheck = checkKernel(await this.readKernel(), expected.elements, timeLeftMs(s.endsAtMs, this.d.clock.now()), this.procs.expectedComments);
      } catch (e) {
        this.lastCheck = { matches: false, problems: [`cannot read the kernel: ${errorMessage(e)}`], missing: true };
      }
      return this.statusFromCache(true);
    });
  }

  off(by: string): Promise<{ wasActive: boolean; status: StatusReport }> {
    return this.serial(async () => {
      const s = this.state;
      await this.d.nft.applyText(buildLiftScript());
      this.expected = undefined;
      if (this.expiryTimer !== undefined) this.sched.clearTimeout(this.expiryTimer);
      this.expiryTimer = undefined;
      await this.procs.clear();
      if (!s?.active) return { wasActive: false, status: this.statusFromCache() };
      s.active = false;
      s.endedAtMs = this.d.clock.now();
      s.endedBy = by === 'cli' ? 'cli' : 'control';
      await writeState(this.config.stateDir, s);
      this.d.log.warn({ mode: s.mode, by }, 'isolation ended by request');
      this.d.emitEvent(this.event('off', s));
      return { wasActive: true, status: this.statusFromCache() };
    });
  }

  private async expireLocked(why: string): Promise<void> {
    const s = this.state;
    if (!s?.active) return;
    try {
      await this.d.nft.applyText(buildLiftScript());
    } catch (e) {
      // The kernel has already lifted the drop (the iso_on timeout); only the cleanup failed.
      this.d.log.warn({ err: errorMessage(e) }, 'removing expired isolation rules failed (the kernel deadline already lifted them)');
    }
    this.expected = undefined;
    await this.procs.clear();
    s.active = false;
    s.endedAtMs = Math.max(s.endsAtMs, Math.min(this.d.clock.now(), s.endsAtMs + 1000));
    s.endedBy = 'expired';
    await writeState(this.config.stateDir, s);
    this.d.log.warn({ mode: s.mode, endedAt: iso(s.endsAtMs), why }, 'isolation ended: deadline reached');
    this.d.emitEvent(this.event('expired', s));
  }

  private event(action: 'on' | 'off' | 'expired', s: IsolationState): Record<string, unknown> {
    const now = this.d.clock.now();
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

  private scheduleExpiry(): void {
    if (this.expiryTimer !== undefined) this.sched.clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    const s = this.state;
    if (!s?.active || !this.running) return;
    // setTimeout caps at ~24.8 days: wake up at most every day and look again.
    const wait = Math.min(timeLeftMs(s.endsAtMs, this.d.clock.now()), 86_400_000);
    this.expiryTimer = this.sched.setTimeout(() => {
      this.expiryTimer = undefined;
      void this.serial(async () => {
        const cur = this.state;
        if (!cur?.active) return;
        if (this.d.clock.now() >= cur.endsAtMs) await this.expireLocked('deadline');
        else this.scheduleExpiry();
      }).catch((e: unknown) => {
        this.d.log.error({ err: errorMessage(e) }, 'isolation expiry failed');
      });
    }, wait);
  }

  private scheduleVerify(): void {
    const every = this.d.verifyIntervalMs ?? 5000;
    if (every <= 0 || !this.running || this.verifyTimer !== undefined) return;
    this.verifyTimer = this.sched.setTimeout(() => {
      this.verifyTimer = undefined;
      void this.verify()
        .catch((e: unknown) => {
          this.d.log.error({ err: errorMessage(e) }, 'isolation verify failed');
        })
        .finally(() => {
          this.scheduleVerify();
        });
    }, every);
  }

  /** While isolated with process exclusions: re-resolve every isolation.processes.rescanMs. */
  private scheduleRescan(): void {
    const every = this.config.isolation.processes.rescanMs;
    if (!this.running || this.rescanTimer !== undefined || !this.procs.needsRescan || !this.state?.active) return;
    this.rescanTimer = this.sched.setTimeout(() => {
      this.rescanTimer = undefined;
      void this.serial(async () => {
        if (this.state?.active) await this.procs.refresh();
      })
        .catch((e: unknown) => {
          this.d.log.error({ err: errorMessage(e) }, 'process exclusion rescan failed');
        })
        .finally(() => {
          this.scheduleRescan();
        });
    }, every);
  }

  /** Tamper check: while isolated, the kernel must hold our rules; re-applied (and counted) when not. */
  verify(): Promise<KernelCheck | undefined> {
    return this.serial(async () => {
      const s = this.state;
      if (!s?.active) return undefined;
      const now = this.d.clock.now();
      if (now >= s.endsAtMs) {
        await this.expireLocked('deadline');
        return undefined;
      }
      if (!this.expected) this.expected = (await this.computeExpected(s.mode)).elements;
      const view = await this.readKernel();
      const check = checkKernel(view, this.expected, timeLeftMs(s.endsAtMs, now), this.procs.expectedComments);
      this.lastCheck = check;
      if (!check.matches) {
        this.d.log.warn({ problems: check.problems }, 'isolation rules changed or disappeared from the kernel; re-applying');
        await this.applyLocked(s, await this.computeExpected(s.mode), check.missing, 'tamper');
        this.lastCheck = checkKernel(await this.readKernel(), this.expected, timeLeftMs(s.endsAtMs, this.d.clock.now()), this.procs.expectedComments);
      }
      return check;
    });
  }

  /** Re-applies the current isolation with fresh exclusions (device list or config changed); no severing. */
  private async refreshLocked(): Promise<void> {
    const s = this.state;
    if (!s?.active) return;
    const expected = await this.computeExpected(s.mode);
    await this.applyLocked(s, expected, false);
  }

  async status(): Promise<StatusReport> {
    await this.serial(async () => {
      try {
        const v = await this.readKernel();
        const s = this.state;
        if (s?.active && this.expected) this.lastCheck = checkKernel(v, this.expected, timeLeftMs(s.endsAtMs, this.d.clock.now()), this.procs.expectedComments);
      } catch (e) {
        this.lastCheck = { matches: false, problems: [`cannot read the kernel: ${errorMessage(e)}`], missing: true };
      }
    });
    return this.statusFromCache(true);
  }

  private statusFromCache(read = false): StatusReport {
    const s = this.state;
    const now = this.d.clock.now();
    const kernelIsolated = this.lastView.on.ipv4 !== undefined || this.lastView.on.ipv6 !== undefined;
    if (!s?.active) {
      const problems = kernelIsolated ? ['the kernel still holds an isolation deadline'] : [];
      const r: StatusReport = { isolated: false, kernel: { matches: problems.length === 0, problems, read }, warnings: [] };
      if (s) r.last = { mode: s.mode, startedAt: iso(s.startedAtMs), reason: s.reason, ...(s.endedAtMs ? { endedAt: iso(s.endedAtMs) } : {}), ...(s.endedBy ? { endedBy: s.endedBy } : {}) };
      return r;
    }
    const left = timeLeftMs(s.endsAtMs, now);
    const check = this.lastCheck;
    const secondsLeft = this.lastView.on.ipv4 ?? this.lastView.on.ipv6;
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
      ...this.procs.report(),
      ...(this.d.agent.kind !== 'none' && this.procs.report().agent.match === 'none' ? { agent: { match: this.d.agent.kind, id: this.d.agent.id } } : {}),
      ...(this.lastSever ? { lastSever: this.lastSever } : {}),
      kernel: { matches: check?.matches ?? false, problems: check?.problems ?? ['not read yet'], read, ...(secondsLeft !== undefined ? { secondsLeft } : {}) },
      warnings: [...this.warnings, ...this.procs.warnings],
    };
  }

  /** Effective exclusions: while isolated, what was applied (and whether the kernel sets still match); else the lists. */
  async exclusions(): Promise<Record<string, unknown>> {
    const s = this.state;
    if (s?.active) {
      const st = await this.status();
      return {
        isolated: true,
        mode: s.mode,
        scope: s.mode === 'manual' ? 'device' : 'policy',
        kernelMatches: st.kernel.matches,
        kernelProblems: st.kernel.problems,
        exclusions: (s.rules ?? []).map((r) => ({ ...r, summary: describeRule(r) })),
      };
    }
    const device = await readDeviceFile(this.config.stateDir);
    return {
      isolated: false,
      profiles: this.config.isolation.profiles,
      device: device.exclusions,
      suppressedProfileRules: device.suppressedProfileRules,
      policy: this.config.isolation.exclusions,
      profileRules: [...this.d.profiles.profiles.values()].map((p) => ({
        name: p.name,
        inForce: this.config.isolation.profiles.includes(p.name),
        description: p.description,
        rules: p.rules.map((r, i) => ({ id: `${p.name}/${i + 1}`, ...r })),
      })),
    };
  }

  /** Device list changes; re-applied at once when a manual isolation is in force. */
  editDevice(op: 'add' | 'edit' | 'remove' | 'enable' | 'disable', ref: string | undefined, rule: Record<string, unknown> | undefined): Promise<Record<string, unknown>> {
    return this.serial(async () => {
      const dir = this.config.stateDir;
      const file = await readDeviceFile(dir);
      let result: Record<string, unknown>;
      let next = file;
      const needRef = (): string => {
        if (ref === undefined || ref === '') throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', `exclusions ${op}: an exclusion id is required`);
        return ref;
      };
      switch (op) {
        case 'add': {
          const r = addDeviceExclusion(file, rule ?? {});
          next = r.file;
          result = { added: r.added };
          break;
        }
        case 'edit': {
          const r = editDeviceExclusion(file, needRef(), rule ?? {}, this.d.profiles);
          next = r.file;
          result = { edited: r.edited, createdFromProfile: r.created };
          break;
        }
        case 'remove': {
          const r = removeDeviceExclusion(file, needRef());
          next = r.file;
          result = { removed: r.removed };
          break;
        }
        case 'enable':
        case 'disable':
          next = setDeviceExclusionStatus(file, needRef(), op === 'enable' ? 'active' : 'inactive', this.d.profiles);
          result = { ref: needRef(), status: op === 'enable' ? 'active' : 'inactive' };
          break;
      }
      checkLimits(next.exclusions, 'device exclusions');
      // Compile before writing so a rule the kernel cannot hold is refused, not stored.
      compileElements(selectRules({ mode: 'manual', profiles: this.config.isolation.profiles, db: this.d.profiles, host: { dnsServers: [], dhcpServers: [] }, device: next, policy: [], management: [] }));
      await writeDeviceFile(dir, next);
      const s = this.state;
      const applied = s?.active === true && s.mode === 'manual';
      if (applied) await this.refreshLocked();
      return { ...result, appliedNow: applied };
    });
  }

  deviceList(): Promise<DeviceExclusion[]> {
    return readDeviceFile(this.config.stateDir).then((f) => f.exclusions);
  }

  /** Automatic isolation on alerts matching the policy (config.isolation.policy). */
  onAlert(alert: AlertEvent): void {
    if (!alertMatchesPolicy(this.config.isolation.policy, alert)) return;
    const s = this.state;
    if (s?.active) {
      this.d.log.info({ eventId: alert.bulwark.event_id, mode: s.mode }, 'detection matches the isolation policy; already isolated');
      return;
    }
    const ev: NonNullable<IsolationState['event']> = {
      eventId: alert.bulwark.event_id,
      signatureId: alert.alert.signature_id,
      signature: alert.alert.signature,
      severity: alert.bulwark.severity,
      srcIp: alert.src_ip,
      ...(alert.bulwark.detector ? { detector: alert.bulwark.detector } : {}),
    };
    void this.on({ mode: 'automatic', reason: `${alert.bulwark.attack} from ${alert.src_ip}`, event: ev, by: 'detection' }).catch((e: unknown) => {
      this.d.log.error({ err: errorMessage(e), eventId: alert.bulwark.event_id }, 'automatic isolation failed');
    });
  }
}

/**
 * `bulwark isolation off` without a daemon: lifts the kernel rules and records it in the state
 * file. Returns whether the state file said isolated.
 */
export async function liftOffline(nft: Nft, stateDir: string, clock: Clock): Promise<{ wasActive: boolean; state: IsolationState | undefined }> {
  await nft.applyText(buildLiftScript());
  const s = await readState(stateDir);
  if (!s?.active) return { wasActive: false, state: s };
  s.active = false;
  s.endedAtMs = clock.now();
  s.endedBy = 'cli-offline';
  await writeState(stateDir, s);
  return { wasActive: true, state: s };
}

/**
 * What the checks need, cheaply: `nft -t list ruleset` (rules, counters, set declarations, no
 * elements: ~16 ms) plus the elements of our own sets only. Listing the table, a chain or the
 * counters would fetch every blocked address too (measured 0.7-1.8 s with 100k blocks).
 */
export async function listIsolation(nft: Nft): Promise<NftListOutput> {
  const base = await nft.list(['ruleset'], { terse: true });
  const sets = await Promise.all(
    ['iso_on', 'iso_rst', ...ISO_SETS].map((name) =>
      nft.list(['set', 'inet', 'bulwark', name]).catch((e: unknown) => {
        if (isNftNotFound(e)) return { nftables: [] };
        throw e;
      }),
    ),
  );
  const isoSet = (o: Record<string, unknown>): boolean => {
    const s = o.set as { name?: unknown; table?: unknown; family?: unknown } | undefined;
    return s !== undefined && s.family === 'inet' && s.table === 'bulwark' && typeof s.name === 'string' && s.name.startsWith('iso_');
  };
  return { nftables: [...base.nftables.filter((o) => !isoSet(o)), ...sets.flatMap((s) => s.nftables.filter(isoSet))] };
}

/** Kernel view for `isolation status` without a daemon. */
export async function readKernelOffline(nft: Nft): Promise<KernelView> {
  try {
    return parseKernelView(await listIsolation(nft));
  } catch (e) {
    if (isNftNotFound(e)) return emptyView();
    throw e;
  }
}

