import type { Problem } from './dissector.js';
import type { UnsafeReason } from './names.js';

/**
 * Why a connection ended the way it did, why a file was refused or lost, or what an error
 * was: a kind with its numbers, stored as data in `capture.json` and worded by each reader in
 * its language ({@link describeReason}). 64-bit numbers are decimal strings.
 */
export type Reason =
  /** The sender was silent this long, so the receiver closed the connection. */
  | { readonly kind: 'idle-timeout'; readonly seconds: number }
  /** Only `bytes` came in `seconds`, under `minRate` bytes per second on average (`--min-rate`). */
  | { readonly kind: 'rate-too-low'; readonly bytes: number; readonly seconds: number; readonly minRate: number }
  /** A file's count, name and size fields did not come within `seconds`; the stream stalled in `field`. */
  | { readonly kind: 'header-timeout'; readonly field: string; readonly seconds: number }
  /**
   * The receiver was full and a sender was waiting: this connection, open `seconds` with `bytes`
   * received, was the slowest open longer than `grace` seconds (`--displace-after`).
   */
  | { readonly kind: 'displaced'; readonly bytes: number; readonly seconds: number; readonly grace: number }
  /** The receiver was shut down (Ctrl+C, SIGTERM, close()) and closed the connection. */
  | { readonly kind: 'shutdown' }
  | { readonly kind: 'count-over-limit'; readonly count: number; readonly limit: number }
  | { readonly kind: 'size-over-limit'; readonly file: number; readonly size: string; readonly limit: string }
  | { readonly kind: 'total-over-limit'; readonly total: string; readonly limit: string }
  | { readonly kind: 'name-unsafe'; readonly reasons: readonly UnsafeReason[] }
  | { readonly kind: 'name-invalid-utf8' }
  /** The name has the form of the receiver's own temporary files (`.wirestep-….part`). */
  | { readonly kind: 'name-temporary' }
  /** A socket error; `code` is the system's (`ECONNRESET`); `exception` the class a traced program saw (`ConnectionResetError`). */
  | { readonly kind: 'socket-error'; readonly code: string; readonly exception?: string }
  /** A file could not be written (disk full, read-only folder); `code` is the system's. */
  | { readonly kind: 'write-failed'; readonly code: string }
  /** Fewer bytes reached the disk than the file declared. */
  | { readonly kind: 'short-write'; readonly written: string; readonly size: string }
  /** Every candidate name (`a.txt`, `a (1).txt`, …) was taken. */
  | { readonly kind: 'no-free-name' }
  /** The sender's stream ended at this offset, inside the file. */
  | { readonly kind: 'stream-ended'; readonly offset: number }
  /** The receiver closed the connection at this offset, inside the file (the outcome says why). */
  | { readonly kind: 'receiver-closed'; readonly offset: number }
  /** Seen by a sender: the receiver closed the connection before everything was sent. */
  | { readonly kind: 'peer-closed' }
  /** A staged fault: the sender stopped after this many bytes (`--stop-after`). */
  | { readonly kind: 'stopped-after'; readonly bytes: number }
  /** Found by a receiver starting later: the process recording the capture ended without finishing it. */
  | { readonly kind: 'recorder-gone'; readonly pid: number }
  /** Text kept as it was: an older capture's message no template matched, or an internal error. */
  | { readonly kind: 'text'; readonly text: string };

/** The kinds of {@link Reason}. */
export type ReasonKind = Reason['kind'];

/** How a stream came out when nothing cut it: the receiver's rule, also applied to imported streams. */
export type StreamOutcome = 'complete' | 'malformed' | 'truncated';

/**
 * The outcome of a stream that ended by itself, from its problems: `truncated` when it stopped
 * before the bytes the format announced, `malformed` with any other error, else `complete`.
 */
export function outcomeOf(problems: readonly Problem[]): StreamOutcome {
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.some((p) => p.kind === 'truncated' || p.kind === 'fewer-files-than-count')) return 'truncated';
  return errors.length > 0 ? 'malformed' : 'complete';
}

/** A reason for an error object: its system code where it has one, else its text. */
export function reasonOfError(err: { readonly message: string; readonly code?: unknown }): Reason {
  return typeof err.code === 'string' && /^E[A-Z0-9]+$/.test(err.code) ? { kind: 'socket-error', code: err.code } : { kind: 'text', text: err.message };
}
