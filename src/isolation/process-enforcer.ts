/**
 * Keeps the process exclusion chains (iso_pin / iso_pout) in step with the machine while isolated:
 * resolves the rules, loads them in their own batch (a cgroup that vanished between resolution and
 * load fails only that batch, which is retried without it), re-resolves every `rescanMs` (a
 * restarted unit gets a new cgroup id; a stopped one is left out with a warning and added back
 * when it appears) and releases the executables' cgroups when isolation ends. The manager calls
 * it inside its serial queue.
 */
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Nft } from '../blocklist/types.js';
import { errorMessage } from '../errors.js';
import type { CgroupRef } from './cgroup.js';
import { describeSelector, spareSetFrom, type ProcessExclusions, type ProcessResolution, type SpareSet } from './processes.js';
import { buildProcScript, type AgentRules } from './ruleset.js';
import type { EffectiveRule } from './types.js';

export interface EnforcerDeps {
  nft: Nft;
  log: Logger;
  resolver: ProcessExclusions | undefined;
  /** cgroup2 mount point (undefined: none visible; cgroup kinds are then left out with a warning). */
  cgroupMount: string | undefined;
  agent: AgentRules | undefined;
  /** Effective gid of a pid (sparing sockets of group exclusions). */
  processGid?: (pid: number) => Promise<number | undefined>;
  registry?: Registry;
}

/** Load attempts per apply: each failed attempt re-resolves (a cgroup may have vanished meanwhile). */
const ATTEMPTS = 3;

export class ProcessEnforcer {
  private rules: EffectiveRule[] = [];
  private res: ProcessResolution | undefined;
  private comments: string[] | undefined;
  private loadedKey: string | undefined;
  private readonly m:
    | { exclusions: Gauge; reresolved: Counter; moved: Counter; agent: Gauge }
    | undefined;
  private movedReported = 0;

  constructor(private readonly d: EnforcerDeps) {
    if (d.registry) {
      // eslint-disable-next-line @typescript-eslint/no-this-alias
      const self = this;
      this.m = {
        exclusions: new Gauge({
          name: 'bulwark_isolation_process_exclusions',
          help: 'Process exclusions of the isolation in force: resolved (matched in the kernel) or missing (unit stopped, cgroup absent, no matching process; left out until it appears).',
          labelNames: ['state'],
          registers: [d.registry],
          collect() {
            const rules = self.res?.rules ?? [];
            this.set({ state: 'resolved' }, rules.filter((r) => r.state === 'resolved').length);
            this.set({ state: 'missing' }, rules.filter((r) => r.state === 'missing').length);
          },
        }),
        reresolved: new Counter({
          name: 'bulwark_isolation_process_reresolved_total',
          help: 'Process exclusion rules reloaded while isolated because what they resolve to changed (a unit restarted with a new cgroup id, a cgroup appeared or vanished, executables started).',
          registers: [d.registry],
        }),
        moved: new Counter({
          name: 'bulwark_isolation_processes_moved_total',
          help: 'Processes moved into a bulwark-excluded cgroup for an executable exclusion.',
          registers: [d.registry],
          collect() {
            const total = d.resolver?.moved ?? 0;
            if (total > self.movedReported) {
              this.inc(total - self.movedReported);
              self.movedReported = total;
            }
          },
        }),
        agent: new Gauge({
          name: 'bulwark_isolation_agent_cgroup',
          help: "1 when the daemon's own flows are exempt from isolation by its cgroup (else by uid/gid only, or not at all).",
          registers: [d.registry],
        }),
      };
      this.m.agent.set(d.agent ? 1 : 0);
    }
  }

  get resolution(): ProcessResolution | undefined {
    return this.res;
  }

  /** The rule comments the kernel should hold (undefined before the first load). */
  get expectedComments(): string[] | undefined {
    return this.comments;
  }

  get warnings(): string[] {
    return this.res?.warnings ?? [];
  }

  /** True when something can change under us (cgroups, units, executables): the rescan timer runs. */
  get needsRescan(): boolean {
    return this.rules.some((r) => r.process !== undefined);
  }

  private async resolve(): Promise<ProcessResolution> {
    if (!this.d.resolver || !this.needsRescan) return { rules: [], warnings: [], key: '' };
    return this.d.resolver.resolve(this.rules);
  }

  /** Resolves and loads the process chains for these rules; never throws (logged). */
  async apply(rules: readonly EffectiveRule[]): Promise<void> {
    this.rules = rules.filter((r) => r.process !== undefined);
    await this.load(await this.resolve(), false);
  }

  private async load(res: ProcessResolution, counted: boolean): Promise<void> {
    let cur = res;
    for (let attempt = 1; ; attempt++) {
      const { script, comments } = buildProcScript(this.d.cgroupMount, cur.rules, this.d.agent);
      try {
        await this.d.nft.applyText(script);
        for (const w of cur.warnings.filter((x) => !(this.res?.warnings ?? []).includes(x))) this.d.log.warn(w);
        if (counted) this.m?.reresolved.inc();
        this.res = cur;
        this.comments = comments;
        this.loadedKey = cur.key;
        return;
      } catch (e) {
        if (attempt >= ATTEMPTS) {
          this.d.log.error({ err: errorMessage(e) }, 'loading the process exclusion rules failed; they stay as they were (retried at the next rescan)');
          this.res = cur;
          return;
        }
        this.d.log.warn({ err: errorMessage(e), attempt }, 'loading the process exclusion rules failed (a cgroup may have vanished); re-resolving');
        cur = await this.resolve();
      }
    }
  }

  /** Rescan: re-resolves and reloads when anything changed. Returns whether it reloaded. */
  async refresh(): Promise<boolean> {
    if (!this.needsRescan) return false;
    const res = await this.resolve();
    if (res.key === this.loadedKey) {
      this.res = res;
      return false;
    }
    this.d.log.info(
      { before: this.loadedKey, after: res.key, rules: res.rules.map((r) => ({ id: r.ruleId, state: r.state })) },
      'process exclusions re-resolved (cgroup id, user or executables changed); reloading their rules',
    );
    await this.load(res, true);
    return true;
  }

  /** Reloads what was last resolved (tamper repair). */
  async reload(): Promise<void> {
    await this.load(await this.resolve(), false);
  }

  /** Isolation ended: forget the rules and give the executables back to their cgroups. */
  async clear(): Promise<void> {
    this.rules = [];
    this.res = undefined;
    this.comments = undefined;
    this.loadedKey = undefined;
    const problems = (await this.d.resolver?.release()) ?? [];
    for (const p of problems) this.d.log.warn({ problem: p }, 'releasing an executable exclusion cgroup failed');
  }

  /** What severing spares: excluded processes' sockets and the daemon's cgroup. */
  async spareSet(socketPids: readonly number[]): Promise<SpareSet> {
    const set = spareSetFrom(this.res, this.d.agent?.cgroup);
    if (set.gids.length > 0 && this.d.processGid) {
      set.pidGids = new Map();
      for (const pid of new Set(socketPids)) {
        const g = await this.d.processGid(pid);
        if (g !== undefined) set.pidGids.set(pid, g);
      }
    }
    return set;
  }

  /** For `isolation status`: each process exclusion and what it resolved to, and the daemon's own match. */
  report(): { processExclusions: Record<string, unknown>[]; agent: Record<string, unknown> } {
    const agent: CgroupRef | undefined = this.d.agent?.cgroup;
    return {
      processExclusions: (this.res?.rules ?? []).map((r) => ({
        id: r.ruleId,
        direction: r.direction,
        [r.selector.kind]: r.selector.value,
        summary: describeSelector(r.selector),
        state: r.state,
        ...(r.cgroupPath !== undefined ? { cgroup: r.cgroupPath } : {}),
        resolved: r.matches.map((m) => (m.kind === 'cgroup' ? { cgroup: m.cgroup.path, cgroupId: m.cgroup.id, level: m.cgroup.level } : { [m.kind]: m.id })),
        ...(r.pids ? { pids: r.pids } : {}),
        ...(r.unmoved && r.unmoved.length > 0 ? { unmoved: r.unmoved } : {}),
        ...(r.warning ? { warning: r.warning } : {}),
      })),
      agent: agent ? { match: 'cgroup', cgroup: agent.path, cgroupId: agent.id, level: agent.level, ...(this.d.agent?.metricsPort !== undefined ? { metricsPort: this.d.agent.metricsPort } : {}) } : { match: 'none' },
    };
  }
}
