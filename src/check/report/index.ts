import { type Lang, escapeControls } from '../../protocol/index.js';
import { CHECK_GROUPS, type CheckReport, type ReportFormat } from '../types.js';
import { checkTitle, describeFailure, groupTitle } from '../words.js';
import { renderGradescope } from './gradescope.js';
import { renderJunit } from './junit.js';

export { REPORT_FORMATS, type ReportFormat } from '../types.js';

/** The terminal summary: score, then each check with ✓ or ✗ by group, and one line why for each failure. */
export function renderText(report: CheckReport, lang: Lang): string {
  const lines = [`${report.target}: ${report.score}/${report.maxScore}`];
  for (const group of CHECK_GROUPS) {
    const checks = report.checks.filter((c) => c.group === group);
    if (checks.length === 0) continue;
    lines.push('', groupTitle(group, lang));
    for (const c of checks) {
      lines.push(`  ${c.status === 'pass' ? '✓' : '✗'} ${checkTitle(c.id, lang)} (${c.status === 'pass' ? c.points : 0}/${c.maxPoints})`);
      if (c.finding) lines.push(`      ${escapeControls(describeFailure(c, lang))}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The report as JSON: ids and kinds as stored, plus each check's title and finding worded in `lang`. */
export function renderJson(report: CheckReport, lang: Lang): string {
  const checks = report.checks.map((c) => ({
    ...c,
    title: checkTitle(c.id, lang),
    ...(c.finding ? { message: describeFailure(c, lang) } : {}),
  }));
  return `${JSON.stringify({ ...report, checks }, null, 2)}\n`;
}

/**
 * The report in `format`: the terminal summary, JSON, Gradescope's `results.json`
 * ({@link renderGradescope}) or JUnit XML ({@link renderJunit}).
 */
export function renderReport(report: CheckReport, format: ReportFormat, lang: Lang): string {
  switch (format) {
    case 'json':
      return renderJson(report, lang);
    case 'gradescope':
      return renderGradescope(report, lang);
    case 'junit':
      return renderJunit(report, lang);
    default:
      return renderText(report, lang);
  }
}

export { renderGradescope, toGradescope } from './gradescope.js';
export { escapeXml, renderJunit } from './junit.js';
export { DEFAULT_SITE_URL, REPORT_FILES, ReportError, readReportDir, renderServedReport, reportCaptureRoots, writeReportDir } from './html.js';
