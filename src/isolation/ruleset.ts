/**
 * nft batches for isolation (pure). The drop rules are gated by `meta nfproto @iso_on`, whose
 * elements carry the time left as their timeout: the kernel lifts isolation on time by itself.
 * Exclusions are matched on the packet's tuple in both directions (not only on ct state), because
 * connections that predate conntrack are never `ct state established`; the reply direction of a rule
 * needs `ct state established,related`, or a TCP segment without SYN (a flow older than conntrack).
 */
import { BulwarkError } from '../errors.js';
import { boxKey, boxText, cidrRange, disjoint, type Box, type Range } from './boxes.js';
import { nftCgroupArg, type CgroupRef } from './cgroup.js';
import type { ResolvedProcessRule } from './processes.js';
import { AGENT_CT_MARK, PROCESS_CT_MARK, ISO_SETS, MAX_ELEMENTS_PER_RULE, MAX_ELEMENTS_PER_SET, type EffectiveRule, type ExpectedElements, type IsoSetName, type PortSpec } from './types.js';

export const T = 'inet bulwark';
const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
const MARK = hex(AGENT_CT_MARK);
const PMARK = hex(PROCESS_CT_MARK);

function portRanges(p: PortSpec): Range[] {
  if (p === 'any') return [[0n, 65535n]];
  return p.map((r) => [BigInt(r.from), BigInt(r.to)] as const);
}

const ANY_PORT: Range = [0n, 65535n];

function protoRanges(rule: EffectiveRule, family: 4 | 6): Range[] {
  const one = (n: number): Range => [BigInt(n), BigInt(n)];
  switch (rule.protocol) {
    case 'tcp':
      return [one(6)];
    case 'udp':
      return [one(17)];
    case 'icmp':
      return [one(family === 4 ? 1 : 58)];
    case 'any':
      // Ports only exist for TCP and UDP: with ports, "any" means those two; without, every protocol.
      return rule.localPorts === 'any' && rule.remotePorts === 'any' ? [[0n, 255n]] : [one(6), one(17)];
  }
}

/**
 * Set elements for the rules, per set: boxes (remote . proto . local port . remote port) made
 * disjoint so the kernel accepts them in one batch. Throws BULWARK_ERR_LIMIT past the bounds.
 */
export function compileElements(rules: readonly EffectiveRule[]): ExpectedElements {
  const boxes: Record<IsoSetName, Box[]> = { iso_xin4: [], iso_xin6: [], iso_xout4: [], iso_xout6: [] };
  for (const rule of rules) {
    if (rule.process) continue; // matched by the process chains (buildProcScript), not by address
    let added = 0;
    const dirs = rule.direction === 'both' ? (['in', 'out'] as const) : rule.direction === 'inbound' ? (['in'] as const) : (['out'] as const);
    const remotes = rule.remote === 'any' ? [cidrRange('0.0.0.0/0'), cidrRange('::/0')] : rule.remote.map((r) => cidrRange(r));
    for (const d of dirs) {
      for (const remote of remotes) {
        const list = boxes[`iso_x${d}${remote.family}`];
        for (const proto of protoRanges(rule, remote.family)) {
          const icmpLike = proto[0] === proto[1] && (proto[0] === 1n || proto[0] === 58n);
          const locals = icmpLike ? [ANY_PORT] : portRanges(rule.localPorts);
          const remotePorts = icmpLike ? [ANY_PORT] : portRanges(rule.remotePorts);
          for (const l of locals) {
            for (const rp of remotePorts) {
              list.push([remote.range, proto, l, rp]);
              added++;
            }
          }
        }
      }
    }
    if (added > MAX_ELEMENTS_PER_RULE) {
      throw new BulwarkError('BULWARK_ERR_LIMIT', `exclusion ${rule.id} expands to ${added} kernel elements (limit ${MAX_ELEMENTS_PER_RULE}); use fewer port entries or wider ranges`);
    }
  }
  const out = {} as ExpectedElements;
  for (const s of ISO_SETS) {
    let d: Box[];
    try {
      d = disjoint(boxes[s], MAX_ELEMENTS_PER_SET);
    } catch (e) {
      throw new BulwarkError('BULWARK_ERR_LIMIT', `exclusions need more than ${MAX_ELEMENTS_PER_SET} elements in ${s}`, { cause: e });
    }
    const fam = s.endsWith('4') ? 4 : 6;
    const pairs = d.map((b) => ({ text: boxText(b, fam), key: boxKey(b) })).sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
    out[s] = { texts: pairs.map((p) => p.text), keys: pairs.map((p) => p.key).sort() };
  }
  return out;
}

/** Who the daemon's own flows are recognised by: its uid, or (when it runs as root) its primary group. */
export type AgentMatch = { kind: 'uid'; id: number } | { kind: 'gid'; id: number } | { kind: 'none' };

export interface ApplyParams {
  elements: ExpectedElements;
  /** Time left (ms, ≥ 1000) until the kernel lifts isolation. */
  timeLeftMs: number;
  /** When > 0, outgoing RSTs may leave for this long (severing). */
  rstWindowMs: number;
  agent: AgentMatch;
}

const ND = '{ nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert, nd-redirect }';

function setDecls(): string[] {
  const lines: string[] = [];
  const decl = (name: string, body: string): void => {
    // add + delete + add: idempotent whether or not the set exists, and picks up a changed type.
    lines.push(`add set ${T} ${name} { ${body} }`, `delete set ${T} ${name}`, `add set ${T} ${name} { ${body} }`);
  };
  decl('iso_on', 'type nf_proto; flags timeout;');
  decl('iso_rst', 'type nf_proto; flags timeout;');
  for (const s of ISO_SETS) decl(s, `type ${s.endsWith('4') ? 'ipv4_addr' : 'ipv6_addr'} . inet_proto . inet_service . inet_service; flags interval;`);
  return lines;
}

function prelude(): string[] {
  return [
    `add table ${T}`,
    // Process exclusion chains: filled by their own batch (buildProcScript), only created here.
    ...['iso_pin', 'iso_pout'].map((c) => `add chain ${T} ${c}`),
    ...['iso_in', 'iso_out', 'iso_fwd'].flatMap((c) => [`add chain ${T} ${c}`, `flush chain ${T} ${c}`]),
    ...['iso_dropped_in', 'iso_dropped_out', 'iso_dropped_fwd'].map((c) => `add counter ${T} ${c}`),
  ];
}

/** Rules matching a packet whose remote end is its source (input, and forward towards the host side). */
function remoteIsSource(chain: string): string[] {
  const k4 = 'ip saddr . meta l4proto . th dport . th sport';
  const k6 = 'ip6 saddr . meta l4proto . th dport . th sport';
  return [
    `add rule ${T} ${chain} ${k4} @iso_xin4 accept`,
    `add rule ${T} ${chain} ${k6} @iso_xin6 accept`,
    `add rule ${T} ${chain} ct state established,related ${k4} @iso_xout4 accept`,
    `add rule ${T} ${chain} ct state established,related ${k6} @iso_xout6 accept`,
    `add rule ${T} ${chain} tcp flags & syn == 0 ${k4} @iso_xout4 accept`,
    `add rule ${T} ${chain} tcp flags & syn == 0 ${k6} @iso_xout6 accept`,
  ];
}

/** Rules matching a packet whose remote end is its destination (output, and forward away from the host side). */
function remoteIsDestination(chain: string): string[] {
  const k4 = 'ip daddr . meta l4proto . th sport . th dport';
  const k6 = 'ip6 daddr . meta l4proto . th sport . th dport';
  return [
    `add rule ${T} ${chain} ${k4} @iso_xout4 accept`,
    `add rule ${T} ${chain} ${k6} @iso_xout6 accept`,
    `add rule ${T} ${chain} ct state established,related ${k4} @iso_xin4 accept`,
    `add rule ${T} ${chain} ct state established,related ${k6} @iso_xin6 accept`,
    `add rule ${T} ${chain} tcp flags & syn == 0 ${k4} @iso_xin4 accept`,
    `add rule ${T} ${chain} tcp flags & syn == 0 ${k6} @iso_xin6 accept`,
  ];
}

function elementLines(elements: ExpectedElements): string[] {
  const lines: string[] = [];
  const CHUNK = 256;
  for (const s of ISO_SETS) {
    const list = elements[s].texts;
    for (let i = 0; i < list.length; i += CHUNK) lines.push(`add element ${T} ${s} { ${list.slice(i, i + CHUNK).join(', ')} }`);
  }
  return lines;
}

/** The whole isolation as one atomic script (applyText). */
export function buildApplyScript(p: ApplyParams): string {
  const t = Math.max(1000, Math.round(p.timeLeftMs));
  const lines = [...prelude(), ...setDecls(), `add element ${T} iso_on { ipv4 timeout ${t}ms, ipv6 timeout ${t}ms }`];
  if (p.rstWindowMs > 0) {
    const w = Math.max(1000, Math.round(p.rstWindowMs));
    lines.push(`add element ${T} iso_rst { ipv4 timeout ${w}ms, ipv6 timeout ${w}ms }`);
  }
  lines.push(...elementLines(p.elements));
  const gate = (c: string): string => `add rule ${T} ${c} meta nfproto != @iso_on return`;
  // input
  lines.push(
    gate('iso_in'),
    `add rule ${T} iso_in iif "lo" accept`,
    `add rule ${T} iso_in ct mark ${MARK} accept`,
    `add rule ${T} iso_in ct mark ${PMARK} accept`,
    `add rule ${T} iso_in jump iso_pin`,
    `add rule ${T} iso_in icmpv6 type ${ND} accept`,
    ...remoteIsSource('iso_in'),
    `add rule ${T} iso_in ct state related meta l4proto { icmp, ipv6-icmp } accept`,
    `add rule ${T} iso_in meta nfproto @iso_on counter name iso_dropped_in drop`,
  );
  // output
  lines.push(
    gate('iso_out'),
    `add rule ${T} iso_out oif "lo" accept`,
    `add rule ${T} iso_out meta nfproto @iso_rst tcp flags & rst == rst accept`,
    `add rule ${T} iso_out ct mark ${MARK} accept`,
    `add rule ${T} iso_out ct mark ${PMARK} accept`,
    `add rule ${T} iso_out jump iso_pout`,
  );
  if (p.agent.kind !== 'none') {
    // Marks the conntrack entry on the first packet the daemon sends, so the replies are accepted too.
    lines.push(`add rule ${T} iso_out meta sk${p.agent.kind} ${p.agent.id} ct mark set ${MARK} accept`);
  }
  lines.push(
    `add rule ${T} iso_out icmpv6 type ${ND} accept`,
    ...remoteIsDestination('iso_out'),
    `add rule ${T} iso_out ct state related meta l4proto { icmp, ipv6-icmp } accept`,
    `add rule ${T} iso_out meta nfproto @iso_on counter name iso_dropped_out drop`,
  );
  // forward (containers, VMs): the same exclusions, whichever side is the remote one
  lines.push(
    gate('iso_fwd'),
    `add rule ${T} iso_fwd ct mark ${MARK} accept`,
    ...remoteIsSource('iso_fwd'),
    ...remoteIsDestination('iso_fwd'),
    `add rule ${T} iso_fwd ct state related meta l4proto { icmp, ipv6-icmp } accept`,
    `add rule ${T} iso_fwd meta nfproto @iso_on counter name iso_dropped_fwd drop`,
  );
  return lines.join('\n') + '\n';
}

/** Lifts isolation: empties the chains and deletes the sets (the counters stay, they are cumulative). */
export function buildLiftScript(): string {
  const lines = [...prelude(), `flush chain ${T} iso_pin`, `flush chain ${T} iso_pout`];
  for (const s of ['iso_on', 'iso_rst', ...ISO_SETS]) {
    lines.push(`add set ${T} ${s} { type nf_proto; }`.replace('type nf_proto;', s.startsWith('iso_x') ? `type ${s.endsWith('4') ? 'ipv4_addr' : 'ipv6_addr'} . inet_proto . inet_service . inet_service; flags interval;` : 'type nf_proto; flags timeout;'), `delete set ${T} ${s}`);
  }
  return lines.join('\n') + '\n';
}

/** Opens (or reopens) the RST window without touching anything else. */
export function buildRstWindowScript(windowMs: number): string {
  const w = Math.max(1000, Math.round(windowMs));
  return `add set ${T} iso_rst { type nf_proto; flags timeout; }\nadd element ${T} iso_rst { ipv4 timeout ${w}ms, ipv6 timeout ${w}ms }\n`;
}

/** The daemon's own cgroup as the process chains need it. */
export interface AgentRules {
  cgroup: CgroupRef;
  /** TCP port of a non-loopback metrics listener: new inbound connections to it are accepted. */
  metricsPort?: number;
}

/** Comment on every process-chain rule: rule id and what was resolved (tamper check, `nft list`). */
export function procComment(ruleId: string, what: string): string {
  return `${ruleId} ${what}`.replace(/"/g, '').slice(0, 120);
}

/**
 * The process exclusion chains iso_pin / iso_pout, as their own atomic batch (loaded before the
 * main isolation batch, so a cgroup that vanished between resolution and load can only fail this
 * batch; the caller re-resolves and retries). A cgroup path is written relative to /sys/fs/cgroup
 * because nft resolves it from there (hybrid hosts mount cgroup2 on /sys/fs/cgroup/unified).
 * Returns the script and the comments the kernel should then hold.
 */
export function buildProcScript(mount: string | undefined, rules: readonly ResolvedProcessRule[], agent: AgentRules | undefined): { script: string; comments: string[] } {
  const lines = [`add table ${T}`, `add chain ${T} iso_pin`, `flush chain ${T} iso_pin`, `add chain ${T} iso_pout`, `flush chain ${T} iso_pout`];
  const comments: string[] = [];
  const add = (chain: string, match: string, mark: string, comment: string): void => {
    comments.push(`${chain} ${comment}`);
    lines.push(`add rule ${T} ${chain} ${match} ct mark set ${mark} accept comment "${comment}"`);
  };
  const cg = (c: CgroupRef): string => `socket cgroupv2 level ${c.level} "${nftCgroupArg(mount ?? '/sys/fs/cgroup', c.path)}"`;
  if (agent) {
    const c = procComment('agent', `cgroup ${agent.cgroup.id}`);
    // Everything the daemon sends; inbound only replies to its own connections (and the metrics port),
    // so the interception listeners are not reachable while isolated.
    add('iso_pout', cg(agent.cgroup), MARK, c);
    add('iso_pin', `ct direction reply ${cg(agent.cgroup)}`, MARK, c);
    if (agent.metricsPort !== undefined) add('iso_pin', `tcp dport ${agent.metricsPort} ${cg(agent.cgroup)}`, MARK, procComment('agent-metrics', `cgroup ${agent.cgroup.id}`));
  }
  for (const r of rules) {
    for (const m of r.matches) {
      if (m.kind === 'cgroup') {
        const c = procComment(r.ruleId, `cgroup ${m.cgroup.id}`);
        if (r.direction === 'both') {
          add('iso_pout', cg(m.cgroup), PMARK, c);
          add('iso_pin', cg(m.cgroup), PMARK, c);
        } else add(r.direction === 'outbound' ? 'iso_pout' : 'iso_pin', `ct direction original ${cg(m.cgroup)}`, PMARK, c);
      } else {
        // Users and groups are outbound only (validated): every packet their sockets send is theirs.
        add('iso_pout', `meta sk${m.kind} ${m.id}`, PMARK, procComment(r.ruleId, `${m.kind} ${m.id}`));
      }
    }
  }
  return { script: lines.join('\n') + '\n', comments: comments.sort() };
}
