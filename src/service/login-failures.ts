/**
 * Login-failure evidence (docs/response.md "Login failures"): follows sshd's log — the journal
 * (`journalctl -f -o json _COMM=sshd + _COMM=sshd-session`) or a log file (auth.log, or the file of
 * `sshd -E FILE`), whichever the host has — and reports a source after loginFailures.maxFailures
 * authentication failures within loginFailures.window (fail2ban's sshd jail: 5 in 10 min).
 * Works whoever owns port 22: the evidence is sshd's own account of the attempts.
 *
 * The file is read from its end at start (old failures are not replayed), polled, and followed
 * across rotation (another inode) and truncation (smaller size). Reads are bounded per poll and
 * a line longer than MAX_LINE is dropped (counted).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { Config } from '../config/types.js';
import { errorMessage } from '../errors.js';
import { parseSshdMessage, sshdMessageOfLogLine, type LoginFailure } from '../respond/login/sshd.js';
import { LoginFailureTracker } from '../respond/login/tracker.js';

export type LoginFailureHandler = (address: string, failures: number, last: LoginFailure) => void;

const POLL_MS = 250;
const MAX_READ = 1024 * 1024;
const MAX_LINE = 8192;
const JOURNAL_SOCKET = '/run/systemd/journal/socket';

export class LoginFailureWatcher {
  private readonly tracker: LoginFailureTracker;
  private cfg: Config['loginFailures'];
  private child: ChildProcess | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private partial = '';
  private pos = -1;
  private ino = -1;
  private polling = false;
  private source: 'journal' | 'file' | undefined;
  private readonly mFailures: Counter;
  private readonly mBlocks: Counter;
  private readonly mDropped: Counter;

  constructor(
    cfg: Config['loginFailures'],
    private readonly log: Logger,
    registry: Registry,
    private readonly clock: Clock,
    private readonly onTrigger: LoginFailureHandler,
  ) {
    this.cfg = cfg;
    this.tracker = new LoginFailureTracker({ maxFailures: cfg.maxFailures, windowMs: cfg.windowMs, maxTracked: cfg.maxTracked });
    const tracker = this.tracker;
    this.mFailures = new Counter({ name: 'bulwark_login_failures_total', help: 'sshd authentication failures read from its log (journal or file).', registers: [registry] });
    this.mBlocks = new Counter({ name: 'bulwark_login_failure_triggers_total', help: 'Sources that reached loginFailures.maxFailures within loginFailures.window.', registers: [registry] });
    this.mDropped = new Counter({ name: 'bulwark_login_log_lines_dropped_total', help: 'sshd log lines dropped (longer than 8 KiB, or unreadable journal records).', registers: [registry] });
    new Gauge({
      name: 'bulwark_login_failure_tracked',
      help: 'Source addresses in the login-failure tracker (bounded by loginFailures.maxTracked).',
      registers: [registry],
      collect() {
        this.set(tracker.size);
      },
    });
    new Counter({
      name: 'bulwark_login_failure_evictions_total',
      help: 'Login-failure tracker entries evicted (LRU bound, loginFailures.maxTracked).',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(tracker.evictions);
      },
    });
  }

  setConfig(cfg: Config['loginFailures']): void {
    const restart = cfg.source !== this.cfg.source || cfg.file !== this.cfg.file || cfg.enabled !== this.cfg.enabled;
    this.cfg = cfg;
    this.tracker.setLimits(cfg.maxFailures, cfg.windowMs);
    if (restart && !this.stopped) {
      this.stop();
      this.start();
    }
  }

  start(): void {
    if (!this.cfg.enabled || !this.stopped) return;
    this.stopped = false;
    const useJournal = this.cfg.source === 'journal' || (this.cfg.source === 'auto' && existsSync(JOURNAL_SOCKET));
    this.source = useJournal ? 'journal' : 'file';
    if (useJournal) this.startJournal();
    else this.startFile();
    this.log.info({ source: this.source, ...(useJournal ? {} : { file: this.cfg.file }), maxFailures: this.cfg.maxFailures, windowMs: this.cfg.windowMs }, 'following sshd authentication failures');
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.child?.kill();
    this.child = undefined;
    this.partial = '';
    this.pos = -1;
    this.ino = -1;
  }

  status(): Record<string, unknown> {
    return {
      enabled: this.cfg.enabled,
      running: !this.stopped,
      source: this.source ?? null,
      ...(this.source === 'file' ? { file: this.cfg.file } : {}),
      failures: this.tracker.failures,
      triggered: this.tracker.triggered,
      tracked: this.tracker.size,
    };
  }

  /** One sshd message (also used by tests). */
  message(text: string): void {
    const f = parseSshdMessage(text);
    if (!f) return;
    this.mFailures.inc(f.count);
    const n = this.tracker.add(f.address, this.clock.now(), f.count);
    if (n === undefined) return;
    this.mBlocks.inc();
    try {
      this.onTrigger(f.address, n, f);
    } catch (e) {
      this.log.error({ err: errorMessage(e) }, 'login-failure handler failed');
    }
  }

  private line(text: string): void {
    const m = sshdMessageOfLogLine(text);
    if (m !== undefined) this.message(m);
  }

  private startJournal(): void {
    const child = spawn('journalctl', ['-f', '-o', 'json', '-n', '0', '-q', '_COMM=sshd', '+', '_COMM=sshd-session'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const rec = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.journalRecord(rec);
      }
      if (buf.length > MAX_LINE * 4) {
        this.mDropped.inc();
        buf = '';
      }
    });
    child.stderr.on('data', () => undefined);
    child.on('error', (e) => {
      this.log.warn({ err: errorMessage(e) }, 'journalctl failed to start; login failures are not followed');
    });
    child.on('exit', (code) => {
      if (this.stopped || this.child !== child) return;
      this.log.warn({ code }, 'journalctl exited; restarting in 5 s');
      this.child = undefined;
      setTimeout(() => {
        if (!this.stopped && this.child === undefined) this.startJournal();
      }, 5000).unref();
    });
  }

  private journalRecord(rec: string): void {
    let msg: unknown;
    try {
      msg = (JSON.parse(rec) as { MESSAGE?: unknown }).MESSAGE;
    } catch {
      this.mDropped.inc();
      return;
    }
    // journald gives non-UTF-8 messages as byte arrays.
    if (Array.isArray(msg)) msg = Buffer.from(msg.filter((x): x is number => typeof x === 'number')).toString('latin1');
    if (typeof msg === 'string') this.message(msg);
  }

  private startFile(): void {
    void this.poll(true);
    this.timer = setInterval(() => void this.poll(false), POLL_MS);
    this.timer.unref();
  }

  private async poll(first: boolean): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      let st;
      try {
        st = await stat(this.cfg.file);
      } catch {
        // Not there (yet): a file that appears later is read from its start.
        this.pos = 0;
        this.ino = -1;
        return;
      }
      if (this.ino !== st.ino || st.size < this.pos) {
        // Rotated or truncated: the new file from its start; at the very start, from its end.
        this.pos = first ? st.size : 0;
        this.ino = st.ino;
        this.partial = '';
      }
      if (st.size <= this.pos) return;
      const len = Math.min(st.size - this.pos, MAX_READ);
      const fh = await open(this.cfg.file, 'r');
      try {
        const b = Buffer.alloc(len);
        const { bytesRead } = await fh.read(b, 0, len, this.pos);
        this.pos += bytesRead;
        this.feed(b.toString('utf8', 0, bytesRead));
      } finally {
        await fh.close();
      }
    } catch (e) {
      this.log.warn({ err: errorMessage(e), file: this.cfg.file }, 'reading the sshd log failed');
    } finally {
      this.polling = false;
    }
  }

  private feed(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    if (this.partial.length > MAX_LINE) {
      this.mDropped.inc();
      this.partial = '';
    }
    for (const l of parts) {
      if (l.length > MAX_LINE) this.mDropped.inc();
      else this.line(l.replace(/\r$/, ''));
    }
  }
}
