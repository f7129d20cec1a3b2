import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchOutput } from '../../scripts/lib/harness.js';
import { CaptureReader } from '../../src/capture/index.js';
import { freePort, withTempDir } from '../helpers/net.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const NO_STACK = /^ {4}at /m;

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running `wirestep …` process. */
interface Cli {
  readonly proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<Exit>;
  /** Resolves once stdout has matched `pattern` `count` times; rejects if the process ends first. */
  waitFor(pattern: RegExp, count?: number, ms?: number): Promise<void>;
  /** Kills it if still running and waits for the end. */
  kill(): Promise<void>;
}

function wirestep(args: readonly string[], cwd: string): Cli {
  const proc = spawn(process.execPath, [MAIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = watchOutput(proc, 'stdout');
  let err = '';
  proc.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<Exit>((resolve) => {
    proc.once('close', (code, signal) => resolve({ code, signal }));
  });
  const running = (): boolean => proc.exitCode === null && proc.signalCode === null;
  const describe = (): string => `wirestep ${args.join(' ')}\n--- stdout\n${out.text()}--- stderr\n${err}`;
  return {
    proc,
    stdout: () => out.text(),
    stderr: () => err,
    exited,
    waitFor(pattern, count = 1, ms = 30_000) {
      return out.waitFor(pattern, { count, ms }).then(
        () => undefined,
        (e: Error) => {
          throw new Error(`${e.message.split('\n')[0]}\n${describe()}`, { cause: e });
        },
      );
    },
    async kill() {
      if (running()) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Runs `wirestep …` to the end. */
async function runWirestep(args: readonly string[], cwd: string, ms = 60_000): Promise<Exit & { stdout: string; stderr: string }> {
  const cli = wirestep(args, cwd);
  const timer = setTimeout(() => cli.proc.kill('SIGKILL'), ms);
  try {
    const exit = await cli.exited;
    return { ...exit, stdout: cli.stdout(), stderr: cli.stderr() };
  } finally {
    clearTimeout(timer);
    await cli.kill();
  }
}

/** `wirestep receive` on a free port, once it says it listens; retries if the port was taken meanwhile. */
async function startReceive(root: string, extra: readonly string[] = []): Promise<{ cli: Cli; port: number; out: string; captures: string }> {
  const out = path.join(root, 'out');
  const captures = path.join(root, 'captures');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const cli = wirestep(['receive', '--port', String(port), '--out', out, '--captures', captures, ...extra], root);
    try {
      await cli.waitFor(new RegExp(`listening on 127\\.0\\.0\\.1:${port}\\b`));
      return { cli, port, out, captures };
    } catch (err) {
      await cli.kill();
      if (attempt === 3 || !/cannot listen/.test(cli.stderr())) throw err;
    }
  }
}

async function captureMetas(dir: string): Promise<{ sides: string[]; outcome: { status: string }; streamBytes: number; files: { status: string }[] }[]> {
  const ids = await readdir(dir);
  return Promise.all(ids.map(async (id) => JSON.parse(await readFile(path.join(dir, id, 'capture.json'), 'utf8'))));
}

function bytes(n: number, seed: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * seed + (i >> 8)) % 256);
}

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npx tsc -p .\` first`);
});

describe('wirestep demo and dump', () => {
  let root: string;
  let captures: string;
  let demo: Exit & { stdout: string; stderr: string };

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'wirestep-cli-'));
    captures = path.join(root, 'captures');
    demo = await runWirestep(['demo', '--captures', captures, '--id', 'demo'], root);
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('records a complete 1,695-byte demo capture of both sides and says where it is', async () => {
    expect(demo.code, demo.stderr).toBe(0);
    const dir = path.join(captures, 'demo');
    expect(demo.stdout).toContain(`saved in ${dir}`);
    const meta = JSON.parse(await readFile(path.join(dir, 'capture.json'), 'utf8'));
    expect(meta.id).toBe('demo');
    expect(meta.outcome.status).toBe('complete');
    expect(meta.streamBytes).toBe(1695);
    expect(meta.sides).toEqual(['sender', 'receiver']);
    expect((await stat(path.join(dir, 'stream.bin'))).size).toBe(1695);
    for (const side of ['sender', 'receiver']) {
      const { size } = await stat(path.join(dir, `${side}.events`));
      expect(size, side).toBeGreaterThan(0);
      expect(size % 24, side).toBe(0);
    }
  });

  it('dumps a capture folder by field, explaining the count', async () => {
    const r = await runWirestep(['dump', path.join(captures, 'demo'), '--by', 'field', '--step', '1'], root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('00 00 00 0A is 10 files');
  });

  it('finds a capture by id in --captures and explains the padded name', async () => {
    const r = await runWirestep(['dump', 'demo', '--captures', captures, '--step', '2'], root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('arquivo_1.txt');
    expect(r.stdout).toContain('115 spaces');
  });

  it('dumps every field of the ten files, in stream order, when no step is given', async () => {
    const r = await runWirestep(['dump', 'demo', '--captures', captures], root);
    expect(r.code, r.stderr).toBe(0);
    const ids = [...r.stdout.matchAll(/^(count|file\[\d+\]\.(?:name|size|payload)) /gm)].map((m) => m[1]);
    const expected = ['count', ...Array.from({ length: 10 }, (_, i) => ['name', 'size', 'payload'].map((k) => `file[${i + 1}].${k}`)).flat()];
    expect(ids).toEqual(expected);
  });

  it('steps through socket operations with --by op', async () => {
    const r = await runWirestep(['dump', 'demo', '--captures', captures, '--by', 'op'], root);
    expect(r.code, r.stderr).toBe(0);
    for (const event of [/sender\W+connect/, /receiver\W+accept/, /sender\W+write/, /receiver\W+read/]) expect(r.stdout).toMatch(event);
    expect(r.stdout).toMatch(/\d+\.\d{3} ms/);
    expect(r.stdout).toContain('00 00 00 0A is 10 files');
  });

  it('explains in Portuguese with --lang pt', async () => {
    const r = await runWirestep(['dump', 'demo', '--captures', captures, '--step', '1', '--lang', 'pt'], root);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('são 10 arquivos');
  });

  it('words the outcome in Portuguese with --lang pt', async () => {
    const r = await runWirestep(['dump', 'size-max', '--captures', path.resolve('samples'), '--step', '1', '--lang', 'pt'], root);
    expect(r.code, r.stderr).toBe(0);
    const header = r.stdout.split('\n')[0]!;
    expect(header).toContain('(O arquivo 1 diz ter 18.446.744.073.709.551.615 bytes, acima do limite do servidor, que é de 4.294.967.296 bytes (--max-file-size), então o servidor fechou a conexão.)');
    expect(header).not.toMatch(/above|limit of/);
  });

  it('exits 2 naming the step for a step past the end', async () => {
    const r = await runWirestep(['dump', 'demo', '--captures', captures, '--step', '999'], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no such step.*999/);
    expect(r.stderr).not.toMatch(NO_STACK);
  });

  it('exits 1 with a one-line message and no stack trace for a missing capture', async () => {
    const byId = await runWirestep(['dump', 'nope', '--captures', captures], root);
    expect(byId.code).toBe(1);
    expect(byId.stderr).toMatch(/^wirestep: .*no capture .*nope/);
    expect(byId.stderr).not.toMatch(NO_STACK);

    const missing = path.join(root, 'no-such-folder');
    const byPath = await runWirestep(['dump', missing, '--captures', captures], root);
    expect(byPath.code).toBe(1);
    expect(byPath.stderr).toMatch(/^wirestep: /);
    expect(byPath.stderr).toContain(missing);
    expect(byPath.stderr).not.toMatch(NO_STACK);
  });
});

describe('wirestep receive and send', () => {
  it('receives a folder and a file from `wirestep send` byte for byte, and exits 0 on SIGTERM with a complete capture', async () => {
    await withTempDir(async (root) => {
      const { cli: receiver, port, out, captures } = await startReceive(root);
      try {
        const src = path.join(root, 'src');
        await mkdir(path.join(src, 'folder'), { recursive: true });
        const sent: Record<string, Uint8Array> = {
          'notes.txt': new TextEncoder().encode('Este é o conteúdo do arquivo 1\n'),
          'every_byte.bin': bytes(4096, 7),
          'photo.bin': bytes(50_000, 31),
        };
        await writeFile(path.join(src, 'folder', 'notes.txt'), sent['notes.txt']!);
        await writeFile(path.join(src, 'folder', 'every_byte.bin'), sent['every_byte.bin']!);
        await writeFile(path.join(src, 'photo.bin'), sent['photo.bin']!);
        const senderCaptures = path.join(root, 'sender-captures');

        const send = await runWirestep(['send', path.join(src, 'folder'), path.join(src, 'photo.bin'), '--port', String(port), '--captures', senderCaptures], root);
        expect(send.code, send.stderr).toBe(0);
        await receiver.waitFor(/closed: complete/);

        expect((await readdir(out)).sort()).toEqual(Object.keys(sent).sort());
        for (const [name, data] of Object.entries(sent)) {
          expect(new Uint8Array(await readFile(path.join(out, name))), name).toEqual(data);
        }
        const [senderMeta, ...more] = await captureMetas(senderCaptures);
        expect(more).toEqual([]);
        expect(senderMeta!.sides).toEqual(['sender']);
        expect(senderMeta!.outcome.status).toBe('complete');

        receiver.proc.kill('SIGTERM');
        const exit = await receiver.exited;
        expect(exit.code, receiver.stderr()).toBe(0);
        const [meta, ...others] = await captureMetas(captures);
        expect(others).toEqual([]);
        expect(meta!.sides).toEqual(['receiver']);
        expect(meta!.outcome.status).toBe('complete');
        expect(meta!.files.map((f) => f.status)).toEqual(['saved', 'saved', 'saved']);
        expect(meta!.streamBytes).toBe(senderMeta!.streamBytes);
      } finally {
        await receiver.kill();
      }
    });
  });

  it('on SIGINT mid-transfer exits 0, records the capture as interrupted and leaves no partial file', async () => {
    await withTempDir(async (root) => {
      const { cli: receiver, port, out, captures } = await startReceive(root);
      const file = path.join(root, 'slow.bin');
      // 100 bytes every 50 ms: this file would take 9 minutes, so the signal always comes mid-transfer.
      await writeFile(file, bytes(1024 * 1024, 13));
      const send = wirestep(['send', file, '--port', String(port), '--chunk', '100', '--delay-ms', '50', '--no-capture'], root);
      try {
        await receiver.waitFor(/file 1: "slow\.bin", 1,048,576 bytes announced/);
        receiver.proc.kill('SIGINT');
        const exit = await receiver.exited;
        expect(exit.code, receiver.stderr()).toBe(0);

        const sendExit = await send.exited;
        expect(sendExit.code).toBe(1);
        expect(send.stderr()).toMatch(/transfer aborted/);

        expect(await readdir(out)).toEqual([]);
        const [meta, ...others] = await captureMetas(captures);
        expect(others).toEqual([]);
        expect(meta!.outcome.status).toBe('interrupted');
        expect(meta!.files.map((f) => f.status)).toEqual(['incomplete']);
        expect(meta!.streamBytes).toBeLessThan(4 + 128 + 8 + 1024 * 1024);
      } finally {
        await send.kill();
        await receiver.kill();
      }
    });
  });

  it('saves a second file of the same name as "name (1).ext" and leaves the first untouched', async () => {
    await withTempDir(async (root) => {
      const { cli: receiver, port, out } = await startReceive(root);
      const first = path.join(root, 'a', 'report.txt');
      const second = path.join(root, 'b', 'report.txt');
      await mkdir(path.dirname(first));
      await mkdir(path.dirname(second));
      await writeFile(first, 'first version\n');
      await writeFile(second, 'second, longer version\n');
      const sends: Cli[] = [];
      try {
        sends.push(wirestep(['send', first, '--port', String(port), '--no-capture'], root));
        await receiver.waitFor(/closed: complete/, 1);
        sends.push(wirestep(['send', second, '--port', String(port), '--no-capture'], root));
        await receiver.waitFor(/closed: complete/, 2);
        for (const s of sends) expect((await s.exited).code, s.stderr()).toBe(0);

        expect((await readdir(out)).sort()).toEqual(['report (1).txt', 'report.txt']);
        expect(await readFile(path.join(out, 'report.txt'), 'utf8')).toBe('first version\n');
        expect(await readFile(path.join(out, 'report (1).txt'), 'utf8')).toBe('second, longer version\n');
      } finally {
        for (const s of sends) await s.kill();
        await receiver.kill();
      }
    });
  });

  it('refuses a name over the 128-byte field with exit 2, without connecting', async () => {
    await withTempDir(async (root) => {
      // 67 characters but 130 bytes of UTF-8.
      const name = `${'é'.repeat(63)}.txt`;
      const file = path.join(root, name);
      await writeFile(file, 'x');
      let connections = 0;
      const server = net.createServer((s) => {
        connections++;
        s.destroy();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const { port } = server.address() as net.AddressInfo;
        const r = await runWirestep(['send', file, '--port', String(port), '--no-capture'], root);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/130 bytes/);
        expect(r.stderr).toMatch(/\b128\b/);
        expect(r.stderr).not.toMatch(NO_STACK);
        await new Promise((resolve) => setImmediate(resolve));
        expect(connections).toBe(0);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });

  it('exits 1 with "cannot connect" when nothing listens on the port', async () => {
    await withTempDir(async (root) => {
      const file = path.join(root, 'a.txt');
      await writeFile(file, 'hello\n');
      const port = await freePort();
      const r = await runWirestep(['send', file, '--port', String(port), '--no-capture'], root);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/cannot connect/);
      expect(r.stderr).not.toMatch(NO_STACK);
    });
  });
});

describe('wirestep receive: fair room for senders', () => {
  it('shows each pacing rule with its default in --help', async () => {
    const help = await runWirestep(['receive', '--help'], process.cwd());
    expect(help.code).toBe(0);
    const flat = help.stdout.replace(/\s+/g, ' ');
    // Each flag's own text, up to the next flag: its default must be there.
    const text = (flag: string): string => flat.slice(flat.indexOf(flag)).split(/ (?=--[a-z-]+ <|-h, )/)[0]!;
    expect(text('--min-rate <bytes/s>')).toMatch(/\(default: 64\)$/);
    expect(text('--rate-grace <seconds>')).toMatch(/\(default: 30\)$/);
    expect(text('--header-timeout <seconds>')).toMatch(/\(default: 60\)$/);
    expect(text('--displace-after <seconds>')).toMatch(/\(default: 10\)$/);
  });

  it('cuts a stalled header after --header-timeout with a line saying why, and goes on serving', async () => {
    await withTempDir(async (root) => {
      const { cli: receiver, port, out } = await startReceive(root, ['--header-timeout', '1', '--min-rate', '0']);
      try {
        const s = net.connect({ host: '127.0.0.1', port });
        s.on('error', () => {});
        // The count and 10 bytes of a name, then nothing.
        s.write(Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from('stalled.tx')]));
        await receiver.waitFor(/closed by the receiver: aborted \(The header of a file \(its count, name and size fields\) must come whole within 1 s \(--header-timeout\), but the stream was still in “Name of file 1”/);
        s.destroy();
        await writeFile(path.join(root, 'ok.txt'), 'still serving');
        const send = await runWirestep(['send', path.join(root, 'ok.txt'), '--port', String(port), '--no-capture'], root);
        expect(send.code, send.stderr).toBe(0);
        await receiver.waitFor(/closed: complete/);
        expect(await readFile(path.join(out, 'ok.txt'), 'utf8')).toBe('still serving');
      } finally {
        await receiver.kill();
      }
    });
  });
});

describe('wirestep serve', () => {
  /** `wirestep serve` on a free port with `args`; returns its address once it prints it. */
  async function startServe(root: string, args: readonly string[]): Promise<{ cli: Cli; url: string }> {
    const cli = wirestep(['serve', '--port', '0', ...args], root);
    await cli.waitFor(/open http:\/\/127\.0\.0\.1:\d+\//);
    return { cli, url: /open (http:\/\/127\.0\.0\.1:\d+)\//.exec(cli.stdout())![1]! };
  }

  it('shows the bundled samples and serves the lessons with no --captures', async () => {
    await withTempDir(async (root) => {
      const { cli, url } = await startServe(root, []);
      try {
        expect(cli.stdout()).toContain(path.resolve(MAIN, '../../../../samples'));
        const listed = (await (await fetch(`${url}/api/captures`)).json()) as { captures: { id: string }[] };
        expect(listed.captures.map((c) => c.id)).toContain('demo-10-files');
        expect((await fetch(`${url}/lessons/byte-stream`)).status).toBe(200);
      } finally {
        await cli.kill();
      }
    });
  });

  it('with --no-samples lists only its folders, and the lessons still show the samples', async () => {
    await withTempDir(async (root) => {
      const { cli, url } = await startServe(root, ['--no-samples', '--captures', root]);
      try {
        const listed = (await (await fetch(`${url}/api/captures`)).json()) as { captures: { id: string }[] };
        expect(listed.captures).toEqual([]);
        expect((await fetch(`${url}/lessons/byte-stream`)).status).toBe(200);
        expect((await fetch(`${url}/captures/demo-10-files/steps/1?by=field`)).status).toBe(200);
      } finally {
        await cli.kill();
      }
    });
  });
});

describe('wirestep receive after a SIGKILL', () => {
  it('removes the killed receiver’s .part file, marks its capture interrupted and says so', async () => {
    await withTempDir(async (root) => {
      const first = await startReceive(root);
      const socket = net.connect({ host: '127.0.0.1', port: first.port });
      socket.on('error', () => {});
      let second: Cli | undefined;
      try {
        await new Promise((r) => socket.once('connect', r));
        // Count, name, a size of 10,000 and 500 bytes of it: the file is half-way.
        const header = new Uint8Array(4 + 128 + 8);
        const view = new DataView(header.buffer);
        view.setUint32(0, 1);
        header.fill(0x20, 4, 132).set(new TextEncoder().encode('metade.bin'), 4);
        view.setBigUint64(132, 10_000n);
        socket.write(header);
        socket.write(new Uint8Array(500).fill(7));
        const parts = async () => (await readdir(first.out)).filter((f) => f.endsWith('.part'));
        await expect.poll(parts, { timeout: 20_000 }).toHaveLength(1);
        const [part] = await parts();
        expect(part).toMatch(/^\.wirestep-[0-9a-f]{16}-\d+-\d+-[0-9a-f]{32}\.part$/);
        // Something of the user's that only looks alike is not the receiver's.
        await writeFile(path.join(first.out, '.wirestep-notes.part'), 'mine');
        first.cli.proc.kill('SIGKILL');
        await first.cli.exited;
        const [id] = await readdir(first.captures);
        expect(JSON.parse(await readFile(path.join(first.captures, id!, 'capture.json'), 'utf8')).outcome.status).toBe('recording');

        second = wirestep(['receive', '--port', '0', '--out', first.out, '--captures', first.captures], root);
        await second.waitFor(/listening on/);
        expect(second.stdout()).toContain(`removed ${part} from ${first.out}: the unfinished file of a receiver that was killed`);
        expect(second.stdout()).toContain(`capture ${id} was still "recording" but its recorder is gone: marked interrupted`);
        expect(await readdir(first.out)).toEqual(['.wirestep-notes.part']);
        const meta = JSON.parse(await readFile(path.join(first.captures, id!, 'capture.json'), 'utf8'));
        expect(meta.outcome.status).toBe('interrupted');
        expect(meta.recorder).toBeUndefined();
        // What a reader finds: the header in stream.bin, and what reached the payload file (version 5) that the capture links.
        const reader = await CaptureReader.open(path.join(first.captures, id!));
        await reader.close();
        expect(meta.streamBytes).toBe(reader.streamLength);
        expect(reader.streamLength).toBeLessThanOrEqual(640);
      } finally {
        socket.destroy();
        await first.cli.kill();
        await second?.kill();
      }
    });
  });
});
