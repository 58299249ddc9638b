/** One TCP connection as the engine tracks it (both directions, handshake evidence, detect state). */
import type { FlowRuleState } from '../../signatures/keywords/state.js';
import type { AppFlow } from '../detect/types.js';
import { DIR, type PacketDirection } from '../capture/types.js';
import type { DecodedPacket } from '../decode/decode.js';
import { DirState } from '../stream/dir-state.js';

/** Flow states (timeouts differ per state). */
export const ST_NEW = 0;
export const ST_EST = 1;
export const ST_CLOSED = 2;

export class Flow {
  serial = 0;
  /** Keyed hash of the 5-tuple (flow/table.ts). */
  key = 0;
  /** Next flow in the same hash bucket. */
  hnext: Flow | null = null;
  /** LRU neighbours (older, newer) in the flow table. */
  lprev: Flow | null = null;
  lnext: Flow | null = null;
  v6 = false;
  cli4 = 0;
  srv4 = 0;
  /** IPv6: client address in [0,16), server address in [16,32). */
  addr6: Uint8Array | null = null;
  cliPort = 0;
  srvPort = 0;
  state = ST_NEW;
  synSeen = false;
  synAckSeen = false;
  handshakeDone = false;
  /** Direction of the client's first SYN (live capture; UNKNOWN offline). */
  cliDir: PacketDirection = DIR.UNKNOWN;
  /** Direction of the SYN/ACK that set the server's sequence base. */
  synAckDir: PacketDirection = DIR.UNKNOWN;
  /** The handshake is evidence about the client (always so offline; live see flow/tcp.ts). */
  handshakeVerified = false;
  midstream = false;
  /**
   * A RST with a TCP MD5 or AO option closed the flow (Suricata's STREAMTCP_STREAM_FLAG_RST_RECV on
   * the receiver): 1 the client sent it, 2 the server, 0 none. Such a RST cannot be validated, so
   * the flow is kept until its sender speaks again (suspected injection: it reopens) or it expires.
   */
  rstSender = 0;
  /**
   * Created by a packet with an invalid TCP checksum while validation is on: the flow exists (for
   * its counters and packet rules) but has no TCP session, as a Suricata flow without protoctx.
   */
  noSession = false;
  /** The state the flow had before that RST. */
  preRstState = ST_NEW;
  synTsMs = 0;
  createdMs = 0;
  lastMs = 0;
  /** Packets and bytes (whole captured frames) each way, as Suricata's flow counters. */
  pktsToServer = 0;
  pktsToClient = 0;
  bytesToServer = 0;
  bytesToClient = 0;
  /** Ruleset generation the detect state was bound to. */
  gen = 0;
  readonly c2s = new DirState();
  readonly s2c = new DirState();
  alerted: Set<number> | null = null;
  /** A pass rule matched the flow (Suricata's flow action pass): its later packets are not inspected. */
  passed = false;
  /** IPS simulation: a drop rule matched the flow (flow action drop): its later packets are not inspected. */
  dropped = false;
  /** flowbits and flowints of the flow (allocated when a rule first touches them). */
  rules: FlowRuleState | null = null;
  /** App-layer state (protocol detection, parser, per-tx alerts) when the ruleset has app-layer signatures. */
  app: AppFlow | null = null;

  get id(): bigint {
    return (BigInt(this.serial) << 20n) | BigInt(this.key % 1048576);
  }
}

export function eq6(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  for (let i = 0; i < 16; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/** The packet belongs to the flow (either direction). */
export function sameFlow(f: Flow, p: DecodedPacket): boolean {
  if (p.ipVersion === 4) {
    if (f.v6) return false;
    return (
      (f.cli4 === p.src4 && f.srv4 === p.dst4 && f.cliPort === p.srcPort && f.srvPort === p.dstPort) ||
      (f.cli4 === p.dst4 && f.srv4 === p.src4 && f.cliPort === p.dstPort && f.srvPort === p.srcPort)
    );
  }
  if (!f.v6) return false;
  if (f.cliPort === p.srcPort && f.srvPort === p.dstPort && eq6(f.addr6!, 0, p.buf, p.src6Offset) && eq6(f.addr6!, 16, p.buf, p.dst6Offset)) {
    return true;
  }
  return f.cliPort === p.dstPort && f.srvPort === p.srcPort && eq6(f.addr6!, 0, p.buf, p.dst6Offset) && eq6(f.addr6!, 16, p.buf, p.src6Offset);
}

/** The packet was sent by the flow's client. */
export function isFromClient(f: Flow, p: DecodedPacket): boolean {
  if (p.srcPort !== f.cliPort) return false;
  if (p.ipVersion === 4) return f.cli4 === p.src4;
  return eq6(f.addr6!, 0, p.buf, p.src6Offset);
}

/** Counters, flowbits and alert memory of a session-less flow (invalid packets only) to the flow that replaces it. */
export function carryCounters(from: Flow, to: Flow): void {
  const same = from.cliPort === to.cliPort && from.srvPort === to.srvPort;
  to.createdMs = from.createdMs;
  to.pktsToServer = same ? from.pktsToServer : from.pktsToClient;
  to.pktsToClient = same ? from.pktsToClient : from.pktsToServer;
  to.bytesToServer = same ? from.bytesToServer : from.bytesToClient;
  to.bytesToClient = same ? from.bytesToClient : from.bytesToServer;
  to.rules = from.rules;
  to.alerted = from.alerted;
  // IP-only rules ran on the first packet of each direction already (Suricata's flow keeps that flag)
  to.c2s.ipOnlyDone = same ? from.c2s.ipOnlyDone : from.s2c.ipOnlyDone;
  to.s2c.ipOnlyDone = same ? from.s2c.ipOnlyDone : from.c2s.ipOnlyDone;
}
