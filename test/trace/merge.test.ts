import { readdir, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ASSIGNMENT, PYTHON, PY_ENV, freePort, watchOutput } from '../../scripts/lib/harness.js';
import { CaptureReader, CaptureWriter, type Side } from '../../src/capture/index.js';
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
});
