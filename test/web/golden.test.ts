import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureReader, CaptureWriter } from '../../src/capture/index.js';
import { renderStepText } from '../../src/cli/render.js';
import { encodeTransfer } from '../../src/protocol/index.js';
import { hexRows, renderHexText } from '../../src/web/hexdump.js';
import { loadStep } from '../../src/web/steps.js';
import { withTempDir } from '../helpers/net.js';

const te = new TextEncoder();
const golden = (name: string) => path.join(import.meta.dirname, '../golden', name);

describe('hex dump layout (hexy 0.4.0, every option set)', () => {
  const bytes = Uint8Array.from({ length: 40 }, (_, i) => (i * 37 + 3) % 256);

  it('lays out 16 bytes a row with addresses from the display offset', async () => {
    await expect(renderHexText(bytes, 0x80)).toMatchFileSnapshot(golden('hexy-40-bytes-at-0x80.txt'));
  });

  it('takes addresses and the text column from hexy for each row', () => {
    const rows = hexRows(te.encode('arquivo_1.txt\n<&>'), 16);
    expect(rows.map((r) => r.address)).toEqual(['00000010', '00000020']);
    expect(rows[0]!.cells.map((c) => c.char).join('')).toBe('arquivo_1.txt.<&');
    expect(rows[1]!.cells.map((c) => [c.offset, c.hex, c.char])).toEqual([[32, '3E', '>']]);
  });
});

describe('terminal dump of a capture', () => {
  it('prints every field step of a two-file transfer', async () => {
    await withTempDir(async (root) => {
      const stream = encodeTransfer([
        { name: 'arquivo_1.txt', data: te.encode('Este é o conteúdo do arquivo 1\n') },
        { name: 'vazio.txt', data: new Uint8Array(0) },
      ]);
      let ns = 0n;
      const w = await CaptureWriter.create({ root, id: 'golden', sides: ['sender'], clock: () => (ns += 1000n) });
      w.record('sender', 'connect', 0, 0);
      for (let at = 0; at < stream.length; at += 100) w.record('sender', 'write', at, Math.min(100, stream.length - at), stream.subarray(at, at + 100));
      await w.finish('complete');
      const r = await CaptureReader.open(path.join(root, 'golden'));
      try {
        const d = await r.dissection();
        let text = '';
        for (let n = 1; n <= d.fieldCount; n++) text += renderStepText(await loadStep('golden', r, d, 'field', n, 'en'), false, 'en');
        for (let n = 1; n <= r.opCount; n++) text += renderStepText(await loadStep('golden', r, d, 'op', n, 'pt'), false, 'pt');
        await expect(text).toMatchFileSnapshot(golden('dump-two-files.txt'));
      } finally {
        await r.close();
      }
    });
  });
});

describe('hex dump addresses', () => {
  it('goes past 4 GiB (hexy alone throws there) and shows DEL as a dot', () => {
    const rows = hexRows(new Uint8Array([0x41, 0x7f, 0x42]), 0x1_0000_0000);
    expect(rows[0]!.address).toBe('100000000');
    expect(rows[0]!.cells.map((c) => c.char).join('')).toBe('A.B');
    expect(renderHexText(new Uint8Array([1]), 0x1_0000_0010)).toMatch(/^100000010: 01 +\.\n$/);
  });
});
