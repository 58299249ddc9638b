/**
 * Offline capture files: classic pcap (either byte order, micro- or nanosecond timestamps) and
 * pcapng (SHB/IDB/EPB/SPB/OPB blocks, several interfaces, if_tsresol). Read synchronously in
 * large chunks and handed out by offset — no per-packet allocation — which is several times
 * faster than going through libpcap's per-packet callback for `bulwark scan`.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { BulwarkError } from '../../errors.js';
import type { CaptureStats, PacketHandler, PacketSource } from './types.js';

/**
 * Read size. 1 MiB reads cost the same per byte as larger ones; a scan worker (shard/) reads the
 * whole file into its own buffer, and 8 MiB each was 7 MiB of RSS per worker for nothing.
 */
const CHUNK = 1024 * 1024;
const MAX_RECORD = 256 * 1024 * 1024;
/**
 * libpcap's MAXIMUM_SNAPLEN (max_snaplen_for_dlt of every link type decoded here): a classic
 * record longer than this and than the file's own snaplen is corrupt (libpcap: "invalid packet
 * capture length"), not a packet.
 */
const MAX_SNAPLEN = 262_144;

class ChunkReader {
  buf: Buffer = Buffer.allocUnsafe(CHUNK);
  start = 0;
  end = 0;
  eof = false;
  constructor(private readonly fd: number) {}
  /** Makes at least n bytes available at buf[start..]; false at end of file. */
  ensure(n: number): boolean {
    if (this.end - this.start >= n) return true;
    if (this.start > 0) {
      this.buf.copy(this.buf, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (n > this.buf.length) {
      const nb = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
      this.buf.copy(nb, 0, 0, this.end);
      this.buf = nb;
    }
    while (this.end < n && !this.eof) {
      const r = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null);
      if (r === 0) this.eof = true;
      this.end += r;
    }
    return this.end - this.start >= n;
  }
}

export interface PcapFileInfo {
  format: 'pcap' | 'pcapng';
  /** Link type of the first interface. */
  linkType: number;
  /** pcapng blocks skipped because they are too short for their type (or their options overrun them). */
  malformedBlocks: number;
  /**
   * Why reading stopped before the end of the file (a corrupt record or block header: nothing
   * after it can be framed), with its byte offset; null when the whole file was read. The
   * packets before it were all delivered — as libpcap/Suricata, which stop at such a record and
   * keep what they read.
   */
  corrupt: { offset: number; reason: string } | null;
}

/** Smallest valid total length of each pcapng block type read here (header, fixed fields, trailer). */
const NG_MIN_LEN: Record<number, number> = { 0x0a0d0d0a: 28, 1: 20, 2: 32, 3: 16, 6: 32 };

/**
 * Reads every packet of `path` synchronously. Returns the packet count. Throws
 * BULWARK_ERR_CAPTURE for an unreadable file or an unknown format; a truncated last record
 * ends the file quietly (as tcpdump does); a corrupt record or block header mid-file ends the
 * reading there with `info.corrupt` set (the packets before it are delivered: callers report it).
 */
export function readPcapFile(path: string, onPacket: PacketHandler, shouldStop: () => boolean = () => false): { packets: number; info: PcapFileInfo } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new BulwarkError('BULWARK_ERR_CAPTURE', `capture file: cannot open ${path}`, { cause: e });
  }
  try {
    const r = new ChunkReader(fd);
    if (!r.ensure(4)) throw new BulwarkError('BULWARK_ERR_CAPTURE', `capture file: ${path} is empty`);
    const magic = r.buf.readUInt32LE(r.start);
    if (magic === 0x0a0d0d0a) return readPcapng(r, path, onPacket, shouldStop);
    return readClassic(r, path, onPacket, shouldStop);
  } finally {
    closeSync(fd);
  }
}

function readClassic(r: ChunkReader, path: string, onPacket: PacketHandler, shouldStop: () => boolean): { packets: number; info: PcapFileInfo } {
  if (!r.ensure(24)) throw new BulwarkError('BULWARK_ERR_CAPTURE', `capture file: ${path}: truncated header`);
  const m = r.buf.readUInt32LE(r.start);
  let le: boolean;
  let nano: boolean;
  if (m === 0xa1b2c3d4) [le, nano] = [true, false];
  else if (m === 0xa1b23c4d) [le, nano] = [true, true];
  else if (m === 0xd4c3b2a1) [le, nano] = [false, false];
  else if (m === 0x4d3cb2a1) [le, nano] = [false, true];
  else throw new BulwarkError('BULWARK_ERR_CAPTURE', `capture file: ${path}: not a pcap or pcapng file`);
  const linkType = (le ? r.buf.readUInt32LE(r.start + 20) : r.buf.readUInt32BE(r.start + 20)) & 0x0fffffff;
  const snaplen = le ? r.buf.readUInt32LE(r.start + 16) : r.buf.readUInt32BE(r.start + 16);
  const maxCaplen = Math.max(MAX_SNAPLEN, Math.min(snaplen, MAX_RECORD));
  r.start += 24;
  let fileOffset = 24;
  let packets = 0;
  let corrupt: PcapFileInfo['corrupt'] = null;
  const div = nano ? 1000 : 1;
  while (r.ensure(16)) {
    const b = r.buf;
    const s = r.start;
    const sec = le ? b.readUInt32LE(s) : b.readUInt32BE(s);
    const frac = le ? b.readUInt32LE(s + 4) : b.readUInt32BE(s + 4);
    const caplen = le ? b.readUInt32LE(s + 8) : b.readUInt32BE(s + 8);
    if (caplen > maxCaplen) {
      // libpcap stops here ("invalid packet capture length") and Suricata ends the file with what it read.
      corrupt = { offset: fileOffset, reason: `corrupt record ${packets + 1} (caplen ${caplen}, over the maximum ${maxCaplen})` };
      break;
    }
    if (!r.ensure(16 + caplen)) break;
    const tsUs = sec * 1e6 + Math.floor(frac / div);
    onPacket(r.buf, caplen, linkType, tsUs, r.start + 16);
    r.start += 16 + caplen;
    fileOffset += 16 + caplen;
    packets++;
    if ((packets & 1023) === 0 && shouldStop()) break;
  }
  return { packets, info: { format: 'pcap', linkType, malformedBlocks: 0, corrupt } };
}

interface NgInterface {
  linkType: number;
  /** Timestamp units per second. */
  unitsPerSec: number;
}

function readPcapng(r: ChunkReader, path: string, onPacket: PacketHandler, shouldStop: () => boolean): { packets: number; info: PcapFileInfo } {
  let le = true;
  let ifaces: NgInterface[] = [];
  let packets = 0;
  let firstLink = -1;
  let malformed = 0;
  let fileOffset = 0;
  let corrupt: PcapFileInfo['corrupt'] = null;
  while (r.ensure(12)) {
    let type = le ? r.buf.readUInt32LE(r.start) : r.buf.readUInt32BE(r.start);
    if (type === 0x0a0d0d0a) {
      const bom = r.buf.readUInt32LE(r.start + 8);
      if (bom === 0x1a2b3c4d) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else if (fileOffset === 0) throw new BulwarkError('BULWARK_ERR_CAPTURE', `capture file: ${path}: bad pcapng byte-order magic`);
      else {
        corrupt = { offset: fileOffset, reason: 'bad pcapng byte-order magic' };
        break;
      }
      type = 0x0a0d0d0a;
      ifaces = [];
    }
    const len = le ? r.buf.readUInt32LE(r.start + 4) : r.buf.readUInt32BE(r.start + 4);
    if (len < 12 || len > MAX_RECORD || len % 4 !== 0) {
      if (fileOffset === 0) throw new BulwarkError('BULWARK_ERR_CAPTURE', `capture file: ${path}: corrupt pcapng block (length ${len})`);
      corrupt = { offset: fileOffset, reason: `corrupt pcapng block (length ${len})` };
      break;
    }
    // ensure() may move the data to the front of the buffer (or to a bigger one): read the
    // block's position only after it, never across it.
    if (!r.ensure(len)) break;
    const b = r.buf;
    const s = r.start;
    const u32 = (o: number): number => (le ? b.readUInt32LE(s + o) : b.readUInt32BE(s + o));
    const u16 = (o: number): number => (le ? b.readUInt16LE(s + o) : b.readUInt16BE(s + o));
    const min = NG_MIN_LEN[type];
    if (min !== undefined && len < min) {
      // A block too short for its own fixed fields (a 12-byte EPB): skip it, never read past it.
      malformed++;
    } else if (type === 1) {
      // Interface Description Block: link type + options (if_tsresol = 9).
      const iface: NgInterface = { linkType: u16(8), unitsPerSec: 1e6 };
      let o = 16;
      while (o + 4 <= len - 4) {
        const code = u16(o);
        const olen = u16(o + 2);
        if (code === 0) break;
        if (o + 4 + olen > len - 4) {
          malformed++;
          break;
        }
        if (code === 9 && olen >= 1) {
          const v = b[s + o + 4]!;
          iface.unitsPerSec = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** (v & 0x7f);
        }
        o += 4 + ((olen + 3) & ~3);
      }
      ifaces.push(iface);
      if (firstLink < 0) firstLink = iface.linkType;
    } else if (type === 6 || type === 2) {
      // Enhanced (6) / obsolete (2) packet block.
      const ifId = type === 6 ? u32(8) : u16(8);
      const iface = ifaces[ifId];
      if (iface !== undefined) {
        const ts = u32(12) * 4294967296 + u32(16);
        const caplen = u32(20);
        if (28 + caplen <= len - 4) {
          const tsUs = iface.unitsPerSec === 1e6 ? ts : Math.floor((ts / iface.unitsPerSec) * 1e6);
          onPacket(b, caplen, iface.linkType, tsUs, s + 28);
          packets++;
        } else malformed++;
      }
    } else if (type === 3) {
      // Simple packet block: no timestamp; interface 0.
      const iface = ifaces[0];
      if (iface !== undefined) {
        const orig = u32(8);
        const caplen = Math.min(orig, len - 16);
        onPacket(b, caplen, iface.linkType, 0, s + 12);
        packets++;
      }
    }
    r.start += len;
    fileOffset += len;
    if ((packets & 1023) === 0 && shouldStop()) break;
  }
  return { packets, info: { format: 'pcapng', linkType: firstLink, malformedBlocks: malformed, corrupt } };
}

/** A capture file as a PacketSource (start() reads the whole file synchronously). */
export class PcapFileSource implements PacketSource {
  private received = 0;
  private stopped = false;
  /** Where and why the last read stopped before the end of the file (see PcapFileInfo.corrupt). */
  corrupt: PcapFileInfo['corrupt'] = null;
  constructor(readonly name: string) {}
  start(onPacket: PacketHandler): void {
    this.stopped = false;
    const { packets, info } = readPcapFile(this.name, onPacket, () => this.stopped);
    this.received += packets;
    this.corrupt = info.corrupt;
  }
  stop(): void {
    this.stopped = true;
  }
  stats(): CaptureStats {
    return { received: this.received, dropped: 0, ifDropped: 0 };
  }
}
