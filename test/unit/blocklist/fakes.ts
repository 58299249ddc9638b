/** Fakes for the blocklist unit tests: an Nft that records batches and a scheduler driven by a ManualClock. */
import { ManualClock } from '../../../src/clock.js';
import { BulwarkError } from '../../../src/errors.js';
import type { Nft, NftCommand, NftListOutput } from '../../../src/blocklist/types.js';
import type { Scheduler } from '../../../src/blocklist/service.js';

export class FakeNft implements Nft {
  batches: NftCommand[][] = [];
  texts: string[] = [];
  lists: string[][] = [];
  /** Fail the next N apply() calls. */
  failNext = 0;
  /** Fail every apply() (until cleared). */
  failAlways = false;
  failMessage = 'nft transaction failed: Error: Could not process rule: No such file or directory';
  /** Whether the table "exists" (list sets/chains report it); install batches set it. */
  private exists = false;
  /** allow4 holds elements (only bulwark's own install fills it). */
  allowFilled = false;
  get tableExists(): boolean {
    return this.exists;
  }
  set tableExists(v: boolean) {
    this.exists = v;
    if (!v) this.allowFilled = false;
  }
  /** Elements reported by `list set inet bulwark blocked4|blocked6`. */
  kernelElems: Record<string, unknown[]> = { blocked4: [], blocked6: [] };

  apply(commands: NftCommand[]): Promise<void> {
    if (this.failAlways || this.failNext > 0) {
      if (this.failNext > 0) this.failNext--;
      return Promise.reject(new BulwarkError('BULWARK_ERR_NFT', this.failMessage));
    }
    this.batches.push(commands);
    if (commands.some((c) => 'add' in c && (c.add as Record<string, unknown>).table !== undefined)) this.exists = true;
    if (commands.some((c) => 'add' in c && (c.add as { element?: { name: string } }).element?.name === 'allow4')) this.allowFilled = true;
    return Promise.resolve();
  }
  applyText(script: string): Promise<void> {
    this.texts.push(script);
    return Promise.resolve();
  }
  list(args: string[]): Promise<NftListOutput> {
    this.lists.push(args);
    if (args[0] === 'set') {
      if (!this.tableExists) return Promise.reject(new BulwarkError('BULWARK_ERR_NFT', 'nft list failed: Error: No such file or directory'));
      if (args[3] === 'allow4') return Promise.resolve({ nftables: [{ set: { name: 'allow4', elem: this.allowFilled ? [{ prefix: { addr: '127.0.0.0', len: 8 } }] : [] } }] });
      return Promise.resolve({ nftables: [{ set: { name: args[3], elem: this.kernelElems[args[3] ?? ''] ?? [] } }] });
    }
    if (args[0] === 'table') {
      if (!this.tableExists) return Promise.reject(new BulwarkError('BULWARK_ERR_NFT', 'nft list failed: Error: No such file or directory'));
      return Promise.resolve({ nftables: ['blocked4', 'blocked6'].map((name) => ({ set: { name, elem: this.kernelElems[name] ?? [] } })) });
    }
    if (args[0] === 'sets') {
      const names = this.tableExists ? ['blocked4', 'blocked6', 'allow4', 'allow6'] : [];
      return Promise.resolve({ nftables: names.map((name) => ({ set: { table: 'bulwark', name } })) });
    }
    if (args[0] === 'chains') {
      const names = this.tableExists ? ['bypass', 'input', 'forward', 'output', 'iso_in', 'iso_out', 'iso_fwd'] : [];
      return Promise.resolve({ nftables: names.map((name) => ({ chain: { table: 'bulwark', name } })) });
    }
    return Promise.resolve({ nftables: [] });
  }
  /** Every element value added by the recorded batches, per set, in order. */
  added(set: string): unknown[] {
    const out: unknown[] = [];
    for (const b of this.batches) for (const c of b) {
      const el = (c.add as { element?: { name: string; elem: unknown[] } } | undefined)?.element;
      if (el?.name === set) out.push(...el.elem);
    }
    return out;
  }
}

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

export class ManualScheduler implements Scheduler {
  private timers: Timer[] = [];
  private next = 1;
  constructor(readonly clock: ManualClock) {}
  setTimeout(fn: () => void, ms: number): unknown {
    const t = { id: this.next++, at: this.clock.now() + ms, fn };
    this.timers.push(t);
    return t.id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  get pendingTimers(): number {
    return this.timers.length;
  }
  /** Moves the clock forward, firing due timers in order and letting their promises settle. */
  async advance(ms: number): Promise<void> {
    const end = this.clock.now() + ms;
    for (;;) {
      await settle();
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      if (due.at > this.clock.now()) this.clock.set(due.at);
      due.fn();
    }
    this.clock.set(end);
    await settle();
  }
}

/** Lets pending promise chains run (several macrotask turns). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}
