import type { Reason } from '../protocol/reasons.js';
import type { Endpoint, OutcomeStatus } from './format.js';

/**
 * What a live view is told about a connection as it happens: the receiver (src/net) emits
 * these and the site (src/web) shows them, so the type lives where both may import it.
 */
export type LiveEvent =
  | { readonly type: 'open'; readonly key: string; readonly client: Endpoint; readonly captureId: string | null }
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
  | { readonly type: 'done'; readonly key: string; readonly status: OutcomeStatus; readonly reason: Reason | null; readonly bytes: number; readonly saved: number; readonly files: number; readonly captureId: string | null };
