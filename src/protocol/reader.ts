/**
 * A bounded reader over bytes: every read checks its bounds and reports a short read
 * as data (`needed`, `available`), never by throwing, like Kaitai's `EOFError(bytesReq, bytesAvail)`.
 */

/** The result of one bounded read. */
export type ReadResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly needed: number; readonly available: number };

/** Reads fixed-width values from a byte array without ever reading past its end. */
export class BoundedReader {
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** Number of bytes the reader holds. */
  get length(): number {
    return this.#bytes.length;
  }

  /** `n` bytes at `offset` (a view, not a copy). */
  bytes(offset: number, n: number): ReadResult<Uint8Array> {
    const available = Math.max(0, Math.min(n, this.#bytes.length - offset));
    if (offset < 0 || available < n) return { ok: false, needed: n, available };
    return { ok: true, value: this.#bytes.subarray(offset, offset + n) };
  }

  /** Unsigned 32-bit integer, big-endian (network order, struct '!I'). */
  u32be(offset: number): ReadResult<number> {
    const r = this.bytes(offset, 4);
    if (!r.ok) return r;
    const b = r.value;
    // `>>> 0` keeps the top bit from turning the result negative.
    return { ok: true, value: ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0 };
  }

  /** Unsigned 32-bit integer, little-endian: what a reader with the wrong byte order would get. */
  u32le(offset: number): ReadResult<number> {
    const r = this.bytes(offset, 4);
    if (!r.ok) return r;
    const b = r.value;
    return { ok: true, value: ((b[3]! << 24) | (b[2]! << 16) | (b[1]! << 8) | b[0]!) >>> 0 };
  }

  /** Unsigned 64-bit integer, big-endian (struct '!Q'), exact as a bigint. */
  u64be(offset: number): ReadResult<bigint> {
    const r = this.bytes(offset, 8);
    if (!r.ok) return r;
    let v = 0n;
    for (const byte of r.value) v = (v << 8n) | BigInt(byte);
    return { ok: true, value: v };
  }

  /** Unsigned 64-bit integer, little-endian, exact as a bigint. */
  u64le(offset: number): ReadResult<bigint> {
    const r = this.bytes(offset, 8);
    if (!r.ok) return r;
    let v = 0n;
    for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(r.value[i]!);
    return { ok: true, value: v };
  }
}
