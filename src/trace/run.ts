import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { type Endpoint, type LiveEvent, readMeta } from '../capture/index.js';
import { packageRoot } from '../web/paths.js';
import { FrameDecoder } from './frames.js';
import { findOtherEnd, mergeTraced } from './merge.js';
import { TraceRecorder } from './recorder.js';

/** The folder holding the tracer's sitecustomize.py, put first on the traced program's PYTHONPATH. */
export function tracerDir(): string {
  return path.join(packageRoot(), 'src', 'trace', 'python');
}

/** How to run one traced program. */
export interface TraceOptions {
  /** The program and its arguments, run as given (no shell). */
  readonly argv: readonly string[];
  /** Folder the captures go in. */
  readonly capturesDir: string;
  /** `connect`/`bind` to port A use port B instead. */
  readonly portMap?: ReadonlyMap<number, number>;
  /** Working folder of the program (default: this one). */
  readonly cwd?: string;
  /** Environment of the program (default: this one's); the tracer's variables are added. */
  readonly env?: NodeJS.ProcessEnv;
  /** `inherit` (the default) gives the program this terminal; `pipe` lets the caller read it (and makes it); `ignore` drops it. */
  readonly stdio?: 'inherit' | 'pipe' | 'ignore';
  /** Joins captures of one connection's two ends in the folder (default true). */
  readonly merge?: boolean;
  /** Told what each connection does as it happens (a lab's live page: see connectLive). */
  readonly live?: (e: LiveEvent) => void;
}

/** How a traced program ended. */
export interface TraceResult {
  /** Its exit code, or null when a signal ended it. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The folders of the captures it left, one per connection (joined ones once). */
  readonly captures: readonly string[];
  /** What went wrong with the trace itself (the program ran on regardless). */
  readonly problems: readonly string[];
}

/** A traced program while it runs. */
export interface TracedRun {
  readonly child: ChildProcess;
  readonly recorder: TraceRecorder;
  /** Resolves once the program has ended, its process group is gone and every capture is finished. */
  readonly done: Promise<TraceResult>;
  /** Sends `signal` to the program's whole process group; from then on its open connections end as interrupted. */
  kill(signal: NodeJS.Signals): void;
}

/** `8181=9000,80=8080`: what the tracer reads in WIRESTEP_PORT_MAP. */
function portMapText(map: ReadonlyMap<number, number> | undefined): string {
  return [...(map ?? new Map<number, number>())].map(([a, b]) => `${a}=${b}`).join(',');
}

/** How long the trace pipe may stay open after the program's process group is gone, in ms. */
const PIPE_DRAIN_MS = 5000;

/** Sends `signal` to the whole process group led by `pid`; nothing when it is gone already. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/**
 * Runs a program with wirestep's tracer: its own process group, the tracer first on
 * PYTHONPATH, the trace pipe as fd 3, stdio, arguments and working folder as given. Every TCP
 * connection it makes or accepts becomes a capture in `capturesDir`. When the program exits, what
 * is left of its process group is killed. Throws only when the program cannot be started.
 */
export function startTraced(opts: TraceOptions): TracedRun {
  const [command, ...args] = opts.argv;
  if (command === undefined) throw new Error('no command to trace');
  const env = { ...(opts.env ?? process.env) };
  const own = tracerDir();
  if (!existsSync(path.join(own, 'sitecustomize.py'))) throw new Error(`the tracer is missing from ${own}`);
  env.PYTHONPATH = env.PYTHONPATH ? `${own}${path.delimiter}${env.PYTHONPATH}` : own;
  env.WIRESTEP_TRACE_FD = '3';
  env.WIRESTEP_PORT_MAP = portMapText(opts.portMap);
  const cwd = opts.cwd ?? process.cwd();
  const io = opts.stdio ?? 'inherit';
  const stdio: StdioOptions = [io, io, io, 'pipe'];
  const child = spawn(command, args, { cwd, env, stdio, detached: true });
  const options: Record<string, unknown> = { command: 'trace' };
  if (opts.portMap && opts.portMap.size > 0) options.portMap = Object.fromEntries([...opts.portMap].map(([a, b]) => [String(a), b]));
  const recorder = new TraceRecorder({
    root: opts.capturesDir, argv: opts.argv, cwd, options, merge: opts.merge !== false, ...(opts.live ? { live: opts.live } : {}),
  });
  let stopped = false;
  const pipe = child.stdio[3] as Readable;
  const problems: string[] = [];

  const reading = (async () => {
    const decoder = new FrameDecoder();
    let broken = false;
    for await (const chunk of pipe) {
      if (broken) continue;
      try {
        for (const f of decoder.push(chunk as Buffer)) {
          const wait = recorder.take(f);
          if (wait) await wait;
        }
      } catch (err) {
        // Bytes that are no frame: stop recording, keep draining so the program never blocks.
        problems.push(`the trace stopped: ${(err as Error).message}`);
        broken = true;
      }
    }
    if (decoder.leftover > 0 && !broken) problems.push(`the trace ended in the middle of a call report (${decoder.leftover} bytes): the program was killed`);
  })();

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      // What it started and left behind goes with it: the tracer's pipe ends only then.
      killGroup(child.pid, 'SIGKILL');
      resolve({ code, signal });
    });
  });

  const done = (async (): Promise<TraceResult> => {
    const { code, signal } = await exited;
    // A process that left the group (setsid) can hold the pipe open after the group is killed:
    // wait a while for what is in the pipe, then stop listening to it.
    let timer: NodeJS.Timeout | undefined;
    const held = await Promise.race([
      reading.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), PIPE_DRAIN_MS);
      }),
    ]);
    clearTimeout(timer);
    if (held) {
      pipe.destroy();
      problems.push('a process the program started, outside its process group, kept the trace open after the program ended; what it did is not recorded');
      await reading.catch(() => {});
    }
    await recorder.end(stopped);
    const captures = recorder.captures.filter((d) => existsSync(d));
    return { exitCode: code, signal, captures, problems: [...problems, ...recorder.problems] };
  })();
  // An error before 'exit' (the command does not exist) rejects `done`; the pipe then never opens.
  done.catch(() => {});

  return {
    child,
    recorder,
    done,
    kill(signal) {
      stopped = true;
      killGroup(child.pid, signal);
    },
  };
}

/** Resolves when `check` holds, re-checked whenever the recorder changes; rejects after `ms` or when `ended` settles first. */
function waitOn<T>(recorder: TraceRecorder, check: () => T | undefined, ended: Promise<unknown>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let stop = (): void => {};
    const finish = (err: Error | null, value?: T): void => {
      clearTimeout(timer);
      stop();
      if (err) reject(err);
      else resolve(value as T);
    };
    const timer = setTimeout(() => finish(new Error(`${what}: not within ${ms / 1000} s`)), ms);
    const test = (): void => {
      const v = check();
      if (v !== undefined) finish(null, v);
    };
    stop = recorder.watch(test);
    void ended.then(
      () => {
        const v = check();
        if (v !== undefined) finish(null, v);
        else finish(new Error(`${what}: the program ended first`));
      },
      (err: Error) => finish(err),
    );
    test();
  });
}

/** How to run a server and a client, both traced, for one capture per connection with both sides. */
export interface TracePairOptions extends Omit<TraceOptions, 'argv' | 'merge'> {
  readonly server: readonly string[];
  /** The client; `{port}` in an argument becomes the port the server listens on. */
  readonly client: readonly string[];
  /** Longest wait for the server to listen, and for it to finish the client's connections (default 30 s). */
  readonly waitMs?: number;
  /** Aborting it sends its reason (a signal name, default SIGTERM) to both process groups and stops waiting. */
  readonly stop?: AbortSignal;
  /** Told of each program once started (to read its output when `stdio` is `pipe`). */
  readonly onStart?: (role: 'server' | 'client', run: TracedRun) => void;
}

/** How a traced server and client ended. */
export interface TracePairResult {
  readonly client: TraceResult;
  readonly server: TraceResult;
  /** Every capture left, joined ones (both sides) and any that found no other end. */
  readonly captures: readonly string[];
}

const key = (e: Endpoint | undefined): string => (e ? `${e.address}:${e.port}` : '');

/**
 * Starts `server` traced and waits until it listens; runs `client` traced to its end (with
 * `{port}` in its arguments replaced by the port the server listens on); waits until
 * the server has finished every connection the client made; then stops the server's process
 * group. Each connection's two captures are joined into one with both sides (see mergeTraced).
 * Throws when the server ends or does not listen in time (after stopping it).
 */
export async function tracePair(opts: TracePairOptions): Promise<TracePairResult> {
  const ms = opts.waitMs ?? 30_000;
  const { server: serverArgv, client: clientArgv, stop, onStart, ...common } = opts;
  const server = startTraced({ ...common, argv: serverArgv });
  onStart?.('server', server);
  const running: { client?: TracedRun } = {};
  const signalOf = (): NodeJS.Signals => (typeof stop?.reason === 'string' ? (stop.reason as NodeJS.Signals) : 'SIGTERM');
  const onStop = (): void => {
    running.client?.kill(signalOf());
    server.kill(signalOf());
  };
  stop?.addEventListener('abort', onStop, { once: true });
  const serverEnded = server.done.then(() => undefined);
  try {
    await waitOn(server.recorder, () => server.recorder.listening ?? undefined, serverEnded, ms, 'the server did not listen');
  } catch (err) {
    server.kill('SIGKILL');
    await server.done.catch(() => {});
    throw err;
  }
  const port = String(server.recorder.listening?.port ?? '');
  const client = startTraced({ ...common, argv: clientArgv.map((a) => a.replaceAll('{port}', port)) });
  running.client = client;
  onStart?.('client', client);
  if (stop?.aborted) onStop();
  const clientResult = await client.done;
  // The client's connections, by its local endpoint: the server's captures name it as the client.
  const wanted = new Set<string>();
  for (const dir of clientResult.captures) {
    const m = await readMeta(dir).catch(() => null);
    if (m?.client) wanted.add(key(m.client));
  }
  try {
    const stopped = new Promise<void>((resolve) => {
      if (stop?.aborted) resolve();
      stop?.addEventListener('abort', () => resolve(), { once: true });
    });
    await waitOn(
      server.recorder,
      () => ([...wanted].every((k) => server.recorder.finishedClients.has(k)) ? true : undefined),
      Promise.race([serverEnded, stopped]),
      ms,
      'the server did not finish the client’s connections',
    );
  } catch {
    // Stopped below all the same: its open connections are recorded as interrupted.
  }
  server.kill('SIGKILL');
  const serverResult = await server.done;
  stop?.removeEventListener('abort', onStop);
  const all = [...new Set([...clientResult.captures, ...serverResult.captures])].filter((d) => existsSync(d));
  return { client: clientResult, server: serverResult, captures: all.sort() };
}

/** How to run a traced server for connections that the caller makes itself. */
export interface TraceServerOptions extends Omit<TraceOptions, 'argv' | 'merge'> {
  readonly server: readonly string[];
  /**
   * Makes the connections, to the port the server listens on, and returns the folders of their
   * one-sided sender captures, written into `capturesDir` with `startNs` set (wirestep's sender
   * with `joinable`): each is joined with the server's capture of the same connection.
   */
  readonly connect: (port: number) => Promise<readonly string[]>;
  /** Longest wait for the server to listen, and for it to finish those connections (default 30 s). */
  readonly waitMs?: number;
  /** Told of the server once started (to read its output when `stdio` is `pipe`). */
  readonly onStart?: (run: TracedRun) => void;
}

/** How a traced server ended, and the captures of the connections made to it. */
export interface TraceServerResult {
  readonly server: TraceResult;
  /** Every capture left: joined ones (both sides) and any that found no other end. */
  readonly captures: readonly string[];
}

/**
 * Starts `server` traced and waits until it listens; runs `connect` with its port; waits until
 * the server has finished each connection whose capture `connect` returned; stops the server's
 * process group; then joins each of those captures with the server's capture of the same
 * connection (mergeTraced: same endpoints, overlapping times, the bytes received a prefix of the
 * bytes sent). So a staged fault of wirestep's sender and a traced receiver make one capture that
 * says which program made each side's calls. Throws when the server ends or does not listen in
 * time, or when `connect` throws (after stopping the server).
 */
export async function traceServer(opts: TraceServerOptions): Promise<TraceServerResult> {
  const ms = opts.waitMs ?? 30_000;
  const { server: serverArgv, connect, onStart, ...common } = opts;
  const server = startTraced({ ...common, argv: serverArgv, merge: false });
  onStart?.(server);
  const serverEnded = server.done.then(() => undefined);
  let senders: readonly string[];
  try {
    await waitOn(server.recorder, () => server.recorder.listening ?? undefined, serverEnded, ms, 'the server did not listen');
    senders = await connect(server.recorder.listening!.port);
  } catch (err) {
    server.kill('SIGKILL');
    await server.done.catch(() => {});
    throw err;
  }
  const metas = await Promise.all(senders.map((d) => readMeta(d).catch(() => null)));
  const wanted = new Set(metas.flatMap((m) => (m?.client ? [key(m.client)] : [])));
  try {
    await waitOn(server.recorder, () => ([...wanted].every((k) => server.recorder.finishedClients.has(k)) ? true : undefined), serverEnded, ms, 'the server did not finish the connections');
  } catch {
    // Stopped below all the same: its open connections are recorded as interrupted.
  }
  server.kill('SIGKILL');
  const serverResult = await server.done;
  const left = new Set([...senders, ...serverResult.captures].filter((d) => existsSync(d)));
  for (const [i, dir] of senders.entries()) {
    const meta = metas[i];
    if (!meta) continue;
    const other = await findOtherEnd(opts.capturesDir, meta);
    const joined = other ? await mergeTraced(opts.capturesDir, dir, other) : null;
    if (joined && other) {
      left.delete(dir);
      left.delete(other);
      left.add(joined);
    }
  }
  return { server: serverResult, captures: [...left].sort() };
}
