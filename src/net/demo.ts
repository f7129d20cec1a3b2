import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { CaptureWriter, type CaptureMeta } from '../capture/index.js';
import { type ConnectionResult, startReceiver } from './receiver.js';
import { type FileToSend, sendFiles } from './sender.js';

/** The reference client's test files: `arquivo_N.txt` holding `Este é o conteúdo do arquivo N\n`. */
export function referenceFiles(count = 10): { name: string; text: string }[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `arquivo_${i + 1}.txt`,
    text: `Este é o conteúdo do arquivo ${i + 1}\n`,
  }));
}

/** Options of the demo. */
export interface DemoOptions {
  readonly capturesDir: string;
  /** Capture id; default a fresh one. */
  readonly id?: string;
  /** Where the receiver saves the files; default a temporary folder removed afterwards. */
  readonly outDir?: string;
  readonly chunk?: number;
  readonly description?: Readonly<Record<string, string>>;
  readonly log?: (line: string) => void;
}

/** What the demo made. */
export interface DemoResult {
  readonly capture: CaptureMeta;
  readonly captureDir: string;
  readonly receiver: ConnectionResult;
}

/**
 * Runs a receiver and a sender in this process on a free loopback port, sends the reference's
 * ten files, and records both sides into one capture.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const work = await mkdtemp(path.join(tmpdir(), 'wirestep-demo-'));
  try {
    const source = path.join(work, 'arquivos_para_enviar');
    const outDir = options.outDir ?? path.join(work, 'received');
    const files: FileToSend[] = [];
    await mkdir(source);
    for (const f of referenceFiles()) {
      const p = path.join(source, f.name);
      await writeFile(p, f.text);
      files.push({ name: f.name, path: p, size: Buffer.byteLength(f.text) });
    }
    const chunk = options.chunk ?? 1024;
    const writer = await CaptureWriter.create({
      root: options.capturesDir,
      ...(options.id ? { id: options.id } : {}),
      sides: ['sender', 'receiver'],
      options: { command: 'demo', chunk, delayMs: 0 },
      ...(options.description ? { description: options.description } : {}),
    });
    const receiver = await startReceiver({
      host: '127.0.0.1',
      port: 0,
      outDir,
      capturesDir: null,
      ...(options.log ? { log: options.log } : {}),
      recordInto: (client, server) => {
        writer.setEndpoints(client, server);
        return writer;
      },
    });
    try {
      const result = once(receiver, 'result') as Promise<[ConnectionResult]>;
      await sendFiles({ host: '127.0.0.1', port: receiver.address.port, files, chunk, capturesDir: null, recordInto: writer });
      const [received] = await result;
      const capture = await writer.finish(received.status, received.message);
      return { capture, captureDir: writer.dir, receiver: received };
    } finally {
      await receiver.close();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
