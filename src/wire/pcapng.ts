/**
 * Writing pcapng (draft-ietf-opsawg-pcapng), little-endian: a file is one
 * {@link sectionHeader}, one {@link interfaceDescription} (interface 0), then
 * {@link enhancedPacket}s, concatenated. Every block is a multiple of 4 bytes long.
 */

const BLOCK = { section: 0x0a0d0d0a, interface: 1, enhanced: 6 } as const;
const OPTION = { end: 0, comment: 1, name: 2, userappl: 4, tsresol: 9 } as const;

const utf8 = new TextEncoder();
const NONE = new Uint8Array(0);

type Option = readonly [code: number, value: Uint8Array];

/** Bytes needed to pad `n` to a multiple of 4. */
function pad(n: number): number {
  return (4 - (n % 4)) % 4;
}

/**
 * One block: type, total length, the fixed part of the body (`head` then `data`, padded to 4),
 * options (each code, length, value padded to 4), opt_endofopt when `endOfOptions`, then the
 * total length again.
 */
function block(type: number, head: Uint8Array, data: Uint8Array, options: readonly Option[], endOfOptions: boolean): Uint8Array {
  const fixed = head.length + data.length;
  let length = 12 + fixed + pad(fixed) + (endOfOptions ? 4 : 0);
  for (const [, value] of options) length += 4 + value.length + pad(value.length);
  const out = new Uint8Array(length);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, length, true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  let at = 8 + fixed + pad(fixed);
  for (const [code, value] of options) {
    if (value.length > 0xffff) throw new Error(`pcapng option ${code} of ${value.length} bytes is over 65535`);
    v.setUint16(at, code, true);
    v.setUint16(at + 2, value.length, true);
    out.set(value, at + 4);
    at += 4 + value.length + pad(value.length);
  }
  // opt_endofopt is code 0, length 0: the four zero bytes already there.
  v.setUint32(length - 4, length, true);
  return out;
}

/**
 * A Section Header Block: little-endian, version 1.0, section length -1 (unknown), with
 * shb_userappl and opt_comment when given (UTF-8), and opt_endofopt.
 * @throws {Error} when an option is longer than 65535 bytes.
 */
export function sectionHeader(options: { application?: string; comment?: string }): Uint8Array {
  const fixed = new Uint8Array(16);
  const v = new DataView(fixed.buffer);
  v.setUint32(0, 0x1a2b3c4d, true);
  v.setUint16(4, 1, true);
  v.setUint16(6, 0, true);
  v.setBigInt64(8, -1n, true);
  const opts: Option[] = [];
  if (options.application !== undefined) opts.push([OPTION.userappl, utf8.encode(options.application)]);
  if (options.comment !== undefined) opts.push([OPTION.comment, utf8.encode(options.comment)]);
  return block(BLOCK.section, fixed, NONE, opts, true);
}

/**
 * An Interface Description Block for `linkType` (a LINKTYPE_* number), with if_name when given
 * and if_tsresol = 6 (timestamps in microseconds). `snaplen` defaults to 262144 bytes.
 * @throws {Error} when `linkType` is not 0–65535 or `snaplen` not 0–2^32−1.
 */
export function interfaceDescription(linkType: number, options: { name?: string; snaplen?: number } = {}): Uint8Array {
  const snaplen = options.snaplen ?? 262144;
  if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff) throw new Error(`link type must be 0–65535, not ${linkType}`);
  if (!Number.isInteger(snaplen) || snaplen < 0 || snaplen > 0xffffffff) throw new Error(`snaplen must be 0–4294967295, not ${snaplen}`);
  const fixed = new Uint8Array(8);
  const v = new DataView(fixed.buffer);
  v.setUint16(0, linkType, true);
  v.setUint32(4, snaplen, true);
  const opts: Option[] = [];
  if (options.name !== undefined) opts.push([OPTION.name, utf8.encode(options.name)]);
  opts.push([OPTION.tsresol, Uint8Array.of(6)]);
  return block(BLOCK.interface, fixed, NONE, opts, true);
}

/**
 * An Enhanced Packet Block on interface 0: `timeUs` (µs since the epoch) as the 64-bit
 * timestamp, the whole `frame` captured (captured = original length), one opt_comment per
 * comment (UTF-8), and opt_endofopt when any option was written.
 * @throws {Error} when `timeUs` is not an integer from 0 to 2^53−1, or a comment is over 65535 bytes.
 */
export function enhancedPacket(timeUs: number, frame: Uint8Array, options: { comments?: readonly string[] } = {}): Uint8Array {
  if (!Number.isSafeInteger(timeUs) || timeUs < 0) throw new Error(`timeUs must be an integer from 0 to 2^53-1, not ${timeUs}`);
  const head = new Uint8Array(20);
  const v = new DataView(head.buffer);
  v.setUint32(0, 0, true);
  v.setUint32(4, Math.floor(timeUs / 0x1_0000_0000), true);
  v.setUint32(8, timeUs % 0x1_0000_0000, true);
  v.setUint32(12, frame.length, true);
  v.setUint32(16, frame.length, true);
  const opts: Option[] = (options.comments ?? []).map((c) => [OPTION.comment, utf8.encode(c)]);
  return block(BLOCK.enhanced, head, frame, opts, opts.length > 0);
}
