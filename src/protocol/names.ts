import { NAME_PAD_BYTE } from './format.js';

/** Why a name cannot be used as a file name inside the receiver's folder. */
export type UnsafeReason =
  | 'empty'
  | 'nul'
  | 'control'
  | 'separator'
  | 'absolute'
  | 'dot-dot'
  | 'dot'
  | 'drive'
  | 'reserved'
  | 'bidi';

/** What a 128-byte name field says, decoded. */
export interface DecodedName {
  /** The name with the trailing 0x20 padding removed, decoded as UTF-8 (U+FFFD where invalid). */
  readonly text: string;
  /** Bytes of the name without its padding. */
  readonly byteLength: number;
  /** How many 0x20 bytes pad the name at the end of the field. */
  readonly padding: number;
  /** Whether the name bytes are valid UTF-8. */
  readonly validUtf8: boolean;
  /**
   * The name's bytes (padding removed) as lowercase hex when they are not valid UTF-8, so what
   * U+FFFD replaced in `text` is not lost; `null` for a valid name.
   */
  readonly hex: string | null;
  /** Characters (Unicode code points) in `text`. */
  readonly characters: number;
  /** Characters that take more than one byte in UTF-8. */
  readonly multiByteCharacters: number;
  /**
   * The name the reference `server.py` would use: `bytes.decode().strip()`, which also strips
   * leading whitespace; `null` where its `decode()` raises (invalid UTF-8).
   */
  readonly reference: string | null;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lossyUtf8 = new TextDecoder('utf-8');

// Python's str.isspace(): what str.strip() with no argument removes.
const PY_SPACE = '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'gu');

/** Counts code points and those that take more than one byte in UTF-8. */
export function countCharacters(text: string): { characters: number; multiByte: number } {
  let characters = 0;
  let multiByte = 0;
  for (const ch of text) {
    characters++;
    if (ch.codePointAt(0)! > 0x7f) multiByte++;
  }
  return { characters, multiByte };
}

/** Decodes the bytes of a name field (normally 128; fewer when the stream was cut). */
export function decodeName(field: Uint8Array): DecodedName {
  let end = field.length;
  while (end > 0 && field[end - 1] === NAME_PAD_BYTE) end--;
  const bytes = field.subarray(0, end);
  let validUtf8 = true;
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    validUtf8 = false;
    text = lossyUtf8.decode(bytes);
  }
  const { characters, multiByte } = countCharacters(text);
  let reference: string | null = null;
  if (validUtf8) reference = text.replace(PY_STRIP, '');
  return {
    text,
    byteLength: end,
    padding: field.length - end,
    validUtf8,
    hex: validUtf8 ? null : Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(''),
    characters,
    multiByteCharacters: multiByte,
    reference,
  };
}

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/**
 * Checks whether `name` can be written as a single file inside a folder, on any common system.
 * Returns every reason it cannot, in a fixed order; an empty list means it is safe.
 */
export function unsafeNameReasons(name: string): UnsafeReason[] {
  const reasons: UnsafeReason[] = [];
  if (name.length === 0) return ['empty'];
  if (name.includes('\0')) reasons.push('nul');
  // C0 controls other than NUL, DEL and C1 controls: exactly what this check is for.
  // eslint-disable-next-line no-control-regex
  if (/[\x01-\x1f\x7f\x80-\x9f\u2028\u2029]/.test(name)) reasons.push('control');
  // Direction overrides make a name display as another (evil\u202Etxt.exe shows as evilexe.txt).
  if (/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(name)) reasons.push('bidi');
  if (name.startsWith('/') || name.startsWith('\\')) reasons.push('absolute');
  if (/^[A-Za-z]:/.test(name)) reasons.push('drive');
  if (name.includes('/') || name.includes('\\')) reasons.push('separator');
  const parts = name.split(/[/\\]/);
  if (parts.includes('..')) reasons.push('dot-dot');
  else if (name === '.') reasons.push('dot');
  if (WINDOWS_RESERVED.test(name)) reasons.push('reserved');
  return reasons;
}

/**
 * Text from the network made safe for one line of a log or a terminal, one way everywhere:
 * control characters (NUL, ESC, newline…) as `\xNN`, text-direction controls and line
 * separators as `\uNNNN`, so they cannot end a line, move the cursor or disguise a name.
 */
export function escapeControls(text: string): string {
  return text
    // eslint-disable-next-line no-control-regex -- these are exactly what must not reach a log line
    .replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
