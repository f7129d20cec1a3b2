import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { CaptureWriter, type CaptureMeta, type SampleInfo } from '../capture/index.js';
import { type Lang, reasonOfError } from '../protocol/index.js';
import { type ConnectionResult, RECEIVER_DEFAULTS, startReceiver } from './receiver.js';
import { type FileToSend, type SendResult, sendFiles } from './sender.js';

/** The reference client's test files: `arquivo_N.txt` holding `Este é o conteúdo do arquivo N\n`. */
export function referenceFiles(count = 10): { name: string; text: string }[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `arquivo_${i + 1}.txt`,
    text: `Este é o conteúdo do arquivo ${i + 1}\n`,
  }));
}

/** What a transfer recorded in one process made. */
export interface LocalResult {
  readonly capture: CaptureMeta;
  readonly captureDir: string;
  readonly receiver: ConnectionResult;
  readonly sender: SendResult;
}

/** Options of a transfer recorded in one process. */
export interface LocalTransferOptions {
  readonly capturesDir: string;
  /** Capture id; default a fresh one. */
  readonly id?: string;
  /** Where the receiver saves the files; default a temporary folder removed afterwards. */
  readonly outDir?: string;
  readonly description?: Readonly<Record<string, string>>;
  readonly sample?: SampleInfo;
  /** Options stored in the capture (the sender's, staged faults included). */
  readonly options?: Readonly<Record<string, unknown>>;
  readonly maxFileSize?: bigint;
  /** Port the receiver listens on; default a free one. */
  readonly port?: number;
  readonly log?: (line: string) => void;
  /**
   * Copy every payload into `stream.bin` instead of linking the files sent: for captures that
   * travel (the bundled samples, kept in git, where a payload file would lose its inode).
   */
  readonly captureCopy?: boolean;
  /** Language of the receiver's log lines; default English. */
  readonly lang?: Lang;
  /** Sends to the receiver at `port`, recording into `writer`. */
  readonly send: (port: number, writer: CaptureWriter) => Promise<SendResult>;
}

/**
 * Runs a receiver on a free loopback port in this process, lets `send` talk to it, and records
 * both sides into one capture, finished with the receiver's outcome.
 */
export async function recordLocalTransfer(options: LocalTransferOptions): Promise<LocalResult> {
  const work = options.outDir ? null : await mkdtemp(path.join(tmpdir(), 'wirestep-local-'));
  try {
    const maxFileSize = options.maxFileSize ?? RECEIVER_DEFAULTS.maxFileSize;
    const writer = await CaptureWriter.create({
      root: options.capturesDir,
      ...(options.id ? { id: options.id } : {}),
      sides: ['sender', 'receiver'],
      options: { ...options.options, maxFileSize: String(maxFileSize) },
      ...(options.description ? { description: options.description } : {}),
      ...(options.sample ? { sample: options.sample } : {}),
      linkPayloads: !options.captureCopy,
    });
    const receiver = await startReceiver({
      host: '127.0.0.1',
      port: options.port ?? 0,
      outDir: options.outDir ?? path.join(work!, 'received'),
      capturesDir: null,
      maxFileSize,
      ...(options.log ? { log: options.log } : {}),
      ...(options.lang ? { lang: options.lang } : {}),
      recordInto: (client, server) => {
        writer.setEndpoints(client, server);
        return writer;
      },
    });
    try {
      const result = once(receiver, 'result') as Promise<[ConnectionResult]>;
      let sender: SendResult;
      try {
        sender = await options.send(receiver.address.port, writer);
      } catch (err) {
        await writer.finish('aborted', reasonOfError(err as Error)).catch(() => {});
        throw err;
      }
      const [received] = await result;
      const capture = await writer.finish(received.status, received.reason);
      return { capture, captureDir: writer.dir, receiver: received, sender };
    } finally {
      await receiver.close();
    }
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
  }
}

/** Options of the demo. */
export interface DemoOptions {
  readonly capturesDir: string;
  readonly id?: string;
  readonly outDir?: string;
  readonly chunk?: number;
  readonly description?: Readonly<Record<string, string>>;
  readonly sample?: SampleInfo;
  readonly log?: (line: string) => void;
  /** Language of the receiver's log lines; default English. */
  readonly lang?: Lang;
}

/** Sends the reference's ten files between a receiver and a sender in this process, recording both sides. */
export async function runDemo(options: DemoOptions): Promise<LocalResult> {
  const source = await mkdtemp(path.join(tmpdir(), 'wirestep-demo-'));
  try {
    const folder = path.join(source, 'arquivos_para_enviar');
    await mkdir(folder);
    const files: FileToSend[] = [];
    for (const f of referenceFiles()) {
      const p = path.join(folder, f.name);
      await writeFile(p, f.text);
      files.push({ name: f.name, path: p, size: Buffer.byteLength(f.text) });
    }
    const chunk = options.chunk ?? 1024;
    return await recordLocalTransfer({
      ...options,
      options: { command: 'demo', chunk, delayMs: 0 },
      send: (port, writer) => sendFiles({ host: '127.0.0.1', port, files, chunk, capturesDir: null, recordInto: writer }),
    });
  } finally {
    await rm(source, { recursive: true, force: true });
  }
}
