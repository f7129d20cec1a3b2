/**
 * What the tests, the sample recorder, the bench and the comparison script share to drive other
 * processes: a free port, the shipped assignment's programs and a wait on a child's output.
 * Compiled with the scripts (tsconfig) and imported by test/helpers, so there is one copy.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { assignmentPaths } from '../../src/assignment/index.js';
import { decodeTcp } from '../../src/wire/frames.js';
import { CaptureFileParser } from '../../src/wire/pcap.js';
import { TCP_FLAGS } from '../../src/wire/types.js';

/** The shipped client.py and server.py (and their folder), by absolute path. */
export const ASSIGNMENT = assignmentPaths();
/** The Python interpreter the programs run with (`PYTHON` in the environment, else python3). */
export const PYTHON = process.env.PYTHON ?? 'python3';
/** Python's environment: UTF-8 for the emoji and accents they print, and no stdout buffering. */
export const PY_ENV = { ...process.env, PYTHONUTF8: '1', PYTHONIOENCODING: 'utf-8', PYTHONUNBUFFERED: '1' };

export { freePort } from '../../src/net/ports.js';

/**
 * Writes `pieces` to 127.0.0.1:`port` as separate writes, then ends (or resets, with `reset`).
 * For streams wirestep's own sender would refuse to make.
 */
export async function sendRaw(port: number, pieces: readonly Uint8Array[], opts: { reset?: boolean } = {}): Promise<void> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  for (const p of pieces) {
    if (!socket.write(p)) await new Promise((r) => socket.once('drain', r));
  }
  if (opts.reset) {
    socket.resetAndDestroy();
    return;
  }
  socket.end();
  await new Promise((r) => socket.once('close', r));
}

/** What a child process has printed so far, and waits on it. */
export interface ChildOutput {
  /** Everything printed so far (stdout and stderr interleaved, unless only stdout is watched). */
  text(): string;
  /**
   * Resolves with the first match once the output has matched `pattern` `count` times (default 1);
   * rejects when the process ends first or after `ms` (default 30 s), with the output in the message.
   */
  waitFor(pattern: string | RegExp, options?: { count?: number; ms?: number }): Promise<RegExpMatchArray>;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Collects what `child` prints on stdout and stderr (or stdout only) from now on. Waits are woken
 * by the output itself and by the process's end, never by polling.
 */
export function watchOutput(child: ChildProcess, streams: 'both' | 'stdout' = 'both'): ChildOutput {
  let out = '';
  let ended = false;
  const listeners = new Set<() => void>();
  const wake = (): void => {
    for (const l of listeners) l();
  };
  const take = (b: Buffer): void => {
    out += b.toString();
    wake();
  };
  child.stdout?.on('data', take);
  if (streams === 'both') child.stderr?.on('data', take);
  child.once('close', () => {
    ended = true;
    wake();
  });
  child.once('error', (err) => {
    out += `\n${child.spawnfile}: ${err.message}\n`;
    ended = true;
    wake();
  });
  return {
    text: () => out,
    waitFor(pattern, { count = 1, ms = 30_000 } = {}) {
      const source = typeof pattern === 'string' ? escapeRegExp(pattern) : pattern.source;
      const flags = typeof pattern === 'string' ? 'g' : pattern.flags.replace('g', '') + 'g';
      const re = new RegExp(source, flags);
      const what = `${child.spawnfile} ${child.spawnargs.slice(1).join(' ')}`;
      return new Promise<RegExpMatchArray>((resolve, reject) => {
        const done = (err: Error | null, match?: RegExpMatchArray): void => {
          clearTimeout(timer);
          listeners.delete(check);
          if (err) reject(err);
          else resolve(match!);
        };
        const check = (): void => {
          const matches = [...out.matchAll(re)];
          if (matches.length >= count) done(null, matches[0]!);
          // Only after close: output can still arrive between the exit and the end of its pipes.
          else if (ended) done(new Error(`${what} ended before printing ${pattern} ×${count}:\n${out}`));
        };
        const timer = setTimeout(() => done(new Error(`${what} did not print ${pattern} ×${count} within ${ms} ms:\n${out}`)), ms);
        listeners.add(check);
        check();
      });
    },
  };
}

/** A running assignment server.py. */
export interface AssignmentServer {
  readonly child: ChildProcess;
  /** The port it listens on, as its first line says. */
  readonly port: number;
  readonly output: ChildOutput;
  /** Kills it (SIGKILL if still running) and waits for its end. */
  stop(): Promise<void>;
}

/**
 * Starts the shipped server.py saving into `out` on 127.0.0.1 port 0 (or `port`), and resolves
 * once it prints the port it listens on. Throws with its output when it does not start.
 */
export async function startAssignmentServer(out: string, options: { port?: number } = {}): Promise<AssignmentServer> {
  const child = spawn(PYTHON, [ASSIGNMENT.server, '--port', String(options.port ?? 0), '--out', out], { env: PY_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = watchOutput(child);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const closed = new Promise((r) => child.once('close', r));
      child.kill('SIGKILL');
      await closed;
    }
  };
  try {
    const m = await output.waitFor(/Servidor ouvindo em [^\n]*:(\d+)\n/, { ms: 20_000 });
    return { child, port: Number(m[1]), output, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Runs the shipped client.py to the end against 127.0.0.1:`port`, sending `folder` (after writing
 * its ten test files there, unless `testFiles` is false). Resolves with what it printed; rejects
 * with its output when it exits non-zero or runs longer than `ms`.
 */
export async function runAssignmentClient(port: number, folder: string, options: { testFiles?: boolean; ms?: number } = {}): Promise<string> {
  const args = [ASSIGNMENT.client, '--port', String(port), '--folder', folder, ...(options.testFiles === false ? ['--no-test-files'] : [])];
  try {
    const { stdout } = await promisify(execFile)(PYTHON, args, { env: PY_ENV, timeout: options.ms ?? 30_000 });
    return stdout;
  } catch (err) {
    const e = err as { message: string; stdout?: string; stderr?: string };
    throw new Error(`client.py failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
  }
}

/** Runs `command` with `args` to the end, its output gathered: for a test that checks a CLI's exit and words. */
export async function runToEnd(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((resolve) => proc.once('close', resolve));
  return { code, stdout, stderr };
}

/** The TCP segments dumpcap has written to `file` so far (none while it has written no whole block). */
async function segmentsIn(file: string): Promise<ReturnType<typeof decodeTcp>[]> {
  const bytes = await readFile(file).catch(() => Buffer.alloc(0));
  if (bytes.length === 0) return [];
  try {
    return new CaptureFileParser().push(bytes).map((p) => decodeTcp(p));
  } catch {
    return [];
  }
}

/** Polls `file` every 50 ms, for 60 s at most, until one of its segments passes `test`. */
async function untilSegment(file: string, test: (seg: Exclude<ReturnType<typeof decodeTcp>, { skipped: string }>) => boolean, poke: () => Promise<void>, what: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    await poke();
    if ((await segmentsIn(file)).some((seg) => !('skipped' in seg) && test(seg))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`dumpcap did not write ${what} to ${file} within 60 s`);
}

/**
 * Starts dumpcap on the loopback interface for TCP port `port`, writing to `file`, and resolves
 * once it really captures: dumpcap says "Capturing on" before its filter sees the first packet,
 * so connections to a probe port of ours (in the same filter) are made until one is in the file.
 * Those connections go to another port: an import of `port` never sees them.
 */
export async function startDumpcap(file: string, port: number): Promise<ChildProcess> {
  const probe = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const probePort = (probe.address() as net.AddressInfo).port;
  const child = spawn('dumpcap', ['-i', 'lo', '-f', `tcp port ${port} or tcp port ${probePort}`, '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    await watchOutput(child).waitFor('Capturing on', { ms: 60_000 });
    const knock = async (): Promise<void> => {
      const s = net.connect(probePort, '127.0.0.1');
      s.on('error', () => {});
      await new Promise((resolve) => s.once('close', resolve));
    };
    await untilSegment(file, (seg) => seg.dst.port === probePort, knock, `a probe to port ${probePort}`);
    return child;
  } catch (err) {
    child.kill('SIGINT');
    throw err;
  } finally {
    probe.close();
  }
}

/**
 * Waits until dumpcap has written the server's FIN of a connection to `port` (the last packet a
 * test needs), for 60 s at most: dumpcap writes what it captured a little later, and a loaded
 * machine makes it later still.
 */
export async function waitForServerFin(file: string, port: number): Promise<void> {
  await untilSegment(file, (seg) => seg.src.port === port && (seg.flags & TCP_FLAGS.fin) !== 0, async () => {}, `the FIN of the server on port ${port}`);
}

/**
 * Waits until dumpcap has written the server's FIN or RST of a connection to `port`, for 60 s at
 * most: the last packet of a connection the server ends by a reset (closing with unread bytes).
 */
export async function waitForServerClose(file: string, port: number): Promise<void> {
  await untilSegment(file, (seg) => seg.src.port === port && (seg.flags & (TCP_FLAGS.fin | TCP_FLAGS.rst)) !== 0, async () => {}, `the FIN or RST of the server on port ${port}`);
}
