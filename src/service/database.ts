/**
 * Daemon component "database": loads config.databases at start, publishes the Ruleset on the bus
 * (engine, interception), and rebuilds it on SIGHUP / `bulwark db reload`. A new ruleset is built
 * beside the active one and swapped by replacing one reference; on any error (syntax with
 * file:line, manifest mismatch, state limit) the active one stays and the error is reported.
 * Control commands: db.info, db.reload, db.verify. Metrics: docs/metrics.md "Signature databases".
 */
import { Counter, Gauge } from 'prom-client';
import { BulwarkError, errorMessage, isBulwarkError } from '../errors.js';
import { withDatasetDir, type Config } from '../config/types.js';
import type { Ruleset } from '../signatures/types.js';
import type { LoadedDatabases } from '../signatures/load.js';
import { loadDatabasesOffThread } from '../signatures/offthread.js';
import { checkManifest } from '../signatures/manifest.js';
import { rulesetInfo } from '../signatures/info.js';
import { installedRulesFile } from '../rules/installed.js';
import type { Component, ComponentFactory, DaemonContext } from './types.js';

export interface DatabaseComponentOptions {
  /** Loader (tests inject one); default loadDatabasesOffThread (a worker: the event loop keeps serving during a compile). */
  load?: (cfg: Config['databases']) => Promise<LoadedDatabases>;
}

export interface DatabaseComponent extends Component {
  /** The active ruleset (undefined before start). */
  readonly ruleset: Ruleset | undefined;
  /** Rebuilds from `cfg` (default: the current config) and swaps; throws and keeps the old one on error. */
  reloadDatabases(cfg?: Config['databases']): Promise<Ruleset>;
}

interface Metrics {
  signatures: Gauge;
  reloads: Counter;
  reloadErrors: Counter;
  compileSeconds: Gauge;
  released: Gauge;
}

function metrics(ctx: DaemonContext): Metrics {
  const registers = [ctx.registry];
  // A second daemon in one test process brings its own registry; the same registry twice
  // (a component re-created) reuses the registered metrics.
  const gauge = (name: string, help: string): Gauge => {
    const m = ctx.registry.getSingleMetric(name);
    return m instanceof Gauge ? m : new Gauge({ name, help, registers });
  };
  const labelled = (name: string, help: string, labelNames: string[]): Gauge => {
    const m = ctx.registry.getSingleMetric(name);
    return m instanceof Gauge ? m : new Gauge({ name, help, labelNames, registers });
  };
  const counter = (name: string, help: string, labelNames: string[] = []): Counter => {
    const m = ctx.registry.getSingleMetric(name);
    return m instanceof Counter ? m : new Counter({ name, help, labelNames, registers });
  };
  return {
    signatures: gauge('bulwark_database_signatures', 'Signatures in the active ruleset.'),
    reloads: counter('bulwark_database_reloads_total', 'Database loads and reloads by result (success, failure).', ['result']),
    reloadErrors: counter('bulwark_database_reload_errors_total', 'Database reloads refused (the previous ruleset stayed active).'),
    compileSeconds: gauge('bulwark_database_compile_seconds', 'Compile time of the active ruleset, seconds.'),
    released: labelled('bulwark_database_release_timestamp_seconds', 'Release date of each database in the active ruleset (YAML `released`, or the Last-Modified of an installed rule source), Unix seconds.', ['database']),
  };
}

export function createDatabaseComponent(opts: DatabaseComponentOptions = {}): ComponentFactory {
  return (ctx: DaemonContext): DatabaseComponent => {
    const log = ctx.log.child({ component: 'database' });
    // The merged file of `bulwark rules update` (<rules.dir>/bulwark.rules) is loaded after databases.rules.
    let full: Config = ctx.config;
    // Parse and compile run in a worker (src/signatures/offthread.ts): control socket, /metrics and
    // inspection keep their event loop during a reload; the worker reads the installed rules too.
    const load = opts.load ?? ((c: Config['databases']) => loadDatabasesOffThread(withDatasetDir(c, full.stateDir), { installed: full }));
    const m = metrics(ctx);
    let active: LoadedDatabases | undefined;
    let cfg: Config['databases'] = ctx.config.databases;
    let lastError: { message: string; file?: unknown; line?: unknown; atMs: number } | undefined;
    let loadedAtMs: number | undefined;
    // One rebuild at a time: a SIGHUP during `db reload` waits for it. A running compile is never
    // aborted (a storm of reloads must not starve the swap); reloads of the current config that
    // arrive while one is already queued share that queued build, which starts after all of them.
    let chain: Promise<unknown> = Promise.resolve();
    let queuedReload: Promise<Ruleset> | undefined;

    const build = async (next: Config['databases'], why: string): Promise<Ruleset> => {
      let loaded: LoadedDatabases;
      try {
        loaded = await load(next);
      } catch (e) {
        m.reloads.inc({ result: 'failure' });
        if (active) m.reloadErrors.inc();
        const details = isBulwarkError(e) ? e.details : undefined;
        lastError = { message: errorMessage(e), file: details?.file, line: details?.line, atMs: ctx.clock.now() };
        log.error(
          { err: { code: isBulwarkError(e) ? e.code : undefined, message: errorMessage(e) }, file: details?.file, line: details?.line, why, keeping: active?.ruleset.version ?? null },
          active ? `database ${why} refused, keeping the active ruleset: ${errorMessage(e)}` : `database load failed: ${errorMessage(e)}`,
        );
        if (isBulwarkError(e)) throw e;
        throw new BulwarkError('BULWARK_ERR_DATABASE', `database ${why} failed: ${errorMessage(e)}`, { cause: e });
      }
      // The swap: one reference; the engine receives the new ruleset through the bus.
      active = loaded;
      cfg = next;
      lastError = undefined;
      loadedAtMs = ctx.clock.now();
      const r = loaded.ruleset;
      m.reloads.inc({ result: 'success' });
      m.signatures.set(r.signatures.length);
      m.compileSeconds.set(r.stats.compileMs / 1000);
      m.released.reset();
      for (const d of r.databases) {
        const t = Date.parse(d.released);
        if (!Number.isNaN(t)) m.released.set({ database: d.name }, Math.floor(t / 1000));
      }
      const skipped = Object.values(r.stats.skipped).reduce((a, b) => a + b, 0);
      log.info(
        { version: r.version, signatures: r.signatures.length, detectors: r.detectors.length, ports: r.ports.length, skipped, compileMs: r.stats.compileMs, memoryBytes: r.stats.memoryBytes, why },
        `signature databases ${why === 'start' ? 'loaded' : 'reloaded'}: ${r.version}`,
      );
      for (const p of (r.stats.problems ?? []).slice(0, 10)) log.warn({ file: p.file, line: p.line, reason: p.reason }, `rule skipped: ${p.message}`);
      ctx.bus.emitRuleset(r);
      return r;
    };

    const serial = <T>(fn: () => Promise<T>): Promise<T> => {
      const p = chain.then(fn);
      chain = p.catch(() => undefined);
      return p;
    };

    const info = (): Record<string, unknown> => {
      if (!active) return { active: false, lastError: lastError ?? null };
      return {
        active: true,
        ...rulesetInfo(active.ruleset),
        dir: cfg.dir,
        files: active.files,
        installedRules: installedRulesFile(full),
        manifest: active.manifest ? { database: active.manifest.database, version: active.manifest.version, files: Object.keys(active.manifest.files).length } : null,
        loadedAt: loadedAtMs === undefined ? null : new Date(loadedAtMs).toISOString(),
        lastError: lastError ?? null,
      };
    };

    const component: DatabaseComponent = {
      name: 'database',
      get ruleset() {
        return active?.ruleset;
      },
      async start() {
        ctx.commands.register('db.info', () => Promise.resolve(info()));
        ctx.commands.register('db.reload', async () => {
          const r = await component.reloadDatabases();
          return { reloaded: true, version: r.version, signatures: r.signatures.length, ports: r.ports.length, compileMs: r.stats.compileMs };
        });
        ctx.commands.register('db.verify', async () => {
          const r = await checkManifest(cfg.dir);
          return { dir: cfg.dir, ok: r.ok, problems: r.problems, version: r.manifest?.version ?? null };
        });
        await serial(() => build(ctx.config.databases, 'start'));
      },
      stop() {
        return Promise.resolve();
      },
      async reload(config: Config) {
        const before = full;
        full = config;
        try {
          await serial(() => build(config.databases, 'reload'));
        } catch (e) {
          full = before;
          throw e;
        }
      },
      reloadDatabases(next?: Config['databases']) {
        if (next !== undefined) return serial(() => build(next, 'reload'));
        if (queuedReload) return queuedReload;
        const p = serial(() => {
          queuedReload = undefined;
          return build(cfg, 'reload');
        });
        queuedReload = p;
        return p;
      },
      status() {
        const r = active?.ruleset;
        return {
          version: r?.version ?? null,
          signatures: r?.signatures.length ?? 0,
          ports: r?.ports.length ?? 0,
          skipped: r ? Object.values(r.stats.skipped).reduce((a, b) => a + b, 0) : 0,
          compileMs: r?.stats.compileMs ?? null,
          memoryBytes: r?.stats.memoryBytes ?? null,
          lastError: lastError?.message ?? null,
        };
      },
    };
    return component;
  };
}

export const databaseComponent: ComponentFactory = createDatabaseComponent();
