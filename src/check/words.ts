import { type Lang, formatMessage, parseFieldId } from '../protocol/index.js';
import type { CheckGroup, CheckResult, Finding } from './types.js';

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
    'finding.name-kept-padding': 'The server saved {name} followed by {spaces} spaces, the padding of its 128-byte name field: the padding must be removed before the name is used.',
    'finding.wrong-bytes': 'The server saved {name} with its {size} bytes, but they differ from what was sent from byte {offset} on.',
    'finding.kept-refused-file': 'The server saved {name} with {got} bytes under its final name (the client announced {size}); a correct server keeps no such file.',
    'finding.unexpected-file': 'The server saved a file named {name} ({got} bytes) that the client never sent under that name.',
    'finding.wrote-outside': 'The server wrote {path}, outside its working folder.',
    'finding.server-exited': 'The server ended ({how}) during this check; the grader started it again.',
    'finding.not-serving-next': 'After this check the server did not save the next client’s small transfer within {seconds} s; the grader started it again.',
    'finding.not-closing-next': 'After this check the server did not take the next client’s small transfer and close its connection within {seconds} s.',
    'finding.stall-blocks-next': 'While a client stayed silent, the next client was not served within {seconds} s.',
    'finding.stall-kept-open': 'The server kept a silent client’s connection open for {seconds} s without closing it.',
    'finding.second-not-served': 'While the first client was slow, the second client’s transfer was not saved within {seconds} s.',
    'finding.connection-not-closed': 'The server did not close the connection cleanly within {seconds} s of the end of the transfer.',
    'finding.no-connection': 'Nothing accepted the grader’s connection on port {port}.',
    'finding.not-listening': 'The server did not listen on port {port} within {seconds} s of starting; the grader tried to start it again.',
    'finding.server-down': 'The server was not running: it did not listen on port {port} within {seconds} s, even when started a second time.',
    'finding.server-short-read': 'The server’s own calls show where: it read {field} (byte {offset}) with one {call}({asked}) that returned {got} of the {asked} bytes, and never asked for the other {rest}; its reads stopped at byte {stopped}.',
    'field.count': 'the count',
    'field.name': 'file {file}’s name',
    'field.size': 'file {file}’s size',
    'field.payload': 'file {file}’s contents',
    'field.trailing': 'the bytes after the last file',
    // client checks
    'check.client.ten-files': 'Sends the ten reference files',
    'check.client.empty-file': 'Sends an empty file',
    'check.client.accented-name': 'Sends a file with an accented name',
    'check.client.long-name': 'Does not derail on a name over 128 bytes',
    'check.client.every-byte': 'Sends a 3 MiB binary file with every byte value',
    'check.client.own-files': 'Sends the files it wrote itself',
    'check.client.send-return': 'No partial send() left without the rest (as far as the trace saw)',
    'finding.client-no-connection': 'The client never connected to the receiver; it ended with code {code}.',
    'finding.client-killed-no-connection': 'The client never connected to the receiver; it was ended by the signal {signal}.',
    'finding.client-timeout-no-connection': 'The client never connected to the receiver and was still running after {seconds} s; the grader stopped it.',
    'finding.client-sent-nothing': 'The client connected but sent no byte; a count field of 4 bytes was expected first.',
    'finding.client-several-connections': 'The client opened {count} connections; one connection carrying every file was expected. Only the first was graded.',
    'finding.client-timeout': 'The bytes were right, but the client was still running after {seconds} s and was stopped: it should close the connection and end.',
    'finding.count-mismatch': 'The count field (bytes 0–3) should be {expected}, the files in the folder that fit the protocol; the client sent {sent}.',
    'finding.count-little-endian': 'The count field (bytes 0–3) should be {expected} in big-endian (struct \'!I\'); the client sent it in little-endian, which the server reads as {sent}.',
    'finding.name-unknown': 'File {file}’s name field (byte {offset}) names “{sent}”, which is no file of the folder.',
    'finding.name-repeated': 'File {file}’s name field (byte {offset}) names “{name}” again: each file is sent once.',
    'finding.name-not-padded': 'File {file}’s name field (byte {offset}) should be “{name}” ({bytes} bytes) followed by spaces up to 128 bytes; after the name the client sent byte {found} instead of a space (0x20), so the next fields were read from the wrong bytes.',
    'finding.name-over-128': 'The name “{name}” is {bytes} bytes, more than the 128 of its field; the client sent it whole at byte {offset}, so the server read the name’s bytes 128–135 as the size and the stream derailed. Such a file must be left out (and said so), not sent.',
    'finding.size-little-endian': 'File {file}’s size field (byte {offset}) should say {expected} in big-endian (struct \'!Q\'); the client sent it in little-endian, which the server reads as {sent}.',
    'finding.size-in-characters': 'File {file}’s size field (byte {offset}) should say {expected}, the bytes of “{name}”; the client sent {sent}, its count of characters: accented letters take 2 bytes in UTF-8.',
    'finding.size-mismatch': 'File {file}’s size field (byte {offset}) should say {expected}, the size of “{name}”; the client sent {sent}.',
    'finding.payload-differs': 'Byte {at} of “{name}” (stream byte {offset}) should be {expected}; the client sent {sent}.',
    'finding.file-missing': 'The stream ended cleanly, but “{name}” from the folder was never sent.',
    'finding.file-not-found': 'File {file} is named “{name}”, but no file of that name was found in the client’s working folder to compare its bytes with.',
    'finding.stream-truncated': 'The stream ended at byte {end}, inside {field} (it needed {needed} bytes, {available} came).',
    'finding.stream-fewer-files-than-count': 'The count announced {declared} files, but the stream ended after {received}.',
    'finding.stream-trailing-bytes': 'After the last file announced, {count} more bytes came (from byte {offset}); the server never reads them.',
    'finding.stream-name-invalid-utf8': 'File {file}’s name field (byte {offset}) is not valid UTF-8.',
    'finding.stream-name-unsafe': 'File {file}’s name field (byte {offset}) holds a name no server should write as a file.',
    'finding.stream-name-unpadded': 'File {file}’s name field (byte {offset}) does not end in a space: the name is not padded to 128 bytes.',
    'finding.stream-size-over-limit': 'File {file}’s size field (byte {offset}) says {size} bytes, more than the grader accepts.',
    'finding.stream-count-over-limit': 'The count field says {count} files, more than the grader accepts.',
    'finding.send-partial-ignored': '{program}’s send() at stream byte {offset} was given {asked} bytes and took only {moved}; the next send() was given {next} bytes instead of the {rest} left over, so those bytes were never sent. Loop until all is sent, or use sendall().',
    'finding.send-partial-ended': '{program}’s send() at stream byte {offset} was given {asked} bytes and took only {moved}; the client sent nothing more, so {rest} bytes were never sent. Loop until all is sent, or use sendall().',
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
    'finding.name-kept-padding': 'O servidor salvou {name} seguido de {spaces} espaços, o preenchimento do campo de nome de 128 bytes: esse preenchimento tem que ser tirado antes de usar o nome.',
    'finding.wrong-bytes': 'O servidor salvou {name} com os {size} bytes, mas a partir do byte {offset} eles não batem com o que foi enviado.',
    'finding.kept-refused-file': 'O servidor deixou {name}, com {got} bytes, sob o nome definitivo (o cliente anunciou {size}); um servidor correto não guarda esse arquivo.',
    'finding.unexpected-file': 'O servidor salvou um arquivo chamado {name} ({got} bytes), que o cliente nunca enviou com esse nome.',
    'finding.wrote-outside': 'O servidor gravou {path}, fora da pasta de trabalho dele.',
    'finding.server-exited': 'O servidor terminou ({how}) durante esta verificação; o corretor o iniciou de novo.',
    'finding.not-serving-next': 'Depois desta verificação, o servidor não salvou em {seconds} s a pequena transferência do cliente seguinte; o corretor o iniciou de novo.',
    'finding.not-closing-next': 'Depois desta verificação, o servidor não recebeu em {seconds} s a pequena transferência do cliente seguinte nem fechou a conexão dele.',
    'finding.stall-blocks-next': 'Enquanto um cliente ficava em silêncio, o cliente seguinte não foi atendido em {seconds} s.',
    'finding.stall-kept-open': 'O servidor deixou aberta por {seconds} s a conexão de um cliente em silêncio, sem fechá-la.',
    'finding.second-not-served': 'Enquanto o primeiro cliente estava lento, a transferência do segundo não foi salva em {seconds} s.',
    'finding.connection-not-closed': 'O servidor não fechou a conexão normalmente em {seconds} s depois do fim da transferência.',
    'finding.no-connection': 'Nada aceitou a conexão do corretor na porta {port}.',
    'finding.not-listening': 'O servidor não começou a escutar na porta {port} em {seconds} s; o corretor tentou iniciá-lo de novo.',
    'finding.server-down': 'O servidor não estava no ar: não começou a escutar na porta {port} em {seconds} s, nem na segunda tentativa de iniciá-lo.',
    'finding.server-short-read': 'As chamadas do próprio servidor mostram onde: ele leu {field} (byte {offset}) com um único {call}({asked}), que devolveu {got} dos {asked} bytes, e nunca pediu os {rest} que faltavam; as leituras pararam no byte {stopped}.',
    'field.count': 'a quantidade de arquivos',
    'field.name': 'o nome do arquivo {file}',
    'field.size': 'o tamanho do arquivo {file}',
    'field.payload': 'o conteúdo do arquivo {file}',
    'field.trailing': 'os bytes depois do último arquivo',
    // client checks
    'check.client.ten-files': 'Envia os dez arquivos de referência',
    'check.client.empty-file': 'Envia um arquivo vazio',
    'check.client.accented-name': 'Envia um arquivo com acento no nome',
    'check.client.long-name': 'Não descarrila com um nome de mais de 128 bytes',
    'check.client.every-byte': 'Envia um binário de 3 MiB com todos os valores de byte',
    'check.client.own-files': 'Envia os arquivos que ele mesmo criou',
    'check.client.send-return': 'Nenhum send() parcial ficou sem o resto (no que o trace viu)',
    'finding.client-no-connection': 'O cliente nem chegou a se conectar ao servidor; terminou com código {code}.',
    'finding.client-killed-no-connection': 'O cliente nem chegou a se conectar ao servidor; foi encerrado pelo sinal {signal}.',
    'finding.client-timeout-no-connection': 'O cliente não se conectou ao servidor e ainda rodava depois de {seconds} s; o corretor o interrompeu.',
    'finding.client-sent-nothing': 'O cliente se conectou, mas não mandou nenhum byte; o esperado era começar pelos 4 bytes da quantidade.',
    'finding.client-several-connections': 'O cliente abriu {count} conexões; o certo é uma só conexão levando todos os arquivos. Só a primeira foi corrigida.',
    'finding.client-timeout': 'Os bytes estavam certos, mas o cliente ainda rodava depois de {seconds} s e foi interrompido: ele deve fechar a conexão e terminar.',
    'finding.count-mismatch': 'O campo de quantidade (bytes 0 a 3) deveria ser {expected}, os arquivos da pasta que cabem no protocolo; o cliente mandou {sent}.',
    'finding.count-little-endian': 'O campo de quantidade (bytes 0 a 3) deveria ser {expected} em big-endian (struct \'!I\'); o cliente mandou em little-endian, que o servidor lê como {sent}.',
    'finding.name-unknown': 'O campo de nome do arquivo {file} (byte {offset}) traz “{sent}”, que não é nenhum arquivo da pasta.',
    'finding.name-repeated': 'O campo de nome do arquivo {file} (byte {offset}) repete “{name}”: cada arquivo vai uma vez só.',
    'finding.name-not-padded': 'O campo de nome do arquivo {file} (byte {offset}) deveria ser “{name}” ({bytes} bytes) completado com espaços até 128 bytes; depois do nome o cliente mandou o byte {found} em vez de um espaço (0x20), e os campos seguintes foram lidos dos bytes errados.',
    'finding.name-over-128': 'O nome “{name}” tem {bytes} bytes, mais que os 128 do campo; o cliente mandou o nome inteiro no byte {offset}, o servidor leu os bytes 128 a 135 do nome como tamanho e o fluxo descarrilou. Um arquivo assim tem de ficar de fora, com um aviso, em vez de ser enviado.',
    'finding.size-little-endian': 'O campo de tamanho do arquivo {file} (byte {offset}) deveria dizer {expected} em big-endian (struct \'!Q\'); o cliente mandou em little-endian, que o servidor lê como {sent}.',
    'finding.size-in-characters': 'O campo de tamanho do arquivo {file} (byte {offset}) deveria dizer {expected}, os bytes de “{name}”; o cliente mandou {sent}, que é a contagem de caracteres: letra acentuada ocupa 2 bytes em UTF-8.',
    'finding.size-mismatch': 'O campo de tamanho do arquivo {file} (byte {offset}) deveria dizer {expected}, o tamanho de “{name}”; o cliente mandou {sent}.',
    'finding.payload-differs': 'O byte {at} de “{name}” (byte {offset} do fluxo) deveria ser {expected}; o cliente mandou {sent}.',
    'finding.file-missing': 'O fluxo terminou normalmente, mas “{name}”, que está na pasta, não foi enviado.',
    'finding.file-not-found': 'O arquivo {file} se chama “{name}”, mas não há arquivo com esse nome na pasta de trabalho do cliente para comparar os bytes.',
    'finding.stream-truncated': 'O fluxo acabou no byte {end}, no meio de {field} (faltavam {needed} bytes, chegaram {available}).',
    'finding.stream-fewer-files-than-count': 'A quantidade anunciou {declared} arquivos, mas o fluxo acabou depois de {received}.',
    'finding.stream-trailing-bytes': 'Depois do último arquivo anunciado chegaram mais {count} bytes (a partir do byte {offset}); o servidor nunca lê esses bytes.',
    'finding.stream-name-invalid-utf8': 'O campo de nome do arquivo {file} (byte {offset}) não é UTF-8 válido.',
    'finding.stream-name-unsafe': 'O campo de nome do arquivo {file} (byte {offset}) traz um nome que nenhum servidor deveria gravar como arquivo.',
    'finding.stream-name-unpadded': 'O campo de nome do arquivo {file} (byte {offset}) não termina em espaço: o nome não foi completado até 128 bytes.',
    'finding.stream-size-over-limit': 'O campo de tamanho do arquivo {file} (byte {offset}) diz {size} bytes, mais do que o corretor aceita.',
    'finding.stream-count-over-limit': 'O campo de quantidade diz {count} arquivos, mais do que o corretor aceita.',
    'finding.send-partial-ignored': 'O send() do {program} no byte {offset} do fluxo recebeu {asked} bytes e só aceitou {moved}; o send() seguinte recebeu {next} bytes em vez dos {rest} que sobraram, e esses bytes nunca foram enviados. Repita o send() até ir tudo, ou use sendall().',
    'finding.send-partial-ended': 'O send() do {program} no byte {offset} do fluxo recebeu {asked} bytes e só aceitou {moved}; o cliente não mandou mais nada, e {rest} bytes nunca foram enviados. Repita o send() até ir tudo, ou use sendall().',
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

/** Findings whose `field` value is a field id to word as the field (“the count”), not to show as an id. */
const WORDED_FIELD = new Set(['server-short-read']);

/** A field id (`file[2].size`) as words in `lang` (“file 2’s size”); the id itself when it is none. */
function fieldWords(id: string, lang: Lang): string {
  const f = parseFieldId(id);
  const template = f ? word(lang, `field.${f.kind}`) : undefined;
  return template === undefined ? id : formatMessage(template, { file: f!.file ?? 0 });
}

/** One sentence saying why a check failed, in `lang`; the kind and its values when the table lacks it. */
export function describeFinding(finding: Finding, lang: Lang): string {
  const template = word(lang, `finding.${finding.kind}`);
  if (template === undefined) return `${finding.kind} ${JSON.stringify(finding.values ?? {})}`;
  const values = finding.values ?? {};
  const field = values.field;
  return formatMessage(template, WORDED_FIELD.has(finding.kind) && typeof field === 'string' ? { ...values, field: fieldWords(field, lang) } : values);
}

/** Why a check failed, in `lang`: its finding, then what the program’s own calls show (its cause) when known; empty with no finding. */
export function describeFailure(check: Pick<CheckResult, 'finding' | 'cause'>, lang: Lang): string {
  if (!check.finding) return '';
  const first = describeFinding(check.finding, lang);
  return check.cause ? `${first} ${describeFinding(check.cause, lang)}` : first;
}
