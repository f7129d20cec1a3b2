/**
 * `npm run bench`: measures, side by side in one run on loopback, what issue 9 asks and writes
 * the table to docs/benchmarks.md: throughput with and without capture against the reference
 * Python scripts, peak memory by transfer size, capture size, the site's page times, and the cost of
 * tracing the reference pair with `wirestep trace` (`WIRESTEP_BENCH_ONLY=trace` runs that alone).
 * Medians of several runs; ratios are computed run by run. Removes its large files.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { CaptureStore, OPEN_LIMIT } from '../src/capture/index.js';
import { createApp } from '../src/web/app.js';
import { startTraced } from '../src/trace/index.js';
import { packageRoot } from '../src/web/paths.js';
import { ASSIGNMENT, PYTHON, PY_ENV, freePort, runAssignmentClient, startAssignmentServer, watchOutput } from '../scripts/lib/harness.js';

const MiB = 1024 * 1024;
const ROOT = packageRoot();
const MAIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const SIZE_MIB = Number(process.env.WIRESTEP_BENCH_MIB ?? 1024);
/** Rounds of the trace section. */
const RUNS = Number(process.env.WIRESTEP_BENCH_RUNS ?? 3);
/**
 * Rounds of the throughput section. On these VMs one transfer's time varies by ±25% from run to
 * run (the kernel's cost of fresh page-cache memory for the received file), more than the 15%
 * being measured, so it takes more rounds than the rest for a median that holds still: 12, two turns of {@link ORDERS}.
 */
const THROUGHPUT_RUNS = Number(process.env.WIRESTEP_BENCH_THROUGHPUT_RUNS ?? process.env.WIRESTEP_BENCH_RUNS ?? 12);
const PAGE_RUNS = 9;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function makeFile(file: string, mib: number): Promise<void> {
  const block = randomBytes(MiB);
  const out = createWriteStream(file);
  for (let i = 0; i < mib; i++) if (!out.write(block)) await once(out, 'drain');
  out.end();
  await once(out, 'close');
}

/** What a process used, as bench/measure.py reports it once the process has ended. */
interface Usage {
  /** Peak resident memory in bytes (getrusage's ru_maxrss). */
  readonly peak: number;
  /** CPU seconds, user plus system. */
  readonly cpu: number;
  /** Seconds from the process's start to its end. */
  readonly seconds: number;
  readonly code: number;
}

const MEASURE = path.join(ROOT, 'bench', 'measure.py');

/**
 * Starts `node args` under bench/measure.py, which reports what it used when it ends: nothing
 * polls it meanwhile. (Reading /proc every 20 ms took 10-25 % of a core from the transfers it
 * watched on these 2-core machines, and none from the reference pair, which it did not watch.)
 */
function measured(args: readonly string[], output: 'pipe' | 'ignore'): { child: ChildProcess; usage: Promise<Usage> } {
  const child = spawn(PYTHON, [MEASURE, '3', process.execPath, ...args], { stdio: ['ignore', output, output === 'pipe' ? 'pipe' : 'inherit', 'pipe'] });
  const report = child.stdio[3] as NodeJS.ReadableStream;
  let text = '';
  report.on('data', (b: Buffer) => {
    text += b.toString();
  });
  const usage = once(child, 'close').then(([code]) => {
    if (text === '') throw new Error(`bench/measure.py reported nothing (exit ${String(code)}): is ${PYTHON} there?`);
    return JSON.parse(text) as Usage;
  });
  return { child, usage };
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Transfer {
  readonly seconds: number;
  readonly sender: Usage;
  readonly receiver: Usage;
  readonly captures: readonly string[];
  /** Bytes the transfer left on disk: the received file and the captures, each inode counted once (blocks × 512). */
  readonly disk: number;
}

/** Disk bytes of everything under `dir`, each inode once: a payload linked into a capture is the received file. */
async function diskBytes(dir: string, seen = new Set<string>()): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      total += await diskBytes(file, seen);
      continue;
    }
    const st = await stat(file);
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) continue;
    seen.add(key);
    total += st.blocks * 512;
  }
  return total;
}

/**
 * Puts every transfer on the same footing: reads the file to send through, so it is in the page
 * cache whoever read it last (this machine's kernel pages out what lies unread), then writes
 * what earlier runs left in the page cache to disk, so that no transfer is slowed by the one
 * before it.
 */
async function settle(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(MiB);
    while ((await handle.read(buf, 0, buf.length, null)).bytesRead > 0);
  } finally {
    await handle.close();
  }
  execFileSync('sync');
}

/** One transfer of `file` with wirestep send → wirestep receive, timed from send's start to its end. */
async function wirestep(work: string, file: string, capture: boolean): Promise<Transfer> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(work, 'run-'));
  const flags = capture ? ['--captures', path.join(dir, 'captures')] : ['--no-capture'];
  const receiver = measured([MAIN, 'receive', '--port', String(port), '--out', path.join(dir, 'out'), ...flags], 'pipe');
  await watchOutput(receiver.child).waitFor('listening on');
  await settle(file);
  const sender = measured([MAIN, 'send', '--port', String(port), ...flags, file], 'ignore');
  const sent = await sender.usage;
  if (sent.code !== 0) throw new Error(`wirestep send exited ${sent.code}`);
  await new Promise((r) => setTimeout(r, 100));
  receiver.child.kill('SIGTERM');
  const received = await receiver.usage;
  const captures = capture ? (await readdir(path.join(dir, 'captures'))).map((c) => path.join(dir, 'captures', c)) : [];
  // The file sent is not the transfer's: a sender's payload linked to it costs nothing more.
  const source = await stat(file);
  const disk = await diskBytes(dir, new Set([`${source.dev}:${source.ino}`]));
  // The received file is not needed once measured; a capture's payload link keeps its bytes.
  await rm(path.join(dir, 'out'), { recursive: true, force: true });
  return { seconds: sent.seconds, sender: sent, receiver: received, captures, disk };
}

/** One transfer with the assignment's client.py → server.py, timed until the file is whole on disk. */
async function reference(work: string, file: string, size: number): Promise<number> {
  const dir = await mkdtemp(path.join(work, 'ref-'));
  const folder = path.join(dir, 'send');
  const into = path.join(dir, 'recv');
  await mkdir(folder);
  execFileSync('ln', [file, path.join(folder, 'big.bin')]);
  const srv = await startAssignmentServer(into);
  await settle(file);
  const started = process.hrtime.bigint();
  await runAssignmentClient(srv.port, folder, { testFiles: false, ms: 30 * 60_000 });
  await waitFor(async () => (await stat(path.join(into, 'big.bin')).catch(() => null))?.size === size, 'server.py to write the whole file');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await srv.stop();
  await rm(dir, { recursive: true, force: true });
  return seconds;
}

/** Bytes a capture's own files take, and those of its payload files (links to the received file, not extra disk). */
async function captureSize(dir: string): Promise<{ own: number; linked: number }> {
  let own = 0;
  let linked = 0;
  for (const f of await readdir(dir)) {
    const size = (await stat(path.join(dir, f))).size;
    if (/^payload-\d+\.bin$/.test(f)) linked += size;
    else own += size;
  }
  return { own, linked };
}

/**
 * The order of the three transfers in each round, turn by turn: each comes first, second and
 * third as often as the others, and each pair in both orders, so that what one run leaves
 * behind (memory to fault back in, files to free) weighs on all three alike.
 */
const ORDERS: readonly (readonly ('on' | 'off' | 'ref')[])[] = [
  ['on', 'off', 'ref'],
  ['off', 'on', 'ref'],
  ['ref', 'on', 'off'],
  ['ref', 'off', 'on'],
  ['on', 'ref', 'off'],
  ['off', 'ref', 'on'],
];

/** Rounds of section 1 at one size: capture on, `--no-capture` and the reference pair, in {@link ORDERS}. */
async function throughputBench(work: string, mib: number, withReference: boolean) {
  const file = path.join(work, `big-${mib}.bin`);
  process.stdout.write(`making a ${mib} MiB file…\n`);
  await makeFile(file, mib);
  const on: number[] = [];
  const off: number[] = [];
  const disk: number[] = [];
  const cpu = { on: { sender: [] as number[], receiver: [] as number[] }, off: { sender: [] as number[], receiver: [] as number[] } };
  const peak = { sender: [] as number[], receiver: [] as number[] };
  const ref: number[] = [];
  let keep: Transfer | null = null;
  for (let r = 0; r < THROUGHPUT_RUNS; r++) {
    const order = ORDERS[r % ORDERS.length]!.filter((t) => withReference || t !== 'ref');
    process.stdout.write(`${mib} MiB, round ${r + 1} of ${THROUGHPUT_RUNS} (${order.join(', ')})…\n`);
    for (const which of order) {
      if (which === 'ref') {
        ref.push(await reference(work, file, mib * MiB));
      } else if (which === 'on') {
        const a = await wirestep(work, file, true);
        on.push(a.seconds);
        disk.push(a.disk);
        cpu.on.sender.push(a.sender.cpu);
        cpu.on.receiver.push(a.receiver.cpu);
        peak.sender.push(a.sender.peak / MiB);
        peak.receiver.push(a.receiver.peak / MiB);
        if (keep === null) keep = a;
        else for (const c of a.captures) await rm(c, { recursive: true, force: true });
      } else {
        const b = await wirestep(work, file, false);
        off.push(b.seconds);
        cpu.off.sender.push(b.sender.cpu);
        cpu.off.receiver.push(b.receiver.cpu);
      }
    }
  }
  await rm(file);
  return { mib, on, off, ref, cpu, disk, peak, keep: keep! };
}

type Throughput = Awaited<ReturnType<typeof throughputBench>>;

function throughputLines(t: Throughput, heading: string): string[] {
  const mbps = (s: number): number => t.mib / s;
  const costs = t.on.map((s, i) => 1 - t.off[i]! / s);
  const rounds = (xs: readonly number[], f = (v: number): string => fmt(v, 2)): string => xs.map(f).join(', ');
  const pct = (v: number): string => `${fmt(v * 100)}%`;
  return [
    heading,
    '',
    '| transfer | median time | throughput | CPU time, sender + receiver |',
    '|---|---|---|---|',
    `| wirestep send → receive, capture on | ${fmt(median(t.on), 2)} s | ${fmt(mbps(median(t.on)))} MiB/s | ${fmt(median(t.cpu.on.sender), 2)} s + ${fmt(median(t.cpu.on.receiver), 2)} s |`,
    `| wirestep send → receive, \`--no-capture\` | ${fmt(median(t.off), 2)} s | ${fmt(mbps(median(t.off)))} MiB/s | ${fmt(median(t.cpu.off.sender), 2)} s + ${fmt(median(t.cpu.off.receiver), 2)} s |`,
    ...(t.ref.length > 0 ? [`| reference client.py → server.py | ${fmt(median(t.ref), 2)} s | ${fmt(mbps(median(t.ref)))} MiB/s | not measured |`] : []),
    '',
    `- Cost of capture: median ${pct(median(costs))} of the throughput (rounds: ${rounds(costs, pct)}; goal: at most 15%).`,
    `- CPU time the capture added, median of the rounds: sender ${fmt(median(t.cpu.on.sender.map((c, i) => c - t.cpu.off.sender[i]!)), 2)} s, receiver ${fmt(median(t.cpu.on.receiver.map((c, i) => c - t.cpu.off.receiver[i]!)), 2)} s.`,
    ...(t.ref.length > 0
      ? [
          `- wirestep with capture against the reference: median ${fmt(median(t.on.map((s, i) => t.ref[i]! / s)), 2)}× its speed (rounds: ${rounds(t.on.map((s, i) => t.ref[i]! / s))}; goal: at least 2×).`,
          `- wirestep without capture against the reference: median ${fmt(median(t.off.map((s, i) => t.ref[i]! / s)), 2)}× its speed.`,
        ]
      : []),
    `- Disk per recorded transfer (received file and both captures, each inode once): median ${fmt(median(t.disk) / MiB)} MiB, ${fmt(median(t.disk) / (t.mib * MiB), 2)}× the ${t.mib} MiB moved (rounds: ${rounds(t.disk.map((d) => d / (t.mib * MiB)))}).`,
    `- Peak RSS, capture on: sender ${fmt(Math.max(...t.peak.sender))} MiB, receiver ${fmt(Math.max(...t.peak.receiver))} MiB at most.`,
    '',
  ];
}

/** Sizes section 1 runs, in MiB: WIRESTEP_BENCH_SIZES (`1024,256`), else SIZE_MIB and 256. */
const SIZES = (process.env.WIRESTEP_BENCH_SIZES ?? [...new Set([SIZE_MIB, 256])].join(','))
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);

/**
 * What this machine's kernel does with memory behind the bench's back, where it says: pages
 * handed back to the host when freed (free page reporting) and cold pages reclaimed by DAMON.
 * Both make the page-cache copy of a received file cost more or less from run to run.
 */
async function memoryReclaim(): Promise<string | null> {
  const read = (file: string): Promise<string | null> => readFile(file, 'utf8').then((t) => t.trim(), () => null);
  const order = await read('/sys/module/page_reporting/parameters/page_reporting_order');
  const damon = (await read('/sys/kernel/mm/damon/admin/kdamonds/0/state')) === 'on' ? await read('/sys/kernel/mm/damon/admin/kdamonds/0/contexts/0/schemes/0/action') : null;
  const parts = [
    ...(order !== null ? [`freed memory is reported back to the host (page_reporting, order ${order})`] : []),
    ...(damon !== null ? [`DAMON runs a \`${damon}\` scheme on cold memory`] : []),
  ];
  if (parts.length === 0) return null;
  const they = parts.length === 1 ? 'This makes' : 'Both make';
  return `Memory on this machine: ${parts.join('; ')}. ${they} the kernel's copy of a received file into the page cache cost more or less from run to run, for wirestep and the reference alike.`;
}

/** Time to first byte and body size of `url`, median of PAGE_RUNS after one warm-up. */
async function page(base: string, url: string): Promise<{ ms: number; kib: number; status: number }> {
  const times: number[] = [];
  let kib = 0;
  let status = 0;
  for (let i = 0; i <= PAGE_RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const res = await fetch(base + url);
    const reader = res.body!.getReader();
    const first = await reader.read();
    const ttfb = Number(process.hrtime.bigint() - t0) / 1e6;
    let bytes = first.value?.length ?? 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
    }
    status = res.status;
    kib = bytes / 1024;
    if (i > 0) times.push(ttfb);
  }
  return { ms: median(times), kib, status };
}

const fmt = (n: number, digits = 1): string => n.toFixed(digits);

const INDEX_CAPTURES = Number(process.env.WIRESTEP_BENCH_CAPTURES ?? 10_000);

/** `n` copies of the demo capture (4 small files each) in `dir`, 64 copies at a time. */
async function manyCaptures(dir: string, n: number): Promise<void> {
  const demo = path.join(ROOT, 'samples', 'demo-10-files');
  const files = await readdir(demo);
  for (let i = 0; i < n; i += 64) {
    await Promise.all(Array.from({ length: Math.min(64, n - i) }, async (_, j) => {
      const to = path.join(dir, `aula-${String(i + j).padStart(5, '0')}`);
      await mkdir(to, { recursive: true });
      await Promise.all(files.map((f) => copyFile(path.join(demo, f), path.join(to, f))));
    }));
  }
}

/** Descriptors `pid` holds now (its /proc/PID/fd). */
async function descriptors(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`).catch(() => [])).length;
}

/**
 * `wirestep serve` on INDEX_CAPTURES captures: the first load of `/` (the index is built), then
 * the median of PAGE_RUNS loads, and the most descriptors the process held during 8 loads at once.
 */
async function indexBench(work: string): Promise<{ captures: number; generate: number; first: number; ms: number; kib: number; status: number; fds: number; burst: number }> {
  const dir = path.join(work, 'semester');
  const t0 = process.hrtime.bigint();
  await manyCaptures(dir, INDEX_CAPTURES);
  const generate = Number(process.hrtime.bigint() - t0) / 1e9;
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', String(port), '--captures', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await watchOutput(child).waitFor('open http://');
    const base = `http://127.0.0.1:${port}`;
    const t1 = process.hrtime.bigint();
    const cold = await fetch(`${base}/`);
    await cold.arrayBuffer();
    const first = Number(process.hrtime.bigint() - t1) / 1e6;
    const warm = await page(base, '/');
    let fds = await descriptors(child.pid!);
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        fds = Math.max(fds, await descriptors(child.pid!));
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const t2 = process.hrtime.bigint();
    const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => fetch(`${base}/?page=${1 + i * 10}`).then((r) => r.arrayBuffer().then(() => r.status))));
    const burstMs = Number(process.hrtime.bigint() - t2) / 1e6;
    sampling = false;
    await sampler;
    if (burst.some((s) => s !== 200)) throw new Error(`a load of / answered ${burst.join(', ')}`);
    return { captures: INDEX_CAPTURES, generate, first, ...warm, fds, burst: burstMs };
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
    await rm(dir, { recursive: true, force: true });
  }
}

function indexLines(r: Awaited<ReturnType<typeof indexBench>>): string[] {
  return [
    `## 5. The home page on ${r.captures.toLocaleString('en')} captures`,
    '',
    `\`wirestep serve\` on ${r.captures.toLocaleString('en')} copies of the demo capture (made in ${fmt(r.generate)} s).`,
    '',
    '| measure | value | goal |',
    '|---|---|---|',
    `| first load of \`/\` (builds the index, opening every capture ${OPEN_LIMIT} at a time) | ${fmt(r.first / 1000, 2)} s | |`,
    `| \`/\` afterwards, TTFB (median of ${PAGE_RUNS}) | ${fmt(r.ms)} ms (${fmt(r.kib)} KiB, status ${r.status}) | ≤ 100 ms |`,
    `| 8 loads of \`/\` at once, all answered | ${fmt(r.burst)} ms | |`,
    `| descriptors the process held, at most (/proc/PID/fd) | ${r.fds} | ≤ 64 |`,
    '',
  ];
}

/** Size of the file the traced and untraced reference pair move, in MiB. */
const TRACE_MIB = Number(process.env.WIRESTEP_BENCH_TRACE_MIB ?? 256);

/**
 * The shipped client.py → server.py under `wirestep trace --server … --client …`, timed from the
 * command's start to its exit: the server's start, the transfer, and both captures finished and
 * joined into one. Checks that server.py wrote the whole file; removes what the run left.
 */
async function tracedReference(work: string, file: string, size: number): Promise<number> {
  const dir = await mkdtemp(path.join(work, 'traced-'));
  const folder = path.join(dir, 'send');
  const into = path.join(dir, 'recv');
  await mkdir(folder);
  execFileSync('ln', [file, path.join(folder, 'big.bin')]);
  const quote = (s: string): string => `'${s}'`;
  await settle(file);
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [MAIN, 'trace', '--captures', path.join(dir, 'captures'),
    '--server', `${quote(PYTHON)} ${quote(ASSIGNMENT.server)} --port 0 --out ${quote(into)}`,
    '--client', `${quote(PYTHON)} ${quote(ASSIGNMENT.client)} --port {port} --folder ${quote(folder)} --no-test-files`], { env: PY_ENV, stdio: ['ignore', 'ignore', 'pipe'] });
  const output = watchOutput(child);
  const [code] = (await once(child, 'exit')) as [number];
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`wirestep trace exited ${code}: ${output.text()}`);
  const got = (await stat(path.join(into, 'big.bin')).catch(() => null))?.size;
  if (got !== size) throw new Error(`server.py wrote ${got ?? 'no'} bytes of ${size} under trace`);
  const captures = await readdir(path.join(dir, 'captures'));
  if (captures.length !== 1) throw new Error(`wirestep trace left ${captures.length} captures, not 1`);
  await rm(dir, { recursive: true, force: true });
  return seconds;
}

/**
 * The same window as {@link reference}, both programs traced: server.py is started under the
 * tracer and listening first; timed from client.py's start under the tracer until server.py has
 * the whole file on disk. What both traces record meanwhile is on disk as it goes (the tracer
 * waits on wirestep when it lags), so only closing and joining the captures is left out: the
 * whole command's time, above, has it.
 */
async function tracedWindow(work: string, file: string, size: number): Promise<number> {
  const dir = await mkdtemp(path.join(work, 'window-'));
  const folder = path.join(dir, 'send');
  const into = path.join(dir, 'recv');
  const capturesDir = path.join(dir, 'captures');
  await mkdir(folder);
  execFileSync('ln', [file, path.join(folder, 'big.bin')]);
  const server = startTraced({ argv: [PYTHON, ASSIGNMENT.server, '--port', '0', '--out', into], capturesDir, env: PY_ENV, stdio: 'pipe' });
  try {
    const port = Number((await watchOutput(server.child).waitFor(/Servidor ouvindo em [^\n]*:(\d+)\n/, { ms: 60_000 }))[1]);
    await settle(file);
    const started = process.hrtime.bigint();
    const client = startTraced({ argv: [PYTHON, ASSIGNMENT.client, '--port', String(port), '--folder', folder, '--no-test-files'], capturesDir, env: PY_ENV, stdio: 'ignore' });
    await waitFor(async () => (await stat(path.join(into, 'big.bin')).catch(() => null))?.size === size, 'server.py to write the whole file under trace');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const r = await client.done;
    if (r.exitCode !== 0) throw new Error(`client.py exited ${r.exitCode} under trace`);
    return seconds;
  } finally {
    server.kill('SIGTERM');
    await server.done.catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

/** Rounds of the untraced pair, the traced pair in the same window, and the whole trace command, on one TRACE_MIB file: seconds of each. */
async function traceBench(work: string): Promise<{ untraced: number[]; window: number[]; traced: number[] }> {
  const file = path.join(work, 'trace.bin');
  await makeFile(file, TRACE_MIB);
  const untraced: number[] = [];
  const window: number[] = [];
  const traced: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    process.stdout.write(`trace round ${r + 1} of ${RUNS}…\n`);
    untraced.push(await reference(work, file, TRACE_MIB * MiB));
    window.push(await tracedWindow(work, file, TRACE_MIB * MiB));
    traced.push(await tracedReference(work, file, TRACE_MIB * MiB));
  }
  await rm(file);
  return { untraced, window, traced };
}

function traceLines(r: Awaited<ReturnType<typeof traceBench>>): string[] {
  const mbps = (s: number): number => TRACE_MIB / s;
  const ratios = (times: readonly number[]): number[] => times.map((s, i) => r.untraced[i]! / s);
  const said = (times: readonly number[]): string => {
    const x = ratios(times);
    return `median ${fmt(median(x), 2)}× its throughput (rounds: ${x.map((v) => fmt(v, 2)).join(', ')})`;
  };
  return [
    `## 6. The cost of tracing: the reference client.py → server.py, one ${TRACE_MIB} MiB file`,
    '',
    `Medians of ${RUNS} rounds (untraced, traced in the same window, the whole trace command); each ratio is taken within a round.`,
    'Untraced: from client.py\'s start until server.py has the whole file on disk, the server already listening.',
    'Traced, same window: both programs under the tracer, server.py already listening; from client.py\'s start until server.py has the whole file on disk, both traces recording as they go.',
    'Whole command: `wirestep trace --server … --client …` from its start to its exit: wirestep\'s and server.py\'s start, the transfer, and the two captures closed and joined into one.',
    '',
    '| transfer | median time | throughput |',
    '|---|---|---|',
    `| client.py → server.py, untraced | ${fmt(median(r.untraced), 2)} s | ${fmt(mbps(median(r.untraced)))} MiB/s |`,
    `| client.py → server.py, both traced, same window | ${fmt(median(r.window), 2)} s | ${fmt(mbps(median(r.window)))} MiB/s |`,
    `| \`wirestep trace --server … --client …\`, whole command | ${fmt(median(r.traced), 2)} s | ${fmt(mbps(median(r.traced)))} MiB/s |`,
    '',
    `- Traced against untraced, same window: ${said(r.window)}; goal: at least 0.5×.`,
    `- Whole command against untraced: ${said(r.traced)}.`,
    '',
  ];
}

if (process.env.WIRESTEP_BENCH_ONLY === 'trace') {
  const work = await mkdtemp(path.join(tmpdir(), 'wirestep-bench-'));
  try {
    process.stdout.write(`${traceLines(await traceBench(work)).join('\n')}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  process.exit(0);
}

if (process.env.WIRESTEP_BENCH_ONLY === 'throughput') {
  // Section 1 alone; WIRESTEP_BENCH_REF=0 leaves the reference pair out (quicker, on a loaded machine).
  const work = await mkdtemp(path.join(tmpdir(), 'wirestep-bench-'));
  try {
    for (const mib of SIZES) {
      const t = await throughputBench(work, mib, process.env.WIRESTEP_BENCH_REF !== '0');
      process.stdout.write(`${throughputLines(t, `## Throughput, one ${mib} MiB file`).join('\n')}\n`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  process.exit(0);
}

if (process.env.WIRESTEP_BENCH_ONLY === 'index') {
  const work = await mkdtemp(path.join(tmpdir(), 'wirestep-bench-'));
  try {
    process.stdout.write(`${indexLines(await indexBench(work)).join('\n')}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  process.exit(0);
}

const work = await mkdtemp(path.join(tmpdir(), 'wirestep-bench-'));
const lines: string[] = [];
try {
  const bytes = SIZE_MIB * MiB;

  // 1. Throughput, side by side at each size: each round runs the three, so the ratios compare like with like.
  const throughput: Throughput[] = [];
  for (const mib of SIZES) throughput.push(await throughputBench(work, mib, true));
  const main = throughput.find((t) => t.mib === SIZE_MIB) ?? throughput[0]!;

  // 2. Memory by transfer size, capture on.
  const memory: { mib: number; sender: number; receiver: number }[] = [];
  for (const mib of [64, 256, 1024].filter((m) => m <= SIZE_MIB)) {
    const f = path.join(work, `m${mib}.bin`);
    await makeFile(f, mib);
    const t = await wirestep(work, f, true);
    memory.push({ mib, sender: t.sender.peak / MiB, receiver: t.receiver.peak / MiB });
    await rm(f);
  }

  // 3. Capture size against the bytes moved, from the first round's captures.
  const captures = main.keep.captures;
  const sizes = await Promise.all(captures.map(captureSize));

  // 4. The site on the big capture and on the demo.
  const store = new CaptureStore([path.dirname(captures[0]!), path.join(ROOT, 'samples')]);
  const app = createApp({ store });
  const server: Server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pages: { capture: string; page: string; ms: number; kib: number; status: number }[] = [];
  for (const id of [path.basename(captures.find((c) => c.includes('receiver')) ?? captures[0]!), 'demo-10-files']) {
    const api = (await (await fetch(`${base}/api/captures/${id}`)).json()) as { fieldSteps: number; opSteps: number };
    const urls: [string, string][] = [['overview', `/captures/${id}`]];
    for (const by of ['field', 'op'] as const) {
      const total = by === 'field' ? api.fieldSteps : api.opSteps;
      for (const [label, n] of [['start', 1], ['middle', Math.ceil(total / 2)], ['end', total]] as const) urls.push([`${by} ${label} (step ${n})`, `/captures/${id}/steps/${n}?by=${by}`]);
    }
    for (const [label, url] of urls) pages.push({ capture: id === 'demo-10-files' ? 'demo (10 files)' : `${SIZE_MIB} MiB`, page: label, ...(await page(base, url)) });
  }
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await app.closeCaptures();

  // 5. The home page of a semester of captures.
  process.stdout.write(`${INDEX_CAPTURES} captures for the home page…\n`);
  const index = await indexBench(work);

  // 6. The cost of tracing the reference pair.
  const trace = await traceBench(work);

  const node = process.version;
  const python = execFileSync('python3', ['--version']).toString().trim();
  const cpuModel = cpus()[0]?.model ?? '?';
  const reclaim = await memoryReclaim();
  lines.push(
    '# wirestep benchmarks',
    '',
    `Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores (${cpuModel}), Node ${node}, ${python}, loopback.`,
    ...(reclaim ? [reclaim] : []),
    `Section 1: medians of ${THROUGHPUT_RUNS} rounds at each size. Each round runs the three transfers one after the other, in an order that turns from round to round (each first, second and last alike), and ratios are taken within a round.`,
    'Before each transfer the file to send is read through (in the page cache for all three) and `sync` writes what earlier runs left in the page cache to disk, so no run pays for the one before.',
    'wirestep\'s times, CPU and peak memory are what `bench/measure.py` reports for each process once it ends (from its start to its end, `getrusage`); nothing polls a process while it runs. The reference pair is timed from client.py\'s start until server.py has the whole file.',
    `Section 6: medians of ${RUNS} rounds.`,
    '',
    ...throughput.flatMap((t, i) => throughputLines(t, `## 1${'abc'[i] ?? ''}. Throughput, one ${t.mib} MiB file`)),
    '## 2. Peak memory (RSS), capture on',
    '',
    '| transfer | sender | receiver |',
    '|---|---|---|',
    ...memory.map((m) => `| ${m.mib} MiB | ${fmt(m.sender)} MiB | ${fmt(m.receiver)} MiB |`),
    '',
    'Goal: at most 150 MiB each, flat in the transfer size.',
    '',
    `## 3. Capture size, ${SIZE_MIB} MiB transferred`,
    '',
    '| capture | its own files | against the bytes moved | payload files (links to the received file) |',
    '|---|---|---|---|',
    ...captures.map((c, i) => `| ${path.basename(c).includes('sender') ? 'sender' : 'receiver'} | ${fmt(sizes[i]!.own / MiB)} MiB | ${fmt(sizes[i]!.own / bytes, 4)}× | ${fmt(sizes[i]!.linked / MiB)} MiB |`),
    '',
    'Every write and read is kept (24 bytes each). A payload file is a second name of the received file: no disk of its own. Goal: at most 1.1× plus a few KiB.',
    '',
    `## 4. The site (time to first byte, median of ${PAGE_RUNS} after a warm-up)`,
    '',
    '| capture | page | TTFB | HTML |',
    '|---|---|---|---|',
    ...pages.map((p) => `| ${p.capture} | ${p.page} | ${fmt(p.ms)} ms | ${fmt(p.kib)} KiB |`),
    '',
    'Goal: at most 50 ms and 256 KiB per page, the same on the big capture as on the demo.',
    '',
    ...indexLines(index),
    ...traceLines(trace),
  );
  // The profile section is written by hand (perf is not run here): kept from the last file.
  const old = await readFile(path.join(ROOT, 'docs', 'benchmarks.md'), 'utf8').catch(() => '');
  const profile = old.indexOf('\n## Profile');
  if (profile >= 0) lines.push(old.slice(profile + 1).trimEnd(), '');
  await writeFile(path.join(ROOT, 'docs', 'benchmarks.md'), lines.join('\n'));
  process.stdout.write(`${lines.join('\n')}\nwritten to docs/benchmarks.md\n`);
} finally {
  await rm(work, { recursive: true, force: true });
}
