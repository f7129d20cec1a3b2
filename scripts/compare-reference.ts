/**
 * `npm run compare-reference -- DIR`: checks that the shipped assignment/client.py and server.py
 * behave as the course's originals in DIR do. The originals run from copies in a temporary folder
 * with only their host, port and folder changed; both pairs get the same inputs:
 *
 * - client side: each program sends a folder to a plain Node TCP sink on port 0, which keeps the
 *   exact bytes of the stream; what the client prints is compared line by line;
 * - server side: each server, in a folder nested in its own temporary tree so that names climbing
 *   out land inside the tree, receives the same raw streams (well-formed, hostile, cut); the whole
 *   tree it leaves and what it prints (peer address and port normalised) are compared.
 *
 * Prints one line per case; exits 1 on any difference (with its first differing byte or line),
 * 2 on a wrong command line. Not part of `npm test`: CI runs it when the originals are at hand.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { referenceFiles } from '../src/net/index.js';
import { encodeTransfer } from '../src/protocol/index.js';
import { STREAMS } from '../test/fixtures/streams.js';
import { ASSIGNMENT, PYTHON, PY_ENV, freePort, sendRaw, watchOutput } from './lib/harness.js';

/** Replaces every occurrence of `from`, failing loudly unless there are exactly `times`: the original has changed. */
function replaceExactly(source: string, from: string, to: string, times: number): string {
  const found = source.split(from).length - 1;
  if (found !== times) throw new Error(`the original has ${found} occurrence(s) of ${JSON.stringify(from)}, expected ${times}: has it changed?`);
  return source.split(from).join(to);
}

/** What one program did with one input. */
interface Run {
  /** Client side: the bytes the sink received. */
  readonly wire?: Uint8Array;
  /** Server side: every file and folder it left in its tree, by relative path ('/' ends a folder). */
  readonly tree?: ReadonlyMap<string, Uint8Array | null>;
  /** What it printed, stdout then stderr, normalised. */
  readonly lines: readonly string[];
}

/** One way two runs can differ; returns the first difference, or null. */
type Aspect = (original: Run, shipped: Run) => string | null;

function firstByteDifference(a: Uint8Array, b: Uint8Array): string | null {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return `byte ${i}: 0x${a[i]!.toString(16).padStart(2, '0')} in the original, 0x${b[i]!.toString(16).padStart(2, '0')} shipped`;
  return a.length === b.length ? null : `length ${a.length} in the original, ${b.length} shipped (same up to byte ${n})`;
}

const wireBytes: Aspect = (o, s) => (o.wire && s.wire ? firstByteDifference(o.wire, s.wire) : null);

const filesWritten: Aspect = (o, s) => {
  if (!o.tree || !s.tree) return null;
  const names = (t: ReadonlyMap<string, unknown>): string => JSON.stringify([...t.keys()]);
  if (names(o.tree) !== names(s.tree)) return `files ${names(o.tree)} in the original, ${names(s.tree)} shipped`;
  for (const [name, bytes] of o.tree) {
    const other = s.tree.get(name)!;
    const d = bytes && other ? firstByteDifference(bytes, other) : null;
    if (d) return `${name}: ${d}`;
  }
  return null;
};

const printedLines: Aspect = (o, s) => {
  const n = Math.max(o.lines.length, s.lines.length);
  for (let i = 0; i < n; i++) {
    if (o.lines[i] !== s.lines[i]) return `line ${i + 1}: ${JSON.stringify(o.lines[i] ?? '(none)')} in the original, ${JSON.stringify(s.lines[i] ?? '(none)')} shipped`;
  }
  return null;
};

/**
 * What is compared, in order. The extension point for the call sequences of `wirestep trace`:
 * record them in Run and add one Aspect here.
 */
const ASPECTS: readonly (readonly [string, Aspect])[] = [
  ['wire', wireBytes],
  ['files', filesWritten],
  ['output', printedLines],
];

/** The lines a program printed, with what changes from run to run (ports) replaced. */
function normalise(stdout: string, stderr: string): string[] {
  return `${stdout}${stderr ? `--- stderr\n${stderr}` : ''}`
    .replace(/(Servidor ouvindo em [^\n]*):\d+/g, '$1:PORT')
    .replace(/\('127\.0\.0\.1', \d+\)/g, "('127.0.0.1', PEER)")
    .split('\n');
}

/** Every file and folder under `root`, sorted by path, with the files' bytes. */
async function snapshot(root: string): Promise<Map<string, Uint8Array | null>> {
  const out = new Map<string, Uint8Array | null>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(dir, e.name);
      const rel = path.relative(root, full);
      if (e.isDirectory()) {
        out.set(`${rel}/`, null);
        await walk(full);
      } else {
        out.set(rel, e.isFile() ? await readFile(full) : null);
      }
    }
  };
  await walk(root);
  return out;
}

/** A TCP sink on 127.0.0.1 port 0 that keeps the bytes of the first connection until it ends. */
async function startSink(): Promise<{ port: number; received(): Promise<Uint8Array>; close(): Promise<void> }> {
  const server = net.createServer();
  let received: Promise<Uint8Array> | null = null;
  server.once('connection', (socket) => {
    received = new Promise<Uint8Array>((resolve) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.once('end', () => resolve(Buffer.concat(chunks)));
      // A reset still leaves what came before it to compare.
      socket.once('error', () => resolve(Buffer.concat(chunks)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    // Asked once the client has exited: by then it has connected, or never will.
    received: () => received ?? Promise.resolve(new Uint8Array(0)),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const run = promisify(execFile);

/** A folder for the clients to send: its files, and whether the client writes its ten test files first. */
interface ClientCase {
  readonly id: string;
  readonly testFiles: boolean;
  readonly files: readonly { readonly name: string; readonly data: Uint8Array }[];
}

const te = new TextEncoder();
const EVERY_BYTE = Uint8Array.from({ length: 3 * 1024 * 1024 }, (_, i) => (i + (i >> 8)) % 256);

const CLIENT_CASES: readonly ClientCase[] = [
  { id: 'ten-test-files', testFiles: true, files: [] },
  { id: 'every-byte-3MiB', testFiles: false, files: [{ name: 'every_byte.bin', data: EVERY_BYTE }] },
  { id: 'empty-file', testFiles: false, files: [{ name: 'vazio.txt', data: new Uint8Array(0) }] },
  { id: 'accented-name', testFiles: false, files: [{ name: 'relatório_ação.txt', data: te.encode('Olá, conexão!\n') }] },
  { id: 'name-over-128', testFiles: false, files: [{ name: `${'n'.repeat(136)}.txt`, data: te.encode('hello') }] },
  { id: 'empty-folder', testFiles: false, files: [] },
];

/** Runs one client against a fresh sink: the original from a copy told `port` and `folder`, or the shipped one with options. */
async function runClient(work: string, original: string | null, folder: string, testFiles: boolean): Promise<Run> {
  const sink = await startSink();
  try {
    let args: string[];
    if (original) {
      let source = replaceExactly(original, 'port=8181', `port=${sink.port}`, 1);
      source = replaceExactly(source, '"/home/ALUNO/arquivos_para_enviar"', JSON.stringify(folder), 2);
      if (!testFiles) source = replaceExactly(source, 'criar_arquivos_de_teste(PASTA, 10)', '', 1);
      const file = path.join(work, `client-${sink.port}.py`);
      await writeFile(file, source);
      args = [file];
    } else {
      args = [ASSIGNMENT.client, '--port', String(sink.port), '--folder', folder, ...(testFiles ? [] : ['--no-test-files'])];
    }
    const printed = await run(PYTHON, args, { env: PY_ENV, timeout: 60_000, maxBuffer: 1 << 24 }).then(
      ({ stdout, stderr }) => normalise(stdout, stderr),
      (err: { code?: number | string; stdout?: string; stderr?: string }) => [...normalise(err.stdout ?? '', err.stderr ?? ''), `--- exit ${err.code ?? '?'}`],
    );
    return { wire: await sink.received(), lines: printed };
  } finally {
    await sink.close();
  }
}

/** A raw stream for the servers; `absolute` names are made inside the work folder so no run writes outside it. */
interface ServerCase {
  readonly id: string;
  readonly bytes: Uint8Array;
}

function serverCases(work: string): ServerCase[] {
  const tenFiles = encodeTransfer(referenceFiles().map((f) => ({ name: f.name, data: te.encode(f.text) })));
  // The fixture's /tmp/evil.txt would land outside the work folder; this absolute name does not.
  const escape = path.join(work, 'absolute', 'evil.txt');
  const streams = STREAMS.map((s) => (s.id === 'absolute' ? { id: s.id, bytes: encodeTransfer([{ name: escape, data: te.encode('x') }]) } : s));
  return [
    { id: 'ten-files', bytes: tenFiles },
    { id: 'every-byte-3MiB', bytes: encodeTransfer([{ name: 'every_byte.bin', data: EVERY_BYTE }]) },
    ...streams.map((s) => ({ id: s.id, bytes: s.bytes })),
    // The fixture's traversal fails for want of an etc/ folder; this one climbs out and is written.
    { id: 'climb-out', bytes: encodeTransfer([{ name: '../../escaped.txt', data: te.encode('fora\n') }]) },
  ];
}

/**
 * Runs one server in `tree`/a/b/out (names climbing out stay in `tree`), sends it `bytes`, waits
 * for it to close the connection, stops it and returns what it left and printed.
 */
async function runServer(work: string, original: string | null, tree: string, bytes: Uint8Array): Promise<Run> {
  const out = path.join(tree, 'a', 'b', 'out');
  const abs = path.join(work, 'absolute');
  await mkdir(out, { recursive: true });
  await rm(abs, { recursive: true, force: true });
  await mkdir(abs);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    let args: string[];
    if (original) {
      const file = path.join(work, `server-${port}.py`);
      await writeFile(file, replaceExactly(original, 'port=8181', `port=${port}`, 1));
      args = [file];
    } else {
      args = [ASSIGNMENT.server, '--port', String(port), '--out', out];
    }
    const child = spawn(PYTHON, args, { cwd: out, env: PY_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout = watchOutput(child, 'stdout');
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const closed = new Promise((r) => child.once('close', r));
    try {
      await stdout.waitFor('Servidor ouvindo', { ms: 20_000 });
    } catch (err) {
      // Another process took the port between freePort() and bind(): try another.
      if (attempt < 3 && /Address already in use/.test(stderr)) continue;
      throw new Error(`server.py did not start:\n${stdout.text()}${stderr}`, { cause: err });
    }
    // sendRaw resolves when the server has closed the connection, in its `finally`, after its last line.
    await sendRaw(port, [bytes]);
    child.kill('SIGKILL');
    await closed;
    const left = await snapshot(tree);
    for (const [k, v] of await snapshot(abs)) left.set(`(absolute)/${k}`, v);
    await rm(abs, { recursive: true, force: true });
    return { tree: left, lines: normalise(stdout.text(), stderr) };
  }
}

/** Compares two runs by every aspect; the first difference of each. */
function compare(original: Run, shipped: Run): string[] {
  return ASPECTS.flatMap(([name, aspect]) => {
    const d = aspect(original, shipped);
    return d ? [`${name}: ${d}`] : [];
  });
}

const dir = process.argv[2];
if (!dir || process.argv.length > 3) {
  process.stderr.write('usage: npm run compare-reference -- DIR   (DIR holds the course\'s client.py and server.py)\n');
  process.exit(2);
}
for (const f of ['client.py', 'server.py']) {
  if (!existsSync(path.join(dir, f))) {
    process.stderr.write(`compare-reference: no ${f} in ${dir}\n`);
    process.exit(2);
  }
}

const work = await mkdtemp(path.join(tmpdir(), 'wirestep-compare-'));
const results: { side: string; id: string; differences: string[] }[] = [];
try {
  const originalClient = await readFile(path.join(dir, 'client.py'), 'utf8');
  const originalServer = await readFile(path.join(dir, 'server.py'), 'utf8');
  for (const c of CLIENT_CASES) {
    // One folder for both clients, so that os.listdir() lists it in the same order for each.
    const folder = path.join(work, 'client', c.id);
    await mkdir(folder, { recursive: true });
    for (const f of c.files) await writeFile(path.join(folder, f.name), f.data);
    const o = await runClient(work, originalClient, folder, c.testFiles);
    const s = await runClient(work, null, folder, c.testFiles);
    results.push({ side: 'client', id: c.id, differences: compare(o, s) });
  }
  for (const c of serverCases(work)) {
    const o = await runServer(work, originalServer, path.join(work, 'server', c.id, 'original'), c.bytes);
    const s = await runServer(work, null, path.join(work, 'server', c.id, 'shipped'), c.bytes);
    results.push({ side: 'server', id: c.id, differences: compare(o, s) });
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

const width = Math.max(...results.map((r) => r.id.length));
process.stdout.write(`comparing ${path.resolve(dir)} with ${ASSIGNMENT.dir}\n\n`);
process.stdout.write(`side    ${'case'.padEnd(width)}  result\n`);
for (const r of results) {
  process.stdout.write(`${r.side.padEnd(6)}  ${r.id.padEnd(width)}  ${r.differences.length === 0 ? 'same' : 'DIFFERENT'}\n`);
  for (const d of r.differences) process.stdout.write(`        ${' '.repeat(width)}  ${d}\n`);
}
const different = results.filter((r) => r.differences.length > 0).length;
process.stdout.write(`\n${results.length - different} same, ${different} different\n`);
process.exitCode = different > 0 ? 1 : 0;
