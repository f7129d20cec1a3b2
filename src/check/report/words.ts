import type { Lang } from '../../protocol/index.js';
import type { CheckResult, FindingPlace } from '../types.js';
import { checkTitle, describeFailure, groupTitle, reportWord } from '../words.js';

/** Where a check went wrong, in one sentence: its capture, and the field and byte when known. */
export function describePlace(place: FindingPlace, lang: Lang): string {
  const values = { capture: place.capture, field: place.field ?? '', offset: place.offset ?? 0 };
  const key = place.field !== undefined && place.offset !== undefined
    ? 'report.place.both'
    : place.field !== undefined
      ? 'report.place.field'
      : place.offset !== undefined
        ? 'report.place.offset'
        : 'report.place';
  return reportWord(lang, key, values);
}

/** What other graders show under a check: why it failed, where to look, and what the program printed. */
export function checkOutput(check: CheckResult, lang: Lang): string {
  const lines: string[] = [];
  if (check.finding) lines.push(describeFailure(check, lang));
  if (check.status !== 'pass' && check.place) lines.push(describePlace(check.place, lang));
  if (check.status !== 'pass' && check.output) lines.push('', `${reportWord(lang, 'report.output')}:`, check.output);
  return lines.join('\n');
}

/** A check's name as a person reads it: its group and its title. */
export function checkName(check: CheckResult, lang: Lang): string {
  return `${groupTitle(check.group, lang)} › ${checkTitle(check.id, lang)}`;
}
