/** The real BlocklistService driving real nft inside a bench's throwaway network namespace. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { systemClock } from '../../src/clock.js';
import { silentLogger } from '../../src/log/index.js';
import { createNft } from '../../src/blocklist/nft.js';
import { refScheduler } from '../../src/scheduler.js';
import { BlocklistService } from '../../src/blocklist/service.js';

export function benchBlocklist(ns: string, stateDir: string | undefined, reconcileIntervalMs: number): BlocklistService {
  return new BlocklistService({
    nft: createNft({ binary: 'ip', prefixArgs: ['netns', 'exec', ns, 'nft'], timeoutMs: 60_000 }),
    clock: systemClock,
    log: silentLogger(),
    registry: new Registry(),
    stateDir,
    mode: 'block',
    defaultDurationMs: 3600_000,
    maxBlocksPerMinute: 0,
    reconcileIntervalMs,
    // Nothing else keeps a bench process alive while nft runs: the default timers are unref'd.
    scheduler: refScheduler,
  });
}

/** Creates a uniquely named network namespace; the returned function deletes it (also run at exit). */
export function benchNamespace(prefix: string): { ns: string; cleanup: () => void } {
  const ns = `${prefix}-${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', ns]);
  const cleanup = (): void => {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      /* already deleted */
    }
  };
  // Safety net: the namespace goes away even if the process ends some other way.
  process.once('exit', cleanup);
  return { ns, cleanup };
}
