/**
 * The daemon: config → lock → metrics HTTP → components (in order) → control socket.
 * Stops in reverse. SIGHUP / `reload` re-read the config file; an invalid file or a component
 * refusing the new config leaves everybody on the old one.
 */
import { mkdir } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { systemClock, type Clock } from '../clock.js';
import { loadConfig } from '../config/load.js';
import { checkRuntime, type RuntimeProbes } from '../config/runtime.js';
import type { Config } from '../config/types.js';
import { BulwarkError, errorMessage, isBulwarkError } from '../errors.js';
import { createLogger } from '../log/index.js';
import { createRegistry } from '../metrics/index.js';
import { enterAgentCgroup, leaveAgentCgroup } from '../isolation/agent-cgroup.js';
import { createCgroupFs, discoverCgroup2Mount } from '../isolation/cgroup.js';
import { createFoundationMetrics, type FoundationMetrics } from '../metrics/foundation.js';
import { VERSION } from '../version.js';
import { createBus } from './bus.js';
import { components as defaultComponents } from './components.js';
import { CommandTable, ControlServer } from './control-server.js';
import { MetricsServer } from './http.js';
import { acquireLock, type Lock } from './lock.js';
import type { Component, ComponentFactory, ConfigOverlay, DaemonBus, DaemonContext } from './types.js';

export type DaemonState = 'starting' | 'running' | 'stopping' | 'stopped';

export interface DaemonOptions {
  config: Config;
  /** File the config came from (undefined: built-in defaults); re-read on reload. */
  configPath: string | undefined;
  /** Explicit --config (undefined: default path or defaults); what reload re-resolves. */
  explicitConfigPath?: string | undefined;
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  clock?: Clock;
  registry?: Registry;
  components?: ComponentFactory[];
  /** Bound of each component's stop(); a hung component does not block shutdown. */
  stopTimeoutMs?: number;
  isLockHolderAlive?: (pid: number) => boolean;
  /** Runtime checks on reload (interfaces exist, nft installed); default: the real system. */
  runtimeProbes?: RuntimeProbes;
}

/** Keys the running daemon cannot change without a restart; reload keeps the old values. */
const RESTART_KEYS = ['stateDir', 'control.socket', 'control.group', 'metrics.enabled', 'metrics.listen', 'fleet'] as const;

function getPath(c: Config, path: string): unknown {
  let v: unknown = c;
  for (const p of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[p];
  return v;
}

export class Daemon {
  readonly log: Logger;
  readonly registry: Registry;
  readonly metrics: FoundationMetrics;
  readonly commands = new CommandTable();
  readonly bus: DaemonBus;
  private config: Config;
  /** The config file's (or defaults') view, before the fleet policy overlay. */
  private localConfig: Config;
  private overlay: ConfigOverlay | undefined;
  private configPath: string | undefined;
  private state: DaemonState = 'stopped';
  private startedAt = 0;
  private lock: Lock | undefined;
  private control: ControlServer | undefined;
  private http: MetricsServer | undefined;
  private readonly started: Component[] = [];
  private readonly byName = new Map<string, Component>();
  private readonly ctx: DaemonContext;
  private readonly clock: Clock;
  private reloading: Promise<unknown> = Promise.resolve();
  private reloadCounts = { success: 0, failure: 0 };
  private requestCount = 0;
  private database: { version: string; databases: unknown[]; signatures: number; ports: number } | undefined;

  constructor(private readonly opts: DaemonOptions) {
    this.config = opts.config;
    this.localConfig = opts.config;
    this.configPath = opts.configPath;
    this.log = opts.log ?? createLogger({ level: opts.config.log.level });
    this.clock = opts.clock ?? systemClock;
    this.registry = opts.registry ?? createRegistry(VERSION);
    this.metrics = createFoundationMetrics(this.registry);
    this.bus = createBus(this.log.child({ component: 'bus' }));
    this.bus.onRuleset((r) => {
      this.database = { version: r.version, databases: r.databases.map((d) => ({ ...d })), signatures: r.signatures.length, ports: r.ports.length };
    });
    const byName = this.byName;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the context's methods reach the daemon
    const self = this;
    this.ctx = {
      config: this.config,
      localConfig: this.localConfig,
      configPath: this.configPath,
      log: this.log,
      registry: this.registry,
      clock: this.clock,
      commands: this.commands,
      bus: this.bus,
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- contract signature (service/types.ts)
      get<T extends Component>(name: string): T | undefined {
        return byName.get(name) as T | undefined;
      },
      setOverlay(o: ConfigOverlay): void {
        self.overlay = o;
        self.config = o.apply(self.localConfig);
        self.ctx.config = self.config;
      },
      applyOverlay(reason: string): Promise<void> {
        const next = self.reloading.then(() => self.reapplyOverlay(reason));
        self.reloading = next.catch(() => undefined);
        return next;
      },
      assertUnlocked(setting: string, what: string): void {
        self.overlay?.assertUnlocked(setting, what);
      },
    };
    this.commands.register('ping', () => Promise.resolve({ pong: true, version: VERSION, pid: process.pid }));
    this.commands.register('status', () => Promise.resolve(this.status()));
    this.commands.register('reload', () => this.reload());
  }

  get currentConfig(): Config {
    return this.config;
  }

  get currentState(): DaemonState {
    return this.state;
  }

  get metricsUrl(): string | undefined {
    return this.http?.url;
  }

  async start(): Promise<void> {
    if (this.state !== 'stopped') throw new BulwarkError('BULWARK_ERR_INTERNAL', 'daemon: already started');
    this.state = 'starting';
    this.startedAt = this.clock.now();
    const cfg = this.config;
    try {
      try {
        await mkdir(cfg.stateDir, { recursive: true, mode: 0o750 });
      } catch (e) {
        throw new BulwarkError('BULWARK_ERR_STATE', `stateDir ${cfg.stateDir}: ${errorMessage(e)}`, { cause: e });
      }
      this.lock = await acquireLock(cfg.stateDir, this.opts.isLockHolderAlive);
      if (cfg.metrics.enabled) {
        this.http = new MetricsServer({ listen: cfg.metrics.listen, registry: this.registry, healthy: () => this.state === 'running', log: this.log.child({ component: 'metrics' }) });
        await this.http.start();
      }
      for (const factory of this.opts.components ?? defaultComponents) {
        const component = factory(this.ctx);
        if (this.byName.has(component.name)) throw new BulwarkError('BULWARK_ERR_INTERNAL', `daemon: two components named "${component.name}"`);
        this.byName.set(component.name, component);
        this.metrics.componentUp.set({ component: component.name }, 0);
        try {
          await component.start();
        } catch (e) {
          throw new BulwarkError(isBulwarkError(e) ? e.code : 'BULWARK_ERR_INTERNAL', `component ${component.name}: start failed: ${errorMessage(e)}`, { cause: e });
        }
        this.started.push(component);
        this.metrics.componentUp.set({ component: component.name }, 1);
        this.log.debug({ component: component.name }, 'component started');
      }
      this.control = new ControlServer(
        {
          socketPath: cfg.control.socket,
          group: cfg.control.group,
          log: this.log.child({ component: 'control' }),
          onRequest: (cmd, result) => {
            this.requestCount++;
            this.metrics.controlRequests.inc({ cmd, result });
          },
          onConnections: (n) => {
            this.metrics.controlConnections.set(n);
          },
          onRejected: (reason) => {
            this.metrics.controlConnectionsRejected.inc({ reason });
          },
        },
        this.commands,
      );
      await this.control.start();
    } catch (e) {
      await this.teardown();
      this.state = 'stopped';
      throw e;
    }
    this.state = 'running';
    this.log.info(
      { version: VERSION, pid: process.pid, config: this.configPath ?? 'built-in defaults', socket: cfg.control.socket, metrics: this.http?.url, events: cfg.events.file === '' ? null : cfg.events.file, components: this.started.map((c) => c.name) },
      'bulwark started',
    );
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    this.log.info('bulwark stopping');
    await this.teardown();
    this.state = 'stopped';
    this.log.info('bulwark stopped');
  }

  private async teardown(): Promise<void> {
    // The socket goes first so no command reaches a half-stopped component.
    await this.control?.close().catch((e: unknown) => {
      this.log.warn({ err: e }, 'control socket close failed');
    });
    this.control = undefined;
    const timeout = this.opts.stopTimeoutMs ?? 10_000;
    for (const c of [...this.started].reverse()) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          c.stop(),
          new Promise((_r, reject) => {
            timer = setTimeout(() => {
              reject(new Error(`did not stop within ${timeout} ms`));
            }, timeout);
          }),
        ]);
      } catch (e) {
        this.log.error({ err: e, component: c.name }, 'component stop failed');
      } finally {
        clearTimeout(timer);
      }
      this.metrics.componentUp.set({ component: c.name }, 0);
    }
    this.started.length = 0;
    await this.http?.close().catch((e: unknown) => {
      this.log.warn({ err: e }, 'metrics server close failed');
    });
    this.http = undefined;
    await this.lock?.release();
    this.lock = undefined;
  }

  /** Re-reads the config file (serialised); rejects with BULWARK_ERR_CONFIG and keeps the old config when invalid. */
  reload(): Promise<Record<string, unknown>> {
    const next = this.reloading.then(() => this.doReload());
    this.reloading = next.catch(() => undefined);
    return next;
  }

  private async doReload(): Promise<Record<string, unknown>> {
    const old = this.config;
    let fresh: Config;
    let path: string | undefined;
    try {
      const loaded = await loadConfig(this.opts.explicitConfigPath, this.opts.env ?? process.env);
      fresh = loaded.config;
      path = loaded.path;
    } catch (e) {
      this.reloadCounts.failure++;
      this.metrics.configReloads.inc({ result: 'failure' });
      this.log.error({ err: { code: isBulwarkError(e) ? e.code : undefined, message: errorMessage(e) }, errors: isBulwarkError(e) ? e.details?.errors : undefined }, `config reload refused, keeping the old configuration: ${errorMessage(e)}`);
      throw e;
    }
    const runtimeErrors = (await checkRuntime(fresh, this.opts.runtimeProbes)).filter((i) => i.severity === 'error');
    if (runtimeErrors.length > 0) {
      this.reloadCounts.failure++;
      this.metrics.configReloads.inc({ result: 'failure' });
      const err = new BulwarkError('BULWARK_ERR_CONFIG', runtimeErrors.map((i) => `config ${path ?? '(defaults)'}: ${i.path}: ${i.message}`).join('\n'), { details: { errors: runtimeErrors } });
      this.log.error({ errors: runtimeErrors }, `config reload refused, keeping the old configuration: ${err.message}`);
      throw err;
    }
    if (this.overlay) {
      try {
        this.overlay.checkLocalChange(this.localConfig, fresh);
      } catch (e) {
        this.reloadCounts.failure++;
        this.metrics.configReloads.inc({ result: 'failure' });
        this.log.error({ err: { code: isBulwarkError(e) ? e.code : undefined, message: errorMessage(e) } }, `config reload refused, keeping the old configuration: ${errorMessage(e)}`);
        throw e;
      }
    }
    const restartNeeded: string[] = [];
    const oldLocal = this.localConfig;
    for (const key of RESTART_KEYS) {
      if (JSON.stringify(getPath(fresh, key)) !== JSON.stringify(getPath(oldLocal, key))) restartNeeded.push(key);
    }
    const freshLocal: Config = {
      ...fresh,
      stateDir: old.stateDir,
      control: old.control,
      metrics: old.metrics,
    };
    if (oldLocal.fleet) freshLocal.fleet = oldLocal.fleet;
    else delete freshLocal.fleet;
    fresh = this.overlay ? this.overlay.apply(freshLocal) : freshLocal;
    try {
      await this.pushConfig(fresh, old);
    } catch (e) {
      this.reloadCounts.failure++;
      this.metrics.configReloads.inc({ result: 'failure' });
      throw e;
    }
    this.localConfig = freshLocal;
    this.ctx.localConfig = freshLocal;
    this.config = fresh;
    this.configPath = path;
    this.ctx.config = fresh;
    this.ctx.configPath = path;
    this.log.level = fresh.log.level;
    this.reloadCounts.success++;
    this.metrics.configReloads.inc({ result: 'success' });
    if (restartNeeded.length > 0) this.log.warn({ keys: restartNeeded }, 'changed keys need a restart to take effect; kept the running values');
    this.log.info({ config: path ?? 'built-in defaults' }, 'configuration reloaded');
    return { reloaded: true, configPath: path ?? null, restartNeeded };
  }

  /** Hands `fresh` to every started component; on a refusal, those that took it get `old` back and this throws. */
  private async pushConfig(fresh: Config, old: Config): Promise<void> {
    const reloaded: Component[] = [];
    for (const c of this.started) {
      if (!c.reload) continue;
      try {
        await c.reload(fresh);
        reloaded.push(c);
      } catch (e) {
        // Everybody stays on the old config: hand it back to those that already took the new one.
        for (const r of reloaded) {
          await r.reload?.(old).catch((e2: unknown) => {
            this.log.error({ err: e2, component: r.name }, 'rollback of config reload failed');
          });
        }
        this.log.error({ err: e, component: c.name }, `configuration change refused by component ${c.name}, keeping the old configuration`);
        throw new BulwarkError(isBulwarkError(e) ? e.code : 'BULWARK_ERR_CONFIG', `configuration change refused by ${c.name}: ${errorMessage(e)}`, { cause: e });
      }
    }
  }

  /** The overlay's input changed (fleet policy): recompute the effective config and push it. */
  private async reapplyOverlay(reason: string): Promise<void> {
    if (!this.overlay) return;
    const old = this.config;
    const fresh = this.overlay.apply(this.localConfig);
    if (JSON.stringify(fresh) === JSON.stringify(old)) return;
    await this.pushConfig(fresh, old);
    this.config = fresh;
    this.ctx.config = fresh;
    this.log.info({ reason }, 'effective configuration changed');
  }

  status(): Record<string, unknown> {
    const components: Record<string, unknown> = {};
    for (const c of this.started) {
      try {
        components[c.name] = c.status?.() ?? {};
      } catch (e) {
        components[c.name] = { error: errorMessage(e) };
      }
    }
    return {
      version: VERSION,
      state: this.state,
      pid: process.pid,
      uptimeMs: this.state === 'stopped' ? 0 : this.clock.now() - this.startedAt,
      startedAt: new Date(this.startedAt).toISOString(),
      configPath: this.configPath ?? null,
      socket: this.config.control.socket,
      stateDir: this.config.stateDir,
      metrics: this.http?.url ?? null,
      database: this.database ?? null,
      components,
      counters: {
        configReloads: this.reloadCounts.success,
        configReloadFailures: this.reloadCounts.failure,
        controlRequests: this.requestCount,
      },
    };
  }
}

export interface RunDaemonOptions {
  configPath: string | undefined;
  env: NodeJS.ProcessEnv;
  stderr: Writable;
  components?: ComponentFactory[];
  runtimeProbes?: RuntimeProbes;
}

/**
 * `bulwark run`: starts the daemon and serves until SIGTERM/SIGINT. Returns the exit code:
 * 0 after a graceful stop, 78 for configuration errors, 1 for other start failures.
 */
export async function runDaemon(opts: RunDaemonOptions): Promise<number> {
  let loaded;
  try {
    loaded = await loadConfig(opts.configPath, opts.env);
  } catch (e) {
    opts.stderr.write(`bulwark: ${errorMessage(e)}\n`);
    return isBulwarkError(e, 'BULWARK_ERR_CONFIG') ? 78 : 1;
  }
  const log = createLogger({ level: loaded.config.log.level });
  // Isolation exempts the daemon's own flows by its cgroup: enter it before any socket is opened
  // (a socket keeps the cgroup it was created in). See src/isolation/agent-cgroup.ts.
  const agentCgroupFs = createCgroupFs(await discoverCgroup2Mount(loaded.config.isolation.processes.cgroupMount ?? opts.env.BULWARK_CGROUP2_MOUNT));
  if (loaded.config.isolation.processes.agentCgroup) await enterAgentCgroup(agentCgroupFs, log.child({ component: 'isolation' }));
  const runtime = await checkRuntime(loaded.config, opts.runtimeProbes);
  for (const i of runtime.filter((x) => x.severity === 'warning')) log.warn({ path: i.path }, i.message);
  const fatal = runtime.filter((x) => x.severity === 'error');
  if (fatal.length > 0) {
    opts.stderr.write(fatal.map((i) => `bulwark: config ${loaded.path ?? '(defaults)'}: ${i.path}: ${i.message}\n`).join(''));
    return 78;
  }
  const daemon = new Daemon({
    config: loaded.config,
    configPath: loaded.path,
    explicitConfigPath: opts.configPath,
    env: opts.env,
    log,
    ...(opts.components ? { components: opts.components } : {}),
    ...(opts.runtimeProbes ? { runtimeProbes: opts.runtimeProbes } : {}),
  });

  const onUncaught = (e: unknown): void => {
    daemon.metrics.uncaughtErrors.inc();
    log.error({ err: e }, 'uncaught error (daemon keeps running)');
  };
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);

  let stopSignal: (sig: string) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => (stopSignal = resolve));
  const onStop = (sig: NodeJS.Signals): void => {
    stopSignal(sig);
  };
  const onHup = (): void => {
    log.info('SIGHUP: reloading configuration');
    daemon.reload().catch(() => undefined); // already logged and counted
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  try {
    try {
      await daemon.start();
    } catch (e) {
      log.error({ err: e }, 'bulwark failed to start');
      opts.stderr.write(`bulwark: ${errorMessage(e)}\n`);
      await flush(log);
      return isBulwarkError(e, 'BULWARK_ERR_CONFIG') ? 78 : 1;
    }
    const sig = await stopped;
    log.info({ signal: sig }, 'shutting down');
    // A second SIGTERM/SIGINT while stopping gives up waiting for components (exit 1).
    let forced: (v: string) => void = () => undefined;
    const secondSignal = new Promise<string>((resolve) => (forced = resolve));
    stopSignal = forced;
    const outcome = await Promise.race([daemon.stop().then(() => 'stopped'), secondSignal]);
    if (outcome !== 'stopped') log.warn({ signal: outcome }, 'second signal: exiting without waiting for components');
    await flush(log);
    return outcome === 'stopped' ? 0 : 1;
  } finally {
    await leaveAgentCgroup(agentCgroupFs, log);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onHup);
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  }
}

function flush(log: Logger): Promise<void> {
  return new Promise((resolve) => {
    try {
      log.flush(() => {
        resolve();
      });
    } catch {
      resolve();
    }
    setTimeout(resolve, 1000).unref();
  });
}
