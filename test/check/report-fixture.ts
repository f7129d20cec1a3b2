import { cp } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { CaptureWriter } from '../../src/capture/index.js';
import type { CheckReport } from '../../src/check/types.js';
import { sendBytes } from '../../src/net/index.js';
import { encodeTransfer } from '../../src/protocol/index.js';

const SAMPLES = path.resolve(import.meta.dirname, '../../samples');

/** A finding's text no page may run: markup, quotes, an ampersand and control bytes. */
export const HOSTILE_NAME = '<script>alert("x") & \'y\'</script>\u0001\u001b[2J';

/** Stream offset of byte 400 of the payload of file 1 in a one-file transfer: 4 + 128 + 8 + 400. */
export const CUT_AT = 540;

/** Records what a grader would have sent for `bad-input.cut-in-payload` (1,000 bytes announced, 400 sent) into `capturesDir`. */
async function recordCutInPayload(capturesDir: string): Promise<void> {
  const server = net.createServer((s) => {
    s.resume();
    s.on('end', () => s.end());
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as net.AddressInfo;
    const whole = encodeTransfer([{ name: 'truncado.txt', data: new Uint8Array(1000).fill(0x61) }]);
    const writer = await CaptureWriter.create({ root: capturesDir, id: 'bad-input.cut-in-payload', sides: ['sender'], options: { raw: true } });
    await sendBytes({ port, pieces: [whole.subarray(0, CUT_AT)], capturesDir: null, recordInto: writer });
    await writer.finish('truncated');
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * A report folder as `wirestep check server --report DIR` leaves it before the HTML is added:
 * the captures of two failed checks (one recorded here, one the bundled `trailing-bytes`
 * sample), and the report those checks came to. Checks passing, failing on a capture with a
 * field, failing on a bare offset, failing with hostile text, and one the grader could not run.
 */
export async function makeReportFolder(dir: string): Promise<CheckReport> {
  const captures = path.join(dir, 'captures');
  await recordCutInPayload(captures);
  await cp(path.join(SAMPLES, 'trailing-bytes'), path.join(captures, 'bad-input.trailing-bytes'), { recursive: true });
  return {
    target: 'server',
    command: ['python3', 'server.py', '--port', '{port}'],
    lang: 'en',
    startedAt: '2026-11-30T14:05:00.000Z',
    durationMs: 12_345,
    score: 4,
    maxScore: 12,
    checks: [
      { id: 'correct.ten-files', group: 'correct', status: 'pass', points: 2, maxPoints: 2, durationMs: 310 },
      { id: 'stream.one-byte-writes', group: 'stream', status: 'pass', points: 2, maxPoints: 2, durationMs: 1_200 },
      {
        id: 'bad-input.cut-in-payload',
        group: 'bad-input',
        status: 'fail',
        points: 2,
        maxPoints: 2,
        finding: { kind: 'partial-file-saved', values: { name: 'truncado.txt', saved: 400, size: 1000 } },
        place: { capture: 'captures/bad-input.cut-in-payload', field: 'file[1].payload', offset: CUT_AT },
        lesson: 'broken-streams',
        output: 'Recebido: truncado.txt\n',
        durationMs: 450,
      },
      {
        id: 'bad-input.trailing-bytes',
        group: 'bad-input',
        status: 'fail',
        points: 2,
        maxPoints: 2,
        finding: { kind: 'trailing-ignored', values: { bytes: 12 } },
        place: { capture: 'captures/bad-input.trailing-bytes', offset: 150 },
        lesson: 'framing',
        durationMs: 380,
      },
      {
        id: 'security.html-name',
        group: 'security',
        status: 'fail',
        points: 2,
        maxPoints: 2,
        finding: { kind: 'unsafe-name-saved', values: { name: HOSTILE_NAME } },
        place: { capture: 'captures/../../etc', field: 'file[1].name' },
        output: `saved ${HOSTILE_NAME}\n\tgpj.\u202etxt\n`,
        durationMs: 200,
      },
      {
        id: 'robustness.stall',
        group: 'robustness',
        status: 'error',
        points: 2,
        maxPoints: 2,
        finding: { kind: 'grader-error', values: { message: 'connect ECONNREFUSED 127.0.0.1:8181' } },
        durationMs: 5_000,
      },
    ],
  };
}
