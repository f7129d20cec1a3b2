import { dissect } from '../protocol/index.js';
import { ReceiverSession } from '../net/session.js';
import { RECEIVER_DEFAULTS } from '../net/receiver.js';

/** What a correct receiver does with one connection's bytes. */
export interface Expectation {
  /** The files it saves, by name, with their bytes, in stream order. */
  readonly saved: readonly { readonly name: string; readonly file: number; readonly data: Uint8Array; readonly payloadOffset: number }[];
  /** Every other name the stream announced (refused, cut or never finished): none may be saved under it. */
  readonly notSaved: readonly { readonly name: string; readonly file: number; readonly size: string }[];
}

/**
 * Runs `bytes` through the receiver's own session ({@link ReceiverSession}, with the receiver's
 * default limits), as if they came in one read and then the stream ended, or was reset when
 * `reset`: what it commits is what a correct server saves, and every other announced name must
 * not be found under its final name. Never throws on any bytes.
 */
export function expectOf(bytes: Uint8Array, reset = false): Expectation {
  const session = new ReceiverSession({ maxFileSize: RECEIVER_DEFAULTS.maxFileSize, maxFiles: RECEIVER_DEFAULTS.maxFiles, maxTotalBytes: RECEIVER_DEFAULTS.maxTotalBytes });
  const payloadAt = new Map<number, number>();
  for (const e of dissect(bytes)) if (e.type === 'field' && e.field.kind === 'payload' && e.field.file !== undefined) payloadAt.set(e.field.file, e.field.offset);
  const open = new Map<number, { name: string; parts: Uint8Array[]; offset: number }>();
  const saved: { name: string; file: number; data: Uint8Array; payloadOffset: number }[] = [];
  const run = (commands: ReturnType<ReceiverSession['handle']>): void => {
    for (const c of commands) {
      if (c.type === 'open-file') open.set(c.file, { name: c.name, parts: [], offset: payloadAt.get(c.file) ?? 0 });
      else if (c.type === 'write') open.get(c.file)?.parts.push(Uint8Array.from(c.data));
      else if (c.type === 'discard') open.delete(c.file);
      else if (c.type === 'commit') {
        const f = open.get(c.file);
        open.delete(c.file);
        if (!f) continue;
        saved.push({ name: c.name, file: c.file, data: Buffer.concat(f.parts), payloadOffset: f.offset });
        run(session.handle({ type: 'saved', file: c.file, savedAs: c.name }));
      }
    }
  };
  run(session.handle({ type: 'data', bytes }));
  run(session.handle(reset ? { type: 'error', reason: { kind: 'socket-error', code: 'ECONNRESET' } } : { type: 'end' }));
  run(session.handle({ type: 'closed' }));
  const savedFiles = new Set(saved.map((s) => s.file));
  const notSaved = session.files.filter((f) => !savedFiles.has(f.file)).map((f) => ({ name: f.name, file: f.file, size: f.size }));
  return { saved, notSaved };
}
