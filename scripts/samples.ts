/**
 * `npm run samples [ID…]`: records the bundled sample library again, each sample a real transfer
 * over loopback. The samples whose calls the lessons count are the shipped assignment's programs
 * traced with `wirestep trace`: client.py sending to server.py, or, where a staged fault needs
 * wirestep's sender (`--chunk 7`, `--delay-ms`), wirestep's sender sending to a traced server.py,
 * the two ends joined into one capture. The other samples are recorded by wirestep's own receiver:
 * well-formed transfers sent by wirestep's sender, malformed and hostile streams written raw to a
 * real socket. Deterministic apart from timestamps, ports and, where wirestep's receiver or a
 * staged sender is at one end, where TCP cut the reads.
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type CaptureMeta, type ProgramInfo, type SampleInfo, type Side, readMeta, storedSenderOptions, writeCaptureMeta } from '../src/capture/index.js';
import { addWireLane, importPcap } from '../src/capture/pcap-import.js';
import { type FileToSend, type SendFaults, recordLocalTransfer, referenceFiles, sendBytes, sendFiles } from '../src/net/index.js';
import { encodeCount, encodeName, encodeSize, encodeTransfer } from '../src/protocol/index.js';
import { packageRoot } from '../src/web/paths.js';
import { traceServer, tracePair } from '../src/trace/index.js';
import { ASSIGNMENT, PYTHON, PY_ENV, freePort, runAssignmentClient, startAssignmentServer, startDumpcap, waitForServerClose, waitForServerFin } from './lib/harness.js';

const te = new TextEncoder();

/** A sample: its id, what it is for, and how it is sent. */
interface Sample extends SampleInfo {
  readonly id: string;
  readonly en: string;
  readonly pt: string;
  /** Files sent by wirestep's sender, with its options. */
  readonly files?: readonly { readonly name: string; readonly data: Uint8Array }[];
  readonly send?: { readonly chunk?: number; readonly delayMs?: number } & SendFaults;
  /** Or bytes written raw, one write per piece. */
  readonly raw?: readonly Uint8Array[];
  /**
   * Recorded by tracing the assignment's programs instead of by wirestep's receiver: `pair`,
   * client.py sending `files` (in this order, see {@link folderListedInOrder}) to server.py;
   * `server`, wirestep's sender sending `files` with `send` to server.py.
   */
  readonly traced?: 'pair' | 'server';
}

const POEM = te.encode(
  'Minha terra tem palmeiras,\nOnde canta o Sabiá;\nAs aves, que aqui gorjeiam,\nNão gorjeiam como lá.\n' +
    '(Gonçalves Dias, Canção do exílio)\n',
);
const EVERY_BYTE = Uint8Array.from({ length: 3 * 1024 * 1024 }, (_, i) => i % 256);
const LONG_NAME = `${'relatorio_final_da_disciplina_de_redes_'.repeat(3)}versao_2.txt`.padEnd(140, 'x');
const one = (name: string | Uint8Array, data: string | Uint8Array = 'conteúdo\n') =>
  encodeTransfer([{ name, data: typeof data === 'string' ? te.encode(data) : data }]);

/** The sample library. Lesson slugs are the file names in lessons/ without the language. */
const SAMPLES: readonly Sample[] = [
  {
    id: 'demo-10-files', category: 'normal', lesson: 'framing', expect: [],
    en: 'The assignment’s client.py sending its ten small test files, arquivo_1.txt to arquivo_10.txt, to server.py, both traced with wirestep trace: the writes are client.py’s send() calls (the count, then for each file its name, its size and its contents, under 1024 bytes), the reads are server.py’s recv() calls, which ask for one field at a time.',
    pt: 'O client.py do trabalho enviando seus dez arquivos de teste, de arquivo_1.txt a arquivo_10.txt, para o server.py, os dois rastreados com o wirestep trace: as escritas são as chamadas send() do client.py (a quantidade e, para cada arquivo, o nome, o tamanho e o conteúdo, que tem menos de 1024 bytes), e as leituras são as chamadas recv() do server.py, que pede um campo de cada vez.',
    files: referenceFiles().map((f) => ({ name: f.name, data: te.encode(f.text) })),
    traced: 'pair',
  },
  {
    id: 'zero-files', category: 'normal', lesson: 'framing', expect: [],
    en: 'A count of 0 and nothing else: four bytes make a complete, empty transfer.',
    pt: 'Quantidade 0 e mais nada: quatro bytes já formam uma transferência completa e vazia.',
    files: [],
  },
  {
    id: 'empty-file', category: 'normal', lesson: 'framing', expect: [],
    en: 'One empty file: a size of 0, so its name and size are followed at once by the end of the stream.',
    pt: 'Um arquivo vazio: tamanho 0, então logo depois do nome e do tamanho vem o fim do fluxo.',
    files: [{ name: 'vazio.txt', data: new Uint8Array(0) }],
  },
  {
    id: 'accented-name', category: 'normal', lesson: 'text-in-fields', expect: [],
    en: 'The name relatório_ação.txt: 18 characters, 21 bytes of UTF-8, so 107 spaces of padding, not 110.',
    pt: 'O nome relatório_ação.txt: 18 caracteres em 21 bytes de UTF-8, por isso 107 espaços de preenchimento, e não 110.',
    files: [{ name: 'relatório_ação.txt', data: te.encode('Relatório da ação de extensão.\n') }],
  },
  {
    id: 'spaces-in-name', category: 'normal', lesson: 'text-in-fields', expect: [],
    en: 'The name “  notas da aula.txt  ”: the trailing spaces vanish into the padding, and the reference server’s strip() also drops the leading ones.',
    pt: 'O nome “  notas da aula.txt  ”: os espaços do fim somem no preenchimento, e o strip() do servidor de referência tira também os do começo.',
    files: [{ name: '  notas da aula.txt  ', data: te.encode('Aula 7: sockets.\n') }],
  },
  {
    id: 'binary-3mib', category: 'normal', lesson: 'exact-reads', expect: [],
    en: 'A 3 MiB binary file holding every byte value, 0x00 to 0xFF, over and over, sent by the assignment’s client.py to server.py, both traced: client.py’s send() calls of 1024 bytes, server.py’s recv() calls of at most 1024. A payload is bytes, not text.',
    pt: 'Um arquivo binário de 3 MiB com todos os valores de byte, de 0x00 a 0xFF, repetidos, enviado pelo client.py do trabalho para o server.py, os dois rastreados: chamadas send() de 1024 bytes do client.py e recv() de no máximo 1024 do server.py. O conteúdo é feito de bytes, não de texto.',
    files: [{ name: 'todos_os_bytes.bin', data: EVERY_BYTE }],
    traced: 'pair',
  },
  {
    id: 'recut-7-byte-writes', category: 're-cut', lesson: 'byte-stream', expect: [],
    en: 'One file sent by wirestep’s sender in writes of at most 7 bytes (a staged --chunk 7) to the assignment’s server.py, traced: the reads are server.py’s recv() calls, which ask for whole fields, so they follow what server.py asks for, not the writes.',
    pt: 'Um arquivo enviado pelo cliente do wirestep em escritas de no máximo 7 bytes (um --chunk 7 provocado de propósito) para o server.py do trabalho, rastreado: as leituras são as chamadas recv() do server.py, que pede cada campo inteiro; por isso elas seguem o que o server.py pede, e não as escritas.',
    files: [{ name: 'poema.txt', data: POEM }],
    send: { chunk: 7 },
    traced: 'server',
  },
  {
    id: 'recut-write-per-field', category: 're-cut', lesson: 'byte-stream', expect: [],
    en: `The assignment’s client.py sending one small file to server.py, both traced: client.py makes one send() per field (4 + 128 + 8 + ${POEM.length} bytes), and server.py asks for each field with its own recv(), so here each read matches a write, because both programs cut at the fields, not because TCP kept the writes apart.`,
    pt: `O client.py do trabalho enviando um arquivo pequeno para o server.py, os dois rastreados: o client.py faz um send() por campo (4 + 128 + 8 + ${POEM.length} bytes) e o server.py pede cada campo com um recv() próprio; por isso aqui cada leitura coincide com uma escrita: os dois programas cortam nos campos, não é o TCP que manteve as escritas separadas.`,
    files: [{ name: 'poema.txt', data: POEM }],
    traced: 'pair',
  },
  {
    id: 'slow-link', category: 're-cut', lesson: 'exact-reads', expect: [],
    en: 'A slow link, staged: wirestep’s sender writes at most 32 bytes at a time, 15 ms apart (--chunk 32 --delay-ms 15), to the assignment’s server.py, traced. server.py’s recv(128) returns only the bytes that have arrived, so its recv_exact() calls recv() again until each field is whole.',
    pt: 'Um link lento, provocado de propósito: o cliente do wirestep escreve no máximo 32 bytes por vez, a cada 15 ms (--chunk 32 --delay-ms 15), para o server.py do trabalho, rastreado. O recv(128) do server.py devolve só os bytes que já chegaram, então o recv_exact() dele chama recv() de novo até completar cada campo.',
    files: [{ name: 'poema.txt', data: POEM }],
    send: { chunk: 32, delayMs: 15 },
    traced: 'server',
  },
  {
    id: 'name-128-bytes', category: 'malformed', lesson: 'text-in-fields', expect: ['name-unpadded'],
    en: 'A name of exactly 128 bytes: legal, but with no padding it looks just like a longer name that was cut.',
    pt: 'Um nome de exatamente 128 bytes: é válido, mas sem preenchimento fica igual a um nome maior que foi cortado.',
    files: [{ name: `${'n'.repeat(124)}.txt`, data: te.encode('ok\n') }],
  },
  {
    id: 'long-name-derails', category: 'malformed', lesson: 'text-in-fields', expect: ['name-unpadded', 'size-over-limit', 'truncated', 'fewer-files-than-count'],
    en: 'A 140-byte name sent whole, as the reference client does: the receiver takes bytes 128 to 135 of the name as the size and loses its place in the stream.',
    pt: 'Um nome de 140 bytes enviado inteiro, como faz o cliente de referência: o servidor lê os bytes 128 a 135 do nome como tamanho e se perde no fluxo.',
    // Raw, so all four writes go out before the receiver gives up: the capture is the same every time.
    // The size counts the payload's UTF-8 bytes: 'conteúdo\n' is 10 (ú is 2), not its 9 characters.
    raw: [encodeCount(1), encodeName(LONG_NAME), encodeSize(te.encode('conteúdo\n').length), te.encode('conteúdo\n')],
  },
  {
    id: 'count-larger-than-files', category: 'malformed', lesson: 'broken-streams', expect: ['fewer-files-than-count'],
    en: 'The count says 5 but only 2 files follow: the receiver waits for a third name that never comes.',
    pt: 'A quantidade diz 5, mas só vêm 2 arquivos: o servidor fica esperando um terceiro nome que nunca chega.',
    files: [{ name: 'a.txt', data: te.encode('primeiro\n') }, { name: 'b.txt', data: te.encode('segundo\n') }],
    send: { count: 5 },
  },
  {
    id: 'cut-in-count', category: 'malformed', lesson: 'broken-streams', expect: ['truncated'],
    en: 'The stream ends after 2 of the 4 count bytes.',
    pt: 'O fluxo termina depois de 2 dos 4 bytes da quantidade.',
    raw: [encodeCount(3).subarray(0, 2)],
  },
  {
    id: 'cut-in-name', category: 'malformed', lesson: 'broken-streams', expect: ['truncated', 'fewer-files-than-count'],
    en: 'The stream ends inside the first name, after 50 of its 128 bytes.',
    pt: 'O fluxo termina no meio do primeiro nome, depois de 50 dos seus 128 bytes.',
    raw: [encodeCount(1), encodeName('arquivo_1.txt').subarray(0, 50)],
  },
  {
    id: 'cut-in-size', category: 'malformed', lesson: 'broken-streams', expect: ['truncated', 'fewer-files-than-count'],
    en: 'The stream ends inside the first size, after 3 of its 8 bytes.',
    pt: 'O fluxo termina no meio do primeiro tamanho, depois de 3 dos seus 8 bytes.',
    raw: [encodeCount(1), encodeName('arquivo_1.txt'), encodeSize(33).subarray(0, 3)],
  },
  {
    id: 'cut-in-payload', category: 'malformed', lesson: 'broken-streams', expect: ['truncated', 'fewer-files-than-count'],
    en: 'The size announces 1,000 bytes and the stream ends after 400: the receiver keeps nothing of the file.',
    pt: 'O tamanho anuncia 1.000 bytes e o fluxo termina depois de 400: o servidor não guarda nada do arquivo.',
    raw: [encodeCount(1), encodeName('dados.bin'), encodeSize(1000), new Uint8Array(400).fill(0x41)],
  },
  {
    id: 'trailing-bytes', category: 'malformed', lesson: 'broken-streams', expect: ['trailing-bytes'],
    en: 'One complete file, then 12 more bytes that no field announced.',
    pt: 'Um arquivo completo e, depois dele, mais 12 bytes que nenhum campo anunciou.',
    raw: [one('a.txt', 'oi\n'), te.encode('sobrou aqui!')],
  },
  {
    id: 'invalid-utf8-name', category: 'malformed', lesson: 'text-in-fields', expect: ['name-invalid-utf8'],
    en: 'A name with bytes 0xFF 0xFE, which are never UTF-8: the reference server’s decode() fails here.',
    pt: 'Um nome com os bytes 0xFF 0xFE, que nunca são UTF-8: o decode() do servidor de referência falha aqui.',
    raw: [one(new Uint8Array([0x66, 0x6f, 0x74, 0x6f, 0xff, 0xfe, 0x2e, 0x6a, 0x70, 0x67]))],
  },
  {
    id: 'path-traversal-name', category: 'hostile', lesson: 'trust', expect: ['name-unsafe'],
    en: 'The name ../../etc/passwd_copy climbs out of the receiver’s folder: refused, its bytes read and dropped.',
    pt: 'O nome ../../etc/passwd_copy tenta sair da pasta do servidor: é recusado, e os bytes dele são lidos e descartados.',
    raw: [one('../../etc/passwd_copy', 'root:x:0:0:root:/root:/bin/bash\n')],
  },
  {
    id: 'absolute-name', category: 'hostile', lesson: 'trust', expect: ['name-unsafe'],
    en: 'The absolute name /tmp/evil.txt: refused.',
    pt: 'O nome absoluto /tmp/evil.txt: recusado.',
    raw: [one('/tmp/evil.txt')],
  },
  {
    id: 'nul-in-name', category: 'hostile', lesson: 'trust', expect: ['name-unsafe'],
    en: 'A name holding a NUL byte, nota\\0.txt: C functions would stop reading at the NUL. Refused.',
    pt: 'Um nome com um byte NUL, nota\\0.txt: funções em C parariam de ler no NUL. Recusado.',
    raw: [one('nota\0.txt')],
  },
  {
    id: 'html-script-name', category: 'hostile', lesson: 'trust', expect: ['name-unsafe'],
    en: 'The name <script>alert(1)</script>.txt: refused for its “/”, and shown everywhere as text, never run.',
    pt: 'O nome <script>alert(1)</script>.txt: recusado por causa da “/” e mostrado sempre como texto, nunca executado.',
    raw: [one('<script>alert(1)</script>.txt')],
  },
  {
    id: 'html-img-name', category: 'hostile', lesson: 'trust', expect: [],
    en: 'The name <img src=x onerror=alert(1)>: a legal file name, saved as is, and a trap for any page that does not escape it.',
    pt: 'O nome <img src=x onerror=alert(1)>: um nome de arquivo válido, salvo do jeito que veio, e uma armadilha para qualquer página que não faça escape.',
    raw: [one('<img src=x onerror=alert(1)>')],
  },
  {
    id: 'size-max', category: 'hostile', lesson: 'trust', expect: ['size-over-limit', 'truncated', 'fewer-files-than-count'],
    en: 'A size of 2^64-1 bytes: far above the receiver’s limit, so it ends the connection before reading any of it.',
    pt: 'Um tamanho de 2^64-1 bytes: muito acima do limite do servidor, que encerra a conexão antes de ler qualquer coisa.',
    raw: [encodeCount(1), encodeName('infinito.bin'), encodeSize(0xffff_ffff_ffff_ffffn), te.encode('0123456789')],
  },
];

/** Records one sample into `root`. */
async function record(root: string, work: string, s: Sample): Promise<void> {
  const folder = path.join(work, s.id);
  await mkdir(folder, { recursive: true });
  const files: FileToSend[] = [];
  for (const f of s.files ?? []) {
    const p = path.join(folder, `${files.length}`);
    await writeFile(p, f.data);
    files.push({ name: f.name, path: p, size: f.data.length });
  }
  const senderOptions = { ...s.send };
  await recordLocalTransfer({
    capturesDir: root,
    id: s.id,
    description: { en: s.en, pt: s.pt },
    sample: { category: s.category, lesson: s.lesson, expect: s.expect },
    // Samples live in git, which keeps no inodes: every byte in stream.bin.
    captureCopy: true,
    options: s.raw ? { raw: true } : storedSenderOptions(senderOptions),
    send: (port, writer) =>
      s.raw
        ? sendBytes({ port, pieces: s.raw, capturesDir: null, recordInto: writer })
        : sendFiles({ port, files, capturesDir: null, recordInto: writer, ...senderOptions }),
  });
}

/** Folders made outside the work folder ({@link folderListedInOrder}), removed at the end. */
const madeElsewhere: string[] = [];
/** The folders client.py sent ({@link folderListedInOrder}), shown in a sample as the course names it. */
const sendFolders = new Set<string>();

/** The names `os.listdir()` gives for `dir` in the Python that runs the assignment. */
function listedByPython(dir: string): string[] {
  const r = spawnSync(PYTHON, ['-c', 'import json, os, sys; print(json.dumps(os.listdir(sys.argv[1])))', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${PYTHON} cannot list ${dir}: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}

/**
 * A folder holding `files` that Python's `os.listdir()` lists in the order given, so client.py
 * sends them in that order and the lessons' offsets (arquivo_1.txt first, at 4) hold. client.py
 * sends in the file system's order: ext4 lists by a hash seeded per file system, tmpfs by creation
 * (newest first, or oldest first in other kernels). So: the work folder, then /dev/shm, each with
 * the files made in order and then in reverse. Where none lists them so, says so and goes on.
 */
async function folderListedInOrder(work: string, label: string, files: readonly { readonly name: string; readonly data: Uint8Array }[]): Promise<string> {
  const want = JSON.stringify(files.map((f) => f.name));
  const bases = [work, ...(existsSync('/dev/shm') ? ['/dev/shm'] : [])];
  let last = '';
  for (const base of bases) {
    const dir = await mkdtemp(path.join(base, `wirestep-${label}-`));
    if (base !== work) madeElsewhere.push(dir);
    for (const order of [files, [...files].reverse()]) {
      for (const f of order) await writeFile(path.join(dir, f.name), f.data);
      if (JSON.stringify(listedByPython(dir)) === want) {
        sendFolders.add(dir);
        return dir;
      }
      for (const f of order) await rm(path.join(dir, f.name));
    }
    last = dir;
  }
  for (const f of files) await writeFile(path.join(last, f.name), f.data);
  sendFolders.add(last);
  process.stdout.write(`warning: samples/${label}: no folder here lists the files in order; client.py sends them as ${JSON.stringify(listedByPython(last))}\n`);
  return last;
}

/**
 * A traced program as a bundled sample keeps it: its name, how it was recorded, its runtime and
 * its command line with this machine's paths taken out (`python3 server.py --port 0 --out
 * recebidos`, the folder sent as `arquivos_para_enviar`); not its pid or working folder, which
 * say nothing to a reader of the sample.
 */
function tidyProgram(p: ProgramInfo, work: string): ProgramInfo {
  if (p.via !== 'trace') return p;
  const shipped = new Set([ASSIGNMENT.client, ASSIGNMENT.server, SHA256_CLIENT]);
  const argv = p.argv?.map((a, i) => {
    if (i === 0 && /python/.test(path.basename(a))) return 'python3';
    if (shipped.has(a)) return path.basename(a);
    if (sendFolders.has(a)) return 'arquivos_para_enviar';
    if (a.startsWith(`${PROGRAMS}${path.sep}`)) return path.relative(packageRoot(), a);
    return a.startsWith(`${work}${path.sep}`) ? path.basename(a) : a;
  });
  return { name: p.name, via: p.via, ...(argv ? { argv } : {}), ...(p.runtime ? { runtime: p.runtime } : {}) };
}

/**
 * Makes the joined traced capture `dir` the sample `id` in `root`: its id, text and sample
 * information set, its programs tidied ({@link tidyProgram}), then moved in whole.
 */
async function adoptAsSample(dir: string, root: string, work: string, id: string, extra: Pick<CaptureMeta, 'description' | 'sample'>): Promise<string> {
  const meta = await readMeta(dir);
  if (meta.sides.join() !== 'sender,receiver') throw new Error(`samples/${id}: the two ends were not joined (${dir} has ${meta.sides.join(' and ')})`);
  const programs: Partial<Record<Side, ProgramInfo>> = {};
  for (const side of meta.sides) if (meta.programs?.[side]) programs[side] = tidyProgram(meta.programs[side], work);
  const { recorder: _recorder, ...rest } = meta;
  await writeCaptureMeta(dir, { ...rest, id, ...extra, programs });
  const target = path.join(root, id);
  await rm(target, { recursive: true, force: true });
  await rename(dir, target);
  return target;
}

/**
 * Records a `traced` sample into `captures` (a folder in `root`, on the same file system): the
 * assignment's server.py traced, receiving from client.py traced (`pair`) or from wirestep's
 * sender with the sample's staged options (`server`). Returns the joined capture's folder.
 */
async function recordTraced(captures: string, work: string, s: Sample): Promise<string> {
  const folder = await folderListedInOrder(work, s.id, s.files ?? []);
  const server = [PYTHON, ASSIGNMENT.server, '--port', '0', '--out', path.join(work, s.id, 'recebidos')];
  const common = { capturesDir: captures, env: PY_ENV, stdio: 'ignore' as const };
  let dirs: readonly string[];
  if (s.traced === 'pair') {
    const r = await tracePair({ ...common, server, client: [PYTHON, ASSIGNMENT.client, '--port', '{port}', '--folder', folder, '--no-test-files'] });
    if (r.client.exitCode !== 0) throw new Error(`samples/${s.id}: client.py exited with ${r.client.exitCode ?? r.client.signal}`);
    dirs = r.captures;
  } else {
    const files: FileToSend[] = (s.files ?? []).map((f) => ({ name: f.name, path: path.join(folder, f.name), size: f.data.length }));
    const r = await traceServer({
      ...common,
      server,
      connect: async (port) => {
        const sent = await sendFiles({ port, files, capturesDir: captures, joinable: true, captureCopy: true, ...s.send });
        return sent.captureDir ? [sent.captureDir] : [];
      },
    });
    dirs = r.captures;
  }
  if (dirs.length !== 1) throw new Error(`samples/${s.id}: expected one joined capture, found ${dirs.length}`);
  return dirs[0]!;
}

/** The sample made from a packet capture of the reference scripts themselves. */
const ON_THE_WIRE = {
  id: 'reference-on-the-wire',
  pcap: 'reference.pcapng',
  sample: { category: 're-cut', lesson: 'byte-stream', expect: [] } as SampleInfo,
  description: {
    en: 'The reference client.py sending to the reference server.py, captured on loopback with dumpcap and imported: its ten small files plus a 200 KiB one. There are no writes or reads here, only the TCP segments the network carried. The packet capture is in the sample’s folder, reference.pcapng, to open in Wireshark.',
    pt: 'O client.py de referência enviando para o server.py de referência, capturado no loopback com o dumpcap e importado: os dez arquivos pequenos dele e mais um de 200 KiB. Aqui não há escritas nem leituras, só os segmentos TCP que a rede levou. A captura de pacotes está na pasta da amostra, reference.pcapng, pronta para abrir no Wireshark.',
  },
};

/** The sample of client.py and server.py, both traced, while dumpcap captured the same transfer. */
const THREE_VIEWS: OnTheWire = {
  id: 'three-views',
  pcap: 'packets.pcapng',
  sample: { category: 're-cut', lesson: 'segments', expect: [] },
  description: {
    en: 'The assignment’s client.py sending its ten files plus a 200 KiB photo to server.py, both traced with wirestep trace while dumpcap captured the same transfer on loopback: client.py’s send() calls, the segments on the wire and server.py’s recv() calls, three cuts of the same bytes. The packet capture is in the sample’s folder, packets.pcapng.',
    pt: 'O client.py do trabalho enviando seus dez arquivos e mais uma foto de 200 KiB para o server.py, os dois rastreados com o wirestep trace enquanto o dumpcap capturava a mesma transferência no loopback: as chamadas send() do client.py, os segmentos na rede e as chamadas recv() do server.py, três cortes dos mesmos bytes. A captura de pacotes está na pasta da amostra, packets.pcapng.',
  },
  get files() {
    return [...referenceFiles().map((r) => ({ name: r.name, data: te.encode(r.text) })), { name: 'foto.jpg', data: PHOTO }];
  },
  server: ASSIGNMENT.server,
};

/** The 200 KiB file both packet-capture samples send; deterministic, so recordings differ only where TCP and the clock do. */
const PHOTO = Uint8Array.from({ length: 200 * 1024 }, (_, i) => (i * 31 + (i >> 8)) & 0xff);

/** Whether `tool` runs here; says why a sample is skipped when it does not. */
function runs(tool: string, args: readonly string[], sample: string): boolean {
  if (spawnSync(tool, args).status === 0) return true;
  process.stdout.write(`skipped samples/${sample}: ${tool} cannot run here\n`);
  return false;
}

/** Runs `during` while dumpcap captures TCP port `port` on loopback into `pcap`, then stops it. */
async function capturingLoopback(pcap: string, port: number, during: () => Promise<void>, lastPacket = waitForServerFin): Promise<void> {
  const dumpcap = await startDumpcap(pcap, port);
  try {
    await during();
    // dumpcap writes the last packets a little after they pass: the server's FIN (or RST) is the last one.
    await lastPacket(pcap, port);
  } finally {
    dumpcap.kill('SIGINT');
    if (dumpcap.exitCode === null) await once(dumpcap, 'exit');
  }
}

/** Keeps the packet capture `pcap` in the sample's folder, readable by all (dumpcap makes it owner-only). */
async function keepPcap(pcap: string, sampleDir: string): Promise<void> {
  const kept = path.join(sampleDir, path.basename(pcap));
  await copyFile(pcap, kept);
  await chmod(kept, 0o644);
}

/** A sample of client.py sending to a traced server, both traced, while dumpcap captured the loopback. */
interface OnTheWire {
  readonly id: string;
  readonly pcap: string;
  readonly sample: SampleInfo;
  readonly description: { readonly en: string; readonly pt: string };
  readonly files: readonly { readonly name: string; readonly data: Uint8Array }[];
  /** The server program and its arguments after `--port P --out DIR`. */
  readonly server: string;
  readonly serverArgs?: readonly string[];
  /** Longest wait for the server to finish, in ms (tracePair's default is 30 s). */
  readonly waitMs?: number;
}

/** A program under scripts/programs/, shipped for samples only. */
const PROGRAMS = path.join(packageRoot(), 'scripts', 'programs');

/** Flow control: client.py sending 1 MiB to slow_server.py, whose small receive buffer fills. */
const SLOW_RECEIVER: OnTheWire = {
  id: 'slow-receiver',
  pcap: 'packets.pcapng',
  sample: { category: 're-cut', lesson: 'flow-control', expect: [] },
  description: {
    en: 'The assignment’s client.py sending a 1 MiB file to slow_server.py (scripts/programs/), which speaks server.py’s protocol but sets a small receive buffer (SO_RCVBUF 8192, before listen()) and sleeps half a second after every 128 recv() calls. Both are traced, and dumpcap captured the loopback: the server’s window shrinks to zero, client.py’s kernel probes it, the server announces a window update when it has read, and client.py’s send() calls wait meanwhile. The packet capture is in the sample’s folder, packets.pcapng.',
    pt: 'O client.py do trabalho enviando um arquivo de 1 MiB para o slow_server.py (scripts/programs/), que fala o protocolo do server.py, mas usa um buffer de recepção pequeno (SO_RCVBUF 8192, antes do listen()) e dorme meio segundo a cada 128 chamadas recv(). Os dois estão rastreados e o dumpcap capturou o loopback: a janela do servidor encolhe até zero, o kernel do client.py sonda essa janela, o servidor anuncia uma atualização de janela quando lê, e enquanto isso as chamadas send() do client.py esperam. A captura de pacotes está na pasta da amostra, packets.pcapng.',
  },
  files: [{ name: 'dados.bin', data: Uint8Array.from({ length: 1024 * 1024 }, (_, i) => (i * 7 + (i >> 10)) & 0xff) }],
  server: path.join(PROGRAMS, 'slow_server.py'),
  serverArgs: ['--rcvbuf', '8192', '--pause', '0.5', '--every', '128', '--mss', '1460'],
  waitMs: 120_000,
};

/**
 * Records client.py sending to a server program, both traced, while dumpcap captures the
 * loopback, then adds the packets as the joined capture's wire lane. Skipped, keeping the sample
 * there is, where dumpcap or python3 cannot run.
 */
async function recordOnWire(root: string, captures: string, work: string, s: OnTheWire): Promise<boolean> {
  if (!runs('dumpcap', ['-v'], s.id) || !runs(PYTHON, ['--version'], s.id)) return false;
  const dir = path.join(work, s.id);
  await mkdir(dir, { recursive: true });
  const folder = await folderListedInOrder(work, s.id, s.files);
  const pcap = path.join(dir, s.pcap);
  // dumpcap filters on the port, so the server is told one; listening sends nothing before the client.
  const port = await freePort();
  let joined: readonly string[] = [];
  await capturingLoopback(pcap, port, async () => {
    const r = await tracePair({
      capturesDir: captures,
      env: PY_ENV,
      stdio: 'ignore',
      server: [PYTHON, s.server, '--port', String(port), '--out', path.join(dir, 'recebidos'), ...(s.serverArgs ?? [])],
      client: [PYTHON, ASSIGNMENT.client, '--port', '{port}', '--folder', folder, '--no-test-files'],
      ...(s.waitMs ? { waitMs: s.waitMs } : {}),
    });
    if (r.client.exitCode !== 0) throw new Error(`samples/${s.id}: client.py exited with ${r.client.exitCode ?? r.client.signal}`);
    joined = r.captures;
  });
  if (joined.length !== 1) throw new Error(`samples/${s.id}: expected one joined capture, found ${joined.length}`);
  const target = await adoptAsSample(joined[0]!, root, work, s.id, { description: s.description, sample: s.sample });
  await addWireLane(pcap, target);
  await keepPcap(pcap, target);
  return true;
}

/** The client of lesson 14: client.py with a SHA-256 after each payload. */
const SHA256_CLIENT = path.join(packageRoot(), 'scripts', 'programs', 'client_sha256.py');

/** A sample of lessons 11 and 14: a traced server.py and its peer, with dumpcap on the loopback. */
interface PacketSample {
  readonly id: string;
  readonly sample: SampleInfo;
  readonly description: { readonly en: string; readonly pt: string };
  /** Whose program sends: wirestep's sender with staged faults, or a traced Python client. */
  readonly sender: { readonly faults: { readonly chunk?: number; readonly delayMs?: number } & SendFaults } | { readonly client: string };
  readonly files: readonly { readonly name: string; readonly data: Uint8Array }[];
}

const REFERENCE_1_2 = referenceFiles().slice(0, 2).map((f) => ({ name: f.name, data: te.encode(f.text) }));

/** The samples recorded as {@link recordPacketSample} does. */
const PACKET_SAMPLES: readonly PacketSample[] = [
  {
    id: 'reset-unread-bytes',
    sample: { category: 'malformed', lesson: 'connections', expect: ['trailing-bytes'] },
    description: {
      en: 'wirestep’s sender sending arquivo_1.txt (33 bytes) to the assignment’s server.py, traced, with a size that lies (--lie-size 3) in writes of 8 bytes, 20 ms apart, while dumpcap captured the loopback. server.py reads 3 bytes of contents, counts its one file as done and closes with bytes still unread: Linux answers with an RST instead of a FIN, and the sender’s next write fails. The packet capture is in the sample’s folder, packets.pcapng.',
      pt: 'O cliente do wirestep enviando o arquivo_1.txt (33 bytes) para o server.py do trabalho, rastreado, com um tamanho mentiroso (--lie-size 3), em escritas de 8 bytes a cada 20 ms, enquanto o dumpcap capturava o loopback. O server.py lê 3 bytes de conteúdo, dá o seu único arquivo por terminado e fecha o socket com bytes ainda não lidos: o Linux responde com um RST em vez de um FIN, e a próxima escrita do cliente falha. A captura de pacotes está na pasta da amostra, packets.pcapng.',
    },
    sender: { faults: { lieSize: 3n, chunk: 8, delayMs: 20 } },
    files: REFERENCE_1_2.slice(0, 1),
  },
  {
    id: 'sha256-client',
    sample: { category: 'malformed', lesson: 'integrity', expect: ['name-invalid-utf8', 'name-unsafe', 'truncated', 'fewer-files-than-count'] },
    description: {
      en: 'client_sha256.py, client.py with a 32-byte SHA-256 after each file’s contents, sending arquivo_1.txt and arquivo_2.txt to the assignment’s server.py, both traced while dumpcap captured the loopback. server.py does not know the new field: it reads the hash of file 1 as the start of the name of file 2, and derails. The packet capture is in the sample’s folder, packets.pcapng.',
      pt: 'O client_sha256.py, o client.py com um SHA-256 de 32 bytes depois do conteúdo de cada arquivo, enviando o arquivo_1.txt e o arquivo_2.txt para o server.py do trabalho, os dois rastreados enquanto o dumpcap capturava o loopback. O server.py não conhece o campo novo: lê o hash do arquivo 1 como o começo do nome do arquivo 2 e sai dos trilhos. A captura de pacotes está na pasta da amostra, packets.pcapng.',
    },
    sender: { client: SHA256_CLIENT },
    files: REFERENCE_1_2,
  },
];

/**
 * Records `s`: server.py traced on a port dumpcap watches, sent to by wirestep's sender with the
 * sample's staged faults or by a traced Python client; the two ends joined, the packets added as
 * the wire lane and kept as packets.pcapng. Skipped where dumpcap or python3 cannot run.
 */
async function recordPacketSample(root: string, captures: string, work: string, s: PacketSample): Promise<boolean> {
  if (!runs('dumpcap', ['-v'], s.id) || !runs(PYTHON, ['--version'], s.id)) return false;
  const dir = path.join(work, s.id);
  await mkdir(dir, { recursive: true });
  const folder = await folderListedInOrder(work, s.id, s.files);
  const pcap = path.join(dir, 'packets.pcapng');
  const port = await freePort();
  const common = { capturesDir: captures, env: PY_ENV, stdio: 'ignore' as const };
  const server = [PYTHON, ASSIGNMENT.server, '--port', String(port), '--out', path.join(dir, 'recebidos')];
  let joined: readonly string[] = [];
  await capturingLoopback(pcap, port, async () => {
    if ('client' in s.sender) {
      const r = await tracePair({ ...common, server, client: [PYTHON, s.sender.client, '--port', '{port}', '--folder', folder] });
      if (r.client.exitCode !== 0) throw new Error(`samples/${s.id}: ${path.basename(s.sender.client)} exited with ${r.client.exitCode ?? r.client.signal}`);
      joined = r.captures;
    } else {
      const { faults } = s.sender;
      const files: FileToSend[] = s.files.map((f) => ({ name: f.name, path: path.join(folder, f.name), size: f.data.length }));
      const r = await traceServer({
        ...common,
        server,
        connect: async (p) => {
          const sent = await sendFiles({ port: p, files, capturesDir: captures, joinable: true, ...faults });
          return sent.captureDir ? [sent.captureDir] : [];
        },
      });
      joined = r.captures;
    }
  }, waitForServerClose);
  if (joined.length !== 1) throw new Error(`samples/${s.id}: expected one joined capture, found ${joined.length}`);
  const target = await adoptAsSample(joined[0]!, root, work, s.id, { description: s.description, sample: s.sample });
  await addWireLane(pcap, target);
  await keepPcap(pcap, target);
  return true;
}

/**
 * Records the reference client.py sending to the reference server.py on loopback, captured by
 * dumpcap, and imports the pcapng as a sample; the pcapng is kept in the sample's folder.
 * Skipped, keeping the sample there is, where dumpcap or python3 cannot run.
 */
async function recordOnTheWire(root: string, work: string): Promise<boolean> {
  if (!runs('dumpcap', ['-v'], ON_THE_WIRE.id) || !runs(PYTHON, ['--version'], ON_THE_WIRE.id)) return false;
  const dir = path.join(work, ON_THE_WIRE.id);
  const folder = path.join(dir, 'enviar');
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'foto.jpg'), PHOTO);
  const pcap = path.join(dir, ON_THE_WIRE.pcap);
  // Listening sends nothing, so the server may start before the capture and pick its own port.
  const server = await startAssignmentServer(path.join(dir, 'recebidos'));
  const { port } = server;
  try {
    await capturingLoopback(pcap, port, async () => {
      await runAssignmentClient(port, folder);
      // The ten test files and the photo, in whatever order os.listdir() gave them.
      await server.output.waitFor('salvo com sucesso', { count: 11 });
    });
  } finally {
    await server.stop();
  }
  const target = path.join(root, ON_THE_WIRE.id);
  await rm(target, { recursive: true, force: true });
  const result = await importPcap(pcap, { capturesDir: root, port, id: () => ON_THE_WIRE.id, extra: { description: ON_THE_WIRE.description, sample: ON_THE_WIRE.sample } });
  if (result.connections.length !== 1) throw new Error(`expected one connection in ${pcap}, found ${result.connections.length}`);
  await keepPcap(pcap, target);
  return true;
}

const root = path.join(packageRoot(), 'samples');
const only = new Set(process.argv.slice(2));
const work = await mkdtemp(path.join(tmpdir(), 'wirestep-samples-'));
// Traced captures are joined here, then renamed into samples/: one file system, no copy.
const captures = await mkdtemp(path.join(root, '.recording-'));
try {
  for (const s of SAMPLES) {
    if (only.size > 0 && !only.has(s.id)) continue;
    if (s.traced) {
      if (!runs(PYTHON, ['--version'], s.id)) continue;
      const dir = await recordTraced(captures, work, s);
      await adoptAsSample(dir, root, work, s.id, { description: { en: s.en, pt: s.pt }, sample: { category: s.category, lesson: s.lesson, expect: s.expect } });
    } else {
      await rm(path.join(root, s.id), { recursive: true, force: true });
      await record(root, work, s);
    }
    process.stdout.write(`recorded samples/${s.id}\n`);
  }
  if ((only.size === 0 || only.has(ON_THE_WIRE.id)) && (await recordOnTheWire(root, work))) {
    process.stdout.write(`recorded samples/${ON_THE_WIRE.id}\n`);
  }
  for (const s of [THREE_VIEWS, SLOW_RECEIVER]) {
    if ((only.size === 0 || only.has(s.id)) && (await recordOnWire(root, captures, work, s))) process.stdout.write(`recorded samples/${s.id}\n`);
  }
  for (const p of PACKET_SAMPLES) {
    if ((only.size === 0 || only.has(p.id)) && (await recordPacketSample(root, captures, work, p))) process.stdout.write(`recorded samples/${p.id}\n`);
  }
} finally {
  await rm(captures, { recursive: true, force: true });
  for (const dir of [work, ...madeElsewhere]) await rm(dir, { recursive: true, force: true });
}
