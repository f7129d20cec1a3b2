/**
 * The wire format of the course's file-transfer assignment, client to server, as data.
 *
 * ```
 * count            4 bytes   unsigned, big-endian (Python struct '!I')
 * per file:
 *   name         128 bytes   UTF-8, right-padded with ASCII spaces (0x20)
 *   size           8 bytes   unsigned, big-endian (Python struct '!Q')
 *   payload     size bytes   the file's contents
 * ```
 * Nothing is sent back. Everything here is pure: no I/O.
 */

/** Length in bytes of the `count` field. */
export const COUNT_LENGTH = 4;
/** Length in bytes of each `name` field. */
export const NAME_LENGTH = 128;
/** Length in bytes of each `size` field. */
export const SIZE_LENGTH = 8;
/** The byte the reference client pads names with (an ASCII space). */
export const NAME_PAD_BYTE = 0x20;
/** Largest value of the 4-byte count. */
export const MAX_COUNT = 0xffff_ffff;
/** Largest value of the 8-byte size. */
export const MAX_SIZE = 0xffff_ffff_ffff_ffffn;
/** The chunk size the reference client reads and sends payloads in. */
export const REFERENCE_CHUNK = 1024;

/** The kinds of field a stream is made of; `trailing` holds bytes after the last file. */
export type FieldKind = 'count' | 'name' | 'size' | 'payload' | 'trailing';

/** What the field table says of each kind of field. */
export interface FieldSpec {
  readonly kind: FieldKind;
  /** Fixed length in bytes, or `null` when the length comes from the wire. */
  readonly length: number | null;
  /** How the bytes encode the value. */
  readonly encoding: 'u32be' | 'utf8-space-padded' | 'u64be' | 'raw';
  /** The Python `struct` format the reference uses, where it uses one. */
  readonly struct: string | null;
}

/** The field table: one row per kind of field, in stream order (like Wireshark's `hf[]`). */
export const FIELD_TABLE: Readonly<Record<FieldKind, FieldSpec>> = {
  count: { kind: 'count', length: COUNT_LENGTH, encoding: 'u32be', struct: '!I' },
  name: { kind: 'name', length: NAME_LENGTH, encoding: 'utf8-space-padded', struct: null },
  size: { kind: 'size', length: SIZE_LENGTH, encoding: 'u64be', struct: '!Q' },
  payload: { kind: 'payload', length: null, encoding: 'raw', struct: null },
  trailing: { kind: 'trailing', length: null, encoding: 'raw', struct: null },
};

/**
 * The id of a field, as used in code, captures, URLs and lessons:
 * `count`, `file[1].name`, `file[1].size`, `file[1].payload`, `trailing`. Files are numbered from 1.
 */
export function fieldId(kind: FieldKind, file?: number): string {
  if (kind === 'count' || kind === 'trailing') return kind;
  return `file[${file ?? 0}].${kind}`;
}

const FIELD_ID = /^(?:(count|trailing)|file\[([1-9][0-9]{0,9})\]\.(name|size|payload))$/;

/** Parses a field id back into kind and file number; `null` if it is not one. */
export function parseFieldId(id: string): { kind: FieldKind; file?: number } | null {
  const m = FIELD_ID.exec(id);
  if (!m) return null;
  if (m[1]) return { kind: m[1] as FieldKind };
  return { kind: m[3] as FieldKind, file: Number(m[2]) };
}
