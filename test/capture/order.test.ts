import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureReader, CaptureWriter, isData, opBefore, streamLane, writeCaptureMeta, writeWhole } from '../../src/capture/index.js';
import { encodeTransfer } from '../../src/protocol/index.js';
import { loadOverview } from '../../src/web/overview.js';
import { withTempDir } from '../helpers/net.js';

describe('one rule for the order of operation steps', () => {
  it('puts the earlier event first, and on equal times the sender, then the receiver, then a segment', () => {
    expect(opBefore({ side: 'receiver', timeUs: 4 }, { side: 'sender', timeUs: 5 })).toBe(true);
    expect(opBefore({ side: 'sender', timeUs: 5 }, { side: 'receiver', timeUs: 5 })).toBe(true);
    expect(opBefore({ side: 'receiver', timeUs: 5 }, { side: 'sender', timeUs: 5 })).toBe(false);
    expect(opBefore({ side: 'receiver', timeUs: 5 }, { side: 'wire', timeUs: 5 })).toBe(true);
    expect(opBefore({ side: 'wire', timeUs: 5 }, { side: 'sender', timeUs: 5 })).toBe(false);
  });

  it('numbers the overview’s writes and reads with the steps the reader gives them, ties included', async () => {
    await withTempDir(async (root) => {
      const stream = encodeTransfer([{ name: 'a.txt', data: new TextEncoder().encode('hello, world') }]);
      // The test sets the clock: each write and its read share a millisecond.
      let nowMs = 0;
      const w = await CaptureWriter.create({ root, id: 'ties', sides: ['sender', 'receiver'], clock: () => BigInt(nowMs) * 1_000_000n });
      for (let at = 0; at < stream.length; at += 40) {
        nowMs++;
        const piece = stream.subarray(at, at + 40);
        // The receiver's read is recorded first, yet the sender's write of the same time is the earlier step.
        w.record('receiver', 'read', at, piece.length);
        w.record('sender', 'write', at, piece.length, piece);
      }
      await w.finish('complete');
      const r = await CaptureReader.open(path.join(root, 'ties'));
      try {
        expect((await r.op(0)).side).toBe('sender');
        const view = await loadOverview('ties', r, await r.dissection(), 'en');
        for (const lane of view.timeline.lanes) {
          const events = (await r.events(lane.side, 0, 100)).filter((e) => isData(e) && e.length > 0);
          const steps = await Promise.all(events.map(async (e) => (await r.opIndex(e)) + 1));
          expect([lane.side, lane.chunks.map((c) => c.step)]).toEqual([lane.side, steps]);
        }
        expect(view.timeline.lanes.find((l) => l.side === 'sender')!.chunks[0]!.step).toBe(1);
        expect(view.timeline.lanes.find((l) => l.side === 'receiver')!.chunks[0]!.step).toBe(2);
      } finally {
        await r.close();
      }
    });
  });
});

describe('one rule for the lane that holds the stream', () => {
  it('is the sender’s writes where it recorded, else the receiver’s reads, else the segments', async () => {
    expect(streamLane(['sender', 'receiver'])).toBe('sender');
    expect(streamLane(['receiver', 'sender'])).toBe('sender');
    expect(streamLane(['receiver'])).toBe('receiver');
    expect(streamLane([])).toBe('wire');
    await withTempDir(async (root) => {
      const w = await CaptureWriter.create({ root, id: 'rx', sides: ['receiver'] });
      expect(w.streamSide).toBe('receiver');
      await w.finish('complete');
    });
  });
});

describe('one atomic write of capture.json', () => {
  it('replaces a file whole and leaves no temporary file beside it', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'lane.events');
      await writeFile(file, 'old');
      await writeWhole(file, new Uint8Array([1, 2, 3]));
      expect([...(await readFile(file))]).toEqual([1, 2, 3]);
      expect(await readdir(dir)).toEqual(['lane.events']);
    });
  });

  it('writes metadata a reader opens, and refuses a folder that is not there without touching anything', async () => {
    await withTempDir(async (root) => {
      const w = await CaptureWriter.create({ root, id: 'meta', sides: ['sender'] });
      await w.finish('complete');
      const dir = path.join(root, 'meta');
      const meta = { ...w.meta, description: { en: 'rewritten', pt: 'reescrita' } };
      await writeCaptureMeta(dir, meta);
      const r = await CaptureReader.open(dir);
      try {
        expect(r.meta.description).toEqual({ en: 'rewritten', pt: 'reescrita' });
      } finally {
        await r.close();
      }
      expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      await expect(writeCaptureMeta(path.join(root, 'missing'), meta)).rejects.toThrow(/ENOENT/);
      expect((await readdir(root)).sort()).toEqual(['meta']);
    });
  });
});
