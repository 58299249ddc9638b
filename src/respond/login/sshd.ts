/**
 * sshd authentication failures (pure), like the normal mode of fail2ban's and sshguard's sshd
 * filters. Counted, one each:
 * - "Failed <method> for [invalid user ]USER from ADDR port N" (every failed attempt);
 * - "Invalid user USER from ADDR port N" (a name that does not exist);
 * - "maximum authentication attempts exceeded for [invalid user ]USER from ADDR port N";
 * - rsyslog's "message repeated N times: [ <one of the above> ]" counts N.
 * Not counted: "Connection closed by authenticating user … [preauth]" (an operator's client
 * giving up on a key it offered looks the same) and PAM's duplicate "authentication failure"
 * lines (sshd also logs the "Failed" line for the same attempt). Host names (UseDNS yes) are not
 * addresses and are skipped.
 */
import { normalizeAddress } from '../../blocklist/address.js';

export interface LoginFailure {
  address: string;
  user: string;
  /** Attempts this line stands for (rsyslog folding). */
  count: number;
  kind: 'failed' | 'invalid-user' | 'max-attempts';
}

const ADDR = '([0-9A-Fa-f:.]+(?:%\\w+)?)';
// The user name is the client's text (an invalid user is logged as sent): greedy, so the last
// "from ADDR port N" — sshd's own — is the address, never one written into the user name.
const FAILED = new RegExp(`^Failed (?:\\S+) for (?:invalid user )?(.*) from ${ADDR} port \\d+(?: ssh2(?:: .*)?)?(?: \\[preauth\\])?\\s*$`);
const INVALID = new RegExp(`^Invalid user (.*) from ${ADDR}(?: port \\d+)?\\s*$`);
const MAX = new RegExp(`^(?:error: )?maximum authentication attempts exceeded for (?:invalid user )?(.*) from ${ADDR} port \\d+(?: ssh2)?(?: \\[preauth\\])?\\s*$`);
const REPEATED = /^message repeated (\d+) times: \[\s*(.*?)\s*\]\s*$/;

/** Longest message considered: sshd's own lines are short; a longer one is not one of these. */
const MAX_LINE = 4096;

/** The failure a sshd log message reports, or undefined. `message` is the text after "sshd[PID]: ". */
export function parseSshdMessage(message: string): LoginFailure | undefined {
  if (message.length > MAX_LINE) return undefined;
  let m = message.trim();
  let count = 1;
  const rep = REPEATED.exec(m);
  if (rep) {
    count = Math.min(Number(rep[1]), 1000);
    m = rep[2]!;
  }
  let kind: LoginFailure['kind'];
  let r = FAILED.exec(m);
  if (r) kind = 'failed';
  else if ((r = INVALID.exec(m))) kind = 'invalid-user';
  else if ((r = MAX.exec(m))) kind = 'max-attempts';
  else return undefined;
  let address: string;
  try {
    address = normalizeAddress(r[2]!.replace(/%.*$/, ''));
  } catch {
    return undefined;
  }
  return { address, user: r[1]!.slice(0, 64), count, kind };
}

/**
 * A syslog-format line ("Dec  2 11:00:00 host sshd[123]: MSG", RFC 3339 timestamps too, or sshd -E
 * output without a prefix: "MSG" or "sshd[123]: MSG"): the message when it is sshd's, else undefined.
 */
export function sshdMessageOfLogLine(line: string): string | undefined {
  const m = /(?:^|\s)sshd(?:-session)?(?:\[\d+\])?: (.*)$/.exec(line);
  if (m) return m[1];
  // sshd -E FILE writes bare messages (no program tag).
  if (/^(Failed |Invalid user |maximum authentication|error: maximum authentication|message repeated )/.test(line)) return line;
  return undefined;
}
