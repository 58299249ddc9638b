/**
 * Daemon component "isolation": network isolation on demand (control commands isolation.*) and
 * on detections matching config.isolation.policy (bus alerts). See docs/isolation.md.
 */
import { createNft } from '../blocklist/nft.js';
import type { Nft } from '../blocklist/types.js';
import { BulwarkError } from '../errors.js';
import { parseIsolationDuration, checkIsolationDuration } from '../isolation/deadline.js';
import { createSystemKiller, type ConnectionKiller } from '../isolation/killer.js';
import { IsolationManager } from '../isolation/manager.js';
import { DEFAULT_HOST_INFO_PATHS, DEFAULT_PROFILES_PATH, loadProfiles, readHostNetInfo, type HostInfoPaths } from '../isolation/profiles.js';
import type { AgentMatch } from '../isolation/ruleset.js';
import { validatePolicyExclusions } from '../isolation/exclusions.js';
import { agentCgroupProblem, currentAgentCgroup } from '../isolation/agent-cgroup.js';
import { discoverCgroup2Mount } from '../isolation/cgroup.js';
import { ProcessEnforcer } from '../isolation/process-enforcer.js';
import { createProcessHost } from '../isolation/process-host.js';
import { ProcessExclusions, type ProcessHost } from '../isolation/processes.js';
import { parseListen } from '../config/schema.js';
import type { Component, ComponentFactory, DaemonContext } from './types.js';

export interface IsolationComponentOptions {
  nft?: Nft;
  killer?: ConnectionKiller;
  profilesPath?: string;
  hostInfoPaths?: HostInfoPaths;
  resolve?: (host: string) => Promise<string[]>;
  verifyIntervalMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Process exclusions' view of the machine (tests). */
  processHost?: ProcessHost;
}

/** TCP port of a metrics listener reachable from the network (loopback needs no exemption). */
export function exposedMetricsPort(metrics: { enabled: boolean; listen: string }): number | undefined {
  const l = metrics.enabled ? parseListen(metrics.listen) : undefined;
  if (!l || l.host === 'localhost' || l.host.startsWith('127.') || l.host === '::1') return undefined;
  return l.port;
}

/**
 * How the kernel recognises the daemon's own flows. A non-root daemon: its uid. A root daemon
 * with a dedicated primary group (systemd Group=): that gid. Root:root: nothing — matching uid 0
 * would exempt every root process, which defeats isolation (documented).
 */
export function agentMatch(): AgentMatch {
  const uid = process.geteuid?.() ?? 0;
  if (uid !== 0) return { kind: 'uid', id: uid };
  const gid = process.getegid?.() ?? 0;
  if (gid !== 0) return { kind: 'gid', id: gid };
  return { kind: 'none' };
}

/** resolv.conf / lease locations: config keys, else BULWARK_ISOLATION_RESOLV_CONF / _LEASE_DIRS (colon lists), else defaults. */
export function hostInfoPathsFrom(ctx: DaemonContext, env: NodeJS.ProcessEnv): HostInfoPaths {
  const iso = ctx.config.isolation;
  const split = (v: string | undefined): string[] | undefined => (v === undefined || v === '' ? undefined : v.split(':').filter(Boolean));
  return {
    resolvConf: iso.resolvConf ?? split(env.BULWARK_ISOLATION_RESOLV_CONF) ?? DEFAULT_HOST_INFO_PATHS.resolvConf,
    leaseDirs: iso.leaseDirs ?? split(env.BULWARK_ISOLATION_LEASE_DIRS) ?? DEFAULT_HOST_INFO_PATHS.leaseDirs,
  };
}

function str(args: Record<string, unknown>, key: string): string | undefined {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', `${key} must be a string`);
  return v;
}

function ruleArg(args: Record<string, unknown>): Record<string, unknown> {
  const r = args.rule;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', 'rule must be an object');
  return r as Record<string, unknown>;
}

export interface IsolationComponent extends Component {
  /** The manager once started (fleet orders go through it: src/service/fleet.ts). */
  manager(): IsolationManager | undefined;
}

export function createIsolationComponent(opts: IsolationComponentOptions = {}): ComponentFactory {
  return (ctx: DaemonContext): IsolationComponent => {
    const log = ctx.log.child({ component: 'isolation' });
    const env = opts.env ?? process.env;
    let manager: IsolationManager | undefined;

    const component: IsolationComponent = {
      name: 'isolation',
      manager: () => manager,
      async start() {
        validatePolicyExclusions(ctx.config.isolation.exclusions);
        const profiles = await loadProfiles(opts.profilesPath ?? DEFAULT_PROFILES_PATH);
        const paths = opts.hostInfoPaths ?? hostInfoPathsFrom(ctx, env);
        const mount = await discoverCgroup2Mount(ctx.config.isolation.processes.cgroupMount ?? env.BULWARK_CGROUP2_MOUNT);
        if (mount === undefined) log.warn('no cgroup v2 hierarchy is visible (isolation.processes.cgroupMount): unit, cgroup and executable exclusions are left out while isolated');
        const host = opts.processHost ?? createProcessHost(mount);
        const agentCg = currentAgentCgroup();
        const metricsPort = exposedMetricsPort(ctx.config.metrics);
        const nft = opts.nft ?? createNft({ log });
        const processes = new ProcessEnforcer({
          nft,
          log,
          resolver: new ProcessExclusions(host, process.pid),
          cgroupMount: host.cgroups.mount,
          agent: agentCg ? { cgroup: agentCg, ...(metricsPort !== undefined ? { metricsPort } : {}) } : undefined,
          processGid: (pid) => host.processGid(pid),
          registry: ctx.registry,
        });
        const agentProblem = agentCgroupProblem();
        if (agentProblem !== undefined) log.warn(agentProblem);
        manager = new IsolationManager({
          processes,
          nft,
          killer: opts.killer ?? createSystemKiller(),
          clock: ctx.clock,
          log,
          config: ctx.config,
          profiles,
          hostInfo: () => readHostNetInfo(paths),
          ...(opts.resolve ? { resolve: opts.resolve } : {}),
          agent: agentMatch(),
          agentPid: process.pid,
          emitEvent: (e) => {
            ctx.bus.emitEvent(e);
          },
          registry: ctx.registry,
          ...(opts.verifyIntervalMs !== undefined ? { verifyIntervalMs: opts.verifyIntervalMs } : {}),
        });
        const m = manager;
        ctx.bus.onAlert((a) => {
          m.onAlert(a);
        });
        const reg = ctx.commands;
        reg.register('isolation.on', async (args) => {
          let forMs: number | undefined;
          const f = args.for;
          if (typeof f === 'number') {
            checkIsolationDuration(f);
            forMs = f;
          } else if (typeof f === 'string') forMs = parseIsolationDuration(f);
          else if (f !== undefined && f !== null) throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', 'for must be a duration ("90m", "8h", "1d") or milliseconds');
          const reason = str(args, 'reason');
          if (reason !== undefined && reason.length > 500) throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', 'reason longer than 500 characters');
          return m.on({ mode: 'manual', by: 'cli', ...(forMs !== undefined ? { forMs } : {}), ...(reason ? { reason } : {}) });
        });
        reg.register('isolation.off', async () => m.off('cli'));
        reg.register('isolation.status', async () => m.status());
        reg.register('isolation.exclusions.list', async () => m.exclusions());
        reg.register('isolation.exclusions.add', async (args) => m.editDevice('add', undefined, ruleArg(args)));
        reg.register('isolation.exclusions.edit', async (args) => m.editDevice('edit', str(args, 'id'), ruleArg(args)));
        for (const op of ['remove', 'enable', 'disable'] as const) {
          reg.register(`isolation.exclusions.${op}`, async (args) => m.editDevice(op, str(args, 'id'), undefined));
        }
        await m.start();
      },
      async stop() {
        await manager?.stop();
      },
      async reload(config) {
        validatePolicyExclusions(config.isolation.exclusions);
        await manager?.reload(config);
      },
      status() {
        const s = manager?.current;
        if (!s?.active) return { isolated: false };
        return { isolated: true, tag: 'ISOLATED FROM NETWORK', mode: s.mode, endsAt: new Date(s.endsAtMs).toISOString() };
      },
    };
    return component;
  };
}

export const isolationComponent: ComponentFactory = createIsolationComponent();
