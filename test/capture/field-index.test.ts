import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CheckpointLayout, Dissection, PROBLEMS_KEPT } from '../../src/capture/index.js';
import { collect, dissect, encodeTransfer } from '../../src/protocol/index.js';

const LIMIT = 1000n;
/** Checkpoints every file, 4 at most: the stride doubles after the fourth file, and again. */
const TINY: CheckpointLayout = { stride: 1, checkpoints: 4 };

/** Many small files, some names repeated, some hostile; the count sometimes lies, the stream sometimes cut or followed by bytes. */
const streams = fc
  .tuple(
    fc.array(
      fc.record({
        name: fc.oneof(fc.constant('same.txt'), fc.constant('../x'), fc.constant(''), fc.string({ maxLength: 130 })),
        data: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 40 }), fc.constant(new Uint8Array(1200))),
      }),
      { maxLength: 24 },
    ),
    fc.integer({ min: -3, max: 3 }),
    fc.option(fc.nat(), { nil: null }),
    fc.uint8Array({ maxLength: 20 }),
  )
  .map(([files, lie, cutAt, tail]) => {
    const whole = encodeTransfer(files);
    new DataView(whole.buffer).setUint32(0, Math.max(0, files.length + lie));
    const cut = cutAt === null ? whole : whole.subarray(0, cutAt % (whole.length + 1));
    return new Uint8Array([...cut, ...tail]);
  });

async function scanned(bytes: Uint8Array, layout?: CheckpointLayout): Promise<Dissection> {
  const read = async (offset: number, length: number): Promise<Uint8Array> => bytes.slice(offset, offset + length);
  return Dissection.scan(read, bytes.length, { maxFileSize: LIMIT }, layout);
}

describe('the field index of a capture', () => {
  it('says what the dissector says of the whole stream, field by field and range by range', async () => {
    await fc.assert(
      fc.asyncProperty(streams, fc.nat(), fc.nat(), async (bytes, a, b) => {
        const events = dissect(bytes, { maxFileSize: LIMIT });
        const { fields, problems } = collect(events);
        const d = await scanned(bytes, TINY);
        expect(d.fieldCount).toBe(fields.length);
        expect(d.files).toBe(fields.filter((f) => f.kind === 'payload' && f.complete).length);
        expect(d.named).toBe(fields.filter((f) => f.kind === 'name').length);
        expect(d.problemCount).toBe(problems.length);
        expect(d.problems).toEqual(problems.slice(0, PROBLEMS_KEPT));
        expect(d.lastField).toEqual(fields.at(-1) ?? null);
        expect(d.endProblems).toEqual(events.flatMap((e) => (e.type === 'problem' ? [e.problem] : [])));
        const byField = events.flatMap((e) => (e.type === 'field' ? [e] : []));
        const all = await d.fields(0, fields.length + 5);
        expect(all.map((e) => e.field)).toEqual(fields);
        expect(all.map((e) => e.problems)).toEqual(byField.map((e) => e.problems));
        for (let i = 0; i < fields.length; i++) expect((await d.field(i))?.field).toEqual(fields[i]);
        expect(await d.field(fields.length)).toBeNull();
        const from = a % (bytes.length + 1);
        const to = from + 1 + (b % 400);
        expect((await d.fieldsIn(from, to)).map((e) => e.field)).toEqual(fields.filter((f) => f.length > 0 && f.offset < to && f.offset + f.length > from));
      }),
      { numRuns: 200 },
    );
  });

  it('counts a million identical headers in bounded checkpoints and finds the last field from the nearest one', async () => {
    const files = 1_000_000;
    const bytes = new Uint8Array(4 + files * 136 + 3);
    new DataView(bytes.buffer).setUint32(0, files + 1);
    let reads = 0;
    const read = async (offset: number, length: number): Promise<Uint8Array> => {
      reads++;
      return bytes.subarray(offset, offset + length);
    };
    const d = await Dissection.scan(read, bytes.length, {}, { stride: 64, checkpoints: 1024 });
    expect(d.fieldCount).toBe(1 + 3 * files + 1);
    expect(d.files).toBe(files);
    // Each NUL name is unsafe and unpadded; the last file's name is cut; and one file is owed.
    expect(d.problemCount).toBe(2 * files + 2);
    expect(d.problems).toHaveLength(PROBLEMS_KEPT);
    reads = 0;
    const last = await d.field(3 * files);
    expect(last?.field).toMatchObject({ id: `file[${files}].payload`, offset: 4 + files * 136, length: 0 });
    // From the nearest checkpoint: at most 1024 files back (the stride doubled to 1024), a few 16 KiB reads.
    expect(reads).toBeLessThanOrEqual(12);
  });
});
