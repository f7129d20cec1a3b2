import { describe, expect, it } from 'vitest';
import { CLI_WORDS } from '../../src/cli/words.js';
import { RECEIVER_WORDS, receiverLine } from '../../src/net/words.js';

/** The `{placeholders}` of a template, sorted. */
const placeholders = (template: string): string[] => [...template.matchAll(/\{([a-zA-Z]+)\}/g)].map((m) => m[1]!).sort();

describe('the command line’s tables of words', () => {
  it('gives every line the same placeholders in Portuguese as in English, for the commands and the receiver', () => {
    for (const table of [CLI_WORDS, RECEIVER_WORDS] as const) {
      for (const [key, en] of Object.entries(table.en)) {
        const pt = (table.pt as Readonly<Record<string, string>>)[key]!;
        expect(pt, key).not.toBe('');
        expect(placeholders(pt), key).toEqual(placeholders(en));
      }
    }
  });

  it('picks the singular for one, in both languages', () => {
    expect(receiverLine('en', 'count', { n: '1' }, 1)).toBe('count: 1 file announced');
    expect(receiverLine('en', 'count', { n: '0' }, 0)).toBe('count: 0 files announced');
    expect(receiverLine('pt', 'count', { n: '1' }, 1n)).toBe('contagem: 1 arquivo anunciado');
    expect(receiverLine('pt', 'count', { n: '2' }, 2)).toBe('contagem: 2 arquivos anunciados');
  });
});
