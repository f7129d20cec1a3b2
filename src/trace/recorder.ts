import path from 'node:path';
import { CaptureWriter, type Endpoint, type LiveEvent, type ProgramInfo, type Side, newCaptureId, readMeta } from '../capture/index.js';
import type { TraceFrame } from './frames.js';
import { TraceLive } from './live.js';
import { findOtherEnd, mergeTraced, settleOutcome } from './merge.js';
import { type TraceCommand, type TracedProcess, TraceSession } from './session.js';

/** What a traced program's captures say of it and of the command that traced it. */
export interface TraceRecorderOptions {
  /** Folder the captures go in. */
  readonly root: string;
  /** The command line as wirestep ran it, until the program says its own. */
  readonly argv: readonly string[];
  readonly cwd: string;
  /** Stored as the capture's `options` (`{ command: 'trace', portMap }`). */
  readonly options: Readonly<Record<string, unknown>>;
  /** Joins captures in `root` that two ends of one connection recorded (default true). */
  readonly merge?: boolean;
  /** Told what each connection does as it happens, as a receiver tells its `live` listeners. */
  readonly live?: (e: LiveEvent) => void;
}

/** The name a program goes by: its script (`client.py`), its module (`-m http.server`), or its executable. */
export function programName(argv: readonly string[]): string {
  const exe = path.basename(argv[0] ?? 'program');
  if (!/^python/.test(exe)) return exe;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-m' || a === '-c') return a === '-c' ? `${exe} -c` : `${exe} -m ${argv[i + 1] ?? ''}`.trim();
    // Options of the interpreter that take a value.
    if (a === '-W' || a === '-X') {
      i++;
      continue;
    }
    if (!a.startsWith('-')) return path.basename(a);
  }
  return exe;
}

// Joins of one process happen one at a time, so two captures finishing together see each other.
let joining: Promise<unknown> = Promise.resolve();
// Tells apart the live keys of two recorders in one process (the server and client of a pair).
let recorders = 0;

/**
 * Records a traced program's connections, one capture each, from its frames: created at the
 * connect or accept, written as calls come (the pipe waits while the disk does), finished at the
 * close or when the program ends, then joined with the capture of the connection's other end
 * when one is in the same folder.
 */
export class TraceRecorder {
  readonly #opts: TraceRecorderOptions;
  readonly #session = new TraceSession();
  readonly #writers = new Map<number, Promise<CaptureWriter | null>>();
  /** The same writers once created: frames come one at a time, so a record finds its writer here. */
  readonly #ready = new Map<number, CaptureWriter>();
  /** Each capture's time 0, CLOCK_MONOTONIC ns. */
  readonly #starts = new Map<CaptureWriter, bigint>();
  #process: TracedProcess = {};
  #listening: Endpoint | null | undefined;
  readonly #listeners = new Set<() => void>();
  /** Folders of the finished captures, in the order they finished (a joined one replaces its halves). */
  readonly captures: string[] = [];
  /** The client endpoint (`address:port`) of every connection whose capture is finished. */
  readonly finishedClients = new Set<string>();
  /** Why a capture could not be written, if one could not. */
  readonly problems: string[] = [];

  readonly #live: TraceLive | null;

  constructor(opts: TraceRecorderOptions) {
    this.#opts = opts;
    this.#live = opts.live ? new TraceLive(opts.live, `trace-${process.pid}-${++recorders}-`) : null;
  }

  /** Where the program first listened, once it has (null: it listened on something not IP). */
  get listening(): Endpoint | null | undefined {
    return this.#listening;
  }

  /** Connections open now, by the tracer's id. */
  get openConnections(): number {
    return this.#session.open.size;
  }

  /** Calls `listener` after each change worth waiting on (a listen, a finished capture); returns its removal. */
  watch(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #wake(): void {
    for (const l of this.#listeners) l();
  }

  /**
   * Records one frame. Returns a promise when the caller must wait before the next (a capture
   * being created or finished, a full disk buffer: the pipe's backpressure), else undefined, so
   * the 262,144 sends of a 256 MiB transfer cost no promise each.
   */
  take(frame: TraceFrame): Promise<void> | undefined {
    const cmds = this.#session.take(frame);
    if (cmds.length === 0) return undefined;
    const [cmd] = cmds;
    if (cmds.length === 1 && cmd!.type === 'record') {
      const w = this.#ready.get(cmd!.conn);
      if (!w) return undefined;
      if (this.#live && cmd!.bytes) this.#live.data(cmd!.conn, cmd!.bytes);
      return w.recordAt(this.#us(w, cmd!.timeNs), cmd!.side, cmd!.event, cmd!.offset, cmd!.length, cmd!.bytes, cmd!.call) ? undefined : w.drain();
    }
    return (async () => {
      for (const c of cmds) await this.#run(c);
    })();
  }

  /** The program has ended: finishes every capture still open, as interrupted when wirestep stopped it. */
  async end(stoppedByUs: boolean): Promise<void> {
    for (const [conn, { side, offset }] of [...this.#session.open]) {
      await this.#finish(conn, side, offset, stoppedByUs);
    }
  }

  #program(): ProgramInfo {
    const argv = this.#process.argv ?? this.#opts.argv;
    return {
      name: programName(argv),
      via: 'trace',
      argv: [...argv],
      ...(this.#process.pid === undefined ? {} : { pid: this.#process.pid }),
      cwd: this.#process.cwd ?? this.#opts.cwd,
      ...(this.#process.runtime === undefined ? {} : { runtime: this.#process.runtime }),
    };
  }

  async #run(cmd: TraceCommand): Promise<void> {
    switch (cmd.type) {
      case 'hello':
        this.#process = cmd.process;
        return;
      case 'listen':
        if (this.#listening === undefined) {
          this.#listening = cmd.local;
          this.#wake();
        }
        return;
      case 'open': {
        const program = this.#program();
        const created = CaptureWriter.create({
          root: this.#opts.root,
          id: newCaptureId(`${program.name.replace(/[^A-Za-z0-9._-]/g, '_')}-${cmd.side}`),
          sides: [cmd.side],
          ...(cmd.client ? { client: cmd.client } : {}),
          ...(cmd.server ? { server: cmd.server } : {}),
          options: this.#opts.options,
          programs: { [cmd.side]: program },
          startNs: cmd.timeNs,
        }).catch((err: Error) => {
          this.problems.push(`cannot write a capture in ${this.#opts.root}: ${err.message}`);
          return null;
        });
        this.#writers.set(cmd.conn, created);
        const w = await created;
        if (w) {
          this.#starts.set(w, cmd.timeNs);
          this.#ready.set(cmd.conn, w);
        }
        w?.recordAt(0, cmd.side, cmd.side === 'sender' ? 'connect' : 'accept', 0, 0, undefined, cmd.call);
        this.#live?.open(cmd.conn, cmd.side, cmd.client, program.name, w?.id ?? null);
        return;
      }
      case 'close': {
        const w = await this.#writers.get(cmd.conn);
        w?.recordAt(this.#us(w, cmd.timeNs), cmd.side, 'close', cmd.offset, 0, undefined, cmd.call);
        await this.#finish(cmd.conn, cmd.side, cmd.offset, false);
        return;
      }
      case 'error': {
        const w = await this.#writers.get(cmd.conn);
        w?.recordError(cmd.side, cmd.offset, cmd.reason, { timeUs: this.#us(w, cmd.timeNs), call: cmd.call });
        return;
      }
      case 'record': {
        const w = await this.#writers.get(cmd.conn);
        if (this.#live && cmd.bytes) this.#live.data(cmd.conn, cmd.bytes);
        if (w && !w.recordAt(this.#us(w, cmd.timeNs), cmd.side, cmd.event, cmd.offset, cmd.length, cmd.bytes, cmd.call)) await w.drain();
      }
    }
  }

  #us(w: CaptureWriter, timeNs: bigint): number {
    const us = (timeNs - (this.#starts.get(w) ?? timeNs)) / 1000n;
    return us < 0n ? 0 : Number(us);
  }

  async #finish(conn: number, side: Side, _offset: number, interrupted: boolean): Promise<void> {
    const created = this.#writers.get(conn);
    this.#writers.delete(conn);
    this.#ready.delete(conn);
    const w = await created;
    if (!w) {
      this.#live?.done(conn, interrupted ? 'interrupted' : 'aborted', null, null);
      return;
    }
    this.#starts.delete(w);
    let dir = w.dir;
    try {
      await w.finish(interrupted ? 'interrupted' : 'complete');
      let meta = await settleOutcome(dir, interrupted);
      let replaces: string[] = [];
      if (this.#opts.merge !== false) {
        const step = joining.then(async () => {
          const other = await findOtherEnd(this.#opts.root, meta);
          if (!other) return null;
          const joined = await (side === 'sender' ? mergeTraced(this.#opts.root, dir, other) : mergeTraced(this.#opts.root, other, dir));
          return joined === null ? null : { joined, other };
        });
        joining = step.catch(() => null);
        const merged = await step;
        if (merged) {
          replaces = [w.id, path.basename(merged.other)];
          dir = merged.joined;
          // The joined capture's outcome is both ends' (an error on either side aborts it).
          meta = await readMeta(dir);
        }
      }
      this.captures.push(dir);
      if (meta.client) this.finishedClients.add(`${meta.client.address}:${meta.client.port}`);
      this.#live?.done(conn, meta.outcome.status, meta.outcome.reason ?? null, path.basename(dir), replaces);
    } catch (err) {
      this.problems.push(`the capture ${w.id} could not be finished: ${(err as Error).message}`);
      this.#live?.done(conn, interrupted ? 'interrupted' : 'aborted', null, null);
    }
    this.#wake();
  }
}
