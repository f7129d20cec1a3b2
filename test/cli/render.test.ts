import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureReader, CaptureWriter } from '../../src/capture/index.js';
import { renderStepText } from '../../src/cli/render.js';
import { terminalSafe } from '../../src/cli/terminal.js';
import { encodeTransfer } from '../../src/protocol/index.js';
import { loadStep } from '../../src/web/steps.js';
import { withTempDir } from '../helpers/net.js';

describe('terminal dump of hostile bytes', () => {
  it('shows control characters as \\xNN', () => {
    expect(terminalSafe('a\x1b[2Jb\nc\x07')).toBe('a\\x1b[2Jb\\x0ac\\x07');
    expect(terminalSafe('evil\u202etxt.exe')).toBe('evil\\u202etxt.exe');
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
