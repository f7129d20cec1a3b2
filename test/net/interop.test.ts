import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { type FileToSend, sendFiles, transferSize } from '../../src/net/index.js';
import { NAME_LENGTH, SIZE_LENGTH } from '../../src/protocol/index.js';
import { freePort, withReceiver, withTempDir } from '../helpers/net.js';

import { PYTHON, PY_ENV, SEED, replaceExactly, writeReferenceClient } from '../helpers/reference.js';

interface Child {
  readonly proc: ChildProcess;
  output(): string;
  /** Resolves with the exit code once the process has ended. */
  readonly exited: Promise<number | null>;
}

function run(args: string[], cwd: string): Child {
  const proc = spawn(PYTHON, args, { cwd, env: PY_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => {
    proc.once('error', (err) => {
      out += `\nspawn error: ${err.message}`;
      resolve(-1);
    });
    proc.once('close', (code) => resolve(code));
  });
  return { proc, output: () => out, exited };
}

async function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function stop(child: Child): Promise<void> {
  if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
  await child.exited;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.end();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Runs a copy of the reference server.py in `cwd` (where it saves files) on a free port, and
 * waits until it accepts connections; retries on another port if the port was taken meanwhile.
 */
async function startReferenceServer(cwd: string): Promise<{ child: Child; port: number }> {
  const source = await readFile(path.join(SEED, 'server.py'), 'utf8');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    let script = replaceExactly(source, "host='127.0.0.1'", "host='127.0.0.1'", 1);
    script = replaceExactly(script, 'port=8181', `port=${port}`, 1);
    const file = path.join(path.dirname(cwd), `server-${port}.py`);
    await writeFile(file, script);
    const child = run([file], cwd);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && child.proc.exitCode === null) {
      if (await canConnect(port)) return { child, port };
      await sleep(50);
    }
    await stop(child);
    if (attempt === 3) throw new Error(`server.py never accepted connections on port ${port}:\n${child.output()}`);
  }
}

/** Waits until every file is in `dir` with its full size: the server saves after the sender is done. */
async function waitForFiles(dir: string, files: readonly FileToSend[], server: Child): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const sizes = await Promise.all(files.map((f) => stat(path.join(dir, f.name)).then((s) => s.size, () => -1)));
    if (sizes.every((s, i) => s === files[i]!.size)) return;
    if (Date.now() > deadline) {
      throw new Error(`server.py did not save every file in time: ${JSON.stringify(files.map((f, i) => [f.name, f.size, sizes[i]]))}\n${server.output()}`);
    }
    await sleep(50);
  }
}

/** Writes `contents` as files in `dir`; returns them ready to send. */
async function makeFiles(dir: string, contents: Readonly<Record<string, Uint8Array>>): Promise<FileToSend[]> {
  await mkdir(dir, { recursive: true });
  const files: FileToSend[] = [];
  for (const [name, data] of Object.entries(contents)) {
    const p = path.join(dir, name);
    await writeFile(p, data);
    files.push({ name, path: p, size: data.length });
  }
  return files;
}

/** Writes a sender makes for `files` when no write crosses a field and none exceeds `chunk`. */
function expectedWrites(files: readonly FileToSend[], chunk: number): number {
  const writes = (n: number): number => Math.ceil(n / chunk);
  return writes(4) + files.reduce((n, f) => n + writes(NAME_LENGTH) + writes(SIZE_LENGTH) + writes(f.size), 0);
}

/** Sends `files` with wirestep's sender to a fresh reference server and checks what it saved. */
async function sendToReferenceServer(root: string, files: readonly FileToSend[], chunk: number): Promise<void> {
  const saved = path.join(root, 'saved');
  await mkdir(saved);
  const { child, port } = await startReferenceServer(saved);
  try {
    const result = await sendFiles({ host: '127.0.0.1', port, files, chunk, capturesDir: path.join(root, 'captures') });
    expect(result.status, result.message).toBe('complete');
    expect(result.bytes).toBe(transferSize(files));
    expect(result.writes).toBe(expectedWrites(files, chunk));
    await waitForFiles(saved, files, child);
    for (const f of files) {
      expect(await readFile(path.join(saved, f.name)), f.name).toEqual(await readFile(f.path));
    }
    expect((await readdir(saved)).sort()).toEqual(files.map((f) => f.name).sort());
  } finally {
    await stop(child);
  }
}

describe('interop with the reference Python scripts', () => {
  beforeAll(() => {
    for (const script of ['client.py', 'server.py']) {
      if (!existsSync(path.join(SEED, script))) throw new Error(`reference script not found: ${path.join(SEED, script)} (set WIRESTEP_SEED)`);
    }
  });

  it('saves every file the reference client.py sends, byte for byte', async () => {
    await withReceiver(async (r) => {
      const folder = path.join(r.root, 'arquivos_para_enviar');
      const file = await writeReferenceClient(r.root, r.port, folder);

      const client = run([file], r.root);
      try {
        expect(await within(client.exited, 30_000, client.output), client.output()).toBe(0);
      } finally {
        await stop(client);
      }
      const result = await within(r.nextResult(), 30_000, () => 'no result from the receiver');

      expect(result.status, result.message).toBe('complete');
      expect(result.problems.filter((p) => p.severity === 'error')).toEqual([]);
      const names = Array.from({ length: 10 }, (_, i) => `arquivo_${i + 1}.txt`);
      expect((await readdir(folder)).sort()).toEqual([...names].sort());
      expect(result.files.map((f) => f.status)).toEqual(Array(10).fill('saved'));
      expect(result.files.map((f) => f.savedAs).sort()).toEqual([...names].sort());
      expect((await readdir(r.outDir)).sort()).toEqual([...names].sort());
      let total = 4;
      for (const [i, name] of names.entries()) {
        const sent = await readFile(path.join(folder, name));
        expect(sent.toString('utf8')).toBe(`Este é o conteúdo do arquivo ${i + 1}\n`);
        expect(await readFile(path.join(r.outDir, name)), name).toEqual(sent);
        total += NAME_LENGTH + SIZE_LENGTH + sent.length;
      }
      expect(result.bytes).toBe(total);

      expect(result.captureDir).toBeDefined();
      const meta = JSON.parse(await readFile(path.join(result.captureDir!, 'capture.json'), 'utf8'));
      expect(meta.outcome.status).toBe('complete');
      expect(meta.streamBytes).toBe(total);
      expect((await stat(path.join(result.captureDir!, 'stream.bin'))).size).toBe(total);
    });
  }, 60_000);

  it('has every file wirestep sends saved by the reference server.py, byte for byte', async () => {
    await withTempDir(async (root) => {
      const all256 = new Uint8Array(3 * 1024 + 17).map((_, i) => (i * 7 + (i >> 8)) % 256);
      expect(new Set(all256).size).toBe(256);
      const files = await makeFiles(path.join(root, 'src'), {
        'every_byte.bin': all256,
        'empty.txt': new Uint8Array(0),
        'relatório_ação.txt': new TextEncoder().encode('Olá, conexão!\n'),
        'big.bin': new Uint8Array(200_000).map((_, i) => (i * 31) % 251),
      });
      await sendToReferenceServer(root, files, 1024);
    });
  }, 60_000);

  it.each([1, 7])('has the reference server.py reassemble files sent in writes of %i bytes', async (chunk) => {
    await withTempDir(async (root) => {
      const files = await makeFiles(path.join(root, 'src'), {
        'a.txt': new TextEncoder().encode('Este é o conteúdo do arquivo 1\n'),
        'ação.bin': new Uint8Array(300).map((_, i) => 255 - (i % 256)),
      });
      await sendToReferenceServer(root, files, chunk);
    });
  }, 60_000);
});
