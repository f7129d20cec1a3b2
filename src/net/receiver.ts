import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import {
  type CaptureMeta,
  CaptureWriter,
  type Endpoint,
  type FileOutcome,
  type OutcomeStatus,
} from '../capture/index.js';
import {
  type DissectEvent,
  Dissector,
  type Field,
  type Problem,
  describeProblem,
  formatInteger,
} from '../protocol/index.js';
import { FileSink } from './file-sink.js';
import { clearLeftovers } from './leftovers.js';
import { Recorder } from './recorder.js';

/** Options of a receiver. */
export interface ReceiverOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Folder the received files are written into (created if missing). */
  readonly outDir: string;
  /** Folder for one capture per connection; `null` records nothing (`--no-capture`). */
  readonly capturesDir: string | null;
  /** Largest size a file may declare; a larger one ends the connection. */
  readonly maxFileSize?: bigint;
  /** A connection with no bytes for this long is cut; 0 never. */
  readonly idleTimeoutMs?: number;
  /** Largest count a transfer may announce; a larger one ends the connection. */
  readonly maxFiles?: number;
  /** Largest sum of the sizes one connection may announce; past it the connection ends. */
  readonly maxTotalBytes?: bigint;
  /** Connections served at once; the next is closed at once, politely, and logged. */
  readonly maxConnections?: number;
  /** One line per event a teacher cares about. */
  readonly log?: (line: string) => void;
  /**
   * Records each connection into a capture made by the caller (the demo records both sides
   * into one); the caller then finishes it. Default: a new capture per connection in `capturesDir`.
   */
  readonly recordInto?: (client: Endpoint, server: Endpoint) => CaptureWriter | null;
}

/** What one connection came to. */
export interface ConnectionResult {
  readonly client: Endpoint;
  readonly status: OutcomeStatus;
  readonly message?: string;
  readonly files: readonly FileOutcome[];
  readonly bytes: number;
  readonly problems: readonly Problem[];
  /** The capture's metadata, when the receiver finished a capture of its own. */
  readonly capture?: CaptureMeta;
  /** The capture's folder, when recorded. */
  readonly captureDir?: string;
}

/** What a live view is told about a connection, as it happens. */
export type LiveEvent =
  | { readonly type: 'open'; readonly key: string; readonly client: Endpoint; readonly captureId: string | null }
  | {
      readonly type: 'progress';
      readonly key: string;
      readonly bytes: number;
      readonly count: number | null;
      readonly filesDone: number;
      /** Id of the field the next byte belongs to, and its kind and file. */
      readonly field: string | null;
      readonly kind: string | null;
      readonly file: number | null;
      /** The name of the file being received, once its name field came. */
      readonly name: string | null;
      readonly have: number;
      /** Bytes still needed for that field (decimal string). */
      readonly needed: string;
    }
  | { readonly type: 'done'; readonly key: string; readonly status: OutcomeStatus; readonly message: string | null; readonly bytes: number; readonly saved: number; readonly files: number; readonly captureId: string | null };

/**
 * A running receiver. Emits `connection` (client endpoint), `live` ({@link LiveEvent}, at most
 * every 100 ms per connection while bytes flow), `refused` and `result` ({@link ConnectionResult}).
 */
export interface Receiver extends EventEmitter {
  /** Where it listens. */
  readonly address: Endpoint;
  /** Stops accepting, interrupts open transfers, flushes every capture. */
  close(): Promise<void>;
}

/** Defaults of the receiver's limits, as `wirestep receive --help` prints them. */
export const RECEIVER_DEFAULTS = {
  /** 4 GiB. */
  maxFileSize: 4n * 1024n ** 3n,
  idleTimeoutMs: 30_000,
  maxFiles: 10_000,
  maxTotalBytes: 16n * 1024n ** 3n,
  maxConnections: 64,
} as const;

function endpoint(address: string | undefined, port: number | undefined): Endpoint {
  return { address: address ?? '?', port: port ?? 0 };
}

/** `a.txt`, `a (1).txt`, `a (2).txt`…: names to try so that nothing is overwritten. */
export function candidateName(name: string, n: number): string {
  if (n === 0) return name;
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  return `${stem} (${n})${ext}`;
}

/**
 * Bytes a connection may have read and not yet handled (dissected, queued for the disk and the
 * capture) before it stops reading: reading goes on while the disk writes, within this bound.
 */
const BACKLOG_LIMIT = 1 << 20;

/**
 * Gives the complete temporary file its final name, never replacing a file there (EEXIST if
 * one is). link() does it with no race; where links are not supported (FAT, some network
 * shares) the name is claimed with an exclusive create and the file renamed onto it.
 */
async function placeWithoutOverwrite(temp: string, target: string): Promise<void> {
  try {
    await link(temp, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
    const claim = await open(target, 'wx');
    await claim.close();
    await rename(temp, target);
    return;
  }
  // The file is saved; a temporary name left behind is only clutter.
  await unlink(temp).catch(() => {});
}

/** Starts a receiver: listens, and saves each connection's files and capture. */
export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  const log = options.log ?? (() => {});
  const outDir = path.resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  await clearLeftovers(outDir, options.recordInto ? null : options.capturesDir, log);
  const emitter = new EventEmitter();
  const active = new Set<Connection>();
  const maxConnections = options.maxConnections ?? RECEIVER_DEFAULTS.maxConnections;
  const server = net.createServer((socket) => {
    if (active.size >= maxConnections) {
      // Closed at once, with a FIN: the sender sees the connection end, not a hang.
      log(`[${socket.remoteAddress}:${socket.remotePort}] refused: already ${active.size} connections (--max-connections ${maxConnections})`);
      socket.on('error', () => {});
      socket.end();
      emitter.emit('refused', endpoint(socket.remoteAddress, socket.remotePort));
      return;
    }
    const conn = new Connection(socket, options, outDir, log, server.address() as net.AddressInfo, (e) => emitter.emit('live', e));
    active.add(conn);
    emitter.emit('connection', conn.client);
    void conn.done.then((result) => {
      active.delete(conn);
      emitter.emit('result', result);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8181, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log(`server error: ${err.message}`));
  const addr = server.address() as net.AddressInfo;
  return Object.assign(emitter, {
    address: endpoint(addr.address, addr.port),
    async close(): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const pending = [...active].map((c) => c.interrupt());
      await Promise.all(pending);
      await closed;
    },
  });
}

interface OpenFile {
  readonly number: number;
  readonly name: string;
  readonly size: bigint;
  /** Null when the name was refused or writing failed: the payload is read and dropped. */
  sink: FileSink | null;
  readonly temp: string;
  failure?: string;
}

/** One accepted connection, driven by the dissector. */
class Connection {
  readonly client: Endpoint;
  readonly done: Promise<ConnectionResult>;
  readonly #socket: net.Socket;
  readonly #outDir: string;
  readonly #log: (line: string) => void;
  readonly #dissector: Dissector;
  #recorder: Recorder;
  readonly #ownsCapture: boolean;
  readonly #tag = randomBytes(4).toString('hex');
  readonly #problems: Problem[] = [];
  readonly #files = new Map<number, FileOutcome>();
  #queue: Promise<void> = Promise.resolve();
  /** The name field of the file whose size comes next, with its problems. */
  #name: { field: Field; problems: readonly Problem[] } | null = null;
  #file: OpenFile | null = null;
  #abort: { status: OutcomeStatus; message: string } | null = null;
  readonly #options: ReceiverOptions;
  readonly #live: (e: LiveEvent) => void;
  #lastLive = 0;
  #captureId: string | null = null;
  /** Sum of the sizes announced so far. */
  #announced = 0n;
  #resolve!: (r: ConnectionResult) => void;
  /** Bytes read from the socket and not yet handled. */
  #backlog = 0;

  constructor(socket: net.Socket, options: ReceiverOptions, outDir: string, log: (l: string) => void, local: net.AddressInfo, live: (e: LiveEvent) => void) {
    this.#live = live;
    this.#socket = socket;
    this.#outDir = outDir;
    this.#options = options;
    this.client = endpoint(socket.remoteAddress, socket.remotePort);
    const who = `${this.client.address}:${this.client.port}`;
    this.#log = (line) => log(`[${who}] ${line}`);
    this.#dissector = new Dissector({
      maxFileSize: options.maxFileSize ?? RECEIVER_DEFAULTS.maxFileSize,
      maxFiles: options.maxFiles ?? RECEIVER_DEFAULTS.maxFiles,
    });
    this.done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    const server = endpoint(local.address, local.port);
    let writer: CaptureWriter | null = null;
    this.#ownsCapture = !options.recordInto;
    const start = options.recordInto
      ? Promise.resolve(options.recordInto(this.client, server))
      : options.capturesDir === null
        ? Promise.resolve(null)
        : CaptureWriter.create({
            root: options.capturesDir,
            sides: ['receiver'],
            client: this.client,
            server,
            options: {
              maxFileSize: String(options.maxFileSize ?? RECEIVER_DEFAULTS.maxFileSize),
              maxFiles: options.maxFiles ?? RECEIVER_DEFAULTS.maxFiles,
              maxTotalBytes: String(options.maxTotalBytes ?? RECEIVER_DEFAULTS.maxTotalBytes),
              idleTimeoutMs: options.idleTimeoutMs ?? RECEIVER_DEFAULTS.idleTimeoutMs,
            },
          });
    // Reading waits until the capture exists, so its first event is the accept.
    socket.pause();
    this.#recorder = new Recorder(null, 'receiver');
    this.#queue = start.then(
      (w) => {
        writer = w;
        this.#recorder = new Recorder(writer, 'receiver');
        this.#recorder.opened();
        this.#captureId = writer?.id ?? null;
        this.#log(`connected${writer ? `, recording capture ${writer.id}` : ''}`);
        this.#live({ type: 'open', key: this.#tag, client: this.client, captureId: this.#captureId });
        socket.resume();
      },
      (err: Error) => {
        this.#log(`cannot record a capture (${err.message}); receiving without one`);
        this.#recorder = new Recorder(null, 'receiver');
        this.#live({ type: 'open', key: this.#tag, client: this.client, captureId: null });
        socket.resume();
      },
    );
    const idle = options.idleTimeoutMs ?? RECEIVER_DEFAULTS.idleTimeoutMs;
    if (idle > 0) {
      socket.setTimeout(idle, () => {
        this.#abortWith('aborted', `no bytes for ${idle / 1000} s: the receiver cut the connection`);
      });
    }
    socket.on('data', (chunk: Buffer) => {
      this.#backlog += chunk.length;
      if (this.#backlog >= BACKLOG_LIMIT) {
        socket.pause();
        // Waiting for our own disk is not the sender going silent: no idle cut meanwhile.
        if (idle > 0) socket.setTimeout(0);
      }
      this.#enqueue(async () => {
        await this.#onData(chunk);
        this.#backlog -= chunk.length;
        if (socket.isPaused() && this.#backlog < BACKLOG_LIMIT && !this.#abort && !socket.destroyed) {
          if (idle > 0) socket.setTimeout(idle);
          socket.resume();
        }
      });
    });
    socket.on('end', () => this.#enqueue(async () => {
      this.#recorder.ended();
    }));
    socket.on('error', (err) => {
      if (!this.#abort) this.#abort = { status: 'aborted', message: `socket error: ${err.message}` };
    });
    socket.on('close', () => this.#enqueue(() => this.#finish()));
  }

  /** Shuts this connection down as part of closing the receiver. */
  async interrupt(): Promise<ConnectionResult> {
    this.#abortWith('interrupted', 'the receiver was shut down during the transfer');
    return this.done;
  }

  #abortWith(status: OutcomeStatus, message: string): void {
    if (!this.#abort) this.#abort = { status, message };
    this.#socket.destroy();
  }

  #enqueue(task: () => Promise<void>): void {
    this.#queue = this.#queue.then(task).catch((err: Error) => {
      this.#log(`internal error: ${err.message}`);
      this.#abortWith('aborted', `internal error: ${err.message}`);
    });
  }

  async #onData(chunk: Buffer): Promise<void> {
    if (this.#abort) return;
    const recorder = this.#recorder;
    const fits = recorder.data(chunk);
    for (const event of this.#dissector.push(chunk)) {
      await this.#handle(event);
      if (this.#abort) return;
    }
    if (!fits) await recorder.drain();
    this.#progress(false);
  }

  /** Tells live views where the transfer is: at most every 100 ms, and always when `now`. */
  #progress(now: boolean): void {
    const t = Date.now();
    if (!now && t - this.#lastLive < 100) return;
    this.#lastLive = t;
    const st = this.#dissector.state();
    const name = this.#file?.name ?? (this.#name?.field.value?.kind === 'name' ? this.#name.field.value.name.text : null);
    this.#live({
      type: 'progress',
      key: this.#tag,
      bytes: st.offset,
      count: st.count,
      filesDone: st.filesDone,
      field: st.field,
      kind: st.kind,
      file: st.file ?? null,
      name,
      have: st.have,
      needed: st.needed.toString(),
    });
  }

  async #handle(event: DissectEvent): Promise<void> {
    if (event.type === 'payload') {
      const f = this.#file;
      if (f?.sink) {
        const wait = f.sink.write(event.data);
        if (wait) await wait;
        if (f.sink.error) await this.#failFile(f, f.sink.error);
      }
      return;
    }
    if (event.type === 'problem') {
      this.#problems.push(event.problem);
      return;
    }
    const { field, problems } = event;
    this.#problems.push(...problems);
    const v = field.value;
    if (v?.kind === 'count') {
      this.#log(`count: ${formatInteger(v.count, 'en')} file${v.count === 1 ? '' : 's'} announced`);
      const over = problems.find((p) => p.kind === 'count-over-limit');
      if (over) this.#abortWith('aborted', describeProblem(over, 'en'));
    } else if (v?.kind === 'name') {
      this.#name = { field, problems };
    } else if (v?.kind === 'size') {
      await this.#openFile(field.file!, v.size, problems);
    } else if (field.kind === 'payload' && field.complete) {
      await this.#closeFile();
    } else if (field.kind === 'trailing') {
      this.#log(`${formatInteger(field.length, 'en')} bytes after the last file: ignored`);
    }
  }

  async #openFile(number: number, size: bigint, sizeProblems: readonly Problem[]): Promise<void> {
    const nameField = this.#name?.field;
    const decoded = nameField?.value?.kind === 'name' ? nameField.value.name : null;
    const name = decoded?.text ?? '';
    const nameProblems = (this.#name?.problems ?? []).filter((p) => p.severity === 'error');
    this.#name = null;
    const temp = path.join(this.#outDir, `.wirestep-${this.#tag}-${number}.part`);
    const file: OpenFile = { number, name, size, sink: null, temp };
    this.#file = file;
    // The file's own limit first: a size of 2^64-1 is over --max-file-size, whatever came before.
    const over = sizeProblems.find((p) => p.kind === 'size-over-limit');
    if (over) {
      const reason = describeProblem(over, 'en');
      this.#refuse(file, reason);
      this.#abortWith('aborted', reason);
      return;
    }
    this.#announced += size;
    const total = this.#options.maxTotalBytes ?? RECEIVER_DEFAULTS.maxTotalBytes;
    if (this.#announced > total) {
      const reason = `the files announced so far add up to ${formatInteger(this.#announced, 'en')} bytes, above the limit of ${formatInteger(total, 'en')} for one connection (--max-total-bytes)`;
      this.#refuse(file, reason);
      this.#abortWith('aborted', reason);
      return;
    }
    if (nameProblems.length > 0) {
      const reason = nameProblems.map((p) => describeProblem(p, 'en')).join(' ');
      this.#refuse(file, reason);
      this.#log(`file ${number}: refused ${JSON.stringify(name)}: ${reason} Its ${formatInteger(size, 'en')} bytes are read and dropped.`);
      return;
    }
    this.#log(`file ${number}: ${JSON.stringify(name)}, ${formatInteger(size, 'en')} bytes announced`);
    try {
      file.sink = await FileSink.create(temp);
    } catch (err) {
      await this.#failFile(file, err as Error);
    }
  }

  #refuse(file: OpenFile, reason: string): void {
    this.#setFile({ file: file.number, name: file.name, size: String(file.size), status: 'refused', reason });
  }

  #setFile(outcome: FileOutcome): void {
    this.#files.set(outcome.file, outcome);
    this.#recorder.writer?.setFile(outcome);
  }

  /** A write error (disk full, permissions): this file ends, its temporary file goes, the stream goes on. */
  async #failFile(file: OpenFile, err: Error): Promise<void> {
    const reason = `cannot write: ${err.message}`;
    file.failure = reason;
    await file.sink?.discard();
    file.sink = null;
    await unlink(file.temp).catch(() => {});
    this.#setFile({ file: file.number, name: file.name, size: String(file.size), status: 'failed', reason });
    this.#log(`file ${file.number}: ${reason}; its remaining bytes are read and dropped`);
  }

  async #closeFile(): Promise<void> {
    const file = this.#file;
    this.#file = null;
    if (!file?.sink) return;
    const sink = file.sink;
    try {
      await sink.close();
    } catch (err) {
      await this.#failFile(file, err as Error);
      return;
    }
    file.sink = null;
    if (BigInt(sink.bytesWritten) !== file.size) {
      await this.#failFile(file, new Error(`${sink.bytesWritten} of ${file.size} bytes reached the disk`));
      return;
    }
    for (let n = 0; n < 1000; n++) {
      const final = candidateName(file.name, n);
      const target = path.join(this.#outDir, final);
      // The name was checked to be one plain component; this keeps it so whatever changes.
      if (path.dirname(target) !== this.#outDir) break;
      try {
        await placeWithoutOverwrite(file.temp, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        await this.#failFile(file, err as Error);
        return;
      }
      this.#setFile({ file: file.number, name: file.name, size: String(file.size), status: 'saved', savedAs: final });
      const renamed = n > 0 ? ` (${JSON.stringify(file.name)} already existed)` : '';
      this.#log(`file ${file.number}: saved ${path.join(this.#outDir, final)}, ${formatInteger(file.size, 'en')} bytes${renamed}`);
      return;
    }
    await this.#failFile(file, new Error('no free name to save it under'));
  }

  async #finish(): Promise<void> {
    const recorder = this.#recorder;
    for (const event of this.#dissector.end()) await this.#handle(event);
    const open = this.#file;
    if (open) {
      this.#file = null;
      await open.sink?.discard();
      await unlink(open.temp).catch(() => {});
      if (!this.#files.has(open.number)) {
        const got = formatInteger(this.#dissector.state().offset, 'en');
        this.#setFile({ file: open.number, name: open.name, size: String(open.size), status: 'incomplete', reason: `the stream ended at byte ${got}, before the whole file came` });
        this.#log(`file ${open.number}: incomplete, not saved (the stream ended at byte ${got})`);
      }
    }
    const errors = this.#problems.filter((p) => p.severity === 'error');
    let status: OutcomeStatus;
    let message: string | undefined;
    if (this.#abort) {
      ({ status, message } = this.#abort);
      recorder.error(message);
    } else if (errors.some((p) => p.kind === 'truncated' || p.kind === 'fewer-files-than-count')) {
      status = 'truncated';
    } else if (errors.length > 0) {
      status = 'malformed';
    } else {
      status = 'complete';
    }
    for (const p of errors) this.#log(`problem: ${describeProblem(p, 'en')}`);
    recorder.closed();
    const writer = recorder.writer;
    let capture: CaptureMeta | undefined;
    if (writer && this.#ownsCapture) {
      try {
        capture = await writer.finish(status, message);
      } catch (err) {
        this.#log(`capture ${writer.id} could not be finished: ${(err as Error).message}`);
      }
    }
    const files = [...this.#files.values()].sort((a, b) => a.file - b.file);
    const saved = files.filter((f) => f.status === 'saved').length;
    this.#log(`closed: ${status}${message ? ` (${message})` : ''}; ${saved} file${saved === 1 ? '' : 's'} saved, ${formatInteger(recorder.offset, 'en')} bytes${writer ? `, capture ${writer.dir}` : ''}`);
    this.#progress(true);
    this.#live({ type: 'done', key: this.#tag, status, message: message ?? null, bytes: recorder.offset, saved, files: files.length, captureId: this.#captureId });
    this.#resolve({
      client: this.client,
      status,
      ...(message === undefined ? {} : { message }),
      files,
      bytes: recorder.offset,
      problems: this.#problems,
      ...(capture ? { capture } : {}),
      ...(writer ? { captureDir: writer.dir } : {}),
    });
  }
}
