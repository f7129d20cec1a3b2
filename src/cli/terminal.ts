import { escapeControls } from '../protocol/index.js';

/**
 * Control characters from the network (a file name holding ESC sequences or a newline, say)
 * shown as \xNN, and text-direction controls as \uNNNN, so they cannot move the cursor,
 * recolour, fake lines or disguise a name in a terminal.
 */
export function terminalSafe(text: string): string {
  return escapeControls(text);
}
