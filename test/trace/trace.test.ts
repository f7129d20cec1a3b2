import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ASSIGNMENT, PYTHON, PY_ENV, runAssignmentClient, watchOutput } from '../../scripts/lib/harness.js';
import { CALL_FLAGS, CaptureReader, type CaptureEvent } from '../../src/capture/index.js';
import { startTraced, tracePair } from '../../src/trace/index.js';
import { freePort, withTempDir } from '../helpers/net.js';
import { writePartialSendProgram } from '../helpers/trace.js';

// The interpreter itself, not a version manager's shim: a shim costs a second per start on a busy machine.
const PY = execFileSync(PYTHON, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
const CLI = path.resolve('dist/src/cli/main.js');

async function open(dir: string): Promise<{ reader: CaptureReader; events: (side: 'sender' | 'receiver') => Promise<CaptureEvent[]> }> {
  const reader = await CaptureReader.open(dir);
  return { reader, events: (side) => reader.events(side, 0, 1_000_000) };
}

const calls = (events: readonly CaptureEvent[], ...names: string[]): CaptureEvent[] => events.filter((e) => e.call && names.includes(e.call.name));

/** Listens on 127.0.0.1 port 0; each accepted socket is handed to `onSocket`. */
async function listen(onSocket: (s: net.Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('wirestep trace', () => {
  it('traces server.py and client.py at once: one capture with both sides and every call of the 10-file transfer', async () => {
    await withTempDir(async (root) => {
      const captures = path.join(root, 'captures');
      const files = path.join(root, 'files');
      const r = await tracePair({
        server: [PY, ASSIGNMENT.server, '--port', '0', '--out', path.join(root, 'out')],
        client: [PY, ASSIGNMENT.client, '--port', '{port}', '--folder', files],
        capturesDir: captures,
        env: PY_ENV,
        stdio: 'ignore',
      });
      expect(r.client.exitCode).toBe(0);
      expect(r.client.problems).toEqual([]);
      expect(r.captures).toHaveLength(1);
      expect(await readdir(captures)).toHaveLength(1);
      const { reader, events } = await open(r.captures[0]!);
      try {
        const meta = reader.meta;
        expect(meta.sides).toEqual(['sender', 'receiver']);
        expect(meta.outcome).toEqual({ status: 'complete' });
        expect(meta.programs?.sender).toMatchObject({ name: 'client.py', via: 'trace', runtime: expect.stringMatching(/^CPython 3\.\d+\.\d+$/) });
        expect(meta.programs?.receiver).toMatchObject({ name: 'server.py', via: 'trace', argv: expect.arrayContaining([ASSIGNMENT.server]) });
        // The files as client.py sends them, in Python's os.listdir() order.
        const names: string[] = JSON.parse(execFileSync(PY, ['-c', 'import json, os, sys; print(json.dumps(os.listdir(sys.argv[1])))', files], { encoding: 'utf8' }));
        const sizes = await Promise.all(names.map(async (n) => (await readFile(path.join(files, n))).length));
        expect(sizes.filter((s) => s === 33)).toHaveLength(9);

        const sent = await events('sender');
        const sends = calls(sent, 'send');
        expect(sends.map((e) => e.call!.asked)).toEqual([4, ...sizes.flatMap((s) => [128, 8, s])]);
        expect(sends.every((e) => e.length === e.call!.asked && e.call!.flags === 0)).toBe(true);
        expect(sent[0]).toMatchObject({ type: 'connect', call: { name: 'connect' } });
        expect(sent.at(-1)).toMatchObject({ type: 'close', call: { name: 'close' } });

        const received = await events('receiver');
        const recvs = calls(received, 'recv');
        expect(recvs).toHaveLength(31);
        expect(recvs.map((e) => e.call!.asked)).toEqual([4, ...sizes.flatMap((s) => [128, 8, s])]);
        // Each returned what it asked: server.py never asks past a field.
        expect(recvs.every((e) => e.type === 'read' && e.length === e.call!.asked && e.call!.flags === 0)).toBe(true);
        expect(received[0]).toMatchObject({ type: 'accept', call: { name: 'accept' } });

        // The stream is the bytes sent, and the receiver read all of them.
        const stream = Buffer.from(await reader.read(0, reader.streamLength));
        expect(stream.length).toBe(4 + sizes.reduce((n, s) => n + 136 + s, 0));
        expect(stream.readUInt32BE(0)).toBe(10);
        for (const e of sends.slice(1)) if (e.length === 128) expect(stream.subarray(e.offset, e.offset + 128).toString().trimEnd()).toMatch(/^arquivo_\d+\.txt$/);
        expect(recvs.reduce((n, e) => n + e.length, 0)).toBe(stream.length);
        expect((await reader.dissection()).problems).toEqual([]);
      } finally {
        await reader.close();
      }
    });
  });

  it('records a send() that moved less than it was given, with the partial flag and only the bytes that went', async () => {
    await withTempDir(async (root) => {
      // A receiver that reads nothing until the program has made its one send().
      let held: net.Socket | undefined;
      const got: Buffer[] = [];
      let ended!: () => void;
      const end = new Promise<void>((r) => (ended = r));
      const server = await listen((s) => {
        held = s;
        s.pause();
        s.on('data', (b) => got.push(b));
        s.on('end', () => ended());
      });
      // Far more than a 4 KiB send buffer and an unread receive buffer can take at once.
      const program = await writePartialSendProgram(root, 1 << 24);
      const run = startTraced({ argv: [PY, program, String(server.port)], capturesDir: path.join(root, 'captures'), env: PY_ENV, stdio: 'pipe' });
      const out = watchOutput(run.child);
      try {
        const moved = Number((await out.waitFor(/sent (\d+)\n/))[1]);
        expect(moved).toBeGreaterThan(0);
        expect(moved).toBeLessThan(1 << 24);
        run.child.stdin!.end('\n');
        const r = await run.done;
        expect(r.exitCode).toBe(0);
        held!.resume();
        const { reader, events } = await open(r.captures[0]!);
        try {
          const [send] = calls(await events('sender'), 'send');
          expect(send).toMatchObject({ type: 'write', offset: 0, length: moved, call: { name: 'send', asked: 1 << 24, flags: CALL_FLAGS.partial } });
          expect(reader.streamLength).toBe(moved);
          const bytes = await reader.read(0, moved);
          expect(bytes.every((b, i) => b === i % 256)).toBe(true);
          // What the receiver got in the end is what the capture says went, not what was asked.
          await end;
          expect(Buffer.compare(Buffer.concat(got), Buffer.from(bytes))).toBe(0);
        } finally {
          await reader.close();
        }
      } finally {
        await server.close();
      }
    });
  });

  it('ends when the program ends even if a process it started left the group and holds the trace open', async () => {
    await withTempDir(async (root) => {
      const program = path.join(root, 'escape.py');
      // The child leaves the process group (setsid) and keeps the inherited trace pipe open.
      await writeFile(program, 'import os, sys, time\npid = os.fork()\nif pid == 0:\n    os.setsid()\n    time.sleep(600)\n    os._exit(0)\nprint(pid, flush=True)\n');
      const run = startTraced({ argv: [PY, program], capturesDir: path.join(root, 'captures'), env: PY_ENV, stdio: 'pipe' });
      const pid = Number((await watchOutput(run.child).waitFor(/(\d+)\n/))[1]);
      try {
        const r = await run.done;
        expect(r.exitCode).toBe(0);
        expect(r.problems).toContain('a process the program started, outside its process group, kept the trace open after the program ended; what it did is not recorded');
      } finally {
        process.kill(pid, 'SIGKILL');
      }
    });
  });

  it('gives a server that handles 3 connections 3 captures, each its own transfer', async () => {
    await withTempDir(async (root) => {
      const port = await freePort();
      const run = startTraced({ argv: [PY, ASSIGNMENT.server, '--port', String(port), '--out', path.join(root, 'out')], capturesDir: path.join(root, 'captures'), env: PY_ENV, stdio: 'pipe' });
      const out = watchOutput(run.child);
      await out.waitFor('Servidor ouvindo');
      for (let i = 0; i < 3; i++) {
        await runAssignmentClient(port, path.join(root, `files${i}`));
        await out.waitFor('arquivo_3.txt salvo', { count: i + 1 });
      }
      // Wait on the recorder: its third capture is finished once server.py closed that socket.
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (run.recorder.captures.length === 3) resolve();
        };
        run.recorder.watch(check);
        check();
      });
      run.kill('SIGTERM');
      const r = await run.done;
      expect(r.captures).toHaveLength(3);
      const clients = new Set<number>();
      for (const dir of r.captures) {
        const { reader, events } = await open(dir);
        try {
          expect(reader.meta.sides).toEqual(['receiver']);
          expect(reader.meta.outcome.status).toBe('complete');
          expect(calls(await events('receiver'), 'recv')).toHaveLength(31);
          clients.add(reader.meta.client!.port);
        } finally {
          await reader.close();
        }
      }
      expect(clients.size).toBe(3);
    });
  });

  it('records four threads sending at once, each connection whole: small and large sends, and buffers changed after the call', async () => {
    await withTempDir(async (root) => {
      const got = new Map<number, Buffer[]>();
      const ended: Promise<void>[] = [];
      const sink = await listen((s) => {
        const chunks: Buffer[] = [];
        got.set(s.remotePort!, chunks);
        s.on('data', (c: Buffer) => chunks.push(c));
        ended.push(new Promise((resolve) => s.once('close', () => resolve())));
      });
      const program = path.join(root, 'threads.py');
      await writeFile(program, [
        'import os, socket, sys, threading',
        'def run(k):',
        '    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))',
        '    buf = bytearray(4096)',
        '    for i in range(1000):',
        '        r = i % 5',
        '        if r == 0: s.sendall(os.urandom(1 + (i * 37 + k) % 2000))',
        '        elif r == 1: s.sendall(os.urandom(20000 + k))',
        '        elif r == 2:',
        '            buf[:] = os.urandom(4096)',
        '            s.sendall(buf)',
        '            buf[:] = bytes(4096)',
        '        elif r == 3: s.sendall(memoryview(buf)[100:1100])',
        '        else: s.sendall(bytes([k]) * 1024)',
        '    s.close()',
        'threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]',
        'for t in threads: t.start()',
        'for t in threads: t.join()',
        '',
      ].join('\n'));
      try {
        const run = startTraced({ argv: [PY, program, String(sink.port)], capturesDir: path.join(root, 'captures'), env: PY_ENV, stdio: 'ignore' });
        const r = await run.done;
        expect(r.exitCode).toBe(0);
        expect(r.problems).toEqual([]);
        expect(r.captures).toHaveLength(4);
        while (ended.length < 4) await new Promise((resolve) => setImmediate(resolve));
        await Promise.all(ended);
        for (const dir of r.captures) {
          const { reader, events } = await open(dir);
          try {
            const sent = Buffer.concat(got.get(reader.meta.client!.port)!);
            expect(reader.streamLength).toBe(sent.length);
            expect(Buffer.from(await reader.read(0, sent.length)).equals(sent)).toBe(true);
            const writes = calls(await events('sender'), 'sendall');
            expect(writes).toHaveLength(1000);
            let at = 0;
            for (const w of writes) {
              expect(w.offset).toBe(at);
              expect(w.call?.asked).toBe(w.length);
              at += w.length;
            }
            expect(at).toBe(sent.length);
          } finally {
            await reader.close();
          }
        }
      } finally {
        await sink.close();
      }
    });
  });

  it('moves a hard-coded port with --port-map, inside the traced program', async () => {
    await withTempDir(async (root) => {
      const chunks: Buffer[] = [];
      let ended!: () => void;
      const done = new Promise<void>((r) => (ended = r));
      const server = await listen((s) => {
        s.on('data', (b) => chunks.push(b));
        s.on('end', () => ended());
      });
      try {
        // client.py connects to 127.0.0.1:8181 unless told otherwise: here nobody tells it.
        const { stdout } = await promisify(execFile)('node', [CLI, 'trace', '--captures', path.join(root, 'captures'), '--port-map', `8181=${server.port}`, '--', PY, ASSIGNMENT.client, '--folder', path.join(root, 'files')], { env: PY_ENV });
        expect(stdout).toContain('Todos os arquivos foram enviados');
        await done;
        const [dir] = await readdir(path.join(root, 'captures'));
        const { reader } = await open(path.join(root, 'captures', dir!));
        try {
          expect(reader.meta.server).toEqual({ address: '127.0.0.1', port: server.port });
          expect(reader.meta.options).toEqual({ command: 'trace', portMap: { '8181': server.port } });
          expect(Buffer.compare(Buffer.from(await reader.read(0, reader.streamLength)), Buffer.concat(chunks))).toBe(0);
        } finally {
          await reader.close();
        }
      } finally {
        await server.close();
      }
    });
  });

  it('records the exception of a program that crashes mid-transfer, and exits with its exit code', async () => {
    await withTempDir(async (root) => {
      // Resets the connection once the first 4 bytes came.
      const server = await listen((s) => {
        let n = 0;
        s.on('data', (b) => {
          n += b.length;
          if (n >= 4) s.resetAndDestroy();
        });
      });
      const program = path.join(root, 'crash.py');
      await writeFile(program, [
        'import socket, sys',
        's = socket.socket()',
        's.connect(("127.0.0.1", int(sys.argv[1])))',
        's.sendall(b"\\x00\\x00\\x00\\x01")',
        'try:',
        '    s.recv(1)',
        'except ConnectionResetError:',
        '    print("reset", flush=True)',
        '    sys.exit(7)',
      ].join('\n'));
      try {
        const result = await promisify(execFile)('node', [CLI, 'trace', '--captures', path.join(root, 'captures'), '--', PY, program, String(server.port)], { env: PY_ENV }).then(
          () => ({ code: 0, stdout: '' }),
          (err: { code: number; stdout: string }) => err,
        );
        expect(result.code).toBe(7);
        expect(result.stdout).toBe('reset\n');
        const [dir] = await readdir(path.join(root, 'captures'));
        const { reader, events } = await open(path.join(root, 'captures', dir!));
        try {
          const reason = { kind: 'socket-error', code: 'ECONNRESET', exception: 'ConnectionResetError' };
          expect(reader.meta.outcome).toEqual({ status: 'aborted', reason });
          expect(reader.meta.errors).toMatchObject([{ side: 'sender', reason }]);
          const sent = await events('sender');
          expect(sent.map((e) => e.type)).toEqual(['connect', 'write', 'error']);
          expect(sent[1]).toMatchObject({ length: 4, call: { name: 'sendall', asked: 4, flags: 0 } });
          expect(sent[2]).toMatchObject({ offset: 4, call: { name: 'recv', asked: 1, flags: CALL_FLAGS.exception } });
        } finally {
          await reader.close();
        }
      } finally {
        await server.close();
      }
    });
  });

  it('runs the user’s own sitecustomize and shows the program the environment it would have had', async () => {
    await withTempDir(async (root) => {
      const own = path.join(root, 'own');
      await mkdir(own);
      await writeFile(path.join(own, 'sitecustomize.py'), 'import sys\nsys.stderr.write("own sitecustomize ran\\n")\nMARK = 42\n');
      const program = path.join(root, 'env.py');
      await writeFile(program, 'import os, sitecustomize\nprint(os.environ.get("PYTHONPATH"), os.environ.get("WIRESTEP_TRACE_FD"), sitecustomize.MARK, os.getcwd())\n');
      const run = startTraced({ argv: [PY, program], capturesDir: path.join(root, 'captures'), env: { ...PY_ENV, PYTHONPATH: own }, stdio: 'pipe', cwd: own });
      const out = watchOutput(run.child);
      const r = await run.done;
      expect(r.exitCode).toBe(0);
      expect(out.text()).toContain('own sitecustomize ran\n');
      expect(out.text()).toContain(`${own} None 42 ${own}\n`);
    });
  });

  it('lets a program that writes garbage on the trace pipe run on, and says the trace stopped', async () => {
    await withTempDir(async (root) => {
      const program = path.join(root, 'garbage.py');
      await writeFile(program, 'import os\nos.write(3, b"\\xff" * 40)\nprint("still here", flush=True)\n');
      const run = startTraced({ argv: [PY, program], capturesDir: path.join(root, 'captures'), env: PY_ENV, stdio: 'pipe' });
      const out = watchOutput(run.child);
      const r = await run.done;
      expect(r.exitCode).toBe(0);
      expect(out.text()).toBe('still here\n');
      expect(r.problems).toEqual([expect.stringMatching(/^the trace stopped: a trace frame says it is \d+ bytes long$/)]);
      expect(r.captures).toEqual([]);
    });
  });

  it('forwards SIGINT to the program’s process group and exits with the program’s code', async () => {
    await withTempDir(async (root) => {
      const program = path.join(root, 'wait.py');
      await writeFile(program, 'import sys, time\ntry:\n    print("ready", flush=True)\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    print("interrupted", flush=True)\n    sys.exit(5)\n');
      const cli = spawn('node', [CLI, 'trace', '--captures', path.join(root, 'captures'), '--', PY, program], { env: PY_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
      const out = watchOutput(cli);
      await out.waitFor('ready\n');
      // 'close', not 'exit': the program's last line may still be in the pipe when the CLI exits.
      const exited = new Promise<number | null>((r) => cli.once('close', (code) => r(code)));
      cli.kill('SIGINT');
      expect(await exited).toBe(5);
      expect(out.text()).toContain('interrupted\n');
    });
  });

  it('records an asyncio client, whose non-blocking connect completes after it returned', async () => {
    await withTempDir(async (root) => {
      const chunks: Buffer[] = [];
      let ended!: () => void;
      const done = new Promise<void>((r) => (ended = r));
      const server = await listen((s) => {
        s.on('data', (b) => chunks.push(b));
        s.on('end', () => ended());
      });
      const program = path.join(root, 'aio.py');
      await writeFile(program, [
        'import asyncio, sys',
        'async def main():',
        '    reader, writer = await asyncio.open_connection("127.0.0.1", int(sys.argv[1]))',
        '    writer.write(b"hello asyncio")',
        '    await writer.drain()',
        '    writer.close()',
        '    await writer.wait_closed()',
        'asyncio.run(main())',
      ].join('\n'));
      try {
        const run = startTraced({ argv: [PY, program, String(server.port)], capturesDir: path.join(root, 'captures'), env: PY_ENV, stdio: 'ignore' });
        const r = await run.done;
        expect(r.exitCode).toBe(0);
        await done;
        expect(Buffer.concat(chunks).toString()).toBe('hello asyncio');
        expect(r.captures).toHaveLength(1);
        const { reader, events } = await open(r.captures[0]!);
        try {
          expect(reader.meta.server).toEqual({ address: '127.0.0.1', port: server.port });
          const sent = await events('sender');
          expect(sent[0]).toMatchObject({ type: 'connect', call: { name: 'connect' } });
          expect(calls(sent, 'send').map((e) => e.length)).toEqual([13]);
          expect(Buffer.from(await reader.read(0, 100)).toString()).toBe('hello asyncio');
        } finally {
          await reader.close();
        }
      } finally {
        await server.close();
      }
    });
  });

  it('runs --server and --client from the command line, each split into words without a shell, and names the one capture', async () => {
    await withTempDir(async (root) => {
      const captures = path.join(root, 'captures');
      const { stdout, stderr } = await promisify(execFile)('node', [CLI, 'trace', '--captures', captures,
        '--server', `'${PY}' '${ASSIGNMENT.server}' --port 0 --out '${path.join(root, 'out')}'`,
        '--client', `'${PY}' '${ASSIGNMENT.client}' --port {port} --folder '${path.join(root, 'files')}'`], { env: PY_ENV });
      expect(stdout).toContain('Todos os arquivos foram enviados');
      const [dir] = await readdir(captures);
      expect(stderr).toBe(`wirestep: capture ${path.join(captures, dir!)}\n`);
      expect((await readFile(path.join(root, 'out', 'arquivo_1.txt'), 'utf8'))).toBe('Este é o conteúdo do arquivo 1\n');
    });
  });

  it.each([
    [['--server', 'python3 server.py'], /--server and --client go together/],
    [['--server', 'python3 "server.py', '--client', 'python3 client.py'], /unclosed "/],
    [['--port-map', '8181', '--', 'python3', 'x.py'], /expected FROM=TO/],
    [[], /nothing to trace/],
  ])('exits 2 on a wrong command line %j', async (args, message) => {
    const err = await promisify(execFile)('node', [CLI, 'trace', ...args]).then(() => null, (e: { code: number; stderr: string }) => e);
    expect(err?.code).toBe(2);
    expect(err?.stderr).toMatch(message);
  });

  it('stops both programs of a --server/--client pair when told to, and records what the signal did to their calls', async () => {
    await withTempDir(async (root) => {
      const program = path.join(root, 'stuck.py');
      await writeFile(program, 'import socket, sys, time\ns = socket.create_connection(("127.0.0.1", int(sys.argv[1])))\nprint("connected", flush=True)\ntime.sleep(60)\n');
      const stop = new AbortController();
      const seen: Promise<unknown>[] = [];
      const r = await tracePair({
        server: [PY, ASSIGNMENT.server, '--port', '0', '--out', path.join(root, 'out')],
        client: [PY, program, '{port}'],
        capturesDir: path.join(root, 'captures'),
        env: PY_ENV,
        stdio: 'pipe',
        stop: stop.signal,
        onStart: (role, run) => {
          const out = watchOutput(run.child);
          // Once server.py has the connection (it is then in recv(4), or about to be) and the client's
          // connect() has returned and been reported: the server's accept() can return before that.
          seen.push(out.waitFor(role === 'server' ? 'Conexão recebida' : 'connected'));
          if (seen.length === 2) void Promise.all(seen).then(() => stop.abort('SIGINT'), () => {});
        },
      });
      expect(r.client.exitCode === 0).toBe(false);
      expect(r.captures).toHaveLength(1);
      const { reader, events } = await open(r.captures[0]!);
      try {
        expect(reader.meta.sides).toEqual(['sender', 'receiver']);
        const received = await events('receiver');
        expect(received[0]).toMatchObject({ type: 'accept' });
        const error = received.find((e) => e.type === 'error');
        if (error) {
          // The SIGINT came out of server.py's recv(4).
          expect(error).toMatchObject({ offset: 0, call: { name: 'recv', asked: 4, flags: CALL_FLAGS.exception } });
          expect(reader.meta.outcome).toEqual({ status: 'aborted', reason: { kind: 'socket-error', code: 'KeyboardInterrupt', exception: 'KeyboardInterrupt' } });
        } else {
          // It came just before: the connection was open when wirestep stopped it.
          expect(reader.meta.outcome).toEqual({ status: 'interrupted' });
        }
        // client.py was stopped in a sleep, its socket never closed by a call.
        expect((await events('sender')).map((e) => e.type)).toEqual(['connect']);
      } finally {
        await reader.close();
      }
    });
  });
});
