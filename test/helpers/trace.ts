import { writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes `partial.py` into `dir`: it connects to the port in its first argument with a 4 KiB send
 * buffer, makes one non-blocking `send()` of `bytes` bytes (a multiple of 256, far more than the
 * buffers can take while the receiver reads nothing), prints `sent N`, waits for a line on stdin
 * and closes. Returns its path. A forced partial send, with no timing in it.
 */
export async function writePartialSendProgram(dir: string, bytes: number): Promise<string> {
  const program = path.join(dir, 'partial.py');
  await writeFile(program, [
    'import socket, sys',
    's = socket.socket()',
    's.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)',
    's.connect(("127.0.0.1", int(sys.argv[1])))',
    's.setblocking(False)',
    `n = s.send(bytes(range(256)) * ${bytes / 256})`,
    'print("sent", n, flush=True)',
    'sys.stdin.readline()',
    's.close()',
  ].join('\n'));
  return program;
}
