/**
 * `npm run samples`: records the bundled sample library again, each sample a real transfer over
 * loopback recorded by wirestep's own receiver. Well-formed transfers are sent by wirestep's sender
 * (with staged faults where a sample needs one); malformed and hostile streams are written raw to
 * a real socket. Deterministic apart from timestamps, ports and where TCP cut the reads.
 */
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type SampleInfo, storedSenderOptions } from '../src/capture/index.js';
import { addWireLane, importPcap } from '../src/capture/pcap-import.js';
import { type FileToSend, type SendFaults, recordLocalTransfer, referenceFiles, sendBytes, sendFiles } from '../src/net/index.js';
import { encodeCount, encodeName, encodeSize, encodeTransfer } from '../src/protocol/index.js';
import { packageRoot } from '../src/web/paths.js';
import { PYTHON, freePort, runAssignmentClient, startAssignmentServer, startDumpcap, waitForServerFin } from './lib/harness.js';

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
    en: 'The reference client’s transfer: ten small text files, arquivo_1.txt to arquivo_10.txt, sent in 1024-byte writes.',
    pt: 'A transferência do cliente de referência: dez arquivos de texto pequenos, de arquivo_1.txt a arquivo_10.txt, enviados em escritas de 1024 bytes.',
    files: referenceFiles().map((f) => ({ name: f.name, data: te.encode(f.text) })),
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
    en: 'A 3 MiB binary file holding every byte value, 0x00 to 0xFF, over and over: a payload is bytes, not text.',
    pt: 'Um arquivo binário de 3 MiB com todos os valores de byte, de 0x00 a 0xFF, repetidos: o conteúdo é feito de bytes, não de texto.',
    files: [{ name: 'todos_os_bytes.bin', data: EVERY_BYTE }],
  },
  {
    id: 'recut-7-byte-writes', category: 're-cut', lesson: 'byte-stream', expect: [],
    en: 'One file sent in writes of at most 7 bytes: the receiver’s reads do not follow the sender’s writes.',
    pt: 'Um arquivo enviado em escritas de no máximo 7 bytes: as leituras do servidor não seguem as escritas do cliente.',
    files: [{ name: 'poema.txt', data: POEM }],
    send: { chunk: 7 },
  },
  {
    id: 'recut-write-per-field', category: 're-cut', lesson: 'byte-stream', expect: [],
    en: `One file sent with exactly one write per field (4 + 128 + 8 + ${POEM.length} bytes): the receiver may still read them glued together or split.`,
    pt: `Um arquivo enviado com exatamente uma escrita por campo (4 + 128 + 8 + ${POEM.length} bytes): mesmo assim o servidor pode ler tudo grudado ou picado.`,
    files: [{ name: 'poema.txt', data: POEM }],
    send: { writePerField: true },
  },
  {
    id: 'slow-link', category: 're-cut', lesson: 'exact-reads', expect: [],
    en: 'A slow link: 32-byte writes 15 ms apart, so the receiver gets many small reads and must keep reading until each field is whole.',
    pt: 'Um link lento: escritas de 32 bytes a cada 15 ms, então o servidor recebe muitas leituras pequenas e precisa continuar lendo até completar cada campo.',
    files: [{ name: 'poema.txt', data: POEM }],
    send: { chunk: 32, delayMs: 15 },
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
    options: s.raw ? { raw: true } : storedSenderOptions(senderOptions),
    send: (port, writer) =>
      s.raw
        ? sendBytes({ port, pieces: s.raw, capturesDir: null, recordInto: writer })
        : sendFiles({ port, files, capturesDir: null, recordInto: writer, ...senderOptions }),
  });
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

/** The sample recorded by wirestep on both sides while dumpcap captured the same transfer. */
const THREE_VIEWS = {
  id: 'three-views',
  pcap: 'packets.pcapng',
  sample: { category: 're-cut', lesson: 'byte-stream', expect: [] } as SampleInfo,
  description: {
    en: 'The reference client’s ten files plus a 200 KiB photo, recorded by wirestep on both sides while dumpcap captured the same transfer on loopback: the sender’s writes, the segments on the wire and the receiver’s reads, three cuts of the same bytes. The packet capture is in the sample’s folder, packets.pcapng.',
    pt: 'Os dez arquivos do cliente de referência e mais uma foto de 200 KiB, gravados pelo wirestep dos dois lados enquanto o dumpcap capturava a mesma transferência no loopback: as escritas do cliente, os segmentos na rede e as leituras do servidor, três cortes dos mesmos bytes. A captura de pacotes está na pasta da amostra, packets.pcapng.',
  },
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
async function capturingLoopback(pcap: string, port: number, during: () => Promise<void>): Promise<void> {
  const dumpcap = await startDumpcap(pcap, port);
  try {
    await during();
    // dumpcap writes the last packets a little after they pass: the server's FIN is the last one.
    await waitForServerFin(pcap, port);
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

/**
 * Records a transfer with wirestep on both sides while dumpcap captures the loopback, then adds
 * the packets as the capture's wire lane. Skipped where dumpcap cannot run.
 */
async function recordThreeViews(root: string, work: string): Promise<boolean> {
  if (!runs('dumpcap', ['-v'], THREE_VIEWS.id)) return false;
  await rm(path.join(root, THREE_VIEWS.id), { recursive: true, force: true });
  const dir = path.join(work, THREE_VIEWS.id);
  await mkdir(dir, { recursive: true });
  const files: FileToSend[] = [];
  for (const f of [...referenceFiles().map((r) => ({ name: r.name, data: te.encode(r.text) })), { name: 'foto.jpg', data: PHOTO }]) {
    const p = path.join(dir, f.name);
    await writeFile(p, f.data);
    files.push({ name: f.name, path: p, size: f.data.length });
  }
  const pcap = path.join(dir, THREE_VIEWS.pcap);
  const port = await freePort();
  await capturingLoopback(pcap, port, async () => {
    await recordLocalTransfer({
      capturesDir: root,
      id: THREE_VIEWS.id,
      port,
      description: THREE_VIEWS.description,
      sample: THREE_VIEWS.sample,
      options: { chunk: 1024, delayMs: 0 },
      send: (at, writer) => sendFiles({ port: at, files, capturesDir: null, recordInto: writer }),
    });
  });
  const target = path.join(root, THREE_VIEWS.id);
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
try {
  for (const s of SAMPLES) {
    if (only.size > 0 && !only.has(s.id)) continue;
    await rm(path.join(root, s.id), { recursive: true, force: true });
    await record(root, work, s);
    process.stdout.write(`recorded samples/${s.id}\n`);
  }
  if ((only.size === 0 || only.has(ON_THE_WIRE.id)) && (await recordOnTheWire(root, work))) {
    process.stdout.write(`recorded samples/${ON_THE_WIRE.id}\n`);
  }
  if ((only.size === 0 || only.has(THREE_VIEWS.id)) && (await recordThreeViews(root, work))) {
    process.stdout.write(`recorded samples/${THREE_VIEWS.id}\n`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
