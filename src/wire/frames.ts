/**
 * Frames to TCP segments and back: the link layers capture files hold (Ethernet, Linux cooked,
 * loopback, raw IP), IPv4 and IPv6, and TCP. All header fields are big-endian (network order)
 * except the BSD loopback family, which is in the capturing host's order.
 */
import type { RawPacket, TcpSegment } from './types.js';

/** The LINKTYPE_* numbers this module decodes. */
export const LINK_TYPES = { null: 0, ethernet: 1, raw: 101, loop: 108, linuxSll: 113, ipv4: 228, ipv6: 229, linuxSll2: 276 } as const;

const LINK_TYPE_NAMES: Record<number, string> = {
  [LINK_TYPES.null]: 'BSD loopback',
  [LINK_TYPES.ethernet]: 'Ethernet',
  [LINK_TYPES.raw]: 'raw IP',
  [LINK_TYPES.loop]: 'OpenBSD loopback',
  [LINK_TYPES.linuxSll]: 'Linux cooked (SLL)',
  [LINK_TYPES.ipv4]: 'raw IPv4',
  [LINK_TYPES.ipv6]: 'raw IPv6',
  [LINK_TYPES.linuxSll2]: 'Linux cooked v2 (SLL2)',
};

/** A link type's name for people ("Ethernet", "Linux cooked (SLL)", or "link type N" when unknown). */
export function linkTypeName(linkType: number): string {
  return LINK_TYPE_NAMES[linkType] ?? `link type ${linkType}`;
}

const ETHERTYPE = { ipv4: 0x0800, ipv6: 0x86dd, vlan: 0x8100, qinq: 0x88a8 } as const;
const IPPROTO = { hopByHop: 0, tcp: 6, routing: 43, fragment: 44, destination: 60 } as const;

type Skipped = { readonly skipped: string };
type Network = { readonly version: 4 | 6; readonly at: number } | Skipped;

/**
 * Decodes the TCP segment a captured frame carries. Never throws: frames that are not TCP over
 * IP, fragments, damaged headers and frames cut before the end of the fixed 20-byte TCP header
 * come back as `{ skipped: reason }` with a short English reason.
 *
 * `payload` aliases `packet.data` (no copy). It holds the bytes within the IP length that the
 * capture holds (Ethernet padding excluded); `cut` counts those the IP length announces but the
 * capture lacks.
 */
export function decodeTcp(packet: RawPacket): TcpSegment | Skipped {
  const network = linkLayer(packet);
  if ('skipped' in network) return network;
  const d = packet.data;
  const ip = network.version === 4 ? ipv4(d, network.at, packet.originalLength) : ipv6(d, network.at, packet.originalLength);
  if ('skipped' in ip) return ip;
  const { at, end } = ip;
  // `end` is where the IP length says the payload ends; the capture may stop before it.
  const held = Math.min(end, d.length);
  if (end - at < 20 || held - at < 20) return { skipped: 'truncated TCP header' };
  const headerLength = (d[at + 12]! >> 4) * 4;
  if (headerLength < 20 || at + headerLength > end) return { skipped: 'bad TCP data offset' };
  // A capture cut inside the options still holds every field: all of the payload is then cut.
  const start = Math.min(at + headerLength, held);
  const flags = d[at + 13]!;
  const options = (flags & 0x02) !== 0 ? synOptions(d, at + 20, Math.min(at + headerLength, held)) : {};
  return {
    frame: packet.frame,
    timeUs: packet.timeUs,
    src: { address: ip.src, port: u16(d, at) },
    dst: { address: ip.dst, port: u16(d, at + 2) },
    seq: u32(d, at + 4),
    ack: u32(d, at + 8),
    flags,
    window: u16(d, at + 14),
    payload: d.subarray(start, held),
    cut: end - Math.max(held, at + headerLength),
    ...options,
  };
}

/**
 * The MSS (kind 2, length 4) and window scale (kind 3, length 3) options of a SYN, from `from`
 * to `to`. Stops at end of option list (kind 0) or at a malformed length; never throws.
 */
function synOptions(d: Uint8Array, from: number, to: number): { mss?: number; windowScale?: number } {
  const found: { mss?: number; windowScale?: number } = {};
  let at = from;
  while (at < to) {
    const kind = d[at]!;
    if (kind === 0) break;
    if (kind === 1) {
      at++;
      continue;
    }
    if (at + 1 >= to) break;
    const length = d[at + 1]!;
    if (length < 2 || at + length > to) break;
    if (kind === 2 && length === 4) found.mss = u16(d, at + 2);
    // RFC 7323 §2.3: a shift above 14 is taken as 14.
    if (kind === 3 && length === 3) found.windowScale = Math.min(14, d[at + 2]!);
    at += length;
  }
  return found;
}

function linkLayer(packet: RawPacket): Network {
  const d = packet.data;
  const byEthertype = (type: number, at: number): Network =>
    type === ETHERTYPE.ipv4 ? { version: 4, at } : type === ETHERTYPE.ipv6 ? { version: 6, at } : { skipped: 'not IP' };
  switch (packet.linkType) {
    case LINK_TYPES.ethernet: {
      if (d.length < 14) return { skipped: 'truncated Ethernet header' };
      let at = 12;
      let type = u16(d, at);
      while (type === ETHERTYPE.vlan || type === ETHERTYPE.qinq) {
        // Each VLAN tag is 4 bytes: its TPID (the type just read), then the tag control field.
        at += 4;
        if (d.length < at + 2) return { skipped: 'truncated VLAN tag' };
        type = u16(d, at);
      }
      return byEthertype(type, at + 2);
    }
    case LINK_TYPES.linuxSll:
      return d.length < 16 ? { skipped: 'truncated Linux cooked header' } : byEthertype(u16(d, 14), 16);
    case LINK_TYPES.linuxSll2:
      return d.length < 20 ? { skipped: 'truncated Linux cooked header' } : byEthertype(u16(d, 0), 20);
    case LINK_TYPES.null:
    case LINK_TYPES.loop: {
      if (d.length < 4) return { skipped: 'truncated loopback header' };
      const families = [u32(d, 0)];
      // NULL is in the capturing host's byte order, unknown here: try both. LOOP is network order.
      if (packet.linkType === LINK_TYPES.null) families.push(u32le(d, 0));
      if (families.includes(2)) return { version: 4, at: 4 };
      // AF_INET6 is 24 on NetBSD and OpenBSD, 28 on FreeBSD, 30 on macOS.
      if (families.some((f) => f === 24 || f === 28 || f === 30)) return { version: 6, at: 4 };
      return { skipped: 'not IP' };
    }
    case LINK_TYPES.raw: {
      const version = d.length > 0 ? d[0]! >> 4 : 0;
      return version === 4 || version === 6 ? { version, at: 0 } : { skipped: 'not IP' };
    }
    case LINK_TYPES.ipv4:
      return { version: 4, at: 0 };
    case LINK_TYPES.ipv6:
      return { version: 6, at: 0 };
    default:
      return { skipped: `unsupported link type (${linkTypeName(packet.linkType)})` };
  }
}

type Ip = { readonly src: string; readonly dst: string; readonly at: number; readonly end: number } | Skipped;

/**
 * The IP length when a header says 0: captures taken on the sending host before segmentation
 * offload show 0; the frame's original length is then the only length there is.
 */
function lengthFromFrame(at: number, originalLength: number): number {
  return Math.max(0, originalLength - at);
}

function ipv4(d: Uint8Array, at: number, originalLength: number): Ip {
  if (d.length < at + 20) return { skipped: 'truncated IPv4 header' };
  if (d[at]! >> 4 !== 4) return { skipped: 'not IPv4' };
  const headerLength = (d[at]! & 0x0f) * 4;
  if (headerLength < 20) return { skipped: 'bad IPv4 header length' };
  if (d.length < at + headerLength) return { skipped: 'truncated IPv4 header' };
  const total = u16(d, at + 2) || lengthFromFrame(at, originalLength);
  if (total < headerLength) return { skipped: 'bad IPv4 total length' };
  // Flags and fragment offset: MF is 0x2000, the offset the low 13 bits.
  if (u16(d, at + 6) & 0x3fff) return { skipped: 'IPv4 fragment' };
  if (d[at + 9] !== IPPROTO.tcp) return { skipped: 'not TCP' };
  return { src: d.subarray(at + 12, at + 16).join('.'), dst: d.subarray(at + 16, at + 20).join('.'), at: at + headerLength, end: at + total };
}

function ipv6(d: Uint8Array, at: number, originalLength: number): Ip {
  if (d.length < at + 40) return { skipped: 'truncated IPv6 header' };
  if (d[at]! >> 4 !== 6) return { skipped: 'not IPv6' };
  const end = at + 40 + (u16(d, at + 4) || lengthFromFrame(at + 40, originalLength));
  let next = d[at + 6]!;
  let cur = at + 40;
  while (next === IPPROTO.hopByHop || next === IPPROTO.routing || next === IPPROTO.destination) {
    if (cur + 2 > Math.min(end, d.length)) return { skipped: 'truncated IPv6 extension header' };
    next = d[cur]!;
    // Hdr Ext Len counts 8-byte units after the first 8 bytes.
    cur += (d[cur + 1]! + 1) * 8;
  }
  if (cur > end) return { skipped: 'truncated IPv6 extension header' };
  if (next === IPPROTO.fragment) return { skipped: 'IPv6 fragment' };
  if (next !== IPPROTO.tcp) return { skipped: 'not TCP' };
  return { src: formatIpv6(d.subarray(at + 8, at + 24)), dst: formatIpv6(d.subarray(at + 24, at + 40)), at: cur, end };
}

/** An IPv6 address (16 bytes) in RFC 5952 text: lowercase, the longest run of two or more zero groups as `::`. */
function formatIpv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (g: number[]): string => g.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(groups);
  return `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLength))}`;
}

/**
 * What {@link encodeTcpFrame} builds a frame from: the fields a decoded segment has (addresses
 * in IPv4 dotted form), plus what only a frame carries.
 */
export interface TcpFrameFields extends Pick<TcpSegment, 'src' | 'dst' | 'seq' | 'ack' | 'flags' | 'window' | 'payload'> {
  /** 6 bytes; default 02:00:00:00:00:01 (locally administered). */
  readonly srcMac?: Uint8Array;
  /** 6 bytes; default 02:00:00:00:00:02. */
  readonly dstMac?: Uint8Array;
  /** IPv4 identification; only its low 16 bits are written. */
  readonly ipId: number;
  /** When given, an MSS option (kind 2, length 4) is written: for SYN and SYN-ACK. */
  readonly mss?: number;
}

const DEFAULT_SRC_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 0x01);
const DEFAULT_DST_MAC = Uint8Array.of(0x02, 0, 0, 0, 0, 0x02);

/**
 * Builds an Ethernet II / IPv4 / TCP frame with correct IPv4 and TCP checksums: DF set, TTL 64,
 * no options except MSS when `mss` is given.
 * @throws {Error} (a programmer error) when an address is not dotted IPv4, a MAC is not 6 bytes,
 *   a number is out of its field's range, or the payload makes the IPv4 total length exceed 65535.
 */
export function encodeTcpFrame(f: TcpFrameFields): Uint8Array {
  const src = parseIpv4(f.src.address);
  const dst = parseIpv4(f.dst.address);
  const srcMac = mac(f.srcMac ?? DEFAULT_SRC_MAC, 'srcMac');
  const dstMac = mac(f.dstMac ?? DEFAULT_DST_MAC, 'dstMac');
  checkRange('src.port', f.src.port, 0xffff);
  checkRange('dst.port', f.dst.port, 0xffff);
  checkRange('seq', f.seq, 0xffffffff);
  checkRange('ack', f.ack, 0xffffffff);
  checkRange('flags', f.flags, 0xff);
  checkRange('window', f.window, 0xffff);
  if (f.mss !== undefined) checkRange('mss', f.mss, 0xffff);
  const tcpLength = f.mss === undefined ? 20 : 24;
  const total = 20 + tcpLength + f.payload.length;
  if (total > 0xffff) throw new Error(`payload of ${f.payload.length} bytes makes the IPv4 total length ${total}, over 65535`);

  const frame = new Uint8Array(14 + total);
  const v = new DataView(frame.buffer);
  frame.set(dstMac, 0);
  frame.set(srcMac, 6);
  v.setUint16(12, ETHERTYPE.ipv4);

  const ip = 14;
  v.setUint8(ip, 0x45);
  v.setUint16(ip + 2, total);
  v.setUint16(ip + 4, f.ipId & 0xffff);
  v.setUint16(ip + 6, 0x4000); // DF
  v.setUint8(ip + 8, 64);
  v.setUint8(ip + 9, IPPROTO.tcp);
  frame.set(src, ip + 12);
  frame.set(dst, ip + 16);
  v.setUint16(ip + 10, checksum(frame.subarray(ip, ip + 20), 0));

  const tcp = ip + 20;
  v.setUint16(tcp, f.src.port);
  v.setUint16(tcp + 2, f.dst.port);
  v.setUint32(tcp + 4, f.seq);
  v.setUint32(tcp + 8, f.ack);
  v.setUint8(tcp + 12, (tcpLength / 4) << 4);
  v.setUint8(tcp + 13, f.flags);
  v.setUint16(tcp + 14, f.window);
  if (f.mss !== undefined) {
    v.setUint16(tcp + 20, 0x0204);
    v.setUint16(tcp + 22, f.mss);
  }
  frame.set(f.payload, tcp + tcpLength);
  // The pseudo-header: source, destination, zero, protocol, TCP length.
  const pseudo = sum(src) + sum(dst) + IPPROTO.tcp + tcpLength + f.payload.length;
  v.setUint16(tcp + 16, checksum(frame.subarray(tcp), pseudo));
  return frame;
}

function parseIpv4(address: string): Uint8Array {
  const m = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/.exec(address);
  const parts = m ? m.slice(1).map(Number) : [];
  if (parts.length !== 4 || parts.some((p) => p > 255)) throw new Error(`not a dotted IPv4 address: ${JSON.stringify(address)}`);
  return Uint8Array.from(parts);
}

function mac(bytes: Uint8Array, name: string): Uint8Array {
  if (bytes.length !== 6) throw new Error(`${name} must be 6 bytes, not ${bytes.length}`);
  return bytes;
}

function checkRange(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new Error(`${name} must be an integer from 0 to ${max}, not ${value}`);
}

/** The sum of big-endian 16-bit words (a last odd byte padded with zero), not yet folded. */
function sum(bytes: Uint8Array): number {
  let s = 0;
  const even = bytes.length & ~1;
  for (let i = 0; i < even; i += 2) s += (bytes[i]! << 8) | bytes[i + 1]!;
  if (even < bytes.length) s += bytes[even]! << 8;
  return s;
}

/** The Internet checksum (RFC 1071) of `bytes` plus `initial`: the one's complement of the folded sum. */
function checksum(bytes: Uint8Array, initial: number): number {
  let s = sum(bytes) + initial;
  while (s > 0xffff) s = (s % 0x10000) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

function u16(d: Uint8Array, at: number): number {
  return (d[at]! << 8) | d[at + 1]!;
}

function u32(d: Uint8Array, at: number): number {
  return ((d[at]! << 24) | (d[at + 1]! << 16) | (d[at + 2]! << 8) | d[at + 3]!) >>> 0;
}

function u32le(d: Uint8Array, at: number): number {
  return ((d[at + 3]! << 24) | (d[at + 2]! << 16) | (d[at + 1]! << 8) | d[at]!) >>> 0;
}
