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
  type LiveEvent,
  type OutcomeStatus,
} from '../capture/index.js';
import {
  type Lang,
  type Problem,
  type Reason,
  describeProblem,
  describeReason,
  escapeControls,
  formatInteger,
  reasonOfError,
} from '../protocol/index.js';
import { FileSink } from './file-sink.js';
import { clearLeftovers, temporaryName } from './leftovers.js';
import { Recorder } from './recorder.js';
import { type ReceiverWord, receiverLine } from './words.js';
import { type HeldConnection, ReceiverSession, type SessionCommand, type SessionEvent, nextDisplaceableAt, pickDisplaced, pickWaitingEvicted } from './session.js';

export type { LiveEvent } from '../capture/index.js';

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
  /**
   * Connections served at once. Past it a connection waits, unread, for a place (as many may
   * wait); past that it takes the place of the latest waiting one of an address holding more
   * connections than its own ({@link pickWaitingEvicted}), or is closed at once, politely, and logged.
   */
  readonly maxConnections?: number;
  /** Least average bytes per second once `rateGraceMs` has passed; slower connections are cut. 0: none. */
  readonly minRate?: number;
  /** Time from the accept before `minRate` applies, in ms. */
  readonly rateGraceMs?: number;
  /** Time a file's count, name and size fields may take, from the accept or the previous file's end, in ms; 0: none. */
  readonly headerTimeoutMs?: number;
  /**
   * When full and a connection waits, the slowest connection open at least this long (ms) is
   * closed to make room for it ({@link pickDisplaced}); 0: waiting ones only take freed places.
   */
  readonly displaceAfterMs?: number;
  /** One line per event a teacher cares about. */
  readonly log?: (line: string) => void;
  /** Language of the connections' log lines; default English. */
  readonly lang?: Lang;
  /**
   * Records each connection into a capture made by the caller (the demo records both sides
   * into one); the caller then finishes it. Default: a new capture per connection in `capturesDir`.
   */
  readonly recordInto?: (client: Endpoint, server: Endpoint) => CaptureWriter | null;
  /**
   * Copy every payload into the capture's `stream.bin` (`--capture-copy`) instead of storing a
   * saved file's payload as a hard link to it.
   */
  readonly captureCopy?: boolean;
  /**
   * Makes a payload's hard link into the capture (default `fs.promises.link`): a test passes one
   * failing with EXDEV to take the path of a capture folder on another file system.
   */
  readonly capturePayloadLink?: (existing: string, newPath: string) => Promise<void>;
}

/** What one connection came to. */
export interface ConnectionResult {
  readonly client: Endpoint;
  readonly status: OutcomeStatus;
  /** Why it ended so, when something cut it (a limit, the idle timeout, a shutdown, an error). */
  readonly reason?: Reason;
  /** `reason` in English words, for logs and messages. */
  readonly message?: string;
  readonly files: readonly FileOutcome[];
  readonly bytes: number;
  readonly problems: readonly Problem[];
  /** The capture's metadata, when the receiver finished a capture of its own. */
  readonly capture?: CaptureMeta;
  /** The capture's folder, when recorded. */
  readonly captureDir?: string;
}

/**
 * A running receiver. Emits `connection` (client endpoint), `live` ({@link LiveEvent}, at most
 * every 100 ms per connection while bytes flow), `waiting` and `refused` (client endpoint, when
 * full) and `result` ({@link ConnectionResult}).
 */
export interface Receiver extends EventEmitter {
  /** Where it listens. */
  readonly address: Endpoint;
  /** Stops accepting, interrupts open transfers, flushes every capture. */
  close(): Promise<void>;
  /** Counters, read live. */
  readonly stats: ReceiverStats;
}

/** What a receiver counts, for tests and figures. */
export interface ReceiverStats {
  /** Attempts to give a complete file its final name (one link(), or an exclusive create where links fail). */
  readonly placeAttempts: number;
}

/**
 * Where to start looking for a free name, per name given, in one output folder: one past the
 * last suffix taken. 10,000 files all named `same.txt` then cost 10,000 attempts, not 50 million;
 * a name taken meanwhile (EEXIST) is still skipped, so nothing is overwritten.
 */
class FreeNames implements ReceiverStats {
  /** Names remembered at most; past it the least recently used is forgotten (its next file probes from 0). */
  static readonly LIMIT = 10_000;
  readonly #next = new Map<string, number>();
  placeAttempts = 0;

  /** The first suffix worth trying for `name`. */
  first(name: string): number {
    return this.#next.get(name) ?? 0;
  }

  /** Suffix `n` of `name` is taken (by us or by someone else). */
  taken(name: string, n: number): void {
    const next = Math.max(n + 1, this.#next.get(name) ?? 0);
    this.#next.delete(name);
    this.#next.set(name, next);
    if (this.#next.size > FreeNames.LIMIT) this.#next.delete(this.#next.keys().next().value!);
  }
}

/** Defaults of the receiver's limits, as `wirestep receive --help` prints them. */
export const RECEIVER_DEFAULTS = {
  /** 4 GiB. */
  maxFileSize: 4n * 1024n ** 3n,
  idleTimeoutMs: 30_000,
  maxFiles: 10_000,
  maxTotalBytes: 16n * 1024n ** 3n,
  maxConnections: 64,
  /** Bytes per second. */
  minRate: 64,
  rateGraceMs: 30_000,
  headerTimeoutMs: 60_000,
  displaceAfterMs: 10_000,
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

/**
 * A name in double quotes for a log line, its own backslashes and quotes escaped, so that after
 * the line's control characters are escaped a name holding a backslash or a quote reads one way.
 */
function quoted(name: string): string {
  return `"${name.replace(/[\\"]/g, '\\$&')}"`;
}

/** Starts a receiver: listens, and saves each connection's files and capture. */
export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  const log = options.log ?? (() => {});
  const lang = options.lang ?? 'en';
  const outDir = path.resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  await clearLeftovers(outDir, options.recordInto ? null : options.capturesDir, log);
  const emitter = new EventEmitter();
  const active = new Set<Connection>();
  const names = new FreeNames();
  /** Accepted connections not read yet, first come first served, until a place frees. */
  const waiting: net.Socket[] = [];
  const maxConnections = options.maxConnections ?? RECEIVER_DEFAULTS.maxConnections;
  const displaceAfter = options.displaceAfterMs ?? RECEIVER_DEFAULTS.displaceAfterMs;
  let roomTimer: NodeJS.Timeout | null = null;
  let closing = false;
  const admit = (socket: net.Socket): void => {
    const conn = new Connection(socket, options, outDir, log, server.address() as net.AddressInfo, (e) => emitter.emit('live', e), names);
    active.add(conn);
    emitter.emit('connection', conn.client);
    void conn.done.then((result) => {
      active.delete(conn);
      emitter.emit('result', result);
      makeRoom();
    });
  };
  /** Serves waiting connections in free places, and displaces slow ones for those still waiting. */
  const makeRoom = (): void => {
    if (roomTimer) clearTimeout(roomTimer);
    roomTimer = null;
    if (closing) return;
    while (waiting.length > 0 && active.size < maxConnections) admit(waiting.shift()!);
    if (waiting.length === 0 || displaceAfter <= 0) return;
    const staying = [...active].filter((c) => !c.leaving);
    // Each connection already leaving frees a place for one that waits.
    let short = waiting.length - (active.size - staying.length);
    const now = Date.now();
    for (; short > 0; short--) {
      const pick = pickDisplaced(staying.map((c) => c.held), now, displaceAfter);
      if (!pick) break;
      const at = staying.findIndex((c) => c.id === pick.id);
      staying.splice(at, 1)[0]!.displace(now, displaceAfter, waiting[waiting.length - short]!);
    }
    const next = short > 0 ? nextDisplaceableAt(staying.map((c) => c.held), displaceAfter) : null;
    if (next !== null) roomTimer = setTimeout(makeRoom, Math.max(0, next - now));
  };
  // Half-open: the receiver ends its side once the sender's files are saved, so a sender that
  // sees the connection close knows they are on disk.
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    if (active.size < maxConnections) return admit(socket);
    const who = `[${socket.remoteAddress}:${socket.remotePort}]`;
    socket.on('error', () => {});
    const refuse = (s: net.Socket, why: string): void => {
      // Closed at once, with a FIN: the sender sees the connection end, not a hang.
      log(receiverLine(lang, 'refusedFull', { who: `[${s.remoteAddress}:${s.remotePort}]`, active: active.size, max: maxConnections, waiting: waiting.length, why }));
      s.end();
      // What it sends is dropped; one that never ends its side loses its descriptor anyway.
      s.resume();
      setTimeout(() => s.destroy(), 2000).unref();
      emitter.emit('refused', endpoint(s.remoteAddress, s.remotePort));
    };
    if (closing) return refuse(socket, '');
    if (waiting.length >= maxConnections) {
      const open = new Map<string, number>();
      for (const c of active) open.set(c.client.address, (open.get(c.client.address) ?? 0) + 1);
      const evict = pickWaitingEvicted(waiting.map((w) => w.remoteAddress ?? '?'), open, socket.remoteAddress ?? '?');
      if (evict === null) return refuse(socket, '');
      const [out] = waiting.splice(evict, 1);
      refuse(out!, receiverLine(lang, 'evicted', { who: `${socket.remoteAddress}:${socket.remotePort}` }));
    }
    // Not read until admitted: its bytes wait in the system's buffers, and its sender in send().
    socket.pause();
    waiting.push(socket);
    socket.once('close', () => {
      const at = waiting.indexOf(socket);
      if (at >= 0) waiting.splice(at, 1);
    });
    const displace = displaceAfter > 0 ? receiverLine(lang, 'displaceRoom', { seconds: displaceAfter / 1000 }) : '';
    log(receiverLine(lang, 'waiting', { who, active: active.size, max: maxConnections, displace }));
    emitter.emit('waiting', endpoint(socket.remoteAddress, socket.remotePort));
    makeRoom();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8181, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log(receiverLine(lang, 'serverError', { message: err.message })));
  const addr = server.address() as net.AddressInfo;
  return Object.assign(emitter, {
    address: endpoint(addr.address, addr.port),
    stats: names as ReceiverStats,
    async close(): Promise<void> {
      closing = true;
      if (roomTimer) clearTimeout(roomTimer);
      for (const socket of waiting.splice(0)) socket.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const pending = [...active].map((c) => c.interrupt());
      await Promise.all(pending);
      await closed;
    },
  });
}

/** A file's write error as a reason: the system's code where it has one. */
function writeFailure(err: Error): Reason {
  const code = (err as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? { kind: 'write-failed', code } : { kind: 'text', text: err.message };
}

/** One accepted connection: runs its {@link ReceiverSession}'s commands on the socket and the disk. */
class Connection {
  static #count = 0;
  readonly id = Connection.#count++;
  readonly client: Endpoint;
  /** When it was accepted (ms since the epoch). */
  readonly openedAtMs = Date.now();
  /** Set once the sender ended its stream: the connection is finishing. */
  #ended = false;
  /** Bytes read from the socket so far. */
  #received = 0;
  #paceTimer: NodeJS.Timeout | null = null;
  #paceAt = Infinity;
  readonly done: Promise<ConnectionResult>;
  readonly #socket: net.Socket;
  readonly #outDir: string;
  readonly #lang: Lang;
  readonly #log: (line: string) => void;
  readonly #session: ReceiverSession;
  #recorder: Recorder;
  readonly #ownsCapture: boolean;
  /** This connection's key in the live feed: public, so it names nothing on disk. */
  readonly #tag = randomBytes(8).toString('hex');
  /** Temporary files by file number: random names, so no sender can guess or claim one. */
  readonly #temps = new Map<number, string>();
  /** Temporary files being written, by file number. */
  readonly #sinks = new Map<number, FileSink>();
  /** Files whose payload the capture holds as a hard link to their temporary file. */
  readonly #linked = new Set<number>();
  #queue: Promise<void> = Promise.resolve();
  readonly #live: (e: LiveEvent) => void;
  #lastLive = 0;
  /** The update a throttled progress owes, so a sender that stalls mid-field is not shown stale. */
  #trailing: NodeJS.Timeout | null = null;
  #captureId: string | null = null;
  #resolve!: (r: ConnectionResult) => void;
  /** Bytes read from the socket and not yet handled. */
  #backlog = 0;

  readonly #names: FreeNames;

  constructor(socket: net.Socket, options: ReceiverOptions, outDir: string, log: (l: string) => void, local: net.AddressInfo, live: (e: LiveEvent) => void, names: FreeNames) {
    this.#live = live;
    this.#names = names;
    this.#socket = socket;
    this.#outDir = outDir;
    this.#lang = options.lang ?? 'en';
    this.client = endpoint(socket.remoteAddress, socket.remotePort);
    const who = `${this.client.address}:${this.client.port}`;
    // Names from the wire reach log lines: one escaping for every control character in them.
    this.#log = (line) => log(escapeControls(`[${who}] ${line}`));
    this.#session = new ReceiverSession({
      maxFileSize: options.maxFileSize ?? RECEIVER_DEFAULTS.maxFileSize,
      maxFiles: options.maxFiles ?? RECEIVER_DEFAULTS.maxFiles,
      maxTotalBytes: options.maxTotalBytes ?? RECEIVER_DEFAULTS.maxTotalBytes,
      minRate: options.minRate ?? RECEIVER_DEFAULTS.minRate,
      rateGraceMs: options.rateGraceMs ?? RECEIVER_DEFAULTS.rateGraceMs,
      headerTimeoutMs: options.headerTimeoutMs ?? RECEIVER_DEFAULTS.headerTimeoutMs,
    }, this.openedAtMs);
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
              minRate: options.minRate ?? RECEIVER_DEFAULTS.minRate,
              rateGraceMs: options.rateGraceMs ?? RECEIVER_DEFAULTS.rateGraceMs,
              headerTimeoutMs: options.headerTimeoutMs ?? RECEIVER_DEFAULTS.headerTimeoutMs,
              ...(options.captureCopy ? { captureCopy: true } : {}),
            },
            linkPayloads: !options.captureCopy,
            ...(options.capturePayloadLink ? { link: options.capturePayloadLink } : {}),
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
        this.#say(writer ? 'connectedRecording' : 'connected', { id: writer?.id ?? '' });
        this.#live({ type: 'open', key: this.#tag, client: this.client, captureId: this.#captureId });
        this.#startReading();
      },
      (err: Error) => {
        this.#say('cannotRecord', { message: err.message });
        this.#recorder = new Recorder(null, 'receiver');
        this.#live({ type: 'open', key: this.#tag, client: this.client, captureId: null });
        this.#startReading();
      },
    );
    const idle = options.idleTimeoutMs ?? RECEIVER_DEFAULTS.idleTimeoutMs;
    if (idle > 0) socket.setTimeout(idle, () => this.#now({ type: 'timeout', seconds: idle / 1000 }));
    socket.on('data', (chunk: Buffer) => {
      const at = Date.now();
      this.#received += chunk.length;
      this.#backlog += chunk.length;
      if (this.#backlog >= BACKLOG_LIMIT) {
        socket.pause();
        // Waiting for our own disk is not the sender going silent: no idle cut meanwhile.
        if (idle > 0) socket.setTimeout(0);
      }
      this.#enqueue(async () => {
        await this.#onData(chunk, at);
        this.#backlog -= chunk.length;
        if (socket.isPaused() && this.#backlog < BACKLOG_LIMIT && !this.#session.cut && !socket.destroyed) {
          if (idle > 0) socket.setTimeout(idle);
          socket.resume();
        }
      });
    });
    socket.on('end', () => this.#enqueue(async () => {
      this.#recorder.ended();
      await this.#feed({ type: 'end' });
      this.#socket.end();
    }));
    socket.once('end', () => {
      this.#ended = true;
      // Nothing more can come: saving what came is not the sender being silent.
      socket.setTimeout(0);
    });
    socket.on('error', (err) => this.#now({ type: 'error', reason: reasonOfError(err) }));
    socket.on('close', () => {
      if (this.#paceTimer) clearTimeout(this.#paceTimer);
      this.#paceAt = -Infinity;
      this.#enqueue(() => this.#finish());
    });
  }

  /** Whether it is on its way out (cut, displaced, or its stream ended): its place will free. */
  get leaving(): boolean {
    return this.#session.cut || this.#ended;
  }

  /** What the receiver weighs when it must make room. */
  get held(): HeldConnection {
    return { id: this.id, address: this.client.address, openedAtMs: this.openedAtMs, bytes: this.#received };
  }

  /** Closes this connection to make room for `waiting` (its place is promised to it). */
  displace(nowMs: number, graceMs: number, waiting: net.Socket): void {
    const cut = this.#session.handle({ type: 'displaced', atMs: nowMs, graceMs });
    const abort = cut.find((c) => c.type === 'abort');
    if (abort?.type === 'abort') this.#say('displaced', { who: `${waiting.remoteAddress}:${waiting.remotePort}`, why: describeReason(abort.reason, this.#lang) });
    this.#socket.destroy();
  }

  /** Reads from now on, and starts the pacing clock (the time making the capture was ours). */
  #startReading(): void {
    if (this.#socket.destroyed) return;
    this.#session.handle({ type: 'start', atMs: Date.now() });
    this.#armPace();
    this.#socket.resume();
  }

  /** Sets the timer to the session's next pacing deadline, unless one is set sooner. */
  #armPace(): void {
    const at = this.#session.deadline();
    if (at === null || at >= this.#paceAt) return;
    if (this.#paceTimer) clearTimeout(this.#paceTimer);
    this.#paceAt = at;
    this.#paceTimer = setTimeout(() => {
      this.#paceTimer = null;
      this.#paceAt = Infinity;
      // Bytes waiting for our own disk are not the sender's slowness: handling them re-arms the timer.
      if (this.#backlog > 0) return;
      this.#now({ type: 'tick', atMs: Date.now() });
      this.#armPace();
    }, Math.max(0, at - Date.now()));
  }

  /** Shuts this connection down as part of closing the receiver. */
  async interrupt(): Promise<ConnectionResult> {
    this.#now({ type: 'shutdown' });
    return this.done;
  }

  /** An event that cannot wait for the queue (a timer, a shutdown, an error): it only ever cuts. */
  #now(event: SessionEvent): void {
    for (const c of this.#session.handle(event)) {
      if (c.type === 'abort') this.#socket.destroy();
    }
  }

  #enqueue(task: () => Promise<void>): void {
    this.#queue = this.#queue.then(task).catch((err: Error) => {
      this.#say('internalError', { message: err.message });
      this.#now({ type: 'error', reason: { kind: 'text', text: `internal error: ${err.message}` }, byReceiver: true });
    });
  }

  async #onData(chunk: Buffer, atMs: number): Promise<void> {
    if (this.#session.cut) return;
    const recorder = this.#recorder;
    const timeUs = recorder.now();
    // The session first: a payload starting in this chunk is linked before the chunk is
    // recorded, so the capture knows not to copy it.
    await this.#feed({ type: 'data', bytes: chunk, atMs });
    const fits = recorder.data(chunk, timeUs);
    if (this.#session.cut) return;
    this.#armPace();
    if (!fits) await recorder.drain();
    this.#progress(false);
  }

  /** Tells live views where the transfer is: at most every 100 ms, and always when `now`. */
  #progress(now: boolean): void {
    const t = Date.now();
    if (!now && t - this.#lastLive < 100) {
      this.#trailing ??= setTimeout(() => {
        this.#trailing = null;
        this.#progress(false);
      }, 100 - (t - this.#lastLive)).unref();
      return;
    }
    if (this.#trailing) clearTimeout(this.#trailing);
    this.#trailing = null;
    this.#lastLive = t;
    const st = this.#session.state();
    this.#live({
      type: 'progress',
      key: this.#tag,
      bytes: st.offset,
      count: st.count,
      filesDone: st.filesDone,
      field: st.field,
      kind: st.kind,
      file: st.file ?? null,
      name: this.#session.currentName,
      have: st.have,
      needed: st.needed.toString(),
    });
  }

  /** Gives the session an event and runs what it says, in order. */
  async #feed(event: SessionEvent): Promise<void> {
    for (const c of this.#session.handle(event)) await this.#run(c);
  }

  /**
   * Creates file `file`'s temporary file under 16 random bytes in hex, exclusively: a name
   * already there is never taken over, and never removed as ours.
   */
  async #createTemp(file: number): Promise<FileSink> {
    const temp = path.join(this.#outDir, temporaryName());
    const sink = await FileSink.create(temp);
    this.#temps.set(file, temp);
    return sink;
  }

  async #run(c: SessionCommand): Promise<void> {
    switch (c.type) {
      case 'count':
        this.#say('count', { n: this.#n(c.count) }, c.count);
        return;
      case 'open-file':
        this.#say('announced', { file: c.file, name: quoted(c.name), size: this.#n(c.size) });
        try {
          this.#sinks.set(c.file, await this.#createTemp(c.file));
        } catch (err) {
          await this.#feed({ type: 'write-failed', file: c.file, reason: writeFailure(err as Error) });
          return;
        }
        if (await this.#recorder.writer?.linkPayload('receiver', c.file, this.#temps.get(c.file)!, c.offset, Number(c.size))) this.#linked.add(c.file);
        return;
      case 'write': {
        const sink = this.#sinks.get(c.file);
        if (!sink) return;
        const wait = sink.write(c.data);
        if (wait) await wait;
        if (sink.error) await this.#feed({ type: 'write-failed', file: c.file, reason: writeFailure(sink.error) });
        return;
      }
      case 'commit':
        await this.#commit(c.file, c.name, c.size);
        return;
      case 'discard': {
        const sink = this.#sinks.get(c.file);
        this.#sinks.delete(c.file);
        // A linked file keeps what came, for the capture (its temporary name goes all the same).
        if (this.#linked.has(c.file)) await sink?.close().catch(() => {});
        else await sink?.discard();
        await this.#seal(c.file);
        const temp = this.#temps.get(c.file);
        this.#temps.delete(c.file);
        if (temp) await unlink(temp).catch(() => {});
        return;
      }
      case 'file':
        this.#recorder.writer?.setFile(c.outcome);
        this.#logFile(c.outcome);
        return;
      case 'trailing':
        this.#say('trailing', { n: this.#n(c.length) });
        return;
      case 'abort':
        this.#socket.destroy();
        return;
      case 'close':
        // The outcome is taken by #finish.
        return;
    }
  }

  /** Logs line `key` of the receiver's words, in the receiver's language. */
  #say(key: ReceiverWord, values: Readonly<Record<string, string | number | bigint>>, count?: number | bigint): void {
    this.#log(receiverLine(this.#lang, key, values, count));
  }

  #n(v: number | bigint): string {
    return formatInteger(v, this.#lang);
  }

  #logFile(f: FileOutcome): void {
    const name = f.nameHex ? receiverLine(this.#lang, 'nameBytes', { name: quoted(f.name), hex: f.nameHex }) : quoted(f.name);
    const why = f.reason ? describeReason(f.reason, this.#lang) : '';
    const values = { file: f.file, name, why, size: this.#n(BigInt(f.size)), path: path.join(this.#outDir, f.savedAs ?? '') };
    if (f.status === 'saved') {
      this.#say(f.savedAs !== f.name ? 'savedRenamed' : 'saved', values);
    } else if (f.status === 'refused') {
      this.#say(f.reason?.kind === 'name-unsafe' || f.reason?.kind === 'name-invalid-utf8' ? 'refusedDropped' : 'refused', values);
    } else if (f.status === 'failed') {
      // After a short write or with no free name every byte had already come: nothing is left to drop.
      this.#say(f.reason?.kind === 'short-write' || f.reason?.kind === 'no-free-name' ? 'notSaved' : 'notSavedDropped', values);
    } else {
      this.#say('incomplete', values);
    }
  }

  /** Tells the capture what a linked payload file holds, once the receiver is done with it. */
  async #seal(file: number): Promise<void> {
    if (!this.#linked.delete(file)) return;
    // A payload the capture cannot vouch for reads as damaged, never as wrong bytes.
    await this.#recorder.writer?.sealPayload(file).catch(() => {});
  }

  /** Closes file `file`'s temporary file and links it to a free final name, never overwriting. */
  async #commit(file: number, name: string, size: bigint): Promise<void> {
    try {
      await this.#place(file, name, size);
    } finally {
      await this.#seal(file);
    }
  }

  async #place(file: number, name: string, size: bigint): Promise<void> {
    const sink = this.#sinks.get(file);
    if (!sink) return;
    this.#sinks.delete(file);
    const failed = (reason: Reason): Promise<void> => this.#feed({ type: 'write-failed', file, reason });
    try {
      await sink.close();
    } catch (err) {
      return failed(writeFailure(err as Error));
    }
    if (BigInt(sink.bytesWritten) !== size) return failed({ kind: 'short-write', written: String(sink.bytesWritten), size: String(size) });
    const temp = this.#temps.get(file)!;
    const start = this.#names.first(name);
    for (let n = start; n < start + 1000; n++) {
      const final = candidateName(name, n);
      const target = path.join(this.#outDir, final);
      // The name was checked to be one plain component; this keeps it so whatever changes.
      if (path.dirname(target) !== this.#outDir) break;
      this.#names.placeAttempts++;
      try {
        await placeWithoutOverwrite(temp, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return failed(writeFailure(err as Error));
        this.#names.taken(name, n);
        continue;
      }
      this.#names.taken(name, n);
      this.#temps.delete(file);
      return this.#feed({ type: 'saved', file, savedAs: final });
    }
    return failed({ kind: 'no-free-name' });
  }

  async #finish(): Promise<void> {
    const recorder = this.#recorder;
    let close: Extract<SessionCommand, { type: 'close' }> | undefined;
    for (const c of this.#session.handle({ type: 'closed' })) {
      if (c.type === 'close') close = c;
      else await this.#run(c);
    }
    const status = close?.status ?? 'aborted';
    const reason = close?.reason;
    if (reason) recorder.error(reason);
    for (const p of close?.errors ?? []) {
      // A stream the receiver cut is short because of the cut, which the closing line explains.
      if (close?.cutByReceiver && (p.kind === 'truncated' || p.kind === 'fewer-files-than-count')) continue;
      this.#say('problem', { problem: describeProblem(p, this.#lang) });
    }
    recorder.closed();
    const writer = recorder.writer;
    let capture: CaptureMeta | undefined;
    if (writer && this.#ownsCapture) {
      try {
        capture = await writer.finish(status, reason);
      } catch (err) {
        this.#say('captureUnfinished', { id: writer.id, message: (err as Error).message });
      }
    }
    const files = this.#session.files;
    const saved = files.filter((f) => f.status === 'saved').length;
    const message = reason ? describeReason(reason, 'en') : undefined;
    const said = reason ? describeReason(reason, this.#lang) : undefined;
    this.#say(close?.cutByReceiver ? 'closedByReceiver' : 'closed', {
      status,
      reason: said ? ` (${said})` : '',
      saved,
      bytes: this.#n(recorder.offset),
      capture: writer ? receiverLine(this.#lang, 'captureAt', { dir: writer.dir }) : '',
    }, saved);
    this.#progress(true);
    this.#live({ type: 'done', key: this.#tag, status, reason: reason ?? null, bytes: recorder.offset, saved, files: files.length, captureId: this.#captureId });
    this.#resolve({
      client: this.client,
      status,
      ...(reason ? { reason, message: message! } : {}),
      files,
      bytes: recorder.offset,
      problems: [...this.#session.problems] as Problem[],
      ...(capture ? { capture } : {}),
      ...(writer ? { captureDir: writer.dir } : {}),
    });
  }
}
