import { describe, expect, it } from 'vitest';
import type { WireProblem } from '../../src/capture/index.js';
import { EXPLANATIONS, LANGS, fieldTitle, problemTitle } from '../../src/protocol/index.js';
import { CATALOGS, t } from '../../src/web/i18n.js';
import { describeWireProblem } from '../../src/web/overview.js';

describe('the site’s words and the protocol’s words', () => {
  it('keeps no protocol word in the site’s catalogs: each key lives in one table', () => {
    for (const lang of LANGS) expect(Object.keys(CATALOGS[lang]).filter((key) => key in EXPLANATIONS[lang])).toEqual([]);
  });

  it('reads field and problem titles from the protocol table, in the page’s language', () => {
    expect(t('pt', 'title.size', { file: 2 })).toBe(fieldTitle({ kind: 'size', file: 2 }, 'pt'));
    expect(t('pt', 'title.size', { file: 2 })).toBe('Tamanho do arquivo 2');
    expect(problemTitle('truncated', 'pt')).toBe('Fluxo cortado');
    expect(problemTitle('truncated', 'en')).toBe('Stream cut short');
  });

  it('words every kind of wire problem in both languages, with its numbers', () => {
    const problems: WireProblem[] = [
      { kind: 'gap', offset: 1000, missing: 1448, held: 2896 },
      { kind: 'mid-stream', frame: 7 },
      { kind: 'conflict', offset: 1000, length: 10, frame: 9 },
      { kind: 'cut', offset: 1000, length: 10, frame: 9 },
      { kind: 'held-limit', offset: 1000, frame: 9 },
      { kind: 'server-data', bytes: 5 },
    ];
    for (const lang of LANGS) {
      for (const p of problems) {
        const text = describeWireProblem(p, lang);
        expect(text).not.toMatch(/wireProblem\.|\{[a-zA-Z]+\}/);
      }
    }
    expect(describeWireProblem({ kind: 'gap', offset: 1000, missing: 1448, held: 2896 }, 'pt')).toContain('Faltam na captura 1.448 bytes');
  });
});
