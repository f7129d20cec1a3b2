import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CaptureFileError, CaptureFileParser } from '../../src/wire/pcap.js';
import type { RawPacket } from '../../src/wire/types.js';
import { concatBytes, sliceAt } from '../helpers/bytes.js';

const cat = concatBytes;

/** Bytes written field by field in one byte order. */
class Bytes {
  readonly #parts: number[] = [];
  constructor(readonly little: boolean) {}
  u8(...values: number[]): this {
    this.#parts.push(...values);
    return this;
  }
  u16(n: number): this {
    const b = [n >> 8, n & 0xff];
    return this.u8(...(this.little ? b.reverse() : b));
  }
  u32(n: number): this {
    const b = [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
    return this.u8(...(this.little ? b.reverse() : b));
  }
  u64(n: bigint): this {
    const [hi, lo] = [Number((BigInt.asUintN(64, n) >> 32n) & 0xffffffffn), Number(BigInt.asUintN(64, n) & 0xffffffffn)];
    return this.little ? this.u32(lo).u32(hi) : this.u32(hi).u32(lo);
  }
  /** A pcapng timestamp: high 32 bits then low 32 bits, whatever the byte order. */
  timestamp(ts: bigint): this {
    return this.u32(Number(ts >> 32n)).u32(Number(ts & 0xffffffffn));
  }
  bytes(b: Uint8Array): this {
    return this.u8(...b);
  }
  pad(): this {
    while (this.#parts.length % 4) this.#parts.push(0);
    return this;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.#parts);
  }
}

const frameBytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

function pcapFile(o: { little: boolean; nano: boolean; network?: number }, records: { sec: number; frac: number; data: Uint8Array; orig?: number }[]): Uint8Array {
  const w = new Bytes(o.little).u32(o.nano ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(262144).u32(o.network ?? 1);
  for (const r of records) w.u32(r.sec).u32(r.frac).u32(r.data.length).u32(r.orig ?? r.data.length).bytes(r.data);
  return w.done();
}

/** A pcapng block: type, length, body padded to 4, length. */
function block(little: boolean, type: number, body: Uint8Array, trailer?: number): Uint8Array {
  const padded = body.length + ((4 - (body.length % 4)) % 4);
  const w = new Bytes(little).u32(type).u32(12 + padded).bytes(body).pad();
  return w.u32(trailer ?? 12 + padded).done();
}

function options(little: boolean, opts: [number, Uint8Array][]): Uint8Array {
  const w = new Bytes(little);
  for (const [code, value] of opts) w.u16(code).u16(value.length).bytes(value).pad();
  return opts.length ? w.u16(0).u16(0).done() : w.done();
}

const shb = (little: boolean, major = 1): Uint8Array => block(little, 0x0a0d0d0a, new Bytes(little).u32(0x1a2b3c4d).u16(major).u16(0).u64(-1n).done());
const idb = (little: boolean, linkType: number, opts: [number, Uint8Array][] = [], snaplen = 0): Uint8Array =>
  block(little, 1, cat(new Bytes(little).u16(linkType).u16(0).u32(snaplen).done(), options(little, opts)));
const epb = (little: boolean, iface: number, ts: bigint, data: Uint8Array, orig = data.length, opts: [number, Uint8Array][] = []): Uint8Array =>
  block(little, 6, cat(new Bytes(little).u32(iface).timestamp(ts).u32(data.length).u32(orig).bytes(data).pad().done(), options(little, opts)));
const spb = (little: boolean, data: Uint8Array, orig = data.length): Uint8Array => block(little, 3, new Bytes(little).u32(orig).bytes(data).done());
const pb = (little: boolean, iface: number, ts: bigint, data: Uint8Array): Uint8Array =>
  block(little, 2, new Bytes(little).u16(iface).u16(0).timestamp(ts).u32(data.length).u32(data.length).bytes(data).done());

/** Feeds `bytes` cut at `cuts` (offsets in any order, repeats allowed). */
function read(bytes: Uint8Array, cuts: number[] = []): { packets: RawPacket[]; format: string; incompleteBytes: number } {
  const parser = new CaptureFileParser();
  const packets: RawPacket[] = [];
  for (const piece of sliceAt(bytes, cuts)) packets.push(...parser.push(piece));
  return { packets, ...parser.end() };
}

const byteByByte = (bytes: Uint8Array): ReturnType<typeof read> => read(bytes, Array.from(bytes, (_, i) => i));

function errorOf(f: () => unknown): CaptureFileError {
  try {
    f();
  } catch (e) {
    if (e instanceof CaptureFileError) return e;
    throw e;
  }
  throw new Error('no CaptureFileError thrown');
}

const summary = (p: RawPacket): [number, number, number, number, number] => [p.frame, p.timeUs, p.linkType, p.data.length, p.originalLength];

describe('CaptureFileParser on pcap', () => {
  const records = [
    { sec: 1_700_000_000, frac: 999_999_999, data: frameBytes(60, 1) },
    { sec: 4_294_967_295, frac: 1_999, data: frameBytes(0, 2), orig: 0 },
    { sec: 0, frac: 0, data: frameBytes(33, 3), orig: 1514 },
  ];

  it('reads all four magic numbers, microseconds and nanoseconds (floored) in both byte orders', () => {
    for (const little of [false, true]) {
      const us = read(pcapFile({ little, nano: false }, records.map((r) => ({ ...r, frac: r.frac % 1_000_000 }))));
      expect(us.packets.map(summary)).toEqual([
        [1, 1_700_000_000_999_999, 1, 60, 60],
        [2, 4_294_967_295_001_999, 1, 0, 0],
        [3, 0, 1, 33, 1514],
      ]);
      const ns = read(pcapFile({ little, nano: true }, records));
      expect(ns.packets.map((p) => p.timeUs)).toEqual([1_700_000_000_999_999, 4_294_967_295_000_001, 0]);
      expect(ns.packets[2]!.data).toEqual(frameBytes(33, 3));
      expect([ns.format, ns.incompleteBytes]).toEqual(['pcap', 0]);
    }
  });

  it('takes the link type from the low 16 bits of the header’s network field', () => {
    const { packets } = read(pcapFile({ little: true, nano: false, network: 0x1400_0071 }, records.slice(0, 1)));
    expect(packets[0]!.linkType).toBe(113);
  });

  it('gives the same packets however the file is sliced', () => {
    const file = pcapFile({ little: false, nano: true }, records);
    const whole = read(file);
    expect(byteByByte(file)).toEqual(whole);
    fc.assert(fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
      expect(read(file, cuts)).toEqual(whole);
    }), { numRuns: 200 });
  });

  it('reports the bytes of a last record cut short instead of failing', () => {
    const file = pcapFile({ little: true, nano: false }, records);
    const cut = read(file.subarray(0, file.length - 5));
    expect([cut.packets.length, cut.incompleteBytes]).toEqual([2, 16 + 33 - 5]);
    expect(byteByByte(file.subarray(0, 24 + 16 + 60 + 7)).incompleteBytes).toBe(7);
  });

  it('refuses an empty file, a short one and an unknown magic number, saying where', () => {
    expect(errorOf(() => read(new Uint8Array(0))).message).toBe('the file is empty (at byte 0 of the file)');
    expect(errorOf(() => read(Uint8Array.of(0xd4, 0xc3))).message).toMatch(/too short to be a capture: 2 bytes/);
    expect(errorOf(() => read(pcapFile({ little: true, nano: false }, []).subarray(0, 20))).message).toMatch(/ends inside its pcap file header/);
    expect(errorOf(() => read(new TextEncoder().encode('GET / HTTP/1.1\r\n'))).message).toBe(
      'not a pcap or pcapng file: unknown magic number 0x47455420 (at byte 0 of the file)',
    );
  });

  it('refuses a record longer than 256 MiB at the record’s offset, and keeps refusing', () => {
    const file = cat(pcapFile({ little: false, nano: false }, records.slice(0, 1)), new Bytes(false).u32(0).u32(0).u32(300 * 1024 * 1024).u32(0).done());
    const parser = new CaptureFileParser();
    const error = errorOf(() => parser.push(file));
    expect([error.offset, error.message]).toEqual([100, expect.stringMatching(/record 2 claims 314572800 captured bytes, more than 256 MiB/)]);
    expect(errorOf(() => parser.push(new Uint8Array(1)))).toBe(error);
  });

  it('returns packet data that owns its bytes: reusing the pushed buffer does not change it', () => {
    const file = pcapFile({ little: true, nano: false }, records);
    const parser = new CaptureFileParser();
    const packets = [...parser.push(file.slice(0, 70)), ...parser.push(file.slice(70))];
    file.fill(0);
    expect(packets[0]!.data).toEqual(frameBytes(60, 1));
    expect(packets[2]!.data).toEqual(frameBytes(33, 3));
  });

  it('knows the format once the first four bytes have arrived', () => {
    const parser = new CaptureFileParser();
    parser.push(Uint8Array.of(0xa1, 0xb2, 0x3c));
    expect(parser.format).toBeNull();
    parser.push(Uint8Array.of(0x4d));
    expect(parser.format).toBe('pcap');
  });
});

describe('CaptureFileParser on pcapng', () => {
  const a = frameBytes(54, 10);
  const b = frameBytes(7, 20);
  const te = new TextEncoder();

  it('reads sections in either byte order, resets interfaces per section and numbers frames across them', () => {
    const file = cat(
      shb(true), idb(true, 1), block(true, 4, new Uint8Array(8)), epb(true, 0, 1_700_000_000_000_001n, a),
      shb(false), idb(false, 113), idb(false, 276), epb(false, 1, 5n, b, 99), block(false, 5, new Uint8Array(12)), epb(false, 0, 6n, a),
    );
    const { packets, format, incompleteBytes } = read(file);
    expect(packets.map(summary)).toEqual([
      [1, 1_700_000_000_000_001, 1, 54, 54],
      [2, 5, 276, 7, 99],
      [3, 6, 113, 54, 54],
    ]);
    expect(packets[1]!.data).toEqual(b);
    expect([format, incompleteBytes]).toEqual(['pcapng', 0]);
    expect(byteByByte(file)).toEqual(read(file));
  });

  it('refuses a packet on an interface the section did not describe, even one an earlier section did', () => {
    const file = cat(shb(true), idb(true, 1), idb(true, 1), shb(true), idb(true, 1), epb(true, 1, 0n, a));
    const error = errorOf(() => read(file));
    expect(error.message).toMatch(/packet on interface 1, but this section describes 1 interface\(s\)/);
    expect(error.offset).toBe(file.length - epb(true, 1, 0n, a).length);
  });

  it('converts timestamps with if_tsresol (powers of 10 and of 2) and adds if_tsoffset seconds', () => {
    const ts = 1_700_000_000_123_456_789n;
    const file = cat(
      shb(false),
      idb(false, 1, [[9, Uint8Array.of(9)]]),
      idb(false, 1, [[2, te.encode('eth0')], [9, Uint8Array.of(0x80 | 20)]]),
      idb(false, 1, [[14, new Bytes(false).u64(-10n).done()], [9, Uint8Array.of(3)]]),
      idb(false, 1),
      epb(false, 0, ts, a), epb(false, 1, 3n << 20n, a), epb(false, 1, (1n << 20n) - 1n, a), epb(false, 2, 25_000n, a), epb(false, 3, 42n, a),
    );
    expect(read(file).packets.map((p) => p.timeUs)).toEqual([1_700_000_000_123_456, 3_000_000, 999_999, 15_000_000, 42]);
  });

  it('refuses a timestamp before 1970 or past 2^53 µs, saying where', () => {
    const late = cat(shb(false), idb(false, 1, [[9, Uint8Array.of(0)]]), epb(false, 0, 10_000_000_000_000n, a));
    expect(errorOf(() => read(late)).message).toMatch(/timestamp is out of range/);
    const early = cat(shb(false), idb(false, 1, [[14, new Bytes(false).u64(-100n).done()]]), epb(false, 0, 5n, a));
    const error = errorOf(() => read(early));
    expect(error.message).toMatch(/timestamp is out of range/);
    expect(error.offset).toBe(early.length - epb(false, 0, 5n, a).length);
  });

  it('reads Simple Packet Blocks on interface 0, cut to its snaplen, at the previous packet’s time or 0', () => {
    const file = cat(shb(true), idb(true, 101, [], 40), spb(true, b, 7), idb(true, 1), epb(true, 1, 777n, a), spb(true, a, 1514), spb(true, a.subarray(0, 30)));
    const { packets } = read(file);
    expect(packets.map(summary)).toEqual([
      [1, 0, 101, 7, 7],
      [2, 777, 1, 54, 54],
      [3, 777, 101, 40, 1514],
      [4, 777, 101, 30, 30],
    ]);
    expect(packets[0]!.data).toEqual(b);
    expect(packets[2]!.data).toEqual(a.subarray(0, 40));
  });

  it('reads obsolete Packet Blocks and skips name resolution, statistics, secrets, custom and unknown blocks', () => {
    const file = cat(
      shb(false), block(false, 4, new Uint8Array(4)), idb(false, 1), block(false, 0x0a, new Uint8Array(20)),
      block(false, 0x40000bad, new Uint8Array(9)), pb(false, 0, 1_000_000n, b), block(false, 0x1234, new Uint8Array(0)), block(false, 5, new Uint8Array(20)),
    );
    expect(read(file).packets.map(summary)).toEqual([[1, 1_000_000, 1, 7, 7]]);
  });

  it('skips packet options, however long', () => {
    const file = cat(shb(true), idb(true, 1), epb(true, 0, 1n, b, 7, [[1, te.encode('a comment of 22 bytes.')], [2, Uint8Array.of(1, 0, 0, 0)]]), epb(true, 0, 2n, a));
    expect(read(file).packets.map(summary)).toEqual([[1, 1, 1, 7, 7], [2, 2, 1, 54, 54]]);
  });

  it('gives the same packets however the file is sliced', () => {
    const file = cat(shb(false), idb(false, 1), epb(false, 0, 10n, a), shb(true), idb(true, 0), spb(true, b), epb(true, 0, 11n, frameBytes(301, 4)));
    const whole = read(file);
    fc.assert(fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
      expect(read(file, cuts)).toEqual(whole);
    }), { numRuns: 200 });
  });

  it('reports the bytes of a last block cut short, even inside its first 12 bytes', () => {
    const file = cat(shb(true), idb(true, 1), epb(true, 0, 1n, a), epb(true, 0, 2n, b));
    for (const missing of [1, 20, 28]) {
      const r = read(file.subarray(0, file.length - missing));
      expect([r.packets.length, r.incompleteBytes]).toEqual([1, 40 - missing]);
    }
  });

  it('refuses a file that ends inside its first Section Header Block', () => {
    expect(errorOf(() => byteByByte(shb(true).subarray(0, 27))).message).toMatch(/ends inside its pcapng Section Header Block: 27 bytes/);
  });

  it('refuses impossible block lengths, a trailer that disagrees and a bad byte-order magic, saying where', () => {
    const head = cat(shb(true), idb(true, 1));
    const withLength = (length: number): Uint8Array => cat(head, new Bytes(true).u32(6).u32(length).u32(0).done());
    expect(errorOf(() => read(withLength(8))).message).toBe('impossible pcapng block length 8 (a multiple of 4, from 12 to 256 MiB) (at byte 48 of the file)');
    expect(errorOf(() => read(withLength(14))).offset).toBe(48);
    expect(errorOf(() => read(withLength(0x7fff_fff0))).offset).toBe(48);
    expect(errorOf(() => read(cat(head, block(true, 6, new Uint8Array(20), 36)))).message).toMatch(/block length 32 at its start but 36 at its end/);
    const badMagic = shb(true);
    badMagic[8] = 0;
    expect(errorOf(() => read(badMagic)).message).toMatch(/bad pcapng byte-order magic 0x003c2b1a \(at byte 8/);
    expect(errorOf(() => read(shb(false, 2))).message).toMatch(/pcapng version 2.x is not supported/);
  });

  it('refuses an Enhanced Packet Block whose captured length overruns the block', () => {
    const epbLie = block(true, 6, new Bytes(true).u32(0).timestamp(0n).u32(100).u32(100).bytes(b).done());
    expect(errorOf(() => read(cat(shb(true), idb(true, 1), epbLie))).message).toMatch(/claims 100 captured bytes but holds at most 8/);
  });
});
