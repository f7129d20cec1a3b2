import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';

/**
 * Who is recording a capture, stored in `capture.json` while its outcome is `recording`, so a
 * later process can tell a capture still being recorded from one whose recorder was killed.
 * Host and boot are hashed: a capture handed to a class does not name the teacher's machine.
 */
export interface RecorderInfo {
  /**
   * First 16 hex digits of SHA-256 of the host name and, where there is one, the machine id
   * (`/etc/machine-id`, unique per installation): lab machines cloned from one image often share
   * a host name, and one of them must never judge another's recorder by its own processes.
   */
  readonly host: string;
  /** First 16 hex digits of SHA-256 of the kernel's boot id; absent where there is none (not Linux). */
  readonly boot?: string;
  readonly pid: number;
  /** The process's start time in clock ticks since boot (Linux), which tells a reused pid apart. */
  readonly start?: string;
}

function hash16(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Field 22 of /proc/<pid>/stat, after the command name (which may hold spaces and parentheses). */
function startOf(stat: string): string | undefined {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function readOr(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

let self: RecorderInfo | undefined;

/** This process, as a recorder. Read once: none of it changes while the process runs. */
export function currentRecorder(): RecorderInfo {
  if (self) return self;
  const boot = readOr('/proc/sys/kernel/random/boot_id')?.trim();
  const stat = readOr('/proc/self/stat');
  const start = stat === undefined ? undefined : startOf(stat);
  const machine = readOr('/etc/machine-id')?.trim() ?? '';
  self = { host: hash16(`${hostname()}\n${machine}`), ...(boot ? { boot: hash16(boot) } : {}), pid: process.pid, ...(start ? { start } : {}) };
  return self;
}

/**
 * Whether the process that recorded `r` has certainly ended: same host, and a different boot,
 * no process with its pid, or (Linux) a process with its pid that started at another time.
 * False when it may still run, or when it cannot be told (another host): such a capture is left alone.
 */
export async function recorderGone(r: RecorderInfo): Promise<boolean> {
  const me = currentRecorder();
  if (r.host !== me.host) return false;
  if (r.boot !== undefined && me.boot !== undefined && r.boot !== me.boot) return true;
  try {
    process.kill(r.pid, 0);
  } catch (err) {
    // EPERM: a live process of another user.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  if (r.start === undefined) return false;
  const stat = await readFile(`/proc/${r.pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && startOf(stat) !== r.start;
}
