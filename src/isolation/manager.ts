/**
 * IsolationManager: turns isolation on and off, keeps the kernel, the state file and the metrics in
 * step, re-applies after restarts and tampering, and ends isolation on time. Every side effect goes
 * through injected adapters (Nft, ConnectionKiller, resolver, host-info reader, Clock).
 *
 * It composes: management.ts (resolving management hosts), sever.ts (cutting connections),
 * kernel-io.ts (reading the kernel), report.ts (status and events), metrics.ts.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { buildInstallBatch } from '../blocklist/ruleset.js';
import type { Nft } from '../blocklist/types.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/types.js';
import type { AlertEvent } from '../engine/types.js';
import { BulwarkError, errorMessage } from '../errors.js';
import { Periodic, realScheduler, type Scheduler } from '../scheduler.js';
import { deadline, isolationLengthMs, shouldReapply, timeLeftMs } from './deadline.js';
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
} from './exclusions.js';
import { checkKernel, emptyView, type KernelCheck, type KernelView } from './kernel.js';
import { readKernelView } from './kernel-io.js';
import type { ConnectionKiller } from './killer.js';
import { defaultResolve, resolveManagement } from './management.js';
import { createIsolationMetrics, DropCounters, type IsolationMetrics } from './metrics.js';
import { ProcessEnforcer } from './process-enforcer.js';
import { alertMatchesPolicy } from './policy.js';
import { checkProfileNames, type HostNetInfo, type ProfileDb } from './profiles.js';
import { iso, isolationEvent, statusReport, type StatusReport } from './report.js';
import { buildApplyScript, buildLiftScript, compileElements, type AgentMatch } from './ruleset.js';
import { severConnections } from './sever.js';
import { readDeviceFile, readState, writeDeviceFile, writeState } from './state.js';
import type { DeviceExclusion, EffectiveRule, ExpectedElements, IsolationMode, IsolationState } from './types.js';

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

export class IsolationManager {
  private state: IsolationState | undefined;
  private expected: ExpectedElements | undefined;
  private expiryTimer: unknown;
  private readonly verifyTask: Periodic;
  private readonly rescanTask: Periodic;
  private lastSever: StatusReport['lastSever'];
  private readonly procs: ProcessEnforcer;
  private queue: Promise<unknown> = Promise.resolve();
  private running = false;
  private warnings: string[] = [];
  private lastView: KernelView = emptyView();
  private lastCheck: KernelCheck | undefined;
  private readonly drops = new DropCounters();
  private readonly sched: Scheduler;
  private readonly resolve: (host: string) => Promise<string[]>;
  private config: Config;
  private readonly m: IsolationMetrics | undefined;

  constructor(private readonly d: ManagerDeps) {
    this.sched = d.scheduler ?? realScheduler;
    this.resolve = d.resolve ?? defaultResolve;
    this.config = d.config;
    this.procs = d.processes ?? new ProcessEnforcer({ nft: d.nft, log: d.log, resolver: undefined, cgroupMount: undefined, agent: undefined });
    this.m = d.registry ? createIsolationMetrics(d.registry, () => this.state?.active === true, this.drops) : undefined;
    this.verifyTask = new Periodic(this.sched, {
      intervalMs: () => this.d.verifyIntervalMs ?? 5000,
      when: () => this.running,
      run: () => this.verify(),
      onError: (e) => {
        this.d.log.error({ err: errorMessage(e) }, 'isolation verify failed');
      },
    });
    // While isolated with process exclusions: re-resolve every isolation.processes.rescanMs.
    this.rescanTask = new Periodic(this.sched, {
      intervalMs: () => this.config.isolation.processes.rescanMs,
      when: () => this.running && this.procs.needsRescan && this.state?.active === true,
      run: () =>
        this.serial(async () => {
          if (this.state?.active) await this.procs.refresh();
        }),
      onError: (e) => {
        this.d.log.error({ err: errorMessage(e) }, 'process exclusion rescan failed');
      },
    });
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
    this.verifyTask.arm();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.expiryTimer !== undefined) this.sched.clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    this.verifyTask.cancel();
    this.rescanTask.cancel();
    await this.queue;
  }

  async reload(config: Config): Promise<void> {
    checkProfileNames(this.d.profiles, config.isolation.profiles);
    this.config = config;
    const s = this.state;
    if (s?.active) await this.serial(() => this.refreshLocked());
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
    const [host, mgmt] = await Promise.all([this.d.hostInfo(), resolveManagement(this.config.management, this.state?.managementAddresses ?? {}, this.resolve, (host, lastKnown, msg) => {
        this.warnings.push(msg);
        this.d.log.warn({ host, lastKnown }, msg);
      })]);
    const policy = this.config.isolation.exclusions.map((r, i) => validateExclusion(r, `isolation.exclusions[${i}]`));
    const rules = selectRules({ mode, profiles: this.config.isolation.profiles, db: this.d.profiles, host, device, policy, management: mgmt.resolved });
    return { rules, elements: compileElements(rules), managementAddresses: mgmt.addresses };
  }

  /** Reads the kernel's isolation view; keeps it for status and feeds the drop counters. */
  private async readKernel(): Promise<KernelView> {
    const view = await readKernelView(this.d.nft);
    this.lastView = view;
    this.drops.update(view);
    return view;
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
    this.rescanTask.arm();
    if (sever) {
      const r = await severConnections({ killer: this.d.killer, procs: this.procs, log: this.d.log, agent: this.d.agent, agentPid: this.d.agentPid }, expected.rules);
      this.m?.severed.inc(r.sockets + r.conntrack);
      this.lastSever = r;
      s.severed += r.sockets + r.conntrack;
      s.conntrackRemoved += r.conntrack;
      await writeState(this.config.stateDir, s);
    }
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
      this.d.emitEvent(isolationEvent('on', s, this.d.clock.now()));
      this.scheduleExpiry();
      this.verifyTask.arm();
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
      this.d.emitEvent(isolationEvent('off', s, this.d.clock.now()));
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
    this.d.emitEvent(isolationEvent('expired', s, this.d.clock.now()));
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
    return statusReport({
      state: this.state,
      now: this.d.clock.now(),
      view: this.lastView,
      check: this.lastCheck,
      read,
      processes: () => this.procs.report(),
      agent: this.d.agent,
      lastSever: this.lastSever,
      warnings: [...this.warnings, ...this.procs.warnings],
    });
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
