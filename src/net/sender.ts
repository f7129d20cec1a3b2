import { once } from 'node:events';
import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CaptureWriter, type Endpoint, type OutcomeStatus, storedSenderOptions } from '../capture/index.js';
import { NAME_LENGTH, REFERENCE_CHUNK, type Reason, describeReason, encodeCount, encodeName, encodeSize, nameByteLength, reasonOfError } from '../protocol/index.js';
import { Recorder } from './recorder.js';

/** A file to send: the name put on the wire, where its bytes are, how many. */
export interface FileToSend {
  readonly name: string;
  readonly path: string;
  readonly size: number;
}

/**
 * Faults a teacher stages on purpose to show what the lessons describe. Each is stored in the
 * capture's options, so the overview can say the fault was staged.
 */
export interface SendFaults {
  /** Random extra pause of 0 to this many milliseconds before each write. */
  readonly jitterMs?: number;
  /** One write per field, payloads included (up to 64 MiB each). */
  readonly writePerField?: boolean;
  /** Close the connection after this many bytes, mid-stream. */
  readonly stopAfter?: number;
  /** Declare this size for every file, whatever its real size. */
  readonly lieSize?: bigint;
  /** Pad names to this many bytes instead of 128 (and send longer names whole, as the reference does). */
  readonly padNameTo?: number;
  /** Declare this file count instead of the number of files sent. */
  readonly count?: number;
}

/** Options of one transfer. */
export interface SenderOptions extends SendFaults {
  readonly host?: string;
  readonly port?: number;
  readonly files: readonly FileToSend[];
  /** Largest write in bytes; writes never cross a field boundary. Default 1024, as the reference. */
  readonly chunk?: number;
  /** Pause between two writes, in milliseconds. */
  readonly delayMs?: number;
  /** Folder for the sender's capture; `null` records nothing (`--no-capture`). */
  readonly capturesDir: string | null;
  /** Records into a capture made by the caller (the demo); the caller finishes it. */
  readonly recordInto?: CaptureWriter;
  /**
   * Stamps its own capture with the host's CLOCK_MONOTONIC at time 0 (`startNs`), as traced
   * captures are, so that a traced receiver's capture of the same connection can be joined with
   * it into one capture with both sides (`traceServer`, `mergeTraced`).
   */
  readonly joinable?: boolean;
  /** Called after each write with the bytes written so far and the total. */
  readonly onProgress?: (written: number, total: number) => void;
  /** Where `--jitter-ms` draws its pauses from: a number in [0, 1). Default `Math.random`; tests pass a seeded one. */
  readonly random?: () => number;
  /** Copy every payload into the capture (`--capture-copy`) instead of cloning or linking the file sent. */
  readonly captureCopy?: boolean;
  /** Makes a payload's hard link into the capture (default `fs.promises.link`); a test passes one failing with EXDEV. */
  readonly capturePayloadLink?: (existing: string, newPath: string) => Promise<void>;
}

/** What a transfer came to, on the sender's side. */
export interface SendResult {
  readonly status: OutcomeStatus;
  /** Why it ended so, when it did not complete (a staged stop, a socket error…). */
  readonly reason?: Reason;
  /** `reason` in English words. */
  readonly message?: string;
  /** Bytes handed to the socket. */
  readonly bytes: number;
  readonly writes: number;
  readonly captureDir?: string;
}

/** Thrown before connecting when the files cannot be sent as asked. */
export class SendError extends Error {
  override readonly name = 'SendError';
}

/**
 * The files to send for command-line paths: files as given, folders as their regular files
 * (not recursing, as the reference lists one folder), in natural order (2 before 10). Throws SendError for a
 * missing path or a name longer than `nameField` bytes (128 unless a fault pads names otherwise).
 */
export async function listFiles(paths: readonly string[], nameField: number = NAME_LENGTH): Promise<FileToSend[]> {
  const out: FileToSend[] = [];
  for (const p of paths) {
    let st;
    try {
      st = await stat(p);
    } catch {
      throw new SendError(`no such file or folder: ${p}`);
    }
    if (st.isDirectory()) {
      // Regular files, links to them included, as the reference's os.path.isfile() picks them.
      for (const name of (await readdir(p)).sort(byName.compare)) {
        const s = await stat(path.join(p, name)).catch(() => null);
        if (s?.isFile()) out.push({ name, path: path.join(p, name), size: s.size });
      }
    } else if (st.isFile()) {
      out.push({ name: path.basename(p), path: p, size: st.size });
    } else {
      throw new SendError(`not a regular file or folder: ${p}`);
    }
  }
  for (const f of out) {
    const n = nameByteLength(f.name);
    if (n > nameField) {
      throw new SendError(`the name ${JSON.stringify(f.name)} is ${n} bytes of UTF-8; the name field holds ${NAME_LENGTH}, and a longer name would derail the receiver (--pad-name-to stages that on purpose)`);
    }
  }
  return out;
}

/** Total bytes a transfer of `files` puts on the wire, names padded to `padTo` (longer ones sent whole). */
export function transferSize(files: readonly FileToSend[], padTo: number = NAME_LENGTH): number {
  return 4 + files.reduce((n, f) => n + Math.max(padTo, nameByteLength(f.name)) + 8 + f.size, 0);
}

const READ_BLOCK = 1 << 20;
/** Writes a sending socket queues before the sender waits for it to drain. */
const SOCKET_BUFFER = 256 * 1024;
// arquivo_2 before arquivo_10, as a person would list them.
const byName = new Intl.Collator('en', { numeric: true });

/** Where to connect and what to record: what every sending connection shares. */
interface ConnectionOptions {
  readonly host?: string;
  readonly port?: number;
  readonly capturesDir: string | null;
  readonly recordInto?: CaptureWriter;
  readonly joinable?: boolean;
  /** Options stored in the capture. */
  readonly record: Readonly<Record<string, unknown>>;
  readonly captureCopy?: boolean;
  readonly capturePayloadLink?: (existing: string, newPath: string) => Promise<void>;
}

/** What a file sent by link looked like once linked: if it differs after the send, it changed meanwhile. */
type FileStamp = { readonly size: bigint; readonly mtimeNs: bigint; readonly ctimeNs: bigint; readonly ino: bigint };

/** A recorded connection to a receiver, written to with {@link SendingConnection.write}. */
class SendingConnection {
  writes = 0;
  readonly #socket: net.Socket;
  readonly #recorder: Recorder;
  readonly #writer: CaptureWriter | null;
  readonly #ownsCapture: boolean;
  readonly #closed: Promise<void>;
  #error: Error | null = null;
  /** finish() has ended the stream (kept here: the socket's own getter costs a call per write). */
  #ended = false;
  #corked = false;
  readonly #uncork = (): void => {
    this.#corked = false;
    this.#socket.uncork();
  };

  private constructor(socket: net.Socket, closed: Promise<void>, writer: CaptureWriter | null, ownsCapture: boolean) {
    this.#socket = socket;
    this.#closed = closed;
    this.#writer = writer;
    this.#ownsCapture = ownsCapture;
    this.#recorder = new Recorder(writer, 'sender');
    socket.on('error', (err) => {
      this.#error ??= err;
    });
    this.#recorder.opened();
  }

  /** Connects and starts the capture. Throws SendError when nothing answers. */
  static async open(options: ConnectionOptions): Promise<SendingConnection> {
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 8181;
    // Room for a quarter MiB of queued writes: see write() on why writes are gathered.
    // (Node takes this stream option; @types/node does not list it for sockets.)
    const connectOptions: net.TcpNetConnectOpts & { writableHighWaterMark: number } = { host, port, writableHighWaterMark: SOCKET_BUFFER };
    const socket = net.connect(connectOptions);
    let early: Error | null = null;
    socket.on('error', (err) => {
      early ??= err;
    });
    // Not events.once: that rejects on 'error', and nobody may be awaiting it then.
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    try {
      await once(socket, 'connect');
    } catch (err) {
      throw new SendError(`cannot connect to ${host}:${port}: ${(err as Error).message}`);
    }
    const client: Endpoint = { address: socket.localAddress ?? '?', port: socket.localPort ?? 0 };
    const server: Endpoint = { address: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 };
    let writer: CaptureWriter | null;
    try {
      writer = options.recordInto
        ?? (options.capturesDir === null
          ? null
          : await CaptureWriter.create({
            root: options.capturesDir,
            sides: ['sender'],
            client,
            server,
            options: options.record,
            linkPayloads: !options.captureCopy,
            ...(options.capturePayloadLink ? { link: options.capturePayloadLink } : {}),
            // process.hrtime is CLOCK_MONOTONIC on Linux, the clock a traced program's calls carry.
            ...(options.joinable ? { startNs: process.hrtime.bigint() } : {}),
          }));
    } catch (err) {
      socket.destroy();
      throw new SendError(`cannot record a capture in ${options.capturesDir}: ${(err as Error).message}`);
    }
    const conn = new SendingConnection(socket, closed, writer, !options.recordInto);
    conn.#error = early;
    return conn;
  }

  /** Whether the connection is recorded into a capture (not `--no-capture`). */
  get recording(): boolean {
    return this.#writer !== null;
  }

  /** Stream bytes written so far. */
  get offset(): number {
    return this.#recorder.offset;
  }

  /**
   * Puts file `file`'s payload, about to be sent from `f.path`, into the capture by reference: a
   * clone where the file system makes one, else a hard link. Returns the file's stamp once
   * linked (a link changes its ctime), for {@link sealPayload}; null when it is copied as usual.
   */
  async linkPayload(file: number, f: FileToSend): Promise<FileStamp | null> {
    if (!this.#writer || !(await this.#writer.linkPayload('sender', file, f.path, this.offset, f.size, { clone: true }))) return null;
    // A file that cannot be looked at now is marked changed when sealed.
    return stat(f.path, { bigint: true }).catch(() => ({ size: -1n, mtimeNs: -1n, ctimeNs: -1n, ino: -1n }));
  }

  /**
   * Tells the capture the payload is sent. If the file's size, mtime, ctime or inode are not
   * what they were before (it changed while it was sent), the range is marked changed: the
   * capture cannot say which bytes went, and shows them as damaged.
   */
  async sealPayload(file: number, f: FileToSend, before: FileStamp | null): Promise<void> {
    if (!this.#writer) return;
    const after = await stat(f.path, { bigint: true }).catch(() => null);
    const same = before !== null && after !== null && after.size === before.size && after.mtimeNs === before.mtimeNs && after.ctimeNs === before.ctimeNs && after.ino === before.ino;
    await this.#writer.sealPayload(file, { changed: !same }).catch(() => {});
  }

  /**
   * One write of `bytes`, recorded. Returns a promise only when the caller must wait (the socket
   * or the capture is full): a million 1 KiB writes should not cost a million awaits.
   *
   * The writes made in one turn of the event loop are handed to the system together, in one
   * writev call (cork, then uncork on the next tick), as Node does anyway whenever the socket
   * is busy. Each write is still one `socket.write()` of the program, recorded as such; a
   * million system calls for a 1 GiB file cost more than the capture itself. With
   * `--delay-ms` or `--jitter-ms` every write is on its own turn, so it goes alone.
   *
   * `written`, if given, is called once the socket has handed these bytes (and all before them)
   * to the system, or failed to: from then on the socket keeps no reference to them.
   */
  write(bytes: Uint8Array, written?: () => void): Promise<void> | undefined {
    if (this.#error) throw this.#error;
    if (this.#ended || this.#socket.destroyed) throw new ReceiverClosed('the receiver closed the connection');
    const fits = this.#recorder.data(bytes);
    this.writes++;
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(this.#uncork);
    }
    const sent = this.#socket.write(bytes, written);
    if (sent && fits) return undefined;
    return (async () => {
      if (!sent) await Promise.race([once(this.#socket, 'drain'), this.#closed]);
      if (!fits) await this.#recorder.drain();
    })();
  }

  /**
   * Ends the stream (or, after `failure`, drops the connection), records it and finishes the
   * capture it owns. `status` is what the stream came to when nothing failed.
   */
  async finish(failure: Error | null, status: OutcomeStatus = 'complete', reason?: Reason): Promise<SendResult> {
    let outcome: { status: OutcomeStatus; reason?: Reason } = reason === undefined ? { status } : { status, reason };
    this.#ended = true;
    if (!failure) {
      this.#socket.end();
      this.#recorder.ended();
      // The receiver closes once it has read everything; the bytes are in the kernel by now.
      await Promise.race([this.#closed, sleep(10_000, undefined, { ref: false })]);
      failure = this.#error;
    }
    if (failure) {
      const why: Reason = failure instanceof ReceiverClosed ? { kind: 'peer-closed' } : reasonOfError(failure);
      outcome = { status: 'aborted', reason: why };
      this.#recorder.error(why);
      this.#socket.destroy();
    }
    this.#recorder.closed();
    if (this.#writer && this.#ownsCapture) await this.#writer.finish(outcome.status, outcome.reason);
    return {
      ...outcome,
      ...(outcome.reason ? { message: describeReason(outcome.reason, 'en') } : {}),
      bytes: this.#recorder.offset,
      writes: this.writes,
      ...(this.#writer ? { captureDir: this.#writer.dir } : {}),
    };
  }
}

/** Thrown by a write after the receiver closed the connection. */
class ReceiverClosed extends Error {}

/** Thrown inside a transfer when `--stop-after` is reached. */
class StopHere extends Error {}

/**
 * Sends `files` over one connection, recording every write. Throws SendError when it cannot
 * connect or start its capture; any failure after that is in the result, not thrown.
 */
export async function sendFiles(options: SenderOptions): Promise<SendResult> {
  const chunk = options.writePerField ? Number.MAX_SAFE_INTEGER : options.chunk ?? REFERENCE_CHUNK;
  if (!Number.isInteger(chunk) || chunk < 1) throw new SendError(`--chunk must be a whole number of bytes ≥ 1, not ${chunk}`);
  if (options.writePerField) {
    const big = options.files.find((f) => f.size > WHOLE_PAYLOAD_LIMIT);
    if (big) throw new SendError(`--write-per-field sends a payload in one write, up to ${WHOLE_PAYLOAD_LIMIT} bytes; ${big.name} has ${big.size}`);
  }
  const delayMs = options.delayMs ?? 0;
  const jitterMs = options.jitterMs ?? 0;
  const random = options.random ?? Math.random;
  const total = options.stopAfter ?? transferSize(options.files, options.padNameTo ?? NAME_LENGTH);
  const conn = await SendingConnection.open({
    ...options,
    record: storedSenderOptions(options),
  });
  const writeNow = (bytes: Uint8Array, written?: () => void): Promise<void> | undefined => {
    const room = options.stopAfter === undefined ? bytes.length : options.stopAfter - conn.offset;
    if (room < bytes.length) {
      const last = room > 0 ? conn.write(bytes.subarray(0, room)) : undefined;
      return (last ?? Promise.resolve()).then(() => {
        throw new StopHere();
      });
    }
    const wait = conn.write(bytes, written);
    options.onProgress?.(conn.offset, total);
    return wait;
  };
  // A promise only when there is something to wait for: a delay, or a full socket or capture.
  const write = (bytes: Uint8Array, written?: () => void): Promise<void> | undefined => {
    if (conn.writes > 0 && delayMs + jitterMs > 0) {
      return sleep(delayMs + Math.floor(random() * (jitterMs + 1))).then(() => writeNow(bytes, written));
    }
    return writeNow(bytes, written);
  };
  const writeField = async (bytes: Uint8Array): Promise<void> => {
    for (let at = 0; at < bytes.length; at += chunk) {
      const wait = write(bytes.subarray(at, at + chunk));
      if (wait) await wait;
    }
  };
  try {
    await writeField(encodeCount(options.count ?? options.files.length));
    for (const [i, f] of options.files.entries()) {
      await writeField(encodeName(f.name, options.padNameTo ?? NAME_LENGTH));
      await writeField(encodeSize(options.lieSize ?? f.size));
      const stamp = await conn.linkPayload(i + 1, f);
      try {
        // Read blocks can be filled again once the socket is done with them, unless the capture
        // keeps the bytes too (a payload it copies rather than links holds them until written).
        await sendPayload(f, chunk, write, stamp !== null || !conn.recording);
      } finally {
        if (stamp) await conn.sealPayload(i + 1, f, stamp);
      }
    }
    if (options.stopAfter !== undefined && conn.offset < options.stopAfter) throw new StopHere();
    return await conn.finish(null);
  } catch (err) {
    if (err instanceof StopHere) {
      return conn.finish(null, 'truncated', { kind: 'stopped-after', bytes: conn.offset });
    }
    return conn.finish(err as Error);
  }
}

/**
 * Writes `pieces` as they are, one write each, recording them: for streams wirestep's own
 * sender would refuse to make (the samples' malformed and hostile transfers).
 */
export async function sendBytes(options: Omit<ConnectionOptions, 'record'> & { pieces: readonly Uint8Array[]; record?: Readonly<Record<string, unknown>> }): Promise<SendResult> {
  const conn = await SendingConnection.open({ ...options, record: options.record ?? { raw: true } });
  try {
    for (const p of options.pieces) {
      const wait = conn.write(p);
      if (wait) await wait;
    }
    return await conn.finish(null);
  } catch (err) {
    return conn.finish(err as Error);
  }
}

/** Largest payload `--write-per-field` sends in one write. */
const WHOLE_PAYLOAD_LIMIT = 64 * 1024 * 1024;

/** Read blocks a payload keeps for reuse: one being read while another is still in the socket. */
const SPARE_BLOCKS = 2;

/**
 * Sends file `f` in `chunk`-byte writes, read in blocks of about {@link READ_BLOCK}. With
 * `reuse`, a block is read into again once the socket has handed it to the system: reading 1 GiB
 * into fresh memory costs a page fault per 4 KiB, more than the rest of the read.
 */
async function sendPayload(f: FileToSend, chunk: number, write: (b: Uint8Array, written?: () => void) => Promise<void> | undefined, reuse: boolean): Promise<void> {
  if (f.size === 0) return;
  let fh: FileHandle;
  try {
    fh = await open(f.path, 'r');
  } catch (err) {
    throw new Error(`cannot read ${f.path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    // Blocks are a whole number of chunks, so writes keep their size across blocks.
    const block = Math.max(Math.min(chunk, f.size), Math.floor(READ_BLOCK / chunk) * chunk);
    const spare: Buffer[] = [];
    let sent = 0;
    while (sent < f.size) {
      // A Buffer, not a Uint8Array: the socket would wrap every 1 KiB piece of the latter anew.
      const buf = spare.pop() ?? Buffer.allocUnsafe(Math.min(block, f.size));
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, f.size - sent), sent);
      if (bytesRead === 0) throw new Error(`${f.path} shrank while it was being sent (${sent} of ${f.size} bytes)`);
      const data = buf.subarray(0, bytesRead);
      const free = reuse
        ? (): void => {
          if (spare.length < SPARE_BLOCKS) spare.push(buf);
        }
        : undefined;
      for (let at = 0; at < data.length; at += chunk) {
        const end = Math.min(at + chunk, data.length);
        const wait = write(data.subarray(at, end), end === data.length ? free : undefined);
        if (wait) await wait;
      }
      sent += bytesRead;
    }
  } finally {
    await fh.close();
  }
}
