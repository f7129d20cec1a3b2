import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import ejs from 'ejs';
import { glob } from 'tinyglobby';
import { LOCALES, type Lang, escapeControls, formatInteger } from '../protocol/index.js';
import { packageRoot } from '../web/paths.js';
import { REPORT_FILES, copyStylesheet, writeReportDir, writeWhole } from './report/html.js';
import type { CheckReport, CheckTarget } from './types.js';
import { checkTitle, reportWord } from './words.js';

/** What {@link gradeEach} tells the grade function about the hand-in it grades. */
export interface GradeContext {
  /** The student's folder, relative to `cwd` (`entregas/ana`). */
  readonly student: string;
  /** Where this hand-in's report goes (`DIR/students/<folder>`), when a report folder was asked for: the checker records its captures under `captures/` there. */
  readonly reportDir: string | null;
  /** Aborted at the time limit: the grader must stop the hand-in's programs and settle. */
  readonly signal: AbortSignal;
}

/** Options of {@link gradeEach}. */
export interface EachOptions {
  /** A glob pattern of the hand-ins, relative to `cwd` (`entregas/*\/server.py`). */
  readonly pattern: string;
  /** Where the pattern is matched; default the current folder. */
  readonly cwd?: string;
  /** Time each hand-in is given in all, in milliseconds. */
  readonly limitMs: number;
  /** After the limit, how long the grade function is given to stop and settle before the class goes on without it (ms, default 10 s). */
  readonly settleMs?: number;
  /** Where the class table and each hand-in's report go; null writes nothing. */
  readonly reportDir: string | null;
  readonly lang: Lang;
  readonly target?: CheckTarget;
  /** Grades one hand-in (its absolute path): the real checker, with `{file}` put in its command. */
  readonly grade: (file: string, context: GradeContext) => Promise<CheckReport>;
  /** Told as each hand-in is done, for progress lines. */
  readonly onGraded?: (row: ClassRow) => void;
}

/** How grading one hand-in ended. */
export type ClassStatus = 'graded' | 'timed-out' | 'error';

/** One hand-in in the class table. */
export interface ClassRow {
  /** Its folder, relative to `cwd`, with `/` between parts. */
  readonly student: string;
  /** The hand-in's file, relative to `cwd`. */
  readonly file: string;
  readonly status: ClassStatus;
  /** 0 unless graded. */
  readonly score: number;
  /** The most it could score; null when it was not graded and no hand-in was. */
  readonly maxScore: number | null;
  /** Ids of the checks that did not pass, in report order. */
  readonly failed: readonly string[];
  /** Its report folder relative to the class folder (`students/entregas-ana`), when one was written. */
  readonly report: string | null;
  /** Why grading failed (status `error`). */
  readonly message: string | null;
  readonly durationMs: number;
}

/** A whole class, graded. */
export interface ClassTable {
  readonly target: CheckTarget;
  readonly pattern: string;
  readonly limitMs: number;
  readonly rows: readonly ClassRow[];
}

/** The files of a class table in its folder. */
export const CLASS_FILES = { html: 'class.html', csv: 'class.csv', students: 'students' } as const;

/** A folder name made of the student's folder: safe characters only, and unique among those taken. */
function folderName(student: string, taken: Set<string>): string {
  const base = student.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '').slice(0, 100) || 'hand-in';
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
  taken.add(name);
  return name;
}

/** Ids of the checks of `report` that did not pass. */
function failedIds(report: CheckReport): string[] {
  return report.checks.filter((c) => c.status !== 'pass').map((c) => c.id);
}

/**
 * Grades every hand-in matching `pattern` one at a time (sorted by path), each given `limitMs`:
 * at the limit its signal is aborted, the grade function is given `settleMs` to stop its
 * programs, and the hand-in is marked timed out whether it settled or not, so a hanging program
 * never stalls the class. A grade function that throws marks its hand-in `error`. With a report
 * folder, each graded hand-in's report is written to `DIR/students/<folder>/` and the table to
 * `DIR/class.html` and `DIR/class.csv` ({@link writeClassReport}). Throws only for I/O errors
 * writing the reports.
 */
export async function gradeEach(options: EachOptions): Promise<ClassTable> {
  const cwd = path.resolve(options.cwd ?? '.');
  const files = (await glob(options.pattern, { cwd, onlyFiles: true, absolute: false, expandDirectories: false })).sort();
  const taken = new Set<string>();
  const rows: ClassRow[] = [];
  const unsettled: Promise<unknown>[] = [];
  for (const file of files) {
    const rel = file.split(path.sep).join('/');
    const dir = path.posix.dirname(rel);
    const student = dir === '.' ? rel : dir;
    const folder = folderName(student, taken);
    const reportDir = options.reportDir === null ? null : path.join(options.reportDir, CLASS_FILES.students, folder);
    const controller = new AbortController();
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<'limit'>((resolve) => {
      timer = setTimeout(() => resolve('limit'), options.limitMs);
    });
    const grading = Promise.resolve()
      .then(() => options.grade(path.join(cwd, file), { student, reportDir, signal: controller.signal }))
      .then((report) => ({ report }), (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }));
    const outcome = await Promise.race([grading, limit]);
    clearTimeout(timer);
    if (outcome === 'limit') {
      controller.abort();
      let settle: NodeJS.Timeout | undefined;
      // Waits for the grader to stop the hand-in's programs, but not forever.
      const settled = await Promise.race([grading.then(() => true), new Promise<false>((resolve) => { settle = setTimeout(() => resolve(false), options.settleMs ?? 10_000); })]);
      clearTimeout(settle);
      // Still running: kept, so that the class is not left with programs the caller's exit would orphan.
      if (!settled) unsettled.push(grading);
    }
    const durationMs = Date.now() - started;
    let row: ClassRow;
    if (outcome === 'limit') {
      row = { student, file: rel, status: 'timed-out', score: 0, maxScore: null, failed: [], report: null, message: null, durationMs };
    } else if ('error' in outcome) {
      row = { student, file: rel, status: 'error', score: 0, maxScore: null, failed: [], report: null, message: outcome.error, durationMs };
    } else {
      const report = outcome.report;
      if (reportDir !== null) await writeReportDir(reportDir, report, options.lang);
      row = {
        student,
        file: rel,
        status: 'graded',
        score: report.score,
        maxScore: report.maxScore,
        failed: failedIds(report),
        report: reportDir === null ? null : `${CLASS_FILES.students}/${folder}`,
        message: null,
        durationMs,
      };
    }
    rows.push(row);
    options.onGraded?.(row);
  }
  // A hand-in that was not graded could have scored what the others could.
  const max = rows.find((r) => r.maxScore !== null)?.maxScore ?? null;
  const table: ClassTable = {
    target: options.target ?? 'server',
    pattern: options.pattern,
    limitMs: options.limitMs,
    rows: rows.map((r) => (r.maxScore === null ? { ...r, maxScore: max } : r)),
  };
  if (options.reportDir !== null) await writeClassReport(options.reportDir, table, options.lang);
  // The gradings that did not stop when aborted get one more settle period, all together, before the caller may exit.
  if (unsettled.length > 0) {
    let last: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(unsettled), new Promise((resolve) => { last = setTimeout(resolve, options.settleMs ?? 10_000); })]);
    clearTimeout(last);
  }
  return table;
}

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, quote or line break; a cell a
 * spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return)
 * is prefixed with `'`, since folder names come from students.
 */
export function csvCell(value: string | number): string {
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The class table as CSV: `student,status,score,max,failed` (failed check ids separated by spaces), CRLF line ends. */
export function renderClassCsv(table: ClassTable): string {
  const lines = [['student', 'status', 'score', 'max', 'failed'].join(',')];
  for (const r of table.rows) {
    lines.push([csvCell(r.student), r.status, String(r.score), r.maxScore === null ? '' : String(r.maxScore), csvCell(r.failed.join(' '))].join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** What class.html shows. */
export interface ClassView {
  readonly htmlLang: string;
  readonly title: string;
  readonly patternLabel: string;
  readonly pattern: string;
  readonly countText: string;
  readonly headers: { readonly student: string; readonly score: string; readonly status: string; readonly failed: string; readonly report: string };
  readonly rows: readonly {
    readonly student: string;
    readonly scoreText: string;
    readonly status: ClassStatus;
    readonly statusText: string;
    readonly failed: readonly string[];
    readonly failedNone: string | null;
    readonly reportHref: string | null;
    readonly reportText: string;
  }[];
}

/** What class.html shows of `table`, in `lang`. */
export function classView(table: ClassTable, lang: Lang): ClassView {
  const n = (v: number) => formatInteger(v, lang);
  const seconds = new Intl.NumberFormat(LOCALES[lang], { maximumFractionDigits: 1 }).format(table.limitMs / 1000);
  return {
    htmlLang: lang === 'pt' ? 'pt-BR' : 'en',
    title: reportWord(lang, `class.title.${table.target}`),
    patternLabel: reportWord(lang, 'class.pattern'),
    pattern: escapeControls(table.pattern),
    countText: table.rows.length === 0
      ? reportWord(lang, 'class.none', { pattern: escapeControls(table.pattern) })
      : reportWord(lang, 'class.count', { n: n(table.rows.length), seconds }),
    headers: {
      student: reportWord(lang, 'class.student'),
      score: reportWord(lang, 'class.score'),
      status: reportWord(lang, 'class.status'),
      failed: reportWord(lang, 'class.failed'),
      report: reportWord(lang, 'class.report'),
    },
    rows: table.rows.map((r) => ({
      student: escapeControls(r.student),
      scoreText: r.maxScore === null ? n(r.score) : reportWord(lang, 'report.scoreOf', { score: n(r.score), max: n(r.maxScore) }),
      status: r.status,
      statusText: reportWord(lang, `class.status.${r.status}`, { seconds, message: escapeControls(r.message ?? '') }),
      failed: r.failed.map((id) => checkTitle(id, lang)),
      failedNone: r.status === 'graded' && r.failed.length === 0 ? reportWord(lang, 'class.noFailure') : null,
      reportHref: r.report === null ? null : `${r.report.split('/').map(encodeURIComponent).join('/')}/${REPORT_FILES.html}`,
      reportText: reportWord(lang, 'class.open'),
    })),
  };
}

/** Writes `dir/class.csv`, `dir/class.html` and the site's stylesheet beside them, each whole or not at all. Throws on I/O errors. */
export async function writeClassReport(dir: string, table: ClassTable, lang: Lang): Promise<void> {
  await mkdir(dir, { recursive: true });
  const html = await ejs.renderFile(path.join(packageRoot(), 'views', 'class.ejs'), { view: classView(table, lang) }, { cache: true, async: false });
  await writeWhole(path.join(dir, CLASS_FILES.csv), renderClassCsv(table));
  await copyStylesheet(dir);
  await writeWhole(path.join(dir, CLASS_FILES.html), html);
}
