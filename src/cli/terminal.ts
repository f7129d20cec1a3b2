/**
 * Control characters from the network (a file name holding ESC sequences or a newline, say)
 * shown as \xNN, and text-direction controls as \uNNNN, so they cannot move the cursor,
 * recolour, fake lines or disguise a name in a terminal.
 */
export function terminalSafe(text: string): string {
  return text
    // eslint-disable-next-line no-control-regex -- these are exactly what must not reach a terminal
    .replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
