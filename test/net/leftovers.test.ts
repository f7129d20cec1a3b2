import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureWriter, currentRecorder, readMeta } from '../../src/capture/index.js';
import { startReceiver } from '../../src/net/index.js';
import { clearLeftovers, temporaryName } from '../../src/net/leftovers.js';
import { encodeTransfer } from '../../src/protocol/index.js';
import { type ReceiverFixture, sendRaw, withReceiver } from '../helpers/net.js';

describe('leftovers of a killed receiver', () => {
  it('leaves alone the .part file and the capture of a receiver still running on the same folders, and its file arrives whole', async () => {
    await withReceiver(async (rx) => {
      const data = new Uint8Array(3000).fill(0x61);
      const stream = encodeTransfer([{ name: 'vivo.bin', data }]);
      const socket = net.connect({ host: '127.0.0.1', port: rx.port });
      socket.on('error', () => {});
      await once(socket, 'connect');
      socket.write(stream.subarray(0, 4 + 128 + 8 + 1000));
      const parts = async () => (await readdir(rx.outDir)).filter((f) => f.endsWith('.part'));
      await expect.poll(parts, { timeout: 10_000 }).toHaveLength(1);
      const [id] = await readdir(rx.capturesDir);

      const lines: string[] = [];
      const second = await startReceiver({ port: 0, outDir: rx.outDir, capturesDir: rx.capturesDir, log: (l) => lines.push(l) });
      await second.close();
      const [part] = await parts();
      expect(lines).toEqual([`kept ${part} in ${rx.outDir}: the receiver writing it may still run`]);
      expect((await readMeta(path.join(rx.capturesDir, id!))).outcome.status).toBe('recording');

      const result = rx.nextResult();
      socket.end(stream.subarray(4 + 128 + 8 + 1000));
      expect((await result).status).toBe('complete');
      expect(await readFile(path.join(rx.outDir, 'vivo.bin'))).toEqual(Buffer.from(data));
    });
  });

  it('leaves alone a capture recorded on another host, and files that only look like its own', async () => {
    await withReceiver(async (rx) => {
      const w = await CaptureWriter.create({ root: rx.capturesDir, id: 'elsewhere', sides: ['receiver'] });
      const dir = path.join(rx.capturesDir, 'elsewhere');
      const meta = JSON.parse(await readFile(path.join(dir, 'capture.json'), 'utf8'));
      // A pid that has certainly ended here, so that only the host rule can keep the capture.
      const child = spawn(process.execPath, ['-e', '']);
      await once(child, 'exit');
      const { start: _start, ...me } = currentRecorder();
      await writeFile(path.join(dir, 'capture.json'), JSON.stringify({ ...meta, recorder: { ...me, host: '0000000000000000', pid: child.pid } }));
      const lookalikes = ['.wirestep-1234567-1.part', '.wirestep-12345678-x.part', 'wirestep-12345678-1.part', '.wirestep-12345678-1.part.txt', `.wirestep-${'a'.repeat(31)}.part`, `.wirestep-${'a'.repeat(33)}.part`, `.wirestep-${'A'.repeat(32)}.part`];
      for (const f of lookalikes) await writeFile(path.join(rx.outDir, f), 'not the receiver’s');
      const lines: string[] = [];
      expect(await clearLeftovers(rx.outDir, rx.capturesDir, (l) => lines.push(l))).toEqual({ removed: [], kept: [], interrupted: [] });
      expect(lines).toEqual([]);
      expect((await readdir(rx.outDir)).sort()).toEqual([...lookalikes].sort());
      expect((await readMeta(dir)).outcome.status).toBe('recording');
      await w.finish('interrupted');
    });
  });

  it('removes the temporary files of a killed receiver of this version and of older ones, and keeps the rest', async () => {
    await withReceiver(async (rx) => {
      const child = spawn(process.execPath, ['-e', '']);
      await once(child, 'exit');
      const me = currentRecorder();
      const killed = [`.wirestep-${me.host}-${child.pid}-0-00112233445566778899aabbccddeeff.part`, '.wirestep-0a1b2c3d-7.part'].sort();
      // A file of this live process, closed as a receiver closes one just before linking it: kept.
      const live = temporaryName();
      for (const f of [...killed, live, 'keep.txt']) await writeFile(path.join(rx.outDir, f), 'left behind');
      const lines: string[] = [];
      const found = await clearLeftovers(rx.outDir, null, (l) => lines.push(l));
      expect(found).toEqual({ removed: killed, kept: [live], interrupted: [] });
      expect(lines).toEqual([
        ...killed.map((f) => `removed ${f} from ${rx.outDir}: the unfinished file of a receiver that was killed`),
        `kept ${live} in ${rx.outDir}: the receiver writing it may still run`,
      ]);
      expect((await readdir(rx.outDir)).sort()).toEqual([live, 'keep.txt'].sort());
      await sendRawWhole(rx);
    });
  });
});

/** A legitimate transfer arrives whole: the receiver still serves. */
async function sendRawWhole(rx: ReceiverFixture): Promise<void> {
  const data = new Uint8Array(2000).fill(0x33);
  const result = rx.nextResult();
  await sendRaw(rx.port, [encodeTransfer([{ name: 'depois.bin', data }])]);
  expect((await result).status).toBe('complete');
  expect(await readFile(path.join(rx.outDir, 'depois.bin'))).toEqual(Buffer.from(data));
}
