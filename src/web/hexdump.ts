import { type FormatOptions, hexy } from 'hexy';

/** Bytes per hex row, everywhere in wirestep. */
export const BYTES_PER_ROW = 16;

/**
 * Every hexy option, set explicitly: hexy 0.4 renamed options and changed defaults
 * (bytesPerGroup went from 2 to 1), so nothing here leans on a default. hexy is pinned in package.json.
 */
function hexyOptions(): FormatOptions {
  return {
    bytesPerLine: BYTES_PER_ROW,
    bytesPerGroup: 1,
    showAddress: true,
    radix: 16,
    littleEndian: false,
    extendedChs: false,
    caps: 'upper',
    annotate: 'ascii',
    prefix: '',
    indent: 0,
    html: false,
    offset: 0,
    length: -1,
    // hexy 0.4 throws for addresses of 2^32 and up: addresses are ours (see `address`).
    displayOffset: 0,
  };
}

/** A row address: the stream offset in hex, at least 8 digits (more past 4 GiB). */
export function address(offset: number): string {
  return offset.toString(16).padStart(8, '0');
}

/**
 * A plain hex dump of `bytes` as hexy lays it out (hex and text columns), with addresses
 * counted from `displayOffset`.
 */
export function renderHexText(bytes: Uint8Array, displayOffset: number): string {
  if (bytes.length === 0) return '';
  const lines = hexy(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), hexyOptions()).split('\n').filter((l) => l.length > 0);
  return lines.map((line, i) => `${address(displayOffset + i * BYTES_PER_ROW)}${line.slice(line.indexOf(':'))}\n`).join('');
}

/** One byte of a dump. */
export interface HexCell {
  /** Stream offset of the byte. */
  readonly offset: number;
  readonly byte: number;
  /** Two uppercase hex digits. */
  readonly hex: string;
  /** The character hexy shows for it in the text column ('.' when not printable ASCII). */
  readonly char: string;
}

/** One row of a dump: its address and up to 16 bytes. */
export interface HexRow {
  /** The address: the row's stream offset in hex, at least 8 digits. */
  readonly address: string;
  /** Stream offset of the row's first byte. */
  readonly offset: number;
  /**
   * The address of the row's ninth byte, where a narrow screen wraps the row into two lines of
   * 8 bytes; null when the row has 8 bytes or fewer.
   */
  readonly halfAddress: string | null;
  readonly cells: readonly HexCell[];
}

/**
 * Rows of a dump of `bytes`, whose first byte is at stream offset `start`. Start at a multiple
 * of 16 for rows aligned on the stream. The text-column characters come from hexy.
 */
export function hexRows(bytes: Uint8Array, start: number): HexRow[] {
  const lines = renderHexText(bytes, start).split('\n').filter((l) => l.length > 0);
  return lines.map((line, i) => {
    const at = i * BYTES_PER_ROW;
    const n = Math.min(BYTES_PER_ROW, bytes.length - at);
    const text = line.slice(line.length - n);
    const cells: HexCell[] = [];
    for (let j = 0; j < n; j++) {
      const byte = bytes[at + j]!;
      // hexy prints DEL (0x7F) as is: it is a control character, shown as '.' like the others.
      const char = byte === 0x7f ? '.' : text[j] ?? '.';
      cells.push({ offset: start + at + j, byte, hex: byte.toString(16).toUpperCase().padStart(2, '0'), char });
    }
    const halfAddress = n > BYTES_PER_ROW / 2 ? address(start + at + BYTES_PER_ROW / 2) : null;
    return { address: line.slice(0, line.indexOf(':')), offset: start + at, halfAddress, cells };
  });
}
