import { CALL_FLAGS, type CallNote, type CaptureWriter, NODE_READ_SIZE, type Side } from '../capture/index.js';
import type { Reason } from '../protocol/index.js';

/**
 * Logs every socket event of one side into a capture: connect or accept, each write or read
 * with its stream offset and length, end, close and errors. A recorder without a writer
 * (`--no-capture`) only counts bytes.
 */
export class Recorder {
  readonly side: Side;
  readonly #writer: CaptureWriter | null;
  /** Stream bytes this side has moved so far. */
  offset = 0;
  /**
   * The call note of a data event, filled anew for each: the writer encodes it at once and keeps
   * nothing, so a million writes need not make a million objects for the collector.
   */
  readonly #call: { name: CallNote['name']; asked: number; flags: number };

  constructor(writer: CaptureWriter | null, side: Side) {
    this.#writer = writer;
    this.side = side;
    this.#call = side === 'sender' ? { name: 'socket.write', asked: 0, flags: 0 } : { name: 'socket.read', asked: NODE_READ_SIZE, flags: 0 };
    writer?.setProgram(side, { name: side === 'sender' ? 'wirestep send' : 'wirestep receive', via: 'wirestep' });
  }

  /** The capture being written, if any. */
  get writer(): CaptureWriter | null {
    return this.#writer;
  }

  /** The connection is up: `connect` for the sender, `accept` for the receiver. */
  opened(): void {
    this.#writer?.record(this.side, this.side === 'sender' ? 'connect' : 'accept', this.offset, 0);
  }

  /**
   * One write (sender: a `socket.write()`, which asks for what it moves) or read (receiver:
   * Node's read into a {@link NODE_READ_SIZE}-byte buffer) of `bytes`. Returns false when the
   * capture's buffers are full and the caller should await {@link Recorder.drain} before moving more.
   * `timeUs`: when it happened (microseconds since the capture started), if not now.
   */
  data(bytes: Uint8Array, timeUs?: number): boolean {
    const at = this.offset;
    this.offset += bytes.length;
    const w = this.#writer;
    if (!w) return true;
    const t = timeUs ?? w.nowUs();
    const call = this.#call;
    if (this.side === 'sender') {
      call.asked = bytes.length;
      return w.recordAt(t, 'sender', 'write', at, bytes.length, bytes, call);
    }
    call.flags = bytes.length < NODE_READ_SIZE ? CALL_FLAGS.short : 0;
    return w.recordAt(t, 'receiver', 'read', at, bytes.length, bytes, call);
  }

  /** Microseconds since the capture started (0 without a capture): the time of a read recorded later. */
  now(): number {
    return this.#writer?.nowUs() ?? 0;
  }

  /** Waits until the capture has taken the bytes given so far. */
  async drain(): Promise<void> {
    await this.#writer?.drain();
  }

  /** The sender ended its side of the stream, or the receiver saw the end of the stream. */
  ended(): void {
    this.#writer?.record(this.side, 'end', this.offset, 0);
  }

  /** The socket is closed. */
  closed(): void {
    this.#writer?.record(this.side, 'close', this.offset, 0);
  }

  /** Something went wrong on this side; `reason` is kept in the capture. */
  error(reason: Reason): void {
    this.#writer?.recordError(this.side, this.offset, reason);
  }
}
