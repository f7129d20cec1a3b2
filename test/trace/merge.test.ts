import { readdir, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ASSIGNMENT, PYTHON, PY_ENV, freePort, watchOutput } from '../../scripts/lib/harness.js';
import { CALL_FLAGS, CaptureReader, CaptureWriter, type Side } from '../../src/capture/index.js';
import { encodeTransfer } from '../../src/protocol/index.js';
import { sendFiles } from '../../src/net/index.js';
import { mergeTraced, settleOutcome, startTraced, traceServer } from '../../src/trace/index.js';
import { withTempDir } from '../helpers/net.js';

const PY = execFileSync(PYTHON, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
const te = new TextEncoder();
const client = { address: '127.0.0.1', port: 50000 };
const server = { address: '127.0.0.1', port: 8181 };

/** A finished one-sided traced capture of `bytes`, moved in one call, starting at `startNs`. */
async function traced(root: string, id: string, side: Side, bytes: Uint8Array, startNs: bigint): Promise<string> {
  const w = await CaptureWriter.create({ root, id, sides: [side], client, server, startNs, programs: { [side]: { name: side === 'sender' ? 'client.py' : 'server.py', via: 'trace' } } });
  w.recordAt(0, side, side === 'sender' ? 'connect' : 'accept', 0, 0);
  w.recordAt(10, side, side === 'sender' ? 'write' : 'read', 0, bytes.length, bytes, { name: side === 'sender' ? 'send' : 'recv', asked: bytes.length });
  w.recordAt(20, side, 'close', bytes.length, 0);
  await w.finish('complete');
  await settleOutcome(path.join(root, id), false);
  return path.join(root, id);
}

describe('joining the two ends of a connection', () => {
  it('joins a sender and a receiver of the same connection onto one clock, and removes the halves', async () => {
    await withTempDir(async (root) => {
      const bytes = encodeTransfer([{ name: 'a.txt', data: te.encode('hello') }]);
      const s = await traced(root, 's', 'sender', bytes, 5_000_000n);
      const r = await traced(root, 'r', 'receiver', bytes, 5_003_000n);
      const joined = await mergeTraced(root, s, r);
      expect(joined).not.toBeNull();
      expect(await readdir(root)).toEqual([path.basename(joined!)]);
      const reader = await CaptureReader.open(joined!);
      try {
        expect(reader.meta.sides).toEqual(['sender', 'receiver']);
        expect(reader.meta.programs).toEqual({ sender: { name: 'client.py', via: 'trace' }, receiver: { name: 'server.py', via: 'trace' } });
        expect(reader.meta.outcome).toEqual({ status: 'complete' });
        // The receiver started 3 µs later: its events move by 3 µs.
        expect((await reader.events('receiver', 0, 10)).map((e) => e.timeUs)).toEqual([3, 13, 23]);
        expect((await reader.events('sender', 0, 10)).map((e) => e.timeUs)).toEqual([0, 10, 20]);
        expect(Buffer.from(await reader.read(0, 1000)).equals(Buffer.from(bytes))).toBe(true);
      } finally {
        await reader.close();
      }
    });
  });

  it('never joins two connections whose bytes differ, even with the same endpoints', async () => {
    await withTempDir(async (root) => {
      const a = encodeTransfer([{ name: 'a.txt', data: te.encode('hello') }]);
      const b = encodeTransfer([{ name: 'a.txt', data: te.encode('jello') }]);
      const s = await traced(root, 's', 'sender', a, 5_000_000n);
      const r = await traced(root, 'r', 'receiver', b, 5_003_000n);
      expect(await mergeTraced(root, s, r)).toBeNull();
      expect((await readdir(root)).sort()).toEqual(['r', 's']);
    });
  });

  it('never joins a receiver that accepted long before the sender connected', async () => {
    await withTempDir(async (root) => {
      const a = encodeTransfer([{ name: 'a.txt', data: te.encode('hello') }]);
      const s = await traced(root, 's', 'sender', a, 50_000_000_000n);
      const r = await traced(root, 'r', 'receiver', a, 5_000_000n);
      expect(await mergeTraced(root, s, r)).toBeNull();
    });
  });

  it('keeps every call with what it asked and moved, and renumbers the errors of both ends into one list', async () => {
    await withTempDir(async (root) => {
      const bytes = encodeTransfer([{ name: 'a.txt', data: te.encode('hello, world') }]);
      const sw = await CaptureWriter.create({ root, id: 's', sides: ['sender'], client, server, startNs: 7_000_000n });
      sw.recordAt(0, 'sender', 'connect', 0, 0, undefined, { name: 'connect', asked: null });
      sw.recordAt(5, 'sender', 'write', 0, 100, bytes.subarray(0, 100), { name: 'send', asked: 200, flags: CALL_FLAGS.partial });
      sw.recordError('sender', 100, { kind: 'socket-error', code: 'EPIPE', exception: 'BrokenPipeError' }, { timeUs: 8, call: { name: 'send', asked: 100, flags: CALL_FLAGS.exception } });
      sw.recordAt(9, 'sender', 'write', 100, bytes.length - 100, bytes.subarray(100), { name: 'sendall', asked: bytes.length - 100 });
      await sw.finish('complete');
      const rw = await CaptureWriter.create({ root, id: 'r', sides: ['receiver'], client, server, startNs: 7_002_000n });
      rw.recordAt(0, 'receiver', 'accept', 0, 0, undefined, { name: 'accept', asked: null });
      rw.recordAt(4, 'receiver', 'read', 0, 4, bytes.subarray(0, 4), { name: 'recv', asked: 4 });
      rw.recordError('receiver', 4, { kind: 'socket-error', code: 'ECONNRESET', exception: 'ConnectionResetError' }, { timeUs: 6, call: { name: 'recv', asked: 128, flags: CALL_FLAGS.exception } });
      await rw.finish('complete');
      const joined = await mergeTraced(root, path.join(root, 's'), path.join(root, 'r'));
      expect(joined).not.toBeNull();
      const reader = await CaptureReader.open(joined!);
      try {
        expect(reader.meta.errors).toEqual([
          { side: 'sender', timeUs: 8, reason: { kind: 'socket-error', code: 'EPIPE', exception: 'BrokenPipeError' } },
          { side: 'receiver', timeUs: 8, reason: { kind: 'socket-error', code: 'ECONNRESET', exception: 'ConnectionResetError' } },
        ]);
        expect(await reader.events('sender', 0, 10)).toEqual([
          { side: 'sender', index: 0, type: 'connect', offset: 0, length: 0, timeUs: 0, flags: 0, call: { name: 'connect', asked: null, flags: 0 } },
          { side: 'sender', index: 1, type: 'write', offset: 0, length: 100, timeUs: 5, flags: 0, call: { name: 'send', asked: 200, flags: CALL_FLAGS.partial } },
          { side: 'sender', index: 2, type: 'error', offset: 100, length: 0, timeUs: 8, flags: 0, call: { name: 'send', asked: 100, flags: CALL_FLAGS.exception } },
          { side: 'sender', index: 3, type: 'write', offset: 100, length: bytes.length - 100, timeUs: 9, flags: 0, call: { name: 'sendall', asked: bytes.length - 100, flags: 0 } },
        ]);
        // The receiver started 2 µs later; its error is the second of the joined list.
        expect(await reader.events('receiver', 0, 10)).toEqual([
          { side: 'receiver', index: 0, type: 'accept', offset: 0, length: 0, timeUs: 2, flags: 0, call: { name: 'accept', asked: null, flags: 0 } },
          { side: 'receiver', index: 1, type: 'read', offset: 0, length: 4, timeUs: 6, flags: 0, call: { name: 'recv', asked: 4, flags: 0 } },
          { side: 'receiver', index: 2, type: 'error', offset: 4, length: 1, timeUs: 8, flags: 0, call: { name: 'recv', asked: 128, flags: CALL_FLAGS.exception } },
        ]);
        expect(reader.meta.outcome.status).toBe('aborted');
      } finally {
        await reader.close();
      }
    });
  });

  it('joins ends of a long transfer whole, and refuses one whose last byte differs', async () => {
    await withTempDir(async (root) => {
      // 5 MiB: more than one compared block; 300,000 reads: more than one block of copied events.
      const bytes = encodeTransfer([{ name: 'big.bin', data: new Uint8Array(5 * 1024 * 1024).map((_, i) => (i * 7) & 0xff) }]);
      const READS = 300_000;
      const receiver = async (id: string, data: Uint8Array): Promise<string> => {
        const w = await CaptureWriter.create({ root, id, sides: ['receiver'], client, server, startNs: 9_000_000n });
        w.recordAt(0, 'receiver', 'accept', 0, 0, undefined, { name: 'accept', asked: null });
        const step = Math.ceil(data.length / READS);
        for (let at = 0, t = 1; at < data.length; at += step, t++) {
          const piece = data.subarray(at, Math.min(at + step, data.length));
          if (!w.recordAt(t, 'receiver', 'read', at, piece.length, piece, { name: 'recv', asked: 1024, flags: CALL_FLAGS.short })) await w.drain();
        }
        await w.finish('complete');
        return path.join(root, id);
      };
      const s = await traced(root, 's', 'sender', bytes, 8_000_000n);
      const other = Uint8Array.from(bytes);
      other[other.length - 1] ^= 1;
      expect(await mergeTraced(root, s, await receiver('r1', other))).toBeNull();
      const joined = await mergeTraced(root, s, await receiver('r2', bytes));
      expect(joined).not.toBeNull();
      const reader = await CaptureReader.open(joined!);
      try {
        const n = reader.eventCount('receiver');
        expect(n).toBe(1 + Math.ceil(bytes.length / Math.ceil(bytes.length / READS)));
        // The receiver started 1,000 µs after the sender: every event moved by that, calls kept.
        const last = await reader.event('receiver', n - 1);
        expect(last).toMatchObject({ type: 'read', timeUs: 1000 + n - 1, call: { name: 'recv', asked: 1024, flags: CALL_FLAGS.short } });
        expect(last.offset + last.length).toBe(bytes.length);
        const middle = await reader.event('receiver', 262_144);
        expect(middle.timeUs).toBe(1000 + 262_144);
        expect(reader.meta.durationUs).toBe(1000 + n - 1);
        expect(Buffer.from(await reader.read(0, bytes.length)).equals(Buffer.from(bytes))).toBe(true);
      } finally {
        await reader.close();
      }
    });
  });

  it('joins the captures of two separate traces, server.py and client.py, written into one folder', async () => {
    await withTempDir(async (root) => {
      const captures = path.join(root, 'captures');
      const port = await freePort();
      const srv = startTraced({ argv: [PY, ASSIGNMENT.server, '--port', String(port), '--out', path.join(root, 'out')], capturesDir: captures, env: PY_ENV, stdio: 'pipe' });
      const out = watchOutput(srv.child);
      await out.waitFor('Servidor ouvindo');
      const cli = startTraced({ argv: [PY, ASSIGNMENT.client, '--port', String(port), '--folder', path.join(root, 'files')], capturesDir: captures, env: PY_ENV, stdio: 'ignore' });
      expect((await cli.done).exitCode).toBe(0);
      // The server's capture of that connection is finished once server.py has closed its socket.
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (srv.recorder.captures.length === 1) resolve();
        };
        srv.recorder.watch(check);
        check();
      });
      srv.kill('SIGTERM');
      await srv.done;
      const left = await readdir(captures);
      expect(left).toHaveLength(1);
      const reader = await CaptureReader.open(path.join(captures, left[0]!));
      try {
        expect(reader.meta.sides).toEqual(['sender', 'receiver']);
        expect(reader.meta.outcome.status).toBe('complete');
        expect(reader.eventCount('receiver')).toBe(33);
      } finally {
        await reader.close();
      }
    });
  });

  it('joins wirestep’s staged sender with traced server.py into one capture that names both programs', async () => {
    await withTempDir(async (root) => {
      const captures = path.join(root, 'captures');
      const file = path.join(root, 'poema.txt');
      const data = te.encode('Minha terra tem palmeiras,\nOnde canta o Sabiá;\n');
      await writeFile(file, data);
      const r = await traceServer({
        server: [PY, ASSIGNMENT.server, '--port', '0', '--out', path.join(root, 'out')],
        capturesDir: captures,
        env: PY_ENV,
        stdio: 'ignore',
        connect: async (port) => {
          const sent = await sendFiles({ port, files: [{ name: 'poema.txt', path: file, size: data.length }], chunk: 7, capturesDir: captures, joinable: true });
          return sent.captureDir ? [sent.captureDir] : [];
        },
      });
      expect(r.captures).toHaveLength(1);
      expect(await readdir(captures)).toEqual([path.basename(r.captures[0]!)]);
      const reader = await CaptureReader.open(r.captures[0]!);
      try {
        expect(reader.meta.sides).toEqual(['sender', 'receiver']);
        expect(reader.meta.programs).toMatchObject({ sender: { name: 'wirestep send', via: 'wirestep' }, receiver: { name: 'server.py', via: 'trace' } });
        expect(reader.meta.options).toMatchObject({ chunk: 7 });
        expect(reader.meta.outcome).toEqual({ status: 'complete' });
        const writes = (await reader.events('sender', 0, 1000)).filter((e) => e.type === 'write');
        const reads = (await reader.events('receiver', 0, 1000)).filter((e) => e.type === 'read');
        expect(writes.every((e) => e.call?.name === 'socket.write' && e.length <= 7)).toBe(true);
        // server.py's first recv() asks for the 4-byte count, whatever has arrived.
        expect(reads[0]?.call).toMatchObject({ name: 'recv', asked: 4 });
        expect(reads.reduce((n, e) => n + e.length, 0)).toBe(reader.streamLength);
        expect(reader.streamLength).toBe(4 + 128 + 8 + data.length);
        // Both sides on one clock: no read before the write of its first byte.
        for (const rd of reads) expect(rd.timeUs).toBeGreaterThanOrEqual(writes.find((w) => w.offset + w.length > rd.offset)!.timeUs);
      } finally {
        await reader.close();
      }
    });
  });

  it('leaves the two ends of a connection apart when both traces are told not to join', async () => {
    await withTempDir(async (root) => {
      const captures = path.join(root, 'captures');
      const port = await freePort();
      const srv = startTraced({ argv: [PY, ASSIGNMENT.server, '--port', String(port), '--out', path.join(root, 'out')], capturesDir: captures, env: PY_ENV, stdio: 'pipe', merge: false });
      const out = watchOutput(srv.child);
      await out.waitFor('Servidor ouvindo');
      const cli = startTraced({ argv: [PY, ASSIGNMENT.client, '--port', String(port), '--folder', path.join(root, 'files')], capturesDir: captures, env: PY_ENV, stdio: 'ignore', merge: false });
      expect((await cli.done).exitCode).toBe(0);
      // The server's capture of that connection is finished once server.py has closed its socket.
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (srv.recorder.captures.length === 1) resolve();
        };
        srv.recorder.watch(check);
        check();
      });
      srv.kill('SIGTERM');
      await srv.done;
      const left = await readdir(captures);
      expect(left).toHaveLength(2);
      const sides = [];
      for (const name of left) sides.push((await CaptureReader.open(path.join(captures, name)).then(async (r) => {
        await r.close();
        return r.meta.sides.join();
      })));
      expect(sides.sort()).toEqual(['receiver', 'sender']);
    });
  });
});
