import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SENDER_OPTIONS, senderFlags, storedFaults } from '../../src/capture/index.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

describe('the sender options, listed once', () => {
  it('stores only the faults that are set, bigints as decimal strings', () => {
    expect(storedFaults({ chunk: 7, delayMs: 30, jitterMs: 0, writePerField: false, stopAfter: 0, lieSize: 10n, count: 3 })).toEqual({
      stopAfter: 0,
      lieSize: '10',
      count: 3,
    });
    expect(storedFaults({ jitterMs: 30, writePerField: true, padNameTo: 140 })).toEqual({ jitterMs: 30, writePerField: true, padNameTo: 140 });
  });

  it('names a capture’s options as wirestep send flags, leaving out defaults and other commands’ options', () => {
    expect(senderFlags({ command: 'send', chunk: 1024, delayMs: 0, writePerField: true, lieSize: '10', maxFileSize: '4096' })).toEqual([
      '--write-per-field',
      '--lie-size 10',
    ]);
    expect(senderFlags({ chunk: 7, delayMs: 30 })).toEqual(['--chunk 7', '--delay-ms 30']);
  });

  it('gives every option of the list to wirestep send, with its help', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [MAIN, 'send', '--help']);
    const help = stdout.replace(/\s+/g, ' ');
    for (const spec of SENDER_OPTIONS) {
      expect(help).toContain(`${spec.flag}${spec.value.type === 'flag' ? '' : ` ${spec.value.arg}`}`);
      expect(help).toContain(spec.fault ? `fault: ${spec.help}` : spec.help);
    }
  });
});
