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
    // reports
    'report.title.server': 'Grading report: the server',
    'report.title.client': 'Grading report: the client',
    'report.score': 'Score',
    'report.scoreOf': '{score} of {max} points',
    'report.counts': '{passed} of {total} checks passed, {failed} failed.',
    'report.command': 'Command graded',
    'report.started': 'Graded on',
    'report.duration': 'Grading took',
    'report.seconds': '{seconds} s',
    'report.status.pass': 'passed',
    'report.status.fail': 'failed',
    'report.status.error': 'could not be run',
    'report.openStep': 'Open step {step} of the capture, where it went wrong',
    'report.openCapture': 'Open the capture of this check',
    'report.lesson': 'Lesson: {title}',
    'report.output': 'What the program printed',
    'report.linksNote': 'The links to the captures open wirestep’s site: run {command} and keep it running while you read.',
    'report.summary': '{score} of {max} points: {failed} of {total} checks failed.',
    'report.place': 'Where: capture {capture}.',
    'report.place.field': 'Where: capture {capture}, field {field}.',
    'report.place.offset': 'Where: capture {capture}, byte {offset} of the stream.',
    'report.place.both': 'Where: capture {capture}, field {field}, byte {offset} of the stream.',
    'report.suite': 'wirestep check {target}',
    'class.title.server': 'Class grading: the servers',
    'class.title.client': 'Class grading: the clients',
    'class.pattern': 'Hand-ins matching',
    'class.count': '{n} hand-ins, graded one at a time, at most {seconds} s each.',
    'class.none': 'No hand-in matched {pattern}.',
    'class.student': 'Student folder',
    'class.score': 'Score',
    'class.status': 'Result',
    'class.failed': 'Failed checks',
    'class.report': 'Report',
    'class.open': 'open',
    'class.noFailure': 'none',
    'class.status.graded': 'graded',
    'class.status.timed-out': 'stopped at the time limit ({seconds} s)',
    'class.status.error': 'the grader failed: {message}',
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
    // reports
    'report.title.server': 'Relatório de correção: o servidor',
    'report.title.client': 'Relatório de correção: o cliente',
    'report.score': 'Nota',
    'report.scoreOf': '{score} de {max} pontos',
    'report.counts': '{passed} de {total} verificações passaram e {failed} falharam.',
    'report.command': 'Comando corrigido',
    'report.started': 'Corrigido em',
    'report.duration': 'A correção levou',
    'report.seconds': '{seconds} s',
    'report.status.pass': 'passou',
    'report.status.fail': 'falhou',
    'report.status.error': 'não pôde ser executada',
    'report.openStep': 'Abrir o passo {step} da captura, onde deu errado',
    'report.openCapture': 'Abrir a captura desta verificação',
    'report.lesson': 'Aula: {title}',
    'report.output': 'O que o programa imprimiu',
    'report.linksNote': 'Os links das capturas abrem o site do wirestep: rode {command} e deixe rodando enquanto lê o relatório.',
    'report.summary': '{score} de {max} pontos: {failed} de {total} verificações falharam.',
    'report.place': 'Onde olhar: captura {capture}.',
    'report.place.field': 'Onde olhar: captura {capture}, campo {field}.',
    'report.place.offset': 'Onde olhar: captura {capture}, byte {offset} do fluxo.',
    'report.place.both': 'Onde olhar: captura {capture}, campo {field}, byte {offset} do fluxo.',
    'report.suite': 'wirestep check {target}',
    'class.title.server': 'Correção da turma: os servidores',
    'class.title.client': 'Correção da turma: os clientes',
    'class.pattern': 'Entregas que casam com',
    'class.count': '{n} entregas, corrigidas uma de cada vez, com no máximo {seconds} s para cada uma.',
    'class.none': 'Nenhuma entrega casou com {pattern}.',
    'class.student': 'Pasta do aluno',
    'class.score': 'Nota',
    'class.status': 'Resultado',
    'class.failed': 'Verificações que falharam',
    'class.report': 'Relatório',
    'class.open': 'abrir',
    'class.noFailure': 'nenhuma',
    'class.status.graded': 'corrigida',
    'class.status.timed-out': 'interrompida no limite de tempo ({seconds} s)',
    'class.status.error': 'o corretor falhou: {message}',
    // server checks
    // client checks
  },
};

function word(lang: Lang, key: string): string | undefined {
  return CHECK_WORDS[lang][key] ?? CHECK_WORDS.en[key];
}

/** A report's own words (`report.*`, `class.*`) in `lang`, placeholders filled; the key itself when the table lacks it. */
export function reportWord(lang: Lang, key: string, values: Readonly<Record<string, string | number>> = {}): string {
  const template = word(lang, key);
  return template === undefined ? key : formatMessage(template, values);
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
