import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AssemblerInput, type AssemblerOptions, StreamAssembler, type StreamProblem, type WireSegment } from '../../src/wire/reassembly.js';
import { SEGMENT_FLAGS as F, TCP_FLAGS as T } from '../../src/wire/types.js';

const te = new TextEncoder();
const td = new TextDecoder();
const MOD = 2 ** 32;

/** Feeds segments and keeps what came out, as the importer would. */
class Run {
  readonly assembler: StreamAssembler;
  readonly lane: (WireSegment | null)[] = [];
  readonly chunks: Uint8Array[] = [];
  readonly problems: StreamProblem[] = [];
  #frame = 0;

  constructor(options?: AssemblerOptions) {
    this.assembler = new StreamAssembler(options);
  }

  push(seq: number, payload: string | Uint8Array = '', flags: number = T.ack, cut = 0): ReturnType<StreamAssembler['push']> {
    this.#frame++;
    const input: AssemblerInput = {
      frame: this.#frame,
      timeUs: this.#frame * 1000,
      seq: ((seq % MOD) + MOD) % MOD,
      flags,
      payload: typeof payload === 'string' ? te.encode(payload) : payload,
      cut,
    };
    const out = this.assembler.push(input);
    this.lane.push(out.segment);
    this.chunks.push(...out.data);
    this.problems.push(...out.problems);
    return out;
  }

  end(): StreamProblem[] {
    const { problems } = this.assembler.end();
    this.problems.push(...problems);
    return problems;
  }

  get stream(): Uint8Array {
    const out = new Uint8Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  get text(): string {
    return td.decode(this.stream);
  }

  /** Lane records as [offset, length, flags]. */
  get layout(): ([number, number, number] | null)[] {
    return this.lane.map((s) => (s === null ? null : [s.offset, s.length, s.flags]));
  }
}

describe('StreamAssembler', () => {
  it('counts offsets from the byte after the SYN and places the FIN after the payload', () => {
    const r = new Run();
    r.push(1000, '', T.syn);
    r.push(1001, 'hello');
    r.push(1006, ' world', T.ack | T.psh);
    r.push(1012, '', T.fin | T.ack);
    expect(r.layout).toEqual([
      [0, 0, F.syn],
      [0, 5, 0],
      [5, 6, 0],
      [11, 0, F.fin],
    ]);
    expect(r.text).toBe('hello world');
    expect(r.end()).toEqual([]);
    expect(r.assembler.delivered).toBe(11);
    expect(r.assembler.finSeen).toBe(true);
  });

  it('gives no lane record for a pure ACK', () => {
    const r = new Run();
    r.push(1000, '', T.syn);
    expect(r.push(1001, '').segment).toBeNull();
    expect(r.push(1001, '', T.rst).segment).toEqual({ frame: 3, timeUs: 3000, offset: 0, length: 0, flags: F.rst });
  });

  it('holds a segment that came early and releases it, in order, when the hole is filled', () => {
    const r = new Run();
    r.push(0, '', T.syn);
    const early = r.push(6, 'world');
    expect(early.data).toEqual([]);
    expect(early.segment?.flags).toBe(F.outOfOrder);
    const fill = r.push(1, 'hello');
    expect(fill.segment?.flags).toBe(0);
    expect(fill.data.map((d) => td.decode(d))).toEqual(['hello', 'world']);
    expect(r.end()).toEqual([]);
  });

  it('marks a copy of delivered bytes as a retransmission and appends nothing', () => {
    const r = new Run();
    r.push(0, '', T.syn);
    r.push(1, 'hello');
    const again = r.push(1, 'hello');
    expect(again.segment).toEqual({ frame: 3, timeUs: 3000, offset: 0, length: 5, flags: F.retransmission });
    expect(again.data).toEqual([]);
    expect(again.problems).toEqual([]);
    expect(r.text).toBe('hello');
  });

  it('marks a copy of held bytes as a retransmission only, not also out of order', () => {
    const r = new Run();
    r.push(0, '', T.syn);
    r.push(11, 'later');
    expect(r.push(11, 'later').segment?.flags).toBe(F.retransmission);
  });

  it('appends only the new bytes of a segment that overlaps delivered ones', () => {
    const r = new Run();
    r.push(0, '', T.syn);
    r.push(1, 'hello');
    const out = r.push(4, 'lo world');
    expect(out.segment?.flags).toBe(F.overlap);
    expect(out.data.map((d) => td.decode(d))).toEqual([' world']);
    expect(r.text).toBe('hello world');
  });

  it('sets overlap and out-of-order together for an early segment that covers part of a held one', () => {
    const r = new Run();
    r.push(0, '', T.syn);
    r.push(9, 'cd');
    expect(r.push(7, 'abcdef').segment?.flags).toBe(F.overlap | F.outOfOrder);
    r.push(1, '012345');
    expect(r.text).toBe('012345abcdef');
  });

  it('keeps the first copy and reports a conflict from the first to the last differing byte', () => {
    const r = new Run();
    r.push(0, '', T.syn);
    r.push(1, 'hello');
    const delivered = r.push(1, 'jello');
    expect(delivered.problems).toEqual([{ kind: 'conflict', offset: 0, length: 1, frame: 3 }]);
    r.push(7, 'world');
    const held = r.push(6, ' wOrLd!');
    expect(held.problems).toEqual([{ kind: 'conflict', offset: 7, length: 3, frame: 5 }]);
    expect(held.segment?.flags).toBe(F.overlap);
    expect(r.text).toBe('hello world!');
  });

  it('compares delivered bytes only within the last compareWindow bytes', () => {
    const r = new Run({ compareWindow: 4 });
    r.push(0, '', T.syn);
    r.push(1, '0123456789');
    expect(r.push(1, '01X3456789').problems).toEqual([]);
    expect(r.push(1, '01234567X9').problems).toEqual([{ kind: 'conflict', offset: 8, length: 1, frame: 4 }]);
  });

  it('stops the stream at a hole never filled and reports it with exact numbers', () => {
    const r = new Run();
    r.push(0, '', T.syn);
    r.push(1, 'abc');
    r.push(7, 'ghi');
    r.push(10, 'jk');
    r.push(14, 'no');
    expect(r.text).toBe('abc');
    expect(r.end()).toEqual([{ kind: 'gap', offset: 3, missing: 3, held: 7 }]);
    expect(r.assembler.delivered).toBe(3);
  });

  it('reports a gap when a FIN shows bytes that never came', () => {
    const r = new Run();
    r.push(0, '', T.syn);
    r.push(1, 'ab');
    r.push(5, '', T.fin | T.ack);
    expect(r.end()).toEqual([{ kind: 'gap', offset: 2, missing: 2, held: 0 }]);
  });

  it('follows sequence numbers across 2^32', () => {
    const r = new Run();
    r.push(MOD - 3, '', T.syn);
    r.push(MOD - 2, 'abcde');
    r.push(3, 'fgh');
    r.push(MOD - 2, 'ab');
    expect(r.layout).toEqual([
      [0, 0, F.syn],
      [0, 5, 0],
      [5, 3, 0],
      [0, 2, F.retransmission],
    ]);
    expect(r.text).toBe('abcdefgh');
  });

  it('keeps offsets growing past 2^32 as the sequence number goes round', () => {
    const r = new Run();
    r.push(7, '', T.syn);
    for (let i = 1; i <= 5; i++) r.push(8 + i * 2 ** 30, '');
    expect(r.push(8 + 5 * 2 ** 30, 'x').segment).toMatchObject({ offset: 5 * 2 ** 30, flags: F.outOfOrder });
  });

  it('gives a segment from before the SYN a negative offset and leaves the stream alone', () => {
    const r = new Run();
    r.push(1000, '', T.syn);
    expect(r.push(500, 'old').segment).toMatchObject({ offset: -501, length: 3, flags: F.retransmission });
    r.push(1001, 'new');
    expect(r.text).toBe('new');
    expect(r.end()).toEqual([]);
  });

  it('counts from the first segment seen when there is no SYN, and says so', () => {
    const r = new Run();
    r.push(77_777, 'middle');
    r.push(77_783, '', T.fin | T.ack);
    expect(r.problems).toEqual([{ kind: 'mid-stream', frame: 1 }]);
    expect(r.layout).toEqual([
      [0, 6, 0],
      [6, 0, F.fin],
    ]);
    expect(r.text).toBe('middle');
  });

  it('counts bytes the capture cut as carried but missing', () => {
    const r = new Run();
    r.push(0, '', T.syn);
    r.push(1, 'abc', T.ack, 2);
    expect(r.layout[1]).toEqual([0, 5, 0]);
    expect(r.problems).toEqual([{ kind: 'cut', offset: 3, length: 2, frame: 2 }]);
    expect(r.end()).toEqual([{ kind: 'gap', offset: 3, missing: 2, held: 0 }]);
    expect(r.text).toBe('abc');
  });

  it('fills bytes the capture cut from a later copy', () => {
    const r = new Run();
    r.push(0, '', T.syn);
    r.push(1, 'abc', T.ack, 2);
    expect(r.push(1, 'abcde').segment?.flags).toBe(F.overlap);
    expect(r.end()).toEqual([]);
    expect(r.text).toBe('abcde');
  });

  it('drops early bytes past maxHeld and places them when they come again in order', () => {
    const r = new Run({ maxHeld: 4 });
    r.push(0, '', T.syn);
    r.push(11, 'klm');
    const over = r.push(21, 'uvw');
    expect(over.problems).toEqual([{ kind: 'held-limit', offset: 20, frame: 3 }]);
    expect(over.segment?.flags).toBe(F.outOfOrder);
    r.push(1, '0123456789');
    r.push(14, 'nopqrstuvw');
    expect(r.text).toBe('0123456789klmnopqrstuvw');
    expect(r.end()).toEqual([]);
  });

  it('reports a gap holding only the bytes kept when maxHeld dropped some', () => {
    const r = new Run({ maxHeld: 4 });
    r.push(0, '', T.syn);
    r.push(11, 'klm');
    r.push(21, 'uvw');
    expect(r.end()).toEqual([{ kind: 'gap', offset: 0, missing: 10, held: 3 }]);
  });
});

/** Byte ranges [start, end) that together cover 0..n, plus random extra copies. */
function coveringRanges(n: number, cuts: number[], extras: [number, number][]): [number, number][] {
  const points = [...new Set([0, n, ...cuts.map((c) => c % n)])].sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  for (let i = 1; i < points.length; i++) ranges.push([points[i - 1]!, points[i]!]);
  for (const [s, len] of extras) ranges.push([s % n, Math.min(n, (s % n) + len + 1)]);
  return ranges;
}

const scenario = fc
  .record({
    bytes: fc.uint8Array({ minLength: 2, maxLength: 400 }),
    isn: fc.oneof(fc.integer({ min: MOD - 500, max: MOD - 1 }), fc.integer({ min: 0, max: MOD - 1 })),
    cuts: fc.array(fc.nat(), { maxLength: 30 }),
    extras: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 80 })), { maxLength: 15 }),
    withheld: fc.tuple(fc.nat(), fc.nat()),
  })
  .chain((s) => {
    const ranges = coveringRanges(s.bytes.length, s.cuts, s.extras);
    return fc.shuffledSubarray(ranges, { minLength: ranges.length, maxLength: ranges.length }).map((order) => ({ ...s, order }));
  });

function pushRanges(r: Run, isn: number, bytes: Uint8Array, ranges: [number, number][]): void {
  r.push(isn, '', T.syn);
  for (const [s, e] of ranges) r.push(isn + 1 + s, bytes.subarray(s, e));
}

describe('StreamAssembler, for all segmentations', () => {
  it('rebuilds exactly the bytes sent, whatever the order, copies and overlaps', () => {
    fc.assert(
      fc.property(scenario, ({ bytes, isn, order }) => {
        const r = new Run();
        pushRanges(r, isn, bytes, order);
        expect(r.stream).toEqual(bytes);
        expect(r.end()).toEqual([]);
        expect(r.problems).toEqual([]);
        expect(r.lane.filter((s) => s !== null && s.length > 0).map((s) => [s!.offset, s!.offset + s!.length])).toEqual(order);
      }),
    );
  });

  it('flags each segment from the bytes seen before it', () => {
    fc.assert(
      fc.property(scenario, ({ bytes, isn, order }) => {
        const r = new Run();
        pushRanges(r, isn, bytes, order);
        const seen = new Array<boolean>(bytes.length).fill(false);
        order.forEach(([s, e], i) => {
          const before = seen.slice(s, e).filter(Boolean).length;
          const next = seen.indexOf(false) === -1 ? bytes.length : seen.indexOf(false);
          const expected = before === e - s ? F.retransmission : (before > 0 ? F.overlap : 0) | (s > next ? F.outOfOrder : 0);
          expect(r.lane[i + 1]?.flags).toBe(expected);
          seen.fill(true, s, e);
        });
      }),
    );
  });

  it('stops at a withheld range and reports its exact offset and length', () => {
    fc.assert(
      fc.property(scenario, ({ bytes, isn, order, withheld }) => {
        const n = bytes.length;
        const a = withheld[0] % (n - 1);
        const b = a + 1 + (withheld[1] % (n - 1 - a));
        const kept = order.flatMap(([s, e]): [number, number][] =>
          [[s, Math.min(e, a)] as [number, number], [Math.max(s, b), e] as [number, number]].filter(([x, y]) => x < y),
        );
        const r = new Run();
        pushRanges(r, isn, bytes, kept);
        expect(r.stream).toEqual(bytes.subarray(0, a));
        expect(r.end()).toEqual([{ kind: 'gap', offset: a, missing: b - a, held: n - b }]);
      }),
    );
  });
});
