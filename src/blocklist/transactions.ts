/**
 * Applying one nft transaction, with retries. A failed transaction changed nothing (nft is
 * atomic), so it is retried with exponential backoff; before each retry of a batch the lost-table
 * hook may re-create the table with every block (which includes the batch), and a transaction
 * whose deletes name elements the kernel no longer holds is rebuilt against the kernel's set.
 * Separate from the batch planning (batch.ts) and the kernel repairs (kernel-sync.ts) because
 * both send their transactions through it, with the same metrics and the same give-up rule.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { Scheduler } from '../scheduler.js';
import type { BlocklistMetrics } from './metrics.js';
import type { Nft, NftCommand } from './types.js';

export interface TransactionsOptions {
  nft: Nft;
  log: Logger;
  metrics: BlocklistMetrics;
  sched: Scheduler;
  retry: { attempts: number; baseDelayMs: number };
  /**
   * Before a batch is retried: re-creates the table with every block when it is missing, and
   * then says true (that did the batch's work too).
   */
  recoverLostTable: () => Promise<boolean>;
}

export class NftTransactions {
  /** The message of the last failed attempt (status). */
  lastError: string | undefined;

  constructor(private readonly o: TransactionsOptions) {}

  /** Applies `first`; `op` labels metrics and logs ('batch' enables the lost-table recovery). */
  async apply(first: NftCommand[], op: string, rebuild?: () => Promise<NftCommand[]>): Promise<void> {
    const { attempts, baseDelayMs } = this.o.retry;
    let cmds = first;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        await this.o.nft.apply(cmds);
        this.o.metrics.nftTransactions.inc();
        this.o.metrics.nftTransactionSeconds.observe((performance.now() - started) / 1000);
        return;
      } catch (e) {
        this.o.metrics.nftErrors.inc({ op });
        this.lastError = errorMessage(e);
        const last = attempt >= attempts;
        this.o.log[last ? 'error' : 'warn']({ err: errorMessage(e), attempt, attempts, op, commands: cmds.length }, last ? 'nft transaction failed, giving up' : 'nft transaction failed, retrying');
        if (last) throw e;
        await this.sleep(baseDelayMs * 4 ** (attempt - 1));
        // The usual cause is a table deleted behind our back: re-creating it with every block
        // (the model already holds this batch) does this batch's work too.
        if (op === 'batch' && (await this.o.recoverLostTable())) return;
        if (rebuild && /does not exist|No such file/i.test(errorMessage(e))) {
          try {
            cmds = await rebuild();
          } catch (e2) {
            this.o.log.warn({ err: errorMessage(e2) }, 'cannot read the kernel set to rebuild the transaction');
          }
          if (cmds.length === 0) return;
        }
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.o.sched.setTimeout(resolve, ms));
  }
}
