import { describe, expect, it } from 'vitest';
import {
  EXPLANATIONS,
  FIELD_TABLE,
  PROBLEM_SEVERITY,
  collect,
  describeProblem,
  dissect,
  encodeCount,
  encodeTransfer,
  explainField,
  hexBytes,
} from '../../src/protocol/index.js';
import { streamCase } from '../fixtures/streams.js';

const te = new TextEncoder();

describe('explanations', () => {
  const bytes = encodeTransfer(
    Array.from({ length: 10 }, (_, i) => ({ name: `arquivo_${i + 1}.txt`, data: te.encode(`Este é o conteúdo do arquivo ${i + 1}\n`) })),
  );
  const { fields } = collect(dissect(bytes));

  it('reads 00 00 00 0A as 10 files, big-endian as struct !I', () => {
    expect(explainField(fields[0]!, 'en', { bytes: encodeCount(10) })).toBe(
      '00 00 00 0A is 10 files: 4 bytes read big-endian (most significant byte first), as Python’s struct \'!I\' reads them.',
    );
    expect(explainField(fields[0]!, 'pt', { bytes: encodeCount(10) })).toContain('00 00 00 0A são 10 arquivos');
  });

  it('says a count of 0 announces no file, not “0 files”', () => {
    const zero = collect(dissect(encodeTransfer([]))).fields[0]!;
    expect(explainField(zero, 'en', { bytes: encodeCount(0) })).toMatch(/^00 00 00 00 is 0: no file follows\./);
    expect(explainField(zero, 'pt', { bytes: encodeCount(0) })).toMatch(/^00 00 00 00 é 0: nenhum arquivo vem em seguida\./);
  });

  it('counts the spaces after a name', () => {
    expect(explainField(fields[1]!, 'en')).toBe('The name “arquivo_1.txt”, 13 bytes, followed by 115 spaces (0x20) that pad the field to 128 bytes.');
  });

  it('says the next 33 bytes are the file, and how many characters they hold', () => {
    expect(explainField(fields[2]!, 'en')).toContain('A size of 33 bytes');
    expect(explainField(fields[3]!, 'en', { name: 'arquivo_1.txt', text: { characters: 31, multiByte: 2 } })).toBe(
      'The 33 bytes of “arquivo_1.txt”, exactly as many as its size field announced: 31 characters of UTF-8 text, 2 of them longer than one byte.',
    );
  });

  it('leaves no placeholder unfilled in any explanation of any case', () => {
    for (const id of ['truncated-size', 'traversal', 'huge-size', 'trailing', 'long-name', 'invalid-utf8']) {
      const d = collect(dissect(streamCase(id).bytes, { maxFileSize: 1024n }));
      for (const lang of ['en', 'pt'] as const) {
        for (const f of d.fields) expect(explainField(f, lang, { count: 1 })).not.toMatch(/\{[a-zA-Z]+\}/);
        for (const p of d.problems) expect(describeProblem(p, lang)).not.toMatch(/\{[a-zA-Z]+\}/);
      }
    }
  });

  it('says where a cut stream lost step, in numbers', () => {
    const { problems } = collect(dissect(streamCase('truncated-size').bytes));
    expect(describeProblem(problems[0]!, 'en')).toBe('At offset 135 the stream ended inside “Size of file 1”: it needed 8 bytes and 3 came.');
    expect(describeProblem(problems[0]!, 'pt')).toBe('No offset 135 o fluxo terminou no meio de “Tamanho do arquivo 1”: o campo tem 8 bytes e só chegaram 3.');
  });

  it('has the same keys in English and Portuguese, each with the same placeholders', () => {
    expect(Object.keys(EXPLANATIONS.pt).sort()).toEqual(Object.keys(EXPLANATIONS.en).sort());
    const placeholders = (s: string): string[] => [...new Set(s.match(/\{[a-zA-Z]+\}/g))].sort();
    for (const [key, en] of Object.entries(EXPLANATIONS.en)) expect([key, placeholders(EXPLANATIONS.pt[key]!)]).toEqual([key, placeholders(en)]);
  });

  it('has a title for every field kind, and a title and a sentence for every problem kind, in both languages', () => {
    const needed = [
      ...Object.keys(FIELD_TABLE).map((kind) => `title.${kind}`),
      ...Object.keys(PROBLEM_SEVERITY).flatMap((kind) => [`problemTitle.${kind}`, `problem.${kind}`]),
    ];
    for (const lang of ['en', 'pt'] as const) expect(needed.filter((key) => !(key in EXPLANATIONS[lang]))).toEqual([]);
  });

  it('stamps each problem with the severity its kind has in the table', () => {
    for (const id of ['truncated-size', 'traversal', 'huge-size', 'trailing', 'long-name', 'invalid-utf8']) {
      for (const p of collect(dissect(streamCase(id).bytes, { maxFileSize: 1024n })).problems) expect([p.kind, p.severity]).toEqual([p.kind, PROBLEM_SEVERITY[p.kind]]);
    }
    expect(PROBLEM_SEVERITY['name-unpadded']).toBe('warning');
  });

  it('writes hex as uppercase pairs', () => {
    expect(hexBytes(new Uint8Array([0, 10, 255]))).toBe('00 0A FF');
  });
});
