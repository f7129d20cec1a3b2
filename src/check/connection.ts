import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { CaptureWriter, type Endpoint } from '../capture/index.js';
import { Recorder } from '../net/recorder.js';
import { reasonOfError } from '../protocol/index.js';

/** How the server ended a grader's connection, as the grader's socket saw it. */
export type PeerEnd = 'end' | 'reset' | 'open';

/**
 * One connection of the grader to a server under test: each write handed to the system alone
 * (Nagle off, the next write only once the last was taken), every write recorded in a capture
 * when `capturesRoot` is given, and the way the server closed it kept.
 */
export class GraderConnection {
  readonly #socket: net.Socket;
  readonly #recorder: Recorder;
  readonly #writer: CaptureWriter | null;
  readonly #closed: Promise<void>;
  #peer: PeerEnd = 'open';
  #error: Error | null = null;
  #finished = false;
  /** The grader's end of the connection: what the server sees as its client. */
  readonly local: Endpoint;

  private constructor(socket: net.Socket, writer: CaptureWriter | null) {
    this.#socket = socket;
    this.local = { address: socket.localAddress ?? '?', port: socket.localPort ?? 0 };
    this.#writer = writer;
    this.#recorder = new Recorder(writer, 'sender');
    this.#recorder.opened();
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('end', () => {
      if (this.#peer === 'open') this.#peer = 'end';
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.#error ??= err;
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') this.#peer = 'reset';
    });
    // Whatever the server answers is read and dropped: the protocol has no answer.
    socket.resume();
  }

  /**
   * Connects to `host:port` within `limitMs` ms. Throws when nothing accepts the connection (the
   * socket's error: `ECONNREFUSED`, or `ETIMEDOUT` after `limitMs`, e.g. a full accept queue that
   * drops the SYNs). With `capturesRoot`, a capture of what the grader sends is made in that folder
   * (`options` stored in it); when that fails, the connection is closed and the error thrown as is.
   */
  static async open(host: string, port: number, limitMs: number, capturesRoot: string | null, options: Readonly<Record<string, unknown>> = {}): Promise<GraderConnection> {
    const socket = net.connect({ host, port, noDelay: true });
    // A SYN nobody answers is retried by the system for about two minutes: the limit ends it first.
    socket.setTimeout(limitMs, () => socket.destroy(Object.assign(new Error(`no connection to ${host}:${port} within ${limitMs} ms`), { code: 'ETIMEDOUT' })));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.setTimeout(0);
    let writer: CaptureWriter | null = null;
    if (capturesRoot !== null) {
      try {
        writer = await CaptureWriter.create({
          root: capturesRoot,
          sides: ['sender'],
          client: { address: socket.localAddress ?? '?', port: socket.localPort ?? 0 },
          server: { address: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 },
          options,
        });
      } catch (err) {
        socket.destroy();
        throw err;
      }
    }
    return new GraderConnection(socket, writer);
  }

  /** The capture's folder, when one is recorded. */
  get captureDir(): string | null {
    return this.#writer?.dir ?? null;
  }

  /** Bytes written so far. */
  get offset(): number {
    return this.#recorder.offset;
  }

  /** How the server has ended the connection so far. */
  get peer(): PeerEnd {
    return this.#peer;
  }

  /** Whether the socket is closed (both ways). */
  get closed(): boolean {
    return this.#socket.destroyed;
  }

  /**
   * Writes `pieces` one by one, pausing `pauseMs` before each that asks for it, all within
   * `limitMs` ms. Stops without throwing when the server closed the connection; when the server
   * stops reading and the limit passes, destroys the connection. Returns whether everything was written.
   */
  async write(pieces: readonly { piece: Uint8Array; pauseMs: number }[], limitMs: number): Promise<boolean> {
    const ac = new AbortController();
    const late = sleep(limitMs, 'late' as const, { signal: ac.signal }).catch(() => 'aborted' as const);
    try {
      for (const { piece, pauseMs } of pieces) {
        if (pauseMs > 0) await sleep(pauseMs);
        if (this.#socket.destroyed || this.#error || this.#peer !== 'open') return false;
        this.#recorder.data(piece);
        // The callback comes only once the system took the bytes: a server that stops reading would hold it forever.
        const taken = new Promise<boolean>((resolve) => {
          this.#socket.write(piece, (err) => resolve(!err));
        });
        const ok = await Promise.race([taken, late]);
        if (ok === 'late') {
          this.#error ??= Object.assign(new Error(`write not taken within ${limitMs} ms`), { code: 'ETIMEDOUT' });
          this.#socket.destroy();
          return false;
        }
        if (ok !== true) return false;
      }
      return true;
    } finally {
      ac.abort();
    }
  }

  /** Ends the grader's side with a FIN. */
  end(): void {
    if (this.#socket.destroyed) return;
    this.#recorder.ended();
    this.#socket.end();
  }

  /** Ends the connection with a reset (RST) at once. */
  reset(): void {
    if (this.#socket.destroyed) return;
    this.#recorder.error({ kind: 'stopped-after', bytes: this.#recorder.offset });
    this.#socket.resetAndDestroy();
  }

  /** Resolves true once the socket closed, or false after `limitMs`. */
  async waitClosed(limitMs: number): Promise<boolean> {
    const ac = new AbortController();
    const closed = await Promise.race([this.#closed.then(() => true), sleep(limitMs, false, { signal: ac.signal }).catch(() => false)]);
    ac.abort();
    return closed;
  }

  /** Closes the socket if still open and finishes the capture. Safe to call twice. */
  async finish(): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    const complete = this.#peer !== 'reset' && this.#error === null;
    if (!this.#socket.destroyed) this.#socket.destroy();
    await this.#closed;
    if (this.#error) this.#recorder.error(reasonOfError(this.#error));
    this.#recorder.closed();
    await this.#writer?.finish(complete ? 'complete' : 'aborted');
  }
}
