import { once } from 'node:events';
import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CaptureWriter, type Endpoint, type OutcomeStatus } from '../capture/index.js';
import { NAME_LENGTH, REFERENCE_CHUNK, encodeCount, encodeName, encodeSize, nameByteLength } from '../protocol/index.js';
import { Recorder } from './recorder.js';

/** A file to send: the name put on the wire, where its bytes are, how many. */
export interface FileToSend {
  readonly name: string;
  readonly path: string;
  readonly size: number;
}

/** Options of one transfer. */
export interface SenderOptions {
  readonly host?: string;
  readonly port?: number;
  readonly files: readonly FileToSend[];
  /** Largest write in bytes; writes never cross a field boundary. Default 1024, as the reference. */
  readonly chunk?: number;
  /** Pause between two writes, in milliseconds. */
  readonly delayMs?: number;
  /** Folder for the sender's capture; `null` records nothing (`--no-capture`). */
  readonly capturesDir: string | null;
  /** Records into a capture made by the caller (the demo); the caller finishes it. */
  readonly recordInto?: CaptureWriter;
  /** Called after each write with the bytes written so far and the total. */
  readonly onProgress?: (written: number, total: number) => void;
}

/** What a transfer came to, on the sender's side. */
export interface SendResult {
  readonly status: OutcomeStatus;
  readonly message?: string;
  /** Bytes handed to the socket. */
  readonly bytes: number;
  readonly writes: number;
  readonly captureDir?: string;
}

/** Thrown before connecting when the files cannot be sent as asked. */
export class SendError extends Error {
  override readonly name = 'SendError';
}

/**
 * The files to send for command-line paths: files as given, folders as their regular files
 * (not recursing, as the reference lists one folder), in natural order (2 before 10). Throws SendError for a
 * missing path or a name longer than the 128-byte field.
 */
export async function listFiles(paths: readonly string[]): Promise<FileToSend[]> {
  const out: FileToSend[] = [];
  for (const p of paths) {
    let st;
    try {
      st = await stat(p);
    } catch {
      throw new SendError(`no such file or folder: ${p}`);
    }
    if (st.isDirectory()) {
      const entries = (await readdir(p, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort(byName.compare);
      for (const name of entries) out.push({ name, path: path.join(p, name), size: (await stat(path.join(p, name))).size });
    } else if (st.isFile()) {
      out.push({ name: path.basename(p), path: p, size: st.size });
    } else {
      throw new SendError(`not a regular file or folder: ${p}`);
    }
  }
  for (const f of out) {
    const n = nameByteLength(f.name);
    if (n > NAME_LENGTH) {
      throw new SendError(`the name ${JSON.stringify(f.name)} is ${n} bytes of UTF-8; the name field holds ${NAME_LENGTH}, and a longer name would derail the receiver`);
    }
  }
  return out;
}

/** Total bytes a well-formed transfer of `files` puts on the wire. */
export function transferSize(files: readonly FileToSend[]): number {
  return 4 + files.reduce((n, f) => n + NAME_LENGTH + 8 + f.size, 0);
}

const READ_BLOCK = 1 << 20;
// arquivo_2 before arquivo_10, as a person would list them.
const byName = new Intl.Collator('en', { numeric: true });

/** Sends `files` over one connection, recording every write. Never throws for network errors. */
export async function sendFiles(options: SenderOptions): Promise<SendResult> {
  const chunk = options.chunk ?? REFERENCE_CHUNK;
  if (!Number.isInteger(chunk) || chunk < 1) throw new SendError(`--chunk must be a whole number of bytes ≥ 1, not ${chunk}`);
  const delayMs = options.delayMs ?? 0;
  const total = transferSize(options.files);
  const socket = net.connect({ host: options.host ?? '127.0.0.1', port: options.port ?? 8181 });
  let socketError: Error | null = null;
  socket.on('error', (err) => {
    socketError ??= err;
  });
  // Not events.once: that rejects on 'error', and nobody may be awaiting it then.
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  try {
    await once(socket, 'connect');
  } catch (err) {
    throw new SendError(`cannot connect to ${options.host ?? '127.0.0.1'}:${options.port ?? 8181}: ${(err as Error).message}`);
  }
  const client: Endpoint = { address: socket.localAddress ?? '?', port: socket.localPort ?? 0 };
  const server: Endpoint = { address: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 };
  const writer = options.recordInto
    ?? (options.capturesDir === null
      ? null
      : await CaptureWriter.create({
          root: options.capturesDir,
          sides: ['sender'],
          client,
          server,
          options: { chunk, delayMs },
        }));
  const recorder = new Recorder(writer, 'sender');
  recorder.opened();
  let writes = 0;
  const write = async (bytes: Uint8Array): Promise<void> => {
    if (writes > 0 && delayMs > 0) await sleep(delayMs);
    if (socketError) throw socketError;
    if (socket.destroyed || socket.writableEnded) throw new Error('the receiver closed the connection');
    const fits = recorder.data(bytes);
    writes++;
    if (!socket.write(bytes)) await Promise.race([once(socket, 'drain'), closed]);
    if (!fits) await recorder.drain();
    options.onProgress?.(recorder.offset, total);
  };
  const writeField = async (bytes: Uint8Array): Promise<void> => {
    for (let at = 0; at < bytes.length; at += chunk) await write(bytes.subarray(at, at + chunk));
  };
  let status: OutcomeStatus = 'complete';
  let message: string | undefined;
  try {
    await writeField(encodeCount(options.files.length));
    for (const f of options.files) {
      await writeField(encodeName(f.name));
      await writeField(encodeSize(f.size));
      await sendPayload(f, chunk, write);
    }
    socket.end();
    recorder.ended();
    // The receiver closes once it has read everything; the bytes are in the kernel by now.
    await Promise.race([closed, sleep(10_000, undefined, { ref: false })]);
    if (socketError) throw socketError;
  } catch (err) {
    status = 'aborted';
    message = (err as Error).message;
    recorder.error(message);
    socket.destroy();
  }
  recorder.closed();
  if (writer && !options.recordInto) await writer.finish(status, message);
  return {
    status,
    ...(message === undefined ? {} : { message }),
    bytes: recorder.offset,
    writes,
    ...(writer ? { captureDir: writer.dir } : {}),
  };
}

async function sendPayload(f: FileToSend, chunk: number, write: (b: Uint8Array) => Promise<void>): Promise<void> {
  if (f.size === 0) return;
  let fh: FileHandle;
  try {
    fh = await open(f.path, 'r');
  } catch (err) {
    throw new Error(`cannot read ${f.path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    // Blocks are a whole number of chunks, so writes keep their size across blocks.
    const block = Math.max(chunk, Math.floor(READ_BLOCK / chunk) * chunk);
    let sent = 0;
    while (sent < f.size) {
      const buf = new Uint8Array(Math.min(block, f.size - sent));
      const { bytesRead } = await fh.read(buf, 0, buf.length, sent);
      if (bytesRead === 0) throw new Error(`${f.path} shrank while it was being sent (${sent} of ${f.size} bytes)`);
      const data = buf.subarray(0, bytesRead);
      for (let at = 0; at < data.length; at += chunk) await write(data.subarray(at, at + chunk));
      sent += bytesRead;
    }
  } finally {
    await fh.close();
  }
}
