import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeSync, openSync, closeSync } from 'node:fs';
import { chmod, cp, mkdir, open, readFile, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CaptureError, CaptureReader, type CaptureMeta, CaptureWriter, LINK_MIN_BYTES } from '../../src/capture/index.js';
import { exportPcapng } from '../../src/capture/pcap-export.js';
import { encodeTransfer } from '../../src/protocol/index.js';
import { loadStep, stepCount } from '../../src/web/steps.js';
import { renderStepText } from '../../src/cli/render.js';
import { type FileToSend, sendFiles } from '../../src/net/index.js';
import { type ReceiverFixture, sendRaw, withReceiver, withTempDir } from '../helpers/net.js';
import { PYTHON, PY_ENV, watchOutput } from '../../scripts/lib/harness.js';

const te = new TextEncoder();
const EVERY_BYTE = Uint8Array.from({ length: 3 << 20 }, (_, i) => i & 0xff);
const MIDDLE = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) & 0xff);
const FILES = [
  { name: 'leia.txt', data: te.encode('três arquivos\n') },
  { name: 'todos_os_bytes.bin', data: EVERY_BYTE },
  { name: 'meio.bin', data: MIDDLE },
];
const STREAM = encodeTransfer(FILES);

/**
 * Python: a slow reader. Listens with an 8 KiB receive buffer, prints its port, and saves one
 * connection's bytes to argv[1], resting 1 ms after every 64 KiB: the sender is kept waiting on a
 * full socket, as a slow peer keeps it.
 */
const SLOW_READER = [
  'import socket, sys, time',
  's = socket.socket()',
  's.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)',
  "s.bind(('127.0.0.1', 0))",
  's.listen(1)',
  "print('port', s.getsockname()[1], flush=True)",
  'c, _ = s.accept()',
  'n = 0',
  "with open(sys.argv[1], 'wb') as f:",
  '    while True:',
  '        b = c.recv(4096)',
  '        if not b:',
  '            break',
  '        f.write(b)',
  '        n += len(b)',
  '        if n >= 65536:',
  '            n = 0',
  '            time.sleep(0.001)',
].join('\n');

/** Sends `bytes` to the receiver in 64 KiB writes and returns its capture's folder and metadata. */
async function transfer(r: ReceiverFixture, bytes: Uint8Array): Promise<{ dir: string; meta: CaptureMeta }> {
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += 65_536) pieces.push(bytes.subarray(at, at + 65_536));
  await sendRaw(r.port, pieces);
  const result = await r.nextResult();
  return { dir: result.captureDir!, meta: result.capture! };
}

async function readAll(dir: string): Promise<{ bytes: Buffer; reader: CaptureReader }> {
  const reader = await CaptureReader.open(dir);
  return { bytes: Buffer.from(await reader.read(0, reader.streamLength)), reader };
}

/**
 * The same recording with every byte in stream.bin, as `--capture-copy` and version 4 store it:
 * the events and metadata stay, the payload files go.
 */
async function materialize(dir: string, into: string): Promise<string> {
  const out = path.join(into, path.basename(dir));
  await mkdir(into, { recursive: true });
  await cp(dir, out, { recursive: true });
  const { bytes, reader } = await readAll(dir);
  await reader.close();
  await writeFile(path.join(out, 'stream.bin'), bytes);
  const meta = JSON.parse(await readFile(path.join(out, 'capture.json'), 'utf8'));
  for (const p of meta.payloads) await unlink(path.join(out, p.file));
  delete meta.payloads;
  await writeFile(path.join(out, 'capture.json'), JSON.stringify({ ...meta, version: 4 }));
  return out;
}

/** Every step of a capture, both ways, as `wirestep dump` prints them. */
async function dumpText(dir: string): Promise<string> {
  const reader = await CaptureReader.open(dir);
  try {
    const d = await reader.dissection();
    const out: string[] = [];
    for (const by of ['field', 'op'] as const) {
      for (let n = 1; n <= stepCount(reader, d, by); n++) out.push(renderStepText(await loadStep('cap', reader, d, by, n, 'en'), false, 'en'));
    }
    return out.join('');
  } finally {
    await reader.close();
  }
}

/** The pcapng `wirestep export` writes for a capture. */
async function exported(dir: string, file: string): Promise<Buffer> {
  const reader = await CaptureReader.open(dir);
  try {
    await exportPcapng(reader, file);
  } finally {
    await reader.close();
  }
  return readFile(file);
}

describe('payloads stored by link', () => {
  it('keeps each saved payload once, as a hard link to the saved file, and reads the stream back byte for byte', async () => {
    await withReceiver(async (r) => {
      const { dir, meta } = await transfer(r, STREAM);
      expect(meta.outcome.status).toBe('complete');
      expect(meta.version).toBe(5);
      // The small text file stays in stream.bin; the two large payloads are links.
      expect(meta.payloads?.map((p) => [p.file, p.length])).toEqual([['payload-2.bin', EVERY_BYTE.length], ['payload-3.bin', MIDDLE.length]]);
      const linked = EVERY_BYTE.length + MIDDLE.length;
      expect((await stat(path.join(dir, 'stream.bin'))).size).toBe(STREAM.length - linked);
      for (const [p, name] of [[meta.payloads![0]!, 'todos_os_bytes.bin'], [meta.payloads![1]!, 'meio.bin']] as const) {
        const saved = await stat(path.join(r.outDir, name), { bigint: true });
        expect(String(saved.ino)).toBe(p.ino);
        expect(Number(saved.mode & 0o777n)).toBe(0o444);
        expect(Number(saved.size)).toBe(p.size);
        expect(String(saved.mtimeNs)).toBe(p.mtimeNs);
      }
      // No temporary name is left behind: each payload has two names, the saved file and the capture's.
      expect((await readdir(r.outDir)).sort()).toEqual(['leia.txt', 'meio.bin', 'todos_os_bytes.bin']);
      expect((await stat(path.join(r.outDir, 'meio.bin'))).nlink).toBe(2);
      const { bytes, reader } = await readAll(dir);
      try {
        expect(reader.streamLength).toBe(STREAM.length);
        expect(reader.payloadProblems).toEqual([]);
        expect(bytes.equals(Buffer.from(STREAM))).toBe(true);
        // Reads that straddle a header and a payload, and one inside a payload.
        const p = meta.payloads![1]!;
        expect(Buffer.from(await reader.read(p.offset - 200, 400)).equals(Buffer.from(STREAM.subarray(p.offset - 200, p.offset + 200)))).toBe(true);
        expect(Buffer.from(await reader.read(1_000_000, 10)).equals(Buffer.from(STREAM.subarray(1_000_000, 1_000_010)))).toBe(true);
        const d = await reader.dissection();
        expect([d.files, d.problemCount]).toEqual([3, 0]);
      } finally {
        await reader.close();
      }
    });
  });

  it('dumps and exports a linked capture exactly as the same recording with every byte copied, and tshark reads the stream back', async () => {
    await withReceiver(async (r) => {
      const { dir } = await transfer(r, STREAM);
      const copy = await materialize(dir, path.join(r.root, 'copied'));
      expect(await dumpText(dir)).toBe(await dumpText(copy));
      const a = await exported(dir, path.join(r.root, 'linked.pcapng'));
      const b = await exported(copy, path.join(r.root, 'copied.pcapng'));
      expect(a.equals(b)).toBe(true);
      const { stdout } = await promisify(execFile)('tshark', ['-r', path.join(r.root, 'linked.pcapng'), '-q', '-z', 'follow,tcp,raw,0'], { maxBuffer: 256 << 20 });
      const body = stdout.split(/^Node 1: .*$/m)[1]!.split(/^=+$/m)[0]!;
      const followed = Buffer.from(body.split('\n').filter((l) => l.length > 0 && !l.startsWith('\t')).join(''), 'hex');
      expect(followed.equals(Buffer.from(STREAM))).toBe(true);
    });
  });

  it('shows a received file edited in place after the transfer as damaged on exactly its range, never its new bytes', async () => {
    await withReceiver(async (r) => {
      const { dir, meta } = await transfer(r, STREAM);
      const edited = path.join(r.outDir, 'meio.bin');
      // Read-only stops a careless editor; one that insists (chmod, root) changes the capture's payload too.
      await chmod(edited, 0o644);
      const fh = await open(edited, 'r+');
      await fh.write(te.encode('EDITED'), 0, 6, 10);
      await fh.close();
      const range = meta.payloads!.find((p) => p.file === 'payload-3.bin')!;
      const { bytes, reader } = await readAll(dir);
      try {
        expect(reader.payloadProblems).toEqual([{ kind: 'payload-changed', offset: range.offset, length: range.length }]);
        expect(bytes.subarray(range.offset, range.offset + range.length).every((b) => b === 0)).toBe(true);
        // Everything else reads as recorded.
        expect(bytes.subarray(0, range.offset).equals(Buffer.from(STREAM.subarray(0, range.offset)))).toBe(true);
        expect(reader.isDamaged(range.offset - 1, 1)).toBe(false);
        expect(reader.isDamaged(range.offset + range.length - 1, 1)).toBe(true);
        const d = await reader.dissection();
        const entry = (await d.fieldsIn(range.offset, range.offset + 1, 1))[0]!;
        expect(entry.field.offset).toBe(range.offset);
        const step = await loadStep('cap', reader, d, 'field', entry.index + 1, 'en');
        expect(step.damaged).toEqual([`The ${range.length.toLocaleString('en-US')} bytes of the stream from offset ${range.offset.toLocaleString('en-US')} are a received file the capture links to, and that file changed after it was recorded (edited in place or replaced). Those bytes are not shown: they are no longer the ones that came.`]);
        const header = await loadStep('cap', reader, d, 'field', 1, 'en');
        expect(header.damaged).toEqual([]);
      } finally {
        await reader.close();
      }
    });
  });

  it('replays the whole stream after the received files are deleted or renamed', async () => {
    await withReceiver(async (r) => {
      const { dir } = await transfer(r, STREAM);
      await unlink(path.join(r.outDir, 'todos_os_bytes.bin'));
      await rename(path.join(r.outDir, 'meio.bin'), path.join(r.outDir, 'outro.bin'));
      const { bytes, reader } = await readAll(dir);
      try {
        expect(reader.payloadProblems).toEqual([]);
        expect(bytes.equals(Buffer.from(STREAM))).toBe(true);
      } finally {
        await reader.close();
      }
    });
  });

  it('replays a copy of the capture folder (new inodes, new times), and shows a payload the copy truncated as changed', async () => {
    await withReceiver(async (r) => {
      const { dir, meta } = await transfer(r, STREAM);
      await withTempDir(async (tmp) => {
        const copy = path.join(tmp, path.basename(dir));
        await cp(dir, copy, { recursive: true });
        const first = meta.payloads![0]!;
        expect((await stat(path.join(copy, first.file))).ino).not.toBe((await stat(path.join(dir, first.file))).ino);
        const { bytes, reader } = await readAll(copy);
        try {
          expect(reader.payloadProblems).toEqual([]);
          expect(bytes.equals(Buffer.from(STREAM))).toBe(true);
        } finally {
          await reader.close();
        }
        const last = meta.payloads!.at(-1)!;
        await chmod(path.join(copy, last.file), 0o644);
        await writeFile(path.join(copy, last.file), MIDDLE.subarray(0, 10));
        const damaged = await CaptureReader.open(copy);
        try {
          expect(damaged.payloadProblems).toEqual([{ kind: 'payload-changed', offset: last.offset, length: last.length }]);
        } finally {
          await damaged.close();
        }
      });
    });
  });

  it('keeps a payload cut by the end of the stream linked, as long as what came', async () => {
    await withReceiver(async (r) => {
      const cut = STREAM.subarray(0, 2_000_000);
      const { dir, meta } = await transfer(r, cut);
      expect(meta.outcome.status).toBe('truncated');
      expect(meta.files.find((f) => f.file === 2)?.status).toBe('incomplete');
      const range = meta.payloads![0]!;
      expect(range.offset + range.length).toBe(cut.length);
      expect(range.size).toBe(range.length);
      // The unfinished file's temporary name is gone; only the capture holds its bytes.
      expect(await readdir(r.outDir)).toEqual(['leia.txt']);
      const { bytes, reader } = await readAll(dir);
      try {
        expect(reader.payloadProblems).toEqual([]);
        expect(bytes.equals(Buffer.from(cut))).toBe(true);
      } finally {
        await reader.close();
      }
    });
  });
});

/** FILES written into `folder`, as the sender sends them. */
async function filesIn(folder: string): Promise<FileToSend[]> {
  await mkdir(folder, { recursive: true });
  const out: FileToSend[] = [];
  for (const f of FILES) {
    const p = path.join(folder, f.name);
    await writeFile(p, f.data);
    out.push({ name: f.name, path: p, size: f.data.length });
  }
  return out;
}

describe('the sender’s payloads by reference', () => {
  it('keeps each file it sends by clone or link instead of a copy, and its capture reads the stream sent', async () => {
    await withReceiver(async (r) => {
      const files = await filesIn(path.join(r.root, 'send'));
      const sent = await sendFiles({ port: r.port, files, capturesDir: path.join(r.root, 'sent') });
      expect(sent.status).toBe('complete');
      await r.nextResult();
      const meta = JSON.parse(await readFile(path.join(sent.captureDir!, 'capture.json'), 'utf8')) as CaptureMeta;
      expect(meta.version).toBe(5);
      expect(meta.payloads?.map((p) => [p.file, p.length, p.changed])).toEqual([['payload-2.bin', EVERY_BYTE.length, undefined], ['payload-3.bin', MIDDLE.length, undefined]]);
      expect((await stat(path.join(sent.captureDir!, 'stream.bin'))).size).toBe(STREAM.length - EVERY_BYTE.length - MIDDLE.length);
      const { bytes, reader } = await readAll(sent.captureDir!);
      try {
        expect(reader.payloadProblems).toEqual([]);
        expect(bytes.equals(Buffer.from(STREAM))).toBe(true);
      } finally {
        await reader.close();
      }
    });
  });

  it('sends every block whole when it reads into the blocks the socket is done with, with and without a capture', async () => {
    // Seven 1 MiB blocks that each differ from the others, and a short last one: a block read into
    // again before the socket had sent it would put later bytes in the place of earlier ones.
    const data = Uint8Array.from({ length: 7 * (1 << 20) + 1000 }, (_, i) => (Math.floor(i / (1 << 20)) * 37 + i * 11) & 0xff);
    const expected = Buffer.from(encodeTransfer([{ name: 'blocos.bin', data }]));
    for (const mode of ['no-capture', 'linked', 'copied'] as const) {
      await withTempDir(async (root) => {
        const file = path.join(root, 'blocos.bin');
        await writeFile(file, data);
        // A slow reader: the socket still keeps the last pieces of a block, unsent, when the
        // sender goes on to read the next one.
        const reader = spawn(PYTHON, ['-c', SLOW_READER, path.join(root, 'got.bin')], { env: PY_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
        const exited = once(reader, 'exit');
        const port = Number((await watchOutput(reader).waitFor(/port (\d+)\n/))[1]);
        const sent = await sendFiles({
          port,
          files: [{ name: 'blocos.bin', path: file, size: data.length }],
          // 1000-byte writes: the end of a block then falls anywhere in the socket's 256 KiB
          // queue, not always where a full queue makes the sender wait until it has emptied.
          chunk: 1000,
          capturesDir: mode === 'no-capture' ? null : path.join(root, 'sent'),
          captureCopy: mode === 'copied',
        });
        expect(sent.status, mode).toBe('complete');
        expect((await exited)[0], mode).toBe(0);
        expect((await readFile(path.join(root, 'got.bin'))).equals(expected), mode).toBe(true);
        if (mode === 'no-capture') return;
        const mine = await readAll(sent.captureDir!);
        try {
          expect(mine.bytes.equals(expected), mode).toBe(true);
        } finally {
          await mine.reader.close();
        }
      });
    }
  });

  it('shows a file that changed while it was being sent as damaged on its range, and the receiver’s capture as what came', async () => {
    await withReceiver(async (r) => {
      const files = await filesIn(path.join(r.root, 'send'));
      const big = files[1]!;
      const start = STREAM.length - EVERY_BYTE.length - MIDDLE.length - 136;
      let edited = false;
      const sent = await sendFiles({
        port: r.port,
        files,
        capturesDir: path.join(r.root, 'sent'),
        onProgress: (written) => {
          // Once the big file's first write is made, its last 16 bytes are rewritten: they lie in
          // its third 1 MiB block, which the sender reads only after it has written the first two.
          if (edited || written <= start) return;
          edited = true;
          const fd = openSync(big.path, 'r+');
          writeSync(fd, new Uint8Array(16).fill(0xee), 0, 16, EVERY_BYTE.length - 16);
          closeSync(fd);
        },
      });
      expect(sent.status).toBe('complete');
      expect(edited).toBe(true);
      const received = await r.nextResult();
      const meta = JSON.parse(await readFile(path.join(sent.captureDir!, 'capture.json'), 'utf8')) as CaptureMeta;
      const range = meta.payloads!.find((p) => p.file === 'payload-2.bin')!;
      expect(range.changed).toBe(true);
      const mine = await readAll(sent.captureDir!);
      const theirs = await readAll(received.captureDir!);
      try {
        expect(mine.reader.payloadProblems).toEqual([{ kind: 'payload-changed', offset: range.offset, length: range.length }]);
        // The receiver saved what came, the edited bytes included, and its capture vouches for it.
        expect(theirs.reader.payloadProblems).toEqual([]);
        expect(theirs.bytes.subarray(range.offset + range.length - 16, range.offset + range.length).every((b) => b === 0xee)).toBe(true);
      } finally {
        await mine.reader.close();
        await theirs.reader.close();
      }
    });
  });

  it('copies what it sends with --capture-copy', async () => {
    await withReceiver(async (r) => {
      const files = await filesIn(path.join(r.root, 'send'));
      const sent = await sendFiles({ port: r.port, files, capturesDir: path.join(r.root, 'sent'), captureCopy: true });
      await r.nextResult();
      expect((await readFile(path.join(sent.captureDir!, 'stream.bin'))).equals(Buffer.from(STREAM))).toBe(true);
    });
  });
});

describe('payloads copied', () => {
  const EXDEV = async (): Promise<void> => {
    throw Object.assign(new Error('EXDEV: cross-device link not permitted, link'), { code: 'EXDEV' });
  };

  it('copies every payload into stream.bin when the capture folder is on another file system (EXDEV)', async () => {
    await withReceiver(async (r) => {
      const { dir, meta } = await transfer(r, STREAM);
      expect(meta.outcome.status).toBe('complete');
      expect(meta.payloads).toBeUndefined();
      expect(meta.version).toBe(4);
      expect((await readFile(path.join(dir, 'stream.bin'))).equals(Buffer.from(STREAM))).toBe(true);
      expect((await readdir(dir)).filter((f) => f.startsWith('payload-'))).toEqual([]);
      expect((await readFile(path.join(r.outDir, 'todos_os_bytes.bin'))).equals(Buffer.from(EVERY_BYTE))).toBe(true);
    }, { capturePayloadLink: EXDEV });
  });

  it('copies every payload with --capture-copy, and reads the same stream as a linked capture', async () => {
    await withReceiver(async (r) => {
      const { dir, meta } = await transfer(r, STREAM);
      expect(meta.payloads).toBeUndefined();
      expect(meta.options.captureCopy).toBe(true);
      const { bytes, reader } = await readAll(dir);
      await reader.close();
      expect(bytes.equals(Buffer.from(STREAM))).toBe(true);
    }, { captureCopy: true });
  });

  it('copies payloads smaller than a link is worth', async () => {
    await withReceiver(async (r) => {
      const small = encodeTransfer([{ name: 'a.bin', data: new Uint8Array(LINK_MIN_BYTES - 1) }]);
      const { dir, meta } = await transfer(r, small);
      expect(meta.payloads).toBeUndefined();
      expect((await readFile(path.join(dir, 'stream.bin'))).equals(Buffer.from(small))).toBe(true);
    });
  });
});

describe('payload ranges in capture.json', () => {
  it('reads a capture whose recorder stopped mid-file up to what its payload file holds', async () => {
    await withTempDir(async (root) => {
      const payload = Uint8Array.from({ length: 10_000 }, (_, i) => i & 0xff);
      const stream = encodeTransfer([{ name: 'a.bin', data: payload }]);
      const start = stream.length - payload.length;
      const temp = path.join(root, 'a.part');
      // The receiver's file got 6,000 bytes to disk; 8,000 had come (the rest still queued).
      await writeFile(temp, payload.subarray(0, 6000));
      const w = await CaptureWriter.create({ root, id: 'killed', sides: ['receiver'] });
      expect(await w.linkPayload('receiver', 1, temp, start, payload.length)).toBe(true);
      w.record('receiver', 'accept', 0, 0);
      w.record('receiver', 'read', 0, start + 8000, stream.subarray(0, start + 8000));
      w.flush();
      // capture.json is rewritten while recording; wait until it lists the range.
      const file = path.join(root, 'killed', 'capture.json');
      while (!JSON.parse(await readFile(file, 'utf8')).payloads) await new Promise((r) => setTimeout(r, 20));
      while ((await stat(path.join(root, 'killed', 'stream.bin'))).size < start) await new Promise((r) => setTimeout(r, 20));
      const { bytes, reader } = await readAll(path.join(root, 'killed'));
      try {
        expect(reader.meta.outcome.status).toBe('recording');
        expect(reader.payloadProblems).toEqual([]);
        expect(bytes.equals(Buffer.from(stream.subarray(0, start + 6000)))).toBe(true);
      } finally {
        await reader.close();
        await w.finish('interrupted');
      }
    });
  });

  it('refuses a range naming a file outside the capture, or ranges that overlap', async () => {
    await withReceiver(async (r) => {
      const { dir } = await transfer(r, STREAM);
      const meta = JSON.parse(await readFile(path.join(dir, 'capture.json'), 'utf8'));
      await withTempDir(async (tmp) => {
        for (const payloads of [
          [{ ...meta.payloads[0], file: '../../meio.bin' }],
          [meta.payloads[0], { ...meta.payloads[1], offset: meta.payloads[0].offset + 1 }],
          [{ ...meta.payloads[0], ino: undefined }],
        ]) {
          const bad = path.join(tmp, 'bad');
          await cp(dir, bad, { recursive: true });
          await writeFile(path.join(bad, 'capture.json'), JSON.stringify({ ...meta, payloads }));
          await expect(CaptureReader.open(bad)).rejects.toBeInstanceOf(CaptureError);
          await rm(bad, { recursive: true });
        }
      });
    });
  });
});
