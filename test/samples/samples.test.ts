import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureReader, CaptureStore, SAMPLE_CATEGORIES } from '../../src/capture/index.js';
import { createApp } from '../../src/web/app.js';
import { sendRaw, untouchedSince, withReceiver } from '../helpers/net.js';

const SAMPLES = path.resolve(import.meta.dirname, '../../samples');
const store = new CaptureStore([SAMPLES]);
const listed = await store.list();
const samples = listed.map((l) => {
  if (!('meta' in l) || !l.meta.sample) throw new Error(`${l.id} is not a sample with metadata`);
  return { id: l.id, dir: l.dir, meta: l.meta, sample: l.meta.sample };
});
const app = createApp({ store });

afterAll(async () => {
  await app.closeCaptures();
});

describe('the sample library', () => {
  it('has every sample the issue asks for, each with a category, a lesson and text in both languages', () => {
    const ids = samples.map((s) => s.id).sort();
    expect(ids).toEqual([
      'absolute-name', 'accented-name', 'binary-3mib', 'count-larger-than-files', 'cut-in-count', 'cut-in-name',
      'cut-in-payload', 'cut-in-size', 'demo-10-files', 'empty-file', 'html-img-name', 'html-script-name',
      'invalid-utf8-name', 'long-name-derails', 'name-128-bytes', 'nul-in-name', 'path-traversal-name',
      'recut-7-byte-writes', 'recut-write-per-field', 'reference-on-the-wire', 'reset-unread-bytes', 'sha256-client', 'size-max',
      'slow-link', 'slow-receiver', 'spaces-in-name', 'three-views', 'trailing-bytes', 'zero-files',
    ]);
    for (const s of samples) {
      expect(SAMPLE_CATEGORIES).toContain(s.sample.category);
      expect(s.sample.lesson).toMatch(/^[a-z-]+$/);
      expect(s.meta.description?.en?.length).toBeGreaterThan(20);
      expect(s.meta.description?.pt?.length).toBeGreaterThan(20);
    }
  });

  it.each(samples.map((s) => [s.id, s] as const))('%s: the dissector reports exactly the problems it is meant to show', async (_id, s) => {
    const r = await CaptureReader.open(s.dir);
    try {
      const d = await r.dissection();
      expect(d.problems.map((p) => p.kind)).toEqual(s.sample.expect);
      if (s.sample.category === 'normal' || s.sample.category === 're-cut') expect(d.problems).toEqual([]);
      // Recorded by the real receiver: its reads tile the stream it got. An imported packet
      // capture has segments instead, tested with the import.
      if (!r.meta.sides.includes('receiver')) return;
      const reads = (await r.events('receiver', 0, r.eventCount('receiver'))).filter((e) => e.type === 'read');
      let at = 0;
      for (const e of reads) {
        expect(e.offset).toBe(at);
        at += e.length;
      }
      expect(at).toBeGreaterThan(0);
      expect(at).toBeLessThanOrEqual(r.streamLength);
    } finally {
      await r.close();
    }
  });

  it.each(samples.map((s) => [s.id, s] as const))('%s: the site shows its overview, every field step and its problems', async (_id, s) => {
    const overview = await request(app).get(`/captures/${s.id}`).expect(200);
    const api = await request(app).get(`/api/captures/${s.id}`).expect(200);
    expect(api.body.problems.map((p: { kind: string }) => p.kind)).toEqual(s.sample.expect);
    for (const p of api.body.problems as { message: string }[]) {
      expect(overview.text).toContain(p.message.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;'));
    }
    for (let n = 1; n <= api.body.fieldSteps; n++) await request(app).get(`/captures/${s.id}/steps/${n}`).expect(200);
  });

  it('shows re-cut samples with writes and reads that do not line up', async () => {
    const r = await CaptureReader.open(samples.find((s) => s.id === 'recut-7-byte-writes')!.dir);
    try {
      const writes = (await r.events('sender', 0, 1000)).filter((e) => e.type === 'write');
      const reads = (await r.events('receiver', 0, 1000)).filter((e) => e.type === 'read');
      expect(Math.max(...writes.map((e) => e.length))).toBe(7);
      expect(reads.length).toBeLessThan(writes.length);
    } finally {
      await r.close();
    }
  });

  it('says why a file was refused and why a transfer was cut in the page’s language', async () => {
    const traversal = await request(app).get('/captures/path-traversal-name?lang=pt').expect(200);
    expect(traversal.text).toContain('O nome “../../etc/passwd_copy” foi recusado');
    const huge = await request(app).get('/captures/size-max?lang=pt').expect(200);
    expect(huge.text).toContain('No offset 132 o tamanho do arquivo 1 diz 18.446.744.073.709.551.615 bytes');
    expect(huge.text).not.toContain('above the receiver');
  });

  it('names the staged sender options on the overview as the flags that set them', async () => {
    const res = await request(app).get('/captures/recut-7-byte-writes').expect(200);
    expect(res.text).toContain('<code>--chunk 7</code>');
    const slow = await request(app).get('/captures/slow-link').expect(200);
    expect(slow.text).toContain('<code>--delay-ms 15</code>');
  });

  it('groups the home page by category', async () => {
    const res = await request(app).get('/').expect(200);
    const order = ['Normal transfers', 'Re-cut by the network', 'Malformed', 'Hostile'].map((h) => res.text.indexOf(`<h2>${h}</h2>`));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });
});

describe('long-name-derails', () => {
  it('declares the size its payload really has in UTF-8 (conteúdo\\n is 10 bytes), behind the 140-byte name', async () => {
    const bytes = await readFile(path.join(SAMPLES, 'long-name-derails', 'stream.bin'));
    const payload = new TextEncoder().encode('conteúdo\n');
    // count 4 + name 140 + size 8: where the sender put the size, not where the receiver looks for it.
    expect(bytes.readBigUInt64BE(4 + 140)).toBe(BigInt(payload.length));
    expect(payload.length).toBe(10);
    expect(new Uint8Array(bytes.subarray(4 + 140 + 8))).toEqual(payload);
  });
});

describe('hostile samples replayed to a real receiver', () => {
  const hostile = samples.filter((s) => s.sample.category === 'hostile' || s.sample.category === 'malformed');

  it.each(hostile.map((s) => [s.id, s] as const))('%s never reaches the file system outside the receiver’s folder', async (_id, s) => {
    const started = Date.now() - 1000;
    const bytes = await readFile(path.join(s.dir, 'stream.bin'));
    await withReceiver(async (rx) => {
      await sendRaw(rx.port, [bytes]);
      const result = await rx.nextResult();
      // The samples were recorded with the receiver's default limits: the same kinds, in the same order. A sample
      // whose receiver was server.py (no limit, none recorded) gets size-over-limit here from the default limit alone.
      const limited = s.meta.options?.maxFileSize !== undefined;
      expect(result.problems.map((p) => p.kind).filter((k) => limited || k !== 'size-over-limit')).toEqual(s.sample.expect);
      expect((await readdir(rx.root)).sort()).toEqual(['captures', 'srv']);
      expect(await readdir(path.join(rx.root, 'srv'))).toEqual(['data']);
      expect(await readdir(path.join(rx.root, 'srv', 'data'))).toEqual(['out']);
      const saved = result.files.filter((f) => f.status === 'saved').map((f) => f.savedAs).sort();
      expect((await readdir(rx.outDir)).sort()).toEqual(saved);
      // Where a refused name would have landed, had it been joined to the folder as given.
      for (const f of result.files.filter((x) => x.status === 'refused' && x.name !== '')) {
        expect(untouchedSince(path.resolve(rx.outDir, f.name), started)).toBe(true);
      }
    });
  });
});
