import type { Lang } from '../../protocol/index.js';
import { CHECK_GROUPS, type CheckReport, type CheckResult } from '../types.js';
import { describeFailure, groupTitle, reportWord } from '../words.js';
import { checkOutput } from './words.js';

/**
 * Text made safe for XML 1.0: the characters XML cannot hold at all (C0 controls but tab, line
 * feed and carriage return; lone surrogates; U+FFFE, U+FFFF) become visible `\xNN` or `\uNNNN`,
 * then `&`, `<`, `>` and `"` become entities. In an attribute, tab and line breaks become
 * character references too, so a parser does not fold them into spaces.
 */
export function escapeXml(text: string, attribute = false): string {
  const safe = text
    // eslint-disable-next-line no-control-regex -- these are exactly the characters XML 1.0 forbids
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|[\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
  return attribute ? safe.replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;') : safe.replace(/\r/g, '&#13;');
}

/** Seconds with three decimals, as JUnit's `time` attributes hold them. */
function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

function attrs(values: Readonly<Record<string, string | number>>): string {
  return Object.entries(values).map(([k, v]) => ` ${k}="${escapeXml(String(v), true)}"`).join('');
}

function testcase(c: CheckResult, lang: Lang): string {
  const head = `    <testcase${attrs({ name: c.id, classname: c.group, time: seconds(c.durationMs) })}`;
  if (c.status === 'pass') return `${head}/>`;
  const tag = c.status === 'error' ? 'error' : 'failure';
  const message = c.finding ? describeFailure(c, lang) : reportWord(lang, `report.status.${c.status}`);
  const kind = c.finding?.kind ?? c.status;
  return `${head}>\n      <${tag}${attrs({ message, type: kind })}>${escapeXml(checkOutput(c, lang))}</${tag}>\n    </testcase>`;
}

/**
 * The report as JUnit XML, as CI servers read it (the common `junit-10.xsd` shape):
 * `<testsuites>` with `tests`, `failures`, `errors`, `skipped` and `time` (seconds), one
 * `<testsuite>` per group (its `id` the group, its name the group's title in `lang`), one
 * `<testcase>` per check named by its id with `classname` its group, and a `<failure>` (a check
 * that failed) or `<error>` (one the grader could not run) whose `message` is the finding in
 * `lang` and whose `type` is the finding's kind. Every text is escaped ({@link escapeXml}).
 */
export function renderJunit(report: CheckReport, lang: Lang): string {
  const counts = (checks: readonly CheckResult[]) => ({
    tests: checks.length,
    failures: checks.filter((c) => c.status === 'fail').length,
    errors: checks.filter((c) => c.status === 'error').length,
    skipped: 0,
    time: seconds(checks.reduce((t, c) => t + c.durationMs, 0)),
  });
  // JUnit's timestamp is a date and time without a zone.
  const timestamp = report.startedAt.slice(0, 19);
  const suites = CHECK_GROUPS.flatMap((group) => {
    const checks = report.checks.filter((c) => c.group === group);
    if (checks.length === 0) return [];
    return [`  <testsuite${attrs({ name: groupTitle(group, lang), id: group, ...counts(checks), timestamp })}>\n${checks.map((c) => testcase(c, lang)).join('\n')}\n  </testsuite>`];
  });
  const name = reportWord(lang, 'report.suite', { target: report.target });
  const all = { ...counts(report.checks), time: seconds(report.durationMs) };
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${attrs({ name, ...all })}>\n${suites.join('\n')}${suites.length > 0 ? '\n' : ''}</testsuites>\n`;
}
