import { CALL_FLAGS, CaptureReader, type CaptureEvent } from '../capture/index.js';
import { dissect } from '../protocol/index.js';
import type { Finding } from './types.js';

/** What a traced server did at the place its reading went wrong: one read, on its stream. */
export interface ShortRead {
  /** `server-short-read`, with `call`, `asked`, `got`, `offset`, `field`, `rest` and `stopped`. */
  readonly finding: Finding;
  /** The field the read was to fill (`count`, `file[1].payload`). */
  readonly field: string;
  /** Stream offset of the read, in bytes. */
  readonly offset: number;
}

/** One field of a stream, as the dissector reads it: where it starts and how long it is, in bytes. */
interface Span {
  readonly id: string;
  readonly offset: number;
  readonly length: number;
}

/** Every field of `bytes` with its full length, as the dissector reads them (payloads included). */
function spansOf(bytes: Uint8Array): Span[] {
  const out: Span[] = [];
  for (const e of dissect(bytes)) if (e.type === 'field') out.push({ id: e.field.id, offset: e.field.offset, length: e.field.length });
  return out;
}

/**
 * The first read of a traced server that asked for exactly the rest of one field of `sent` (the
 * bytes the grader sent on that connection), got fewer, and was not followed by a read asking for
 * what was missing: the server took part of a field for the whole, as a program does that reads
 * each field with one `recv()` and no loop. A read that got nothing (the end of the stream) or
 * raised is not one. Null when every read was whole or followed up. `dir` is the server's capture
 * of the connection (side `receiver`, with calls). Throws when the capture cannot be read.
 */
export async function findShortRead(dir: string, sent: Uint8Array): Promise<ShortRead | null> {
  const spans = spansOf(sent);
  const reader = await CaptureReader.open(dir);
  try {
    const reads: CaptureEvent[] = [];
    for await (const e of reader.eachEvent('receiver')) {
      if (e.type === 'read' && e.call && e.call.asked !== null && (e.call.flags & CALL_FLAGS.exception) === 0) reads.push(e);
    }
    const stopped = reads.reduce((end, e) => Math.max(end, e.offset + e.length), 0);
    for (const [i, e] of reads.entries()) {
      const asked = e.call!.asked!;
      if (e.length === 0 || e.length >= asked) continue;
      const span = spans.find((s) => e.offset >= s.offset && e.offset < s.offset + s.length);
      // Only a read sized to end exactly where its field ends says the program meant that field.
      if (!span || e.offset + asked !== span.offset + span.length) continue;
      const next = reads[i + 1];
      const rest = asked - e.length;
      if (next && next.offset === e.offset + e.length && next.call!.asked === rest) continue;
      return {
        finding: { kind: 'server-short-read', values: { call: e.call!.name, asked, got: e.length, offset: e.offset, field: span.id, rest, stopped } },
        field: span.id,
        offset: e.offset,
      };
    }
    return null;
  } finally {
    await reader.close();
  }
}
