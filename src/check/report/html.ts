import { existsSync } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ejs from 'ejs';
import { CAPTURE_FILES, CaptureReader, isCaptureId } from '../../capture/index.js';
import { LOCALES, type Lang, LANGS, escapeControls, fieldId, formatInteger, parseFieldId } from '../../protocol/index.js';
import { type Lesson, findLesson, loadLessons } from '../../web/lessons.js';
import { packageRoot } from '../../web/paths.js';
import { CHECK_GROUPS, type CheckGroup, type CheckReport, type CheckResult, type FindingPlace } from '../types.js';
import { checkTitle, describeFailure, groupTitle, reportWord } from '../words.js';
import { renderJson } from './index.js';
import { describePlace } from './words.js';

/** The files a report folder holds beside `captures/`. */
export const REPORT_FILES = { html: 'report.html', json: 'report.json', css: 'style.css' } as const;

/** Where the links of a written report.html point: the site `wirestep serve` opens by default. */
export const DEFAULT_SITE_URL = 'http://127.0.0.1:3000';

/** A report.json larger than this is refused (a real one is a few KiB per check). */
const REPORT_JSON_MAX = 16 * 1024 * 1024;

/** `captures/<id>` (check client) or `captures/<check-id>/<id>` (check server). */
const PLACE = /^captures\/(?:([a-z0-9][a-z0-9.-]*)\/)?([^/]+)$/;
const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** A link, ready to show. */
export interface LinkView {
  readonly href: string;
  readonly text: string;
}

/** One check, ready to show. */
export interface CheckView {
  readonly id: string;
  readonly title: string;
  readonly status: CheckResult['status'];
  /** ✓ or ✗, beside the status in words. */
  readonly mark: string;
  readonly statusText: string;
  readonly pointsText: string;
  readonly finding: string | null;
  readonly place: string | null;
  readonly stepLink: LinkView | null;
  readonly lessonLink: LinkView | null;
  readonly output: string | null;
}

/** One group of checks, ready to show. */
export interface GroupView {
  readonly id: CheckGroup;
  readonly title: string;
  readonly scoreText: string;
  readonly checks: readonly CheckView[];
}

/** Everything report.html shows. */
export interface ReportView {
  readonly lang: Lang;
  readonly htmlLang: string;
  readonly title: string;
  readonly css: string;
  readonly scoreLabel: string;
  readonly scoreText: string;
  readonly allPassed: boolean;
  readonly countsText: string;
  readonly facts: readonly { readonly label: string; readonly value: string; readonly code: boolean }[];
  /** How to open the links, when the report is read as a file; null when the site serves it. */
  readonly linksNote: string | null;
  readonly outputLabel: string;
  readonly groups: readonly GroupView[];
}

/** How a report's links are made. */
export interface ReportLinks {
  /** Prefix of every link to the site: `''` when the site serves the report, its address when the report is a file. */
  readonly base: string;
  /** The stylesheet's address. */
  readonly css: string;
  /** The field step (from 1) each failed check's capture opens at, by check id; absent opens the capture. */
  readonly steps: ReadonlyMap<string, number>;
  /** The command that serves this report, shown to a reader of the file; absent when served. */
  readonly serveCommand?: string;
}

/** The capture id a place names, when it is `captures/<id>` or `captures/<check-id>/<id>` with a valid id; else null (no link is made). */
export function placeCaptureId(place: FindingPlace): string | null {
  const m = PLACE.exec(place.capture);
  return m && isCaptureId(m[2]!) ? m[2]! : null;
}

/**
 * The folders of a report's captures, for the site's store: `dir/captures` and each check's
 * folder in it (`captures/<check-id>/`, where `check server` keeps them). Never throws: a
 * missing folder gives just `dir/captures`.
 */
export async function reportCaptureRoots(dir: string): Promise<string[]> {
  const root = path.join(dir, 'captures');
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const checks = entries.filter((e) => e.isDirectory() && PLACE.test(`captures/${e.name}/x`) && !existsSync(path.join(root, e.name, CAPTURE_FILES.meta)));
  return [root, ...checks.map((e) => path.join(root, e.name)).sort()];
}

/** The 0-based field step a field id names (`file[2].size` is 5), or null for one the ids do not place. */
function fieldStepIndex(field: string): number | null {
  const f = parseFieldId(field);
  if (!f) return null;
  if (f.kind === 'count') return 0;
  if (f.kind === 'trailing' || f.file === undefined) return null;
  return 3 * (f.file - 1) + 1 + ['name', 'size', 'payload'].indexOf(f.kind);
}

/**
 * The field step (from 1) of capture folder `dir` where `place` says a check went wrong: the step
 * of its field id when the capture has that field, else of the field holding its offset, else the
 * last step when the offset is at or past the stream's end; null when the capture cannot be
 * opened or has no fields. Never throws.
 */
export async function resolveStep(dir: string, place: FindingPlace): Promise<number | null> {
  let reader: CaptureReader | null = null;
  try {
    reader = await CaptureReader.open(dir);
    const d = await reader.dissection();
    if (d.fieldCount === 0) return null;
    if (place.field !== undefined) {
      const index = place.field === 'trailing' ? d.fieldCount - 1 : fieldStepIndex(place.field);
      const entry = index === null ? null : await d.field(index);
      // A stream derailed before this field holds another field at that step: then the offset decides.
      if (entry && fieldId(entry.field.kind, entry.field.file) === place.field) return entry.index + 1;
    }
    if (place.offset !== undefined && Number.isSafeInteger(place.offset) && place.offset >= 0) {
      const [entry] = await d.fieldsIn(place.offset, place.offset + 1, 1);
      return entry ? entry.index + 1 : d.fieldCount;
    }
    return null;
  } catch {
    return null;
  } finally {
    await reader?.close();
  }
}

/** The field step of every check that did not pass and names a capture of `dir/captures`. */
export async function resolveSteps(dir: string, report: CheckReport): Promise<Map<string, number>> {
  const steps = new Map<string, number>();
  for (const c of report.checks) {
    if (c.status === 'pass' || !c.place) continue;
    if (placeCaptureId(c.place) === null) continue;
    const step = await resolveStep(path.join(dir, ...c.place.capture.split('/')), c.place);
    if (step !== null) steps.set(c.id, step);
  }
  return steps;
}

/** A program's output with its control bytes shown as `\xNN`, keeping tabs and line feeds. */
function showOutput(text: string): string {
  // A terminal's escapes and text-direction controls must not reach the page as they are: each line
  // escaped as a log line is, its tabs and the line breaks kept.
  return text
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((line) => line.split('\t').map(escapeControls).join('\t'))
    .join('\n');
}

let lessonsLoaded: Lesson[] | null = null;
function lessons(): Lesson[] {
  lessonsLoaded ??= loadLessons(path.join(packageRoot(), 'lessons'));
  return lessonsLoaded;
}

function checkView(c: CheckResult, lang: Lang, links: ReportLinks): CheckView {
  const n = (v: number) => formatInteger(v, lang);
  const langQuery = lang === 'en' ? '' : `lang=${lang}`;
  const passed = c.status === 'pass';
  const captureId = !passed && c.place ? placeCaptureId(c.place) : null;
  const step = links.steps.get(c.id);
  let stepLink: LinkView | null = null;
  if (captureId !== null) {
    const capture = `${links.base}/captures/${encodeURIComponent(captureId)}`;
    stepLink = step === undefined
      ? { href: `${capture}${langQuery ? `?${langQuery}` : ''}`, text: reportWord(lang, 'report.openCapture') }
      : { href: `${capture}/steps/${step}?by=field${langQuery ? `&${langQuery}` : ''}`, text: reportWord(lang, 'report.openStep', { step: n(step) }) };
  }
  const lesson = !passed && c.lesson !== undefined && SLUG.test(c.lesson) ? findLesson(lessons(), c.lesson, lang) : undefined;
  return {
    id: c.id,
    title: checkTitle(c.id, lang),
    status: c.status,
    mark: passed ? '✓' : '✗',
    statusText: reportWord(lang, `report.status.${c.status}`),
    pointsText: reportWord(lang, 'report.scoreOf', { score: n(passed ? c.points : 0), max: n(c.maxPoints) }),
    finding: c.finding ? escapeControls(describeFailure(c, lang)) : null,
    place: !passed && c.place ? escapeControls(describePlace(c.place, lang)) : null,
    stepLink,
    lessonLink: lesson ? { href: `${links.base}/lessons/${lesson.slug}${langQuery ? `?${langQuery}` : ''}`, text: reportWord(lang, 'report.lesson', { title: lesson.title }) } : null,
    output: !passed && c.output ? showOutput(c.output) : null,
  };
}

/** What report.html shows of `report`, in `lang`, with links made as `links` says. */
export function reportView(report: CheckReport, lang: Lang, links: ReportLinks): ReportView {
  const n = (v: number) => formatInteger(v, lang);
  const groups: GroupView[] = [];
  for (const group of CHECK_GROUPS) {
    const checks = report.checks.filter((c) => c.group === group);
    if (checks.length === 0) continue;
    const score = checks.reduce((s, c) => s + (c.status === 'pass' ? c.points : 0), 0);
    const max = checks.reduce((s, c) => s + c.maxPoints, 0);
    groups.push({
      id: group,
      title: groupTitle(group, lang),
      scoreText: reportWord(lang, 'report.scoreOf', { score: n(score), max: n(max) }),
      checks: checks.map((c) => checkView(c, lang, links)),
    });
  }
  const passed = report.checks.filter((c) => c.status === 'pass').length;
  const started = new Date(report.startedAt);
  const seconds = new Intl.NumberFormat(LOCALES[lang], { maximumFractionDigits: 1 }).format(Math.max(0, report.durationMs) / 1000);
  return {
    lang,
    htmlLang: lang === 'pt' ? 'pt-BR' : 'en',
    title: reportWord(lang, `report.title.${report.target}`),
    css: links.css,
    scoreLabel: reportWord(lang, 'report.score'),
    scoreText: reportWord(lang, 'report.scoreOf', { score: n(report.score), max: n(report.maxScore) }),
    allPassed: passed === report.checks.length,
    countsText: reportWord(lang, 'report.counts', { passed: n(passed), failed: n(report.checks.length - passed), total: n(report.checks.length) }),
    facts: [
      { label: reportWord(lang, 'report.command'), value: escapeControls(report.command.join(' ')), code: true },
      {
        label: reportWord(lang, 'report.started'),
        value: Number.isNaN(started.getTime()) ? report.startedAt : new Intl.DateTimeFormat(LOCALES[lang], { dateStyle: 'long', timeStyle: 'short' }).format(started),
        code: false,
      },
      { label: reportWord(lang, 'report.duration'), value: reportWord(lang, 'report.seconds', { seconds }), code: false },
    ],
    linksNote: links.serveCommand === undefined ? null : reportWord(lang, 'report.linksNote', { command: links.serveCommand }),
    outputLabel: reportWord(lang, 'report.output'),
    groups,
  };
}

/** Renders report.html from its view (views/report.ejs). Throws only when the template is broken. */
export async function renderReportHtml(view: ReportView): Promise<string> {
  return ejs.renderFile(path.join(packageRoot(), 'views', 'report.ejs'), { view }, { cache: true, async: false });
}

/** Writes `text` to `file` through a temporary name in the same folder, so `file` is never half-written. */
export async function writeWhole(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(tmp, text, { flag: 'wx' });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Options of {@link writeReportDir}. */
export interface WriteReportOptions {
  /** Where the written report's links open the site (default {@link DEFAULT_SITE_URL}). */
  readonly siteUrl?: string;
}

/**
 * Writes a report folder: `dir/report.json` (the report, as `--format json` prints it),
 * `dir/report.html` (the report in `lang`, accessible, every failure linked to the step of its
 * capture under `dir/captures/<check-id>/` and to its lesson) and `dir/style.css` (the site's).
 * The captures are the checker's, already in `dir/captures`. The HTML's links open the site at
 * `siteUrl`: `wirestep serve --report dir` serves those captures (and the report itself at
 * `/report`, with links to the same site). Each file is written whole or not at all. Throws on
 * I/O errors.
 */
export async function writeReportDir(dir: string, report: CheckReport, lang: Lang, options: WriteReportOptions = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  const base = (options.siteUrl ?? DEFAULT_SITE_URL).replace(/\/+$/, '');
  const steps = await resolveSteps(dir, report);
  const html = await renderReportHtml(reportView(report, lang, { base, css: REPORT_FILES.css, steps, serveCommand: `wirestep serve --report ${dir}` }));
  await writeWhole(path.join(dir, REPORT_FILES.json), renderJson(report, lang));
  await copyStylesheet(dir);
  await writeWhole(path.join(dir, REPORT_FILES.html), html);
}

/** Copies the site's stylesheet to `dir/style.css`, whole or not at all, for reports opened as files. Throws on I/O errors. */
export async function copyStylesheet(dir: string): Promise<void> {
  const css = path.join(dir, REPORT_FILES.css);
  await copyFile(path.join(packageRoot(), 'views', 'static', 'style.css'), `${css}.tmp`);
  await rename(`${css}.tmp`, css);
}

/** Thrown by {@link readReportDir} for a report.json that is missing, too large or not a report. */
export class ReportError extends Error {
  override readonly name = 'ReportError';
}

function isCheck(c: unknown): c is CheckResult {
  const x = c as Record<string, unknown> | null;
  if (typeof x !== 'object' || x === null) return false;
  const place = x.place as Record<string, unknown> | undefined;
  const finding = x.finding as Record<string, unknown> | undefined;
  const cause = x.cause as Record<string, unknown> | undefined;
  return typeof x.id === 'string' && (CHECK_GROUPS as readonly unknown[]).includes(x.group) && ['pass', 'fail', 'error'].includes(x.status as string)
    && typeof x.points === 'number' && typeof x.maxPoints === 'number' && typeof x.durationMs === 'number'
    && [finding, cause].every((f) => f === undefined || (typeof f === 'object' && f !== null && typeof f.kind === 'string' && (f.values === undefined || (typeof f.values === 'object' && f.values !== null))))
    && (place === undefined || (typeof place === 'object' && place !== null && typeof place.capture === 'string'
      && (place.field === undefined || typeof place.field === 'string') && (place.offset === undefined || typeof place.offset === 'number')))
    && (x.lesson === undefined || typeof x.lesson === 'string') && (x.output === undefined || typeof x.output === 'string');
}

/**
 * Reads `dir/report.json` back (as {@link writeReportDir} or the checker wrote it), checking its
 * shape. Throws ReportError when it is missing, larger than 16 MiB, not JSON or not a report.
 */
export async function readReportDir(dir: string): Promise<CheckReport> {
  let text: string;
  try {
    const file = await open(path.join(dir, REPORT_FILES.json), 'r');
    try {
      const info = await file.stat();
      if (!info.isFile() || info.size > REPORT_JSON_MAX) throw new ReportError(`${REPORT_FILES.json} is not a regular file of at most 16 MiB`);
      text = await file.readFile('utf8');
    } finally {
      await file.close();
    }
  } catch (err) {
    if (err instanceof ReportError) throw err;
    throw new ReportError(`cannot read ${REPORT_FILES.json}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ReportError(`${REPORT_FILES.json} is not JSON`);
  }
  const r = data as Record<string, unknown> | null;
  const ok = typeof r === 'object' && r !== null && (r.target === 'server' || r.target === 'client') && Array.isArray(r.command) && r.command.every((a) => typeof a === 'string')
    && (LANGS as readonly unknown[]).includes(r.lang) && typeof r.startedAt === 'string' && typeof r.durationMs === 'number'
    && typeof r.score === 'number' && typeof r.maxScore === 'number' && Array.isArray(r.checks) && r.checks.every(isCheck);
  if (!ok) throw new ReportError(`${REPORT_FILES.json} is not a wirestep check report`);
  return data as CheckReport;
}

/**
 * The report of folder `dir` as the site serves it at `/report`: links within the site, the
 * site's stylesheet. Throws ReportError as {@link readReportDir}.
 */
export async function renderServedReport(dir: string, lang: Lang | null): Promise<string> {
  const report = await readReportDir(dir);
  const steps = await resolveSteps(dir, report);
  return renderReportHtml(reportView(report, lang ?? report.lang, { base: '', css: '/static/style.css', steps }));
}
