import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSIGNMENT, PYTHON, PY_ENV, watchOutput } from '../../scripts/lib/harness.js';
import { CALL_FLAGS, type CaptureEvent, CaptureReader, CaptureStore } from '../../src/capture/index.js';
import { startTraced, tracePair } from '../../src/trace/index.js';
import { createApp } from '../../src/web/app.js';
import { writePartialSendProgram } from '../helpers/trace.js';

const PY = execFileSync(PYTHON, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
const CLI = path.resolve('dist/src/cli/main.js');
const SAMPLES = path.resolve(import.meta.dirname, '../../samples');
const SIZE = 1 << 24;

let root: string;
let app: ReturnType<typeof createApp>;
/** The traced 10-file transfer: its id and the op step (1-based) of the first send(128) and recv(128). */
let pair: { id: string; dir: string; send128: number; recv128: number };
/** The traced partial send: its id, its op step, and what the send moved. */
let partial: { id: string; step: number; moved: number };
/** A capture of wirestep's own sender and receiver (`wirestep demo`). */
let demo: { id: string; write: number; read: number };

async function opStep(dir: string, pick: (events: { sender: CaptureEvent[]; receiver: CaptureEvent[] }) => CaptureEvent): Promise<number> {
  const reader = await CaptureReader.open(dir);
  try {
    const events = { sender: await reader.events('sender', 0, 10_000), receiver: reader.meta.sides.includes('receiver') ? await reader.events('receiver', 0, 10_000) : [] };
    return (await reader.opIndex(pick(events))) + 1;
  } finally {
    await reader.close();
  }
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'wirestep-calls-'));
  const captures = path.join(root, 'captures');
  const r = await tracePair({
    server: [PY, ASSIGNMENT.server, '--port', '0', '--out', path.join(root, 'out')],
    client: [PY, ASSIGNMENT.client, '--port', '{port}', '--folder', path.join(root, 'files')],
    capturesDir: captures,
    env: PY_ENV,
    stdio: 'ignore',
  });
  expect(r.captures).toHaveLength(1);
  const dir = r.captures[0]!;
  pair = {
    id: path.basename(dir),
    dir,
    send128: await opStep(dir, (e) => e.sender.find((x) => x.type === 'write' && x.call?.name === 'send' && x.call.asked === 128)!),
    recv128: await opStep(dir, (e) => e.receiver.find((x) => x.type === 'read' && x.call?.name === 'recv' && x.call.asked === 128)!),
  };

  // The partial send of test/trace: a 4 KiB send buffer, a non-blocking socket and a receiver that reads nothing yet.
  let held: net.Socket | undefined;
  const server = net.createServer((s) => {
    held = s;
    s.pause();
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const program = await writePartialSendProgram(root, SIZE);
    const run = startTraced({ argv: [PY, program, String((server.address() as net.AddressInfo).port)], capturesDir: path.join(root, 'captures'), env: PY_ENV, stdio: 'pipe' });
    const out = watchOutput(run.child);
    const moved = Number((await out.waitFor(/sent (\d+)\n/))[1]);
    run.child.stdin!.end('\n');
    const done = await run.done;
    held?.resume();
    expect(done.captures).toHaveLength(1);
    const dir2 = done.captures[0]!;
    partial = { id: path.basename(dir2), moved, step: await opStep(dir2, (e) => e.sender.find((x) => x.call?.name === 'send')!) };
  } finally {
    held?.destroy();
    await new Promise((resolve) => server.close(resolve));
  }

  await promisify(execFile)('node', [CLI, 'demo', '--captures', captures, '--id', 'own-demo']);
  const demoDir = path.join(captures, 'own-demo');
  demo = {
    id: 'own-demo',
    write: await opStep(demoDir, (e) => e.sender.find((x) => x.type === 'write')!),
    read: await opStep(demoDir, (e) => e.receiver.find((x) => x.type === 'read')!),
  };
  expect((await readdir(captures)).sort()).toEqual([pair.id, partial.id, 'own-demo'].sort());
  app = createApp({ store: new CaptureStore([captures, SAMPLES]) });
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

const stepPage = async (id: string, n: number, lang = 'en'): Promise<string> =>
  (await request(app).get(`/captures/${id}/steps/${n}?by=op${lang === 'en' ? '' : `&lang=${lang}`}`).expect(200)).text;

describe('who made each write and read', () => {
  it('names client.py’s send() and what it moved, in both languages', async () => {
    expect(await stepPage(pair.id, pair.send128)).toContain('<p class="call"><code>client.py: send()</code> → 128 of 128 bytes</p>');
    expect(await stepPage(pair.id, pair.send128, 'pt')).toContain('<p class="call"><code>client.py: send()</code> → 128 de 128 bytes</p>');
  });

  it('names server.py’s recv(128) and what it returned, in both languages', async () => {
    expect(await stepPage(pair.id, pair.recv128)).toContain('<p class="call"><code>server.py: recv(128)</code> → 128 bytes</p>');
    expect(await stepPage(pair.id, pair.recv128, 'pt')).toContain('<p class="call"><code>server.py: recv(128)</code> → 128 bytes</p>');
  });

  it('says on the overview which programs were traced', async () => {
    const page = (await request(app).get(`/captures/${pair.id}`).expect(200)).text;
    expect(page).toContain('<dt>Programs recorded</dt>');
    expect(page).toMatch(/<li>sender: <strong>client\.py<\/strong> \(traced with wirestep trace, CPython 3\.\d+\.\d+, pid \d+\) <code>[^<]*client\.py --port \d+ --folder [^<]*<\/code><\/li>/);
    expect(page).toMatch(/<li>receiver: <strong>server\.py<\/strong> \(traced with wirestep trace, CPython 3\.\d+\.\d+, pid \d+\)/);
    const pt = (await request(app).get(`/captures/${pair.id}?lang=pt`).expect(200)).text;
    expect(pt).toContain('<dt>Programas gravados</dt>');
    expect(pt).toContain('rastreado com wirestep trace');
  });

  it('marks a partial send in words, with what went and what did not', async () => {
    expect(partial.moved).toBeGreaterThan(0);
    expect(partial.moved).toBeLessThan(SIZE);
    const moved = partial.moved.toLocaleString('en-US');
    const page = await stepPage(partial.id, partial.step);
    expect(page).toContain(`<p class="call partial"><code>partial.py: send()</code> → ${moved} of 16,777,216 bytes <strong class="mark">partial send</strong></p>`);
    expect(page).toContain(`Partial send: only ${moved} of the 16,777,216 bytes went; the other ${(SIZE - partial.moved).toLocaleString('en-US')} were not sent by this call, and partial.py must send them again itself.`);
    const pt = await stepPage(partial.id, partial.step, 'pt');
    expect(pt).toContain('<strong class="mark">envio parcial</strong>');
    expect(pt).toContain(`Envio parcial: só ${partial.moved.toLocaleString('pt-BR')} dos 16.777.216 bytes saíram;`);
  });

  it('says that wirestep’s own writes are socket.write() calls that Node may join, and that its reads ask for up to 64 KiB', async () => {
    const write = await stepPage(demo.id, demo.write);
    expect(write).toMatch(/<p class="call"><code>wirestep send: socket\.write\(\)<\/code> → 4 bytes<\/p>/);
    expect(write).toContain('Node may join several writes made in one turn of its event loop into one system call (writev)');
    const read = await stepPage(demo.id, demo.read);
    expect(read).toMatch(/<p class="call short"><code>wirestep receive: socket read \(up to 65,536\)<\/code> → [\d,]+ bytes <strong class="mark">short read<\/strong><\/p>/);
    const overview = (await request(app).get(`/captures/${demo.id}`).expect(200)).text;
    expect(overview).toContain('The sender is wirestep’s own: each of its writes is one socket.write(), not one system call.');
  });

  it('shows a capture without calls as before: no call, no programs', async () => {
    // accented-name is a version 1 sample, recorded before captures kept calls (demo-10-files is traced now).
    const page = await stepPage('accented-name', 2);
    expect(page).toContain('class="event side-');
    expect(page).not.toContain('class="call');
    expect((await request(app).get('/captures/accented-name').expect(200)).text).not.toContain('Programs recorded');
  });

  it('prints the program and call of a step in dump, and the programs in its header', async () => {
    const run = async (step: number, dir = pair.dir): Promise<string> => (await promisify(execFile)('node', [CLI, 'dump', dir, '--by', 'op', '--step', String(step)])).stdout;
    const send = await run(pair.send128);
    expect(send).toMatch(/^Programs recorded: sender: client\.py \(traced with wirestep trace, CPython 3\.\d+\.\d+, pid \d+\) /m);
    expect(send).toContain('\n   client.py: send() → 128 of 128 bytes\n');
    expect(await run(pair.recv128)).toContain('\n   server.py: recv(128) → 128 bytes\n');
    const cut = await run(partial.step, path.join(root, 'captures', partial.id));
    expect(cut).toContain(`\n   partial.py: send() → ${partial.moved.toLocaleString('en-US')} of 16,777,216 bytes [partial send]\n   Partial send: only `);
  });

  it('records the partial flag the pages read', async () => {
    const reader = await CaptureReader.open(path.join(root, 'captures', partial.id));
    try {
      const [send] = (await reader.events('sender', 0, 10)).filter((e) => e.call?.name === 'send');
      expect(send?.call?.flags).toBe(CALL_FLAGS.partial);
    } finally {
      await reader.close();
    }
  });
});
