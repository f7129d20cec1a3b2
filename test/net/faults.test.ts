import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureReader } from '../../src/capture/index.js';
import { type SenderOptions, listFiles, sendFiles } from '../../src/net/index.js';
import { withReceiver, withTempDir } from '../helpers/net.js';

const POEM = 'Minha terra tem palmeiras,\nOnde canta o Sabiá;\n';

/** Sends notas.txt (and b.txt when asked) with `faults` to a real receiver; returns both ends' records. */
async function sendWith(faults: Partial<SenderOptions>, twoFiles = false) {
  return withTempDir(async (tmp) => {
    const src = path.join(tmp, 'src');
    await mkdir(src);
    await writeFile(path.join(src, 'notas.txt'), POEM);
    if (twoFiles) await writeFile(path.join(src, 'b.txt'), 'segundo\n');
    const files = await listFiles([src], faults.padNameTo ?? 128);
    return withReceiver(async (rx) => {
      const sent = await sendFiles({ port: rx.port, files, capturesDir: path.join(tmp, 'sent'), ...faults });
      const received = await rx.nextResult();
      const reader = await CaptureReader.open(sent.captureDir!);
      try {
        const writes = (await reader.events('sender', 0, 100_000)).filter((e) => e.type === 'write');
        const saved = received.files.filter((f) => f.status === 'saved');
        const contents = await Promise.all(saved.map((f) => readFile(path.join(rx.outDir, f.savedAs!), 'utf8')));
        return { sent, received, options: reader.meta.options, writes, contents };
      } finally {
        await reader.close();
      }
    }, { idleTimeoutMs: 2000 });
  });
}

/** mulberry32: a small seeded generator of numbers in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const kinds = (r: { received: { problems: readonly { kind: string }[] } }) => r.received.problems.map((p) => p.kind);

describe('sender faults, each recorded in the capture', () => {
  it('--chunk cuts every field into writes of at most N bytes and the file still arrives whole', async () => {
    const r = await sendWith({ chunk: 5 });
    expect(Math.max(...r.writes.map((w) => w.length))).toBe(5);
    expect(r.writes.length).toBe(1 + Math.ceil(128 / 5) + 2 + Math.ceil(Buffer.byteLength(POEM) / 5));
    expect(r.received.status).toBe('complete');
    expect(r.contents).toEqual([POEM]);
    expect(r.options.chunk).toBe(5);
  });

  it('--delay-ms spaces the writes out in time', async () => {
    const r = await sendWith({ chunk: 64, delayMs: 40 });
    const gaps = r.writes.slice(1).map((w, i) => w.timeUs - r.writes[i]!.timeUs);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(35_000);
    expect(r.received.status).toBe('complete');
    expect(r.options.delayMs).toBe(40);
  });

  it('--jitter-ms adds an uneven pause before each write', async () => {
    // A fixed seed, so a failure can be replayed: WIRESTEP_JITTER_SEED=<seed> picks another.
    const seed = Number(process.env.WIRESTEP_JITTER_SEED ?? 0x5eed);
    const draw = seeded(seed);
    const pauses: number[] = [];
    const random = () => {
      const x = draw();
      pauses.push(Math.floor(x * 31));
      return x;
    };
    const r = await sendWith({ chunk: 16, jitterMs: 30, random });
    const why = `jitter seed ${seed}, pauses ${pauses.join(' ')} ms`;
    expect(pauses.length, why).toBe(r.writes.length - 1);
    // Each write waited at least its pause (libuv's timers count whole milliseconds from a loop
    // clock read before the recorder's, so allow 3 ms); load only adds.
    const gaps = r.writes.slice(1).map((w, i) => w.timeUs - r.writes[i]!.timeUs);
    gaps.forEach((g, i) => expect(g, `${why}; gap ${i + 1} was ${g} µs`).toBeGreaterThanOrEqual(pauses[i]! * 1000 - 3000));
    expect(r.received.status).toBe('complete');
    expect(r.options.jitterMs).toBe(30);
  });

  it('--write-per-field makes one write per field, the payload whole', async () => {
    const r = await sendWith({ writePerField: true });
    expect(r.writes.map((w) => w.length)).toEqual([4, 128, 8, Buffer.byteLength(POEM)]);
    expect(r.received.status).toBe('complete');
    expect(r.options.writePerField).toBe(true);
  });

  it('--stop-after closes the connection mid-stream: the receiver records a cut payload', async () => {
    const r = await sendWith({ stopAfter: 150 });
    expect(r.sent).toMatchObject({ status: 'truncated', bytes: 150 });
    expect(r.received.status).toBe('truncated');
    expect(kinds(r)).toEqual(['truncated', 'fewer-files-than-count']);
    expect(r.received.problems[0]).toMatchObject({ field: 'file[1].payload', available: 10 });
    expect(r.contents).toEqual([]);
    expect(r.options.stopAfter).toBe(150);
  });

  it('--lie-size declares a size other than the bytes sent: the stream derails', async () => {
    const r = await sendWith({ lieSize: 10n }, true);
    // b.txt's name comes first; its 10-byte "payload" is followed by the rest of the file read as a name.
    expect(r.received.files[0]).toMatchObject({ name: 'b.txt', size: '10', status: 'saved' });
    expect(r.received.status).not.toBe('complete');
    expect(r.options.lieSize).toBe('10');
  });

  it('--pad-name-to 140 reproduces the long-name bug: the size is read from padding', async () => {
    const r = await sendWith({ padNameTo: 140 });
    expect(kinds(r)[0]).toBe('size-over-limit');
    expect(r.received.status).toBe('aborted');
    expect(r.options.padNameTo).toBe(140);
  });

  it('--count declares more files than are sent: the receiver waits for a name that never comes', async () => {
    const r = await sendWith({ count: 3 }, true);
    expect(r.received.files.map((f) => f.status)).toEqual(['saved', 'saved']);
    expect(kinds(r)).toEqual(['fewer-files-than-count']);
    expect(r.received.status).toBe('truncated');
    expect(r.options.count).toBe(3);
  });
});
