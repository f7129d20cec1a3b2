import type { Lang } from '../protocol/index.js';

/** The groups a teacher thinks in; every check belongs to one. */
export type CheckGroup = 'correct' | 'stream' | 'bad-input' | 'security' | 'robustness' | 'client';

/** Every group, in the order reports list them. */
export const CHECK_GROUPS: readonly CheckGroup[] = ['correct', 'stream', 'bad-input', 'security', 'robustness', 'client'];

/** What is graded: a student's server (the grader sends) or client (the grader receives). */
export type CheckTarget = 'server' | 'client';

/**
 * Why a check failed, as data: a kind and its numbers and names, never a sentence. Reports word
 * it in their language from the table in `words.ts` (`check.finding.<kind>`), as pages word a
 * capture's reasons.
 */
export interface Finding {
  readonly kind: string;
  readonly values?: Readonly<Record<string, string | number>>;
}

/** Where in a recorded stream a check went wrong: the capture, and the step or field to open. */
export interface FindingPlace {
  /** The capture's folder, relative to the report's folder (`captures/<id>`). */
  readonly capture: string;
  /** The field id where it went wrong (`file[1].payload`; files are numbered from 1), when one field is to blame. */
  readonly field?: string;
  /** Stream offset in bytes where it went wrong. */
  readonly offset?: number;
}

/** The result of one named check. */
export interface CheckResult {
  /** Stable id, `<group>.<name>` (`correct.ten-files`, `stream.one-byte-writes`): used in reports, tests and words. */
  readonly id: string;
  readonly group: CheckGroup;
  /** `error`: the grader itself could not run the check (counts as failed, and says so). */
  readonly status: 'pass' | 'fail' | 'error';
  readonly points: number;
  readonly maxPoints: number;
  /** Why it failed; absent when it passed. */
  readonly finding?: Finding;
  /**
   * What the program's own calls show at the place it went wrong, from its trace (a Python
   * server's `recv()` that returned part of a field, `server-short-read`); only with a finding.
   */
  readonly cause?: Finding;
  /** Where to look: the capture of what was sent or received in this check. */
  readonly place?: FindingPlace;
  /** The lesson that teaches what the check checks (a lesson slug such as `exact-reads`). */
  readonly lesson?: string;
  /** What the program printed during the check, capped (see program.ts). */
  readonly output?: string;
  readonly durationMs: number;
}

/** One graded hand-in. */
export interface CheckReport {
  readonly target: CheckTarget;
  /** The command as given (with `{port}`/`{folder}` still in it). */
  readonly command: readonly string[];
  readonly lang: Lang;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly durationMs: number;
  readonly score: number;
  readonly maxScore: number;
  readonly checks: readonly CheckResult[];
}

/** The score and the most a list of checks can give. */
export function scoreOf(checks: readonly CheckResult[]): { score: number; maxScore: number } {
  let score = 0;
  let maxScore = 0;
  for (const c of checks) {
    score += c.status === 'pass' ? c.points : 0;
    maxScore += c.maxPoints;
  }
  return { score, maxScore };
}

/** The formats a report is printed in: the terminal summary, data, Gradescope's results.json, JUnit XML. */
export type ReportFormat = 'text' | 'json' | 'gradescope' | 'junit';

/** Every format, default first. */
export const REPORT_FORMATS: readonly ReportFormat[] = ['text', 'json', 'gradescope', 'junit'];
