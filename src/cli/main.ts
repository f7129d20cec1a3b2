#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants, networkInterfaces } from 'node:os';
import path from 'node:path';
import { AssignmentCopyError, assignmentPaths, copyAssignment } from '../assignment/index.js';
import { CaptureError, CaptureReader, CaptureStore, type LiveEvent, SENDER_OPTIONS, type SenderOptionSpec, TOOL, resolveCapture } from '../capture/index.js';
import { DEFAULT_MSS, MAX_MSS, exportPcapng } from '../capture/pcap-export.js';
import { addWireLane, importPcap } from '../capture/pcap-import.js';
import { CaptureFileError } from '../wire/pcap.js';
import { type CheckReport, REPORT_FORMATS, type ReportFormat } from '../check/types.js';
import { substitute } from '../check/program.js';
import { packageRoot } from '../web/paths.js';
import { type LiveInbox, RECEIVER_DEFAULTS, listFiles, openLiveInbox, runDemo, sendFiles, startReceiver, transferSize } from '../net/index.js';
import { type Lang, NAME_LENGTH, countedKey, describeReason, escapeControls, formatInteger, protocolText } from '../protocol/index.js';
import type { StepBy } from '../web/steps.js';
import { CLI_WORDS, type CliWord, envLang, say } from './words.js';
import { argvLang, translateHelp } from './help-words.js';

// The site, the dump and the progress bar are loaded by the commands that use them: a sender
// or receiver starts without them, 0.2 s sooner.
const site = async () => ({ ...(await import('../web/app.js')), ...(await import('../web/live.js')), ...(await import('../web/roles.js')) });
const dumping = async () => ({ ...(await import('../web/steps.js')), ...(await import('../web/i18n.js')), ...(await import('./render.js')) });

/** Exit codes: 0 done, 1 the transfer or capture went wrong, 2 the command line was wrong. */
const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

const UNITS: Readonly<Record<string, bigint>> = { '': 1n, k: 1024n, m: 1024n ** 2n, g: 1024n ** 3n, t: 1024n ** 4n };

/** "4G", "512M", "1000": a byte count with an optional binary unit. */
function byteSize(value: string): bigint {
  const m = /^(\d+)\s*([kmgt]?)(?:i?b)?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a byte count such as 1000, 512M or 4G');
  return BigInt(m[1]!) * UNITS[m[2]!.toLowerCase()]!;
}

function stamp(): string {
  return new Date().toTimeString().slice(0, 8);
}

function logLine(line: string): void {
  process.stdout.write(`${stamp()} ${escapeControls(line)}\n`);
}

/** The language of what the running command prints: its `--lang`, else LC_ALL / LC_MESSAGES / LANG. */
let lang: Lang = envLang();

/** Line `key` of the commands' words in the command's language. */
function words(key: CliWord, values: Readonly<Record<string, string | number | bigint>> = {}): string {
  return say(lang, key, values);
}

/** Like {@link words}, but line `key.one` when `count` is 1 and the table has it. */
function wordsN(key: CliWord, count: number | bigint, values: Readonly<Record<string, string | number | bigint>> = {}): string {
  return say(lang, countedKey(CLI_WORDS[lang], key, count), values);
}

/** `--lang`, defaulting to the environment's language. */
function langOption(help: string): Option {
  return new Option('--lang <lang>', `${help} (default: pt when LC_ALL or LANG is pt_*, else en)`).choices(['en', 'pt']);
}

function fail(message: string, code: number = EXIT.failed): never {
  process.stderr.write(`wirestep: ${escapeControls(message)}\n`);
  process.exit(code);
}

// `wirestep dump … | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT.ok);
  throw err;
});

/**
 * The capture a command names by folder or id, looked up in `captures`, else in ./captures and
 * then the bundled samples; exits with its error when there is none.
 */
async function openCapture(ref: string, captures: string | undefined): Promise<CaptureReader> {
  try {
    const roots = captures ? [captures] : ['captures', path.join(packageRoot(), 'samples')];
    return await CaptureReader.open(await resolveCapture(ref, roots));
  } catch (err) {
    fail(err instanceof CaptureError ? err.message : String(err));
  }
}

interface SendCommandOptions {
  host: string;
  port: number;
  chunk: number;
  delayMs: number;
  captures: string;
  capture: boolean;
  captureCopy?: boolean;
  jitterMs?: number;
  writePerField?: boolean;
  stopAfter?: number;
  lieSize?: bigint;
  padNameTo?: number;
  count?: number;
}

/** The `wirestep send` option of the sender option `key`, parsed and defaulted as {@link SENDER_OPTIONS} says. */
function senderOption(key: SenderOptionSpec['key']): Option {
  const spec = SENDER_OPTIONS.find((s) => s.key === key)!;
  const help = spec.fault ? `fault: ${spec.help}` : spec.help;
  const value = spec.value;
  if (value.type === 'flag') return new Option(spec.flag, help);
  const option = new Option(`${spec.flag} ${value.arg}`, help);
  if (value.type === 'bytes') option.argParser(byteSize);
  else option.argParser(integer(value.min, value.max));
  // A fault's default is "not staged", which its help need not say.
  return spec.fault || spec.default === undefined ? option : option.default(spec.default);
}

/** The sender options given on the command line, as `sendFiles` takes them. */
function senderSettings(opts: SendCommandOptions): Partial<Pick<SendCommandOptions, SenderOptionSpec['key']>> {
  const out: Record<string, unknown> = {};
  for (const { key } of SENDER_OPTIONS) if (opts[key] !== undefined && opts[key] !== false) out[key] = opts[key];
  return out;
}

const program = new Command();
program
  .name('wirestep')
  .description('Record, replay and explain the course’s socket file transfer, byte by byte.')
  .version(TOOL.version)
  .showHelpAfterError()
  // A command line commander rejects is a usage error: exit 2, as the README says. Subcommands
  // made after this inherit it.
  .exitOverride((err) => {
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  })
  // Every command speaks its --lang, or the environment's language.
  .hook('preAction', (_program, command) => {
    const chosen = (command.opts() as { lang?: Lang }).lang;
    if (chosen !== undefined) lang = chosen;
    else if (command.options.some((o) => o.long === '--lang')) command.setOptionValue('lang', lang);
  });

program
  .command('receive')
  .description('receive files like the reference server.py, recording one capture per connection')
  .option('--host <address>', 'address to listen on', '127.0.0.1')
  .option('--port <port>', 'TCP port', integer(0, 65535), 8181)
  .option('--out <dir>', 'folder the received files are saved in', 'received')
  .option('--captures <dir>', 'folder for the captures', 'captures')
  .option('--no-capture', 'record nothing (to measure what recording costs)')
  .option('--capture-copy', 'copy each payload into the capture instead of linking the saved file (use when the saved files will be edited)')
  .option('--max-file-size <bytes>', 'largest size a file may declare (default: 4G)', byteSize)
  .option('--max-files <n>', 'largest file count a transfer may announce', integer(0, 0xffff_ffff), RECEIVER_DEFAULTS.maxFiles)
  .option('--max-total-bytes <bytes>', 'largest sum of sizes one connection may announce (default: 16G)', byteSize)
  .option('--idle-timeout <seconds>', 'cut a connection silent for this long (0: never)', integer(0), RECEIVER_DEFAULTS.idleTimeoutMs / 1000)
  .option('--max-connections <n>', 'connections served at once; as many more wait unread for a place, the next is closed at once and logged', integer(1, 100_000), RECEIVER_DEFAULTS.maxConnections)
  .option('--min-rate <bytes/s>', 'cut a connection whose average rate is under this once --rate-grace has passed (0: never)', integer(0), RECEIVER_DEFAULTS.minRate)
  .option('--rate-grace <seconds>', 'time from the accept before --min-rate applies', integer(0), RECEIVER_DEFAULTS.rateGraceMs / 1000)
  .option('--header-timeout <seconds>', 'cut a connection whose count, name and size fields of a file take longer (0: never)', integer(0), RECEIVER_DEFAULTS.headerTimeoutMs / 1000)
  .option('--displace-after <seconds>', 'when full and a sender waits, close the slowest connection open this long to make room (0: never)', integer(0), RECEIVER_DEFAULTS.displaceAfterMs / 1000)
  .addOption(langOption('language of the log lines'))
  .action(async (opts: { host: string; port: number; out: string; captures: string; capture: boolean; captureCopy?: boolean; maxFileSize?: bigint; maxFiles: number; maxTotalBytes?: bigint; idleTimeout: number; maxConnections: number; minRate: number; rateGrace: number; headerTimeout: number; displaceAfter: number }) => {
    let receiver;
    try {
      receiver = await startReceiver({
        host: opts.host,
        port: opts.port,
        outDir: opts.out,
        capturesDir: opts.capture ? opts.captures : null,
        captureCopy: opts.captureCopy === true,
        maxFileSize: opts.maxFileSize ?? RECEIVER_DEFAULTS.maxFileSize,
        idleTimeoutMs: opts.idleTimeout * 1000,
        maxFiles: opts.maxFiles,
        maxTotalBytes: opts.maxTotalBytes ?? RECEIVER_DEFAULTS.maxTotalBytes,
        maxConnections: opts.maxConnections,
        minRate: opts.minRate,
        rateGraceMs: opts.rateGrace * 1000,
        headerTimeoutMs: opts.headerTimeout * 1000,
        displaceAfterMs: opts.displaceAfter * 1000,
        log: logLine,
        lang,
      });
    } catch (err) {
      fail(words('cannotListen', { host: opts.host, port: opts.port, message: (err as Error).message }));
    }
    // Handlers first: whoever reads the line below may signal at once.
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logLine(words('closing', { signal }));
      void receiver.close().then(() => {
        logLine(words('closed'));
        process.exit(EXIT.ok);
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    const { address, port } = receiver.address;
    logLine(words(opts.capture ? 'listening' : 'listeningNoCaptures', { address, port, out: path.resolve(opts.out), captures: path.resolve(opts.captures) }));
    logLine(words('stopWith'));
  });

const send = program
  .command('send')
  .description('send files or folders like the reference client.py, recording a capture')
  .argument('<paths...>', 'files, or folders whose files are sent')
  .option('--host <address>', 'receiver address', '127.0.0.1')
  .option('--port <port>', 'receiver port', integer(1, 65535), 8181)
  .addOption(senderOption('chunk'))
  .addOption(senderOption('delayMs'))
  .option('--captures <dir>', 'folder for the capture', 'captures')
  .option('--no-capture', 'record nothing')
  .option('--capture-copy', 'copy each payload into the capture instead of cloning or linking the file sent')
  .addOption(langOption('language of what it prints'));
for (const spec of SENDER_OPTIONS) if (spec.fault) send.addOption(senderOption(spec.key));
send
  .action(async (paths: string[], opts: SendCommandOptions) => {
    let files;
    try {
      files = await listFiles(paths, opts.padNameTo === undefined ? NAME_LENGTH : Number.MAX_SAFE_INTEGER);
    } catch (err) {
      fail((err as Error).message, EXIT.usage);
    }
    const total = transferSize(files, opts.padNameTo ?? NAME_LENGTH);
    const cliProgress = process.stdout.isTTY && total >= 1 << 20 ? (await import('cli-progress')).default : null;
    const bar = cliProgress
      ? new cliProgress.SingleBar({ format: words('sendProgress'), hideCursor: true }, cliProgress.Presets.shades_classic)
      : null;
    const n = (v: number | bigint): string => formatInteger(v, lang);
    logLine(wordsN('sending', files.length, { n: n(files.length), bytes: n(total), host: opts.host, port: opts.port }));
    for (const [i, f] of files.entries()) logLine(wordsN('sendingFile', f.size, { i: i + 1, name: f.name, size: n(f.size) }));
    bar?.start(total, 0);
    try {
      const result = await sendFiles({
        host: opts.host,
        port: opts.port,
        files,
        capturesDir: opts.capture ? opts.captures : null,
        captureCopy: opts.captureCopy === true,
        ...senderSettings(opts),
        ...(bar ? { onProgress: (written: number) => bar.update(written) } : {}),
      });
      bar?.stop();
      const where = result.captureDir ? words('sentWhere', { dir: result.captureDir }) : '';
      const staged = result.status === 'truncated' && opts.stopAfter !== undefined;
      if (result.status !== 'complete' && !staged) fail(words('sendFailed', { status: result.status, message: result.message ?? '', bytes: n(result.bytes), where }));
      if (staged) logLine(result.message ?? '');
      logLine(words('sent', { bytes: n(result.bytes), writes: n(result.writes), where }));
    } catch (err) {
      bar?.stop();
      fail((err as Error).message);
    }
  });

program
  .command('demo')
  .description('run a receiver and a sender in one process, send the reference’s 10 files, record both sides')
  .option('--captures <dir>', 'folder for the capture', 'captures')
  .option('--id <id>', 'capture id (folder name)')
  .option('--out <dir>', 'keep the received files here (default: a temporary folder)')
  .addOption(langOption('language of what it prints'))
  .action(async (opts: { captures: string; id?: string; out?: string }) => {
    try {
      const result = await runDemo({
        capturesDir: opts.captures,
        ...(opts.id ? { id: opts.id } : {}),
        ...(opts.out ? { outDir: opts.out } : {}),
        log: logLine,
        lang,
      });
      logLine(words('demoCapture', { id: result.capture.id, status: result.capture.outcome.status, bytes: formatInteger(result.capture.streamBytes, lang) }));
      if (!opts.out) logLine(words('demoTempGone'));
      logLine(words('demoSaved', { dir: result.captureDir }));
      logLine(words('demoView', { dir: result.captureDir }));
      logLine(words('demoOr', { captures: opts.captures, id: result.capture.id }));
    } catch (err) {
      fail((err as Error).message);
    }
  });

program
  .command('dump')
  .description('print a capture as annotated hex, step by step')
  .argument('<capture>', 'a capture folder, or a capture id in --captures')
  .option('--captures <dir>', 'folder to look the id up in (default: ./captures, then the bundled samples)')
  .addOption(new Option('--by <how>', 'step by protocol field or by socket operation').choices(['field', 'op']).default('field'))
  .option('--step <n>', 'only this step (from 1)', integer(1))
  .option('--page <n>', 'page through the middle of a long step', integer(1))
  .addOption(langOption('language of the explanations'))
  .action(async (ref: string, opts: { captures?: string; by: StepBy; step?: number; page?: number; lang: Lang }) => {
    const { StepRangeError, loadStep, renderProgramsText, renderStepText, statusText, stepCount, t } = await dumping();
    const reader = await openCapture(ref, opts.captures);
    try {
      const d = await reader.dissection();
      const total = stepCount(reader, d, opts.by);
      const meta = reader.meta;
      if (opts.step !== undefined && opts.step > total) throw new StepRangeError(`step ${opts.step} of ${total}`);
      const header = t(opts.lang, meta.sides.length === 0 ? 'dump.headerImported' : 'dump.header', {
        id: meta.id,
        sides: meta.sides.map((s) => t(opts.lang, `side.${s}`)).join(' + '),
        file: meta.wire?.source.file ?? '',
        bytes: formatInteger(reader.streamLength, opts.lang),
        status: statusText(opts.lang, meta.outcome.status),
        total,
        by: t(opts.lang, `step.by.${opts.by === 'op' && meta.sides.length === 0 ? 'segment' : opts.by}`),
      });
      process.stdout.write(`${escapeControls(header)}${meta.outcome.reason ? ` (${escapeControls(describeReason(meta.outcome.reason, opts.lang))})` : ''}\n`);
      process.stdout.write(renderProgramsText(meta, opts.lang));
      // Bytes of a payload file that is not the one recorded read as zeros: say so before any step.
      for (const p of reader.payloadProblems) process.stdout.write(`${protocolText(opts.lang, `payloadProblem.${p.kind}`, { offset: formatInteger(p.offset, opts.lang), length: formatInteger(p.length, opts.lang), end: formatInteger(p.offset + p.length, opts.lang) })}\n`);
      const first = opts.step ?? 1;
      const last = opts.step ?? total;
      for (let n = first; n <= last; n++) {
        const step = await loadStep(path.basename(path.resolve(reader.dir)), reader, d, opts.by, n, opts.lang, opts.page ?? null);
        process.stdout.write(renderStepText(step, process.stdout.isTTY === true, opts.lang));
      }
    } catch (err) {
      if (err instanceof StepRangeError) fail(`no such step: ${err.message}`, EXIT.usage);
      fail(err instanceof CaptureError ? err.message : String(err));
    } finally {
      await reader.close();
    }
  });

program
  .command('export')
  .description('write a capture as a pcapng file for Wireshark: one TCP segment per sender write, the reads as packet comments')
  .argument('<capture>', 'a capture folder, or a capture id in --captures')
  .requiredOption('--pcapng <file>', 'the pcapng file to write')
  .option('--captures <dir>', 'folder to look the id up in (default: ./captures, then the bundled samples)')
  .option('--mss <bytes>', 'largest TCP payload per frame', integer(1, MAX_MSS), DEFAULT_MSS)
  .addOption(langOption('language of what it prints'))
  .action(async (ref: string, opts: { pcapng: string; captures?: string; mss: number }) => {
    const reader = await openCapture(ref, opts.captures);
    try {
      const r = await exportPcapng(reader, opts.pcapng, { mss: opts.mss });
      const n = (v: number): string => formatInteger(v, lang);
      const per = words(r.from === 'sender' ? 'exportPer.sender' : r.from === 'receiver' ? 'exportPer.receiver' : 'exportPer.wire');
      logLine(words('exported', { file: opts.pcapng, frames: n(r.frames), data: n(r.dataFrames), bytes: n(r.bytes), per, mss: n(opts.mss) }));
      logLine(words(r.realEndpoints ? 'exportEnds' : 'exportMadeUp', { client: `${r.client.address}:${r.client.port}`, server: `${r.server.address}:${r.server.port}` }));
      logLine(words('exportOpen', { file: opts.pcapng }));
    } catch (err) {
      fail(words('exportCannot', { file: opts.pcapng, message: (err as Error).message }));
    } finally {
      await reader.close();
    }
  });

program
  .command('import')
  .description('read a pcap or pcapng file (tcpdump, Wireshark) and save each TCP connection as a capture with its segments')
  .argument('<file>', 'a .pcap or .pcapng file')
  .option('--captures <dir>', 'folder for the captures', 'captures')
  .option('--port <port>', 'only connections to this server port', integer(0, 65535))
  .option('--into <capture>', 'instead, add the segments as a wire lane to this capture of the same transfer (recorded while the packets were captured)')
  .addOption(langOption('language of what it prints'))
  .action(async (file: string, opts: { captures: string; port?: number; into?: string }) => {
    if (opts.into !== undefined) {
      try {
        const dir = await resolveCapture(opts.into, [opts.captures, path.join(packageRoot(), 'samples')]);
        const r = await addWireLane(file, dir);
        const n = (v: number): string => formatInteger(v, lang);
        logLine(words('importWire', { segments: n(r.segments), carrying: n(r.carrying), dir }));
        logLine(words('importWireClock'));
      } catch (err) {
        fail(err instanceof CaptureFileError ? words('importNotPcap', { file, message: err.message }) : (err as Error).message);
      }
      return;
    }
    let result;
    try {
      result = await importPcap(file, { capturesDir: opts.captures, ...(opts.port === undefined ? {} : { port: opts.port }) });
    } catch (err) {
      fail(err instanceof CaptureFileError ? words('importNotPcap', { file, message: err.message }) : words('importCannot', { file, message: (err as Error).message }));
    }
    const n = (v: number): string => formatInteger(v, lang);
    const skipped = Object.entries(result.skipped).map(([why, k]) => `${n(k)} ${why}`).join(', ');
    logLine(words(skipped ? 'importLeftOut' : 'importRead', { file, format: result.format, packets: n(result.packets), tcp: n(result.tcp), skipped }));
    if (result.incompleteBytes > 0) logLine(words('importCut', { n: n(result.incompleteBytes) }));
    if (result.connections.length === 0) logLine(opts.port === undefined ? words('importNone') : words('importNonePort', { port: opts.port }));
    for (const c of result.connections) {
      const problems = c.meta.wire?.problems.length ?? 0;
      const values = { client: `${c.client.address}:${c.client.port}`, server: `${c.server.address}:${c.server.port}`, id: c.id, bytes: n(c.meta.streamBytes), status: c.meta.outcome.status, segments: n(c.meta.wire?.carrying ?? 0), problems: n(problems) };
      logLine(problems ? wordsN('importConnectionProblems', problems, values) : words('importConnection', values));
    }
    if (result.connections.length > 0) logLine(words('importView', { captures: opts.captures }));
  });

/** An HTTP server listening on `host`:`port`, the app attached by the caller; exits when it cannot. */
async function listenSite(host: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  }).catch((err: Error) => fail(words('cannotListen', { host, port, message: err.message })));
  return { server, port: (server.address() as AddressInfo).port };
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Whether `host` keeps a server on this machine only. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/**
 * The addresses others reach this machine at when a server listens on `host`: `host` itself,
 * or for 0.0.0.0 (and ::) this machine's addresses on the network (IPv6 ones too for ::).
 */
function reachableAddresses(host: string): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [host];
  return Object.values(networkInterfaces())
    .flat()
    .filter((i) => i && !i.internal && (i.family === 'IPv4' || (host === '::' && !i.address.startsWith('fe80'))))
    .map((i) => i!.address);
}

/** The URLs others on the network can open, when `host` listens beyond this machine. */
function sharedUrls(host: string, port: number): string[] {
  if (isLoopback(host)) return [];
  return reachableAddresses(host).map((a) => `http://${a.includes(':') ? `[${a}]` : a}:${port}/`);
}

program
  .command('serve')
  .description('open the replay site on the captures')
  .option('--host <address>', 'address to listen on (0.0.0.0 opens it to the network)', '127.0.0.1')
  .option('--port <port>', 'TCP port', integer(0, 65535), 3000)
  .option('--captures <dir>', 'a folder of captures (repeat for several)', collect)
  .option('--no-samples', 'do not list the bundled samples (the lessons still show them)')
  .option('--report <dir>', 'a grading report folder (wirestep check --report): shown at /report, its captures listed')
  .addOption(langOption('language of what it prints'))
  .action(async (opts: { host: string; port: number; captures?: string[]; samples: boolean; report?: string }, command: Command) => {
    const { createApp, newTeacherToken } = await site();
    const samples = path.join(packageRoot(), 'samples');
    // A report's captures, and each check's folder of them (check server keeps them in captures/<check-id>/).
    const reportCaptures = opts.report === undefined ? [] : await (await import('../check/report/index.js')).reportCaptureRoots(opts.report);
    const given = opts.captures ?? (opts.report === undefined ? ['captures'] : reportCaptures);
    if (opts.captures !== undefined) given.push(...reportCaptures);
    const dirs = opts.samples && !given.some((d) => path.resolve(d) === samples) ? [...given, samples] : given;
    const store = new CaptureStore(dirs);
    const { server, port } = await listenSite(opts.host, opts.port);
    const sharedAt = sharedUrls(opts.host, port);
    const shared = !isLoopback(opts.host);
    // Without --host, a personal tool on this machine: whoever opens it is the teacher. With it, two roles, as in lab.
    const token = command.getOptionValueSource('host') === 'cli' ? newTeacherToken() : undefined;
    const app = createApp({ store, shared, sharedAt, port, ...(opts.report === undefined ? {} : { reportDir: path.resolve(opts.report) }), ...(token === undefined ? {} : { teacherToken: token }) });
    server.on('request', app);
    const local = siteHost(opts.host);
    const page = `http://${local}:${port}/${opts.report === undefined ? '' : 'report'}`;
    // Handlers first: whoever reads the lines below may signal at once.
    const stop = (): void => {
      server.close();
      void app.closeCaptures().then(() => process.exit(EXIT.ok));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    logLine(words('showing', { dirs: dirs.map((d) => path.resolve(d)).join(', ') }));
    if (token === undefined) logLine(words('open', { url: page }));
    else {
      logLine(words('studentsOpen', { urls: (sharedAt.length > 0 ? sharedAt : [`http://${local}:${port}/`]).join('  ') }));
      logLine(words('teacherOpens', { url: `${page}?token=${token}` }));
    }
    if (shared && token === undefined) logLine(sharedAt.length > 0 ? words('othersCanOpen', { urls: sharedAt.join('  ') }) : words('openToNetwork'));
  });

/** The host part of this machine's own address of a site listening on `host`, brackets around IPv6. */
function siteHost(host: string): string {
  const local = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return local.includes(':') ? `[${local}]` : local;
}

/** The addresses students should send to (IPv4 ones, as client.py connects over IPv4). */
function studentHosts(host: string): string[] {
  const found = reachableAddresses(host === '::' ? '0.0.0.0' : host);
  return found.length > 0 ? found : ['127.0.0.1'];
}

program
  .command('lab')
  .description('classroom mode: the receiver and the site in one process, with transfers shown live at /live')
  .option('--host <address>', 'address for both the receiver and the site (0.0.0.0 opens them to the classroom)', '127.0.0.1')
  .option('--port <port>', 'receiver port, where students send', integer(0, 65535), 8181)
  .option('--web-port <port>', 'site port, for the projector and the students', integer(0, 65535), 3000)
  .option('--out <dir>', 'folder the received files are saved in', 'received')
  .option('--captures <dir>', 'folder for the captures', 'captures')
  .addOption(langOption('language of what it prints'))
  .action(async (opts: { host: string; port: number; webPort: number; out: string; captures: string }) => {
    const { LiveFeed, createApp, newTeacherToken } = await site();
    let receiver;
    try {
      receiver = await startReceiver({ host: opts.host, port: opts.port, outDir: opts.out, capturesDir: opts.captures, log: logLine, lang });
    } catch (err) {
      fail(words('cannotListen', { host: opts.host, port: opts.port, message: (err as Error).message }));
    }
    const live = new LiveFeed(receiver);
    // Programs traced into this captures folder tell /live what they do, over a socket there.
    let inbox: LiveInbox | null = null;
    try {
      inbox = await openLiveInbox(opts.captures);
      live.follow(inbox);
    } catch (err) {
      logLine(words('tracedWillNotShow', { message: (err as Error).message }));
    }
    const { server, port: webPort } = await listenSite(opts.host, opts.webPort);
    const hosts = studentHosts(opts.host);
    const shared = !isLoopback(opts.host);
    const store = new CaptureStore([opts.captures, path.join(packageRoot(), 'samples')]);
    // A finished capture goes into the home page's index at once.
    receiver.on('result', (r: { captureDir?: string }) => {
      if (r.captureDir) store.touch(r.captureDir);
    });
    inbox?.on('live', (e: LiveEvent) => {
      if (e.type === 'done' && e.captureId) store.touch(path.join(opts.captures, e.captureId));
    });
    // A lab always has both roles: the teacher's address carries this run's secret.
    const token = newTeacherToken();
    const sharedAt = sharedUrls(opts.host, webPort);
    const app = createApp({
      store,
      shared,
      sharedAt,
      live,
      lab: { port: receiver.address.port, hosts },
      teacherToken: token,
      port: webPort,
    });
    server.on('request', app);
    const local = siteHost(opts.host);
    // Handlers first: whoever reads the lines below may signal at once.
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logLine(words('closing', { signal }));
      live.close();
      server.closeAllConnections();
      server.close();
      void Promise.all([receiver.close(), app.closeCaptures(), inbox?.close()]).then(() => {
        logLine(words('closed'));
        process.exit(EXIT.ok);
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    logLine(words('receiverOn', { address: receiver.address.address, port: receiver.address.port, out: path.resolve(opts.out), captures: path.resolve(opts.captures) }));
    logLine(words('livePage', { url: `http://${local}:${webPort}/live` }));
    logLine(words('studentsOpen', { urls: (sharedAt.length > 0 ? sharedAt : [`http://${local}:${webPort}/`]).join('  ') }));
    // Printed once, here: never in a page, a link or a line the site shows.
    logLine(words('teacherOpens', { url: `http://${local}:${webPort}/?token=${token}` }));
    for (const h of hosts) logLine(words('studentsSend', { host: h, port: receiver.address.port }));
    if (inbox) logLine(words('tracedShowToo', { captures: opts.captures }));
    if (!shared) logLine(words('onlyThisMachine'));
  });

program
  .command('trace')
  .description('run a Python program (or --server and --client) with a socket tracer: one capture per TCP connection, with every call it made')
  .argument('[command...]', 'the program and its arguments, after --: wirestep trace -- python3 client.py')
  .option('--captures <dir>', 'folder for the captures', 'captures')
  .addOption(langOption('language of what trace prints'))
  .option('--port-map <from=to>', 'a connect or bind to port FROM uses port TO (repeat for several)', collect)
  .option('--server <command line>', 'a server to trace: split into words like a shell does, never run by one')
  .option('--client <command line>', 'with --server: the client to trace once the server listens ({port} becomes the port it listens on)')
  .option('--no-live', 'do not show the connections on the /live page of a wirestep lab recording into the same captures folder')
  .action(async (command: string[], opts: { captures: string; portMap?: string[]; server?: string; client?: string; live: boolean }) => {
    const { TraceArgumentError, connectLive, parsePortMap, splitCommandLine, startTraced, tracePair } = await import('../trace/index.js');
    let portMap: Map<number, number>;
    let pair: { server: string[]; client: string[] } | null = null;
    try {
      portMap = parsePortMap(opts.portMap ?? []);
      if ((opts.server === undefined) !== (opts.client === undefined)) throw new TraceArgumentError(words('traceTogether'));
      if (opts.server !== undefined && command.length > 0) throw new TraceArgumentError(words('traceEither'));
      if (opts.server !== undefined) pair = { server: splitCommandLine(opts.server), client: splitCommandLine(opts.client!) };
      if (pair && (pair.server.length === 0 || pair.client.length === 0)) throw new TraceArgumentError(words('traceNeedCommand'));
      if (!pair && command.length === 0) throw new TraceArgumentError(words('traceNothing'));
    } catch (err) {
      fail((err as Error).message, EXIT.usage);
    }
    // On stderr: the program's stdout stays its own, as if run directly.
    const note = (line: string): void => void process.stderr.write(`wirestep: ${escapeControls(line)}\n`);
    const said = (dir: string): void => note(words('traceCapture', { dir }));
    // A lab recording into the same folder shows the connections on /live as they happen.
    const publisher = opts.live ? await connectLive(opts.captures) : null;
    if (publisher) note(words('traceLive', { dir: opts.captures }));
    const live = publisher ? { live: publisher.send } : {};
    const exit = async (code: number): Promise<never> => {
      await publisher?.close();
      process.exit(code);
    };
    if (pair) {
      const stop = new AbortController();
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stop.abort(signal));
      try {
        const r = await tracePair({ ...pair, capturesDir: opts.captures, portMap, stop: stop.signal, ...live });
        for (const p of [...r.server.problems, ...r.client.problems]) note(p);
        r.captures.forEach(said);
        await exit(r.client.exitCode ?? EXIT.failed);
      } catch (err) {
        fail((err as Error).message);
      }
    }
    let run;
    try {
      run = startTraced({ argv: command, capturesDir: opts.captures, portMap, ...live });
    } catch (err) {
      fail((err as Error).message);
    }
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => run.kill(signal));
    try {
      const r = await run.done;
      for (const p of r.problems) note(p);
      r.captures.forEach(said);
      // A program a signal ended exits as a shell reports it: 128 + the signal's number.
      await exit(r.exitCode ?? 128 + (r.signal ? (constants.signals[r.signal] ?? 0) : 0));
    } catch (err) {
      fail(words('cannotRun', { command: command[0] ?? '', message: (err as Error).message }));
    }
  });

/** `HOST:PORT` of `--connect`. */
function hostPort(value: string): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new InvalidArgumentError('expected HOST:PORT, such as 127.0.0.1:8181');
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

/** What `check server` and `check client` share on the command line. */
interface CheckCliOptions {
  lang: Lang;
  report?: string;
  format: ReportFormat;
  each?: string;
  limit: number;
}

/** What every grading command offers: the language, the report folder and format, and a whole class with --each. */
function gradingOptions(cmd: Command): Command {
  return cmd
    .addOption(langOption('language of the report and of what it prints'))
    .option('--report <dir>', 'write report.html, report.json and each check’s captures (captures/<check-id>/) into this folder; with --each, the class table')
    .addOption(new Option('--format <format>', 'how the report is printed').choices([...REPORT_FORMATS]).default(REPORT_FORMATS[0]))
    .option('--each <pattern>', 'grade every hand-in matching this pattern, one at a time, {file} in the command replaced by its path (\'entregas/*/server.py\')')
    .option('--limit <seconds>', 'with --each, the time each hand-in is given in all', integer(1, 24 * 3600), 600);
}

/**
 * Runs one grading (or, with --each, one per hand-in into a class table), writes the report folder
 * when asked, prints the report and exits: 0 only when every check (of every hand-in) passed.
 */
async function runGrading(command: readonly string[], opts: CheckCliOptions, grade: (argv: readonly string[], reportDir: string | null, signal?: AbortSignal) => Promise<CheckReport>): Promise<never> {
  const { renderReport, writeReportDir } = await import('../check/report/index.js');
  // The hand-in runs in its own process group, out of reach of the terminal's Ctrl-C: on SIGINT
  // or SIGTERM the grading stops it and ends; a second signal ends at once.
  const stop = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`wirestep: ${words('checkStopping')}\n`);
      // However the grading ends from here (even with nothing left to wait on), it ends as interrupted.
      process.exitCode = 130;
      stop.abort();
      process.once(sig, () => process.exit(128 + (constants.signals[sig] ?? 0)));
    });
  }
  const interrupted = (): never => fail(words('checkInterrupted'), 130);
  if (opts.each !== undefined) {
    if (!command.some((a) => a.includes('{file}'))) fail(words('checkEachFile'), EXIT.usage);
    const { gradeEach } = await import('../check/each.js');
    const dir = path.resolve(opts.report ?? 'wirestep-report');
    const table = await gradeEach({
      pattern: opts.each,
      limitMs: opts.limit * 1000,
      reportDir: dir,
      lang: opts.lang,
      grade: async (file, ctx) => {
        if (stop.signal.aborted) throw new Error('interrupted');
        // gradeEach writes each hand-in's report folder itself.
        return grade(substitute(command, { file }), ctx.reportDir, AbortSignal.any([ctx.signal, stop.signal]));
      },
      onGraded: (row) => logLine(`${row.student}: ${row.status === 'graded' ? `${row.score}/${row.maxScore ?? 0}` : row.status}${row.failed.length > 0 ? ` (${row.failed.join(' ')})` : ''}`),
    });
    if (stop.signal.aborted) interrupted();
    if (table.rows.length === 0) fail(words('checkNoMatch', { pattern: opts.each }));
    process.stdout.write(`${path.join(dir, 'class.html')}\n${path.join(dir, 'class.csv')}\n`);
    process.exit(table.rows.every((r) => r.status === 'graded' && r.failed.length === 0) ? EXIT.ok : EXIT.failed);
  }
  const dir = opts.report === undefined ? null : path.resolve(opts.report);
  let report: CheckReport;
  try {
    report = await grade(command, dir, stop.signal);
  } catch (err) {
    if (stop.signal.aborted) interrupted();
    fail(words('checkCannotGrade', { message: (err as Error).message }));
  }
  if (stop.signal.aborted) interrupted();
  if (dir) {
    try {
      await writeReportDir(dir, report, opts.lang);
    } catch (err) {
      fail(words('checkCannotWrite', { dir, message: (err as Error).message }));
    }
  }
  process.stdout.write(renderReport(report, opts.format, opts.lang));
  process.exit(report.checks.every((c) => c.status === 'pass') ? EXIT.ok : EXIT.failed);
}

// wirestep check: grade a student's program on its bytes.
const check = program.command('check').description('grade a student’s server or client on the bytes, check by check');

gradingOptions(
  check
    .command('server')
    .description('run a battery of byte-level cases against a student’s server ({port} and {folder} in its arguments are replaced)')
    .argument('[command...]', 'the server and its arguments, after --: wirestep check server -- python3 server.py --port {port}')
    .option('--port <port>', 'the port a command without {port} listens on', integer(1, 65535), 8181)
    .option('--connect <host:port>', 'grade a server already running there (only the checks that need no access to its folder)', hostPort)
    .option('--serve-limit <seconds>', 'how long the next client may wait to be served', integer(1, 600), 5)
    .option('--stall-limit <seconds>', 'how long a silent client may be kept open before the server should close it', integer(1, 3600), 35)
    .option('--only <ids>', 'run only these checks, ids separated by commas (correct.ten-files,stream.one-byte-writes)', (v: string) => v.split(',').map((id) => id.trim()).filter((id) => id !== '')),
).action(async (command: string[], opts: CheckCliOptions & { port: number; connect?: { host: string; port: number }; serveLimit: number; stallLimit: number; only?: string[] }) => {
  if (command.length === 0 && !opts.connect) fail(words('checkNothingServer'), EXIT.usage);
  if (command.length > 0 && opts.connect) fail(words('checkConnectOrCommand'), EXIT.usage);
  if (opts.connect && opts.each !== undefined) fail(words('checkEachConnect'), EXIT.usage);
  const { SERVER_CASES } = await import('../check/server-cases.js');
  const unknown = (opts.only ?? []).filter((id) => !SERVER_CASES.some((c) => c.id === id));
  if (opts.only && (opts.only.length === 0 || unknown.length > 0)) fail(words('checkOnlyUnknown', { unknown: unknown.join(', ') || '—', known: SERVER_CASES.map((c) => c.id).join(', ') }), EXIT.usage);
  const { checkServer } = await import('../check/server.js');
  await runGrading(command, opts, (argv, reportDir, signal) =>
    checkServer({
      command: argv,
      port: opts.port,
      ...(opts.connect ? { connect: opts.connect } : {}),
      lang: opts.lang,
      ...(reportDir ? { reportDir } : {}),
      ...(signal ? { signal } : {}),
      serveLimitMs: opts.serveLimit * 1000,
      stallLimitMs: opts.stallLimit * 1000,
      ...(opts.only ? { only: opts.only } : {}),
    }),
  );
});

gradingOptions(
  check
    .command('client')
    .description('run a student’s client against wirestep’s receiver, once per folder of test files, and grade what it sent, field by field')
    .argument('[command...]', 'the client and its arguments, after --: {port} and {folder} become the receiver’s port and a folder of test files')
    .option('--port <port>', 'the port a client with no {port} connects to (a Python client is redirected from it)', integer(1, 65535), 8181)
    .option('--time-limit <seconds>', 'each run of the client is stopped, with its process group, after this long', integer(1, 3600), 30),
).action(async (command: string[], opts: CheckCliOptions & { port: number; timeLimit: number }) => {
  if (command.length === 0) fail(words('checkNothingClient'), EXIT.usage);
  const { checkClient } = await import('../check/client.js');
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  await runGrading(command, opts, async (argv, reportDir, signal) => {
    // Without a report folder the captures go to a temporary one, removed after.
    const dir = reportDir ?? (await mkdtemp(path.join(tmpdir(), 'wirestep-check-')));
    try {
      return await checkClient({ argv, lang: opts.lang, capturesDir: path.join(dir, 'captures'), reportDir: dir, port: opts.port, timeLimitMs: opts.timeLimit * 1000, ...(signal ? { signal } : {}) });
    } finally {
      if (!reportDir) await rm(dir, { recursive: true, force: true });
    }
  });
  });

program
  .command('assignment')
  .description('print where the assignment’s client.py and server.py are, or copy them with their README into a folder')
  .option('--copy <dir>', 'copy client.py, server.py and README.md into this folder (never overwrites)')
  .action(async (opts: { copy?: string }) => {
    const paths = assignmentPaths();
    if (opts.copy === undefined) {
      process.stdout.write(`${paths.client}\n${paths.server}\n`);
      return;
    }
    try {
      for (const f of await copyAssignment(opts.copy)) process.stdout.write(`copied ${f}\n`);
    } catch (err) {
      fail(err instanceof AssignmentCopyError ? err.message : `cannot copy into ${opts.copy}: ${(err as Error).message}`, err instanceof AssignmentCopyError ? EXIT.usage : EXIT.failed);
    }
  });

// `--help` is printed before any action runs: its words follow --lang or the environment now.
translateHelp(program, argvLang(process.argv.slice(2), lang));
program.parseAsync(process.argv).catch((err: unknown) => fail(String(err)));
