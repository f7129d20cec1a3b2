import { appendFile, mkdir, readFile, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CALL_FLAGS,
  CALL_RECORD_SIZE,
  CAPTURE_VERSION,
  CaptureError,
  CaptureReader,
  CaptureStore,
  CaptureWriter,
  EVENT_RECORD_SIZE,
  TOOL,
  resolveCapture,
} from '../../src/capture/index.js';
import { describeReason, encodeTransfer } from '../../src/protocol/index.js';
import { reasonOfOldMessage } from '../../src/capture/migrate.js';
import { withTempDir } from '../helpers/net.js';

const te = new TextEncoder();

/** A clock that advances 1 ms at each reading: deterministic times. */
function fakeClock(): () => bigint {
  let ns = 0n;
  return () => (ns += 1_000_000n);
}

async function writeTwoSided(root: string, id = 'cap') {
  const stream = encodeTransfer([{ name: 'a.txt', data: te.encode('hello') }]);
  const w = await CaptureWriter.create({ root, id, sides: ['sender', 'receiver'], clock: fakeClock(), options: { chunk: 7 } });
  w.record('sender', 'connect', 0, 0);
  w.record('receiver', 'accept', 0, 0);
  // Sender writes in 7-byte writes; the receiver reads 100, then the rest.
  for (let at = 0; at < stream.length; at += 7) w.record('sender', 'write', at, Math.min(7, stream.length - at), stream.subarray(at, at + 7));
  w.record('receiver', 'read', 0, 100, stream.subarray(0, 100));
  w.record('receiver', 'read', 100, stream.length - 100, stream.subarray(100));
  w.record('sender', 'end', stream.length, 0);
  w.record('receiver', 'end', stream.length, 0);
  await w.finish('complete');
  return { dir: path.join(root, id), stream };
}

describe('capture writer and reader', () => {
  it('round-trips metadata, stream bytes and both sides’ events', async () => {
    await withTempDir(async (root) => {
      const { dir, stream } = await writeTwoSided(root);
      const r = await CaptureReader.open(dir);
      try {
        expect(r.meta).toMatchObject({ id: 'cap', version: CAPTURE_VERSION, tool: TOOL, sides: ['sender', 'receiver'], streamSide: 'sender', outcome: { status: 'complete' } });
        expect(r.meta.streamBytes).toBe(stream.length);
        expect(r.streamLength).toBe(stream.length);
        expect(await r.read(0, stream.length)).toEqual(stream);
        expect(await r.read(140, 1000)).toEqual(stream.subarray(140));
        const writes = (await r.events('sender', 0, 1000)).filter((e) => e.type === 'write');
        expect(writes.length).toBe(Math.ceil(stream.length / 7));
        // Offsets are contiguous and the lengths add up to the stream.
        let at = 0;
        for (const e of writes) {
          expect(e.offset).toBe(at);
          at += e.length;
        }
        expect(at).toBe(stream.length);
      } finally {
        await r.close();
      }
    });
  });

  it('keeps the stream bytes in order however the recorded pieces sit in memory', async () => {
    await withTempDir(async (root) => {
      // Pieces that follow each other in one buffer are joined without copying; these do and do not.
      const big = new Uint8Array(3 * 1024 * 1024 + 5).map((_, i) => (i * 7 + 3) & 0xff);
      const other = new Uint8Array(40).map((_, i) => 200 + i);
      const pieces: Uint8Array[] = [
        big.subarray(0, 10), big.subarray(10, 20), // adjacent: joined
        other.subarray(0, 5), // another buffer
        big.subarray(30, 40), big.subarray(20, 30), // same buffer, out of order
        big.subarray(40, 40 + 1024 * 1024), big.subarray(40 + 1024 * 1024), // over 1 MiB, several flushes
      ];
      for (let i = 0; i < 3000; i++) pieces.push(other.subarray(i % 2 === 0 ? 5 : 20, i % 2 === 0 ? 10 : 25)); // more pieces than one writev takes
      const w = await CaptureWriter.create({ root, id: 'pieces', sides: ['sender'], clock: fakeClock() });
      let at = 0;
      for (const p of pieces) {
        w.record('sender', 'write', at, p.length, p);
        at += p.length;
        if (at % 7 === 0) w.flush();
      }
      await w.finish('complete');
      const expected = new Uint8Array(at);
      let o = 0;
      for (const p of pieces) {
        expected.set(p, o);
        o += p.length;
      }
      const got = await readFile(path.join(root, 'pieces', 'stream.bin'));
      expect(got.length).toBe(expected.length);
      expect(got.equals(expected)).toBe(true);
    });
  });

  it('steps through both sides in time order, and finds an event’s step back', async () => {
    await withTempDir(async (root) => {
      const { dir } = await writeTwoSided(root);
      const r = await CaptureReader.open(dir);
      try {
        const ops = [];
        for (let i = 0; i < r.opCount; i++) ops.push(await r.op(i));
        const times = ops.map((e) => e.timeUs);
        expect(times).toEqual([...times].sort((a, b) => a - b));
        expect(ops.map((e) => `${e.side}:${e.type}`).slice(0, 3)).toEqual(['sender:connect', 'receiver:accept', 'sender:write']);
        for (let i = 0; i < ops.length; i++) expect(await r.opIndex(ops[i]!)).toBe(i);
      } finally {
        await r.close();
      }
    });
  });

  it('merges both sides in time order with the sender first on equal times', async () => {
    await withTempDir(async (root) => {
      // Times come in pairs, so the sides tie often; the order of records is shuffled but sorted per side.
      const times = [1, 1, 2, 2, 2, 3, 5, 5, 8, 8, 8, 8, 9, 13, 13];
      let i = 0;
      const w = await CaptureWriter.create({ root, id: 'ties', sides: ['sender', 'receiver'], clock: () => BigInt(times[Math.min(i++, times.length - 1)]!) * 1000n });
      const sides = ['receiver', 'sender', 'sender', 'receiver', 'sender', 'receiver', 'receiver', 'sender', 'sender', 'receiver', 'sender', 'receiver', 'receiver', 'sender'] as const;
      i = 0;
      sides.forEach((side, n) => w.record(side, side === 'sender' ? 'write' : 'read', n, 1, new Uint8Array([n])));
      await w.finish('complete');
      const r = await CaptureReader.open(path.join(root, 'ties'));
      try {
        const all = [...(await r.events('sender', 0, 100)), ...(await r.events('receiver', 0, 100))];
        const expected = all.sort((a, b) => a.timeUs - b.timeUs || (a.side === b.side ? a.index - b.index : a.side === 'sender' ? -1 : 1));
        const merged = [];
        for (let n = 0; n < r.opCount; n++) merged.push(await r.op(n));
        expect(merged.map((e) => `${e.side}${e.index}`)).toEqual(expected.map((e) => `${e.side}${e.index}`));
        for (let n = 0; n < merged.length; n++) expect(await r.opIndex(merged[n]!)).toBe(n);
      } finally {
        await r.close();
      }
    });
  });

  it('finds the writes and reads that carried a byte range', async () => {
    await withTempDir(async (root) => {
      const { dir } = await writeTwoSided(root);
      const r = await CaptureReader.open(dir);
      try {
        // The size field, bytes 132..139: writes at 126 (126..132) ,133.. and the read 100..
        const writes = await r.eventsCovering('sender', 132, 8);
        expect(writes.events.map((e) => e.offset)).toEqual([126, 133]);
        expect(writes.total).toBe(2);
        const reads = await r.eventsCovering('receiver', 132, 8);
        expect(reads.events.map((e) => [e.offset, e.length])).toEqual([[100, 45]]);
        const limited = await r.eventsCovering('sender', 0, 145, 3);
        expect(limited.events.length).toBe(3);
        expect(limited.total).toBe(21);
      } finally {
        await r.close();
      }
    });
  });

  it('dissects the stream by random access', async () => {
    await withTempDir(async (root) => {
      const { dir } = await writeTwoSided(root);
      const r = await CaptureReader.open(dir);
      try {
        const d = await r.dissection();
        expect((await d.fields(0, 10)).map((e) => e.field.id)).toEqual(['count', 'file[1].name', 'file[1].size', 'file[1].payload']);
        expect(d.problems).toEqual([]);
      } finally {
        await r.close();
      }
    });
  });

  it('leaves a readable capture when the recorder dies before finishing', async () => {
    await withTempDir(async (root) => {
      const w = await CaptureWriter.create({ root, id: 'killed', sides: ['receiver'] });
      const stream = encodeTransfer([{ name: 'a.txt', data: new Uint8Array(3000).fill(1) }]);
      w.record('receiver', 'accept', 0, 0);
      w.record('receiver', 'read', 0, 1000, stream.subarray(0, 1000));
      w.flush();
      const dir = path.join(root, 'killed');
      // Once the write streams have put both on disk, read without finish(): as after a kill.
      const size = (f: string) => stat(path.join(dir, f)).then((s) => s.size);
      await expect.poll(() => size('stream.bin'), { timeout: 10_000 }).toBe(1000);
      await expect.poll(() => size('receiver.events'), { timeout: 10_000 }).toBe(2 * EVENT_RECORD_SIZE);
      // A half-written last record, as a kill mid-write leaves.
      await appendFile(path.join(dir, 'receiver.events'), new Uint8Array(10));
      const r = await CaptureReader.open(dir);
      try {
        expect(r.meta.outcome.status).toBe('recording');
        expect(r.streamLength).toBe(1000);
        expect(r.eventCount('receiver')).toBe(2);
        const d = await r.dissection();
        expect(d.problems.map((p) => p.kind)).toEqual(['truncated', 'fewer-files-than-count']);
      } finally {
        await r.close();
        await w.finish('interrupted');
      }
    });
  });

  it('keeps event records at 24 bytes each', async () => {
    await withTempDir(async (root) => {
      const { dir } = await writeTwoSided(root);
      expect((await stat(path.join(dir, 'sender.events'))).size % EVENT_RECORD_SIZE).toBe(0);
      // connect, 21 writes of at most 7 bytes for 145 bytes, end.
      expect((await stat(path.join(dir, 'sender.events'))).size).toBe(23 * 24);
    });
  });

  it('keeps every record whole while its batches grow and are reused', async () => {
    await withTempDir(async (root) => {
      // More records than the largest batch holds, in bursts with waits between them, so that
      // batches fill before the flush timer (and grow) and written ones come back for reuse.
      const n = 70_000;
      const w = await CaptureWriter.create({ root, id: 'many', sides: ['sender'], calls: ['sender'], clock: fakeClock() });
      const piece = new Uint8Array(3);
      for (let i = 0; i < n; i++) {
        piece[0] = i & 0xff;
        w.record('sender', 'write', i * 3, 3, piece.slice(), { name: 'socket.write', asked: 3 + (i % 5) });
        if (i % 5000 === 4999) await new Promise((r) => setImmediate(r));
      }
      await w.finish('complete');
      const r = await CaptureReader.open(path.join(root, 'many'));
      try {
        expect(r.eventCount('sender')).toBe(n);
        let i = 0;
        for await (const e of r.eachEvent('sender')) {
          if (e.offset !== i * 3 || e.length !== 3 || e.timeUs !== (i + 1) * 1000 || e.call?.asked !== 3 + (i % 5)) {
            throw new Error(`record ${i} came back as ${JSON.stringify(e)}`);
          }
          i++;
        }
        expect(i).toBe(n);
        expect((await r.read(3 * (n - 1), 1))[0]).toBe((n - 1) & 0xff);
      } finally {
        await r.close();
      }
    });
  });

  it('refuses to overwrite a capture with the same id', async () => {
    await withTempDir(async (root) => {
      await writeTwoSided(root, 'same');
      await expect(CaptureWriter.create({ root, id: 'same', sides: ['sender'] })).rejects.toThrow();
    });
  });
});

describe('damaged captures', () => {
  async function openError(dir: string): Promise<CaptureError> {
    try {
      await CaptureReader.open(dir);
    } catch (err) {
      if (err instanceof CaptureError) return err;
      throw err;
    }
    throw new Error('opened');
  }

  it('names a missing capture', async () => {
    await withTempDir(async (root) => {
      const err = await openError(path.join(root, 'nothing'));
      expect(err.code).toBe('not-found');
    });
  });

  it('names invalid JSON', async () => {
    await withTempDir(async (root) => {
      const { dir } = await writeTwoSided(root);
      await writeFile(path.join(dir, 'capture.json'), '{"format": "wirestep-capture", ');
      const err = await openError(dir);
      expect(err.code).toBe('damaged');
      expect(err.message).toMatch(/capture\.json is not valid JSON/);
    });
  });

  it('refuses a newer format version', async () => {
    await withTempDir(async (root) => {
      const { dir } = await writeTwoSided(root);
      const meta = JSON.parse(await readFile(path.join(dir, 'capture.json'), 'utf8'));
      await writeFile(path.join(dir, 'capture.json'), JSON.stringify({ ...meta, version: CAPTURE_VERSION + 1 }));
      const err = await openError(dir);
      expect(err.code).toBe('unsupported-version');
      expect(err.message).toContain(`version ${CAPTURE_VERSION + 1}`);
    });
  });

  it('names a hand-edited field of the wrong type', async () => {
    await withTempDir(async (root) => {
      const { dir } = await writeTwoSided(root);
      const meta = JSON.parse(await readFile(path.join(dir, 'capture.json'), 'utf8'));
      await writeFile(path.join(dir, 'capture.json'), JSON.stringify({ ...meta, sides: ['sender', 'eve'] }));
      expect((await openError(dir)).message).toMatch(/"sides"/);
    });
  });

  it.each([
    ['files', [null], '"files"[0] is not { file, name, size, status }'],
    ['tool', null, '"tool" is not { name, version }'],
    ['durationUs', 'abc', '"durationUs" is not a whole number'],
    ['errors', [{ side: 'sender' }], '"errors"[0] is not { side, timeUs, reason }'],
    ['client', { address: 1 }, '"client" is not { address, port }'],
  ])('names a hand-edited %s', async (key, value, message) => {
    await withTempDir(async (root) => {
      const { dir } = await writeTwoSided(root);
      const meta = JSON.parse(await readFile(path.join(dir, 'capture.json'), 'utf8'));
      await writeFile(path.join(dir, 'capture.json'), JSON.stringify({ ...meta, [key]: value }));
      const err = await openError(dir);
      expect(err.code).toBe('damaged');
      expect(err.message).toContain(message);
    });
  });

  it('does not follow a capture.json that is a link, nor quote what it points at', async () => {
    await withTempDir(async (root) => {
      const { dir } = await writeTwoSided(root);
      await writeFile(path.join(root, 'secret.txt'), 'password=hunter2');
      const { rm } = await import('node:fs/promises');
      await rm(path.join(dir, 'capture.json'));
      await symlink(path.join(root, 'secret.txt'), path.join(dir, 'capture.json'));
      const err = await openError(dir);
      expect(err.message).toBe('capture.json is a link, which wirestep does not follow');
      const listed = await new CaptureStore([root]).list();
      expect(JSON.stringify(listed.map((l) => ('error' in l ? l.error.message : '')))).not.toContain('hunter2');
    });
  });

  it('names where invalid JSON broke without quoting the file', async () => {
    await withTempDir(async (root) => {
      const { dir } = await writeTwoSided(root);
      await writeFile(path.join(dir, 'capture.json'), 'password=hunter2');
      const err = await openError(dir);
      expect(err.message).toMatch(/^capture\.json is not valid JSON/);
      expect(err.message).not.toContain('hunter2');
    });
  });

  it('names a missing stream file', async () => {
    await withTempDir(async (root) => {
      const { dir } = await writeTwoSided(root);
      await truncate(path.join(dir, 'stream.bin'));
      const { rm } = await import('node:fs/promises');
      await rm(path.join(dir, 'stream.bin'));
      const err = await openError(dir);
      expect(err.code).toBe('damaged');
      expect(err.message).toMatch(/stream\.bin is missing/);
    });
  });

  it('does not follow a link inside a capture', async () => {
    await withTempDir(async (root) => {
      const { dir } = await writeTwoSided(root);
      const { rm } = await import('node:fs/promises');
      await rm(path.join(dir, 'stream.bin'));
      await symlink('/etc/hostname', path.join(dir, 'stream.bin'));
      expect((await openError(dir)).code).toBe('damaged');
    });
  });

  it('reports an unknown event type as damage', async () => {
    await withTempDir(async (root) => {
      const { dir } = await writeTwoSided(root);
      const file = path.join(dir, 'sender.events');
      const bytes = await readFile(file);
      bytes[0] = 99;
      await writeFile(file, bytes);
      const r = await CaptureReader.open(dir);
      try {
        await expect(r.events('sender', 0, 1)).rejects.toThrow(/unknown event type 99/);
      } finally {
        await r.close();
      }
    });
  });
});

describe('older versions', () => {
  it('reads a version 2 capture’s English sentences as reasons with their numbers', async () => {
    // test/fixtures/capture-v2 is the size-max sample as version 2 wrote it; it must stay so.
    const dir = path.resolve('test/fixtures/capture-v2');
    const raw = JSON.parse(await readFile(path.join(dir, 'capture.json'), 'utf8'));
    expect(raw.version).toBe(2);
    expect(raw.outcome.message).toMatch(/^At offset 132 the size of file 1 says/);
    const r = await CaptureReader.open(dir);
    try {
      const reason = { kind: 'size-over-limit', file: 1, size: '18446744073709551615', limit: '4294967296' };
      expect(r.meta.version).toBe(CAPTURE_VERSION);
      expect(r.meta.outcome).toEqual({ status: 'aborted', reason });
      expect(r.meta.errors).toEqual([{ side: 'receiver', timeUs: 5316, reason }]);
      expect(r.meta.files).toEqual([{ file: 1, name: 'infinito.bin', size: '18446744073709551615', status: 'refused', reason }]);
      expect(describeReason(r.meta.outcome.reason!, 'pt')).toBe('O arquivo 1 diz ter 18.446.744.073.709.551.615 bytes, acima do limite do servidor, que é de 4.294.967.296 bytes (--max-file-size), então o servidor fechou a conexão.');
    } finally {
      await r.close();
    }
  });

  it('reads every bundled sample’s sentences as kinds, none left as text', async () => {
    const store = new CaptureStore([path.resolve('samples')]);
    const listed = await store.list();
    expect(listed.length).toBeGreaterThan(20);
    let seen = 0;
    for (const l of listed) {
      if ('error' in l) throw l.error;
      const reasons = [l.meta.outcome.reason, ...l.meta.errors.map((e) => e.reason), ...l.meta.files.map((f) => f.reason)].filter((r) => r !== undefined);
      for (const r of reasons) {
        expect(typeof r.kind, l.id).toBe('string');
        expect(r.kind, l.id).not.toBe('text');
        seen++;
      }
    }
    // Ten samples hold fourteen sentences between them (reset-unread-bytes: its outcome and its sender's ECONNRESET).
    expect(seen).toBe(14);
  });

  it.each([
    ['no bytes for 0.3 s: the receiver cut the connection', { kind: 'idle-timeout', seconds: 0.3 }],
    ['the receiver was shut down during the transfer', { kind: 'shutdown' }],
    ['The count announces 3 files, above the receiver’s limit of 2 files.', { kind: 'count-over-limit', count: 3, limit: 2 }],
    ['the files announced so far add up to 1,200 bytes, above the limit of 1,000 for one connection (--max-total-bytes)', { kind: 'total-over-limit', total: '1200', limit: '1000' }],
    ['The name of file 1, at offset 4, is not valid UTF-8: the reference server’s decode() raises an error here and the transfer stops.', { kind: 'name-invalid-utf8' }],
    ['The name “/tmp/evil.txt” is refused (it is an absolute path and it holds a path separator): written as given it could land outside the receiver’s folder or break it.', { kind: 'name-unsafe', reasons: ['absolute', 'separator'] }],
    ['The name “a\u0007(b)” is refused (it holds control characters, it holds text-direction controls that make it display as another name, and it climbs up with ..): written as given it could land outside the receiver’s folder or break it.', { kind: 'name-unsafe', reasons: ['control', 'bidi', 'dot-dot'] }],
    ['the stream ended at byte 540, before the whole file came', { kind: 'stream-ended', offset: 540 }],
    ['cannot write: ENOSPC: no space left on device, write', { kind: 'write-failed', code: 'ENOSPC' }],
    ['cannot write: 3 of 5 bytes reached the disk', { kind: 'short-write', written: '3', size: '5' }],
    ['cannot write: no free name to save it under', { kind: 'no-free-name' }],
    ['socket error: read ECONNRESET', { kind: 'socket-error', code: 'ECONNRESET' }],
    ['write EPIPE', { kind: 'socket-error', code: 'EPIPE' }],
    ['connect ECONNREFUSED 127.0.0.1:8181', { kind: 'socket-error', code: 'ECONNREFUSED' }],
    ['the receiver closed the connection', { kind: 'peer-closed' }],
    ['stopped on purpose after 100 bytes (--stop-after)', { kind: 'stopped-after', bytes: 100 }],
    ['internal error: something new', { kind: 'text', text: 'internal error: something new' }],
  ])('migrates the old message %j', (message, reason) => {
    expect(reasonOfOldMessage(message)).toEqual(reason);
  });

  it('reads a version 1 capture as version 2, without a wire lane', async () => {
    // test/fixtures/capture-v1 is the empty-file sample as version 1 wrote it; it must stay so.
    const dir = path.resolve('test/fixtures/capture-v1');
    expect(JSON.parse(await readFile(path.join(dir, 'capture.json'), 'utf8')).version).toBe(1);
    const r = await CaptureReader.open(dir);
    try {
      expect(r.meta.version).toBe(CAPTURE_VERSION);
      expect(r.hasWire).toBe(false);
      expect(r.meta.sides).toEqual(['sender', 'receiver']);
      expect((await (await r.dissection()).fields(0, 10)).map((e) => e.field.id)).toEqual(['count', 'file[1].name', 'file[1].size', 'file[1].payload']);
      expect((await r.events('sender', 0, 100)).every((e) => e.flags === 0)).toBe(true);
    } finally {
      await r.close();
    }
  });
});

describe('capture store', () => {
  it('lists captures and resolves ids, refusing ids that leave the folder', async () => {
    await withTempDir(async (root) => {
      const caps = path.join(root, 'caps');
      await writeTwoSided(caps, 'one');
      await mkdir(path.join(root, 'outside'));
      await writeTwoSided(path.join(root, 'outside'), 'secret');
      await symlink(path.join(root, 'outside', 'secret'), path.join(caps, 'linked'));
      const store = new CaptureStore([caps]);
      expect((await store.list()).map((l) => l.id)).toEqual(['one']);
      expect(await store.locate('one')).toBe(path.join(caps, 'one'));
      for (const bad of ['../outside/secret', '..', '.hidden', 'a/b', 'linked', '%2e%2e']) {
        await expect(store.locate(bad)).rejects.toMatchObject({ code: 'not-found' });
      }
      expect(await resolveCapture(path.join(caps, 'one'), ['/nonexistent'])).toBe(path.join(caps, 'one'));
      expect(await resolveCapture('one', [caps])).toBe(path.join(caps, 'one'));
    });
  });

  it('lists a damaged capture with its error instead of failing the list', async () => {
    await withTempDir(async (root) => {
      await writeTwoSided(root, 'good');
      await writeTwoSided(root, 'bad');
      await writeFile(path.join(root, 'bad', 'capture.json'), 'not json');
      const list = await new CaptureStore([root]).list();
      const bad = list.find((l) => l.id === 'bad');
      expect(bad && 'error' in bad && bad.error.code).toBe('damaged');
      expect(list.find((l) => l.id === 'good')).toHaveProperty('meta');
    });
  });
});

describe('tool version', () => {
  it('matches package.json', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(TOOL.version).toBe(pkg.version);
  });

  it('reads a version 3 capture as the current version, its events without calls', async () => {
    // test/fixtures/capture-v3 is a receiver's capture cut by --max-files 2 as version 3 wrote it; it must stay so.
    const dir = path.resolve('test/fixtures/capture-v3');
    const raw = JSON.parse(await readFile(path.join(dir, 'capture.json'), 'utf8'));
    expect(raw.version).toBe(3);
    const r = await CaptureReader.open(dir);
    try {
      expect(r.meta.version).toBe(CAPTURE_VERSION);
      expect(r.meta.calls).toBeUndefined();
      expect(r.meta.programs).toBeUndefined();
      expect(r.meta.outcome).toEqual({ status: 'aborted', reason: { kind: 'count-over-limit', count: 3, limit: 2 } });
      const events = await r.events('receiver', 0, 100);
      expect(events.map((e) => e.type)).toEqual(['accept', 'read', 'end', 'error', 'close']);
      expect(events.every((e) => e.call === undefined)).toBe(true);
    } finally {
      await r.close();
    }
  });
});

describe('version 4', () => {
  it('reads a version 4 capture as version 5, every byte in stream.bin and no payload files', async () => {
    // test/fixtures/capture-v4 is a receiver's capture of two files as version 4 wrote it; it must stay so.
    const dir = path.resolve('test/fixtures/capture-v4');
    const raw = JSON.parse(await readFile(path.join(dir, 'capture.json'), 'utf8'));
    expect(raw.version).toBe(4);
    const r = await CaptureReader.open(dir);
    try {
      expect(r.meta.version).toBe(CAPTURE_VERSION);
      expect(r.meta.payloads).toBeUndefined();
      expect(r.payloadProblems).toEqual([]);
      const bin = await readFile(path.join(dir, 'stream.bin'));
      expect(r.streamLength).toBe(bin.length);
      expect(Buffer.from(await r.read(0, bin.length))).toEqual(bin);
      const d = await r.dissection();
      expect(d.files).toBe(2);
      expect(d.problemCount).toBe(0);
      expect((await r.events('receiver', 0, 100)).map((e) => e.call?.name ?? null)).toContain('socket.read');
    } finally {
      await r.close();
    }
  });
});

describe('calls', () => {
  it('stores each event’s call beside it, 8 bytes per event, and reads it back on the event', async () => {
    await withTempDir(async (root) => {
      const stream = encodeTransfer([{ name: 'a.txt', data: te.encode('hello') }]);
      const w = await CaptureWriter.create({ root, id: 'calls', sides: ['sender'], clock: fakeClock(), programs: { sender: { name: 'client.py', via: 'trace', argv: ['python3', 'client.py'], pid: 42 } } });
      w.record('sender', 'connect', 0, 0, undefined, { name: 'connect', asked: null });
      w.record('sender', 'write', 0, 100, stream.subarray(0, 100), { name: 'send', asked: 1024, flags: CALL_FLAGS.partial });
      w.record('sender', 'write', 100, stream.length - 100, stream.subarray(100), { name: 'sendall', asked: stream.length - 100 });
      w.recordError('sender', stream.length, { kind: 'socket-error', code: 'ECONNRESET' }, { call: { name: 'recv', asked: 4, flags: CALL_FLAGS.exception } });
      w.record('sender', 'close', stream.length, 0);
      const meta = await w.finish('aborted');
      // Calls need version 4; only payload files need 5.
      expect(meta.version).toBe(4);
      expect(meta.calls).toEqual(['sender']);
      expect((await stat(path.join(root, 'calls', 'sender.calls'))).size).toBe(5 * CALL_RECORD_SIZE);
      const r = await CaptureReader.open(path.join(root, 'calls'));
      try {
        expect(r.meta.programs).toEqual({ sender: { name: 'client.py', via: 'trace', argv: ['python3', 'client.py'], pid: 42 } });
        expect((await r.events('sender', 0, 10)).map((e) => e.call)).toEqual([
          { name: 'connect', asked: null, flags: 0 },
          { name: 'send', asked: 1024, flags: CALL_FLAGS.partial },
          { name: 'sendall', asked: stream.length - 100, flags: 0 },
          { name: 'recv', asked: 4, flags: CALL_FLAGS.exception },
          undefined,
        ]);
        expect((await r.event('sender', 1)).length).toBe(100);
      } finally {
        await r.close();
      }
    });
  });

  it('reads events past a calls file cut by a kill as events without calls', async () => {
    await withTempDir(async (root) => {
      const w = await CaptureWriter.create({ root, id: 'cut', sides: ['sender'], clock: fakeClock() });
      const bytes = te.encode('abcdefgh');
      for (let i = 0; i < 4; i++) w.record('sender', 'write', i * 2, 2, bytes.subarray(i * 2, i * 2 + 2), { name: 'send', asked: 2 });
      await w.finish('complete');
      await truncate(path.join(root, 'cut', 'sender.calls'), CALL_RECORD_SIZE * 2 + 3);
      const r = await CaptureReader.open(path.join(root, 'cut'));
      try {
        const events = await r.events('sender', 1, 100);
        expect(events.map((e) => e.call?.name)).toEqual(['send', undefined, undefined]);
      } finally {
        await r.close();
      }
    });
  });
});
