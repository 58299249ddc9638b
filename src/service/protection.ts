/**
 * Network Threat Protection, live: capture on the configured interfaces with the ruleset's BPF
 * filter → engine → folded "Network attack detected" events → response (blocklist + severing the
 * attacker's connections). Also owns port interception and the reset of existing connections on
 * intercepted ports when protection becomes enabled.
 *
 * Response rules (docs/protection.md, docs/response.md):
 * - the response policy (src/service/response-policy.ts) decides per detection: block, alert or
 *   ignore (by default imported rules block by ET category and classtype, bulwark's own
 *   databases by their action); an active threshold.config rate_filter overrides it;
 * - evidence from a completed handshake blocks; half-open evidence (SYN, FIN/NULL/Xmas scans)
 *   blocks too, except verified peers, within its own per-minute cap (src/service/half-open.ts);
 *   other evidence without a handshake is spoofable: the event says why not;
 * - the blocklist applies the action mode (alert / dry-run), the never-block list and the
 *   blocks-per-minute cap, and reports why a block was refused;
 * - a blocked attacker's existing TCP connections are destroyed (ss -K, the peer gets an RST).
 * The response itself (folding, blocking, severing, alert events) is src/service/responder.ts.
 */
import { readdir, readFile } from 'node:fs/promises';
import { Counter, Gauge } from 'prom-client';
import type { Config } from '../config/types.js';
import { Engine } from '../engine/engine.js';
import type { PacketSource } from '../engine/capture/types.js';
import { PcapLiveSource, captureFilter, capturePorts, registerCaptureMetrics } from '../engine/capture/live.js';
import { ChecksumPolicy } from '../engine/decode/checksum.js';
import { LocalAddressSet } from '../engine/local-addresses.js';
import { BulwarkError, errorMessage } from '../errors.js';
import type { Ruleset } from '../signatures/types.js';
import type { BlocklistComponent } from './blocklist.js';
import { Interceptor, procListeningPorts, type ListeningPortsReader } from './intercept.js';
import { SsSocketKiller, type SocketKiller } from './sockets.js';
import { createSocketKiller } from './rst-inject.js';
import { ResponsePolicy } from './response-policy.js';
import { Responder } from './responder.js';
import { LoginFailureWatcher } from './login-failures.js';
import type { Component, ComponentFactory, DaemonContext } from './types.js';
import { saveDatasets } from './datasets.js';

/** Opens a live capture on one interface with a BPF filter. */
export type LiveSourceFactory = (iface: string, filter: string, cfg: Config['capture']) => PacketSource;

export interface ProtectionOptions {
  liveSource?: LiveSourceFactory;
  killer?: SocketKiller;
  listening?: ListeningPortsReader;
  /** Interfaces to capture on when config.interfaces is empty. */
  defaultInterfaces?: () => Promise<string[]>;
}

export interface ProtectionComponent extends Component {
  enable(reason: string): Promise<Record<string, unknown>>;
  disable(reason: string): Promise<Record<string, unknown>>;
  readonly enabled: boolean;
}

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;

/** Every interface that is up and not loopback (from /sys/class/net/NAME/flags). */
export async function upNonLoopbackInterfaces(): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir('/sys/class/net')) {
    try {
      const flags = parseInt((await readFile(`/sys/class/net/${name}/flags`, 'utf8')).trim(), 16);
      if ((flags & IFF_UP) !== 0 && (flags & IFF_LOOPBACK) === 0) out.push(name);
    } catch {
      // vanished between readdir and read
    }
  }
  return out.sort();
}

export function createProtectionComponent(opts: ProtectionOptions = {}): ComponentFactory {
  return (ctx) => new Protection(ctx, opts);
}

class Protection implements ProtectionComponent {
  readonly name = 'protection';
  private cfg: Config;
  private on = false;
  private ruleset: Ruleset | undefined;
  private engine: Engine | undefined;
  private sources: PacketSource[] = [];
  /** Checksum-checks state per capture (Suricata: per live device). */
  private checksums = new Map<string, ChecksumPolicy>();
  /** Used when no blocklist component runs: addresses never known, direction checks still apply. */
  private readonly noAddresses = new LocalAddressSet();
  private macRestart = false;
  private interfaces: string[] = [];
  private captureErrors: Record<string, string> = {};
  private timer: NodeJS.Timeout | undefined;
  private readonly interceptor: Interceptor;
  private killer: SocketKiller;
  private resetMethod: 'ss' | 'inject' = 'ss';
  private readonly log;
  private resetTotal = 0;
  private lastChange: { at: string; reason: string } | undefined;
  /** Why protection is off (shown by `bulwark status` / `protection status`). */
  private offReason: string | undefined;
  private busy: Promise<unknown> = Promise.resolve();
  private readonly mReset: Counter;
  private readonly mEnabled: Gauge;
  /** Which detections block (response.policy) and the threshold.config filter the engine applies. */
  private readonly response: ResponsePolicy;
  private readonly responder: Responder;
  private readonly logins: LoginFailureWatcher;

  constructor(
    private readonly ctx: DaemonContext,
    private readonly opts: ProtectionOptions,
  ) {
    this.cfg = ctx.config;
    this.log = ctx.log.child({ component: 'protection' });
    this.killer = opts.killer ?? new SsSocketKiller();
    this.interceptor = new Interceptor(this.cfg.intercept, this.log.child({ sub: 'intercept' }), ctx.registry, opts.listening ?? procListeningPorts);
    const reg = ctx.registry;
    this.response = new ResponsePolicy(this.cfg, this.log.child({ sub: 'response' }), reg);
    this.responder = new Responder({ ctx, log: this.log, policy: this.response, config: () => this.cfg, killer: () => this.killer, blocklist: () => this.blocklist() });
    registerCaptureMetrics(reg, () => this.sources);
    this.logins = new LoginFailureWatcher(this.cfg.loginFailures, this.log.child({ sub: 'login-failures' }), reg, ctx.clock, (addr, n, last) => {
      this.responder.onLoginFailures(addr, n, last);
    });
    this.mReset = new Counter({ name: 'bulwark_connections_reset_total', help: 'Existing connections on intercepted ports reset when protection became enabled.', registers: [reg] });
    this.mEnabled = new Gauge({ name: 'bulwark_protection_enabled', help: '1 while Network Threat Protection is enabled.', registers: [reg] });
    ctx.bus.onRuleset((r) => {
      // Errors are logged by serial(); the old ruleset's capture keeps running meanwhile.
      this.serial(() => this.applyRuleset(r), 'ruleset').catch(() => undefined);
    });
  }

  get enabled(): boolean {
    return this.on;
  }

  async start(): Promise<void> {
    this.ctx.commands.register('protection.on', () => {
      this.ctx.assertUnlocked?.('protection', 'bulwark protection on');
      return this.enable('cli');
    });
    this.ctx.commands.register('protection.off', () => {
      this.ctx.assertUnlocked?.('protection', 'bulwark protection off');
      return this.disable('cli');
    });
    this.ctx.commands.register('protection.status', () => Promise.resolve(this.status()));
    this.ctx.commands.register('policy.explain', (args) => Promise.resolve(this.explainSids(args)));
    // A bad threshold file or policy refuses the start, like a bad config.
    await this.response.load(this.cfg);
    if (!this.opts.killer) {
      const k = await createSocketKiller(this.log);
      this.killer = k.killer;
      this.resetMethod = k.method;
    }
    const db = this.ctx.get<Component & { readonly ruleset?: Ruleset | undefined }>('database');
    this.ruleset ??= db?.ruleset;
    if (this.ruleset) this.response.checkAgainst(this.ruleset);
    if (this.cfg.protection.enabled) await this.enable('start');
    else {
      this.offReason = this.defaultOffReason();
      this.log.warn({ reason: this.offReason }, `Network Threat Protection is OFF: ${this.offReason}`);
    }
  }

  async stop(): Promise<void> {
    await this.busy;
    await this.teardown();
  }

  /** Seed behaviour: a local-only host is off unless its config says on; a fleet host follows its policy. */
  private defaultOffReason(): string {
    return this.cfg.fleet
      ? 'the fleet policy sets protection off'
      : 'this host has only local settings, where Network Threat Protection is off by default; set protection.enabled: true in the config (or manage the host with a fleet policy)';
  }

  /** Takes protection.enabled, interfaces, capture.* and intercept.* at once; engine.* and events.foldWindow at the next restart. */
  async reload(next: Config): Promise<void> {
    const prev = this.cfg;
    // First, so that a bad policy or threshold file refuses the reload before anything changed.
    if (await this.response.load(next)) {
      this.engine?.setAlertFilter(this.response.filter);
      if (this.ruleset) this.response.checkAgainst(this.ruleset);
    }
    this.cfg = next;
    this.responder.setConfig(next);
    this.logins.setConfig(next.loginFailures);
    this.interceptor.setConfig(next.intercept);
    if (next.protection.enabled !== prev.protection.enabled) {
      // On a fleet host protection follows the policy; elsewhere the config file.
      const why = next.fleet ? 'fleet policy' : 'config reload';
      await (next.protection.enabled ? this.enable(why) : this.disable(why));
      if (!next.protection.enabled) this.offReason = next.fleet ? 'the fleet policy sets protection off' : 'protection.enabled is false in the config';
      return;
    }
    if (!this.on) return;
    const captureChanged = JSON.stringify([prev.interfaces, prev.capture]) !== JSON.stringify([next.interfaces, next.capture]);
    if (captureChanged) await this.restartCapture();
    const added = await this.interceptor.update(this.ruleset?.ports ?? []);
    if (added.length > 0) await this.resetPorts(added);
  }

  status(): Record<string, unknown> {
    const st = this.engine?.stats();
    return {
      enabled: this.on,
      ...(this.on ? {} : { offReason: this.offReason ?? 'not enabled' }),
      lastChange: this.lastChange,
      interfaces: this.interfaces,
      captureErrors: this.captureErrors,
      ruleset: this.ruleset ? { version: this.ruleset.version, signatures: this.ruleset.signatures.length, ports: this.ruleset.ports.length } : null,
      intercept: this.interceptor.status(),
      connectionsReset: this.resetTotal,
      resetMethod: this.resetMethod,
      attackerConnectionsSevered: this.responder.severedTotal,
      engine: st
        ? {
            packets: st.packets,
            bytes: st.bytes,
            flowsActive: st.flowsActive,
            flowEvictions: st.flowEvictions,
            dropped: st.dropped,
            regex: {
              executions: st.regex.executions,
              limitHits: st.regex.limitHits,
              errors: st.regex.errors,
              skipped: st.regex.skipped,
              budgetExhausted: { packet: st.regex.packetBudgetExhausted, second: st.regex.secondBudgetExhausted },
              limitHitsBySignature: st.regex.limitHitsBySignature,
            },
          }
        : null,
      response: this.response.status(),
      loginFailures: this.logins.status(),
      halfOpen: this.responder.halfOpenStatus(),
      capture: Object.fromEntries(this.sources.map((s) => [s.name, { ...s.stats(), checksumValidation: this.checksums.get(s.name)?.status ?? 'off' }])),
    };
  }

  enable(reason: string): Promise<Record<string, unknown>> {
    return this.serial(async () => {
      if (this.on) return this.status();
      if (!this.ruleset) throw new BulwarkError('BULWARK_ERR_DATABASE', 'protection: no signature database loaded; see `bulwark db info`');
      this.on = true;
      this.mEnabled.set(1);
      this.lastChange = { at: new Date(this.ctx.clock.now()).toISOString(), reason };
      try {
        this.ensureEngine(this.ruleset);
        await this.restartCapture();
        await this.interceptor.update(this.ruleset.ports);
      } catch (e) {
        // Half-enabled is worse than off: release what started and report.
        await this.teardown();
        throw e;
      }
      // Connections that predate the inspector cannot be reassembled: reset them so they come back inspected.
      await this.resetPorts(this.ruleset.ports);
      this.logins.start();
      this.timer = setInterval(() => {
        this.tick();
      }, 1000);
      this.timer.unref();
      this.log.info({ reason, interfaces: this.interfaces, ports: this.ruleset.ports.length, intercepted: this.interceptor.status().intercepted.length }, 'protection enabled');
      this.ctx.bus.emitEvent({ event_type: 'bulwark', timestamp: new Date(this.ctx.clock.now()).toISOString(), bulwark: { event: 'protection enabled', reason } });
      return this.status();
    }, 'enable');
  }

  disable(reason: string): Promise<Record<string, unknown>> {
    return this.serial(async () => {
      if (!this.on) return this.status();
      await this.teardown();
      this.offReason = reason === 'cli' ? 'turned off with bulwark protection off' : reason;
      this.lastChange = { at: new Date(this.ctx.clock.now()).toISOString(), reason };
      this.log.info({ reason }, 'protection disabled');
      this.ctx.bus.emitEvent({ event_type: 'bulwark', timestamp: new Date(this.ctx.clock.now()).toISOString(), bulwark: { event: 'protection disabled', reason } });
      return this.status();
    }, 'disable');
  }

  /** One change at a time: ruleset swaps, enable/disable and reloads never interleave. */
  private serial<T>(fn: () => Promise<T>, what: string): Promise<T> {
    const p = this.busy.then(fn, fn);
    this.busy = p.catch((e: unknown) => {
      this.log.error({ err: errorMessage(e), what }, 'protection change failed');
    });
    return p;
  }

  private async teardown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const s of this.sources) s.stop();
    this.sources = [];
    this.logins.stop();
    await this.interceptor.close();
    // what rules added to save/state datasets survives the stop (Suricata saves at shutdown)
    if (this.engine) await saveDatasets(this.engine.datasetSnapshots(), this.log);
    this.engine?.flush();
    this.responder.flush();
    this.on = false;
    this.mEnabled.set(0);
  }

  private ensureEngine(r: Ruleset): Engine {
    if (this.engine) return this.engine;
    this.engine = new Engine({
      ruleset: r,
      config: this.cfg.engine,
      log: this.log.child({ sub: 'engine' }),
      registry: this.ctx.registry,
      // Live: handshake evidence needs directions; spoofed own-source packets are dropped.
      host: this.localAddresses(),
      alertFilter: this.response.filter,
      onDetection: (d) => {
        this.responder.onDetection(d);
      },
    });
    return this.engine;
  }

  private async applyRuleset(r: Ruleset): Promise<void> {
    const prevPorts = this.ruleset?.ports.join(',');
    this.ruleset = r;
    this.response.checkAgainst(r);
    if (!this.on) return;
    // Sets the new ruleset drops or changes lose their content: save them first.
    if (this.engine) await saveDatasets(this.engine.datasetSnapshots(), this.log);
    this.ensureEngine(r).setRuleset(r);
    if (prevPorts !== r.ports.join(',')) {
      await this.restartCapture();
      const added = await this.interceptor.update(r.ports);
      const before = new Set((prevPorts ?? '').split(',').map(Number));
      const newPorts = r.ports.filter((p) => !before.has(p));
      if (newPorts.length > 0) await this.resetPorts(newPorts);
      this.log.info({ ports: r.ports.length, newPorts, newlyIntercepted: added }, 'ruleset ports changed');
    }
  }

  private async restartCapture(): Promise<void> {
    for (const s of this.sources) s.stop();
    this.sources = [];
    this.captureErrors = {};
    if (!this.ruleset || !this.engine) return;
    const log = this.log;
    const make: LiveSourceFactory =
      this.opts.liveSource ??
      ((iface, filter, c) => new PcapLiveSource({ iface, filter, bufferBytes: c.bufferBytes, bufferTimeoutMs: c.bufferTimeoutMs, snaplen: c.snaplen, log }));
    const filter = captureFilter({ ports: capturePorts(this.ruleset), exclude: this.cfg.capture.exclude });
    this.interfaces = this.cfg.interfaces.length > 0 ? this.cfg.interfaces : await (this.opts.defaultInterfaces ?? upNonLoopbackInterfaces)();
    const engine = this.engine;
    const prevChecksums = this.checksums;
    this.checksums = new Map();
    for (const iface of this.interfaces) {
      try {
        const src = make(iface, filter, this.cfg.capture);
        // A restart of the same interface keeps its decision (no new 1000-packet sample).
        const mode = this.cfg.capture.checksumChecks;
        const prev = prevChecksums.get(iface);
        const checks =
          prev?.mode === mode
            ? prev
            : new ChecksumPolicy(mode, {
                enforceWhileSampling: false,
                onDecision: (validating, sampled, invalid) => {
                  log.info({ interface: iface, validating, sampled, invalid }, validating ? 'checksum validation on' : 'checksum validation off: invalid checksums look like offload');
                },
              });
        src.start((buf, caplen, linkType, tsUs, offset, dir) => {
          engine.processPacket(buf, caplen, linkType, tsUs, offset, dir, checks);
        });
        this.checksums.set(iface, checks);
        this.sources.push(src);
      } catch (e) {
        this.captureErrors[iface] = errorMessage(e);
        this.log.error({ iface, err: errorMessage(e) }, 'capture failed to start');
      }
    }
    if (this.sources.length === 0 && this.interfaces.length > 0) {
      throw new BulwarkError('BULWARK_ERR_CAPTURE', `protection: capture failed on every interface: ${JSON.stringify(this.captureErrors)}`);
    }
  }

  private async resetPorts(ports: readonly number[]): Promise<void> {
    if (ports.length === 0) return;
    try {
      const spare = this.blocklist()?.isNeverBlocked.bind(this.blocklist());
      const n = await this.killer.resetLocalPorts(ports, spare);
      this.resetTotal += n;
      this.mReset.inc(n);
      if (n > 0) this.log.info({ reset: n, ports: ports.length }, 'existing connections on intercepted ports reset');
    } catch (e) {
      this.log.error({ err: errorMessage(e) }, 'resetting existing connections failed');
    }
  }

  private tick(): void {
    const now = this.ctx.clock.now();
    this.engine?.tick(now);
    this.responder.tick(now);
    this.followLinkAddresses();
  }

  private localAddresses(): LocalAddressSet {
    return this.ctx.get<BlocklistComponent>('blocklist')?.localAddresses ?? this.noAddresses;
  }

  /**
   * A capture judges direction by the MAC its interface had at start. When the address refresh
   * reports another MAC, the capture restarts:
   * until then our own frames would look inbound and the handshakes they answer unproven.
   */
  private followLinkAddresses(): void {
    if (!this.on) return;
    const macs = this.localAddresses().macs;
    const stale = this.sources.some((s) => {
      const now = macs.get(s.name);
      return s.linkAddress !== undefined && now !== undefined && now.toLowerCase() !== s.linkAddress;
    });
    if (!stale || this.macRestart) return;
    this.macRestart = true;
    this.log.info('an interface MAC changed: restarting capture');
    this.serial(async () => {
      try {
        if (this.on) await this.restartCapture();
      } finally {
        this.macRestart = false;
      }
    }, 'capture restart').catch(() => undefined);
  }

  private blocklist(): BlocklistComponent['blocklist'] | undefined {
    return this.ctx.get<BlocklistComponent>('blocklist')?.blocklist;
  }

  /** `policy.explain` control command: `{ sids: number[] }` → explanations of the active ruleset. */
  private explainSids(args: Record<string, unknown>): Record<string, unknown> {
    const sids = Array.isArray(args.sids) ? args.sids : [];
    if (sids.length === 0 || sids.length > 1000 || !sids.every((x) => Number.isInteger(x) && (x as number) > 0)) {
      throw new BulwarkError('BULWARK_ERR_INVALID_ARGUMENT', 'policy.explain: sids must be 1-1000 positive integers');
    }
    if (!this.ruleset) throw new BulwarkError('BULWARK_ERR_DATABASE', 'policy.explain: no signature database loaded');
    const r = this.ruleset;
    return { rules: (sids as number[]).map((sid) => this.response.explain(r, sid) ?? { sid, notFound: true }) };
  }
}

export const protectionComponent: ComponentFactory = createProtectionComponent();
