import { existsSync } from 'node:fs';
import { copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ASSIGNMENT, PYTHON, runToEnd } from '../../scripts/lib/harness.js';
import { checkClient } from '../../src/check/client.js';
import { StreamJudge } from '../../src/check/judge.js';
import type { CheckReport } from '../../src/check/types.js';
import { describeFinding } from '../../src/check/words.js';
import { dissect, encodeCount, encodeSize, encodeTransfer } from '../../src/protocol/index.js';
import { withTempDir } from '../helpers/net.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/check/', import.meta.url));
const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const fixture = (name: string): string[] => [PYTHON, path.join(FIXTURES, name), '{port}', '{folder}'];
const te = new TextEncoder();

/** Grades `argv` into a temporary report folder; checks that every finding is worded in both languages and that each place is a capture on disk. */
async function grade(argv: readonly string[]): Promise<{ report: CheckReport; status: Record<string, string>; kind: Record<string, string | undefined> }> {
  return withTempDir(async (dir) => {
    const report = await checkClient({ argv, capturesDir: path.join(dir, 'captures'), reportDir: dir });
    for (const c of report.checks) {
      if (c.finding) {
        for (const lang of ['en', 'pt'] as const) {
          const text = describeFinding(c.finding, lang);
          expect(text, `${c.id} in ${lang}`).not.toMatch(/\{[a-z]+\}|^[a-z-]+ \{/);
        }
      }
      if (c.place) expect(existsSync(path.join(dir, c.place.capture, 'capture.json')), c.place.capture).toBe(true);
    }
    return {
      report,
      status: Object.fromEntries(report.checks.map((c) => [c.id, c.status])),
      kind: Object.fromEntries(report.checks.map((c) => [c.id, c.finding?.kind])),
    };
  });
}

const ALL = ['client.ten-files', 'client.empty-file', 'client.accented-name', 'client.long-name', 'client.every-byte', 'client.send-return'];
const passing = (...failed: string[]): Record<string, string> => Object.fromEntries(ALL.map((id) => [id, failed.includes(id) ? 'fail' : 'pass']));

describe('wirestep check client', () => {
  it('passes the shipped client.py on every folder but the name over 128 bytes, which it sends whole and derails', async () => {
    const { report, status, kind } = await grade([PYTHON, ASSIGNMENT.client, '--port', '{port}', '--folder', '{folder}', '--no-test-files']);
    expect(status).toEqual(passing('client.long-name'));
    expect(kind['client.long-name']).toBe('name-over-128');
    const derail = report.checks.find((c) => c.id === 'client.long-name')!;
    // Sent whole at the start of a name field: 4 + (0 or one short file's 128 + 8 + 6 bytes).
    expect(derail.place?.field).toMatch(/^file\[[12]\]\.name$/);
    expect([4, 146]).toContain(derail.place?.offset);
    expect(derail.finding?.values).toMatchObject({ bytes: 140 });
    expect(derail.lesson).toBe('text-in-fields');
    expect(report.score).toBe(report.maxScore - derail.maxPoints);
  }, 120_000);

  it('grades a client that chose its own folder and port (the reference’s 8181, redirected by the trace) against the files it wrote', async () => {
    const { status, report } = await grade([PYTHON, ASSIGNMENT.client, '--folder', 'enviar']);
    expect(status).toEqual({ 'client.own-files': 'pass', 'client.send-return': 'pass' });
    expect(report.checks[0]!.output).toContain('arquivo_10.txt');
  }, 120_000);

  it('fails a size sent little-endian on every file with bytes, naming the field and what the server reads, and passes the empty file', async () => {
    const { status, kind, report } = await grade(fixture('little_endian_client.py'));
    expect(status).toEqual(passing('client.ten-files', 'client.accented-name', 'client.long-name', 'client.every-byte'));
    for (const id of ['client.ten-files', 'client.accented-name', 'client.every-byte']) expect(kind[id], id).toBe('size-little-endian');
    // Which of the two files goes first is os.listdir()'s choice.
    expect(['size-little-endian', 'name-over-128']).toContain(kind['client.long-name']);
    const accented = report.checks.find((c) => c.id === 'client.accented-name')!;
    expect(accented.place).toMatchObject({ field: 'file[1].size', offset: 132 });
    expect(accented.finding?.values).toMatchObject({ expected: '16', sent: (16n << 56n).toString() });
    expect(accented.lesson).toBe('byte-order');
  }, 120_000);

  it('fails a name not padded to 128 bytes on every folder, at the byte after the name', async () => {
    const { status, kind, report } = await grade(fixture('unpadded.py'));
    expect(status).toEqual(passing('client.ten-files', 'client.empty-file', 'client.accented-name', 'client.long-name', 'client.every-byte'));
    for (const id of ['client.ten-files', 'client.empty-file', 'client.accented-name', 'client.every-byte']) expect(kind[id], id).toBe('name-not-padded');
    expect(['name-not-padded', 'name-over-128']).toContain(kind['client.long-name']);
    // The size field's first byte came where the padding should have been.
    expect(report.checks.find((c) => c.id === 'client.empty-file')!.finding?.values).toMatchObject({ name: 'vazio.txt', bytes: 9, found: '0x00', offset: 4 });
  }, 120_000);

  it('fails a size counted in characters where the text has accents, and the binary file it cannot read as text', async () => {
    const { status, kind, report } = await grade(fixture('size_in_characters.py'));
    expect(status).toEqual(passing('client.ten-files', 'client.accented-name', 'client.long-name', 'client.every-byte'));
    expect(kind['client.ten-files']).toBe('size-in-characters');
    expect(kind['client.accented-name']).toBe('size-in-characters');
    expect(report.checks.find((c) => c.id === 'client.accented-name')!.finding?.values).toMatchObject({ expected: '16', sent: '14' });
    // It sent the count, then died decoding the binary file: one file announced, none came.
    expect(kind['client.every-byte']).toBe('stream-fewer-files-than-count');
    expect(report.checks.find((c) => c.id === 'client.every-byte')!.output).toContain('UnicodeDecodeError');
  }, 120_000);

  it('reports a client that ignores send()’s return value when its trace shows a partial send it never finished', async () => {
    const { status, kind, report } = await grade(fixture('ignores_send_return.py'));
    expect(status).toEqual(passing('client.long-name', 'client.every-byte', 'client.send-return'));
    expect(kind['client.every-byte']).toBe('stream-truncated');
    const send = report.checks.find((c) => c.id === 'client.send-return')!;
    expect(send.finding?.kind).toBe('send-partial-ended');
    const v = send.finding!.values as Record<string, number>;
    expect(v).toMatchObject({ program: 'ignores_send_return.py', offset: 140, asked: 3 * 1024 * 1024 });
    expect(v.moved).toBeGreaterThan(0);
    expect(v.rest).toBe(v.asked! - v.moved!);
    expect(send.place?.offset).toBe(140 + v.moved!);
    expect(send.place?.capture).toMatch(/ignores_send_return\.py-sender/);
  }, 120_000);
});

describe('StreamJudge', () => {
  const judge = async (bytes: Uint8Array, files: { name: string; data: Uint8Array }[]) => {
    const j = new StreamJudge({ kind: 'folder', files }, (o, n) => Promise.resolve(bytes.subarray(o, o + n)));
    await j.take(dissect(bytes));
    return j.finish(bytes.length);
  };
  const files = [1, 10].map((n) => ({ name: `arquivo_${n}.txt`, data: te.encode(`conteúdo ${n}\n`) }));

  it('names the longest file a name not padded starts with: arquivo_10.txt, not arquivo_1.txt', async () => {
    const bytes = Buffer.concat([encodeCount(2), te.encode('arquivo_10.txt'), encodeSize(files[1]!.data.length), files[1]!.data]);
    const v = await judge(bytes, files);
    expect(v).toMatchObject({ finding: { kind: 'name-not-padded', values: { name: 'arquivo_10.txt', bytes: 14 } }, field: 'file[1].name', offset: 4 });
  });

  it('finds a payload byte that differs at its place in the file and in the stream', async () => {
    const bytes = encodeTransfer(files);
    bytes[4 + 128 + 8 + 3] ^= 0xff;
    expect(await judge(bytes, files)).toMatchObject({ finding: { kind: 'payload-differs', values: { at: 3, file: 1 } }, field: 'file[1].payload', offset: 143 });
  });

  it('passes a stream that sends every file once, in any order', async () => {
    expect(await judge(encodeTransfer([files[1]!, files[0]!]), files)).toBeNull();
  });

  it('reports a file of the folder that never came, and a count that counts it', async () => {
    expect(await judge(encodeTransfer([files[0]!]), files)).toMatchObject({ finding: { kind: 'count-mismatch', values: { expected: 2, sent: 1 } }, field: 'count' });
  });
});

describe('wirestep check client on the command line', () => {
  it('exits 0 when every check passes and writes report.json and the captures into --report', async () => {
    await withTempDir(async (dir) => {
      const out = path.join(dir, 'report');
      const r = await runToEnd(process.execPath, [MAIN, 'check', 'client', '--report', out, '--format', 'json', '--', ...fixture('good_client.py')], { cwd: dir });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const printed = JSON.parse(r.stdout) as CheckReport;
      expect(printed.score).toBe(printed.maxScore);
      expect(printed.checks.map((c) => c.id)).toEqual(ALL);
      const saved = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as CheckReport;
      expect(saved.checks.map((c) => c.status)).toEqual(ALL.map(() => 'pass'));
      expect(existsSync(path.join(out, saved.checks[0]!.place!.capture, 'stream.bin'))).toBe(true);
    });
  }, 120_000);

  it('finds a client named by a path relative to where check was started, though the client runs in a folder of its own', async () => {
    await withTempDir(async (dir) => {
      await copyFile(ASSIGNMENT.client, path.join(dir, 'client.py'));
      const r = await runToEnd(process.execPath, [MAIN, 'check', 'client', '--', PYTHON, 'client.py', '--port', '{port}', '--folder', '{folder}', '--no-test-files'], { cwd: dir });
      expect(r.stdout).toContain('✓ Sends the ten reference files');
      expect(r.stdout).not.toContain('never connected');
    });
  }, 120_000);

  it('exits 1 when a check fails, printing ✗ and why in the language asked', async () => {
    await withTempDir(async (dir) => {
      const r = await runToEnd(process.execPath, [MAIN, 'check', 'client', '--lang', 'pt', '--', PYTHON, ASSIGNMENT.client, '--port', '{port}', '--folder', '{folder}', '--no-test-files'], { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/✗ Não descarrila com um nome de mais de 128 bytes \(0\/2\)\n\s+O nome “n+\.txt” tem 140 bytes/);
      expect(r.stdout).toContain('✓ Envia os dez arquivos de referência');
    });
  }, 120_000);

  it('exits 2 on a bad command line: no client, or an unknown format', async () => {
    const none = await runToEnd(process.execPath, [MAIN, 'check', 'client']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('nothing to grade');
    const format = await runToEnd(process.execPath, [MAIN, 'check', 'client', '--format', 'xml', '--', PYTHON, 'x.py']);
    expect(format.code).toBe(2);
  });
});
