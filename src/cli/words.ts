import { type Lang, formatMessage } from '../protocol/index.js';

/** What the commands print, in English: the source of every key. `{placeholders}` are filled by {@link say}. */
const en = {
  // receive, lab, serve
  cannotListen: 'cannot listen on {host}:{port}: {message}',
  listening: 'listening on {address}:{port}; files go to {out}, captures to {captures}',
  listeningNoCaptures: 'listening on {address}:{port}; files go to {out} (no captures)',
  stopWith: 'stop with Ctrl+C',
  closing: '{signal}: closing; open transfers are recorded as interrupted',
  closed: 'closed, every capture flushed',
  showing: 'wirestep is showing the captures in {dirs}',
  open: 'open {url}',
  othersCanOpen: 'others on the network can open: {urls}',
  openToNetwork: 'open to the network, at this machine’s address',
  receiverOn: 'receiver on {address}:{port}; files go to {out}, captures to {captures}',
  livePage: 'live page: {url}',
  studentsOpen: 'students open: {urls}',
  teacherOpens: 'teacher (this terminal only; this address shows the answers and reports, do not project or share it): {url}',
  studentsSend: 'students send with:  npx wirestep send --host {host} --port {port} FILES…',
  tracedShowToo: 'programs traced into this lab\'s captures show on /live too:  npx wirestep trace --captures {captures} -- python3 server.py',
  onlyThisMachine: 'only this machine can send and watch: start with --host 0.0.0.0 to open the lab to the classroom',
  tracedWillNotShow: 'traced programs will not show on /live: {message}',
  // trace
  traceTogether: '--server and --client go together',
  traceEither: 'give either -- COMMAND or --server and --client',
  traceNeedCommand: '--server and --client need a command',
  traceNothing: 'nothing to trace: wirestep trace -- python3 client.py',
  traceCapture: 'capture {dir}',
  traceLive: 'live on the /live page of the lab recording into {dir}',
  cannotRun: 'cannot run {command}: {message}',
  // check
  checkStopping: 'interrupted: stopping the hand-in; no report will be written',
  checkInterrupted: 'interrupted: no report written',
  checkEachFile: 'with --each, put {file} in the command where each hand-in’s path goes: -- python3 {file}',
  checkNoMatch: 'no hand-in matches {pattern}',
  checkCannotGrade: 'cannot grade: {message}',
  checkCannotWrite: 'cannot write the report into {dir}: {message}',
  checkNothingServer: 'nothing to check: wirestep check server -- python3 server.py --port {port}',
  checkConnectOrCommand: 'give either --connect HOST:PORT or -- COMMAND, not both',
  checkEachConnect: '--each grades hand-ins it runs itself: it does not go with --connect',
  checkOnlyUnknown: '--only takes check ids separated by commas; unknown: {unknown}; known: {known}',
  checkNothingClient: 'nothing to grade: wirestep check client -- python3 client.py --port {port} --folder {folder}',
} as const;

/** A key of the commands' words. */
export type CliWord = keyof typeof en;

/** O que os comandos escrevem, em português do Brasil; as mesmas chaves do inglês (o compilador confere). */
const pt: Readonly<Record<CliWord, string>> = {
  cannotListen: 'não consegui escutar em {host}:{port}: {message}',
  listening: 'escutando em {address}:{port}; os arquivos vão para {out}, as capturas para {captures}',
  listeningNoCaptures: 'escutando em {address}:{port}; os arquivos vão para {out} (sem capturas)',
  stopWith: 'para parar, Ctrl+C',
  closing: '{signal}: fechando; as transferências em andamento ficam registradas como interrompidas',
  closed: 'fechado, todas as capturas gravadas',
  showing: 'o wirestep está mostrando as capturas de {dirs}',
  open: 'abra {url}',
  othersCanOpen: 'os outros computadores da rede podem abrir: {urls}',
  openToNetwork: 'aberto para a rede, no endereço desta máquina',
  receiverOn: 'servidor em {address}:{port}; os arquivos vão para {out}, as capturas para {captures}',
  livePage: 'página ao vivo: {url}',
  studentsOpen: 'endereço dos alunos: {urls}',
  teacherOpens: 'professor (só neste terminal; este endereço mostra as respostas e os relatórios, não projete nem passe adiante): {url}',
  studentsSend: 'os alunos enviam com:  npx wirestep send --host {host} --port {port} ARQUIVOS…',
  tracedShowToo: 'programas rastreados gravando nas capturas deste laboratório também aparecem em /live:  npx wirestep trace --captures {captures} -- python3 server.py',
  onlyThisMachine: 'só esta máquina pode enviar e acompanhar: use --host 0.0.0.0 para abrir o laboratório para a turma',
  tracedWillNotShow: 'os programas rastreados não vão aparecer em /live: {message}',
  traceTogether: '--server e --client andam juntos',
  traceEither: 'use -- COMANDO ou então --server e --client',
  traceNeedCommand: '--server e --client precisam de um comando',
  traceNothing: 'nada para rastrear: wirestep trace -- python3 client.py',
  traceCapture: 'captura {dir}',
  traceLive: 'ao vivo na página /live do lab que grava em {dir}',
  cannotRun: 'não consegui rodar {command}: {message}',
  checkStopping: 'interrompido: parando o programa do aluno; nenhum relatório será gravado',
  checkInterrupted: 'interrompido: nenhum relatório foi gravado',
  checkEachFile: 'com --each, ponha {file} no comando onde vai o caminho de cada entrega: -- python3 {file}',
  checkNoMatch: 'nenhuma entrega corresponde a {pattern}',
  checkCannotGrade: 'não consegui corrigir: {message}',
  checkCannotWrite: 'não consegui gravar o relatório em {dir}: {message}',
  checkNothingServer: 'nada para verificar: wirestep check server -- python3 server.py --port {port}',
  checkConnectOrCommand: 'use --connect HOST:PORTA ou -- COMANDO, não os dois',
  checkEachConnect: '--each corrige entregas que ele mesmo executa: não combina com --connect',
  checkOnlyUnknown: '--only recebe ids de verificações separados por vírgula; desconhecidos: {unknown}; conhecidos: {known}',
  checkNothingClient: 'nada para corrigir: wirestep check client -- python3 client.py --port {port} --folder {folder}',
};

/** The commands' words per language, with the same keys and placeholders. */
export const CLI_WORDS: Readonly<Record<Lang, Readonly<Record<CliWord, string>>>> = { en, pt };

/** The line `key` in `lang`, placeholders filled (a `{name}` with no value is left as written). */
export function say(lang: Lang, key: CliWord, values: Readonly<Record<string, string | number | bigint>> = {}): string {
  return formatMessage(CLI_WORDS[lang][key], values);
}

/**
 * The language the environment asks for: Portuguese when the first set of LC_ALL, LC_MESSAGES
 * and LANG (POSIX's order) starts with `pt` (pt_BR.UTF-8, pt_PT, pt), else English.
 */
export function envLang(env: NodeJS.ProcessEnv = process.env): Lang {
  const locale = [env.LC_ALL, env.LC_MESSAGES, env.LANG].find((v) => v !== undefined && v !== '') ?? '';
  return /^pt([_.@-]|$)/i.test(locale) ? 'pt' : 'en';
}
