import { once } from 'node:events';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureReader } from '../../src/capture/index.js';
import { listFiles, sendFiles } from '../../src/net/index.js';
import { encodeCount, encodeName, encodeSize, encodeTransfer } from '../../src/protocol/index.js';
import { STREAMS, cat } from '../fixtures/streams.js';
import { sendRaw, untouchedSince, withReceiver, withTempDir } from '../helpers/net.js';

/** Every file under `dir`, recursively, as paths relative to it. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.relative(dir, path.join(e.parentPath, e.name)));
  }
  return out.sort();
}

async function makeFiles(dir: string, files: Record<string, Uint8Array | string>): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [name, data] of Object.entries(files)) await writeFile(path.join(dir, name), data);
  return dir;
}

const allBytes = Uint8Array.from({ length: 4096 }, (_, i) => i % 256);

/** Checks a capture's data events of `side`: contiguous offsets whose bytes join into the stream. */
async function expectContiguous(dir: string, side: 'sender' | 'receiver', expected: Uint8Array): Promise<number> {
  const r = await CaptureReader.open(dir);
  try {
    const events = (await r.events(side, 0, r.eventCount(side))).filter((e) => e.type === (side === 'sender' ? 'write' : 'read'));
    let at = 0;
    for (const e of events) {
      expect(e.offset).toBe(at);
      at += e.length;
    }
    expect(at).toBe(expected.length);
    expect(await r.read(0, r.streamLength)).toEqual(expected);
    return events.length;
  } finally {
    await r.close();
  }
}

describe('receiver and sender over loopback', () => {
  it.each([1024, 7, 1])('moves every file byte for byte in %i-byte writes and records each write and read', async (chunk) => {
    await withTempDir(async (tmp) => {
      const src = await makeFiles(path.join(tmp, 'src'), { 'all-bytes.bin': allBytes, 'empty.txt': '', 'relatório_ação.txt': 'olá\n' });
      const files = await listFiles([src]);
      await withReceiver(async (rx) => {
        const sent = await sendFiles({ port: rx.port, files, chunk, capturesDir: path.join(tmp, 'sender-captures') });
        const result = await rx.nextResult();
        expect(sent.status).toBe('complete');
        expect(result.status).toBe('complete');
        expect(result.files.map((f) => [f.name, f.status])).toEqual([
          ['all-bytes.bin', 'saved'],
          ['empty.txt', 'saved'],
          ['relatório_ação.txt', 'saved'],
        ]);
        expect(await tree(rx.outDir)).toEqual(['all-bytes.bin', 'empty.txt', 'relatório_ação.txt']);
        expect(await readFile(path.join(rx.outDir, 'all-bytes.bin'))).toEqual(Buffer.from(allBytes));
        const stream = encodeTransfer([
          { name: 'all-bytes.bin', data: allBytes },
          { name: 'empty.txt', data: new Uint8Array(0) },
          { name: 'relatório_ação.txt', data: new TextEncoder().encode('olá\n') },
        ]);
        const writes = await expectContiguous(sent.captureDir!, 'sender', stream);
        // Writes never cross a field: count, then name, size, payload of each file.
        if (chunk === 1024) expect(writes).toBe(1 + 3 * 2 + 4 + 0 + 1);
        if (chunk === 1) expect(writes).toBe(stream.length);
        await expectContiguous(result.captureDir!, 'receiver', stream);
      });
    });
  });

  it('serves many connections at once, each with its own capture', async () => {
    await withTempDir(async (tmp) => {
      await withReceiver(async (rx) => {
        const n = 12;
        const sources = await Promise.all(
          Array.from({ length: n }, (_, i) => makeFiles(path.join(tmp, `s${i}`), { [`from-${i}.txt`]: `sender ${i}\n`.repeat(500 + i) })),
        );
        const results = Array.from({ length: n }, () => rx.nextResult());
        await Promise.all(sources.map(async (s) => sendFiles({ port: rx.port, files: await listFiles([s]), chunk: 333, capturesDir: null })));
        const done = await Promise.all(results);
        expect(done.every((r) => r.status === 'complete')).toBe(true);
        expect(new Set(done.map((r) => r.captureDir)).size).toBe(n);
        for (let i = 0; i < n; i++) {
          expect(await readFile(path.join(rx.outDir, `from-${i}.txt`), 'utf8')).toBe(`sender ${i}\n`.repeat(500 + i));
        }
      });
    });
  });

  it('never overwrites: a second file of the same name is saved beside the first', async () => {
    await withReceiver(async (rx) => {
      await writeFile(path.join(rx.outDir, 'notas.txt'), 'original');
      await sendRaw(rx.port, [encodeTransfer([{ name: 'notas.txt', data: new TextEncoder().encode('new') }])]);
      const result = await rx.nextResult();
      expect(result.files[0]).toMatchObject({ status: 'saved', savedAs: 'notas (1).txt' });
      expect(await readFile(path.join(rx.outDir, 'notas.txt'), 'utf8')).toBe('original');
      expect(await readFile(path.join(rx.outDir, 'notas (1).txt'), 'utf8')).toBe('new');
    });
  });
});

describe('receiver on malformed and hostile streams', () => {
  it.each(STREAMS.map((s) => [s.id, s] as const))('survives %s, writes nothing outside its folder and records the problems', async (_id, s) => {
    const started = Date.now() - 1000;
    await withReceiver(async (rx) => {
      await sendRaw(rx.port, [s.bytes]);
      const result = await rx.nextResult();
      expect(result.problems.map((p) => p.kind)).toEqual(s.problems);
      // Nothing outside out/ and captures/, no temporary file left, no refused name written.
      const everywhere = await tree(rx.root);
      expect(everywhere.filter((f) => !f.startsWith(`srv${path.sep}data${path.sep}out${path.sep}`) && !f.startsWith(`captures${path.sep}`))).toEqual([]);
      for (const f of result.files.filter((x) => x.status === 'refused' && x.name !== '')) expect(untouchedSince(path.resolve(rx.outDir, f.name), started)).toBe(true);
      const written = await tree(rx.outDir);
      expect(written.filter((f) => f.endsWith('.part'))).toEqual([]);
      for (const f of result.files) {
        if (f.status === 'saved') expect(written).toContain(f.savedAs);
      }
      expect(written.length).toBe(result.files.filter((f) => f.status === 'saved').length);
      const r = await CaptureReader.open(result.captureDir!);
      try {
        expect(r.meta.outcome.status).toBe(result.status);
        expect((await r.dissection()).problems.map((p) => p.kind)).toEqual(s.problems);
      } finally {
        await r.close();
      }
      // Still serving.
      await sendRaw(rx.port, [encodeCount(0)]);
      expect((await rx.nextResult()).status).toBe('complete');
    });
  });

  it('refuses a path-traversal name, reads its payload and saves the next file', async () => {
    await withReceiver(async (rx) => {
      await sendRaw(rx.port, [encodeTransfer([
        { name: '../../etc/passwd_copy', data: new TextEncoder().encode('root:x:0:0') },
        { name: 'ok.txt', data: new TextEncoder().encode('fine') },
      ])]);
      const result = await rx.nextResult();
      expect(result.status).toBe('malformed');
      expect(result.files).toEqual([
        expect.objectContaining({ file: 1, status: 'refused', name: '../../etc/passwd_copy' }),
        expect.objectContaining({ file: 2, status: 'saved', savedAs: 'ok.txt' }),
      ]);
      expect(await tree(rx.outDir)).toEqual(['ok.txt']);
    });
  });

  it('leaves no half-written file when the stream is cut inside a payload', async () => {
    await withReceiver(async (rx) => {
      const pieces = [cat(encodeCount(2)), encodeTransfer([{ name: 'whole.txt', data: new Uint8Array(10) }]).subarray(4), encodeName('cut.bin'), encodeSize(100_000), new Uint8Array(50_000)];
      await sendRaw(rx.port, pieces);
      const result = await rx.nextResult();
      expect(result.status).toBe('truncated');
      expect(result.files.map((f) => f.status)).toEqual(['saved', 'incomplete']);
      expect(await tree(rx.outDir)).toEqual(['whole.txt']);
    });
  });

  it('records a reset connection as aborted and removes the partial file', async () => {
    await withReceiver(async (rx) => {
      const results = rx.nextResult();
      await sendRaw(rx.port, [encodeCount(1), encodeName('reset.bin'), encodeSize(1_000_000), new Uint8Array(20_000)], { reset: true });
      const result = await results;
      expect(['aborted', 'truncated']).toContain(result.status);
      expect(await tree(rx.outDir)).toEqual([]);
    });
  });

  it('cuts a stalled sender after the idle timeout and records why', async () => {
    await withReceiver(async (rx) => {
      const socket = net.connect({ host: '127.0.0.1', port: rx.port });
      socket.on('error', () => {});
      socket.write(cat(encodeCount(1), encodeName('slow.txt')));
      const result = await rx.nextResult();
      socket.destroy();
      expect(result.status).toBe('aborted');
      expect(result.reason).toEqual({ kind: 'idle-timeout', seconds: 0.3 });
      expect(result.message).toBe('No bytes came for 0.3 s, so the receiver closed the connection.');
      const r = await CaptureReader.open(result.captureDir!);
      try {
        expect(r.meta.errors[0]?.reason).toEqual({ kind: 'idle-timeout', seconds: 0.3 });
        expect(r.meta.outcome.reason).toEqual({ kind: 'idle-timeout', seconds: 0.3 });
        expect(r.meta.outcome.status).toBe('aborted');
      } finally {
        await r.close();
      }
    }, { idleTimeoutMs: 300 });
  });

  it('ends the connection on a size above its limit, without writing', async () => {
    await withReceiver(async (rx) => {
      await sendRaw(rx.port, [encodeCount(1), encodeName('big.bin'), encodeSize(2000), new Uint8Array(2000)]);
      const result = await rx.nextResult();
      expect(result.status).toBe('aborted');
      expect(result.message).toMatch(/above the receiver’s limit of 1,000 bytes/);
      expect(result.files[0]!.reason).toEqual({ kind: 'size-over-limit', file: 1, size: '2000', limit: '1000' });
      expect(result.files[0]).toMatchObject({ status: 'refused' });
      expect(await tree(rx.outDir)).toEqual([]);
    }, { maxFileSize: 1000n });
  });

  it('flushes every capture as interrupted when closed mid-transfer', async () => {
    await withReceiver(async (rx) => {
      // The test holds the transfer open: 200 of 5,000 payload bytes sent, the rest never.
      const socket = net.connect({ host: '127.0.0.1', port: rx.port });
      socket.on('error', () => {});
      await once(socket, 'connect');
      const closed = once(socket, 'close');
      socket.write(cat(encodeCount(1), encodeName('slow.txt'), encodeSize(5000)));
      const part = async () => (await readdir(rx.outDir)).find((f) => f.endsWith('.part'));
      await expect.poll(part, { timeout: 10_000 }).toMatch(/^\.wirestep-[0-9a-f]{16}-\d+-\d+-[0-9a-f]{32}\.part$/);
      socket.write(new Uint8Array(200).fill(0x78));
      // Those 200 bytes were read, dissected and handed to the file: the receiver is mid-payload.
      await expect.poll(async () => (await stat(path.join(rx.outDir, (await part())!))).size, { timeout: 10_000 }).toBe(200);
      const result = rx.nextResult();
      await rx.receiver.close();
      const r = await result;
      expect(r.status).toBe('interrupted');
      expect(await tree(rx.outDir)).toEqual([]);
      const reader = await CaptureReader.open(r.captureDir!);
      try {
        expect(reader.meta.outcome.status).toBe('interrupted');
        expect(reader.streamLength).toBe(4 + 128 + 8 + 200);
        expect(reader.eventCount('receiver')).toBeGreaterThan(2);
      } finally {
        await reader.close();
      }
      // The receiver, not the sender, ended the connection.
      await closed;
    });
  });
});

/** A receiver's log, with a wait for the first line matching a pattern (no sleeps). */
function logBook(): { lines: string[]; log: (line: string) => void; until: (re: RegExp) => Promise<string> } {
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  return {
    lines,
    log: (line) => {
      lines.push(line);
      for (const w of waiters) w();
    },
    until: (re) => new Promise((resolve) => {
      const check = (): void => {
        const hit = lines.find((l) => re.test(l));
        if (hit !== undefined) resolve(hit);
      };
      waiters.push(check);
      check();
    }),
  };
}

describe('receiver log and capture wording', () => {
  it('says the receiver closed the connection, and why, when a limit cuts it', async () => {
    const book = logBook();
    await withReceiver(async (rx) => {
      await sendRaw(rx.port, [encodeCount(1), encodeName('big.bin'), encodeSize(2000), new Uint8Array(100)]);
      const result = await rx.nextResult();
      expect(await book.until(/\] closed/)).toMatch(/closed by the receiver: aborted \(File 1 declares 2,000 bytes, above the receiver’s limit of 1,000 bytes \(--max-file-size\), so the receiver closed the connection\.\)/);
      const meta = JSON.parse(await readFile(path.join(result.captureDir!, 'capture.json'), 'utf8'));
      expect(meta.outcome).toEqual({ status: 'aborted', reason: { kind: 'size-over-limit', file: 1, size: '2000', limit: '1000' } });
    }, { maxFileSize: 1000n, log: book.log });
  });

  it('says the receiver closed the connection inside a file when it is shut down mid-transfer', async () => {
    const book = logBook();
    await withReceiver(async (rx) => {
      const net = await import('node:net');
      const socket = net.connect({ host: '127.0.0.1', port: rx.port });
      socket.on('error', () => {});
      try {
        socket.write(cat(encodeCount(1), encodeName('slow.txt'), encodeSize(10), new TextEncoder().encode('abc')));
        await book.until(/file 1: "slow\.txt", 10 bytes announced/);
        const result = rx.nextResult();
        await rx.receiver.close();
        const r = await result;
        expect(r.files).toEqual([{ file: 1, name: 'slow.txt', size: '10', status: 'incomplete', reason: { kind: 'receiver-closed', offset: expect.any(Number) } }]);
        expect(await book.until(/incomplete/)).toMatch(/file 1: incomplete, not saved: The receiver closed the connection at byte [\d,]+, before the whole file came\./);
        expect(await book.until(/closed by/)).toMatch(/closed by the receiver: interrupted \(The receiver was shut down during the transfer and closed the connection\.\)/);
        expect(book.lines.join('\n')).not.toMatch(/stream ended/);
      } finally {
        socket.destroy();
      }
    }, { log: book.log });
  });

  it('keeps the bytes of a name that is not UTF-8 as hex, in the capture and in the log', async () => {
    const book = logBook();
    await withReceiver(async (rx) => {
      await sendRaw(rx.port, [STREAMS.find((s) => s.id === 'invalid-utf8')!.bytes]);
      const result = await rx.nextResult();
      const meta = JSON.parse(await readFile(path.join(result.captureDir!, 'capture.json'), 'utf8'));
      expect(meta.files[0]).toMatchObject({ name: 'a\ufffd\ufffd.t', nameHex: '61fffe2e74', status: 'refused', reason: { kind: 'name-invalid-utf8' } });
      expect(await book.until(/refused/)).toContain('(bytes 61fffe2e74)');
    }, { log: book.log });
  });

  it('escapes a NUL in a name one way in a log line', async () => {
    const book = logBook();
    await withReceiver(async (rx) => {
      await sendRaw(rx.port, [STREAMS.find((s) => s.id === 'nul-in-name')!.bytes]);
      await rx.nextResult();
      const line = await book.until(/refused/);
      expect(line).toContain('"a\\x00b.txt"');
      expect(line).not.toContain('\\u0000');
      // eslint-disable-next-line no-control-regex -- no raw control character may reach a log line
      for (const l of book.lines) expect(l).not.toMatch(/[\x00-\x1f]/);
    }, { log: book.log });
  });

  it('tells a name holding a backslash apart from an escaped control character', async () => {
    const book = logBook();
    await withReceiver(async (rx) => {
      // The four characters \ x 0 0, not a NUL (refused as a path separator all the same): its log
      // line must not read as the escaped NUL "a\x00b".
      await sendRaw(rx.port, [encodeTransfer([{ name: 'a\\x00"b.txt', data: new Uint8Array(1) }])]);
      await rx.nextResult();
      expect(await book.until(/refused/)).toContain('"a\\\\x00\\"b.txt"');
    }, { log: book.log });
  });
});

describe('receiver close', () => {
  it('ends its side only once the files are saved: a sender that sees the close finds every file on disk', async () => {
    await withReceiver(async (rx) => {
      const files = Array.from({ length: 50 }, (_, i) => ({ name: `f${i}.bin`, data: new Uint8Array(30_000).fill(i) }));
      // sendRaw resolves on the socket's close: nothing else is awaited before looking.
      await sendRaw(rx.port, [encodeTransfer(files)]);
      expect((await readdir(rx.outDir)).sort()).toEqual(files.map((f) => f.name).sort());
      expect((await rx.nextResult()).status).toBe('complete');
    });
  });
});
