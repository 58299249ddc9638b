/**
 * Fleet mode wiring (src/fleet, docs/fleet.md). Two components:
 * - "policy" (first): the host's fleet identity and its policy store. Installs the config overlay
 *   (policy over local config, locks) from the cached policy before any other component starts,
 *   so a host that cannot reach NATS protects with its last known policy from the first packet.
 * - "fleet" (last): the NATS connection and the FleetAgent: shared blocks through the blocklist
 *   service, orders through the isolation manager, events, heartbeat.
 * Without `fleet` in the config both are inert: standalone.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseKernelElements } from '../blocklist/kernel-check.js';
import { createNft } from '../blocklist/nft.js';
import { setFor } from '../blocklist/ruleset.js';
import { normalizeAddress, parseCidr } from '../blocklist/address.js';
import type { Nft } from '../blocklist/types.js';
import type { Config, FleetConfig } from '../config/types.js';
import { BulwarkError, errorMessage } from '../errors.js';
import { FleetAgent } from '../fleet/agent.js';
import type { DecisionTarget } from '../fleet/decisions.js';
import { gatherAutoProtect } from '../fleet/host-addrs.js';
import { checkFleetSecurity, connectOptions, NatsFleetConnection } from '../fleet/nats.js';
import type { OrderExecutor } from '../fleet/orders.js';
import { applyPolicy, checkLocalChange, lockedError, type AutoProtect } from '../fleet/policy.js';
import { PolicyStore } from '../fleet/policy-store.js';
import { isName } from '../fleet/subjects.js';
import { POLICY_SETTINGS, type FleetConnection, type PolicySetting } from '../fleet/types.js';
import { readHostNetInfo } from '../isolation/profiles.js';
import { VERSION } from '../version.js';
import type { BlocklistComponent } from './blocklist.js';
import { hostInfoPathsFrom, type IsolationComponent } from './isolation.js';
import type { ProtectionComponent } from './protection.js';
import type { Component, ComponentFactory, DaemonContext } from './types.js';

export const MACHINE_ID_PATH = '/etc/machine-id';

/** fleet.hostId, else /etc/machine-id. */
export function resolveHostId(f: FleetConfig, machineIdPath = MACHINE_ID_PATH): string {
  if (f.hostId !== undefined) return f.hostId;
  let id: string;
  try {
    id = readFileSync(machineIdPath, 'utf8').trim();
  } catch (e) {
    throw new BulwarkError('BULWARK_ERR_CONFIG', `fleet.hostId is not set and ${machineIdPath} is unreadable (${errorMessage(e)})`, { cause: e });
  }
  if (!isName(id)) throw new BulwarkError('BULWARK_ERR_CONFIG', `fleet.hostId is not set and ${machineIdPath} does not hold a usable id`);
  return id;
}

export interface PolicyComponent extends Component {
  readonly store: PolicyStore | undefined;
  readonly hostId: string | undefined;
  /** Re-applies the overlay after the store changed (called by the fleet component). */
  policyChanged(): Promise<void>;
}

export function createPolicyComponent(opts: { machineIdPath?: string; env?: NodeJS.ProcessEnv } = {}): ComponentFactory {
  return (ctx: DaemonContext): PolicyComponent => {
    const log = ctx.log.child({ component: 'policy' });
    const local = ctx.localConfig ?? ctx.config;
    const fleet = local.fleet;
    let store: PolicyStore | undefined;
    let hostId: string | undefined;
    let auto: AutoProtect = { neverBlock: [], management: [] };
    let lastApplied = '';

    const describeChange = (): Record<string, unknown> => {
      const eff = store?.effective;
      return { keys: eff?.keys ?? [], settings: eff?.settings ?? {}, locked: eff?.locked ?? {} };
    };

    return {
      name: 'policy',
      get store() {
        return store;
      },
      get hostId() {
        return hostId;
      },
      async start() {
        if (!fleet) return;
        checkFleetSecurity(fleet);
        hostId = resolveHostId(fleet, opts.machineIdPath);
        const s = new PolicyStore(hostId, fleet.groups, new Set(fleet.operators), local.stateDir);
        store = s;
        for (const p of s.load()) log.warn({ problem: p }, 'cached fleet policy entry ignored');
        const net = await readHostNetInfo(hostInfoPathsFrom(ctx, opts.env ?? process.env)).catch(() => ({ dnsServers: [], dhcpServers: [] }));
        const g = await gatherAutoProtect(fleet.servers, net.dnsServers);
        for (const p of g.problems) log.warn(p);
        auto = { neverBlock: g.neverBlock, management: g.management };
        if (fleet.operators.length === 0) log.warn('fleet.operators is empty: no order, fleet unblock or policy will be accepted');
        ctx.setOverlay?.({
          apply: (l: Config) => applyPolicy(l, s.effective, l.fleet !== undefined, auto),
          checkLocalChange: (prev, next) => {
            checkLocalChange(prev, next, s.effective);
          },
          assertUnlocked: (setting, what) => {
            const key = (POLICY_SETTINGS as readonly string[]).includes(setting) ? s.effective.locked[setting as PolicySetting] : undefined;
            if (key !== undefined) throw lockedError(setting as PolicySetting, key, `${what} refused`);
          },
        });
        lastApplied = JSON.stringify(s.effective);
        log.info({ hostId, groups: fleet.groups, cached: s.effective.keys, autoNeverBlock: auto, ...describeChange() }, 'fleet policy in force (last known until NATS answers)');
      },
      async stop() {
        await Promise.resolve();
      },
      async policyChanged() {
        if (!store) return;
        const now = JSON.stringify(store.effective);
        if (now === lastApplied) return;
        try {
          await ctx.applyOverlay?.('fleet policy');
          lastApplied = now;
          log.warn({ ...describeChange() }, 'fleet policy changed: applied');
          ctx.bus.emitEvent({ event_type: 'fleet', timestamp: new Date(ctx.clock.now()).toISOString(), message: 'fleet policy applied', fleet: { event: 'policy applied', ...describeChange() } });
        } catch (e) {
          log.error({ err: errorMessage(e), ...describeChange() }, 'fleet policy refused by a component; keeping the previous effective configuration');
          ctx.bus.emitEvent({ event_type: 'fleet', timestamp: new Date(ctx.clock.now()).toISOString(), message: 'fleet policy refused', fleet: { event: 'policy refused', error: errorMessage(e) } });
          throw e;
        }
      },
      status() {
        if (!store) return { managed: false };
        const eff = store.effective;
        return { managed: true, hostId, followed: store.followed, applied: eff.keys, settings: eff.settings, source: eff.source, locked: eff.locked, autoNeverBlock: auto };
      },
    };
  };
}

/** Kernel read-back for acks: is `address` an element of its blocked set (blocked4/6 for addresses, blockednet4/6 for CIDRs)? */
async function kernelHas(nft: Nft, address: string): Promise<boolean> {
  const a = normalizeAddress(address);
  const fam = parseCidr(a).family;
  try {
    const out = await nft.list(['set', 'inet', 'bulwark', setFor(a, fam)]);
    return parseKernelElements(out, fam).some((k) => k.address === a);
  } catch {
    return false;
  }
}

export interface FleetComponentOptions {
  /** Injected connection (unit tests); default: the real NATS connection. */
  connect?: (f: FleetConfig, hostId: string) => FleetConnection;
  nft?: Nft;
}

export function createFleetComponent(opts: FleetComponentOptions = {}): ComponentFactory {
  return (ctx: DaemonContext): Component => {
    const log = ctx.log.child({ component: 'fleet' });
    let agent: FleetAgent | undefined;
    let conn: FleetConnection | undefined;

    return {
      name: 'fleet',
      async start() {
        const pol = ctx.get<PolicyComponent>('policy');
        const fleet = (ctx.localConfig ?? ctx.config).fleet;
        if (!fleet || !pol?.store || pol.hostId === undefined) {
          log.info('standalone: no fleet section in the configuration');
          return;
        }
        const hostId = pol.hostId;
        const name = fleet.name ?? hostname();
        conn =
          opts.connect?.(fleet, hostId) ??
          new NatsFleetConnection(
            connectOptions(fleet, `bulwark ${hostId}`, `_INBOX.${hostId}`),
            (e, what) => {
              log.warn({ err: errorMessage(e), what }, 'fleet connection problem');
            },
            undefined,
            (what) => {
              log.info({ what }, 'fleet consumer re-created');
            },
          );
        const nft = opts.nft ?? createNft({ log });
        const bl = (): BlocklistComponent['blocklist'] => {
          const b = ctx.get<BlocklistComponent>('blocklist')?.blocklist;
          if (!b) throw new BulwarkError('BULWARK_ERR_INTERNAL', 'blocklist component missing');
          return b;
        };
        const iso = (): NonNullable<ReturnType<IsolationComponent['manager']>> => {
          const m = ctx.get<IsolationComponent>('isolation')?.manager();
          if (!m) throw new BulwarkError('BULWARK_ERR_INTERNAL', 'isolation is not running');
          return m;
        };
        const target: DecisionTarget = {
          block: (address, o) => bl().block(address, { source: 'fleet', ...o }),
          unblock: async (address, reason) => (await bl().unblockDetailed([address], reason)).removed.length,
          kernelHas: (address) => kernelHas(nft, address),
        };
        const exec: OrderExecutor = {
          isolate: (a) => iso().on({ mode: 'manual', by: 'fleet', reason: a.reason, ...(a.forMs !== undefined ? { forMs: a.forMs } : {}) }),
          release: () => iso().off('fleet'),
          exclusion: async (op, ref, rule) => {
            const m = iso();
            if (op === 'list') return m.exclusions();
            const r = await m.editDevice(op as 'add' | 'edit' | 'remove' | 'enable' | 'disable', ref, rule);
            return { ...r, exclusions: await m.exclusions() };
          },
        };
        const a = new FleetAgent({
          conn,
          clock: ctx.clock,
          log,
          registry: ctx.registry,
          hostId,
          name,
          groups: fleet.groups,
          operators: fleet.operators,
          version: VERSION,
          maxDecisionsPerMinute: fleet.maxDecisionsPerMinute,
          heartbeatMs: fleet.heartbeatMs,
          stateDir: ctx.config.stateDir,
          share: () => ctx.config.fleet?.share ?? fleet.share,
          mode: () => ctx.config.action,
          target,
          exec,
          policy: pol.store,
          onPolicyChanged: () => pol.policyChanged(),
          hostState: () => {
            const p = ctx.get<ProtectionComponent>('protection');
            const ps = p?.status?.() ?? {};
            const st = ctx.get<BlocklistComponent>('blocklist')?.blocklist.status().blocked as { v4: number; v6: number } | undefined;
            const is = ctx.get<IsolationComponent>('isolation')?.status?.() ?? {};
            return {
              protection: { enabled: p?.enabled ?? false, ...(typeof ps.offReason === 'string' ? { reason: ps.offReason } : {}) },
              blocks: (st?.v4 ?? 0) + (st?.v6 ?? 0),
              isolation: {
                isolated: is.isolated === true,
                ...(typeof is.tag === 'string' ? { tag: is.tag } : {}),
                ...(typeof is.endsAt === 'string' ? { endsAt: is.endsAt } : {}),
                ...(typeof is.mode === 'string' ? { mode: is.mode } : {}),
              },
            };
          },
        });
        agent = a;
        ctx.bus.onAlert((e) => {
          a.publishEvent(e as unknown as Record<string, unknown>);
          if (e.alert.action === 'blocked' && e.bulwark.blocked_until !== undefined) {
            a.shareBlock(e.src_ip, Date.parse(e.bulwark.blocked_until), e.alert.signature, e.alert.signature_id);
          }
        });
        ctx.bus.onEvent((e) => {
          a.publishEvent(e);
          if (e.event_type === 'isolation' || (e.event_type === 'bulwark' && typeof e.bulwark === 'object')) a.touch();
        });
        a.start();
        await Promise.resolve();
        log.info({ hostId, name, groups: fleet.groups, servers: fleet.servers, share: fleet.share }, 'fleet mode: connecting');
      },
      async stop() {
        await agent?.stop();
        await conn?.close();
      },
      status() {
        if (!agent) return { mode: 'standalone' };
        return { mode: 'fleet', ...agent.status() };
      },
    };
  };
}

export const policyComponent: ComponentFactory = createPolicyComponent();
export const fleetComponent: ComponentFactory = createFleetComponent();
