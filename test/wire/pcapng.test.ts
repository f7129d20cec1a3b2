import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CaptureFileParser } from '../../src/wire/pcap.js';
import { enhancedPacket, interfaceDescription, sectionHeader } from '../../src/wire/pcapng.js';
import { concatBytes } from '../helpers/bytes.js';

const cat = concatBytes;

const le32 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
const le16 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset).getUint16(at, true);

/** The options of a block whose fixed body part is `fixed` bytes long, as [code, value] pairs. */
function optionsOf(block: Uint8Array, fixed: number): [number, string][] {
  const out: [number, string][] = [];
  for (let at = 8 + fixed; at < block.length - 4; ) {
    const [code, length] = [le16(block, at), le16(block, at + 2)];
    out.push([code, new TextDecoder().decode(block.subarray(at + 4, at + 4 + length))]);
    at += 4 + length + ((4 - (length % 4)) % 4);
  }
  return out;
}

/** Checks the framing every pcapng block must have, and returns the block's length. */
function expectWellFramed(block: Uint8Array): number {
  expect(block.length % 4).toBe(0);
  expect(le32(block, 4)).toBe(block.length);
  expect(le32(block, block.length - 4)).toBe(block.length);
  return block.length;
}

describe('pcapng writer', () => {
  it('writes a little-endian version 1.0 Section Header Block of unknown length with its options', () => {
    const shb = sectionHeader({ application: 'wirestep 0.1.0', comment: 'ç' });
    expectWellFramed(shb);
    expect([le32(shb, 0), le32(shb, 8), le16(shb, 12), le16(shb, 14), le32(shb, 16), le32(shb, 20)]).toEqual([0x0a0d0d0a, 0x1a2b3c4d, 1, 0, 0xffffffff, 0xffffffff]);
    expect(optionsOf(shb, 16)).toEqual([[4, 'wirestep 0.1.0'], [1, 'ç'], [0, '']]);
    expect(optionsOf(sectionHeader({}), 16)).toEqual([[0, '']]);
  });

  it('writes an Interface Description Block with if_name, if_tsresol 6 and snaplen 262144 by default', () => {
    const idb = interfaceDescription(1, { name: 'lo' });
    expectWellFramed(idb);
    expect([le32(idb, 0), le16(idb, 8), le16(idb, 10), le32(idb, 12)]).toEqual([1, 1, 0, 262144]);
    expect(optionsOf(idb, 8)).toEqual([[2, 'lo'], [9, '\u0006'], [0, '']]);
    expect(le32(interfaceDescription(276, { snaplen: 65535 }), 12)).toBe(65535);
    expect(optionsOf(interfaceDescription(0), 8)).toEqual([[9, '\u0006'], [0, '']]);
  });

  it('writes an Enhanced Packet Block with its data padded to 4 and one comment option per comment', () => {
    const frame = Uint8Array.of(1, 2, 3, 4, 5);
    const epb = enhancedPacket(0x1_2345_6789, frame, { comments: ['file[1].name', 'é'] });
    expectWellFramed(epb);
    expect([le32(epb, 0), le32(epb, 8), le32(epb, 12), le32(epb, 16), le32(epb, 20), le32(epb, 24)]).toEqual([6, 0, 1, 0x2345_6789, 5, 5]);
    expect(Array.from(epb.subarray(28, 36))).toEqual([1, 2, 3, 4, 5, 0, 0, 0]);
    expect(optionsOf(epb, 20 + 8)).toEqual([[1, 'file[1].name'], [1, 'é'], [0, '']]);
    expect(enhancedPacket(0, frame).length).toBe(12 + 20 + 8);
  });

  it('refuses a time that is not a whole number of microseconds from 0 to 2^53 - 1', () => {
    for (const t of [-1, 1.5, 2 ** 53, Number.NaN]) expect(() => enhancedPacket(t, new Uint8Array(0))).toThrow(/timeUs/);
  });

  it('writes files that CaptureFileParser reads back: times, frames of any length, comments skipped', () => {
    const packet = fc.record({
      timeUs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      frame: fc.uint8Array({ maxLength: 70 }),
      comments: fc.array(fc.string({ maxLength: 9 }), { maxLength: 3 }),
    });
    fc.assert(fc.property(fc.array(packet, { maxLength: 6 }), fc.option(fc.string(), { nil: undefined }), fc.nat(), (packets, comment, cut) => {
      const blocks = [sectionHeader({ application: 'wirestep', comment }), interfaceDescription(1, { name: 'eth0' }), ...packets.map((p) => enhancedPacket(p.timeUs, p.frame, p))];
      blocks.forEach(expectWellFramed);
      const file = cat(...blocks);
      const parser = new CaptureFileParser();
      const at = cut % (file.length + 1);
      const read = [...parser.push(file.subarray(0, at)), ...parser.push(file.subarray(at))];
      expect(parser.end()).toEqual({ format: 'pcapng', incompleteBytes: 0 });
      expect(read).toEqual(packets.map((p, i) => ({ frame: i + 1, timeUs: p.timeUs, linkType: 1, data: p.frame, originalLength: p.frame.length })));
    }), { numRuns: 300 });
  });
});
