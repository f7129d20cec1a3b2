import { describe, expect, it } from 'vitest';
import {
  Dissector,
  type Field,
  collect,
  dissect,
  encodeCount,
  encodeName,
  encodeSize,
  encodeTransfer,
  fieldIndexAt,
  nextField,
} from '../../src/protocol/index.js';
import { STREAMS, cat, file, streamCase } from '../fixtures/streams.js';

const te = new TextEncoder();
const LIMIT = 4n * 1024n ** 3n;

function layout(fields: readonly Field[]): [string, number, number][] {
  return fields.map((f) => [f.id, f.offset, f.length]);
}

/** Feeds `bytes` in pieces of `size` bytes. */
function dissectInPieces(bytes: Uint8Array, size: number) {
  const d = new Dissector({ maxFileSize: LIMIT });
  const events = [];
  for (let at = 0; at < bytes.length; at += size) events.push(...d.push(bytes.subarray(at, at + size)));
  events.push(...d.end());
  return events;
}

describe('dissect', () => {
  const demo = encodeTransfer([
    { name: 'arquivo_1.txt', data: te.encode('Este é o conteúdo do arquivo 1\n') },
    { name: 'arquivo_2.txt', data: te.encode('') },
  ]);

  it('lays out count, name, size and payload at their exact offsets and lengths', () => {
    const { fields, problems } = collect(dissect(demo));
    expect(layout(fields)).toEqual([
      ['count', 0, 4],
      ['file[1].name', 4, 128],
      ['file[1].size', 132, 8],
      ['file[1].payload', 140, 33],
      ['file[2].name', 173, 128],
      ['file[2].size', 301, 8],
      ['file[2].payload', 309, 0],
    ]);
    expect(problems).toEqual([]);
  });

  it('decodes the count big-endian and keeps what a little-endian reading would say', () => {
    const [count] = collect(dissect(cat(encodeCount(10)))).fields;
    expect(count?.value).toEqual({ kind: 'count', count: 10, littleEndian: 167772160 });
  });

  it('decodes a name without its padding and counts padding, bytes and characters', () => {
    const { fields } = collect(dissect(cat(encodeCount(1), file('relatório_ação.txt', 'x'))));
    const name = fields[1]?.value;
    expect(name?.kind).toBe('name');
    if (name?.kind !== 'name') return;
    expect(name.name.text).toBe('relatório_ação.txt');
    expect(name.name.byteLength).toBe(21);
    expect(name.name.padding).toBe(107);
    expect(name.name.characters).toBe(18);
    expect(name.name.multiByteCharacters).toBe(3);
  });

  it('shows the name the reference server would use after its strip()', () => {
    const { fields } = collect(dissect(cat(encodeCount(1), file('  notas.txt', 'x'))));
    const v = fields[1]?.value;
    expect(v?.kind === 'name' && v.name.text).toBe('  notas.txt');
    expect(v?.kind === 'name' && v.name.reference).toBe('notas.txt');
  });

  it('keeps sizes above 2^53 exact', () => {
    const size = 2n ** 53n + 1n;
    const { fields } = collect(dissect(cat(encodeCount(1), encodeName('big'), encodeSize(size))));
    expect(fields[2]?.value).toEqual({ kind: 'size', size, littleEndian: 0x0100000000002000n });
    expect(fields[3]?.expected).toBe(size);
  });

  it('gives the same fields and problems for any cut of the stream, 1 and 7 bytes included', () => {
    const whole = collect(dissect(demo, { maxFileSize: LIMIT }));
    for (const size of [1, 2, 7, 64, 1000]) {
      expect(collect(dissectInPieces(demo, size))).toEqual(whole);
    }
  });

  it('hands out payload bytes as they arrive, and only payload bytes', () => {
    const events = dissectInPieces(demo, 7);
    const payload = events.flatMap((e) => (e.type === 'payload' ? [...e.data] : []));
    expect(new TextDecoder().decode(new Uint8Array(payload))).toBe('Este é o conteúdo do arquivo 1\n');
    const offsets = events.flatMap((e) => (e.type === 'payload' ? [e.offset] : []));
    expect(offsets[0]).toBe(140);
  });

  it('reports truncation at offset 132 and keeps the count and name fields', () => {
    const { fields, problems } = collect(dissect(streamCase('truncated-size').bytes));
    expect(layout(fields)).toEqual([
      ['count', 0, 4],
      ['file[1].name', 4, 128],
      ['file[1].size', 132, 3],
    ]);
    expect(fields[1]?.complete).toBe(true);
    expect(problems[0]).toMatchObject({ kind: 'truncated', field: 'file[1].size', offset: 132, length: 3, needed: 8n, available: 3 });
    expect(problems[1]).toMatchObject({ kind: 'fewer-files-than-count', offset: 135, declared: 1, received: 0 });
  });

  it('reports a cut payload with the bytes it announced and the bytes that came', () => {
    const { fields, problems } = collect(dissect(streamCase('truncated-payload').bytes));
    expect(layout(fields).at(-1)).toEqual(['file[1].payload', 140, 40]);
    expect(problems[0]).toMatchObject({ kind: 'truncated', offset: 140, needed: 100n, available: 40 });
  });

  it('reports a stream cut inside the count', () => {
    const { fields, problems } = collect(dissect(streamCase('truncated-count').bytes));
    expect(layout(fields)).toEqual([['count', 0, 2]]);
    expect(problems).toEqual([expect.objectContaining({ kind: 'truncated', field: 'count', needed: 4n, available: 2 })]);
  });

  it('reports an empty stream as a count with no bytes', () => {
    const { fields, problems } = collect(dissect(new Uint8Array(0)));
    expect(layout(fields)).toEqual([['count', 0, 0]]);
    expect(problems.map((p) => p.kind)).toEqual(['truncated']);
  });

  it('reports fewer files than the count at the end of the stream', () => {
    const { problems } = collect(dissect(streamCase('fewer-files').bytes));
    expect(problems).toEqual([expect.objectContaining({ kind: 'fewer-files-than-count', declared: 3, received: 1, offset: 4 + 128 + 8 + 5, length: 0 })]);
  });

  it('reports why an unsafe name is unsafe', () => {
    const reasons = (id: string) => {
      const p = collect(dissect(streamCase(id).bytes)).problems.find((x) => x.kind === 'name-unsafe');
      return p?.kind === 'name-unsafe' ? p.reasons : [];
    };
    expect(reasons('traversal')).toEqual(['separator', 'dot-dot']);
    expect(reasons('absolute')).toEqual(['absolute', 'separator']);
    expect(reasons('backslash')).toEqual(['separator', 'dot-dot']);
    expect(reasons('nul-in-name')).toEqual(['nul']);
    expect(reasons('control-in-name')).toEqual(['control']);
    expect(reasons('drive')).toEqual(['drive']);
    expect(reasons('reserved')).toEqual(['reserved']);
    expect(reasons('empty-name')).toEqual(['empty']);
    expect(reasons('bidi')).toEqual(['bidi']);
  });

  it('puts name problems on the 128 name bytes', () => {
    const p = collect(dissect(streamCase('invalid-utf8').bytes)).problems[0];
    expect(p).toMatchObject({ kind: 'name-invalid-utf8', field: 'file[1].name', offset: 4, length: 128 });
  });

  it('shows a name longer than 128 bytes derailing the stream', () => {
    const { fields, problems } = collect(dissect(streamCase('long-name').bytes, { maxFileSize: LIMIT }));
    const size = fields[2]?.value;
    // Bytes 128..135 of the name, "nnnnnnnn", became the size.
    expect(size?.kind === 'size' && size.size).toBe(0x6e6e6e6e6e6e6e6en);
    expect(problems.map((p) => p.kind)).toEqual(['name-unpadded', 'size-over-limit', 'truncated', 'fewer-files-than-count']);
  });

  it('costs nothing for a size of 2^64-1 until bytes come', () => {
    const { fields, problems } = collect(dissect(streamCase('huge-size').bytes, { maxFileSize: LIMIT }));
    expect(fields.at(-1)).toMatchObject({ id: 'file[1].payload', length: 5, expected: 2n ** 64n - 1n, complete: false });
    expect(problems[0]).toMatchObject({ kind: 'size-over-limit', size: 2n ** 64n - 1n, limit: LIMIT, offset: 132 });
  });

  it('puts bytes after the last file in a trailing field', () => {
    const { fields, problems } = collect(dissect(streamCase('trailing').bytes));
    expect(layout(fields).at(-1)).toEqual(['trailing', 4 + 128 + 8 + 2, 7]);
    expect(problems).toEqual([expect.objectContaining({ kind: 'trailing-bytes', count: 7, length: 7 })]);
  });

  it.each(STREAMS.map((s) => [s.id, s] as const))('reports exactly the expected problems for %s', (_id, s) => {
    for (const size of [1, 7, s.bytes.length || 1]) {
      const { problems } = collect(dissectInPieces(s.bytes, size));
      expect(problems.map((p) => p.kind)).toEqual(s.problems);
    }
  });

  it.each(STREAMS.map((s) => [s.id, s] as const))('tiles every byte of %s with exactly one field', (_id, s) => {
    const { fields } = collect(dissect(s.bytes, { maxFileSize: LIMIT }));
    let at = 0;
    for (const f of fields) {
      expect(f.offset).toBe(at);
      at += f.length;
    }
    expect(at).toBe(s.bytes.length);
  });
});

describe('Dissector.state', () => {
  it('says which field comes next and how many bytes it still needs', () => {
    const d = new Dissector();
    d.push(cat(encodeCount(2), encodeName('a.txt').subarray(0, 100)));
    expect(d.state()).toMatchObject({ field: 'file[1].name', have: 100, needed: 28n, offset: 104, count: 2 });
    d.push(cat(encodeName('a.txt').subarray(100), encodeSize(10), te.encode('abc')));
    expect(d.state()).toMatchObject({ field: 'file[1].payload', have: 3, needed: 7n });
  });

  it('skips payload bytes without seeing them and stops at the payload end', () => {
    const d = new Dissector();
    d.push(cat(encodeCount(1), encodeName('a.txt'), encodeSize(10)));
    const { skipped, events } = d.skip(50);
    expect(skipped).toBe(10);
    expect(events).toEqual([expect.objectContaining({ type: 'field', field: expect.objectContaining({ id: 'file[1].payload', length: 10, complete: true }) })]);
    expect(d.state().kind).toBe('trailing');
  });

  it('does not skip inside a fixed-size field', () => {
    const d = new Dissector();
    expect(d.skip(4).skipped).toBe(0);
  });
});

describe('field helpers', () => {
  const { fields } = collect(dissect(encodeTransfer([{ name: 'a', data: new Uint8Array(0) }, { name: 'b', data: te.encode('xy') }])));

  it('finds the field holding a byte, passing over empty payloads', () => {
    expect(fields[fieldIndexAt(fields, 0)]?.id).toBe('count');
    expect(fields[fieldIndexAt(fields, 140)]?.id).toBe('file[2].name');
    expect(fields[fieldIndexAt(fields, 140 + 136 + 1)]?.id).toBe('file[2].payload');
    expect(fieldIndexAt(fields, 10_000)).toBe(-1);
  });

  it('knows what follows each field', () => {
    expect(nextField(fields[0]!, 2)).toEqual({ kind: 'name', file: 1, expected: 128n });
    expect(nextField(fields[2]!, 2)).toEqual({ kind: 'payload', file: 1, expected: 0n });
    expect(nextField(fields.at(-1)!, 2)).toBeNull();
  });
});
