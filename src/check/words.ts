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
    'check.correct.ten-files': 'The reference client’s ten files',
    'check.correct.zero-files': 'A transfer of zero files',
    'check.correct.empty-file': 'An empty file',
    'check.correct.accented-name': 'An accented name (relatório_ação.txt)',
    'check.correct.name-of-128-bytes': 'A name of exactly 128 bytes, with no padding',
    'check.correct.inner-spaces': 'A name with spaces inside it',
    'check.correct.binary-3mib': 'A 3 MiB binary file of every byte value',
    'check.correct.two-transfers': 'Two transfers in a row, on new connections',
    'check.stream.one-byte-writes': 'The reference files sent one byte per write',
    'check.stream.seven-byte-writes': 'The reference files sent in 7-byte writes',
    'check.stream.pauses-in-fields': 'A 50 ms pause in the middle of every field',
    'check.stream.across-boundaries': 'Every write crosses a field boundary',
    'check.bad-input.cut-in-count': 'The stream ends inside the count',
    'check.bad-input.cut-in-name': 'The stream ends inside a name',
    'check.bad-input.cut-in-size': 'The stream ends inside a size',
    'check.bad-input.cut-in-payload': 'The stream ends inside a file’s contents',
    'check.bad-input.count-over-files': 'The count announces more files than come',
    'check.bad-input.trailing-bytes': 'Bytes after the last file',
    'check.bad-input.invalid-utf8': 'A name that is not valid UTF-8',
    'check.bad-input.nul-in-name': 'A name with a NUL byte',
    'check.bad-input.name-over-128': 'A name longer than 128 bytes (the derail)',
    'check.bad-input.lying-size': 'A size smaller than the contents sent',
    'check.bad-input.size-2-64': 'A size of 2^64−1 bytes',
    'check.security.relative-traversal': 'The name ../../escapou.txt',
    'check.security.absolute-name': 'An absolute path as the name',
    'check.security.html-name': 'A name that is HTML',
    'check.robustness.stall-serves-next': 'A client goes silent: is the next one served?',
    'check.robustness.stall-times-out': 'A client goes silent: does the server close it in time?',
    'check.robustness.two-clients': 'Two clients at once: is the second served while the first is slow?',
    'check.robustness.reset-mid-payload': 'A client resets the connection in the middle of a file',
    'finding.missing-file': 'The server did not save {name} ({size} bytes).',
    'finding.wrong-size': 'The server saved {name} with {got} of {size} bytes.',
    'finding.wrong-bytes': 'The server saved {name} with its {size} bytes, but they differ from what was sent from byte {offset} on.',
    'finding.kept-refused-file': 'The server saved {name} with {got} bytes under its final name (it announced {size}); a correct server keeps no such file.',
    'finding.unexpected-file': 'The server saved a file named {name} ({got} bytes) that the client never sent under that name.',
    'finding.wrote-outside': 'The server wrote {path}, outside its working folder.',
    'finding.server-exited': 'The server ended ({how}) during this check; the grader started it again.',
    'finding.not-serving-next': 'After this check the server did not save the next client’s small transfer within {seconds} s; the grader started it again.',
    'finding.stall-blocks-next': 'While a client stayed silent, the next client was not served within {seconds} s.',
    'finding.stall-kept-open': 'The server kept a silent client’s connection open for {seconds} s without closing it.',
    'finding.second-not-served': 'While the first client was slow, the second client’s transfer was not saved within {seconds} s.',
    'finding.connection-not-closed': 'The server did not close the connection cleanly within {seconds} s of the end of the transfer.',
    'finding.no-connection': 'Nothing accepted the grader’s connection on port {port}.',
    'finding.not-listening': 'The server did not listen on port {port} within {seconds} s of starting; the grader tried to start it again.',
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
    'check.correct.ten-files': 'Os dez arquivos do cliente de referência',
    'check.correct.zero-files': 'Uma transferência de zero arquivos',
    'check.correct.empty-file': 'Um arquivo vazio',
    'check.correct.accented-name': 'Um nome com acentos (relatório_ação.txt)',
    'check.correct.name-of-128-bytes': 'Um nome de exatamente 128 bytes, sem preenchimento',
    'check.correct.inner-spaces': 'Um nome com espaços no meio',
    'check.correct.binary-3mib': 'Um binário de 3 MiB com todos os valores de byte',
    'check.correct.two-transfers': 'Duas transferências seguidas, em conexões novas',
    'check.stream.one-byte-writes': 'Os arquivos de referência enviados um byte por vez',
    'check.stream.seven-byte-writes': 'Os arquivos de referência enviados de 7 em 7 bytes',
    'check.stream.pauses-in-fields': 'Uma pausa de 50 ms no meio de cada campo',
    'check.stream.across-boundaries': 'Cada escrita atravessa a fronteira entre dois campos',
    'check.bad-input.cut-in-count': 'O fluxo acaba no meio da quantidade',
    'check.bad-input.cut-in-name': 'O fluxo acaba no meio de um nome',
    'check.bad-input.cut-in-size': 'O fluxo acaba no meio de um tamanho',
    'check.bad-input.cut-in-payload': 'O fluxo acaba no meio do conteúdo de um arquivo',
    'check.bad-input.count-over-files': 'A quantidade promete mais arquivos do que chegam',
    'check.bad-input.trailing-bytes': 'Bytes sobrando depois do último arquivo',
    'check.bad-input.invalid-utf8': 'Um nome que não é UTF-8 válido',
    'check.bad-input.nul-in-name': 'Um nome com um byte NUL',
    'check.bad-input.name-over-128': 'Um nome com mais de 128 bytes (o descarrilamento)',
    'check.bad-input.lying-size': 'Um tamanho menor que o conteúdo enviado',
    'check.bad-input.size-2-64': 'Um tamanho de 2^64−1 bytes',
    'check.security.relative-traversal': 'O nome ../../escapou.txt',
    'check.security.absolute-name': 'Um caminho absoluto como nome',
    'check.security.html-name': 'Um nome que é HTML',
    'check.robustness.stall-serves-next': 'Um cliente fica em silêncio: o próximo é atendido?',
    'check.robustness.stall-times-out': 'Um cliente fica em silêncio: o servidor fecha a conexão a tempo?',
    'check.robustness.two-clients': 'Dois clientes ao mesmo tempo: o segundo é atendido enquanto o primeiro está lento?',
    'check.robustness.reset-mid-payload': 'Um cliente derruba a conexão (reset) no meio de um arquivo',
    'finding.missing-file': 'O servidor não salvou {name} ({size} bytes).',
    'finding.wrong-size': 'O servidor salvou {name} com {got} dos {size} bytes.',
    'finding.wrong-bytes': 'O servidor salvou {name} com os {size} bytes, mas a partir do byte {offset} eles não batem com o que foi enviado.',
    'finding.kept-refused-file': 'O servidor deixou {name} com {got} bytes com o nome definitivo (o cliente anunciou {size}); um servidor correto não guarda esse arquivo.',
    'finding.unexpected-file': 'O servidor salvou um arquivo chamado {name} ({got} bytes), que o cliente nunca enviou com esse nome.',
    'finding.wrote-outside': 'O servidor gravou {path}, fora da pasta de trabalho dele.',
    'finding.server-exited': 'O servidor terminou ({how}) durante esta verificação; o corretor o iniciou de novo.',
    'finding.not-serving-next': 'Depois desta verificação, o servidor não salvou em {seconds} s a pequena transferência do cliente seguinte; o corretor o iniciou de novo.',
    'finding.stall-blocks-next': 'Enquanto um cliente ficava em silêncio, o cliente seguinte não foi atendido em {seconds} s.',
    'finding.stall-kept-open': 'O servidor deixou aberta por {seconds} s a conexão de um cliente em silêncio, sem fechá-la.',
    'finding.second-not-served': 'Enquanto o primeiro cliente estava lento, a transferência do segundo não foi salva em {seconds} s.',
    'finding.connection-not-closed': 'O servidor não fechou a conexão normalmente em {seconds} s depois do fim da transferência.',
    'finding.no-connection': 'Nada aceitou a conexão do corretor na porta {port}.',
    'finding.not-listening': 'O servidor não começou a escutar na porta {port} em {seconds} s; o corretor tentou iniciá-lo de novo.',
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
