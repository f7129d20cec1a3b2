import type { Field, Problem, ProblemKind } from './dissector.js';
import { parseFieldId } from './format.js';
import type { UnsafeReason } from './names.js';
import type { Reason } from './reasons.js';

/** Languages of the learner-facing text: English and Brazilian Portuguese. */
export type Lang = 'en' | 'pt';
/** Every language, default first. */
export const LANGS: readonly Lang[] = ['en', 'pt'];

type Catalog = Readonly<Record<string, string>>;

/**
 * The protocol's words, as data, one catalog per language (Wireshark's `hf[]` and `ei[]` text):
 * field titles (`title.<kind>`), problem titles (`problemTitle.<kind>`), one learner sentence per
 * field or problem with `{placeholders}`, what went wrong on the wire (`wireProblem.<kind>`) and
 * with a capture's payload files (`payloadProblem.<kind>`).
 * The site's catalogs hold only the site's own words and read these through {@link protocolText}.
 * The Portuguese is written for a Brazilian classroom, not word for word from the English.
 */
export const EXPLANATIONS: Readonly<Record<Lang, Catalog>> = {
  en: {
    'title.count': 'File count',
    'title.name': 'Name of file {file}',
    'title.size': 'Size of file {file}',
    'title.payload': 'Contents of file {file}',
    'title.trailing': 'Bytes after the last file',
    'problemTitle.truncated': 'Stream cut short',
    'problemTitle.fewer-files-than-count': 'Fewer files than the count',
    'problemTitle.name-invalid-utf8': 'Name is not UTF-8',
    'problemTitle.name-unsafe': 'Unsafe name',
    'problemTitle.name-unpadded': 'Name fills its whole field',
    'problemTitle.count-over-limit': 'Count over the limit',
    'problemTitle.size-over-limit': 'Size over the limit',
    'problemTitle.trailing-bytes': 'Bytes after the last file',
    'wireProblem.gap': 'The capture lacks {missing} bytes of the stream from offset {offset}: the network carried them, but the capture did not keep them. The stream here stops at offset {offset}; the {held} bytes captured after the hole are not shown, because nothing says where they would go without the bytes before them.',
    'wireProblem.mid-stream': 'The capture began after the connection opened (its first segment is frame {frame}): without the SYN, byte 0 here is the first byte captured, which may not be the first byte sent.',
    'wireProblem.conflict': 'Frame {frame} carried {length} bytes from offset {offset} again, but different ones. The first copy is kept.',
    'wireProblem.cut': 'Frame {frame} was captured short: {length} of its bytes from offset {offset} are not in the file (the snapshot length was too small).',
    'wireProblem.held-limit': 'Too many bytes arrived ahead of a missing one (from frame {frame}, offset {offset}); later ones were not kept.',
    'wireProblem.server-data': 'The server sent {bytes} bytes back. This protocol never does; they are not shown.',
    'payloadProblem.payload-changed': 'The {length} bytes of the stream from offset {offset} are a received file the capture links to, and that file changed after it was recorded (edited in place or replaced). Those bytes are not shown: they are no longer the ones that came.',
    'payloadProblem.payload-missing': 'The {length} bytes of the stream from offset {offset} should be in a payload file of the capture, which is missing or shorter. Those bytes are not shown.',
    'count.zero': '{hex} is 0: no file follows. 4 bytes read big-endian (most significant byte first), as Python’s struct \'!I\' reads them.',
    'count.one': '{hex} is 1 file: 4 bytes read big-endian (most significant byte first), as Python’s struct \'!I\' reads them.',
    'count.other': '{hex} is {count} files: 4 bytes read big-endian (most significant byte first), as Python’s struct \'!I\' reads them.',
    'name.ascii': 'The name “{name}”, {bytes} bytes, followed by {padding} spaces (0x20) that pad the field to 128 bytes.',
    'name.ascii.one': 'The name “{name}”, 1 byte, followed by {padding} spaces (0x20) that pad the field to 128 bytes.',
    'name.utf8': 'The name “{name}”, {characters} characters in {bytes} bytes of UTF-8, followed by {padding} spaces (0x20) that pad the field to 128 bytes.',
    'name.unpadded': 'The name “{name}” fills all 128 bytes with no space after it: either it is exactly 128 bytes long, or a longer name was cut here and its rest spilled into the next field.',
    'name.invalid': 'These {bytes} bytes are not valid UTF-8, so they are no name at all (shown with � where a byte is wrong), followed by {padding} spaces (0x20).',
    'size': 'A size of {size} bytes, read big-endian as struct \'!Q\' reads it: the next {size} bytes are the contents of file {file}.',
    'size.zero': 'A size of 0, read big-endian as struct \'!Q\' reads it: file {file} is empty, so the next field starts right after this one.',
    'size.one': 'A size of 1 byte, read big-endian as struct \'!Q\' reads it: the next byte is the contents of file {file}.',
    'payload': 'The {length} bytes of “{name}”, exactly as many as its size field announced.',
    'payload.text': 'The {length} bytes of “{name}”, exactly as many as its size field announced: {characters} characters of UTF-8 text, {multiByte} of them longer than one byte.',
    'payload.one': 'The 1 byte of “{name}”, exactly as many as its size field announced.',
    'payload.text.one': 'The 1 byte of “{name}”, exactly as many as its size field announced: 1 character of UTF-8 text.',
    'payload.empty': 'File {file} is empty: its size is 0, so no bytes follow and the next field starts right away.',
    'truncated': 'The stream ended inside this field: {length} of its {expected} bytes came.',
    'truncated.one': 'The stream ended before the only byte of this field came.',
    'trailing': '{length} bytes after the last file: the count announced {count} files, all of them are complete, so the receiver expects nothing more.',
    'trailing.one': '{length} bytes after the last file: the count announced 1 file, it is complete, so the receiver expects nothing more.',
    'trailing.oneByte': '1 byte after the last file: the count announced {count} files, all of them are complete, so the receiver expects nothing more.',
    'trailing.one.oneByte': '1 byte after the last file: the count announced 1 file, it is complete, so the receiver expects nothing more.',
    'problem.truncated': 'At offset {end} the stream ended inside “{title}”: it needed {needed} bytes and {available} came.',
    'problem.truncated.one': 'At offset {end} the stream ended inside “{title}”: it needed 1 byte and none came.',
    'problem.fewer-files-than-count': 'The count announced {declared} files but only {received} arrived whole before the stream ended at offset {offset}.',
    'problem.fewer-files-than-count.receivedOne': 'The count announced {declared} files but only 1 arrived whole before the stream ended at offset {offset}.',
    'problem.fewer-files-than-count.one': 'The count announced 1 file but the stream ended at offset {offset} before it was complete.',
    'problem.name-invalid-utf8': 'The name of file {file}, at offset {offset}, is not valid UTF-8: the reference server’s decode() raises an error here and the transfer stops.',
    'problem.name-unsafe': 'The name “{name}” is refused ({reasons}): written as given it could land outside the receiver’s folder or break it.',
    'problem.name-unpadded': 'The name of file {file} has no padding: if the real name was longer than 128 bytes, its next bytes were read as the size, and from offset {end} on the receiver reads every field in the wrong place.',
    'problem.size-over-limit': 'At offset {offset} the size of file {file} says {size} bytes, above the receiver’s limit of {limit} bytes.',
    'problem.count-over-limit': 'The count announces {count} files, above the receiver’s limit of {limit} files.',
    'problem.trailing-bytes': '{count} bytes came after the last file the count announced, from offset {offset}.',
    'problem.trailing-bytes.one': '1 byte came after the last file the count announced, at offset {offset}.',
    'reason.empty': 'it is empty',
    'reason.nul': 'it holds a NUL byte',
    'reason.control': 'it holds control characters',
    'reason.separator': 'it holds a path separator',
    'reason.absolute': 'it is an absolute path',
    'reason.dot-dot': 'it climbs up with ..',
    'reason.dot': 'it names the folder itself',
    'reason.drive': 'it starts with a drive letter',
    'reason.reserved': 'it is a device name reserved on Windows',
    'reason.bidi': 'it holds text-direction controls that make it display as another name',
    'cause.idle-timeout': 'No bytes came for {seconds} s, so the receiver closed the connection.',
    'cause.shutdown': 'The receiver was shut down during the transfer and closed the connection.',
    'cause.count-over-limit': 'The count announces {count} files, above the receiver’s limit of {limit} files (--max-files), so the receiver closed the connection.',
    'cause.size-over-limit': 'File {file} declares {size} bytes, above the receiver’s limit of {limit} bytes (--max-file-size), so the receiver closed the connection.',
    'cause.total-over-limit': 'The files announced so far add up to {total} bytes, above the receiver’s limit of {limit} bytes for one connection (--max-total-bytes), so the receiver closed the connection.',
    'cause.name-unsafe': 'Refused because {reasons}: a receiver must not save a file under such a name.',
    'cause.name-invalid-utf8': 'Refused because the name is not valid UTF-8: the protocol’s names are UTF-8 text, and the reference server’s decode() fails on these bytes.',
    'cause.socket-error': 'A socket error ended the connection ({code}).',
    'cause.write-failed': 'It could not be written to the disk ({code}).',
    'cause.short-write': 'Only {written} of its {size} bytes reached the disk.',
    'cause.no-free-name': 'It has no free name to be saved under.',
    'cause.stream-ended': 'The stream ended at byte {offset}, before the whole file came.',
    'cause.receiver-closed': 'The receiver closed the connection at byte {offset}, before the whole file came.',
    'cause.peer-closed': 'The receiver closed the connection before everything was sent.',
    'cause.stopped-after': 'The sender stopped on purpose after {bytes} bytes (--stop-after).',
    'cause.recorder-gone': 'Its recorder (process {pid}) ended without finishing it: it was killed, or the machine stopped.',
    'cause.rate-too-low': 'Only {bytes} bytes came in {seconds} s, under the receiver’s minimum average of {minRate} bytes per second (--min-rate), so the receiver closed the connection.',
    'cause.header-timeout': 'The header of a file (its count, name and size fields) must come whole within {seconds} s (--header-timeout), but the stream was still in “{title}”, so the receiver closed the connection.',
    'cause.displaced': 'The receiver was full (--max-connections) and a new sender was waiting: this connection, open for {seconds} s with {bytes} bytes received, was the slowest of those open longer than {grace} s (--displace-after), so the receiver closed it to make room.',
    'cause.name-temporary': 'Refused because the name has the form of the receiver’s own temporary files (.wirestep-….part): it could take the place of another transfer’s file.',
  },
  pt: {
    'title.count': 'Quantidade de arquivos',
    'title.name': 'Nome do arquivo {file}',
    'title.size': 'Tamanho do arquivo {file}',
    'title.payload': 'Conteúdo do arquivo {file}',
    'title.trailing': 'Bytes depois do último arquivo',
    'problemTitle.truncated': 'Fluxo cortado',
    'problemTitle.fewer-files-than-count': 'Menos arquivos que a quantidade',
    'problemTitle.name-invalid-utf8': 'Nome que não é UTF-8',
    'problemTitle.name-unsafe': 'Nome perigoso',
    'problemTitle.name-unpadded': 'Nome ocupa o campo inteiro',
    'problemTitle.count-over-limit': 'Quantidade acima do limite',
    'problemTitle.size-over-limit': 'Tamanho acima do limite',
    'problemTitle.trailing-bytes': 'Bytes depois do último arquivo',
    'wireProblem.gap': 'Faltam na captura {missing} bytes do fluxo a partir do offset {offset}: a rede levou esses bytes, mas a captura não os guardou. Aqui o fluxo para no offset {offset}; os {held} bytes capturados depois do buraco não aparecem, porque sem os bytes anteriores não dá para saber onde eles se encaixam.',
    'wireProblem.mid-stream': 'A captura começou com a conexão já aberta (o primeiro segmento é o quadro {frame}): sem o SYN, o byte 0 aqui é o primeiro byte capturado, que pode não ser o primeiro byte enviado.',
    'wireProblem.conflict': 'O quadro {frame} trouxe de novo {length} bytes a partir do offset {offset}, mas com conteúdo diferente. Ficou valendo a primeira cópia.',
    'wireProblem.cut': 'O quadro {frame} foi capturado incompleto: {length} bytes dele, a partir do offset {offset}, não estão no arquivo (o tamanho de captura, o snaplen, era pequeno demais).',
    'wireProblem.held-limit': 'Chegaram bytes demais depois de um byte que faltava (a partir do quadro {frame}, offset {offset}); os seguintes não foram guardados.',
    'wireProblem.server-data': 'O servidor mandou {bytes} bytes de volta. Este protocolo nunca faz isso; eles não aparecem aqui.',
    'payloadProblem.payload-changed': 'Os {length} bytes do fluxo a partir do offset {offset} são um arquivo recebido ao qual a captura está ligada, e esse arquivo mudou depois da gravação (foi editado ou substituído). Esses bytes não aparecem aqui, porque já não são os que chegaram.',
    'payloadProblem.payload-missing': 'Os {length} bytes do fluxo a partir do offset {offset} deveriam estar num arquivo de conteúdo da captura, que sumiu ou está menor. Esses bytes não aparecem aqui.',
    'count.zero': '{hex} é 0: nenhum arquivo vem em seguida. São 4 bytes lidos em big-endian (o byte mais significativo vem primeiro), do jeito que o struct \'!I\' do Python lê.',
    'count.one': '{hex} é 1 arquivo: são 4 bytes lidos em big-endian (o byte mais significativo vem primeiro), do jeito que o struct \'!I\' do Python lê.',
    'count.other': '{hex} são {count} arquivos: 4 bytes lidos em big-endian (o byte mais significativo vem primeiro), do jeito que o struct \'!I\' do Python lê.',
    'name.ascii': 'O nome “{name}”, com {bytes} bytes, seguido de {padding} espaços (0x20) que completam o campo de 128 bytes.',
    'name.ascii.one': 'O nome “{name}”, com 1 byte, seguido de {padding} espaços (0x20) que completam o campo de 128 bytes.',
    'name.utf8': 'O nome “{name}”: {characters} caracteres em {bytes} bytes de UTF-8, seguidos de {padding} espaços (0x20) que completam o campo de 128 bytes.',
    'name.unpadded': 'O nome “{name}” ocupa os 128 bytes sem nenhum espaço no fim: ou ele tem exatamente 128 bytes, ou era maior, foi cortado aqui e o resto invadiu o campo seguinte.',
    'name.invalid': 'Estes {bytes} bytes não são UTF-8 válido, então não formam um nome (aparecem com � onde o byte está errado), seguidos de {padding} espaços (0x20).',
    'size': 'Tamanho de {size} bytes, lido em big-endian como o struct \'!Q\' lê: os próximos {size} bytes são o conteúdo do arquivo {file}.',
    'size.zero': 'Tamanho 0, lido em big-endian como o struct \'!Q\' lê: o arquivo {file} está vazio, então o próximo campo começa logo depois deste.',
    'size.one': 'Tamanho de 1 byte, lido em big-endian como o struct \'!Q\' lê: o próximo byte é o conteúdo do arquivo {file}.',
    'payload': 'Os {length} bytes de “{name}”, exatamente a quantidade que o campo de tamanho anunciou.',
    'payload.text': 'Os {length} bytes de “{name}”, exatamente a quantidade que o campo de tamanho anunciou: {characters} caracteres de texto em UTF-8, {multiByte} deles com mais de um byte.',
    'payload.one': 'O único byte de “{name}”, exatamente a quantidade que o campo de tamanho anunciou.',
    'payload.text.one': 'O único byte de “{name}”, exatamente a quantidade que o campo de tamanho anunciou: 1 caractere de texto em UTF-8.',
    'payload.empty': 'O arquivo {file} está vazio: o tamanho é 0, então nenhum byte vem em seguida e o próximo campo começa logo depois.',
    'truncated': 'O fluxo terminou no meio deste campo: chegaram {length} dos {expected} bytes.',
    'truncated.one': 'O fluxo terminou antes de chegar o único byte deste campo.',
    'trailing': '{length} bytes depois do último arquivo: a quantidade anunciada era de {count} arquivos, todos já chegaram completos, então o servidor não espera mais nada.',
    'trailing.one': '{length} bytes depois do último arquivo: a quantidade anunciada era de 1 arquivo, que já chegou completo, então o servidor não espera mais nada.',
    'trailing.oneByte': '1 byte depois do último arquivo: a quantidade anunciada era de {count} arquivos, todos já chegaram completos, então o servidor não espera mais nada.',
    'trailing.one.oneByte': '1 byte depois do último arquivo: a quantidade anunciada era de 1 arquivo, que já chegou completo, então o servidor não espera mais nada.',
    'problem.truncated': 'No offset {end} o fluxo terminou no meio de “{title}”: o campo tem {needed} bytes e só chegaram {available}.',
    'problem.truncated.one': 'No offset {end} o fluxo terminou no meio de “{title}”: o campo tem 1 byte e ele não chegou.',
    'problem.fewer-files-than-count': 'A quantidade anunciada era de {declared} arquivos, mas só {received} chegaram inteiros antes de o fluxo terminar no offset {offset}.',
    'problem.fewer-files-than-count.receivedOne': 'A quantidade anunciada era de {declared} arquivos, mas só 1 chegou inteiro antes de o fluxo terminar no offset {offset}.',
    'problem.fewer-files-than-count.one': 'A quantidade anunciada era de 1 arquivo, mas o fluxo terminou no offset {offset} antes de ele chegar inteiro.',
    'problem.name-invalid-utf8': 'O nome do arquivo {file}, no offset {offset}, não é UTF-8 válido: o decode() do servidor de referência dá erro aqui e a transferência para.',
    'problem.name-unsafe': 'O nome “{name}” foi recusado ({reasons}): gravado do jeito que veio, ele poderia parar fora da pasta do servidor ou estragá-la.',
    'problem.name-unpadded': 'O nome do arquivo {file} não tem espaços de preenchimento: se o nome verdadeiro passava de 128 bytes, o resto dele foi lido como tamanho, e a partir do offset {end} o servidor lê cada campo no lugar errado.',
    'problem.size-over-limit': 'No offset {offset} o tamanho do arquivo {file} diz {size} bytes, acima do limite do servidor, que é de {limit} bytes.',
    'problem.count-over-limit': 'A quantidade anuncia {count} arquivos, acima do limite do servidor, que é de {limit} arquivos.',
    'problem.trailing-bytes': 'Chegaram {count} bytes depois do último arquivo anunciado pela quantidade, a partir do offset {offset}.',
    'problem.trailing-bytes.one': 'Chegou 1 byte depois do último arquivo anunciado pela quantidade, no offset {offset}.',
    'reason.empty': 'está vazio',
    'reason.nul': 'contém um byte NUL',
    'reason.control': 'contém caracteres de controle',
    'reason.separator': 'contém um separador de caminho',
    'reason.absolute': 'é um caminho absoluto',
    'reason.dot-dot': 'sobe de pasta com ..',
    'reason.dot': 'aponta para a própria pasta',
    'reason.drive': 'começa com letra de unidade',
    'reason.reserved': 'é um nome de dispositivo reservado no Windows',
    'reason.bidi': 'contém caracteres de controle de direção do texto, que fazem com que ele apareça como outro nome',
    'cause.idle-timeout': 'Não chegou nenhum byte por {seconds} s, então o servidor fechou a conexão.',
    'cause.shutdown': 'O servidor foi desligado no meio da transferência e fechou a conexão.',
    'cause.count-over-limit': 'A quantidade anuncia {count} arquivos, acima do limite do servidor, que é de {limit} arquivos (--max-files), então o servidor fechou a conexão.',
    'cause.size-over-limit': 'O arquivo {file} diz ter {size} bytes, acima do limite do servidor, que é de {limit} bytes (--max-file-size), então o servidor fechou a conexão.',
    'cause.total-over-limit': 'Os arquivos anunciados até aqui somam {total} bytes, acima do limite do servidor, que é de {limit} bytes por conexão (--max-total-bytes), então o servidor fechou a conexão.',
    'cause.name-unsafe': 'Recusado porque {reasons}: um servidor não deve gravar um arquivo com um nome assim.',
    'cause.name-invalid-utf8': 'Recusado porque o nome não é UTF-8 válido: os nomes do protocolo são texto em UTF-8, e o decode() do servidor de referência falha com esses bytes.',
    'cause.socket-error': 'Um erro de socket encerrou a conexão ({code}).',
    'cause.write-failed': 'Não deu para gravar o arquivo no disco ({code}).',
    'cause.short-write': 'Só {written} dos {size} bytes chegaram ao disco.',
    'cause.no-free-name': 'Não sobrou nenhum nome livre para salvar o arquivo.',
    'cause.stream-ended': 'O fluxo terminou no byte {offset}, antes de o arquivo chegar inteiro.',
    'cause.receiver-closed': 'O servidor fechou a conexão no byte {offset}, antes de o arquivo chegar inteiro.',
    'cause.peer-closed': 'O servidor fechou a conexão antes de tudo ser enviado.',
    'cause.stopped-after': 'O cliente parou de propósito depois de {bytes} bytes (--stop-after).',
    'cause.recorder-gone': 'O processo que gravava esta captura (PID {pid}) terminou antes de fechá-la: foi encerrado à força ou a máquina desligou.',
    'cause.rate-too-low': 'Só chegaram {bytes} bytes em {seconds} s, abaixo da média mínima de {minRate} bytes por segundo que o servidor exige (--min-rate), então o servidor fechou a conexão.',
    'cause.header-timeout': 'O cabeçalho de cada arquivo (os campos de quantidade, nome e tamanho) tem de chegar inteiro em até {seconds} s (--header-timeout), mas o fluxo ainda estava em “{title}”, então o servidor fechou a conexão.',
    'cause.displaced': 'O servidor estava lotado (--max-connections) e um novo cliente esperava a vez: esta conexão, aberta havia {seconds} s com {bytes} bytes recebidos, era a mais lenta entre as que estavam abertas havia mais de {grace} s (--displace-after), então o servidor a fechou para dar lugar ao novo cliente.',
    'cause.name-temporary': 'Recusado porque o nome tem a forma dos arquivos temporários do próprio servidor (.wirestep-….part): ele poderia ocupar o lugar do arquivo de outra transferência.',
  },
};

/** Fills `{name}` placeholders; a missing value is left as written so tests catch it. */
export function formatMessage(template: string, values: Readonly<Record<string, string | number | bigint>>): string {
  return template.replace(/\{([a-zA-Z]+)\}/g, (all, key: string) => {
    const v = values[key];
    return v === undefined ? all : String(v);
  });
}

/** `key.one` when `count` is 1 and `table` has that key, else `key`: how every word table says "1 file", not "1 files". */
export function countedKey<K extends string>(table: Readonly<Record<string, unknown>>, key: K, count: number | bigint): K {
  const one = `${key}.one`;
  return Number(count) === 1 && one in table ? (one as K) : key;
}

function message(lang: Lang, key: string, values: Readonly<Record<string, string | number | bigint>> = {}): string {
  const template = EXPLANATIONS[lang][key] ?? EXPLANATIONS.en[key] ?? key;
  return formatMessage(template, values);
}

/** The protocol text for `key` in `lang` (English when missing), placeholders filled; an unknown key comes back as the key. */
export function protocolText(lang: Lang, key: string, values: Readonly<Record<string, string | number | bigint>> = {}): string {
  return message(lang, key, values);
}

/**
 * How bad each kind of problem is, declared once as Wireshark's `ei[]` does: `error`, the
 * transfer went wrong here; `warning`, legal but suspicious. The dissector stamps it on every problem.
 */
export const PROBLEM_SEVERITY: Readonly<Record<ProblemKind, Problem['severity']>> = {
  'truncated': 'error',
  'fewer-files-than-count': 'error',
  'name-invalid-utf8': 'error',
  'name-unsafe': 'error',
  // A name of exactly 128 bytes is legal; only a longer one derails the stream.
  'name-unpadded': 'warning',
  'count-over-limit': 'error',
  'size-over-limit': 'error',
  'trailing-bytes': 'error',
};

/** The short name of a kind of problem: "Stream cut short". */
export function problemTitle(kind: ProblemKind, lang: Lang): string {
  return message(lang, `problemTitle.${kind}`);
}

/** The locale each language formats numbers in. */
export const LOCALES: Readonly<Record<Lang, string>> = { en: 'en-US', pt: 'pt-BR' };

// Building an Intl formatter costs tens of microseconds; a page formats hundreds of numbers.
const INTEGER_FORMATS: Readonly<Record<Lang, Intl.NumberFormat>> = {
  en: new Intl.NumberFormat(LOCALES.en),
  pt: new Intl.NumberFormat(LOCALES.pt),
};

/** Formats a byte count or other integer for the language (1,024 or 1.024). */
export function formatInteger(n: number | bigint, lang: Lang): string {
  return INTEGER_FORMATS[lang].format(n);
}

/** Bytes as uppercase hex pairs separated by spaces: `00 00 00 0A`. */
export function hexBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
}

/** The title of a field: "Size of file 2". */
export function fieldTitle(field: Pick<Field, 'kind' | 'file'>, lang: Lang): string {
  return message(lang, `title.${field.kind}`, { file: field.file ?? 0 });
}

/** Facts the dissector does not keep but a caller may know, to enrich an explanation. */
export interface ExplainContext {
  /** The raw bytes of a count or size field, for the hex in the sentence. */
  readonly bytes?: Uint8Array;
  /** The file's name, for a payload. */
  readonly name?: string;
  /** The declared count, for trailing bytes. */
  readonly count?: number;
  /** Character counts of a payload that is valid UTF-8 text. */
  readonly text?: { readonly characters: number; readonly multiByte: number };
}

/** One sentence a student can read about what a field's bytes mean. */
export function explainField(field: Field, lang: Lang, ctx: ExplainContext = {}): string {
  const n = (v: number | bigint): string => formatInteger(v, lang);
  if (!field.complete) return message(lang, field.expected === 1n ? 'truncated.one' : 'truncated', { length: n(field.length), expected: n(field.expected) });
  const v = field.value;
  const hex = ctx.bytes ? hexBytes(ctx.bytes) : '';
  if (v?.kind === 'count') return message(lang, v.count === 0 ? 'count.zero' : v.count === 1 ? 'count.one' : 'count.other', { hex, count: n(v.count) });
  if (v?.kind === 'name') {
    const name = v.name;
    const values = { name: name.text, bytes: n(name.byteLength), padding: n(name.padding), characters: n(name.characters) };
    if (!name.validUtf8) return message(lang, 'name.invalid', values);
    if (name.padding === 0) return message(lang, 'name.unpadded', values);
    return message(lang, name.multiByteCharacters > 0 ? 'name.utf8' : name.byteLength === 1 ? 'name.ascii.one' : 'name.ascii', values);
  }
  if (v?.kind === 'size') return message(lang, v.size === 0n ? 'size.zero' : v.size === 1n ? 'size.one' : 'size', { size: n(v.size), file: field.file ?? 0 });
  if (field.kind === 'payload') {
    if (field.length === 0) return message(lang, 'payload.empty', { file: field.file ?? 0 });
    const values = { length: n(field.length), name: ctx.name ?? fieldTitle(field, lang) };
    // One byte is one ASCII character: no plural, and nothing longer than a byte.
    const one = field.length === 1 ? '.one' : '';
    if (ctx.text) return message(lang, `payload.text${one}`, { ...values, characters: n(ctx.text.characters), multiByte: n(ctx.text.multiByte) });
    return message(lang, `payload${one}`, values);
  }
  return message(lang, `${ctx.count === 1 ? 'trailing.one' : 'trailing'}${field.length === 1 ? '.oneByte' : ''}`, { length: n(field.length), count: n(ctx.count ?? 0) });
}

/** Joins reasons into one phrase. */
function reasonList(reasons: readonly UnsafeReason[], lang: Lang): string {
  const words = reasons.map((r) => message(lang, `reason.${r}`));
  return new Intl.ListFormat(LOCALES[lang], { type: 'conjunction' }).format(words);
}

/** One sentence that says where the stream lost step: offset, what was expected, what came. */
export function describeProblem(problem: Problem, lang: Lang): string {
  const n = (v: number | bigint): string => formatInteger(v, lang);
  const field = parseFieldId(problem.field);
  const base = { offset: n(problem.offset), end: n(problem.offset + problem.length), file: field?.file ?? '' };
  switch (problem.kind) {
    case 'truncated': {
      const title = field ? fieldTitle(field, lang) : problem.field;
      return message(lang, problem.needed === 1n ? 'problem.truncated.one' : 'problem.truncated', { ...base, title, needed: n(problem.needed), available: n(problem.available) });
    }
    case 'fewer-files-than-count':
      return message(lang, problem.declared === 1 ? 'problem.fewer-files-than-count.one' : problem.received === 1 ? 'problem.fewer-files-than-count.receivedOne' : 'problem.fewer-files-than-count', { ...base, declared: n(problem.declared), received: n(problem.received) });
    case 'name-unsafe':
      return message(lang, 'problem.name-unsafe', { ...base, name: problem.name, reasons: reasonList(problem.reasons, lang) });
    case 'count-over-limit':
      return message(lang, 'problem.count-over-limit', { ...base, count: n(problem.count), limit: n(problem.limit) });
    case 'size-over-limit':
      return message(lang, 'problem.size-over-limit', { ...base, size: n(problem.size), limit: n(problem.limit) });
    case 'trailing-bytes':
      return message(lang, problem.count === 1 ? 'problem.trailing-bytes.one' : 'problem.trailing-bytes', { ...base, count: n(problem.count) });
    default:
      return message(lang, `problem.${problem.kind}`, base);
  }
}

/**
 * One sentence for a stored {@link Reason}, from the same table as the problems. A kind this
 * code does not know (a newer capture) is named as it is stored; `text` is shown as kept.
 */
export function describeReason(reason: Reason, lang: Lang): string {
  const n = (v: number | bigint | string): string => formatInteger(BigInt(v), lang);
  const seconds = (v: number): string => new Intl.NumberFormat(LOCALES[lang], { maximumFractionDigits: 1 }).format(v);
  switch (reason.kind) {
    case 'text':
      return reason.text;
    case 'idle-timeout':
      return message(lang, 'cause.idle-timeout', { seconds: new Intl.NumberFormat(LOCALES[lang]).format(reason.seconds) });
    case 'rate-too-low':
      return message(lang, 'cause.rate-too-low', { bytes: n(reason.bytes), seconds: seconds(reason.seconds), minRate: n(reason.minRate) });
    case 'header-timeout': {
      const field = parseFieldId(reason.field);
      return message(lang, 'cause.header-timeout', { seconds: seconds(reason.seconds), title: field ? fieldTitle(field, lang) : reason.field });
    }
    case 'displaced':
      return message(lang, 'cause.displaced', { bytes: n(reason.bytes), seconds: seconds(reason.seconds), grace: seconds(reason.grace) });
    case 'count-over-limit':
      return message(lang, 'cause.count-over-limit', { count: n(reason.count), limit: n(reason.limit) });
    case 'size-over-limit':
      return message(lang, 'cause.size-over-limit', { file: reason.file, size: n(reason.size), limit: n(reason.limit) });
    case 'total-over-limit':
      return message(lang, 'cause.total-over-limit', { total: n(reason.total), limit: n(reason.limit) });
    case 'name-unsafe':
      return message(lang, 'cause.name-unsafe', { reasons: reasonList(reason.reasons, lang) });
    case 'short-write':
      return message(lang, 'cause.short-write', { written: n(reason.written), size: n(reason.size) });
    case 'stream-ended':
    case 'receiver-closed':
      return message(lang, `cause.${reason.kind}`, { offset: n(reason.offset) });
    case 'stopped-after':
      return message(lang, 'cause.stopped-after', { bytes: n(reason.bytes) });
    case 'recorder-gone':
      return message(lang, 'cause.recorder-gone', { pid: reason.pid });
    case 'socket-error':
    case 'write-failed':
      return message(lang, `cause.${reason.kind}`, { code: reason.code });
    default:
      return message(lang, `cause.${reason.kind}`);
  }
}
