import { type WriteStream, createWriteStream } from 'node:fs';

/**
 * Bytes a file may have waiting for the disk before the connection stops reading: enough for a
 * few writes to go out together, little enough that a slow disk stalls the reading briefly.
 */
const SINK_BUFFER = 1 << 20;

/**
 * A received file on its way to disk. Writes are queued, not awaited one by one: the socket
 * goes on reading while the disk writes, and pieces waiting together go out in one writev.
 * The first write error (disk full, permissions) is kept in {@link FileSink.error}; later
 * writes are dropped, so the caller can end the file and go on with the stream.
 */
export class FileSink {
  readonly #out: WriteStream;
  error: Error | null = null;

  private constructor(out: WriteStream) {
    this.#out = out;
    out.on('error', (err) => {
      this.error ??= err;
    });
  }

  /**
   * Creates `file`, which must not exist, read-only (0444) for everyone but this writer: a saved
   * file may be a capture's payload by hard link, and an edit would change the capture.
   * Throws when it cannot be created.
   */
  static async create(file: string): Promise<FileSink> {
    const out = createWriteStream(file, { flags: 'wx', mode: 0o444, highWaterMark: SINK_BUFFER });
    await new Promise<void>((resolve, reject) => {
      const ready = (): void => {
        out.off('error', fail);
        resolve();
      };
      const fail = (err: Error): void => {
        out.off('ready', ready);
        reject(err);
      };
      out.once('ready', ready).once('error', fail);
    });
    return new FileSink(out);
  }

  /**
   * Queues `data`, which must not change afterwards. Returns a promise only when the queue is
   * full: awaiting it lets the disk catch up (it also resolves when writing failed).
   */
  write(data: Uint8Array): Promise<void> | undefined {
    if (this.error || this.#out.destroyed) return undefined;
    if (this.#out.write(data)) return undefined;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.#out.off('drain', done).off('close', done);
        resolve();
      };
      this.#out.on('drain', done).on('close', done);
    });
  }

  /** Bytes the disk has taken so far. */
  get bytesWritten(): number {
    return this.#out.bytesWritten;
  }

  /** Writes what is queued and closes the file. Throws the first write or close error. */
  async close(): Promise<void> {
    const out = this.#out;
    if (!out.closed) {
      const closed = whenClosed(out);
      if (!out.destroyed) out.end();
      await closed;
    }
    if (this.error) throw this.error;
  }

  /** Closes the file now, dropping what is queued. */
  async discard(): Promise<void> {
    const out = this.#out;
    if (out.closed) return;
    const closed = whenClosed(out);
    out.destroy();
    await closed;
  }
}

/** Resolves when `out` has closed, whether or not it failed on the way. */
function whenClosed(out: WriteStream): Promise<void> {
  return new Promise((resolve) => out.once('close', () => resolve()));
}
