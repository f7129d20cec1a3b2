import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ASSIGNMENT, PYTHON } from '../../scripts/lib/harness.js';
import { checkServer } from '../../src/check/server.js';
import { SERVER_CASES } from '../../src/check/server-cases.js';
import type { CheckReport } from '../../src/check/types.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/check/${name}`, import.meta.url));
const ALL = SERVER_CASES.map((c) => c.id);
/** Short limits: every wait ends on a condition first; a limit only ends a wait the server fails. */
const LIMITS = { serveLimitMs: 3000, stallLimitMs: 6000, caseLimitMs: 8000 };

const failed = (r: CheckReport): string[] => r.checks.filter((c) => c.status !== 'pass').map((c) => c.id).sort();
const python = (file: string): string[] => [PYTHON, file, '--port', '{port}', '--out', '{folder}'];

/** What the shipped server.py fails: it saves what it gets under the name it gets, and serves one client at a time with no timeout. */
const REFERENCE_FAILS = [
  'bad-input.cut-in-payload',
  'bad-input.lying-size',
  'bad-input.name-over-128',
  'bad-input.size-2-64',
  'robustness.reset-mid-payload',
  'robustness.stall-serves-next',
  'robustness.stall-times-out',
  'robustness.two-clients',
  'security.absolute-name',
  'security.relative-traversal',
];

describe('check server', () => {
  it('passes the shipped server.py on every correct and stream check and fails the named ones, each explained', async () => {
    const r = await checkServer({ command: python(ASSIGNMENT.server), ...LIMITS });
    expect(r.checks.map((c) => c.id)).toEqual(ALL);
    expect(failed(r)).toEqual(REFERENCE_FAILS);
    const byId = new Map(r.checks.map((c) => [c.id, c]));
    expect(byId.get('bad-input.cut-in-payload')!.finding).toEqual({ kind: 'kept-refused-file', values: { name: 'truncado.txt', got: 400, size: '1000' } });
    expect(byId.get('security.relative-traversal')!.finding!.kind).toBe('wrote-outside');
    expect(String(byId.get('security.relative-traversal')!.finding!.values!.path)).toMatch(/outside[/\\]escapou\.txt$/);
    expect(byId.get('robustness.stall-serves-next')!.finding!.kind).toBe('stall-blocks-next');
    expect(byId.get('robustness.two-clients')!.finding!.kind).toBe('second-not-served');
    expect(r.score).toBeLessThan(r.maxScore);
  }, 90_000);

  it('passes wirestep’s own receiver on every check', async () => {
    const r = await checkServer({
      command: [process.execPath, MAIN, 'receive', '--port', '{port}', '--out', '{folder}', '--no-capture', '--idle-timeout', '1'],
      ...LIMITS,
    });
    expect(failed(r)).toEqual([]);
    expect(r.score).toBe(r.maxScore);
  }, 90_000);

  it('fails a server with one recv() per field on the big file and the cut-up streams', async () => {
    const r = await checkServer({ command: python(fixture('one_recv_per_field.py')), ...LIMITS });
    const fails = failed(r);
    // A server slower than the grader may find 128 bytes of 7-byte writes waiting at once: not asserted either way.
    expect(fails.filter((id) => id !== 'stream.seven-byte-writes')).toEqual(
      [
        ...REFERENCE_FAILS.filter((id) => !id.startsWith('robustness.stall')),
        'correct.binary-3mib',
        'stream.across-boundaries',
        'stream.one-byte-writes',
        'stream.pauses-in-fields',
      ].sort(),
    );
    // Its recv(4) takes the silent client's 2 bytes, fails to unpack and closes it: the stall checks pass.
    expect(r.checks.find((c) => c.id === 'correct.binary-3mib')!.finding!.kind).toBe('wrong-size');
  }, 90_000);

  it('fails a server reading sizes little-endian wherever a file follows another or the stream goes on', async () => {
    const r = await checkServer({ command: python(fixture('little_endian_server.py')), ...LIMITS });
    expect(failed(r)).toEqual(
      [
        ...REFERENCE_FAILS,
        'bad-input.count-over-files',
        'bad-input.trailing-bytes',
        'correct.ten-files',
        'stream.across-boundaries',
        'stream.one-byte-writes',
        'stream.pauses-in-fields',
        'stream.seven-byte-writes',
      ].sort(),
    );
  }, 90_000);

  it('fails a server decoding names as Latin-1 on the accented name and the invalid UTF-8 one', async () => {
    const r = await checkServer({ command: python(fixture('latin1_names.py')), ...LIMITS });
    expect(failed(r)).toEqual([...REFERENCE_FAILS, 'bad-input.invalid-utf8', 'correct.accented-name'].sort());
    expect(r.checks.find((c) => c.id === 'correct.accented-name')!.finding).toEqual({ kind: 'missing-file', values: { name: 'relatório_ação.txt', size: 35 } });
  }, 90_000);
});
