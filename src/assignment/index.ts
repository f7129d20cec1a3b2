import { constants } from 'node:fs';
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from '../web/paths.js';

/** The files of the assignment folder, in the order they are listed and copied. */
export const ASSIGNMENT_FILES = ['client.py', 'server.py', 'README.md'] as const;

/** Where the shipped assignment lives: absolute paths of its folder and files. */
export interface AssignmentPaths {
  readonly dir: string;
  readonly client: string;
  readonly server: string;
  readonly readme: string;
}

/**
 * The shipped `assignment/` folder, found from the package root (so the same from src/ under
 * test, from dist/ and from an installed package). Throws when package.json cannot be found.
 */
export function assignmentPaths(): AssignmentPaths {
  const dir = path.join(packageRoot(), 'assignment');
  return { dir, client: path.join(dir, 'client.py'), server: path.join(dir, 'server.py'), readme: path.join(dir, 'README.md') };
}

/** Why a copy was refused before anything was overwritten: the folder named cannot take it. */
export class AssignmentCopyError extends Error {
  override readonly name = 'AssignmentCopyError';
}

/**
 * Copies client.py, server.py and README.md into `target` (created if missing) and returns the
 * new paths. Never overwrites: if any of the three is already there, nothing is copied. Throws
 * AssignmentCopyError when `target` is not a folder or holds one of the files, and the
 * file system's error when a copy fails; the files this call copied are then removed again.
 */
export async function copyAssignment(target: string): Promise<string[]> {
  const from = assignmentPaths().dir;
  const info = await stat(target).catch(() => null);
  if (info && !info.isDirectory()) throw new AssignmentCopyError(`${target} exists and is not a folder`);
  const destinations = ASSIGNMENT_FILES.map((f) => path.join(target, f));
  const present: string[] = [];
  for (const d of destinations) if (await stat(d).catch(() => null)) present.push(d);
  if (present.length > 0) throw new AssignmentCopyError(`not overwriting ${present.join(', ')}: remove ${present.length === 1 ? 'it' : 'them'} or choose another folder`);
  await mkdir(target, { recursive: true });
  const copied: string[] = [];
  try {
    for (const [i, f] of ASSIGNMENT_FILES.entries()) {
      // COPYFILE_EXCL: a file that appears between the check above and now is still not replaced.
      await copyFile(path.join(from, f), destinations[i]!, constants.COPYFILE_EXCL);
      copied.push(destinations[i]!);
    }
  } catch (err) {
    await Promise.all(copied.map((c) => rm(c, { force: true })));
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AssignmentCopyError(`not overwriting ${(err as NodeJS.ErrnoException).path ?? target}`);
    throw err;
  }
  return copied;
}
