import { CAPTURE_VERSION, type CaptureMeta } from './format.js';

type Migration = (meta: Record<string, unknown>) => Record<string, unknown>;

/**
 * Steps from each older version to the next, keyed by the version they upgrade from
 * (mitmproxy's io/compat.py).
 */
const MIGRATIONS: Readonly<Record<number, Migration>> = {
  // Version 2 added the optional wire lane and segment flags in a byte that was zero.
  1: (meta) => meta,
};

/**
 * Brings a parsed `capture.json` of version 1..CAPTURE_VERSION up to the current version.
 * The caller has checked the version is not newer than this code.
 */
export function migrate(raw: Record<string, unknown>): CaptureMeta {
  let meta = raw;
  for (let v = meta.version as number; v < CAPTURE_VERSION; v++) {
    const step = MIGRATIONS[v];
    if (!step) throw new Error(`no migration from capture version ${v}`);
    meta = { ...step(meta), version: v + 1 };
  }
  return meta as unknown as CaptureMeta;
}
