import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ASSIGNMENT, PYTHON, runToEnd } from '../../scripts/lib/harness.js';
import { SERVER_CASES } from '../../src/check/server-cases.js';
import { withReceiver, withTempDir } from '../helpers/net.js';

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
      expect(r.stdout).toContain('O servidor deixou truncado.txt, com 400 bytes, sob o nome definitivo');
      const json = JSON.parse(await readFile(path.join(report, 'report.json'), 'utf8')) as { checks: { id: string; status: string; place?: { capture: string; field?: string; offset?: number } }[] };
      const cut = json.checks.find((c) => c.id === 'bad-input.cut-in-payload')!;
      expect(cut.status).toBe('fail');
      expect(cut.place).toMatchObject({ field: 'file[1].payload', offset: 4 + 128 + 8 + 400 });
      expect(cut.place!.capture.startsWith('captures/bad-input.cut-in-payload/')).toBe(true);
      expect(await readdir(path.join(report, cut.place!.capture))).toContain('capture.json');
    });
  }, 90_000);

  it('grades a server already running with --connect: the checks judged by its folder (bad input, security) are left out and every other is judged', async () => {
    // wirestep's own receiver, started here; it closes a silent client after 5 s (the slow one of two clients may idle that long on busy cores).
    await withReceiver(async ({ port }) => {
      const r = await runToEnd(process.execPath, [MAIN, 'check', 'server', '--connect', `127.0.0.1:${port}`, '--serve-limit', '3', '--stall-limit', '10', '--format', 'json']);
      expect(r.code).toBe(0);
      const json = JSON.parse(r.stdout) as { checks: { id: string; status: string }[]; score: number; maxScore: number };
      expect(json.checks.map((c) => c.id)).toEqual(SERVER_CASES.filter((c) => c.group !== 'security' && c.group !== 'bad-input').map((c) => c.id));
      expect(json.checks.filter((c) => c.status !== 'pass')).toEqual([]);
      expect(json.score).toBe(json.maxScore);
    }, { idleTimeoutMs: 5000 });
  }, 90_000);

  it('refuses --only with a check id it does not know', async () => {
    const r = await runToEnd(process.execPath, [MAIN, 'check', 'server', '--only', 'correct.ten-files,correct.nope', '--', PYTHON, ASSIGNMENT.server]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown: correct.nope');
  });

  it('grades a class with --each: a row per hand-in, a hand-in that hangs at startup timed out and its whole process group gone', async () => {
    await withTempDir(async (dir) => {
      const hand = (student: string): string => path.join(dir, 'entregas', student, 'server.py');
      for (const s of ['ana', 'bia', 'caio']) await mkdir(path.dirname(hand(s)), { recursive: true });
      await copyFile(ASSIGNMENT.server, hand('ana'));
      await copyFile(fileURLToPath(new URL('../fixtures/check/names_not_stripped.py', import.meta.url)), hand('bia'));
      // Never listens; leaves a child of its own in its process group, and says which group.
      await writeFile(hand('caio'), [
        'import os, subprocess, sys, time',
        'subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])',
        'open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "pgid"), "w").write(str(os.getpgid(0)))',
        'time.sleep(3600)',
        '',
      ].join('\n'));
      const only = 'correct.ten-files,stream.one-byte-writes,bad-input.cut-in-count';
      const report = path.join(dir, 'notas');
      // caio never listens: the limit, far above what ana and bia need, is what ends it.
      const r = await runToEnd(process.execPath, [MAIN, 'check', 'server', '--each', 'entregas/*/server.py', '--limit', '15', '--only', only, '--report', report, '--', PYTHON, '{file}', '--port', '{port}'], { cwd: dir });
      expect(r.code).toBe(1);
      const csv = await readFile(path.join(report, 'class.csv'), 'utf8');
      expect(csv.split('\r\n')).toEqual([
        'student,status,score,max,failed',
        'entregas/ana,graded,5,5,',
        'entregas/bia,graded,1,5,correct.ten-files stream.one-byte-writes',
        'entregas/caio,timed-out,0,5,',
        '',
      ]);
      const bia = JSON.parse(await readFile(path.join(report, 'students', 'entregas-bia', 'report.json'), 'utf8')) as { checks: { id: string; finding?: { kind: string } }[] };
      expect(bia.checks.find((c) => c.id === 'correct.ten-files')!.finding!.kind).toBe('name-kept-padding');
      const pgid = Number(await readFile(path.join(path.dirname(hand('caio')), 'pgid'), 'utf8'));
      expect(pgid).toBeGreaterThan(1);
      expect(await liveInGroup(pgid)).toEqual([]);
    });
  }, 120_000);
});

/** Pids of the processes of group `pgid` that are still running (not zombies waiting to be reaped), from /proc. */
async function liveInGroup(pgid: number): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so read after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') out.push(Number(name));
  }
  return out;
}
