import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LINK_TYPES, decodeTcp, encodeTcpFrame, linkTypeName } from '../../src/wire/frames.js';
import type { RawPacket, TcpSegment } from '../../src/wire/types.js';
import { concatBytes } from '../helpers/bytes.js';

const te = new TextEncoder();

const cat = concatBytes;

const be16 = (n: number): number[] => [n >> 8, n & 0xff];
const be32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const le32 = (n: number): number[] => be32(n).reverse();

/** A TCP header (checksum left 0: the decoder does not check it) with `options` padded by the caller. */
function tcpHeader(o: { sport?: number; dport?: number; seq?: number; ack?: number; flags?: number; window?: number; options?: number[] } = {}): Uint8Array {
  const options = o.options ?? [];
  return cat(be16(o.sport ?? 40000), be16(o.dport ?? 8181), be32(o.seq ?? 1000), be32(o.ack ?? 2000), [((20 + options.length) / 4) << 4, o.flags ?? 0x18], be16(o.window ?? 512), [0, 0, 0, 0], options);
}

/** An IPv4 header for `payloadLength` bytes after it; `options` must be a multiple of 4 bytes. */
function ipv4Header(payloadLength: number, o: { proto?: number; fragment?: number; options?: number[]; total?: number } = {}): Uint8Array {
  const options = o.options ?? [];
  const ihl = 5 + options.length / 4;
  const total = o.total ?? ihl * 4 + payloadLength;
  return cat([0x40 | ihl, 0], be16(total), be16(7), be16(o.fragment ?? 0x4000), [64, o.proto ?? 6, 0, 0], [10, 0, 0, 1], [10, 0, 0, 2], options);
}

function ipv6Header(payloadLength: number, next: number, src: number[] = [], dst: number[] = []): Uint8Array {
  const addr = (a: number[]): number[] => a.flatMap(be16).concat(Array(16 - 2 * a.length).fill(0));
  return cat([0x60, 0, 0, 0], be16(payloadLength), [next, 64], addr(src), addr(dst));
}

const ipv4Tcp = (payload = te.encode('hello')): Uint8Array => {
  const tcp = cat(tcpHeader(), payload);
  return cat(ipv4Header(tcp.length), tcp);
};

const ethernet = (type: number, body: Uint8Array): Uint8Array => cat([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], be16(type), body);

function packet(linkType: number, data: Uint8Array, originalLength = data.length): RawPacket {
  return { frame: 3, timeUs: 1_700_000_000_000_123, linkType, data, originalLength };
}

function segment(result: ReturnType<typeof decodeTcp>): TcpSegment {
  if ('skipped' in result) throw new Error(`skipped: ${result.skipped}`);
  return result;
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('decodeTcp', () => {
  it('decodes every field of an Ethernet IPv4 TCP frame', () => {
    const tcp = cat(tcpHeader({ sport: 51000, dport: 8181, seq: 0xfffffffe, ack: 0x80000001, flags: 0x19, window: 65535 }), te.encode('abc'));
    const s = segment(decodeTcp(packet(LINK_TYPES.ethernet, ethernet(0x0800, cat(ipv4Header(tcp.length), tcp)))));
    expect(s).toEqual({
      frame: 3,
      timeUs: 1_700_000_000_000_123,
      src: { address: '10.0.0.1', port: 51000 },
      dst: { address: '10.0.0.2', port: 8181 },
      seq: 0xfffffffe,
      ack: 0x80000001,
      flags: 0x19,
      window: 65535,
      payload: te.encode('abc'),
      cut: 0,
    });
  });

  it('steps over any number of 802.1ad and 802.1Q VLAN tags', () => {
    const frame = ethernet(0x88a8, cat(be16(100), be16(0x8100), be16(200), be16(0x0800), ipv4Tcp()));
    expect(text(segment(decodeTcp(packet(LINK_TYPES.ethernet, frame))).payload)).toBe('hello');
  });

  it('reads Linux cooked SLL (protocol at byte 14) and SLL2 (protocol at byte 0)', () => {
    const sll = cat(be16(4), be16(1), be16(6), [2, 0, 0, 0, 0, 1, 0, 0], be16(0x0800), ipv4Tcp());
    const sll2 = cat(be16(0x0800), be16(0), be32(1), be16(1), [4, 6], [2, 0, 0, 0, 0, 1, 0, 0], ipv4Tcp());
    expect(text(segment(decodeTcp(packet(LINK_TYPES.linuxSll, sll))).payload)).toBe('hello');
    expect(text(segment(decodeTcp(packet(LINK_TYPES.linuxSll2, sll2))).payload)).toBe('hello');
  });

  it('reads the BSD loopback family in either byte order, and OpenBSD loopback only in network order', () => {
    const tcp = tcpHeader();
    const v6 = cat(ipv6Header(tcp.length, 6, [0, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 1]), tcp);
    for (const family of [le32(2), be32(2)]) {
      expect(segment(decodeTcp(packet(LINK_TYPES.null, cat(family, ipv4Tcp())))).src.address).toBe('10.0.0.1');
    }
    for (const family of [le32(24), le32(28), le32(30), be32(24), be32(28), be32(30)]) {
      expect(segment(decodeTcp(packet(LINK_TYPES.null, cat(family, v6)))).src.address).toBe('::1');
    }
    expect(segment(decodeTcp(packet(LINK_TYPES.loop, cat(be32(2), ipv4Tcp())))).dst.port).toBe(8181);
    expect(decodeTcp(packet(LINK_TYPES.loop, cat(le32(2), ipv4Tcp())))).toEqual({ skipped: 'not IP' });
    expect(decodeTcp(packet(LINK_TYPES.null, cat(le32(17), ipv4Tcp())))).toEqual({ skipped: 'not IP' });
  });

  it('reads raw IP by its version nibble (101) or by link type (228, 229)', () => {
    const tcp = tcpHeader();
    const v6 = cat(ipv6Header(tcp.length, 6, [0x2001, 0xdb8], [0x2001, 0xdb8, 0, 0, 0, 0, 0, 2]), tcp);
    expect(segment(decodeTcp(packet(LINK_TYPES.raw, ipv4Tcp()))).src.address).toBe('10.0.0.1');
    expect(segment(decodeTcp(packet(LINK_TYPES.raw, v6))).dst.address).toBe('2001:db8::2');
    expect(segment(decodeTcp(packet(LINK_TYPES.ipv4, ipv4Tcp()))).src.address).toBe('10.0.0.1');
    expect(segment(decodeTcp(packet(LINK_TYPES.ipv6, v6))).src.address).toBe('2001:db8::');
    expect(decodeTcp(packet(LINK_TYPES.raw, Uint8Array.of(0x50, 0, 0, 0)))).toEqual({ skipped: 'not IP' });
    expect(decodeTcp(packet(LINK_TYPES.ipv4, v6))).toEqual({ skipped: 'not IPv4' });
  });

  it('follows IPv6 hop-by-hop, routing and destination options headers to TCP', () => {
    const tcp = cat(tcpHeader({ sport: 443 }), te.encode('six'));
    // Hop-by-hop (8 bytes) → routing (16 bytes, Hdr Ext Len 1) → destination options (8 bytes) → TCP.
    const ext = cat([43, 0, 1, 4, 0, 0, 0, 0], [60, 1, 0, 0], Array(12).fill(0), [6, 0, 1, 4, 0, 0, 0, 0]);
    const frame = ethernet(0x86dd, cat(ipv6Header(ext.length + tcp.length, 0, [0xfe80, 0, 0, 0, 1], [0xfe80]), ext, tcp));
    const s = segment(decodeTcp(packet(LINK_TYPES.ethernet, frame)));
    expect([s.src, text(s.payload)]).toEqual([{ address: 'fe80::1:0:0:0', port: 443 }, 'six']);
  });

  it('formats IPv6 addresses as RFC 5952 says: lowercase, longest zero run as ::, the first on ties, never a single group', () => {
    const cases: [number[], string][] = [
      [[0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], '2001:db8::1'],
      [[0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], '2001:db8:0:1:1:1:1:1'],
      [[0x2001, 0, 0, 1, 0, 0, 0, 1], '2001:0:0:1::1'],
      [[0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], '2001:db8::1:0:0:1'],
      [[0, 0, 0, 0, 0, 0, 0, 0], '::'],
      [[0, 0, 0, 0, 0, 0, 0, 1], '::1'],
      [[0xabcd, 0xef01, 0x2345, 0x6789, 0xabcd, 0xef01, 0x2345, 0x6789], 'abcd:ef01:2345:6789:abcd:ef01:2345:6789'],
    ];
    const tcp = tcpHeader();
    const got = cases.map(([groups]) => segment(decodeTcp(packet(LINK_TYPES.ipv6, cat(ipv6Header(tcp.length, 6, groups), tcp)))).src.address);
    expect(got).toEqual(cases.map(([, want]) => want));
  });

  it('skips IPv6 fragments and IPv6 packets that are not TCP', () => {
    const tcp = tcpHeader();
    const fragment = cat(ipv6Header(8 + tcp.length, 0), [44, 0, 0, 0, 0, 0, 0, 0], [6, 0, 0, 1, 0, 0, 0, 9], tcp);
    expect(decodeTcp(packet(LINK_TYPES.ipv6, fragment))).toEqual({ skipped: 'IPv6 fragment' });
    expect(decodeTcp(packet(LINK_TYPES.ipv6, cat(ipv6Header(8, 17), Array(8).fill(0))))).toEqual({ skipped: 'not TCP' });
  });

  it('reads the IPv4 header length from IHL and trims Ethernet padding by the total length', () => {
    const tcp = cat(tcpHeader(), te.encode('x'));
    const ip = cat(ipv4Header(tcp.length, { options: [1, 1, 1, 0] }), tcp);
    // 14 + 24 + 20 + 1 = 59 bytes: padded to the 60-byte Ethernet minimum, plus the 4-byte FCS.
    const frame = cat(ethernet(0x0800, ip), [0, 0xde, 0xad, 0xbe, 0xef]);
    const s = segment(decodeTcp(packet(LINK_TYPES.ethernet, frame)));
    expect([text(s.payload), s.cut, s.src.port]).toEqual(['x', 0, 40000]);
  });

  it('counts as cut the payload bytes the IP length announces but the snapshot length dropped', () => {
    const whole = ethernet(0x0800, ipv4Tcp(te.encode('0123456789')));
    const s = segment(decodeTcp(packet(LINK_TYPES.ethernet, whole.subarray(0, whole.length - 4), whole.length)));
    expect([text(s.payload), s.cut]).toEqual(['012345', 4]);
  });

  it('skips a frame cut inside the fixed TCP header, and counts all the payload as cut when the options are cut', () => {
    const tcp = cat(tcpHeader({ seq: 77, options: [2, 4, 5, 0xb4] }), te.encode('data'));
    const whole = ethernet(0x0800, cat(ipv4Header(tcp.length), tcp));
    const cutAt = (n: number): ReturnType<typeof decodeTcp> => decodeTcp(packet(LINK_TYPES.ethernet, whole.subarray(0, 14 + 20 + n), whole.length));
    expect(cutAt(19)).toEqual({ skipped: 'truncated TCP header' });
    for (const n of [20, 22, 24]) {
      const s = segment(cutAt(n));
      expect([s.seq, s.payload.length, s.cut]).toEqual([77, 0, 4]);
    }
    expect(segment(cutAt(25)).cut).toBe(3);
  });

  it('skips IPv4 fragments, first (MF set) and later (offset not 0)', () => {
    const tcp = tcpHeader();
    for (const fragment of [0x2000, 0x0001, 0x4000 | 0x00b9]) {
      expect(decodeTcp(packet(LINK_TYPES.ipv4, cat(ipv4Header(tcp.length, { fragment }), tcp)))).toEqual({ skipped: 'IPv4 fragment' });
    }
  });

  it('skips what is not TCP over IP, saying why', () => {
    expect(decodeTcp(packet(LINK_TYPES.ethernet, ethernet(0x0806, new Uint8Array(28))))).toEqual({ skipped: 'not IP' });
    expect(decodeTcp(packet(LINK_TYPES.ipv4, cat(ipv4Header(8, { proto: 17 }), Array(8).fill(0))))).toEqual({ skipped: 'not TCP' });
    expect(decodeTcp(packet(LINK_TYPES.ethernet, new Uint8Array(10)))).toEqual({ skipped: 'truncated Ethernet header' });
    expect(decodeTcp(packet(LINK_TYPES.ipv4, ipv4Header(0).subarray(0, 19)))).toEqual({ skipped: 'truncated IPv4 header' });
    expect(decodeTcp(packet(147, ipv4Tcp()))).toEqual({ skipped: 'unsupported link type (link type 147)' });
  });

  it('takes an IPv4 total length of 0 (segmentation offload) as the frame’s original length', () => {
    const tcp = cat(tcpHeader(), te.encode('offloaded'));
    const s = segment(decodeTcp(packet(LINK_TYPES.ipv4, cat(ipv4Header(tcp.length, { total: 0 }), tcp))));
    expect(text(s.payload)).toBe('offloaded');
  });

  it('never throws, whatever the bytes and link type', () => {
    const linkTypes = fc.constantFrom(...Object.values(LINK_TYPES), 42);
    const frames = fc.oneof(
      fc.uint8Array({ maxLength: 120 }),
      // Real headers with bytes flipped and the end cut, to reach the deeper branches.
      fc.tuple(fc.nat(), fc.nat(), fc.nat({ max: 255 })).map(([cutAt, at, value]) => {
        const f = ethernet(0x0800, ipv4Tcp()).slice(0, 1 + (cutAt % 80));
        f[at % f.length] = value;
        return f;
      }),
    );
    fc.assert(fc.property(linkTypes, frames, fc.nat({ max: 200 }), (linkType, data, original) => {
      const r = decodeTcp(packet(linkType, data, original));
      // A segment's payload lies inside the frame, and nothing is cut less than nothing.
      if (!('skipped' in r)) {
        expect(r.cut).toBeGreaterThanOrEqual(0);
        expect(r.payload.buffer).toBe(data.buffer);
        expect(r.payload.byteOffset + r.payload.length).toBeLessThanOrEqual(data.byteOffset + data.length);
      }
    }), { numRuns: 500 });
  });
});

describe('linkTypeName', () => {
  it('names the link types decoded and numbers the others', () => {
    expect([0, 1, 101, 108, 113, 228, 229, 276, 147].map(linkTypeName)).toEqual([
      'BSD loopback', 'Ethernet', 'raw IP', 'OpenBSD loopback', 'Linux cooked (SLL)', 'raw IPv4', 'raw IPv6', 'Linux cooked v2 (SLL2)', 'link type 147',
    ]);
  });
});

const u16 = (d: Uint8Array, at: number): number => (d[at]! << 8) | d[at + 1]!;

/** The one's-complement sum of 16-bit words, folded: 0xffff over a header whose checksum is right. */
function onesSum(...parts: Uint8Array[]): number {
  const all = cat(...parts);
  let s = 0;
  for (let i = 0; i < all.length; i += 2) s += (all[i]! << 8) | (all[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

const octet = fc.integer({ min: 0, max: 255 });
const ipv4Address = fc.tuple(octet, octet, octet, octet).map((a) => a.join('.'));
const frameFields = fc.record({
  src: fc.record({ address: ipv4Address, port: fc.integer({ min: 0, max: 65535 }) }),
  dst: fc.record({ address: ipv4Address, port: fc.integer({ min: 0, max: 65535 }) }),
  seq: fc.nat({ max: 0xffffffff }),
  ack: fc.nat({ max: 0xffffffff }),
  flags: fc.nat({ max: 0xff }),
  window: fc.nat({ max: 0xffff }),
  ipId: fc.nat(),
  payload: fc.uint8Array({ maxLength: 1500 }),
  mss: fc.option(fc.nat({ max: 0xffff }), { nil: undefined }),
});

describe('encodeTcpFrame', () => {
  it('round-trips every field through decodeTcp', () => {
    fc.assert(fc.property(frameFields, (f) => {
      const s = segment(decodeTcp(packet(LINK_TYPES.ethernet, encodeTcpFrame(f))));
      expect(s).toEqual({ frame: 3, timeUs: 1_700_000_000_000_123, src: f.src, dst: f.dst, seq: f.seq, ack: f.ack, flags: f.flags, window: f.window, payload: f.payload, cut: 0, ...(f.mss !== undefined && f.flags & 0x02 ? { mss: f.mss } : {}) });
    }), { numRuns: 300 });
  });

  it('writes IPv4 and TCP checksums that verify, and ipId, DF, TTL 64 and the MSS option', () => {
    fc.assert(fc.property(frameFields, (f) => {
      const frame = encodeTcpFrame(f);
      const ip = frame.subarray(14, 34);
      const tcp = frame.subarray(34);
      expect(onesSum(ip)).toBe(0xffff);
      const pseudo = cat(ip.subarray(12, 20), [0, 6], be16(tcp.length));
      expect(onesSum(pseudo, tcp)).toBe(0xffff);
      expect([u16(ip, 2), u16(ip, 4), u16(ip, 6), ip[8]]).toEqual([frame.length - 14, f.ipId & 0xffff, 0x4000, 64]);
      expect(tcp[12]! >> 4).toBe(f.mss === undefined ? 5 : 6);
      if (f.mss !== undefined) expect([tcp[20], tcp[21], u16(tcp, 22)]).toEqual([2, 4, f.mss]);
    }), { numRuns: 300 });
  });

  it('matches byte for byte two frames computed independently (with Python’s struct)', () => {
    const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    const data = encodeTcpFrame({
      src: { address: '10.0.0.1', port: 40000 }, dst: { address: '10.0.0.2', port: 8181 },
      seq: 1000, ack: 2000, flags: 0x18, window: 65535, ipId: 0x1234, payload: te.encode('wirestep'),
    });
    expect(hex(data)).toBe('02000000000202000000000108004500003012344000400614920a0000010a0000029c401ff5000003e8000007d05018ffff112100007769726573746570');
    const syn = encodeTcpFrame({
      src: { address: '192.168.1.10', port: 51234 }, dst: { address: '172.16.0.1', port: 8181 },
      seq: 0xfffffff0, ack: 0, flags: 0x02, window: 64240, ipId: 0x12345, payload: new Uint8Array(0), mss: 1460,
    });
    expect(hex(syn)).toBe('02000000000202000000000108004500002c234540004006a9c3c0a8010aac100001c8221ff5fffffff0000000006002faf047690000020405b4');
  });

  it('uses the MACs given instead of the locally administered defaults', () => {
    const frame = encodeTcpFrame({
      srcMac: Uint8Array.of(1, 2, 3, 4, 5, 6), dstMac: Uint8Array.of(7, 8, 9, 10, 11, 12),
      src: { address: '1.2.3.4', port: 1 }, dst: { address: '5.6.7.8', port: 2 }, seq: 0, ack: 0, flags: 0, window: 0, ipId: 0, payload: new Uint8Array(0),
    });
    expect(Array.from(frame.subarray(0, 12))).toEqual([7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5, 6]);
  });

  it('throws on an address that is not dotted IPv4 and on a payload too long for IPv4', () => {
    const base = { src: { address: '10.0.0.1', port: 1 }, dst: { address: '10.0.0.2', port: 2 }, seq: 0, ack: 0, flags: 0, window: 0, ipId: 0, payload: new Uint8Array(0) };
    for (const address of ['::1', '10.0.0', '10.0.0.256', '010.0.0.1', 'localhost', ' 10.0.0.1']) {
      expect(() => encodeTcpFrame({ ...base, src: { address, port: 1 } })).toThrow(/not a dotted IPv4 address/);
    }
    expect(encodeTcpFrame({ ...base, payload: new Uint8Array(65535 - 40) }).length).toBe(14 + 65535);
    expect(() => encodeTcpFrame({ ...base, payload: new Uint8Array(65535 - 39) })).toThrow(/over 65535/);
    expect(() => encodeTcpFrame({ ...base, payload: new Uint8Array(65535 - 40), mss: 1460 })).toThrow(/over 65535/);
  });
});
