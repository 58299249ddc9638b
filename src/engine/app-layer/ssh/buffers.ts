/**
 * Suricata's SSH sticky buffers (detect-ssh-proto.c, detect-ssh-software.c, detect-ssh-hassh*.c)
 * and keywords (detect-ssh-proto-version.c, detect-ssh-software-version.c).
 */
import type { AppBufferSpec, AppDirection, AppKeywordSpec, AppTx } from '../types.js';
import { SshTransaction, type SshSide } from './tx.js';

const BOTH: readonly AppDirection[] = ['to_server', 'to_client'];

function spec(name: string, aliases: string[], directions: readonly AppDirection[], lowercaseOnly = false): AppBufferSpec {
  return { name, aliases, directions, multi: false, lowercaseOnly, pcreFlag: null };
}

export const SSH_BUFFERS: readonly AppBufferSpec[] = [
  spec('ssh.proto', ['ssh_proto'], BOTH),
  spec('ssh.software', ['ssh_software'], BOTH),
  spec('ssh.hassh', [], ['to_server'], true),
  spec('ssh.hassh.string', [], ['to_server']),
  spec('ssh.hassh.server', [], ['to_client'], true),
  spec('ssh.hassh.server.string', [], ['to_client']),
];

export function sshBuffer(tx: SshTransaction, name: string, dir: AppDirection): Uint8Array | null {
  const s = tx.sideOf(dir);
  switch (name) {
    case 'ssh.proto': return s.proto;
    case 'ssh.software': return s.software;
    case 'ssh.hassh': return dir === 'to_server' ? s.hassh : null;
    case 'ssh.hassh.string': return dir === 'to_server' ? s.hasshString : null;
    case 'ssh.hassh.server': return dir === 'to_client' ? s.hassh : null;
    case 'ssh.hassh.server.string': return dir === 'to_client' ? s.hasshString : null;
    default: return null;
  }
}

function sideOf(tx: AppTx, dir: AppDirection): SshSide | null {
  return tx instanceof SshTransaction ? tx.sideOf(dir) : null;
}

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

/** Value syntax of both keywords: optional quotes and spaces around the value. */
function unquote(value: string | null, name: string, re: RegExp): string {
  const m = /^\s*"?\s*(.*?)\s*"?\s*$/.exec(value ?? '');
  const v = m?.[1] ?? '';
  if (!re.test(v)) throw new Error(`${name}: invalid value "${value ?? ''}"`);
  return v;
}

/** `ssh.protoversion:2_compat;` (2.x or 1.99) or an exact protoversion. */
const protoVersion: AppKeywordSpec<string> = {
  name: 'ssh.protoversion',
  aliases: [],
  directions: BOTH,
  parse: (value) => unquote(value, 'ssh.protoversion', /^([0-9]+([.\-0-9]+)?|2_compat)$/),
  match(tx, dir, want) {
    const proto = sideOf(tx, dir)?.proto;
    if (!proto) return false;
    const p = latin1(proto);
    return want === '2_compat' ? p.startsWith('2') || p.startsWith('1.99') : p === want;
  },
};

/** `ssh.softwareversion:PuTTY_0.64;` — the softwareversion equals the value (deprecated in Suricata 7). */
const softwareVersion: AppKeywordSpec<string> = {
  name: 'ssh.softwareversion',
  aliases: [],
  directions: BOTH,
  parse: (value) => unquote(value, 'ssh.softwareversion', /^[0-9a-zA-Z:.\-_+\s]+$/),
  match(tx, dir, want) {
    const sw = sideOf(tx, dir)?.software;
    return !!sw && latin1(sw) === want;
  },
};

export const SSH_KEYWORDS: readonly AppKeywordSpec[] = [protoVersion, softwareVersion];
