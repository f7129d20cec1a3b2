import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { gradeEach, renderClassCsv } from '../../src/check/each.js';
import { startProgram, substitute } from '../../src/check/program.js';
import type { CheckReport } from '../../src/check/types.js';
import { PYTHON } from '../../scripts/lib/harness.js';
import { withTempDir } from '../helpers/net.js';

/** Hand-ins: a program that prints OK, one that prints something else, and one that never ends. */
const HAND_INS: Record<string, string> = {
  'ana/server.py': 'print("OK")\n',
  'bruno/server.py': 'print("nope")\n',
  // Prints, then hangs: the grader sees it started, and only the limit ends it.
  'carla/server.py': 'import sys, time\nprint("started", flush=True)\nwhile True:\n    time.sleep(1)\n',
  '=cmd|x/server.py': 'print("OK")\n',
};

/** A grade function that runs the hand-in for real, as the checker would, and passes one check when it prints OK. */
function gradeByRunning(seen: { pids: number[] }) {
  return async (file: string, ctx: { signal: AbortSignal }): Promise<CheckReport> => {
    const started = Date.now();
    const run = startProgram({ argv: substitute([PYTHON, '{file}'], { file }), cwd: path.dirname(file), timeLimitMs: 60_000 });
    if (run.child.pid !== undefined) seen.pids.push(run.child.pid);
    const stop = () => void run.stop(500);
    ctx.signal.addEventListener('abort', stop);
    const exit = await run.exited;
    ctx.signal.removeEventListener('abort', stop);
    const ok = exit.code === 0 && run.output().stdout.trim() === 'OK';
    return {
      target: 'server',
      command: [PYTHON, '{file}'],
      lang: 'en',
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      score: ok ? 3 : 0,
      maxScore: 3,
      checks: [
        { id: 'correct.ten-files', group: 'correct', status: ok ? 'pass' : 'fail', points: 3, maxPoints: 3, durationMs: Date.now() - started, ...(ok ? {} : { output: run.output().stdout }) },
      ],
    };
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('grading a whole class one hand-in at a time', () => {
  it('kills a hand-in that hangs at the limit, marks it timed out, and still writes the class table as CSV and HTML', async () => {
    await withTempDir(async (root) => {
      const cwd = path.join(root, 'turma');
      for (const [file, text] of Object.entries(HAND_INS)) {
        await mkdir(path.join(cwd, 'entregas', path.dirname(file)), { recursive: true });
        await writeFile(path.join(cwd, 'entregas', file), text);
      }
      const out = path.join(root, 'wirestep-report');
      const seen = { pids: [] as number[] };
      const graded: string[] = [];
      const table = await gradeEach({
        pattern: '*/server.py',
        cwd: path.join(cwd, 'entregas'),
        // Python starts and prints well within this on a busy machine; carla never ends.
        limitMs: 10_000,
        reportDir: out,
        lang: 'en',
        grade: gradeByRunning(seen),
        onGraded: (row) => graded.push(row.student),
      });
      expect(graded).toEqual(['=cmd|x', 'ana', 'bruno', 'carla']);
      expect(table.rows.map((r) => [r.student, r.status, r.score, r.maxScore, r.failed])).toEqual([
        ['=cmd|x', 'graded', 3, 3, []],
        ['ana', 'graded', 3, 3, []],
        ['bruno', 'graded', 0, 3, ['correct.ten-files']],
        ['carla', 'timed-out', 0, 3, []],
      ]);
      // The hanging program's whole group was killed: nothing is left running.
      expect(seen.pids).toHaveLength(4);
      for (const pid of seen.pids) expect(isAlive(pid)).toBe(false);

      const csv = await readFile(path.join(out, 'class.csv'), 'utf8');
      expect(csv).toBe(renderClassCsv(table));
      expect(csv.split('\r\n')).toEqual([
        'student,status,score,max,failed',
        // A folder name a spreadsheet would run as a formula is defused.
        "'=cmd|x,graded,3,3,",
        'ana,graded,3,3,',
        'bruno,graded,0,3,correct.ten-files',
        'carla,timed-out,0,3,',
        '',
      ]);
      expect((await readdir(out)).sort()).toEqual(['class.csv', 'class.html', 'students', 'style.css']);
      expect((await readdir(path.join(out, 'students'))).sort()).toEqual(['ana', 'bruno', 'cmd-x']);
      expect(await readdir(path.join(out, 'students', 'bruno'))).toContain('report.html');
      const html = await readFile(path.join(out, 'class.html'), 'utf8');
      expect(html).toContain('4 hand-ins, graded one at a time, at most 10 s each.');
      expect(html).toContain('stopped at the time limit (10 s)');
      expect(html).toContain('href="students/bruno/report.html"');
      expect(html).toContain('<code class="name">carla</code>');
    });
  });

  it('marks a hand-in whose grading failed, and says so when nothing matched', async () => {
    await withTempDir(async (root) => {
      await mkdir(path.join(root, 'a'), { recursive: true });
      await writeFile(path.join(root, 'a', 'client.py'), '');
      const table = await gradeEach({
        pattern: '*/client.py',
        cwd: root,
        limitMs: 60_000,
        reportDir: path.join(root, 'out'),
        lang: 'pt',
        target: 'client',
        grade: () => Promise.reject(new Error('no python here')),
      });
      expect(table.rows.map((r) => [r.student, r.status, r.message, r.maxScore])).toEqual([['a', 'error', 'no python here', null]]);
      expect(await readFile(path.join(root, 'out', 'class.html'), 'utf8')).toContain('o corretor falhou: no python here');
      const none = await gradeEach({ pattern: 'nada/*/server.py', cwd: root, limitMs: 1000, reportDir: path.join(root, 'none'), lang: 'pt', grade: () => Promise.reject(new Error('never')) });
      expect(none.rows).toEqual([]);
      expect(await readFile(path.join(root, 'none', 'class.html'), 'utf8')).toContain('Nenhuma entrega casou com nada/*/server.py.');
      expect(await readFile(path.join(root, 'none', 'class.csv'), 'utf8')).toBe('student,status,score,max,failed\r\n');
    });
  });
});
