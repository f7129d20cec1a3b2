import type { CaptureWriter, Side } from '../capture/index.js';
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

  constructor(writer: CaptureWriter | null, side: Side) {
    this.#writer = writer;
    this.side = side;
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
   * One write (sender) or read (receiver) of `bytes`. Returns false when the capture's
   * buffers are full and the caller should await {@link Recorder.drain} before moving more.
   */
  data(bytes: Uint8Array): boolean {
    const at = this.offset;
    this.offset += bytes.length;
    if (!this.#writer) return true;
    return this.#writer.record(this.side, this.side === 'sender' ? 'write' : 'read', at, bytes.length, bytes);
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
