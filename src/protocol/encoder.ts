import { COUNT_LENGTH, MAX_COUNT, MAX_SIZE, NAME_LENGTH, NAME_PAD_BYTE, SIZE_LENGTH } from './format.js';

const utf8 = new TextEncoder();

/** The 4-byte count field: `count` as unsigned big-endian. Throws RangeError outside 0..2^32-1. */
export function encodeCount(count: number): Uint8Array {
  if (!Number.isInteger(count) || count < 0 || count > MAX_COUNT) throw new RangeError(`count out of range: ${count}`);
  const out = new Uint8Array(COUNT_LENGTH);
  new DataView(out.buffer).setUint32(0, count, false);
  return out;
}

/**
 * A name field: the UTF-8 bytes of `name` right-padded with spaces (0x20) to `padTo` bytes,
 * as the reference's `name.encode().ljust(128, b' ')` does. Like the reference it never truncates:
 * a name longer than `padTo` bytes comes out longer, which derails a receiver. `name` may be
 * bytes, to send names that are not valid UTF-8.
 */
export function encodeName(name: string | Uint8Array, padTo: number = NAME_LENGTH): Uint8Array {
  const bytes = typeof name === 'string' ? utf8.encode(name) : name;
  if (bytes.length >= padTo) return bytes.slice();
  const out = new Uint8Array(padTo).fill(NAME_PAD_BYTE);
  out.set(bytes, 0);
  return out;
}

/** The 8-byte size field: unsigned big-endian. Throws RangeError outside 0..2^64-1. */
export function encodeSize(size: bigint | number): Uint8Array {
  const v = BigInt(size);
  if (v < 0n || v > MAX_SIZE) throw new RangeError(`size out of range: ${v}`);
  const out = new Uint8Array(SIZE_LENGTH);
  new DataView(out.buffer).setBigUint64(0, v, false);
  return out;
}

/** UTF-8 length in bytes of a name. */
export function nameByteLength(name: string): number {
  return utf8.encode(name).length;
}

/** A file to encode: its name and contents. */
export interface FileToEncode {
  readonly name: string | Uint8Array;
  readonly data: Uint8Array;
}

/** A whole well-formed stream for `files`, in memory: for tests and small samples. */
export function encodeTransfer(files: readonly FileToEncode[]): Uint8Array {
  const parts: Uint8Array[] = [encodeCount(files.length)];
  for (const f of files) parts.push(encodeName(f.name), encodeSize(f.data.length), f.data);
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
