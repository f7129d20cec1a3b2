import { type Lang, formatMessage } from '../protocol/index.js';
import type { CheckGroup, Finding } from './types.js';

type Catalog = Readonly<Record<string, string>>;

/**
 * The grader's words, one table per language, as the protocol's are in `explain.ts`: group
 * titles (`group.<group>`), check titles (`check.<id>`, one line a student reads as the name of
 * the check) and findings (`finding.<kind>`, one sentence with `{placeholders}` saying what was
 * expected and what happened). Reports store ids and kinds; only this table words them.
 * Portuguese written for a Brazilian classroom.
 */
export const CHECK_WORDS: Readonly<Record<Lang, Catalog>> = {
  en: {
    'group.correct': 'Correct transfers',
    'group.stream': 'TCP is a stream',
    'group.bad-input': 'Bad input',
    'group.security': 'Security',
    'group.robustness': 'Robustness',
    'group.client': 'The client',
    'finding.grader-error': 'The grader could not run this check: {message}',
    // server checks
    // client checks
  },
  pt: {
    'group.correct': 'Transferências corretas',
    'group.stream': 'O TCP é um fluxo de bytes',
    'group.bad-input': 'Entrada inválida',
    'group.security': 'Segurança',
    'group.robustness': 'Robustez',
    'group.client': 'O cliente',
    'finding.grader-error': 'O corretor não conseguiu executar esta verificação: {message}',
    // server checks
    // client checks
  },
};

function word(lang: Lang, key: string): string | undefined {
  return CHECK_WORDS[lang][key] ?? CHECK_WORDS.en[key];
}

/** The title of a group of checks. */
export function groupTitle(group: CheckGroup, lang: Lang): string {
  return word(lang, `group.${group}`) ?? group;
}

/** The title of check `id` (`correct.ten-files`); the id itself when the table lacks it. */
export function checkTitle(id: string, lang: Lang): string {
  return word(lang, `check.${id}`) ?? id;
}

/** One sentence saying why a check failed, in `lang`; the kind and its values when the table lacks it. */
export function describeFinding(finding: Finding, lang: Lang): string {
  const template = word(lang, `finding.${finding.kind}`);
  if (template === undefined) return `${finding.kind} ${JSON.stringify(finding.values ?? {})}`;
  return formatMessage(template, finding.values ?? {});
}
