import net from 'node:net';
import { cp, mkdir, mkdtemp, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Endpoint, readMeta } from '../capture/index.js';
import { type Lang, dissect, encodeTransfer } from '../protocol/index.js';
import { candidateName } from '../net/receiver.js';
import { freePort } from '../net/ports.js';
import type { TraceRecorder } from '../trace/index.js';
import { runsPython } from './client.js';
import { GraderConnection } from './connection.js';
import { type Expectation, expectOf } from './expect.js';
import { type ProgramExit, type RunningProgram, type TracedProgram, absoluteFileArgs, startProgram, startTracedProgram, substitute } from './program.js';
import { type CaseContext, SERVER_CASES, STALL_CHECKS, type ServerCase, cutForPlan } from './server-cases.js';
import { findShortRead } from './server-trace.js';
import { type CheckReport, type CheckResult, type Finding, type FindingPlace, scoreOf } from './types.js';

/** How to grade a server. */
export interface ServerCheckOptions {
  /** The student's server and its arguments; `{port}` and `{folder}` are replaced. Ignored with `connect`. */
  readonly command: readonly string[];
  /** The port a command without `{port}` listens on (default 8181). */
  readonly port?: number;
  /** Grade a server already running there, for the checks that need no access to its folder. */
  readonly connect?: { readonly host: string; readonly port: number };
  readonly lang?: Lang;
  /** Folder of the report: each check's captures go to `captures/<check-id>/` in it. None: no captures. */
  readonly reportDir?: string;
  /** How long a case may take to be served, in ms (default 10 000). */
  readonly caseLimitMs?: number;
  /** How long the next client (the probe, the second of two) may wait to be served, in ms (default 5 000). */
  readonly serveLimitMs?: number;
  /** How long a silent client may be kept before the server should have closed it, in ms (default 35 000). */
  readonly stallLimitMs?: number;
  /** How long the server may take to listen after it starts, in ms (default 15 000). */
  readonly startLimitMs?: number;
  /** Only these check ids (default: all). */
  readonly only?: readonly string[];
  /** The server's environment (default: this one's). */
  readonly env?: NodeJS.ProcessEnv;
  /** Called as each check is judged (for progress). */
  readonly onCheck?: (result: CheckResult) => void;
  /** Aborting it stops the server's process group at once and ends the grading after the current case (the class limit of `--each`). */
  readonly signal?: AbortSignal;
}

/** What one case came to: the finding, what the traced server did there, and where to look. */
interface Verdict {
  readonly id: string;
  readonly finding?: Finding;
  readonly cause?: Finding;
  readonly place?: FindingPlace;
}

const POLL_MS = 25;
/** Socket errors of a connect that are the server's doing: anything else is the grader's own failure. */
const SERVER_REFUSALS = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'ECONNRESET']);
/** At most this many bytes of the server's stdout and of its stderr are kept. */
const OUTPUT_CAP = 64 * 1024;

/** Polls `test` every 25 ms until it holds or `limitMs` passed; returns whether it held. */
async function until(test: () => Promise<boolean> | boolean, limitMs: number): Promise<boolean> {
  const end = Date.now() + limitMs;
  for (;;) {
    if (await test()) return true;
    if (Date.now() >= end) return false;
    await sleep(POLL_MS);
  }
}

/** Whether something accepts a TCP connection at `port` of `host` within `limitMs` ms (a listener whose queue is full drops the SYN: not accepting). */
function listening(host: string, port: number, limitMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.setTimeout(limitMs, () => {
      s.destroy();
      resolve(false);
    });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** The student's server: started in its folder, restarted when a case kills or wedges it; a Python one under the tracer. */
class ServerUnderTest {
  #run: RunningProgram | null = null;
  /** Every traced run's recorder so far (a restart makes a new one), to find a connection's capture in. */
  readonly #recorders: TraceRecorder[] = [];
  /** Client endpoint (`address:port`) of each finished traced capture, to its folder. */
  readonly #traced = new Map<string, string>();
  /** Capture folders already read for their endpoint. */
  readonly #seen = new Set<string>();
  port = 0;
  /** How much of its stdout, and of its stderr, {@link newOutput} has already returned. */
  #printed = 0;
  #printedErr = 0;

  /**
   * @param traceDir With a folder, a Python command is run under wirestep's tracer and each
   *   connection it accepts is recorded there (its own `recv()` calls); null runs it as it is.
   */
  constructor(
    private readonly argv: readonly string[],
    private readonly cwd: string,
    private readonly fixedPort: number,
    private readonly env: NodeJS.ProcessEnv | undefined,
    private readonly startLimitMs: number,
    private readonly traceDir: string | null,
    private readonly signal?: AbortSignal,
  ) {
    // Aborting stops whatever run is current, also one started after the abort began.
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  readonly #onAbort = (): void => void this.stop();

  /** Stops it and forgets the abort signal (one signal may serve many gradings). */
  async dispose(): Promise<void> {
    this.signal?.removeEventListener('abort', this.#onAbort);
    await this.stop();
  }

  /** Whether its connections are traced. */
  get traced(): boolean {
    return this.traceDir !== null;
  }

  /**
   * Starts it and waits until it listens; false when it does not. A command that takes `{port}`
   * gets a fresh port; a traced one without `{port}` has its fixed port mapped to a fresh one, so
   * two gradings never fight over 8181; any other runs on the fixed port.
   */
  async start(): Promise<boolean> {
    const takesPort = this.argv.some((a) => a.includes('{port}'));
    const argv = (port: number): string[] => substitute(this.argv, { port, folder: this.cwd });
    const limits = { cwd: this.cwd, env: this.env, timeLimitMs: 30 * 60_000, outputCap: OUTPUT_CAP };
    this.#printed = 0;
    this.#printedErr = 0;
    if (this.signal?.aborted) return false;
    let run: RunningProgram;
    let listens: () => Promise<boolean> | boolean;
    if (this.traceDir === null) {
      this.port = takesPort ? await freePort() : this.fixedPort;
      // Something already on the fixed port would be graded in the student's place.
      if (!takesPort && (await listening('127.0.0.1', this.port))) throw new Error(`port ${this.port} is busy: another program already listens there`);
      if (this.signal?.aborted) return false;
      run = startProgram({ ...limits, argv: argv(this.port) });
      listens = () => listening('127.0.0.1', this.port);
    } else {
      this.port = await freePort();
      const portMap = takesPort ? undefined : new Map([[this.fixedPort, this.port]]);
      let traced: TracedProgram;
      try {
        traced = startTracedProgram({ ...limits, argv: argv(this.port), capturesDir: this.traceDir, ...(portMap ? { portMap } : {}) });
      } catch {
        return false;
      }
      this.#recorders.push(traced.recorder);
      run = traced;
      // The tracer says when it listens: no probing connection, which would be one more capture.
      listens = () => traced.recorder.listening?.port === this.port;
    }
    this.#run = run;
    if (this.signal?.aborted) {
      await this.stop();
      return false;
    }
    const ok = await until(async () => !run.running() || this.signal?.aborted === true || (await listens()), this.startLimitMs);
    // A server that runs but never listens is not up: stopped, so that a retry starts afresh.
    if (ok && run.running() && !this.signal?.aborted) return true;
    await this.stop();
    return false;
  }

  /**
   * The folder of the traced capture of the connection whose client end is `local`, once the
   * server has finished it (closed it, or ended); null when it is not traced, or not finished
   * within `limitMs`.
   */
  async tracedCapture(local: Endpoint, limitMs: number): Promise<string | null> {
    if (!this.traced) return null;
    const key = `${local.address}:${local.port}`;
    const finished = (): boolean => this.#recorders.some((r) => r.finishedClients.has(key));
    if (!finished() && !(await until(finished, limitMs))) return null;
    for (const r of this.#recorders) {
      for (const dir of r.captures) {
        if (this.#seen.has(dir)) continue;
        this.#seen.add(dir);
        const meta = await readMeta(dir).catch(() => null);
        if (meta?.client) this.#traced.set(`${meta.client.address}:${meta.client.port}`, dir);
      }
    }
    return this.#traced.get(key) ?? null;
  }

  /** How it ended, if it has. */
  exit(): Promise<ProgramExit> | null {
    return this.#run && !this.#run.running() ? this.#run.exited : null;
  }

  /** What it printed since the last call, stdout then stderr, each from where the last call left it (capped). */
  newOutput(): string {
    if (!this.#run) return '';
    const { stdout, stderr } = this.#run.output();
    const out = stdout.slice(this.#printed);
    const err = stderr.slice(this.#printedErr);
    this.#printed = stdout.length;
    this.#printedErr = stderr.length;
    const fresh = out + (out && err ? '\n' : '') + err;
    return fresh.length > 4000 ? `${fresh.slice(0, 4000)}\n[…]` : fresh;
  }

  /** Stops its process group. */
  async stop(): Promise<void> {
    await this.#run?.stop(500);
  }

  /** Stops it and starts it again; false when it does not listen again. */
  async restart(): Promise<boolean> {
    await this.stop();
    return this.start();
  }
}

/** Top-level regular files of `dir`, by name, with their sizes. */
async function filesIn(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (!e.isFile()) continue;
    const s = await stat(path.join(dir, e.name)).catch(() => null);
    if (s) out.set(e.name, s.size);
  }
  return out;
}

/**
 * The name `name` was saved under among `have`: itself, or a free variant a receiver that never
 * overwrites picks (`a (1).txt`, see `candidateName` in receiver.ts). Undefined when neither is there.
 */
function savedUnder(have: ReadonlyMap<string, number>, name: string): string | undefined {
  if (have.has(name)) return name;
  for (let n = 1; n <= 1000; n++) {
    const variant = candidateName(name, n);
    if (have.has(variant)) return variant;
  }
  return undefined;
}

/** A file of `have` named `name` and then spaces: a server that left the name field's padding in the name. */
function paddedUnder(have: ReadonlyMap<string, number>, name: string): string | undefined {
  for (const n of have.keys()) if (n.length > name.length && n.startsWith(name) && /^ +$/.test(n.slice(name.length))) return n;
  return undefined;
}

/** Every path under `root` except under `skip`, relative to `root`. */
async function tree(root: string, skip: string): Promise<Set<string>> {
  const out = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(dir, e.name);
      if (p === skip) continue;
      out.add(path.relative(root, p));
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(root);
  return out;
}

/** The offset of field `id` in `bytes`, as the dissector reads them. */
function offsetOf(bytes: Uint8Array, id: string): number | undefined {
  for (const e of dissect(bytes)) if (e.type === 'field' && e.field.id === id) return e.field.offset;
  return undefined;
}

/** The folders of one grading: the server's, and the watched ones outside it. */
interface Folders {
  readonly root: string;
  /** The server's working folder: `root/outside/inside/work`, so that `../..` lands in a watched folder. */
  readonly work: string;
  /** Where a traced server's captures go: outside `root`, whose new paths count as escapes. */
  readonly trace: string;
  readonly ctx: CaseContext;
}

/** Makes the temporary folders of one grading: the watched tree with the server's folder inside, and the trace folder beside it. */
async function makeFolders(): Promise<Folders> {
  const root = await mkdtemp(path.join(tmpdir(), 'wirestep-check-'));
  const work = path.join(root, 'outside', 'inside', 'work');
  await mkdir(work, { recursive: true });
  await mkdir(path.join(root, 'target'));
  const trace = await mkdtemp(path.join(tmpdir(), 'wirestep-check-trace-'));
  return { root, work, trace, ctx: { absoluteTarget: path.join(root, 'target', 'absoluto.txt') } };
}

/** One grading run: the server, the folders, the limits. */
class Grader {
  #probes = 0;
  readonly caseLimit: number;
  readonly serveLimit: number;
  readonly stallLimit: number;
  readonly host: string;

  constructor(
    readonly opts: ServerCheckOptions,
    readonly folders: Folders | null,
    readonly server: ServerUnderTest | null,
  ) {
    this.caseLimit = opts.caseLimitMs ?? 10_000;
    this.serveLimit = opts.serveLimitMs ?? 5_000;
    this.stallLimit = opts.stallLimitMs ?? 35_000;
    this.host = opts.connect?.host ?? '127.0.0.1';
  }

  get port(): number {
    return this.opts.connect?.port ?? this.server!.port;
  }

  capturesRoot(id: string): string | null {
    return this.opts.reportDir ? path.join(this.opts.reportDir, 'captures', id) : null;
  }

  place(conn: GraderConnection | string | undefined, field?: string, offset?: number): FindingPlace | undefined {
    const dir = typeof conn === 'string' ? conn : conn?.captureDir;
    if (!dir || !this.opts.reportDir) return undefined;
    return { capture: path.relative(this.opts.reportDir, dir).split(path.sep).join('/'), ...(field ? { field } : {}), ...(offset === undefined ? {} : { offset }) };
  }

  /**
   * A connection to the server, recorded under the check `id`; null when the server does not take
   * it (refused, reset, or not accepted within the serve limit). Throws the grader's own failures
   * (a capture folder it cannot write), which are no fault of the server.
   */
  async open(id: string, role: string): Promise<GraderConnection | null> {
    try {
      return await GraderConnection.open(this.host, this.port, this.serveLimit, this.capturesRoot(id), { check: id, role });
    } catch (err) {
      if (SERVER_REFUSALS.has((err as NodeJS.ErrnoException).code ?? '')) return null;
      throw err;
    }
  }

  /** Waits until every file of `exp` is in the folder with its size, under its name or that name padded (false after `limitMs`). With no folder: true. */
  async filesArrive(exps: readonly Expectation[], limitMs: number): Promise<boolean> {
    const work = this.folders?.work;
    if (!work) return true;
    const want = exps.flatMap((e) => e.saved);
    return until(async () => {
      const have = await filesIn(work);
      return want.every((w) => {
        const under = savedUnder(have, w.name) ?? paddedUnder(have, w.name);
        return under !== undefined && have.get(under) === w.data.length;
      });
    }, limitMs);
  }

  /**
   * The first thing wrong with the folder after `exps` were sent: an expected file missing,
   * short or different, a file a correct server refuses, or one nobody sent.
   */
  async judgeFolder(exps: readonly Expectation[], sent: readonly Uint8Array[], conns: readonly (GraderConnection | undefined)[]): Promise<Verdict | null> {
    const work = this.folders!.work;
    const have = await filesIn(work);
    const known = new Set<string>();
    for (const [t, exp] of exps.entries()) {
      const conn = conns[t];
      for (const s of exp.saved) {
        const under = savedUnder(have, s.name);
        known.add(under ?? s.name);
        const got = under === undefined ? undefined : have.get(under);
        const field = `file[${s.file}].payload`;
        const padded = got === undefined ? paddedUnder(have, s.name) : undefined;
        if (padded !== undefined) {
          return { id: '', finding: { kind: 'name-kept-padding', values: { name: s.name, spaces: padded.length - s.name.length } }, place: this.place(conn, `file[${s.file}].name`, offsetOf(sent[t]!, `file[${s.file}].name`)) };
        }
        if (got === undefined) return { id: '', finding: { kind: 'missing-file', values: { name: s.name, size: s.data.length } }, place: this.place(conn, field, s.payloadOffset) };
        if (got !== s.data.length) return { id: '', finding: { kind: 'wrong-size', values: { name: s.name, got, size: s.data.length } }, place: this.place(conn, field, s.payloadOffset + Math.min(got, s.data.length)) };
        const bytes = await readFile(path.join(work, under!));
        const at = bytes.findIndex((b, i) => b !== s.data[i]);
        if (at >= 0) return { id: '', finding: { kind: 'wrong-bytes', values: { name: s.name, offset: at, size: s.data.length } }, place: this.place(conn, field, s.payloadOffset + at) };
      }
      for (const n of exp.notSaved) {
        const under = savedUnder(have, n.name) ?? paddedUnder(have, n.name);
        if (under === undefined) continue;
        const got = have.get(under)!;
        // A partial file points at the payload where the server's bytes stop; else at its name.
        const payloadAt = offsetOf(sent[t]!, `file[${n.file}].payload`);
        const [field, at] = payloadAt === undefined ? [`file[${n.file}].name`, offsetOf(sent[t]!, `file[${n.file}].name`)] : [`file[${n.file}].payload`, payloadAt + got];
        return { id: '', finding: { kind: 'kept-refused-file', values: { name: under, got, size: n.size } }, place: this.place(conn, field, at) };
      }
    }
    for (const [name, got] of have) {
      // A name starting with a dot that nobody sent is taken for the server's own temporary file.
      if (known.has(name) || name.startsWith('.')) continue;
      return { id: '', finding: { kind: 'unexpected-file', values: { name, got } }, place: this.place(conns[0]) };
    }
    return null;
  }

  /**
   * Adds to a failed verdict what the traced server's own calls show: its capture of each of
   * `conns` that it has finished is kept beside the grader's (`captures/<id>/`), and the first
   * read that took part of a field for the whole ({@link findShortRead}) becomes the verdict's
   * cause, its place that read in the server's capture. `sent` holds each connection's bytes as
   * planned. A connection the server still holds open is not waited for.
   */
  async explainByTrace(id: string, verdict: Verdict, conns: readonly (GraderConnection | undefined)[], sent: readonly Uint8Array[]): Promise<Verdict> {
    if (!this.server?.traced) return verdict;
    let out = verdict;
    for (const [i, conn] of conns.entries()) {
      if (!conn) continue;
      const dir = await this.server.tracedCapture(conn.local, conn.peer === 'open' ? 0 : this.caseLimit);
      if (!dir) continue;
      const kept = await this.keepTrace(id, dir);
      if (out.cause) continue;
      const short = await findShortRead(dir, sent[i]!).catch(() => null);
      if (short) out = { ...out, cause: short.finding, place: (kept ? this.place(kept, short.field, short.offset) : undefined) ?? out.place };
    }
    return out;
  }

  /** Copies a traced capture of the server into the check's captures folder, whole or not at all; its new folder, or null with no report. */
  async keepTrace(id: string, dir: string): Promise<string | null> {
    const root = this.capturesRoot(id);
    if (!root) return null;
    const dest = path.join(root, path.basename(dir));
    const part = path.join(root, `.${path.basename(dir)}.part`);
    try {
      await mkdir(root, { recursive: true });
      await cp(dir, part, { recursive: true });
      await rename(part, dest);
      return dest;
    } catch {
      await rm(part, { recursive: true, force: true });
      return null;
    }
  }

  /** Paths that appeared outside the working folder since `before`, removed again. */
  async escapes(before: Set<string>): Promise<string[]> {
    if (!this.folders) return [];
    const now = await tree(this.folders.root, this.folders.work);
    const fresh = [...now].filter((p) => !before.has(p)).sort();
    for (const p of fresh) await rm(path.join(this.folders.root, p), { recursive: true, force: true });
    return fresh.map((p) => path.join(this.folders!.root, p));
  }

  /** Empties the working folder's files for the next case. */
  async clear(): Promise<void> {
    if (!this.folders) return;
    for (const name of (await filesIn(this.folders.work)).keys()) await rm(path.join(this.folders.work, name), { force: true });
  }

  /**
   * A small correct transfer: whether the server serves it within `limitMs` (its file saved
   * whole; with no folder, the connection closed by the server after it).
   */
  async probe(id: string, limitMs: number): Promise<{ served: boolean; conn: GraderConnection | null; wait: () => Promise<boolean> }> {
    const n = ++this.#probes;
    const name = `sonda-${n}.txt`;
    const data = new TextEncoder().encode(`sonda ${n}\n`);
    // Served is served: a name saved with its padding left in fails its own checks, not this one.
    const savedWhole = (have: ReadonlyMap<string, number>): boolean => (have.get(name) ?? have.get(paddedUnder(have, name) ?? '')) === data.length;
    const conn = await this.open(id, 'probe');
    if (!conn) return { served: false, conn, wait: async () => false };
    await conn.write([{ piece: encodeTransfer([{ name, data }]), pauseMs: 0 }], this.caseLimit);
    conn.end();
    const work = this.folders?.work;
    const wait = async (ms: number): Promise<boolean> =>
      work ? until(async () => savedWhole(await filesIn(work)), ms) : (await conn.waitClosed(ms)) && conn.peer === 'end';
    const served = await wait(limitMs);
    return { served, conn, wait: () => wait(this.caseLimit) };
  }

  /** Sends each of the case's transfers on its own connection, as its plan says, and waits for the server to close each. */
  async sendAll(c: ServerCase, transfers: readonly Uint8Array[]): Promise<(GraderConnection | undefined)[]> {
    const conns: (GraderConnection | undefined)[] = [];
    for (const bytes of transfers) {
      const conn = await this.open(c.id, 'client');
      conns.push(conn ?? undefined);
      if (!conn) break;
      if (c.resetAfter !== undefined) {
        await conn.write([{ piece: bytes.subarray(0, c.resetAfter), pauseMs: 0 }], this.caseLimit);
        // Reset only once the server has read the header: a file (any name) open for it, else the limit.
        const work = this.folders?.work;
        if (work) await until(async () => (await filesIn(work)).size > 0, this.serveLimit);
        conn.reset();
      } else {
        await conn.write(cutForPlan(bytes, c.plan), this.caseLimit);
        conn.end();
      }
      await conn.waitClosed(this.caseLimit);
      await conn.finish();
    }
    return conns;
  }
}

/** Runs one `send` case and judges it. */
async function runSendCase(g: Grader, c: ServerCase): Promise<Verdict[]> {
  const sent = c.transfers(g.folders?.ctx ?? { absoluteTarget: '/nonexistent/wirestep/absoluto.txt' });
  const reset = c.resetAfter !== undefined;
  const judged = sent.map((b) => (reset ? b.subarray(0, c.resetAfter) : b));
  const exps = judged.map((b) => expectOf(b, reset));
  const before = g.folders ? await tree(g.folders.root, g.folders.work) : new Set<string>();
  const conns = await g.sendAll(c, sent);
  if (conns.length < sent.length || conns.some((x) => x === undefined)) return [{ id: c.id, finding: { kind: 'no-connection', values: { port: g.port } } }];
  let verdict: Verdict | null = null;
  if (g.folders) {
    // Files may reach the folder after the server closed (a rename on a slow disk): the case's whole limit, ended by the files themselves.
    await g.filesArrive(exps, g.caseLimit);
    const outside = await g.escapes(before);
    if (outside.length > 0) verdict = { id: c.id, finding: { kind: 'wrote-outside', values: { path: outside.find((p) => path.extname(p) !== '') ?? outside[0]! } }, place: g.place(conns[0], 'file[1].name', 4) };
    verdict ??= await g.judgeFolder(exps, judged, conns);
    if (verdict) verdict = await g.explainByTrace(c.id, verdict, conns, sent);
  } else if (c.group === 'correct' || c.group === 'stream') {
    const bad = conns.findIndex((x) => x!.peer !== 'end');
    if (bad >= 0) verdict = { id: c.id, finding: { kind: 'connection-not-closed', values: { seconds: g.caseLimit / 1000 } }, place: g.place(conns[bad]) };
  }
  return [verdict ? { ...verdict, id: c.id } : { id: c.id }];
}

/** The stall scenario: one client silent after two bytes; is the next served, and is the silent one closed? */
async function runStall(g: Grader, c: ServerCase): Promise<Verdict[]> {
  const started = Date.now();
  const silent = await g.open(c.id, 'silent');
  if (!silent) return STALL_CHECKS.map((id) => ({ id, finding: { kind: 'no-connection', values: { port: g.port } } }));
  await silent.write([{ piece: c.transfers(g.folders?.ctx ?? { absoluteTarget: '' })[0]!, pauseMs: 0 }], g.caseLimit);
  const probe = await g.probe(c.id, g.serveLimit);
  const closedInTime = await silent.waitClosed(Math.max(0, g.stallLimit - (Date.now() - started)));
  await silent.finish();
  // Once the silent one is gone, a server that serves one at a time gets to the probe.
  if (!probe.served) await probe.wait();
  await probe.conn?.finish();
  return [
    probe.served ? { id: STALL_CHECKS[0] } : { id: STALL_CHECKS[0], finding: { kind: 'stall-blocks-next', values: { seconds: g.serveLimit / 1000 } }, place: g.place(probe.conn ?? undefined) },
    closedInTime ? { id: STALL_CHECKS[1] } : { id: STALL_CHECKS[1], finding: { kind: 'stall-kept-open', values: { seconds: g.stallLimit / 1000 } }, place: g.place(silent, 'count', 2) },
  ];
}

/** Two clients at once: the first holds its connection mid-payload while the second sends all. */
async function runTwoClients(g: Grader, c: ServerCase): Promise<Verdict[]> {
  const [slowBytes, fastBytes] = c.transfers(g.folders?.ctx ?? { absoluteTarget: '' }) as [Uint8Array, Uint8Array];
  const [slowExp, fastExp] = [expectOf(slowBytes), expectOf(fastBytes)];
  const slow = await g.open(c.id, 'slow');
  if (!slow) return [{ id: c.id, finding: { kind: 'no-connection', values: { port: g.port } } }];
  const half = slowBytes.length - 500;
  await slow.write([{ piece: slowBytes.subarray(0, half), pauseMs: 0 }], g.caseLimit);
  const fast = await g.open(c.id, 'fast');
  let served = false;
  if (fast) {
    await fast.write([{ piece: fastBytes, pauseMs: 0 }], g.caseLimit);
    fast.end();
    served = g.folders ? await g.filesArrive([fastExp], g.serveLimit) : (await fast.waitClosed(g.serveLimit)) && fast.peer === 'end';
  }
  await slow.write([{ piece: slowBytes.subarray(half), pauseMs: 0 }], g.caseLimit);
  slow.end();
  await slow.waitClosed(g.caseLimit);
  await fast?.waitClosed(g.caseLimit);
  await slow.finish();
  await fast?.finish();
  if (!served) return [{ id: c.id, finding: { kind: 'second-not-served', values: { seconds: g.serveLimit / 1000 } }, place: g.place(fast ?? undefined) }];
  if (!g.folders) return [{ id: c.id }];
  await g.filesArrive([slowExp, fastExp], g.caseLimit);
  const v = await g.judgeFolder([slowExp, fastExp], [slowBytes, fastBytes], [slow, fast ?? undefined]);
  return [v ? { ...v, id: c.id } : { id: c.id }];
}

/**
 * Grades a student's server: starts `command` in a fresh working folder (or uses the server at
 * `connect`), runs every case of {@link SERVER_CASES} against it, each judged with the receiver's
 * own session (what a correct receiver saves and refuses), checks that nothing appeared outside
 * the folder and that the server still serves the next client, and restarts it when a case killed
 * or wedged it. Never throws for what the server does; throws only when the grader's own folders
 * cannot be made.
 */
export async function checkServer(opts: ServerCheckOptions): Promise<CheckReport> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const lang = opts.lang ?? 'en';
  // One stall scenario gives both its checks: asking for either runs it.
  const asked = (c: ServerCase): boolean => !opts.only || opts.only.includes(c.id) || (c.id === STALL_CHECKS[0] && STALL_CHECKS.some((id) => opts.only!.includes(id)));
  const cases = SERVER_CASES.filter((c) => asked(c) && (!opts.connect || !c.needsFolder));
  const folders = opts.connect ? null : await makeFolders();
  // The server runs in its own folder: `server.py` is found from here all the same.
  const argv = absoluteFileArgs(opts.command);
  // A Python server is traced, its captures kept apart until a failed check asks for them.
  const traceDir = folders && runsPython(argv) ? folders.trace : null;
  const server = folders ? new ServerUnderTest(argv, folders.work, opts.port ?? 8181, opts.env, opts.startLimitMs ?? 15_000, traceDir, opts.signal) : null;
  const g = new Grader(opts, folders, server);
  const results: CheckResult[] = [];
  const record = (c: ServerCase, v: Verdict, ms: number, output: string, error = false): void => {
    const r: CheckResult = {
      id: v.id,
      group: c.group,
      status: error ? 'error' : v.finding ? 'fail' : 'pass',
      points: v.finding ? 0 : c.points,
      maxPoints: c.points,
      ...(v.finding ? { finding: v.finding } : {}),
      ...(v.finding && v.cause ? { cause: v.cause } : {}),
      ...(v.place ? { place: v.place } : {}),
      lesson: c.lesson,
      ...(output ? { output } : {}),
      durationMs: ms,
    };
    results.push(r);
    opts.onCheck?.(r);
  };
  const aborted = (): boolean => opts.signal?.aborted === true;
  try {
    // The grader's own trouble starting it (its port busy) is an error of every check, not the student's fault.
    let startError: string | null = null;
    const startOrError = async (start: () => Promise<boolean>): Promise<boolean> => {
      try {
        return await start();
      } catch (err) {
        startError = (err as Error).message;
        return false;
      }
    };
    let up = server && !aborted() ? await startOrError(() => server.start()) : !server;
    let retried = false;
    for (const c of cases) {
      if (aborted()) break;
      if (c.behaviour === 'stall' && c.id !== STALL_CHECKS[0]) continue;
      const t0 = Date.now();
      const ids = c.behaviour === 'stall' ? STALL_CHECKS : [c.id];
      if (startError !== null) {
        for (const id of ids) record(c, { id, finding: { kind: 'grader-error', values: { message: startError } } }, 0, '', true);
        continue;
      }
      if (!up) {
        // One more start after the first failed one; a server that fails twice stays down, without more tries.
        const values = { port: server?.port ?? 0, seconds: (opts.startLimitMs ?? 15_000) / 1000 };
        const fail: Finding = { kind: retried ? 'server-down' : 'not-listening', values };
        for (const id of ids) record(c, { id, finding: fail }, 0, server?.newOutput() ?? '');
        if (server && !retried) {
          retried = true;
          up = await startOrError(() => server.restart());
        }
        continue;
      }
      let verdicts: Verdict[];
      try {
        verdicts = c.behaviour === 'stall' ? await runStall(g, c) : c.behaviour === 'two-clients' ? await runTwoClients(g, c) : await runSendCase(g, c);
        // A case that killed the server, or left it unable to serve the next client, fails.
        const exit = server?.exit();
        let after: Finding | null = null;
        if (exit) {
          const e = await exit;
          after = { kind: 'server-exited', values: { how: e.signal ?? `code ${e.code}` } };
        } else if (c.probe) {
          const p = await g.probe(c.id, g.serveLimit);
          await p.conn?.finish();
          // Without its folder, served means the probe's connection closed cleanly; and nothing is restarted.
          if (!p.served) after = { kind: server ? 'not-serving-next' : 'not-closing-next', values: { seconds: g.serveLimit / 1000 } };
        }
        if (after && !aborted()) {
          verdicts = verdicts.map((v) => (v.finding ? v : { ...v, finding: after }));
          if (server) up = await server.restart();
        }
      } catch (err) {
        verdicts = [{ id: c.id, finding: { kind: 'grader-error', values: { message: (err as Error).message } } }];
        for (const v of verdicts) record(c, v, Date.now() - t0, server?.newOutput() ?? '', true);
        continue;
      } finally {
        await g.clear();
      }
      const output = server?.newOutput() ?? '';
      for (const v of verdicts) record(SERVER_CASES.find((x) => x.id === v.id) ?? c, v, Date.now() - t0, output);
    }
  } finally {
    await server?.dispose();
    if (folders) for (const dir of [folders.root, folders.trace]) await rm(dir, { recursive: true, force: true });
  }
  const { score, maxScore } = scoreOf(results);
  return { target: 'server', command: [...opts.command], lang, startedAt, durationMs: Date.now() - started, score, maxScore, checks: results };
}
