import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CALL_FLAGS, CaptureReader, NODE_READ_SIZE } from '../../src/capture/index.js';
import { runDemo } from '../../src/net/index.js';
import { withTempDir } from '../helpers/net.js';

describe('wirestep’s own calls', () => {
  it('records socket.write() asking what it moved, and each Node read asking the 64 KiB libuv offers', async () => {
    await withTempDir(async (root) => {
      const result = await runDemo({ capturesDir: root, id: 'demo' });
      const r = await CaptureReader.open(path.join(root, 'demo'));
      try {
        expect(r.meta.calls).toEqual(['sender', 'receiver']);
        expect(r.meta.programs).toEqual({ sender: { name: 'wirestep send', via: 'wirestep' }, receiver: { name: 'wirestep receive', via: 'wirestep' } });
        const writes = (await r.events('sender', 0, 1000)).filter((e) => e.type === 'write');
        expect(writes.length).toBe(result.sender.writes);
        for (const w of writes) expect(w.call).toEqual({ name: 'socket.write', asked: w.length, flags: 0 });
        const reads = (await r.events('receiver', 0, 1000)).filter((e) => e.type === 'read');
        expect(reads.length).toBeGreaterThan(0);
        for (const e of reads) expect(e.call).toEqual({ name: 'socket.read', asked: NODE_READ_SIZE, flags: e.length < NODE_READ_SIZE ? CALL_FLAGS.short : 0 });
        // Events without a call (connect, end, close) carry none.
        expect((await r.event('sender', 0)).call).toBeUndefined();
      } finally {
        await r.close();
      }
    });
  });
});
