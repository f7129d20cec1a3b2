import { createReadStream } from 'node:fs';
import path from 'node:path';
import { type DissectEvent, Dissector, type Problem } from '../protocol/index.js';
import { type ConnectionEvent, type ConnectionProblem, ConnectionTracker } from '../wire/connections.js';
import { decodeTcp, linkTypeName } from '../wire/frames.js';
import { CaptureFileParser } from '../wire/pcap.js';
import type { WireEndpoint } from '../wire/types.js';
import { type CaptureMeta, type OutcomeStatus, isCaptureId } from './format.js';
import { type CaptureInit, CaptureWriter } from './writer.js';

/** Options of {@link importPcap}. */
export interface ImportOptions {
  /** Folder the captures are written into. */
  readonly capturesDir: string;
  /** Only connections to this server port (the receiver's); default every TCP connection. */
  readonly port?: number;
  /** The id of the capture of connection `n` (from 1); default the file's name and `-n`. */
  readonly id?: (n: number) => string;
  /** Descriptions and sample information to store, for the bundled samples. */
  readonly extra?: Pick<CaptureInit, 'description' | 'sample'>;
}

/** One connection found in the packet capture, saved as a capture. */
export interface ImportedConnection {
  readonly id: string;
  readonly dir: string;
  readonly client: WireEndpoint;
  readonly server: WireEndpoint;
  readonly meta: CaptureMeta;
}

/** What an import read and wrote. */
export interface ImportResult {
  readonly format: 'pcap' | 'pcapng';
  readonly packets: number;
  /** Packets that were TCP over IPv4 or IPv6. */
  readonly tcp: number;
  /** Packets left out, counted by why ("not TCP", "IPv4 fragment"…). */
  readonly skipped: Readonly<Record<string, number>>;
  /** Bytes of a last packet the file cut short (a capture killed mid-write). */
  readonly incompleteBytes: number;
  readonly connections: readonly ImportedConnection[];
}

const READ_CHUNK = 1 << 20;

/** `trace.pcapng` → `trace`, in the characters a capture id may hold. */
function stem(file: string): string {
  const base = path.basename(file).replace(/\.(pcapng|pcap|cap)(\.gz)?$/i, '');
  const safe = base.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 100);
  return safe || 'import';
}

/** The status a capture of these stream problems gets, as the receiver would give it. */
function statusOf(problems: readonly Problem[]): OutcomeStatus {
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.some((p) => p.kind === 'truncated' || p.kind === 'fewer-files-than-count')) return 'truncated';
  return errors.length > 0 ? 'malformed' : 'complete';
}

function collectProblems(events: Iterable<DissectEvent>, into: Problem[]): void {
  for (const d of events) {
    if (d.type === 'problem') into.push(d.problem);
    else if (d.type === 'field') into.push(...d.problems);
  }
}

/** One connection being written. */
interface Open {
  readonly writer: CaptureWriter;
  readonly t0: number;
  readonly client: WireEndpoint;
  readonly server: WireEndpoint;
  readonly dissector: Dissector;
  readonly problems: Problem[];
  readonly wireProblems: ConnectionProblem[];
}

/**
 * Reads a pcap or pcapng file (Ethernet, Linux cooked SLL and SLL2, loopback and raw IP links)
 * and saves each TCP connection in it as a capture with a wire lane: the client-to-server
 * segments as captured, and the stream rebuilt from them (reordered, retransmissions and
 * overlaps resolved, a gap reported, never filled). Streams the file; memory does not grow with
 * its size. Throws CaptureFileError for a file that is not a packet capture, and on I/O errors.
 */
export async function importPcap(file: string, options: ImportOptions): Promise<ImportResult> {
  const parser = new CaptureFileParser();
  const tracker = new ConnectionTracker();
  const prefix = stem(file);
  const idOf = options.id ?? ((n: number): string => `${prefix}-${n}`);
  const open = new Map<number, Open>();
  const ignored = new Set<number>();
  const done: ImportedConnection[] = [];
  const skipped: Record<string, number> = {};
  let packets = 0;
  let tcp = 0;
  let linkType = 'unknown';

  const create = async (e: Extract<ConnectionEvent, { type: 'open' }>): Promise<void> => {
    if (options.port !== undefined && e.server.port !== options.port) {
      ignored.add(e.id);
      return;
    }
    const init = {
      root: options.capturesDir,
      sides: [],
      client: e.client,
      server: e.server,
      createdAt: new Date(Math.floor(e.timeUs / 1000)).toISOString(),
      options: { command: 'import' },
      ...options.extra,
      wire: { source: { file: path.basename(file), format: parser.format ?? 'pcap', linkType }, handshake: e.handshake },
    } as const;
    let writer: CaptureWriter | null = null;
    for (let k = 1; !writer; k++) {
      const id = k === 1 ? idOf(e.id) : `${idOf(e.id)}-${k}`;
      if (!isCaptureId(id)) throw new Error(`not a valid capture id: ${JSON.stringify(id)}`);
      try {
        writer = await CaptureWriter.create({ ...init, id });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || k > 1000) throw err;
      }
    }
    open.set(e.id, { writer, t0: e.timeUs, client: e.client, server: e.server, dissector: new Dissector(), problems: [], wireProblems: [] });
  };

  const handle = async (e: ConnectionEvent): Promise<void> => {
    if (e.type === 'open') return create(e);
    if (ignored.has(e.id)) return;
    const c = open.get(e.id);
    if (!c) return;
    switch (e.type) {
      case 'segment': {
        // A segment from before byte 0 (a keep-alive probe at the SYN's number) keeps what it
        // carried of the stream, which is nothing: stream offsets start at 0.
        const { offset, length, flags, timeUs } = e.segment;
        c.writer.recordSegment(Math.max(0, timeUs - c.t0), Math.max(0, offset), Math.max(0, length + Math.min(0, offset)), flags);
        return;
      }
      case 'data':
        collectProblems(c.dissector.push(e.bytes), c.problems);
        if (!c.writer.appendStream(e.bytes)) await c.writer.drain();
        return;
      case 'problem':
        c.wireProblems.push(e.problem);
        return;
      case 'close': {
        collectProblems(c.dissector.end(), c.problems);
        c.writer.setWire({ close: e.how, problems: c.wireProblems });
        const meta = await c.writer.finish(statusOf(c.problems));
        open.delete(e.id);
        done.push({ id: meta.id, dir: c.writer.dir, client: c.client, server: c.server, meta });
      }
    }
  };

  const input = createReadStream(file, { highWaterMark: READ_CHUNK });
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      for (const p of parser.push(chunk)) {
        packets++;
        if (packets === 1) linkType = linkTypeName(p.linkType);
        const seg = decodeTcp(p);
        if ('skipped' in seg) {
          skipped[seg.skipped] = (skipped[seg.skipped] ?? 0) + 1;
          continue;
        }
        tcp++;
        for (const e of tracker.push(seg)) await handle(e);
      }
    }
    const summary = parser.end();
    for (const e of tracker.end()) await handle(e);
    return { format: summary.format, packets, tcp, skipped, incompleteBytes: summary.incompleteBytes, connections: done };
  } finally {
    input.destroy();
    // A failure halfway leaves the captures begun so far readable, marked as not finished.
    for (const c of open.values()) await c.writer.finish('interrupted').catch(() => {});
  }
}
