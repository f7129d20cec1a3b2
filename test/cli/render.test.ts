import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureReader, CaptureWriter } from '../../src/capture/index.js';
import { renderStepText } from '../../src/cli/render.js';
import { encodeTransfer, escapeControls } from '../../src/protocol/index.js';
import { loadStep } from '../../src/web/steps.js';
import { withTempDir } from '../helpers/net.js';

describe('terminal dump of hostile bytes', () => {
  it('shows control characters as \\xNN', () => {
    expect(escapeControls('a\x1b[2Jb\nc\x07')).toBe('a\\x1b[2Jb\\x0ac\\x07');
    expect(escapeControls('evil\u202etxt.exe')).toBe('evil\\u202etxt.exe');
  });

  it('prints a name holding an escape sequence and a newline without passing them to the terminal', async () => {
    await withTempDir(async (root) => {
      const stream = encodeTransfer([{ name: '\x1b[2Jevil\nfake line.txt', data: new TextEncoder().encode('x') }]);
      const w = await CaptureWriter.create({ root, id: 'evil', sides: ['sender'] });
      w.record('sender', 'write', 0, stream.length, stream);
      await w.finish('complete');
      const r = await CaptureReader.open(path.join(root, 'evil'));
      try {
        const d = await r.dissection();
        const text = renderStepText(await loadStep('evil', r, d, 'field', 2, 'en'), true, 'en');
        expect(text).toContain('\\x1b[2Jevil\\x0afake line.txt');
        expect(text).toContain('name-unsafe');
        // Colour codes are ours: each ESC is followed by our own SGR sequences only.
        // eslint-disable-next-line no-control-regex -- looking for stray ESC bytes is the point
        expect(text.match(/\x1b\[(?!0m|2m|3[1-6]m)/g)).toBeNull();
      } finally {
        await r.close();
      }
    });
  });
});

describe('terminal dump by field', () => {
  /** a.txt holding one byte, written one field per write and read one field per read: sender and receiver alternate. */
  async function oneByteFile(root: string): Promise<CaptureReader> {
    const stream = encodeTransfer([{ name: 'a.txt', data: new TextEncoder().encode('x') }]);
    let ns = 0n;
    const w = await CaptureWriter.create({ root, id: 'one-byte', sides: ['sender', 'receiver'], clock: () => (ns += 1000n) });
    let at = 0;
    for (const length of [4, 128, 8, 1]) {
      w.record('sender', 'write', at, length, stream.subarray(at, at + length));
      w.record('receiver', 'read', at, length);
      at += length;
    }
    await w.finish('complete');
    return CaptureReader.open(path.join(root, 'one-byte'));
  }

  it('names the writes and reads that carried a field by their operation step, which --by op --step shows', async () => {
    await withTempDir(async (root) => {
      const r = await oneByteFile(root);
      try {
        const d = await r.dissection();
        const text = renderStepText(await loadStep('one-byte', r, d, 'field', 4, 'en'), false, 'en');
        // The payload went in the 4th write (operation 7) and came in the 4th read (operation 8).
        expect(text).toContain('   Carried by 1 sender write: 1 byte at offset 140 (--by op --step 7)\n');
        expect(text).toContain('   Carried by 1 receiver read: 1 byte at offset 140 (--by op --step 8)\n');
        const read = await loadStep('one-byte', r, d, 'op', 8, 'en');
        expect([read.event?.side, read.event?.type, read.event?.offset]).toEqual(['receiver', 'read', 140]);
        const pt = renderStepText(await loadStep('one-byte', r, d, 'field', 4, 'pt'), false, 'pt');
        expect(pt).toContain('   Recebido em 1 leitura do servidor: 1 byte no offset 140 (--by op --step 8)\n');
      } finally {
        await r.close();
      }
    });
  });

  it('says “1 byte”, never “1 bytes”, in English and in Portuguese', async () => {
    await withTempDir(async (root) => {
      const r = await oneByteFile(root);
      try {
        const d = await r.dissection();
        for (const lang of ['en', 'pt'] as const) {
          let text = '';
          for (let n = 1; n <= d.fieldCount; n++) text += renderStepText(await loadStep('one-byte', r, d, 'field', n, lang), false, lang);
          expect(text).not.toMatch(ONE_PLURAL);
          expect(text).toContain(lang === 'en' ? 'file[1].payload at offset 140, 1 of 1 byte = 1 byte\n' : 'file[1].payload no offset 140, 1 de 1 byte = 1 byte\n');
        }
      } finally {
        await r.close();
      }
    });
  });

  it.each([
    // A one-byte name, then one byte after the last file.
    ['trailing', new Uint8Array([...encodeTransfer([{ name: 'a', data: new TextEncoder().encode('x') }]), 0x7a])],
    // A file of one byte whose byte never came.
    ['cut', encodeTransfer([{ name: 'b', data: new TextEncoder().encode('y') }]).subarray(0, 140)],
  ])('says “1 byte” in the explanations and problems of a %s stream', async (id, stream) => {
    await withTempDir(async (root) => {
      const w = await CaptureWriter.create({ root, id, sides: ['sender'] });
      w.record('sender', 'write', 0, stream.length, stream);
      await w.finish('complete');
      const r = await CaptureReader.open(path.join(root, id));
      try {
        const d = await r.dissection();
        expect(d.problems.length).toBeGreaterThan(0);
        for (const lang of ['en', 'pt'] as const) {
          let text = '';
          for (let n = 1; n <= d.fieldCount; n++) text += renderStepText(await loadStep(id, r, d, 'field', n, lang), false, lang);
          expect(text).not.toMatch(ONE_PLURAL);
          expect(text).toMatch(/(?<![\d.,])1 byte\b/);
        }
      } finally {
        await r.close();
      }
    });
  });
});

/** "1 bytes", "1 characters": a count of one with a plural noun, in either language. */
const ONE_PLURAL = /(?<![\d.,])1 (bytes|characters|caracteres)/;
