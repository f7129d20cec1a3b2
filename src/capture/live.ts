import path from 'node:path';
import { describeReason } from '../protocol/explain.js';
import type { Reason } from '../protocol/reasons.js';
import { type Endpoint, type OutcomeStatus, type Side, isCaptureId } from './format.js';

/** A traced program on the live page: its name (`server.py`) and which end of the stream it is. */
export interface LiveProgram {
  readonly name: string;
  /** `sender`: its sends are the stream (a client); `receiver`: its reads are (a server). */
  readonly side: Side;
}

/**
 * What a live view is told about a connection as it happens: the receiver (src/net) and the
 * tracer (src/trace) emit these and the site (src/web) shows them, so the type lives where all
 * may import it.
 */
export type LiveEvent =
  | {
      readonly type: 'open';
      readonly key: string;
      readonly client: Endpoint;
      readonly captureId: string | null;
      /** Set when a traced program made the calls, not wirestep's receiver. */
      readonly program?: LiveProgram;
    }
  | {
      readonly type: 'progress';
      readonly key: string;
      readonly bytes: number;
      readonly count: number | null;
      readonly filesDone: number;
      /** Id of the field the next byte belongs to, and its kind and file. */
      readonly field: string | null;
      readonly kind: string | null;
      readonly file: number | null;
      /** The name of the file being received, once its name field came. */
      readonly name: string | null;
      readonly have: number;
      /** Bytes still needed for that field (decimal string). */
      readonly needed: string;
    }
  | {
      readonly type: 'done';
      readonly key: string;
      readonly status: OutcomeStatus;
      readonly reason: Reason | null;
      readonly bytes: number;
      /** Files saved; null when a traced program saved them itself, which wirestep cannot see. */
      readonly saved: number | null;
      readonly files: number;
      readonly captureId: string | null;
      /**
       * Captures this one took the place of: the two one-sided captures of a connection whose
       * ends were both traced are joined into one, so a row linking to either must link here.
       */
      readonly replaces?: readonly string[];
    };

/** Name of the socket a lab listens on in its captures folder for the live events of traced programs. */
export const LIVE_SOCKET = '.wirestep-live.sock';

/** Longest path a Unix socket address holds on Linux and macOS (sun_path, less its NUL). */
const SOCKET_PATH_MAX = 103;

/**
 * Where the live socket of the captures folder `capturesDir` is, as a path short enough for a
 * socket address: absolute, or relative to the working folder when that is shorter. Null when
 * neither fits (a very deep folder) or on Windows, which has no such sockets in folders.
 */
export function liveSocketPath(capturesDir: string): string | null {
  if (process.platform === 'win32') return null;
  const absolute = path.resolve(capturesDir, LIVE_SOCKET);
  const relative = path.relative(process.cwd(), absolute);
  const shortest = [absolute, relative.startsWith('.') ? relative : `./${relative}`].sort((a, b) => Buffer.byteLength(a) - Buffer.byteLength(b))[0]!;
  return Buffer.byteLength(shortest) <= SOCKET_PATH_MAX ? shortest : null;
}

const STATUSES: ReadonlySet<string> = new Set<OutcomeStatus>(['recording', 'complete', 'malformed', 'truncated', 'aborted', 'interrupted']);
const KINDS: ReadonlySet<string> = new Set(['count', 'name', 'size', 'payload', 'trailing']);

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const text = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;
const orNull = <T>(v: unknown, test: (v: unknown) => v is T): v is T | null => v === null || test(v);
const captureId = (v: unknown): v is string => typeof v === 'string' && isCaptureId(v);

function endpoint(v: unknown): Endpoint | null {
  if (!isObject(v) || !text(v.address, 64) || !count(v.port) || v.port > 65535) return null;
  return { address: v.address, port: v.port };
}

/** A reason the site can word (every number a number), else null. */
function reason(v: unknown): Reason | null {
  if (!isObject(v) || !text(v.kind, 64)) return null;
  try {
    describeReason(v as unknown as Reason, 'en');
    return v as unknown as Reason;
  } catch {
    return null;
  }
}

/**
 * A live event from another process (one JSON line a traced program's wirestep sent), checked
 * field by field: null when it is not one, whatever the line holds. Never throws.
 */
export function parseLiveEvent(line: string): LiveEvent | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isObject(v) || !text(v.key, 200) || v.key.length === 0) return null;
  const key = v.key;
  switch (v.type) {
    case 'open': {
      const client = endpoint(v.client);
      if (!client || !orNull(v.captureId, captureId)) return null;
      const p = v.program;
      if (p !== undefined && (!isObject(p) || !text(p.name, 200) || (p.side !== 'sender' && p.side !== 'receiver'))) return null;
      const program = p === undefined ? {} : { program: { name: p.name as string, side: p.side as Side } };
      return { type: 'open', key, client, captureId: v.captureId, ...program };
    }
    case 'progress': {
      if (!count(v.bytes) || !orNull(v.count, count) || !count(v.filesDone) || !orNull(v.field, (x): x is string => text(x, 64))) return null;
      if (!orNull(v.kind, (x): x is string => typeof x === 'string' && KINDS.has(x)) || !orNull(v.file, count)) return null;
      if (!orNull(v.name, (x): x is string => text(x, 1024)) || !count(v.have) || typeof v.needed !== 'string' || !/^\d{1,20}$/.test(v.needed)) return null;
      return { type: 'progress', key, bytes: v.bytes, count: v.count, filesDone: v.filesDone, field: v.field, kind: v.kind, file: v.file, name: v.name, have: v.have, needed: v.needed };
    }
    case 'done': {
      if (typeof v.status !== 'string' || !STATUSES.has(v.status) || !count(v.bytes) || !orNull(v.saved, count) || !count(v.files)) return null;
      if (!orNull(v.captureId, captureId)) return null;
      const why = v.reason === null ? null : reason(v.reason);
      if (why === null && v.reason !== null) return null;
      const r = v.replaces;
      if (r !== undefined && (!Array.isArray(r) || r.length > 4 || !r.every(captureId))) return null;
      return { type: 'done', key, status: v.status as OutcomeStatus, reason: why, bytes: v.bytes, saved: v.saved, files: v.files, captureId: v.captureId, ...(r ? { replaces: r as string[] } : {}) };
    }
    default:
      return null;
  }
}
