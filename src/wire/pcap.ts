/**
 * Reading capture files incrementally: classic pcap (libpcap) and pcapng, as Wireshark writes
 * them. Bytes go in by pieces of any size; frames come out as {@link RawPacket}s.
 */
import type { RawPacket } from './types.js';

/** The largest record or block read, in bytes: anything longer is taken for damage. */
const MAX_RECORD = 256 * 1024 * 1024;

const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const BLOCK = { interface: 1, packet: 2, simple: 3, enhanced: 6 } as const;
const OPTION = { end: 0, tsresol: 9, tsoffset: 14 } as const;

/** The file is not a capture, or is damaged in a way that stops reading. */
export class CaptureFileError extends Error {
  /** Byte offset in the file where the problem is. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset} of the file)`);
    this.name = 'CaptureFileError';
    this.offset = offset;
  }
}

interface Interface {
  readonly linkType: number;
  readonly snaplen: number;
  /** Timestamp units per second. */
  readonly unitsPerSecond: bigint;
  /** if_tsoffset in microseconds. */
  readonly offsetUs: bigint;
}

/** What {@link CaptureFileParser.end} reports about a file read to its end. */
export interface CaptureFileSummary {
  readonly format: 'pcap' | 'pcapng';
  /** Bytes of a last record or block cut short (a capture killed mid-write); 0 normally. */
  readonly incompleteBytes: number;
}

/**
 * Reads a pcap or pcapng file pushed in pieces of any size: every slicing of the same bytes gives
 * the same packets. It holds at most one record or block (the one being completed) besides the
 * piece being read, so files of any size stream through.
 *
 * Packet data is always a copy: it never aliases the pushed bytes or the parser's buffer, so the
 * caller may keep it, and may reuse its own buffer once `push` returns.
 */
export class CaptureFileParser {
  #format: 'pcap' | 'pcapng' | null = null;
  /** Bytes of the file consumed as whole units (header, records, blocks). */
  #consumed = 0;
  /** A unit begun in earlier pieces, copied; `#pendingLength` bytes of it are valid. */
  #pending = new Uint8Array(0);
  #pendingLength = 0;
  #frame = 0;
  #error: CaptureFileError | null = null;

  // pcap state
  #pcapHeaderRead = false;
  #littleEndian = false;
  #nanoseconds = false;
  #pcapLinkType = 0;

  // pcapng state: per section
  #sectionSeen = false;
  #interfaces: Interface[] = [];
  #lastTimeUs = 0;

  /** The file's format, or null until its first four bytes have arrived. */
  get format(): 'pcap' | 'pcapng' | null {
    return this.#format;
  }

  /**
   * Reads the next piece of the file.
   * @returns the packets completed by this piece, in file order.
   * @throws {CaptureFileError} when the bytes are not a capture or are damaged beyond reading;
   *   every later call throws the same error.
   */
  push(bytes: Uint8Array): RawPacket[] {
    if (this.#error) throw this.#error;
    try {
      return this.#push(bytes);
    } catch (e) {
      if (e instanceof CaptureFileError) this.#error = e;
      throw e;
    }
  }

  /**
   * Says the file has ended.
   * @returns the format and how many bytes of a last record or block were cut short.
   * @throws {CaptureFileError} when the file is empty or too short to hold a capture's header.
   */
  end(): CaptureFileSummary {
    if (this.#error) throw this.#error;
    const total = this.#consumed + this.#pendingLength;
    if (this.#format === null) {
      throw new CaptureFileError(total === 0 ? 'the file is empty' : `the file is too short to be a capture: ${total} bytes`, 0);
    }
    if (!this.#headerRead()) {
      const what = this.#format === 'pcap' ? 'pcap file header (24 bytes)' : 'pcapng Section Header Block';
      throw new CaptureFileError(`the file ends inside its ${what}: ${total} bytes`, 0);
    }
    return { format: this.#format, incompleteBytes: this.#pendingLength };
  }

  #headerRead(): boolean {
    return this.#format === 'pcap' ? this.#pcapHeaderRead : this.#sectionSeen;
  }

  #push(bytes: Uint8Array): RawPacket[] {
    const out: RawPacket[] = [];
    let at = 0;
    // First complete the unit begun in earlier pieces, growing the copy only up to what it needs.
    while (this.#pendingLength > 0) {
      const need = this.#sizeOf(this.#pending, 0, this.#pendingLength);
      if (this.#pendingLength === need) {
        this.#unit(this.#pending.subarray(0, need), out);
        this.#pendingLength = 0;
        if (this.#pending.length > 65536) this.#pending = new Uint8Array(0);
        break;
      }
      if (at === bytes.length) return out;
      const take = Math.min(need - this.#pendingLength, bytes.length - at);
      this.#append(bytes.subarray(at, at + take), need);
      at += take;
    }
    while (at < bytes.length) {
      const need = this.#sizeOf(bytes, at, bytes.length - at);
      if (bytes.length - at < need) {
        this.#append(bytes.subarray(at), need);
        break;
      }
      this.#unit(bytes.subarray(at, at + need), out);
      at += need;
    }
    return out;
  }

  #append(piece: Uint8Array, need: number): void {
    if (this.#pending.length < need) {
      const grown = new Uint8Array(need);
      grown.set(this.#pending.subarray(0, this.#pendingLength));
      this.#pending = grown;
    }
    this.#pending.set(piece, this.#pendingLength);
    this.#pendingLength += piece.length;
  }

  /**
   * The size of the unit starting at `at` when its header is among the `available` bytes, else the
   * size of that header: either way, the unit cannot be read with fewer bytes.
   */
  #sizeOf(bytes: Uint8Array, at: number, available: number): number {
    if (this.#format === null) {
      if (available < 4) return 4;
      this.#detect(bytes, at);
    }
    if (this.#format === 'pcap') {
      if (!this.#pcapHeaderRead) return 24;
      if (available < 16) return 16;
      const caplen = view(bytes, at, 16).getUint32(8, this.#littleEndian);
      if (caplen > MAX_RECORD) {
        throw new CaptureFileError(`pcap record ${this.#frame + 1} claims ${caplen} captured bytes, more than 256 MiB`, this.#consumed);
      }
      return 16 + caplen;
    }
    if (available < 12) return 12;
    const v = view(bytes, at, 12);
    let little = this.#littleEndian;
    if (v.getUint32(0) === PCAPNG_SHB) {
      little = sectionByteOrder(v, this.#consumed);
    } else if (!this.#sectionSeen) {
      throw new CaptureFileError('a pcapng file must start with a Section Header Block', this.#consumed);
    }
    const length = v.getUint32(4, little);
    if (length < 12 || length % 4 !== 0 || length > MAX_RECORD) {
      throw new CaptureFileError(`impossible pcapng block length ${length} (a multiple of 4, from 12 to 256 MiB)`, this.#consumed);
    }
    return length;
  }

  #detect(bytes: Uint8Array, at: number): void {
    const magic = view(bytes, at, 4).getUint32(0);
    if (magic === PCAPNG_SHB) {
      this.#format = 'pcapng';
      return;
    }
    const known: Record<number, [little: boolean, nano: boolean]> = {
      0xa1b2c3d4: [false, false],
      0xd4c3b2a1: [true, false],
      0xa1b23c4d: [false, true],
      0x4d3cb2a1: [true, true],
    };
    const k = known[magic];
    if (!k) {
      throw new CaptureFileError(`not a pcap or pcapng file: unknown magic number 0x${magic.toString(16).padStart(8, '0')}`, 0);
    }
    this.#format = 'pcap';
    [this.#littleEndian, this.#nanoseconds] = k;
  }

  /** Reads one whole unit (`bytes` is exactly its size) and counts it as consumed. */
  #unit(bytes: Uint8Array, out: RawPacket[]): void {
    if (this.#format === 'pcap') this.#pcapUnit(bytes, out);
    else this.#block(bytes, out);
    this.#consumed += bytes.length;
  }

  #pcapUnit(bytes: Uint8Array, out: RawPacket[]): void {
    const v = view(bytes, 0, bytes.length);
    const le = this.#littleEndian;
    if (!this.#pcapHeaderRead) {
      // The link type is the low 16 bits of `network`; the high bits can carry FCS information.
      this.#pcapLinkType = v.getUint32(20, le) & 0xffff;
      this.#pcapHeaderRead = true;
      return;
    }
    const seconds = v.getUint32(0, le);
    const fraction = v.getUint32(4, le);
    const timeUs = seconds * 1_000_000 + (this.#nanoseconds ? Math.floor(fraction / 1000) : fraction);
    out.push({
      frame: ++this.#frame,
      timeUs,
      linkType: this.#pcapLinkType,
      data: bytes.slice(16),
      originalLength: v.getUint32(12, le),
    });
  }

  #block(bytes: Uint8Array, out: RawPacket[]): void {
    const offset = this.#consumed;
    const v = view(bytes, 0, bytes.length);
    const type = v.getUint32(0, this.#littleEndian);
    if (type === PCAPNG_SHB) {
      if (bytes.length < 28) throw new CaptureFileError(`pcapng Section Header Block of ${bytes.length} bytes is too short`, offset);
      this.#littleEndian = sectionByteOrder(v, offset);
      const major = v.getUint16(12, this.#littleEndian);
      if (major !== 1) throw new CaptureFileError(`pcapng version ${major}.x is not supported (only 1.x)`, offset);
      this.#sectionSeen = true;
      this.#interfaces = [];
    }
    const le = this.#littleEndian;
    const trailer = v.getUint32(bytes.length - 4, le);
    if (trailer !== bytes.length) {
      throw new CaptureFileError(`pcapng block length ${bytes.length} at its start but ${trailer} at its end`, offset);
    }
    // The body lies between the 8-byte head (type, length) and the 4-byte trailer.
    const body = bytes.subarray(8, bytes.length - 4);
    const b = view(body, 0, body.length);
    const short = (need: number, name: string): void => {
      if (body.length < need) throw new CaptureFileError(`pcapng ${name} of ${bytes.length} bytes is too short`, offset);
    };
    switch (type) {
      case BLOCK.interface: {
        short(8, 'Interface Description Block');
        this.#interfaces.push(describeInterface(b, le));
        return;
      }
      case BLOCK.enhanced:
      case BLOCK.packet: {
        const name = type === BLOCK.enhanced ? 'Enhanced Packet Block' : 'Packet Block';
        short(20, name);
        const id = type === BLOCK.enhanced ? b.getUint32(0, le) : b.getUint16(0, le);
        const iface = this.#interface(id, offset);
        const caplen = b.getUint32(12, le);
        if (caplen > body.length - 20) {
          throw new CaptureFileError(`pcapng ${name} claims ${caplen} captured bytes but holds at most ${body.length - 20}`, offset);
        }
        this.#lastTimeUs = toMicroseconds(b.getUint32(4, le), b.getUint32(8, le), iface, offset);
        this.#emit(out, iface, body.slice(20, 20 + caplen), b.getUint32(16, le));
        return;
      }
      case BLOCK.simple: {
        short(4, 'Simple Packet Block');
        const iface = this.#interface(0, offset);
        const original = b.getUint32(0, le);
        let caplen = Math.min(original, body.length - 4);
        if (iface.snaplen > 0) caplen = Math.min(caplen, iface.snaplen);
        this.#emit(out, iface, body.slice(4, 4 + caplen), original);
        return;
      }
      default:
        return;
    }
  }

  #interface(id: number, offset: number): Interface {
    const iface = this.#interfaces[id];
    if (!iface) {
      throw new CaptureFileError(`packet on interface ${id}, but this section describes ${this.#interfaces.length} interface(s)`, offset);
    }
    return iface;
  }

  #emit(out: RawPacket[], iface: Interface, data: Uint8Array, originalLength: number): void {
    out.push({ frame: ++this.#frame, timeUs: this.#lastTimeUs, linkType: iface.linkType, data, originalLength });
  }
}

/**
 * A pcapng timestamp (high and low 32 bits, in the interface's units) in µs since the epoch.
 * Throws CaptureFileError for a time before 1970 or past 2^53 µs (the year 2255): no capture
 * tool writes those, and no date can show them.
 */
function toMicroseconds(high: number, low: number, iface: Interface, offset: number): number {
  // The common case, µs without offset, is exact in a double while below 2^53.
  if (iface.unitsPerSecond === 1_000_000n && iface.offsetUs === 0n && high < 0x200000) return high * 0x1_0000_0000 + low;
  const ts = (BigInt(high) << 32n) | BigInt(low);
  const us = (ts * 1_000_000n) / iface.unitsPerSecond + iface.offsetUs;
  if (us < 0n || us > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CaptureFileError(`a packet's timestamp is out of range: ${us} µs since 1970 (check if_tsresol and if_tsoffset)`, offset);
  }
  return Number(us);
}

function view(bytes: Uint8Array, at: number, length: number): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset + at, length);
}

/** The byte order of the section whose header block `v` starts: true for little-endian. */
function sectionByteOrder(v: DataView, offset: number): boolean {
  const magic = v.getUint32(8, false);
  if (magic === PCAPNG_BYTE_ORDER_MAGIC) return false;
  if (magic === 0x4d3c2b1a) return true;
  throw new CaptureFileError(`bad pcapng byte-order magic 0x${magic.toString(16).padStart(8, '0')}`, offset + 8);
}

/** An Interface Description Block's body: link type, snaplen, if_tsresol, if_tsoffset. */
function describeInterface(b: DataView, le: boolean): Interface {
  let unitsPerSecond = 1_000_000n;
  let offsetUs = 0n;
  // Options: code (2), length (2), value padded to 4. A damaged list ends the options, not the file.
  for (let at = 8; at + 4 <= b.byteLength; ) {
    const code = b.getUint16(at, le);
    const length = b.getUint16(at + 2, le);
    if (code === OPTION.end || at + 4 + length > b.byteLength) break;
    if (code === OPTION.tsresol && length >= 1) {
      const r = b.getUint8(at + 4);
      unitsPerSecond = r & 0x80 ? 1n << BigInt(r & 0x7f) : 10n ** BigInt(r);
    } else if (code === OPTION.tsoffset && length >= 8) {
      offsetUs = b.getBigInt64(at + 4, le) * 1_000_000n;
    }
    at += 4 + length + ((4 - (length % 4)) % 4);
  }
  return { linkType: b.getUint16(0, le), snaplen: b.getUint32(4, le), unitsPerSecond, offsetUs };
}
