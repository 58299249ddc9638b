/**
 * The one adapter that runs nft. Every change is one `nft -f FILE` process reading the whole
 * batch: nft commits a file as a single kernel transaction, so a bad batch changes nothing.
 * One process per address costs ~2.7 ms here; one process for 1000 elements ~6 ms.
 *
 * Why a file and not stdin: nft opens "/dev/stdin" by path, and Node's child stdio pipes are
 * unix socketpairs, which cannot be opened that way (ENXIO). The batch goes to a fresh temp
 * file (mode 0600, exclusive create) and is deleted right after nft returns.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { BulwarkError } from '../errors.js';
import type { Nft, NftCommand, NftListOutput, NftProbeResult } from './types.js';

export interface NftOptions {
  /** Path of the nft binary (default "nft", found on PATH). */
  binary?: string;
  /** Extra argv put before nft's own (e.g. ["ip", "netns", "exec", NS]) with binary "ip"; for tests and benches. */
  prefixArgs?: string[];
  log?: Logger;
  /** Kill nft after this long (default 30 s); a hung nft must not wedge the daemon. */
  timeoutMs?: number;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** stderr is bounded so a pathological nft error cannot blow up a log line or an error message. */
const MAX_STDERR = 8192;

export function createNft(opts: NftOptions = {}): Nft {
  const binary = opts.binary ?? 'nft';
  const prefix = opts.prefixArgs ?? [];
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const log = opts.log;

  function batchFile(text: string): string {
    // O_EXCL ('wx') with a random name: never follows or reuses a planted file in a shared /tmp,
    // and there is no directory to leak when the process is killed mid-transaction.
    const file = join(tmpdir(), `bulwark-nft-${process.pid}-${randomBytes(8).toString('hex')}.batch`);
    writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
    return file;
  }

  async function runFile(args: string[], text: string): Promise<RunResult> {
    const file = batchFile(text);
    try {
      return await run([...args, file]);
    } finally {
      try {
        unlinkSync(file);
      } catch {
        /* already gone */
      }
    }
  }

  function run(args: string[]): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(binary, [...prefix, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let stderr = '';
      let timedOut = false;
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => {
        if (stderr.length < MAX_STDERR) stderr += d.toString();
      });
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new BulwarkError('BULWARK_ERR_NFT', `nft: cannot run ${binary}: ${e.message}`, { cause: e }));
      });
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (timedOut) stderr += `\n(killed after ${timeoutMs} ms)`;
        resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString(), stderr: stderr.slice(0, MAX_STDERR) });
      };
      child.on('close', finish);
      // A killed nft may leave a child holding the pipes open: do not wait for 'close' then.
      child.on('exit', (code, signal) => {
        if (timedOut) finish(code, signal);
      });
    });
  }

  function fail(what: string, r: RunResult, details: Record<string, unknown>): never {
    // nft echoes the offending input line, which for a JSON batch is the whole batch: keep lines short.
    const msg =
      r.stderr
        .trim()
        .split('\n')
        .map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l))
        .join('\n') || `exit code ${r.code}`;
    throw new BulwarkError('BULWARK_ERR_NFT', `nft ${what} failed: ${msg}`, { details: { ...details, exitCode: r.code } });
  }

  return {
    async apply(commands: NftCommand[]): Promise<void> {
      if (commands.length === 0) return;
      const started = performance.now();
      const r = await runFile(['-j', '-f'], JSON.stringify({ nftables: commands }));
      if (r.code !== 0) fail('transaction', r, { commands: commands.length });
      log?.debug({ commands: commands.length, ms: Math.round(performance.now() - started) }, 'nft transaction committed');
    },
    async applyText(script: string): Promise<void> {
      const r = await runFile(['-f'], script);
      if (r.code !== 0) fail('script', r, {});
    },
    async probeText(script: string): Promise<NftProbeResult> {
      const r = await runFile(['-f'], script);
      if (r.code === 0) throw new BulwarkError('BULWARK_ERR_NFT', 'nft probe committed (its sentinel line did not fail)');
      return { refused: parseRefusedLines(r.stderr, r.code) };
    },
    async list(args: string[], listOpts?: { terse?: boolean }): Promise<NftListOutput> {
      const r = await run([...(listOpts?.terse === true ? ['-t'] : []), '-j', 'list', ...args]);
      if (r.code !== 0) fail(`list ${args.join(' ')}`, r, { args });
      try {
        const parsed = JSON.parse(r.stdout) as unknown;
        if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { nftables?: unknown }).nftables)) {
          throw new Error('no nftables array');
        }
        return parsed as NftListOutput;
      } catch (e) {
        throw new BulwarkError('BULWARK_ERR_NFT', `nft list ${args.join(' ')}: unparsable JSON output`, { cause: e });
      }
    },
  };
}

/**
 * Kernel errors of `nft -f FILE` output, by line: "FILE:3:30-37: Error: Could not process rule: File exists".
 * Anything else in stderr (a syntax error, a userspace refusal) means the script was not checked by
 * the kernel at all: BULWARK_ERR_NFT.
 */
export function parseRefusedLines(stderr: string, exitCode: number): Map<number, string> {
  const refused = new Map<number, string>();
  let other: string | undefined;
  for (const line of stderr.split('\n')) {
    const m = /^\S*:(\d+):\d+(?:-\d+)?: Error: Could not process rule: (.+)$/.exec(line.trim());
    if (m) refused.set(Number(m[1]), m[2]!);
    else if (/Error:/.test(line)) other ??= line.trim();
  }
  if (other !== undefined || refused.size === 0) {
    throw new BulwarkError('BULWARK_ERR_NFT', `nft probe failed: ${(other ?? stderr.trim()).slice(0, 300) || `exit code ${exitCode}`}`);
  }
  return refused;
}

/** True when an nft error says the object does not exist (table/set/chain gone). */
export function isNftNotFound(e: unknown): boolean {
  return e instanceof BulwarkError && e.code === 'BULWARK_ERR_NFT' && /No such file or directory|does not exist/i.test(e.message);
}
