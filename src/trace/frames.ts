/**
 * The frames the Python tracer (`python/sitecustomize.py`) writes on its pipe, and an incremental
 * decoder for them. Little-endian: u32 length of what follows, u32 connection, u8 kind,
 * u8 flags, u16 errno, u32 asked, u64 CLOCK_MONOTONIC ns, then the payload (the bytes a data
 * call moved, or JSON).
 */

/** Frame kinds, as the tracer numbers them. */
export const FRAME_KINDS = {
  hello: 1,
  listen: 2,
  connect: 3,
  connect_ex: 4,
  accept: 5,
  send: 10,
  sendall: 11,
  sendto: 12,
  sendfile: 13,
  recv: 14,
  recv_into: 15,
  recvfrom: 16,
  shutdown: 20,
  close: 21,
} as const;
/** The name of a frame kind. */
export type FrameKind = keyof typeof FRAME_KINDS;
const KIND_BY_CODE = new Map<number, FrameKind>(Object.entries(FRAME_KINDS).map(([k, v]) => [v, k as FrameKind]));

/** Frame flag: the call raised (the payload is `{ exception }`) or connect_ex returned an error. */
export const FRAME_EXCEPTION = 4;
/** `asked` when the call gave no size. */
export const FRAME_ASKED_NONE = 0xffff_ffff;

/** One reported call. */
export interface TraceFrame {
  /** The tracer's id of the socket (0 for process-wide frames: hello, listen). */
  readonly conn: number;
  readonly kind: FrameKind;
  readonly flags: number;
  /** The exception's errno, 0 when none. */
  readonly errno: number;
  readonly asked: number;
  /** CLOCK_MONOTONIC nanoseconds when the call returned. */
  readonly timeNs: bigint;
  readonly payload: Uint8Array;
}

const HEADER = 24;
/** Largest frame accepted: one `sendall()` of 1 GiB is one frame. */
const MAX_FRAME = 1 << 30;

/** What is wrong with a trace pipe's bytes (a program wrote on the tracer's fd, say). */
export class TraceFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceFrameError';
  }
}

/**
 * Cuts a pipe's bytes into frames, however they were split. Throws {@link TraceFrameError} on
 * bytes that cannot be a frame (the stream cannot be resynchronised after that).
 */
export class FrameDecoder {
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;

  /** The frames completed by `chunk`, in order. */
  push(chunk: Uint8Array): TraceFrame[] {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    const out: TraceFrame[] = [];
    for (;;) {
      if (this.#pendingBytes < 4) break;
      const head = this.#peek(Math.min(HEADER, this.#pendingBytes));
      const view = new DataView(head.buffer, head.byteOffset, head.length);
      const length = view.getUint32(0, true);
      if (length < HEADER - 4 || length > MAX_FRAME) throw new TraceFrameError(`a trace frame says it is ${length} bytes long`);
      if (this.#pendingBytes < length + 4) break;
      const frame = this.#take(length + 4);
      const f = new DataView(frame.buffer, frame.byteOffset, frame.length);
      const code = f.getUint8(8);
      const kind = KIND_BY_CODE.get(code);
      if (!kind) throw new TraceFrameError(`a trace frame has the unknown kind ${code}`);
      out.push({
        conn: f.getUint32(4, true),
        kind,
        flags: f.getUint8(9),
        errno: f.getUint16(10, true),
        asked: f.getUint32(12, true),
        timeNs: f.getBigUint64(16, true),
        payload: frame.subarray(HEADER),
      });
    }
    return out;
  }

  /** Bytes received that are not a whole frame yet (a cut at the program's end). */
  get leftover(): number {
    return this.#pendingBytes;
  }

  /**
   * The first `n` pending bytes, joined only when they span chunks: then only those `n` are
   * copied, into a buffer of their own that replaces them at the front, so a frame cut by the
   * end of a 64 KiB read costs a copy of one frame, not of the next read.
   */
  #peek(n: number): Uint8Array {
    const first = this.#pending[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const joined = new Uint8Array(n);
    let at = 0;
    let i = 0;
    while (at < n) {
      const piece = this.#pending[i]!;
      const take = Math.min(piece.length, n - at);
      joined.set(take === piece.length ? piece : piece.subarray(0, take), at);
      at += take;
      if (take === piece.length) i++;
      else this.#pending[i] = piece.subarray(take);
    }
    this.#pending.splice(0, i, joined);
    return joined;
  }

  #take(n: number): Uint8Array {
    const first = this.#peek(n);
    const head = this.#pending[0]!;
    this.#pending[0] = head.subarray(n);
    if (this.#pending[0].length === 0) this.#pending.shift();
    this.#pendingBytes -= n;
    return first;
  }
}

/** A frame's JSON payload as an object, or `{}` when it is not one: never throws on a program's bytes. */
export function frameJson(frame: TraceFrame): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(Buffer.from(frame.payload.buffer, frame.payload.byteOffset, frame.payload.length).toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
