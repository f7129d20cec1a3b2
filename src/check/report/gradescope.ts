import type { Lang } from '../../protocol/index.js';
import { CHECK_GROUPS, type CheckReport } from '../types.js';
import { reportWord } from '../words.js';
import { checkName, checkOutput } from './words.js';

/** One test of Gradescope's `results.json`, as its autograder specification documents it. */
export interface GradescopeTest {
  readonly score: number;
  readonly max_score: number;
  readonly status: 'passed' | 'failed';
  readonly name: string;
  readonly number: string;
  readonly output: string;
  readonly output_format: 'text';
  readonly tags: readonly string[];
  readonly visibility: 'visible';
}

/** Gradescope's `results.json`: the whole submission's score and one test per check. */
export interface GradescopeResults {
  readonly score: number;
  /** Seconds, rounded up. */
  readonly execution_time: number;
  readonly output: string;
  readonly output_format: 'text';
  readonly visibility: 'visible';
  readonly stdout_visibility: 'hidden';
  readonly tests: readonly GradescopeTest[];
}

/**
 * The report as the `results.json` Gradescope's autograder uploads (its "Autograder
 * Specifications": `score`, `execution_time` in seconds, `output`, `tests[]` with `score`,
 * `max_score`, `status`, `name`, `number`, `output`, `tags`, `visibility`). Checks are numbered
 * `group.check` from 1 in the order reports list them; tags are the group and the check's id.
 */
export function toGradescope(report: CheckReport, lang: Lang): GradescopeResults {
  const tests: GradescopeTest[] = [];
  let failed = 0;
  CHECK_GROUPS.forEach((group, g) => {
    report.checks.filter((c) => c.group === group).forEach((c, i) => {
      const passed = c.status === 'pass';
      if (!passed) failed++;
      tests.push({
        score: passed ? c.points : 0,
        max_score: c.maxPoints,
        status: passed ? 'passed' : 'failed',
        name: checkName(c, lang),
        number: `${g + 1}.${i + 1}`,
        output: checkOutput(c, lang),
        output_format: 'text',
        tags: [c.group, c.id],
        visibility: 'visible',
      });
    });
  });
  return {
    score: report.score,
    execution_time: Math.ceil(Math.max(0, report.durationMs) / 1000),
    output: reportWord(lang, 'report.summary', { score: report.score, max: report.maxScore, failed, total: tests.length }),
    output_format: 'text',
    visibility: 'visible',
    stdout_visibility: 'hidden',
    tests,
  };
}

/** {@link toGradescope} as the JSON text of `results.json`. */
export function renderGradescope(report: CheckReport, lang: Lang): string {
  return `${JSON.stringify(toGradescope(report, lang), null, 2)}\n`;
}
