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
  // send
  sending: 'sending {n} files ({bytes} bytes on the wire) to {host}:{port}',
  'sending.one': 'sending {n} file ({bytes} bytes on the wire) to {host}:{port}',
  sendingFile: '  {i}. {name} ({size} bytes)',
  'sendingFile.one': '  {i}. {name} ({size} byte)',
  sendProgress: 'sending [{bar}] {percentage}% | {value}/{total} bytes',
  sendFailed: 'transfer {status}: {message} after {bytes} bytes{where}',
  sent: 'sent {bytes} bytes in {writes} writes{where}',
  sentWhere: '; capture {dir}',
  // demo
  demoCapture: 'capture {id}: {status}, {bytes} bytes',
  demoTempGone: '(the received files went to a temporary folder, now removed; --out DIR keeps them)',
  demoSaved: 'saved in {dir}',
  demoView: 'view it:  npx wirestep dump {dir} --by field',
  demoOr: '     or:  npx wirestep serve --captures {captures}   and open the capture {id}',
  // export
  exported: 'wrote {file}: {frames} frames, {data} of them with data, {bytes} stream bytes, one segment per {per} (MSS {mss})',
  'exportPer.sender': 'sender write',
  'exportPer.receiver': 'receiver read',
  'exportPer.wire': 'captured segment',
  exportEnds: '{client} → {server}',
  exportMadeUp: '{client} → {server} (made up: the capture does not say which IPv4 addresses it used)',
  exportOpen: 'open it:  wireshark {file}    or:  tshark -r {file} -q -z follow,tcp,raw,0',
  exportCannot: 'cannot write {file}: {message}',
  // import
  importWire: 'added {segments} segments ({carrying} with data) to {dir} as its wire lane',
  importWireClock: 'their times are put on the capture’s clock as early as they can be with none leaving before the write that made its first byte',
  importNotPcap: '{file} is not a packet capture wirestep can read: {message}',
  importCannot: 'cannot import {file}: {message}',
  importRead: '{file}: {format}, {packets} packets, {tcp} of them TCP',
  importLeftOut: '{file}: {format}, {packets} packets, {tcp} of them TCP; left out: {skipped}',
  importCut: 'the file ends in the middle of a packet ({n} bytes): it was cut while being written',
  importNone: 'no TCP connection in it',
  importNonePort: 'no TCP connection to port {port} in it',
  importConnection: '{client} → {server}: capture {id}, {bytes} bytes, {status}, {segments} segments with data',
  importConnectionProblems: '{client} → {server}: capture {id}, {bytes} bytes, {status}, {segments} segments with data, {problems} problems on the wire',
  'importConnectionProblems.one': '{client} → {server}: capture {id}, {bytes} bytes, {status}, {segments} segments with data, 1 problem on the wire',
  importView: 'view them:  npx wirestep serve --captures {captures}',
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
  sending: 'enviando {n} arquivos ({bytes} bytes no fio) para {host}:{port}',
  'sending.one': 'enviando {n} arquivo ({bytes} bytes no fio) para {host}:{port}',
  sendingFile: '  {i}. {name} ({size} bytes)',
  'sendingFile.one': '  {i}. {name} ({size} byte)',
  sendProgress: 'enviando [{bar}] {percentage}% | {value}/{total} bytes',
  sendFailed: 'transferência {status}: {message} depois de {bytes} bytes{where}',
  sent: 'enviados {bytes} bytes em {writes} escritas{where}',
  sentWhere: '; captura {dir}',
  demoCapture: 'captura {id}: {status}, {bytes} bytes',
  demoTempGone: '(os arquivos recebidos foram para uma pasta temporária, que já foi apagada; use --out PASTA para guardá-los)',
  demoSaved: 'gravada em {dir}',
  demoView: 'para ver:  npx wirestep dump {dir} --by field',
  demoOr: '      ou:  npx wirestep serve --captures {captures}   e abra a captura {id}',
  exported: 'gravei {file}: {frames} quadros, {data} deles com dados, {bytes} bytes do fluxo, um segmento por {per} (MSS {mss})',
  'exportPer.sender': 'escrita do remetente',
  'exportPer.receiver': 'leitura do receptor',
  'exportPer.wire': 'segmento capturado',
  exportEnds: '{client} → {server}',
  exportMadeUp: '{client} → {server} (inventados: a captura não diz quais endereços IPv4 foram usados)',
  exportOpen: 'para abrir:  wireshark {file}    ou:  tshark -r {file} -q -z follow,tcp,raw,0',
  exportCannot: 'não consegui gravar {file}: {message}',
  importWire: '{segments} segmentos ({carrying} com dados) acrescentados a {dir} como a faixa do fio',
  importWireClock: 'os horários deles foram postos no relógio da captura o mais cedo possível, sem nenhum sair antes da escrita que produziu o seu primeiro byte',
  importNotPcap: '{file} não é uma captura de pacotes que o wirestep consiga ler: {message}',
  importCannot: 'não consegui importar {file}: {message}',
  importRead: '{file}: {format}, {packets} pacotes, {tcp} deles TCP',
  importLeftOut: '{file}: {format}, {packets} pacotes, {tcp} deles TCP; deixados de fora: {skipped}',
  importCut: 'o arquivo termina no meio de um pacote ({n} bytes): foi cortado enquanto era gravado',
  importNone: 'nenhuma conexão TCP nele',
  importNonePort: 'nenhuma conexão TCP para a porta {port} nele',
  importConnection: '{client} → {server}: captura {id}, {bytes} bytes, {status}, {segments} segmentos com dados',
  importConnectionProblems: '{client} → {server}: captura {id}, {bytes} bytes, {status}, {segments} segmentos com dados, {problems} problemas no fio',
  'importConnectionProblems.one': '{client} → {server}: captura {id}, {bytes} bytes, {status}, {segments} segmentos com dados, 1 problema no fio',
  importView: 'para ver:  npx wirestep serve --captures {captures}',
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
