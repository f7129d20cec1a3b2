import { type ChildProcess, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { type TraceRecorder, startTraced } from '../trace/index.js';
import { killGroup } from '../trace/run.js';

/** How to run one hand-in: someone else's program, so always in its own folder and process group, with limits. */
export interface ProgramOptions {
  /** The program and its arguments, run as given: never through a shell. */
  readonly argv: readonly string[];
  /** Its working folder: a fresh one per hand-in (the grader makes it). */
  readonly cwd: string;
  /** Its environment (default: this one's). */
  readonly env?: NodeJS.ProcessEnv;
  /** After this long the whole process group is killed (SIGKILL); default 60 s. */
  readonly timeLimitMs?: number;
  /** At most this many bytes of stdout and of stderr are kept (default 64 KiB each); the rest is counted and dropped. */
  readonly outputCap?: number;
}

/** How a hand-in's run ended. */
export interface ProgramExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Whether the grader's time limit ended it. */
  readonly timedOut: boolean;
}

/** A hand-in while it runs. */
export interface RunningProgram {
  readonly child: ChildProcess;
  /** What it printed so far on stdout and stderr, each cut at the cap (with a note of how much was dropped). */
  output(): { stdout: string; stderr: string };
  /** Resolves once it has exited and what was left of its process group is killed. Never rejects. */
  readonly exited: Promise<ProgramExit>;
  /** Whether it is still running. */
  running(): boolean;
  /** Kills its whole process group (SIGTERM, then SIGKILL after `graceMs`, default 2 s) and waits for the exit. */
  stop(graceMs?: number): Promise<ProgramExit>;
}

/** Replaces `{port}`, `{folder}`, `{file}` (and any other `{key}` given) in each argument. */
export function substitute(argv: readonly string[], values: Readonly<Record<string, string | number>>): string[] {
  return argv.map((a) => a.replace(/\{([a-z]+)\}/g, (whole, k: string) => (k in values ? String(values[k]) : whole)));
}

/**
 * A hand-in runs in a working folder of its own, not the caller's: each argument that names a
 * file existing from the caller's folder (`server.py`, `entregas/ana/client.py`) is made
 * absolute, so it is still found there. Other arguments (a folder such as `--out recebidos`, a
 * flag, a number) are the program's business in its own folder and are left as they are.
 */
export function absoluteFileArgs(argv: readonly string[], from: string = process.cwd()): string[] {
  return argv.map((a) => {
    if (path.isAbsolute(a)) return a;
    const file = path.resolve(from, a);
    return statSync(file, { throwIfNoEntry: false })?.isFile() ? file : a;
  });
}

/** Keeps the first `cap` bytes of what a program printed and says how many more there were. */
export class CappedText {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private dropped = 0;
  constructor(private readonly cap: number) {}
  push(chunk: Buffer): void {
    const room = this.cap - this.kept;
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.chunks.push(Buffer.from(part));
      this.kept += part.length;
    }
    this.dropped += Math.max(0, chunk.length - Math.max(0, room));
  }
  text(): string {
    const t = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped > 0 ? `${t}\n[… ${this.dropped} more bytes not kept]\n` : t;
  }
}

/**
 * Starts a hand-in: no shell, its own working folder and process group, stdin closed, stdout and
 * stderr read and capped, killed (with its whole group) at the time limit. When it exits, what is
 * left of its group is killed too. Throws only when the program cannot be started at all; a
 * program that does not exist ends with `exited` giving code 127.
 */
export function startProgram(opts: ProgramOptions): RunningProgram {
  const [command, ...args] = opts.argv;
  if (command === undefined) throw new Error('no command to run');
  const cap = opts.outputCap ?? 64 * 1024;
  const stdout = new CappedText(cap);
  const stderr = new CappedText(cap);
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout?.on('data', (c: Buffer) => stdout.push(c));
  child.stderr?.on('data', (c: Buffer) => stderr.push(c));
  let timedOut = false;
  let alive = true;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid, 'SIGKILL');
  }, opts.timeLimitMs ?? 60_000);
  const exited = new Promise<ProgramExit>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      alive = false;
      clearTimeout(timer);
      stderr.push(Buffer.from(`wirestep: cannot run ${command}: ${err.code ?? err.message}\n`));
      resolve({ code: 127, signal: null, timedOut: false });
    });
    child.once('exit', (code, signal) => {
      alive = false;
      clearTimeout(timer);
      killGroup(child.pid, 'SIGKILL');
      resolve({ code, signal, timedOut });
    });
  });
  return {
    child,
    exited,
    output: () => ({ stdout: stdout.text(), stderr: stderr.text() }),
    running: () => alive,
    async stop(graceMs = 2000) {
      if (!alive) return exited;
      killGroup(child.pid, 'SIGTERM');
      const late = setTimeout(() => killGroup(child.pid, 'SIGKILL'), graceMs);
      const exit = await exited;
      clearTimeout(late);
      return exit;
    },
  };
}

/** How to run one hand-in under wirestep's tracer: as {@link ProgramOptions}, plus where its captures go. */
export interface TracedProgramOptions extends ProgramOptions {
  /** Folder its connections' captures go in, one capture per connection, never joined. */
  readonly capturesDir: string;
  /** `bind`/`connect` to port A use port B instead (a hard-coded 8181 sent to a free port). */
  readonly portMap?: ReadonlyMap<number, number>;
}

/** A Python hand-in running under the tracer: what {@link RunningProgram} offers, and its recorder. */
export interface TracedProgram extends RunningProgram {
  /** Records its connections; says where it listens and which captures are finished. */
  readonly recorder: TraceRecorder;
}

/**
 * Starts a Python hand-in under wirestep's tracer ({@link startTraced}) with the limits of
 * {@link startProgram}: its own folder and process group, stdout and stderr read and capped, the
 * whole group killed at the time limit. `exited` resolves once its captures are finished too.
 * Throws only when nothing can be started at all (no command, the tracer missing); a program that
 * does not exist ends with `exited` giving code 127.
 */
export function startTracedProgram(opts: TracedProgramOptions): TracedProgram {
  const cap = opts.outputCap ?? 64 * 1024;
  const stdout = new CappedText(cap);
  const stderr = new CappedText(cap);
  const run = startTraced({
    argv: opts.argv,
    cwd: opts.cwd,
    capturesDir: opts.capturesDir,
    stdio: 'pipe',
    merge: false,
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.portMap ? { portMap: opts.portMap } : {}),
  });
  run.child.stdout?.on('data', (c: Buffer) => stdout.push(c));
  run.child.stderr?.on('data', (c: Buffer) => stderr.push(c));
  let timedOut = false;
  let alive = true;
  const timer = setTimeout(() => {
    timedOut = true;
    run.kill('SIGKILL');
  }, opts.timeLimitMs ?? 60_000);
  run.child.once('exit', () => {
    alive = false;
  });
  const exited = run.done.then(
    (r): ProgramExit => ({ code: r.exitCode, signal: r.signal, timedOut }),
    (err: NodeJS.ErrnoException): ProgramExit => {
      stderr.push(Buffer.from(`wirestep: cannot run ${opts.argv[0] ?? ''}: ${err.code ?? err.message}\n`));
      return { code: 127, signal: null, timedOut: false };
    },
  ).finally(() => {
    alive = false;
    clearTimeout(timer);
  });
  return {
    child: run.child,
    recorder: run.recorder,
    exited,
    output: () => ({ stdout: stdout.text(), stderr: stderr.text() }),
    running: () => alive,
    async stop(graceMs = 2000) {
      if (!alive) return exited;
      run.kill('SIGTERM');
      const late = setTimeout(() => run.kill('SIGKILL'), graceMs);
      const exit = await exited;
      clearTimeout(late);
      return exit;
    },
  };
}
