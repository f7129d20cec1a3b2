import { mkdir, mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CALL_FLAGS, CaptureReader, type Endpoint } from '../capture/index.js';
import { type ConnectionResult, referenceFiles, startReceiver } from '../net/index.js';
import { Dissector, type Lang } from '../protocol/index.js';
import { programName, startTraced } from '../trace/index.js';
import { type ExpectedFile, type FileSource, StreamJudge, type Verdict } from './judge.js';
import { CappedText, absoluteFileArgs, startProgram, substitute } from './program.js';
import { type CheckReport, type CheckResult, type Finding, scoreOf } from './types.js';

/** How to grade one client. */
export interface ClientCheckOptions {
  /** The client's command line, `{port}` and `{folder}` still in it; run as given, never through a shell. */
  readonly argv: readonly string[];
  readonly lang?: Lang;
  /** Folder the captures of every run go in (created). */
  readonly capturesDir: string;
  /** Folder the findings' `place.capture` paths are relative to (default: the parent of `capturesDir`). */
  readonly reportDir?: string;
  /** The port a client with no `{port}` connects to (default 8181, the reference's). */
  readonly port?: number;
  /** Each run of the client is killed, with its process group, after this long (ms; default 30 s). */
  readonly timeLimitMs?: number;
  /** Added to the client's environment (which is this process's, with Python told to speak UTF-8). */
  readonly env?: NodeJS.ProcessEnv;
  /** Told of each check as it ends, for progress. */
  readonly onCheck?: (result: CheckResult) => void;
  /** Aborting it kills the running client's process group and ends the grading (the class limit of `--each`). */
  readonly signal?: AbortSignal;
}

/** One folder the grader prepares, and the check that grades what the client sent of it. */
interface ClientCase {
  readonly id: string;
  readonly points: number;
  readonly lesson: string;
  /** A folder no client can send whole: refusing it (exiting non-zero without connecting) is right too. */
  readonly refusable?: boolean;
  files(): ExpectedFile[];
}

const te = new TextEncoder();

/** 3 MiB in which every byte value comes many times, in no simple period. */
function everyByte(): Uint8Array {
  return Uint8Array.from({ length: 3 * 1024 * 1024 }, (_, i) => (i + (i >> 8)) % 256);
}

/**
 * The folders the grader prepares, one run of the client each, so that one file's derail spoils
 * no other check. Names a client may list in any order; a name over 128 bytes (140 here) cannot
 * be sent: the client must leave it out and send the file beside it, or refuse the folder (exit
 * non-zero without connecting), never send it whole.
 */
export const CLIENT_CASES: readonly ClientCase[] = [
  { id: 'client.ten-files', points: 3, lesson: 'framing', files: () => referenceFiles().map((f) => ({ name: f.name, data: te.encode(f.text) })) },
  { id: 'client.empty-file', points: 1, lesson: 'framing', files: () => [{ name: 'vazio.txt', data: new Uint8Array(0) }] },
  { id: 'client.accented-name', points: 2, lesson: 'text-in-fields', files: () => [{ name: 'relatório_ação.txt', data: te.encode('Olá, conexão!\n') }] },
  { id: 'client.long-name', points: 2, lesson: 'text-in-fields', refusable: true, files: () => [{ name: `${'n'.repeat(136)}.txt`, data: te.encode('conteúdo\n') }, { name: 'curto.txt', data: te.encode('curto\n') }] },
  { id: 'client.every-byte', points: 2, lesson: 'exact-reads', files: () => [{ name: 'every_byte.bin', data: everyByte() }] },
];

/** The check of a client that chose its own folder (no `{folder}` in its command). */
const OWN_FILES = { id: 'client.own-files', points: 6, lesson: 'framing' } as const;
/** The check of what send() returned, from the trace of a Python client. */
const SEND_RETURN = { id: 'client.send-return', points: 2, lesson: 'exact-reads' } as const;

/** A declared size the receiver and the judge accept: far above the grader's files, far below a derail's. */
const MAX_FILE_SIZE = 1n << 30n;
const OUTPUT_CAP = 16 * 1024;
/** Safety net for the receiver's own bookkeeping after the client has ended; never reached when it works. */
const SETTLE_MS = 30_000;

/** The lesson that teaches what a finding found wrong, else the check's own. */
function lessonFor(finding: Finding | undefined, fallback: string): string {
  switch (finding?.kind) {
    case 'size-little-endian':
    case 'count-little-endian':
      return 'byte-order';
    case 'size-in-characters':
    case 'name-not-padded':
    case 'name-over-128':
    case 'stream-name-unpadded':
      return 'text-in-fields';
    case 'stream-truncated':
    case 'stream-fewer-files-than-count':
      return 'broken-streams';
    default:
      return fallback;
  }
}

/** Whether the command runs Python, so it can be traced: `python3 …`, `python3.12 …` or a `.py` script. */
export function runsPython(argv: readonly string[]): boolean {
  const exe = path.basename(argv[0] ?? '');
  return /^python[\d.]*$/.test(exe) || exe.endsWith('.py');
}

/** How one run of the client ended. */
interface RunEnd {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly output: string;
  /** Captures of the client's own calls (traced runs only). */
  readonly traced: readonly string[];
}

/** Runs the client once, traced when it is Python (a hard-coded `port` then goes to `target`), killed with its group at the limit. */
async function runClient(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv, opts: { traced: boolean; port: number; target: number; capturesDir: string; timeLimitMs: number; signal?: AbortSignal }): Promise<RunEnd> {
  if (!opts.traced) {
    const run = startProgram({ argv, cwd, env, timeLimitMs: opts.timeLimitMs, outputCap: OUTPUT_CAP });
    const onAbort = (): void => void run.stop(0);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const exit = await run.exited;
    opts.signal?.removeEventListener('abort', onAbort);
    const { stdout, stderr } = run.output();
    return { ...exit, output: stdout + stderr, traced: [] };
  }
  const portMap = new Map([[opts.port, opts.target]]);
  let run;
  try {
    run = startTraced({ argv, cwd, env, capturesDir: opts.capturesDir, portMap, stdio: 'pipe', merge: false });
  } catch (err) {
    return { code: 127, signal: null, timedOut: false, output: `wirestep: cannot run ${argv[0]}: ${(err as Error).message}\n`, traced: [] };
  }
  const kept = new CappedText(OUTPUT_CAP);
  run.child.stdout?.on('data', (b: Buffer) => kept.push(b));
  run.child.stderr?.on('data', (b: Buffer) => kept.push(b));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    run.kill('SIGKILL');
  }, opts.timeLimitMs);
  const onAbort = (): void => run.kill('SIGKILL');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const r = await run.done;
    return { code: r.exitCode, signal: r.signal, timedOut, output: kept.text(), traced: r.captures };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { code: 127, signal: null, timedOut: false, output: `wirestep: cannot run ${argv[0]}: ${code ?? (err as Error).message}\n`, traced: [] };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

const keyOf = (e: Endpoint): string => `${e.address}:${e.port}`;

/**
 * Runs the client once against a fresh receiver and returns the connections it made, in the
 * order they were accepted, each with its result. To know that every connection of the client
 * has been accepted, the grader then connects once itself: accepts come in order, so once its own
 * is seen, none of the client's is still queued. That connection's capture is removed.
 */
async function receiveFrom(argv: readonly string[], values: Record<string, string | number>, cwd: string, env: NodeJS.ProcessEnv, opts: ClientCheckOptions & { traced: boolean; outDir: string }): Promise<{ end: RunEnd; connections: ConnectionResult[] }> {
  const hardPort = opts.port ?? 8181;
  const named = argv.some((a) => a.includes('{port}'));
  const receiver = await startReceiver({
    host: '127.0.0.1',
    // A client told no port, and not traced, can only be met on the port it has in its code.
    port: named || opts.traced ? 0 : hardPort,
    outDir: opts.outDir,
    capturesDir: opts.capturesDir,
    maxFileSize: MAX_FILE_SIZE,
    idleTimeoutMs: 0,
    minRate: 0,
    headerTimeoutMs: 0,
    displaceAfterMs: 0,
  });
  const accepted: Endpoint[] = [];
  const results = new Map<string, ConnectionResult>();
  const wakers = new Set<() => void>();
  const wake = (): void => wakers.forEach((w) => w());
  receiver.on('connection', (e: Endpoint) => {
    accepted.push(e);
    wake();
  });
  receiver.on('result', (r: ConnectionResult) => {
    results.set(keyOf(r.client), r);
    wake();
  });
  const until = (test: () => boolean, what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!test()) return;
        clearTimeout(timer);
        wakers.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        wakers.delete(check);
        reject(new Error(`the grader's receiver: ${what}`));
      }, SETTLE_MS);
      wakers.add(check);
      check();
    });
  try {
    const port = receiver.address.port;
    const end = await runClient(substitute(argv, { ...values, port }), cwd, env, { traced: opts.traced, port: hardPort, target: port, capturesDir: opts.capturesDir, timeLimitMs: opts.timeLimitMs ?? 30_000, ...(opts.signal ? { signal: opts.signal } : {}) });
    const probe = net.connect({ host: '127.0.0.1', port });
    probe.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      probe.once('connect', resolve);
      probe.once('error', reject);
    });
    const mine = `${probe.localAddress}:${probe.localPort}`;
    await until(() => accepted.some((e) => keyOf(e) === mine), 'its own connection was not accepted');
    probe.destroy();
    await until(() => accepted.every((e) => results.has(keyOf(e))), 'a connection did not finish');
    const own = results.get(mine)?.captureDir;
    if (own) await rm(own, { recursive: true, force: true });
    return { end, connections: accepted.filter((e) => keyOf(e) !== mine).map((e) => results.get(keyOf(e))!) };
  } finally {
    await receiver.close();
  }
}

/** Judges a recorded stream block by block with the dissector the receiver uses. */
async function judgeCapture(dir: string, source: FileSource): Promise<Verdict | null> {
  const reader = await CaptureReader.open(dir);
  try {
    const judge = new StreamJudge(source, (offset, length) => reader.read(offset, length));
    const dissector = new Dissector({ maxFileSize: MAX_FILE_SIZE });
    const block = 1 << 20;
    for (let at = 0; at < reader.streamLength && !judge.verdict; at += block) {
      await judge.take(dissector.push(await reader.read(at, block)));
    }
    if (!judge.verdict) await judge.take(dissector.end());
    return judge.finish(reader.streamLength);
  } finally {
    await reader.close();
  }
}

/** Regular files under `root` by base name (the first found of each), at most `limit` entries looked at, 6 folders deep. */
async function indexFiles(root: string, limit = 10_000): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  let seen = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (++seen > limit) return;
      const full = path.join(dir, e.name);
      if (e.isFile() && !found.has(e.name)) found.set(e.name, full);
      else if (e.isDirectory() && depth < 6) await walk(full, depth + 1);
    }
  };
  await walk(root, 0);
  return found;
}

/** Reads a regular file of at most MAX_FILE_SIZE bytes, without following a link; null otherwise. */
async function readBounded(file: string): Promise<Uint8Array | null> {
  try {
    const h = await open(file, 'r');
    try {
      const st = await h.stat();
      if (!st.isFile() || st.size > Number(MAX_FILE_SIZE)) return null;
      return await h.readFile();
    } finally {
      await h.close();
    }
  } catch {
    return null;
  }
}

/**
 * Where a client that chose its own folder finds its files: a file of that name in its working
 * folder (made fresh for it, so a relative folder lands there), else one of the reference
 * client's ten `arquivo_N.txt`, which it writes into a folder of its own (`/home/ALUNO/…`).
 */
async function ownFilesSource(cwd: string): Promise<FileSource> {
  const index = await indexFiles(cwd);
  const reference = new Map(referenceFiles().map((f) => [f.name, te.encode(f.text)]));
  return {
    kind: 'lookup',
    async find(name) {
      const at = index.get(name);
      const data = at ? await readBounded(at) : (reference.get(name) ?? null);
      return data ? { name, data } : null;
    },
  };
}

/** The first partial send a traced client made and did not finish: what it was given, what went, what it did next. */
async function partialSendIgnored(dir: string): Promise<{ offset: number; asked: number; moved: number; next: number | null; program: string } | null> {
  const reader = await CaptureReader.open(dir);
  try {
    let partial: { offset: number; asked: number; moved: number } | null = null;
    for await (const e of reader.eachEvent('sender')) {
      if (e.type !== 'write' || !e.call || e.call.asked === null) continue;
      const program = reader.meta.programs?.sender?.name ?? 'client';
      if (partial) {
        // A client that checks send()'s return value gives the next call what is left over.
        if (e.call.asked === partial.asked - partial.moved) partial = null;
        else return { ...partial, next: e.call.asked, program };
      }
      if (e.call.flags & CALL_FLAGS.partial) partial = { offset: e.offset, asked: e.call.asked, moved: e.length };
    }
    return partial ? { ...partial, next: null, program: reader.meta.programs?.sender?.name ?? 'client' } : null;
  } finally {
    await reader.close();
  }
}

/**
 * Grades a student's client: runs it once per folder the grader prepares ({@link CLIENT_CASES};
 * `{folder}` and `{port}` in its arguments are replaced), each time against a fresh wirestep
 * receiver that records a capture, and judges what arrived against the folder's files, field by
 * field. A command with no `{folder}` is run once and judged against the files it sent (found in
 * its working folder, or the reference's ten). A Python client is traced, so a hard-coded port
 * (`port`, 8181) is redirected and its send() calls are judged too ({@link SEND_RETURN}). Each run
 * has its own working folder and time limit, and its process group is killed at the end.
 * Throws only when the grader itself cannot work (no free port, no room for its folders).
 */
/** Why a client that never connected failed, as data: stopped at the time limit, killed by a signal, or ended with an exit code. */
function noConnection(end: { code: number | null; signal: NodeJS.Signals | string | null; timedOut: boolean }, limitMs: number): Finding {
  if (end.timedOut) return { kind: 'client-timeout-no-connection', values: { seconds: limitMs / 1000 } };
  if (end.code === null && end.signal) return { kind: 'client-killed-no-connection', values: { signal: end.signal } };
  return { kind: 'client-no-connection', values: { code: end.code ?? '?' } };
}

export async function checkClient(options: ClientCheckOptions): Promise<CheckReport> {
  // The client runs in a folder of its own, where it writes its own files: `client.py` is found
  // from here all the same, as `check server` finds `server.py`.
  const opts = { ...options, argv: absoluteFileArgs(options.argv) };
  const started = Date.now();
  const lang = opts.lang ?? 'en';
  const reportDir = opts.reportDir ?? path.dirname(path.resolve(opts.capturesDir));
  const place = (dir: string): string => path.relative(reportDir, dir).split(path.sep).join('/');
  const traced = runsPython(opts.argv);
  const env = { ...process.env, PYTHONUTF8: '1', PYTHONIOENCODING: 'utf-8', PYTHONUNBUFFERED: '1', ...opts.env };
  const withFolder = opts.argv.some((a) => a.includes('{folder}'));
  await mkdir(opts.capturesDir, { recursive: true });
  const work = await mkdtemp(path.join(tmpdir(), 'wirestep-check-client-'));
  const checks: CheckResult[] = [];
  const tracedCaptures: string[] = [];
  let connectedOnce = false;
  const done = (r: CheckResult): void => {
    checks.push(r);
    opts.onCheck?.(r);
  };
  try {
    const cases = withFolder ? CLIENT_CASES : [{ ...OWN_FILES, files: () => [] }];
    for (const c of cases) {
      if (opts.signal?.aborted) break;
      const t0 = Date.now();
      const base = { id: c.id, group: 'client' as const, maxPoints: c.points };
      const dir = path.join(work, c.id.replace(/^client\./, ''));
      const folder = path.join(dir, 'files');
      const cwd = path.join(dir, 'cwd');
      await mkdir(folder, { recursive: true });
      await mkdir(cwd);
      const files = c.files();
      for (const f of files) await writeFile(path.join(folder, f.name), f.data);
      try {
        const { end, connections } = await receiveFrom(opts.argv, { folder }, cwd, env, { ...opts, traced, outDir: path.join(dir, 'received') });
        tracedCaptures.push(...end.traced);
        const first = connections[0];
        let verdict: Verdict | null;
        // A refusal counts only from a client that connected in an earlier case: one that crashes on every folder refuses nothing.
        const refused = 'refusable' in c && c.refusable === true && end.code !== 0 && !end.timedOut && connectedOnce;
        if (first?.captureDir) connectedOnce = true;
        if (!first?.captureDir) verdict = refused ? null : { finding: noConnection(end, opts.timeLimitMs ?? 30_000) };
        else verdict = await judgeCapture(first.captureDir, withFolder ? { kind: 'folder', files } : await ownFilesSource(cwd));
        if (!verdict && connections.length > 1) verdict = { finding: { kind: 'client-several-connections', values: { count: connections.length } } };
        if (!verdict && end.timedOut) verdict = { finding: { kind: 'client-timeout', values: { seconds: (opts.timeLimitMs ?? 30_000) / 1000 } } };
        const where = first?.captureDir ? { place: { capture: place(first.captureDir), ...(verdict?.field ? { field: verdict.field } : {}), ...(verdict?.offset !== undefined ? { offset: verdict.offset } : {}) } } : {};
        done({
          ...base,
          status: verdict ? 'fail' : 'pass',
          points: verdict ? 0 : c.points,
          ...(verdict ? { finding: verdict.finding } : {}),
          ...where,
          lesson: lessonFor(verdict?.finding, c.lesson),
          output: end.output,
          durationMs: Date.now() - t0,
        });
      } catch (err) {
        done({ ...base, status: 'error', points: 0, finding: { kind: 'grader-error', values: { message: (err as Error).message } }, lesson: c.lesson, durationMs: Date.now() - t0 });
      }
    }
    if (traced) {
      const t0 = Date.now();
      let found: (Awaited<ReturnType<typeof partialSendIgnored>> & { dir: string }) | null = null;
      for (const dir of tracedCaptures) {
        const p = await partialSendIgnored(dir).catch(() => null);
        if (p) {
          found = { ...p, dir };
          break;
        }
      }
      const finding: Finding | undefined = found
        ? {
            kind: found.next === null ? 'send-partial-ended' : 'send-partial-ignored',
            values: { program: found.program || programName(opts.argv), offset: found.offset, asked: found.asked, moved: found.moved, rest: found.asked - found.moved, ...(found.next === null ? {} : { next: found.next }) },
          }
        : undefined;
      done({
        id: SEND_RETURN.id,
        group: 'client',
        status: found ? 'fail' : 'pass',
        points: found ? 0 : SEND_RETURN.points,
        maxPoints: SEND_RETURN.points,
        ...(finding ? { finding } : {}),
        ...(found ? { place: { capture: place(found.dir), offset: found.offset + found.moved } } : {}),
        lesson: SEND_RETURN.lesson,
        durationMs: Date.now() - t0,
      });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { target: 'client', command: [...opts.argv], lang, startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, ...scoreOf(checks), checks };
}
