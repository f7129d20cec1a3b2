import net from 'node:net';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ASSIGNMENT, PYTHON } from '../../scripts/lib/harness.js';
import { readMeta } from '../../src/capture/index.js';
import { describeFailure } from '../../src/check/words.js';
import { withTempDir } from '../helpers/net.js';
import { checkServer } from '../../src/check/server.js';
import { SERVER_CASES } from '../../src/check/server-cases.js';
import type { CheckReport } from '../../src/check/types.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/check/${name}`, import.meta.url));
const ALL = SERVER_CASES.map((c) => c.id);
/**
 * Short limits: every wait ends on a condition first; a limit only ends a wait the server fails. A
 * missing file is waited for the whole case limit (a slow disk may rename late), so a failing server
 * takes minutes on busy cores.
 */
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
    // Traced, its exact reads (a loop per field) take no part of a field for the whole.
    expect(r.checks.filter((c) => c.cause !== undefined)).toEqual([]);
    expect(r.score).toBeLessThan(r.maxScore);
  }, 240_000);

  it('passes wirestep’s own receiver on every check', async () => {
    const r = await checkServer({
      command: [process.execPath, MAIN, 'receive', '--port', '{port}', '--out', '{folder}', '--no-capture', '--idle-timeout', '5'],
      // Idle for 5 s, not 1: the slow one of two clients may wait that long on busy cores; the stall limit is above it.
      ...LIMITS,
      stallLimitMs: 10_000,
    });
    expect(failed(r)).toEqual([]);
    expect(r.score).toBe(r.maxScore);
  }, 240_000);

  it('fails a server with one recv() per field on the big file and the cut-up streams, saying from its trace which recv() took part of a field', async () => {
    await withTempDir(async (reportDir) => {
      const r = await checkServer({ command: python(fixture('one_recv_per_field.py')), reportDir, ...LIMITS });
      const fails = failed(r);
      // A cut-up stream fails it only when it reads before the next write lands; descheduled, it finds
      // whole fields waiting and passes: which stream checks fail is timing, not asserted either way.
      // The big file does not depend on it: no receive buffer starts large enough for 3 MiB at once.
      const streamFails = fails.filter((id) => id.startsWith('stream.'));
      expect(fails.filter((id) => !id.startsWith('stream.'))).toEqual([...REFERENCE_FAILS.filter((id) => !id.startsWith('robustness.stall')), 'correct.binary-3mib'].sort());
      // Its recv(4) takes the silent client's 2 bytes, fails to unpack and closes it: the stall checks pass.
      expect(r.checks.find((c) => c.id === 'correct.binary-3mib')!.finding!.kind).toBe('wrong-size');
      // Where each cut-up stream and the big file went wrong, the trace shows a recv() sized to one field that got less and was not followed up.
      const cutUp = ['correct.binary-3mib', ...streamFails];
      for (const id of cutUp) {
        const c = r.checks.find((x) => x.id === id)!;
        expect(c.cause?.kind, id).toBe('server-short-read');
        const v = c.cause!.values!;
        expect(v.call).toBe('recv');
        expect(Number(v.got)).toBeGreaterThan(0);
        expect(Number(v.got) + Number(v.rest)).toBe(Number(v.asked));
        expect(Number(v.stopped)).toBeGreaterThanOrEqual(Number(v.offset) + Number(v.got));
        // The place is that read, in the server's own capture, kept beside the grader's.
        expect(c.place).toMatchObject({ field: v.field, offset: v.offset });
        expect(c.place!.capture.startsWith(`captures/${id}/`)).toBe(true);
        const meta = await readMeta(path.join(reportDir, c.place!.capture));
        expect(meta.programs?.receiver).toMatchObject({ name: 'one_recv_per_field.py', via: 'trace' });
        expect(meta.streamSide).toBe('receiver');
      }
      // The big file's payload is asked for in one recv() of its whole size.
      const big = r.checks.find((c) => c.id === 'correct.binary-3mib')!;
      expect(big.cause!.values).toMatchObject({ field: 'file[1].payload', offset: 4 + 128 + 8, asked: 3 * 1024 * 1024 });
      expect(describeFailure(big, 'en')).toMatch(/^The server saved todos_os_bytes\.bin with \d+ of 3145728 bytes\. The server’s own calls show where: it read file 1’s contents \(byte 140\) with one recv\(3145728\) that returned \d+ of the 3145728 bytes/);
      expect(describeFailure(big, 'pt')).toMatch(/ele leu o conteúdo do arquivo 1 \(byte 140\) com um único recv\(3145728\), que devolveu \d+ dos 3145728 bytes/);
      // A check that passed keeps no copy of the server's trace.
      expect((await readdir(path.join(reportDir, 'captures', 'correct.zero-files'))).every((d) => !d.includes('receiver'))).toBe(true);
    });
  }, 240_000);

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
  }, 240_000);

  it('fails a server decoding names as Latin-1 on the accented name and the invalid UTF-8 one', async () => {
    const r = await checkServer({ command: python(fixture('latin1_names.py')), ...LIMITS });
    expect(failed(r)).toEqual([...REFERENCE_FAILS, 'bad-input.invalid-utf8', 'correct.accented-name'].sort());
    expect(r.checks.find((c) => c.id === 'correct.accented-name')!.finding).toEqual({ kind: 'missing-file', values: { name: 'relatório_ação.txt', size: 35 } });
  }, 240_000);

  it('fails a server that keeps the names’ padding wherever it saves a file, and serves the next client all the same', async () => {
    const r = await checkServer({ command: python(fixture('names_not_stripped.py')), ...LIMITS });
    expect(failed(r)).toEqual(
      [
        ...REFERENCE_FAILS,
        'bad-input.count-over-files',
        'bad-input.trailing-bytes',
        'correct.accented-name',
        'correct.binary-3mib',
        'correct.empty-file',
        'correct.inner-spaces',
        'correct.ten-files',
        'correct.two-transfers',
        'security.html-name',
        'stream.across-boundaries',
        'stream.one-byte-writes',
        'stream.pauses-in-fields',
        'stream.seven-byte-writes',
      ].sort(),
    );
    // A name of exactly 128 bytes has no padding to keep: it passes, as do the streams where nothing is saved.
    expect(r.checks.find((c) => c.id === 'correct.ten-files')!.finding).toEqual({ kind: 'name-kept-padding', values: { name: 'arquivo_1.txt', spaces: 115 } });
    expect(r.checks.find((c) => c.id === 'bad-input.cut-in-payload')!.finding).toMatchObject({ kind: 'kept-refused-file', values: { got: 400, size: '1000' } });
  }, 240_000);

  it('moves a traced server’s fixed port to a free one, so a port already taken does not stop it', async () => {
    // The port the command names is held by the test: unless the tracer maps it away, the server cannot bind.
    const held = net.createServer();
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    const taken = (held.address() as net.AddressInfo).port;
    try {
      const only = ['correct.ten-files', 'stream.seven-byte-writes'];
      const grade = () => checkServer({ command: [PYTHON, ASSIGNMENT.server, '--port', String(taken), '--out', '{folder}'], port: taken, only, ...LIMITS });
      // Two at once, both told the same port.
      const [a, b] = await Promise.all([grade(), grade()]);
      for (const r of [a, b]) expect(r.checks.map((c) => [c.id, c.status])).toEqual(only.map((id) => [id, 'pass']));
    } finally {
      await new Promise((resolve) => held.close(resolve));
    }
  }, 240_000);
});
