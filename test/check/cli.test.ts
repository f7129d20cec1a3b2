import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ASSIGNMENT, PYTHON, runToEnd } from '../../scripts/lib/harness.js';
import { withTempDir } from '../helpers/net.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

describe('wirestep check server', () => {
  it('exits 2 with no command and no --connect', async () => {
    const r = await runToEnd(process.execPath, [MAIN, 'check', 'server']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nothing to check');
  });

  it('exits 1 for server.py, prints the failures in Portuguese and writes report.json and each check’s captures', async () => {
    await withTempDir(async (dir) => {
      const report = path.join(dir, 'rel');
      const r = await runToEnd(process.execPath, [MAIN, 'check', 'server', '--lang', 'pt', '--serve-limit', '2', '--stall-limit', '4', '--report', report, '--', PYTHON, ASSIGNMENT.server, '--port', '{port}', '--out', '{folder}']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('O servidor deixou truncado.txt com 400 bytes com o nome definitivo');
      const json = JSON.parse(await readFile(path.join(report, 'report.json'), 'utf8')) as { checks: { id: string; status: string; place?: { capture: string; field?: string; offset?: number } }[] };
      const cut = json.checks.find((c) => c.id === 'bad-input.cut-in-payload')!;
      expect(cut.status).toBe('fail');
      expect(cut.place).toMatchObject({ field: 'file[1].payload', offset: 4 + 128 + 8 + 400 });
      expect(cut.place!.capture.startsWith('captures/bad-input.cut-in-payload/')).toBe(true);
      expect(await readdir(path.join(report, cut.place!.capture))).toContain('capture.json');
    });
  }, 90_000);
});
