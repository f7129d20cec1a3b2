import { type Command, Help } from 'commander';
import type { Lang } from '../protocol/index.js';

const PT_LANG = 'idioma do que ele escreve (padrão: pt quando LC_ALL ou LANG é pt_*, senão en)';
const PT_REPORT_LANG = 'idioma do relatório e do que ele escreve (padrão: pt quando LC_ALL ou LANG é pt_*, senão en)';

/**
 * The help of every command, option and argument in Portuguese, keyed by the command's path
 * (`check server`, the program itself ''), then ` --option` or ` <argument>`. The English help
 * is written beside each option in main.ts; test/cli/language.test.ts checks that no English
 * line is left in any `--help` under pt.
 */
const PT: Readonly<Record<string, string>> = {
  '': 'Grava, repete e explica byte a byte a transferência de arquivos por sockets da disciplina.',
  receive: 'recebe arquivos como o server.py de referência, gravando uma captura por conexão',
  'receive --host': 'endereço onde escutar',
  'receive --port': 'porta TCP',
  'receive --out': 'pasta onde os arquivos recebidos são salvos',
  'receive --captures': 'pasta das capturas',
  'receive --no-capture': 'não grava nada (para medir quanto custa gravar)',
  'receive --capture-copy': 'copia o conteúdo de cada arquivo para a gravação, em vez de ligá-la ao arquivo salvo (use quando os arquivos salvos forem ser editados)',
  'receive --max-file-size': 'maior tamanho que um arquivo pode declarar (padrão: 4G)',
  'receive --max-files': 'maior quantidade de arquivos que uma transferência pode anunciar',
  'receive --max-total-bytes': 'maior soma de tamanhos que uma conexão pode anunciar (padrão: 16G)',
  'receive --idle-timeout': 'corta uma conexão que fica calada por esse tempo (0: nunca)',
  'receive --max-connections': 'conexões atendidas ao mesmo tempo; outras tantas esperam a vez sem ser lidas, a seguinte é fechada na hora e registrada',
  'receive --min-rate': 'corta uma conexão cuja taxa média fica abaixo disso depois de passado o --rate-grace (0: nunca)',
  'receive --rate-grace': 'tempo desde o accept antes de valer o --min-rate',
  'receive --header-timeout': 'corta uma conexão que demora mais do que isso nos campos de quantidade, nome e tamanho de um arquivo (0: nunca)',
  'receive --displace-after': 'quando está lotado e um remetente espera, fecha a conexão mais lenta aberta há esse tempo para abrir vaga (0: nunca)',
  'receive --lang': 'idioma das linhas do registro (padrão: pt quando LC_ALL ou LANG é pt_*, senão en)',
  send: 'envia arquivos ou pastas como o client.py de referência, gravando uma captura',
  'send <paths>': 'arquivos, ou pastas cujos arquivos são enviados',
  'send --host': 'endereço do receptor',
  'send --port': 'porta do receptor',
  'send --chunk': 'maior escrita, em bytes; cada campo é cortado em escritas de no máximo esse tamanho',
  'send --delay-ms': 'pausa entre as escritas',
  'send --captures': 'pasta da captura',
  'send --no-capture': 'não grava nada',
  'send --capture-copy': 'copia o conteúdo de cada arquivo para a gravação, em vez de clonar ou ligar o arquivo enviado',
  'send --lang': PT_LANG,
  'send --jitter-ms': 'defeito: uma pausa extra aleatória de 0 até esse tanto de ms antes de cada escrita',
  'send --write-per-field': 'defeito: uma escrita por campo, conteúdos inteiros (até 64 MiB)',
  'send --stop-after': 'defeito: fecha a conexão depois desse tanto de bytes',
  'send --lie-size': 'defeito: declara esse tamanho para todos os arquivos',
  'send --pad-name-to': 'defeito: completa os nomes até esse tanto de bytes em vez de 128 (nomes mais longos vão inteiros, como a referência manda)',
  'send --count': 'defeito: declara essa quantidade de arquivos',
  demo: 'roda um receptor e um remetente no mesmo processo, envia os 10 arquivos da referência e grava os dois lados',
  'demo --captures': 'pasta da captura',
  'demo --id': 'id da captura (nome da pasta)',
  'demo --out': 'guarda aqui os arquivos recebidos (padrão: uma pasta temporária)',
  'demo --lang': PT_LANG,
  dump: 'mostra uma captura em hexadecimal comentado, passo a passo',
  'dump <capture>': 'a pasta de uma captura, ou o id de uma captura em --captures',
  'dump --captures': 'pasta onde procurar o id (padrão: ./captures, depois os exemplos que vêm com o wirestep)',
  'dump --by': 'passo a passo por campo do protocolo ou por operação de socket',
  'dump --step': 'só este passo (a partir de 1)',
  'dump --page': 'página no meio de um passo longo',
  'dump --lang': 'idioma das explicações (padrão: pt quando LC_ALL ou LANG é pt_*, senão en)',
  export: 'grava uma captura como arquivo pcapng para o Wireshark: um segmento TCP por escrita do remetente, as leituras como comentários dos pacotes',
  'export <capture>': 'a pasta de uma captura, ou o id de uma captura em --captures',
  'export --pcapng': 'o arquivo pcapng a gravar',
  'export --captures': 'pasta onde procurar o id (padrão: ./captures, depois os exemplos que vêm com o wirestep)',
  'export --mss': 'maior carga TCP por quadro',
  'export --lang': PT_LANG,
  import: 'lê um arquivo pcap ou pcapng (tcpdump, Wireshark) e salva cada conexão TCP como uma captura com os seus segmentos',
  'import <file>': 'um arquivo .pcap ou .pcapng',
  'import --captures': 'pasta das capturas',
  'import --port': 'só as conexões para esta porta do servidor',
  'import --into': 'em vez disso, acrescenta os segmentos como faixa do fio a esta captura da mesma transferência (gravada enquanto os pacotes eram capturados)',
  'import --lang': PT_LANG,
  serve: 'abre o site de replay sobre as capturas',
  'serve --host': 'endereço onde escutar (0.0.0.0 abre para a rede)',
  'serve --port': 'porta TCP',
  'serve --captures': 'uma pasta de capturas (repita para várias)',
  'serve --no-samples': 'não lista os exemplos que vêm com o wirestep (as aulas continuam mostrando)',
  'serve --report': 'a pasta de um relatório de correção (wirestep check --report): aparece em /report, com as suas capturas na lista',
  'serve --lang': PT_LANG,
  lab: 'modo sala de aula: o receptor e o site num só processo, com as transferências ao vivo em /live',
  'lab --host': 'endereço do receptor e do site (0.0.0.0 abre os dois para a turma)',
  'lab --port': 'porta do receptor, para onde os alunos enviam',
  'lab --web-port': 'porta do site, para o projetor e para os alunos',
  'lab --out': 'pasta onde os arquivos recebidos são salvos',
  'lab --captures': 'pasta das capturas',
  'lab --lang': PT_LANG,
  trace: 'roda um programa Python (ou --server e --client) com um rastreador de sockets: uma captura por conexão TCP, com todas as chamadas que ele fez',
  'trace <command>': 'o programa e os seus argumentos, depois de --: wirestep trace -- python3 client.py',
  'trace --captures': 'pasta das capturas',
  'trace --lang': 'idioma do que o trace escreve (padrão: pt quando LC_ALL ou LANG é pt_*, senão en)',
  'trace --port-map': 'um connect ou bind na porta DE usa a porta PARA (repita para várias)',
  'trace --server': 'um servidor a rastrear: separado em palavras como um shell faria, mas nunca rodado por um',
  'trace --client': 'com --server: o cliente a rastrear assim que o servidor escuta ({port} vira a porta onde ele escuta)',
  'trace --no-live': 'não mostra as conexões na página /live de um wirestep lab que grava na mesma pasta de capturas',
  check: 'corrige o servidor ou o cliente de um aluno pelos bytes, verificação por verificação',
  'check server': 'roda uma bateria de casos byte a byte contra o servidor de um aluno ({port} e {folder} nos argumentos dele são substituídos)',
  'check server <command>': 'o servidor e os seus argumentos, depois de --: wirestep check server -- python3 server.py --port {port}',
  'check server --port': 'a porta onde escuta um comando sem {port}',
  'check server --connect': 'corrige um servidor que já está rodando ali (só as verificações que não precisam da pasta dele)',
  'check server --serve-limit': 'quanto tempo o próximo cliente pode esperar para ser atendido',
  'check server --stall-limit': 'quanto tempo um cliente calado pode ficar aberto antes de o servidor precisar fechá-lo',
  'check server --only': 'roda só estas verificações, ids separados por vírgula (correct.ten-files,stream.one-byte-writes)',
  'check server --lang': PT_REPORT_LANG,
  'check server --report': 'grava report.html, report.json e as capturas de cada verificação (captures/<id-da-verificação>/) nesta pasta; com --each, a tabela da turma',
  'check server --format': 'como o relatório é impresso',
  'check server --each': 'corrige cada entrega que casa com este padrão, uma de cada vez, com {file} no comando trocado pelo caminho dela (\'entregas/*/server.py\')',
  'check server --limit': 'com --each, o tempo total dado a cada entrega',
  'check client': 'roda o cliente de um aluno contra o receptor do wirestep, uma vez por pasta de arquivos de teste, e corrige o que ele enviou, campo por campo',
  'check client <command>': 'o cliente e os seus argumentos, depois de --: {port} e {folder} viram a porta do receptor e uma pasta de arquivos de teste',
  'check client --port': 'a porta onde se conecta um cliente sem {port} (um cliente Python é redirecionado dela)',
  'check client --time-limit': 'cada execução do cliente é parada, com o seu grupo de processos, depois desse tempo',
  'check client --lang': PT_REPORT_LANG,
  'check client --report': 'grava report.html, report.json e as capturas de cada verificação (captures/<id-da-verificação>/) nesta pasta; com --each, a tabela da turma',
  'check client --format': 'como o relatório é impresso',
  'check client --each': 'corrige cada entrega que casa com este padrão, uma de cada vez, com {file} no comando trocado pelo caminho dela (\'entregas/*/client.py\')',
  'check client --limit': 'com --each, o tempo total dado a cada entrega',
  assignment: 'mostra onde estão o client.py e o server.py do trabalho, ou copia os dois com o README para uma pasta',
  'assignment --copy': 'copia client.py, server.py e README.md para esta pasta (nunca sobrescreve)',
};

/** Commander's own words in Portuguese. */
const PT_TITLES: Readonly<Record<string, string>> = { 'Usage:': 'Uso:', 'Options:': 'Opções:', 'Arguments:': 'Argumentos:', 'Commands:': 'Comandos:', 'Global Options:': 'Opções globais:' };
const PT_HELP = 'mostra a ajuda do comando';
const PT_HELP_COMMAND = 'mostra a ajuda de um comando';
const PT_VERSION = 'mostra o número da versão';

/** Commander's "(default: …, choices: …)" in Portuguese. */
function extrasInPortuguese(text: string): string {
  return text.replace(/\((choices: [^)]*|default: [^)]*)\)$/, (m) => m.replace('choices: ', 'valores: ').replace('default: ', 'padrão: '));
}

/** The path of `command` from the program: '' for the program, `check server` for a subcommand. */
function pathOf(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Puts the help of `program` and of all its commands in `lang`: a no-op for English, the words
 * of {@link PT} for Portuguese (a key the table lacks keeps its English words).
 */
export function translateHelp(program: Command, lang: Lang): void {
  if (lang !== 'pt') return;
  const visit = (c: Command): void => {
    const at = pathOf(c);
    const own = PT[at];
    if (own !== undefined) c.description(own);
    for (const o of c.options) {
      if (o.long === '--version') o.description = PT_VERSION;
      else o.description = PT[`${at} ${o.long}`.trim()] ?? o.description;
    }
    for (const a of c.registeredArguments) a.description = PT[`${at} <${a.name()}>`.trim()] ?? a.description;
    c.helpOption('-h, --help', PT_HELP);
    if (c.commands.length > 0) c.helpCommand('help [command]', PT_HELP_COMMAND);
    c.configureHelp({
      styleTitle: (s: string) => PT_TITLES[s] ?? s,
      optionDescription: (o) => extrasInPortuguese(Help.prototype.optionDescription.call(new Help(), o)),
      argumentDescription: (a) => extrasInPortuguese(Help.prototype.argumentDescription.call(new Help(), a)),
    });
    c.commands.forEach(visit);
  };
  visit(program);
}

/** The language `--lang pt` or `--lang=pt` asks for anywhere in `argv`, else `fallback`. */
export function argvLang(argv: readonly string[], fallback: Lang): Lang {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') break;
    const value = argv[i] === '--lang' ? argv[i + 1] : argv[i]!.startsWith('--lang=') ? argv[i]!.slice('--lang='.length) : undefined;
    if (value === 'pt' || value === 'en') return value;
  }
  return fallback;
}
