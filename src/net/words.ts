import { type Lang, countedKey, formatMessage } from '../protocol/index.js';

/** The receiver's log lines in English: the source of every key. `{placeholders}` are filled by {@link receiverLine}. */
const en = {
  connected: 'connected',
  connectedRecording: 'connected, recording capture {id}',
  cannotRecord: 'cannot record a capture ({message}); receiving without one',
  count: 'count: {n} files announced',
  'count.one': 'count: {n} file announced',
  announced: 'file {file}: {name}, {size} bytes announced',
  nameBytes: '{name} (bytes {hex})',
  saved: 'file {file}: saved {path}, {size} bytes',
  savedRenamed: 'file {file}: saved {path}, {size} bytes ({name} already existed)',
  refused: 'file {file}: refused {name}: {why}',
  refusedDropped: 'file {file}: refused {name}: {why} Its {size} bytes are read and dropped.',
  notSaved: 'file {file}: not saved: {why}',
  notSavedDropped: 'file {file}: not saved: {why} Its remaining bytes are read and dropped.',
  incomplete: 'file {file}: incomplete, not saved: {why}',
  trailing: '{n} bytes after the last file: ignored',
  problem: 'problem: {problem}',
  captureUnfinished: 'capture {id} could not be finished: {message}',
  closed: 'closed: {status}{reason}; {saved} files saved, {bytes} bytes{capture}',
  'closed.one': 'closed: {status}{reason}; {saved} file saved, {bytes} bytes{capture}',
  closedByReceiver: 'closed by the receiver: {status}{reason}; {saved} files saved, {bytes} bytes{capture}',
  'closedByReceiver.one': 'closed by the receiver: {status}{reason}; {saved} file saved, {bytes} bytes{capture}',
  captureAt: ', capture {dir}',
  displaced: 'displaced for {who}, which was waiting: {why}',
  internalError: 'internal error: {message}',
  refusedFull: '{who} refused: already {active} connections (--max-connections {max}) and {waiting} waiting{why}',
  evicted: '; its address holds the most connections, so {who} waits instead',
  waiting: '{who} waiting: already {active} connections (--max-connections {max}){displace}',
  displaceRoom: '; the slowest open over {seconds} s makes room (--displace-after)',
  serverError: 'server error: {message}',
} as const;

/** A key of the receiver's log lines. */
export type ReceiverWord = keyof typeof en;

/** As linhas do registro do receptor em português do Brasil, com as mesmas chaves (o compilador confere). */
const pt: Readonly<Record<ReceiverWord, string>> = {
  connected: 'conectou',
  connectedRecording: 'conectou, gravando a captura {id}',
  cannotRecord: 'não dá para gravar uma captura ({message}); recebendo sem ela',
  count: 'contagem: {n} arquivos anunciados',
  'count.one': 'contagem: {n} arquivo anunciado',
  announced: 'arquivo {file}: {name}, {size} bytes anunciados',
  nameBytes: '{name} (bytes {hex})',
  saved: 'arquivo {file}: salvo em {path}, {size} bytes',
  savedRenamed: 'arquivo {file}: salvo em {path}, {size} bytes ({name} já existia)',
  refused: 'arquivo {file}: recusado {name}: {why}',
  refusedDropped: 'arquivo {file}: recusado {name}: {why} Os {size} bytes dele são lidos e descartados.',
  notSaved: 'arquivo {file}: não foi salvo: {why}',
  notSavedDropped: 'arquivo {file}: não foi salvo: {why} O resto dos bytes dele é lido e descartado.',
  incomplete: 'arquivo {file}: incompleto, não foi salvo: {why}',
  trailing: '{n} bytes depois do último arquivo: ignorados',
  problem: 'problema: {problem}',
  captureUnfinished: 'não deu para terminar a captura {id}: {message}',
  closed: 'fechou: {status}{reason}; {saved} arquivos salvos, {bytes} bytes{capture}',
  'closed.one': 'fechou: {status}{reason}; {saved} arquivo salvo, {bytes} bytes{capture}',
  closedByReceiver: 'o receptor fechou: {status}{reason}; {saved} arquivos salvos, {bytes} bytes{capture}',
  'closedByReceiver.one': 'o receptor fechou: {status}{reason}; {saved} arquivo salvo, {bytes} bytes{capture}',
  captureAt: ', captura {dir}',
  displaced: 'cedeu o lugar a {who}, que estava esperando: {why}',
  internalError: 'erro interno: {message}',
  refusedFull: '{who} recusada: já são {active} conexões (--max-connections {max}) e {waiting} esperando{why}',
  evicted: '; o endereço dela é o que tem mais conexões, então {who} espera no lugar dela',
  waiting: '{who} esperando: já são {active} conexões (--max-connections {max}){displace}',
  displaceRoom: '; a mais lenta aberta há mais de {seconds} s cede o lugar (--displace-after)',
  serverError: 'erro do servidor: {message}',
};

/** The receiver's log lines per language, with the same keys and placeholders. */
export const RECEIVER_WORDS: Readonly<Record<Lang, Readonly<Record<ReceiverWord, string>>>> = { en, pt };

/** One of the receiver's log lines in `lang`, placeholders filled; `count` picks the `.one` form when it is 1 and one exists. */
export function receiverLine(lang: Lang, key: ReceiverWord, values: Readonly<Record<string, string | number | bigint>> = {}, count?: number | bigint): string {
  return formatMessage(RECEIVER_WORDS[lang][count === undefined ? key : countedKey(RECEIVER_WORDS[lang], key, count)], values);
}
