import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Dissector, type DissectEvent, collect, dissect, encodeTransfer } from '../../src/protocol/index.js';
import { sliceAt } from '../helpers/bytes.js';

const LIMIT = 1n << 20n;

/** Feeds `bytes` cut at `cuts` (any offsets, in any order, repeats allowed). */
function feed(bytes: Uint8Array, cuts: number[]): DissectEvent[] {
  tried++;
  const d = new Dissector({ maxFileSize: LIMIT });
  const events: DissectEvent[] = [];
  for (const piece of sliceAt(bytes, cuts)) events.push(...d.push(piece));
  events.push(...d.end());
  return events;
}

// Streams that look like the protocol often enough to reach every state: a small count,
// names and sizes that are sometimes right, then anything.
const plausible = fc
  .tuple(
    fc.integer({ min: 0, max: 4 }),
    fc.array(fc.record({ name: fc.string({ maxLength: 140 }), data: fc.uint8Array({ maxLength: 300 }) }), { maxLength: 4 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.nat(),
  )
  .map(([extra, files, tail, cutAt]) => {
    const whole = encodeTransfer(files);
    // Lie about the count sometimes, cut the stream sometimes, add trailing bytes sometimes.
    if (extra > 0) new DataView(whole.buffer).setUint32(0, files.length + extra - 2 < 0 ? 0 : files.length + extra - 2);
    const cut = whole.subarray(0, extra === 3 ? cutAt % (whole.length + 1) : whole.length);
    const out = new Uint8Array(cut.length + tail.length);
    out.set(cut);
    out.set(tail, cut.length);
    return out;
  });
const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 600 }), plausible);

/** How many inputs each property tries in `npm test`; `npm run fuzz` runs far more. */
const RUNS = Number(process.env.WIRESTEP_FUZZ_RUNS ?? 300);
/** Inputs actually tried, printed at the end (what `npm run fuzz` reports). */
let tried = 0;

afterAll(() => {
  process.stdout.write(`fuzz: ${tried} inputs through the dissector properties (${RUNS} per property)\n`);
});

describe('dissector properties', () => {
  it('never throws, whatever the bytes and wherever they are cut', () => {
    fc.assert(fc.property(anyBytes, fc.array(fc.nat()), (bytes, cuts) => {
      feed(bytes, cuts);
    }), { numRuns: RUNS });
  });

  it('tiles the stream with fields: no gap, no overlap, every byte covered', () => {
    fc.assert(fc.property(anyBytes, fc.array(fc.nat()), (bytes, cuts) => {
      const { fields } = collect(feed(bytes, cuts));
      let at = 0;
      for (const f of fields) {
        expect(f.offset).toBe(at);
        at += f.length;
      }
      expect(at).toBe(bytes.length);
    }), { numRuns: RUNS });
  });

  it('gives the same fields and problems fed whole or in any pieces', () => {
    fc.assert(fc.property(anyBytes, fc.array(fc.nat(), { maxLength: 30 }), (bytes, cuts) => {
      expect(collect(feed(bytes, cuts))).toEqual(collect(dissect(bytes, { maxFileSize: LIMIT })));
    }), { numRuns: RUNS });
  });

  it('hands out exactly the payload bytes, in order, however the stream is cut', () => {
    fc.assert(fc.property(anyBytes, fc.array(fc.nat()), (bytes, cuts) => {
      const events = feed(bytes, cuts);
      const { fields } = collect(events);
      const slices = events.filter((e) => e.type === 'payload');
      const fromFields = fields.filter((f) => f.kind === 'payload').flatMap((f) => [...bytes.subarray(f.offset, f.offset + f.length)]);
      expect(slices.flatMap((e) => (e.type === 'payload' ? [...e.data] : []))).toEqual(fromFields);
    }), { numRuns: RUNS });
  });

  it('gives back the files of any well-formed transfer it encoded', () => {
    const file = fc.record({
      name: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.endsWith(' ') && new TextEncoder().encode(s).length <= 128),
      data: fc.uint8Array({ maxLength: 2000 }),
    });
    fc.assert(fc.property(fc.array(file, { maxLength: 6 }), fc.array(fc.nat()), (files, cuts) => {
      const bytes = encodeTransfer(files);
      const events = feed(bytes, cuts);
      const { fields, problems } = collect(events);
      expect(problems.filter((p) => p.kind === 'truncated' || p.kind === 'fewer-files-than-count' || p.kind === 'trailing-bytes')).toEqual([]);
      const names = fields.flatMap((f) => (f.value?.kind === 'name' ? [f.value.name.text] : []));
      expect(names).toEqual(files.map((f) => new TextDecoder().decode(new TextEncoder().encode(f.name))));
      files.forEach((f, i) => {
        const payload = fields.find((x) => x.id === `file[${i + 1}].payload`)!;
        expect(bytes.subarray(payload.offset, payload.offset + payload.length)).toEqual(f.data);
      });
    }), { numRuns: RUNS });
  });
});
