/**
 * Fakes for the blocklist unit tests: an Nft that keeps an in-memory model of `table inet bulwark`
 * (sets with flags and elements, chains with their rule comments) and applies JSON batches to it
 * atomically, and a scheduler driven by a ManualClock.
 */
import { ManualClock } from '../../../src/clock.js';
import { BulwarkError } from '../../../src/errors.js';
import type { Nft, NftCommand, NftListOutput, NftProbeResult } from '../../../src/blocklist/types.js';
import type { Scheduler } from '../../../src/scheduler.js';

interface FakeSet {
  flags: string[];
  /** Element key (JSON of its value) → the element as `nft -j list` prints it. */
  elems: Map<string, unknown>;
}

interface Kernel {
  table: boolean;
  sets: Map<string, FakeSet>;
  chains: Map<string, string[]>;
}

function clone(k: Kernel): Kernel {
  return {
    table: k.table,
    sets: new Map([...k.sets].map(([n, s]) => [n, { flags: [...s.flags], elems: new Map(s.elems) }])),
    chains: new Map([...k.chains].map(([n, c]) => [n, [...c]])),
  };
}

function valueOf(e: unknown): unknown {
  return typeof e === 'object' && e !== null && 'elem' in e ? (e as { elem: { val: unknown } }).elem.val : e;
}

function nftErr(msg: string): BulwarkError {
  return new BulwarkError('BULWARK_ERR_NFT', `nft transaction failed: Error: Could not process rule: ${msg}`);
}

export class FakeNft implements Nft {
  batches: NftCommand[][] = [];
  texts: string[] = [];
  probes: string[] = [];
  lists: string[][] = [];
  /** Fail the next N apply() calls. */
  failNext = 0;
  /** Fail every apply() (until cleared). */
  failAlways = false;
  failMessage = 'nft transaction failed: Error: Could not process rule: No such file or directory';
  k: Kernel = { table: false, sets: new Map(), chains: new Map() };

  get tableExists(): boolean {
    return this.k.table;
  }
  set tableExists(v: boolean) {
    if (!v) this.k = { table: false, sets: new Map(), chains: new Map() };
    else this.k.table = true;
  }

  /** Puts elements into a set (creating it with `flags` if needed), as a hand-made `nft add element` would. */
  setElements(name: string, elems: unknown[], flags?: string[]): void {
    this.k.table = true;
    let s = this.k.sets.get(name);
    if (!s) this.k.sets.set(name, (s = { flags: flags ?? [], elems: new Map() }));
    s.elems = new Map(elems.map((e) => [JSON.stringify(valueOf(e)), e]));
  }

  elements(name: string): unknown[] {
    return [...(this.k.sets.get(name)?.elems.keys() ?? [])].map((k) => JSON.parse(k) as unknown);
  }

  apply(commands: NftCommand[]): Promise<void> {
    if (this.failAlways || this.failNext > 0) {
      if (this.failNext > 0) this.failNext--;
      return Promise.reject(new BulwarkError('BULWARK_ERR_NFT', this.failMessage));
    }
    const next = clone(this.k);
    try {
      for (const c of commands) this.exec(next, c);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    this.k = next;
    this.batches.push(commands);
    return Promise.resolve();
  }

  private exec(k: Kernel, c: NftCommand): void {
    const [verb, body] = Object.entries(c)[0] as [string, Record<string, Record<string, unknown>>];
    const [kind, o] = Object.entries(body)[0] as [string, Record<string, unknown>];
    const name = typeof o.name === 'string' ? o.name : typeof o.chain === 'string' ? o.chain : '';
    const needTable = (): void => {
      if (!k.table) throw nftErr('No such file or directory');
    };
    if (kind === 'table') {
      if (verb === 'add') k.table = true;
      return;
    }
    needTable();
    if (kind === 'set') {
      if (verb === 'add') {
        const flags = (o.flags as string[] | undefined) ?? [];
        const have = k.sets.get(name);
        if (have && have.flags.join() !== flags.join()) throw nftErr('File exists');
        if (!have) k.sets.set(name, { flags, elems: new Map() });
      } else if (verb === 'delete') {
        if (!k.sets.delete(name)) throw nftErr('No such file or directory');
      } else if (verb === 'flush') {
        const s = k.sets.get(name);
        if (!s) throw nftErr('No such file or directory');
        s.elems.clear();
      }
      return;
    }
    if (kind === 'chain') {
      if (verb === 'add' && !k.chains.has(name)) k.chains.set(name, []);
      if (verb === 'flush') {
        if (!k.chains.has(name)) throw nftErr('No such file or directory');
        k.chains.set(name, []);
      }
      return;
    }
    if (kind === 'rule') {
      const ch = k.chains.get(String(o.chain));
      if (!ch) throw nftErr('No such file or directory');
      ch.push(typeof o.comment === 'string' ? o.comment : '');
      return;
    }
    if (kind === 'element') {
      const s = k.sets.get(name);
      if (!s) throw nftErr('No such file or directory');
      for (const e of o.elem as unknown[]) {
        const key = JSON.stringify(valueOf(e));
        if (verb === 'add') s.elems.set(key, e);
        else if (verb === 'delete') {
          if (!s.elems.delete(key)) throw new BulwarkError('BULWARK_ERR_NFT', 'nft transaction failed: Error: Could not process rule: No such file or directory\nError: element does not exist');
        }
      }
    }
  }

  applyText(script: string): Promise<void> {
    this.texts.push(script);
    return Promise.resolve();
  }

  /** Understands the canary probe: `create table` (always refused while the table exists) and `create element SET { ADDR }`. */
  probeText(script: string): Promise<NftProbeResult> {
    this.probes.push(script);
    const refused = new Map<number, string>();
    script
      .trim()
      .split('\n')
      .forEach((line, i) => {
        const el = /^create element inet bulwark (\S+) \{ (\S+) \}$/.exec(line);
        if (line.startsWith('create table')) {
          if (this.k.table) refused.set(i + 1, 'File exists');
        } else if (el) {
          const s = this.k.sets.get(el[1]!);
          if (!s) refused.set(i + 1, 'No such file or directory');
          else if (s.elems.has(JSON.stringify(el[2]))) refused.set(i + 1, 'File exists');
        }
      });
    return Promise.resolve({ refused });
  }

  list(args: string[]): Promise<NftListOutput> {
    this.lists.push(args);
    const notFound = (): Promise<NftListOutput> => Promise.reject(new BulwarkError('BULWARK_ERR_NFT', 'nft list failed: Error: No such file or directory'));
    const setOut = (n: string, s: FakeSet): Record<string, unknown> => ({ set: { family: 'inet', table: 'bulwark', name: n, flags: s.flags, elem: [...s.elems.values()] } });
    if (args[0] === 'set') {
      const s = this.k.table ? this.k.sets.get(args[3] ?? '') : undefined;
      return s ? Promise.resolve({ nftables: [setOut(args[3]!, s)] }) : notFound();
    }
    if (args[0] === 'table') {
      if (!this.k.table) return notFound();
      return Promise.resolve({ nftables: [...this.k.sets].map(([n, s]) => setOut(n, s)) });
    }
    if (args[0] === 'ruleset') {
      if (!this.k.table) return Promise.resolve({ nftables: [] });
      const out: Record<string, unknown>[] = [{ table: { family: 'inet', name: 'bulwark' } }];
      for (const [n, s] of this.k.sets) out.push({ set: { family: 'inet', table: 'bulwark', name: n, flags: s.flags } });
      for (const [n, rules] of this.k.chains) {
        out.push({ chain: { family: 'inet', table: 'bulwark', name: n } });
        for (const comment of rules) out.push({ rule: { family: 'inet', table: 'bulwark', chain: n, ...(comment === '' ? {} : { comment }) } });
      }
      return Promise.resolve({ nftables: out });
    }
    return Promise.resolve({ nftables: [] });
  }

  /** Every element added by the recorded batches, per set, in order (the canaries left out). */
  added(set: string): unknown[] {
    const out: unknown[] = [];
    for (const b of this.batches) for (const c of b) {
      const el = (c.add as { element?: { name: string; elem: unknown[] } } | undefined)?.element;
      if (el?.name === set) out.push(...el.elem.filter((e) => !['0.0.0.1', '::2'].includes(valueOf(e) as string)));
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
