/**
 * Daemon component "rules": scheduled `rules update` (rules.updateInterval; 0 = off) run in the
 * daemon with the same code as the CLI, reloading the database component directly. A failed
 * update changes nothing (src/rules/update.ts) and is logged and counted; the next one is tried
 * at the next interval. Metrics: bulwark_rules_updates_total{result},
 * bulwark_rules_last_success_timestamp_seconds.
 */
import { Counter, Gauge } from 'prom-client';
import { BulwarkError, errorMessage, isBulwarkError } from '../errors.js';
import { withDatasetDir, type Config } from '../config/types.js';
import { runRulesUpdate, type UpdateReport } from '../rules/update.js';
import { loadDatabasesOffThread } from '../signatures/offthread.js';
import type { DatabaseComponent } from './database.js';
import type { Component, ComponentFactory, DaemonContext } from './types.js';

/** Scheduled updates more often than this are refused: sources publish daily, and ET asks for restraint. */
export const MIN_UPDATE_INTERVAL_MS = 60 * 60 * 1000;

export interface RulesComponentOptions {
  update?: typeof runRulesUpdate;
  setTimer?: (fn: () => void, ms: number) => { unref?(): void };
  clearTimer?: (t: unknown) => void;
}

function checkInterval(ms: number): void {
  if (ms !== 0 && ms < MIN_UPDATE_INTERVAL_MS) {
    throw new BulwarkError('BULWARK_ERR_CONFIG', `rules.updateInterval: ${ms} ms is below the minimum of 1h (0 turns scheduled updates off)`);
  }
}

export function createRulesComponent(opts: RulesComponentOptions = {}): ComponentFactory {
  return (ctx: DaemonContext): Component => {
    const log = ctx.log.child({ component: 'rules' });
    const update = opts.update ?? runRulesUpdate;
    const setT = opts.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
    const clearT = opts.clearTimer ?? ((t: unknown) => {
      clearTimeout(t as NodeJS.Timeout);
    });
    let cfg: Config = ctx.config;
    let timer: unknown;
    let running: Promise<void> | undefined;
    let stopped = false;
    let last: { at: string; result: string; error?: string; version?: string } | undefined;
    let nextAt: number | undefined;
    const registers = [ctx.registry];
    const updates = new Counter({ name: 'bulwark_rules_updates_total', help: 'Scheduled rule updates by result (success, unchanged, failure).', labelNames: ['result'], registers });
    for (const result of ['success', 'unchanged', 'failure']) updates.inc({ result }, 0);
    const lastSuccess = new Gauge({ name: 'bulwark_rules_last_success_timestamp_seconds', help: 'When a scheduled rule update last succeeded (changed or unchanged), Unix seconds; 0 before the first.', registers });
    lastSuccess.set(0);

    const once = async (): Promise<void> => {
      const at = new Date(ctx.clock.now()).toISOString();
      try {
        const db = ctx.get<DatabaseComponent>('database');
        const report: UpdateReport = await update({
          config: cfg,
          clock: ctx.clock,
          // The validation compile of the merged rules runs in the compile worker, off the event loop.
          load: (c, o) => loadDatabasesOffThread(withDatasetDir(c, cfg.stateDir), { ...(o.extraSources ? { extraSources: [...o.extraSources] } : {}), ...(o.maxProblems !== undefined ? { maxProblems: o.maxProblems } : {}) }),
          reload: async () => {
            if (!db) return false;
            await db.reloadDatabases();
            return true;
          },
        });
        updates.inc({ result: report.changed ? 'success' : 'unchanged' });
        lastSuccess.set(Math.floor(ctx.clock.now() / 1000));
        last = { at, result: report.changed ? 'success' : 'unchanged', version: report.version };
        log.info({ changed: report.changed, sources: report.sources.map((s) => ({ name: s.name, version: s.version, cached: s.cached })), loaded: report.compile.loaded }, report.changed ? `rules updated: ${report.version}` : 'rules unchanged');
      } catch (e) {
        updates.inc({ result: 'failure' });
        last = { at, result: 'failure', error: errorMessage(e) };
        log.error({ err: { code: isBulwarkError(e) ? e.code : undefined, message: errorMessage(e) } }, `scheduled rules update failed, the installed rules stay: ${errorMessage(e)}`);
      }
    };

    const schedule = (): void => {
      if (timer !== undefined) clearT(timer);
      timer = undefined;
      nextAt = undefined;
      if (stopped || cfg.rules.updateIntervalMs === 0) return;
      // setTimeout caps at ~24.8 days; the schema caps the interval at 30 days: wake up and look again.
      const wait = Math.min(cfg.rules.updateIntervalMs, 2 ** 31 - 1);
      nextAt = ctx.clock.now() + wait;
      const t = setT(() => {
        running = once().finally(() => {
          running = undefined;
          schedule();
        });
      }, wait);
      t.unref?.();
      timer = t;
    };

    return {
      name: 'rules',
      start() {
        checkInterval(cfg.rules.updateIntervalMs);
        schedule();
        return Promise.resolve();
      },
      async stop() {
        stopped = true;
        if (timer !== undefined) clearT(timer);
        await running;
      },
      reload(next) {
        checkInterval(next.rules.updateIntervalMs);
        const changed = next.rules.updateIntervalMs !== cfg.rules.updateIntervalMs;
        cfg = next;
        if (changed && !running) schedule();
        return Promise.resolve();
      },
      status() {
        return { updateIntervalMs: cfg.rules.updateIntervalMs, nextUpdate: nextAt === undefined ? null : new Date(nextAt).toISOString(), last: last ?? null };
      },
    };
  };
}

export const rulesComponent: ComponentFactory = createRulesComponent();
