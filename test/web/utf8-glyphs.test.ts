import { describe, expect, it } from 'vitest';
import { utf8Glyphs } from '../../src/web/steps.js';

describe('utf8Glyphs', () => {
  it('puts é on the first byte of C3 A9 and nothing on the second, and leaves ASCII to hexy', () => {
    expect(utf8Glyphs(new TextEncoder().encode('Aé.'))).toEqual([null, 'é', '', null]);
  });

  it('keeps dots for a lone continuation byte, a cut sequence, an overlong form, a soft hyphen and a three-byte character', () => {
    expect(utf8Glyphs(new Uint8Array([0xa9, 0x41]))).toEqual([null, null]);
    expect(utf8Glyphs(new Uint8Array([0x41, 0xc3]))).toEqual([null, null]);
    expect(utf8Glyphs(new Uint8Array([0xc1, 0x81]))).toEqual([null, null]);
    expect(utf8Glyphs(new Uint8Array([0xc2, 0xad]))).toEqual([null, null]);
    expect(utf8Glyphs(new TextEncoder().encode('€'))).toEqual([null, null, null]);
  });
});
