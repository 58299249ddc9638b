/**
 * How modules plug into the daemon (src/service/daemon.ts). Each capability is a Component
 * created by a factory in src/service/components.ts; the daemon starts them in order, stops
 * them in reverse, hands them config reloads, and routes control-socket commands to them.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { Config } from '../config/types.js';
import type { Detection, AlertEvent } from '../engine/types.js';
import type { Ruleset } from '../signatures/types.js';

/** A control-socket command handler. `args` is untrusted JSON: validate it. Throw BulwarkError for errors. */
export type CommandHandler = (args: Record<string, unknown>) => Promise<unknown>;

export interface CommandRegistry {
  /** Registers `name` (e.g. "block", "isolation.on"); a duplicate name is a programming error and throws. */
  register(name: string, handler: CommandHandler): void;
}

/** In-process publish/subscribe between components (engine → response, isolation policy, event writer). */
export interface DaemonBus {
  /** Raw findings from the engine, before folding. */
  onDetection(fn: (d: Detection) => void): void;
  emitDetection(d: Detection): void;
  /** Finished "Network attack detected" events (after folding and the response decision). */
  onAlert(fn: (e: AlertEvent) => void): void;
  emitAlert(e: AlertEvent): void;
  /** Other events (host unblocked, isolation on/off/expired...): EVE-style objects with event_type. */
  onEvent(fn: (e: Record<string, unknown>) => void): void;
  emitEvent(e: Record<string, unknown>): void;
  /** The active ruleset changed (load or reload). */
  onRuleset(fn: (r: Ruleset) => void): void;
  emitRuleset(r: Ruleset): void;
}

/**
 * A layer over the local configuration (fleet policy, src/service/fleet.ts). The daemon keeps the
 * local (file) config and hands components `apply(local)`, the effective one.
 */
export interface ConfigOverlay {
  /** The effective config from the local one. Pure. */
  apply(local: Config): Config;
  /** Throws BULWARK_ERR_POLICY_LOCKED when `next` (a reloaded local file) changes a locked setting. */
  checkLocalChange(prev: Config, next: Config): void;
  /** Throws BULWARK_ERR_POLICY_LOCKED when a runtime change of `setting` is locked; `what` names the request. */
  assertUnlocked(setting: string, what: string): void;
}

export interface DaemonContext {
  /** The effective configuration (local file with the fleet policy applied). */
  config: Config;
  /** The configuration as the local file (or defaults) says, before any policy (set by the daemon). */
  localConfig?: Config;
  configPath: string | undefined;
  log: Logger;
  registry: Registry;
  clock: Clock;
  commands: CommandRegistry;
  bus: DaemonBus;
  /** Other components by name, for the few direct dependencies (e.g. isolation → blocklist). */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- lets callers name the component type they expect
  get<T extends Component>(name: string): T | undefined;
  // The three below are optional so test contexts need not implement them; the daemon always does.
  /** Installs the overlay; ctx.config becomes overlay.apply(localConfig) for components created after this. */
  setOverlay?(o: ConfigOverlay): void;
  /** Re-applies the overlay (the policy changed) and hands the new effective config to the started components. */
  applyOverlay?(reason: string): Promise<void>;
  /** Throws BULWARK_ERR_POLICY_LOCKED when `setting` is locked by policy (no-op without an overlay). */
  assertUnlocked?(setting: string, what: string): void;
}

export interface Component {
  readonly name: string;
  /** Start; throwing aborts daemon start (already started components are stopped). */
  start(): Promise<void>;
  /** Graceful stop: flush state. Kernel blocks and isolation stay in place by design. */
  stop(): Promise<void>;
  /** New validated config (SIGHUP). Throw to reject; the daemon keeps the old config for everybody. */
  reload?(config: Config): Promise<void>;
  /** Merged into `bulwark status --json` under the component's name. */
  status?(): Record<string, unknown>;
}

export type ComponentFactory = (ctx: DaemonContext) => Component;
