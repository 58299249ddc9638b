import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

export interface LogOptions {
  level?: string;
  /** Human-readable output (pino-pretty). Default: stdout is a TTY. */
  pretty?: boolean;
  /** Where to write; default stdout. Tests pass a stream to capture lines. */
  destination?: DestinationStream;
}

/**
 * Root logger of a process. Components never create their own: they receive
 * `log.child({ component })` so every line says where it came from.
 */
export function createLogger(opts: LogOptions = {}): Logger {
  const level = opts.level ?? process.env.BULWARK_LOG_LEVEL ?? 'info';
  const base = { base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime, level };
  if (opts.destination) return pino(base, opts.destination);
  const pretty = opts.pretty ?? process.stdout.isTTY;
  if (pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:standard', ignore: 'pid,hostname' } },
    });
  }
  return pino(base, pino.destination({ dest: 1, sync: false }));
}

/** A logger that drops everything, for unit tests that do not assert on logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
