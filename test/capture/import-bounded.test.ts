import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { importPcap } from '../../src/capture/pcap-import.js';
import { encodeTransfer } from '../../src/protocol/index.js';
import { runToEnd } from '../../scripts/lib/harness.js';
import { withTempDir } from '../helpers/net.js';
import { handMade, manyConnections } from '../helpers/pcap.js';
import { CaptureReader } from '../../src/capture/index.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

/** Connection `i` sends one small file, `f<i>.txt`. */
const transfer = (i: number): Uint8Array => encodeTransfer([{ name: `f${i}.txt`, data: new TextEncoder().encode(`file ${i}\n`) }]);

/** `wirestep import` in a shell with `ulimit -n` at `files` and node flags `flags`, to the end. */
async function importLimited(pcap: string, captures: string, files: number, flags: readonly string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runToEnd('bash', ['-c', `ulimit -n ${files} && exec "$0" "$@"`, process.execPath, ...flags, MAIN, 'import', pcap, '--captures', captures]);
}

/** Each capture's id and outcome, and anything else in the folder. */
async function listed(captures: string): Promise<{ ids: string[]; statuses: Set<string>; others: string[] }> {
  const entries = await readdir(captures);
  const ids = entries.filter((e) => !e.startsWith('.'));
  const statuses = new Set<string>();
  for (const id of ids) statuses.add((JSON.parse(await readFile(path.join(captures, id, 'capture.json'), 'utf8')) as { outcome: { status: string } }).outcome.status);
  return { ids, statuses, others: entries.filter((e) => e.startsWith('.')) };
}

describe('import holds a bounded number of files and bytes open', () => {
  it('imports 600 connections open at once under ulimit -n 256: 600 complete captures', async () => {
    await withTempDir(async (root) => {
      const pcap = path.join(root, 'class.pcapng');
      await writeFile(pcap, manyConnections(600, transfer));
      const captures = path.join(root, 'captures');
      const r = await importLimited(pcap, captures, 256);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const { ids, statuses, others } = await listed(captures);
      expect(ids).toHaveLength(600);
      expect(ids).toContain('class-600');
      // Each ended with the file: the stream is whole; the connection was still open where the file ended.
      expect([...statuses]).toEqual(['complete']);
      expect(others).toEqual([]);
      const meta = JSON.parse(await readFile(path.join(captures, 'class-600', 'capture.json'), 'utf8')) as { wire: { close: string; carrying: number }; streamBytes: number };
      expect(meta.wire).toMatchObject({ close: 'end-of-capture', carrying: 1 });
      expect(meta.streamBytes).toBe(transfer(599).length);
    });
  }, 120_000);

  it('imports 2,000 connections open at once in a 40 MiB heap', async () => {
    await withTempDir(async (root) => {
      const pcap = path.join(root, 'many.pcapng');
      await writeFile(pcap, manyConnections(2000, transfer, { fin: true }));
      const captures = path.join(root, 'captures');
      const r = await importLimited(pcap, captures, 1024, ['--max-old-space-size=40']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const { ids, statuses, others } = await listed(captures);
      expect(ids).toHaveLength(2000);
      expect([...statuses]).toEqual(['complete']);
      expect(others).toEqual([]);
    });
  }, 180_000);

  it('leaves only whole captures when the packet capture breaks off: the ones finished, none begun', async () => {
    await withTempDir(async (root) => {
      // Ten connections closed with FIN, then twenty still open, 1.2 MB of them, when a damaged block
      // stops the import (the file is read 1 MiB at a time: the first MiB is imported before it).
      const closed = manyConnections(10, transfer, { fin: true });
      const open = manyConnections(20, (i) => encodeTransfer([{ name: `big${i}`, data: new Uint8Array(60_000).fill(i) }]));
      expect(closed.length).toBeLessThan(2 ** 20);
      expect(closed.length + open.length).toBeGreaterThan(2 ** 20);
      // Past the second file's section header and interface block; then a block of an impossible length.
      const skip = 32 + 32;
      const damaged = new Uint8Array([0x06, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0]);
      const pcap = path.join(root, 'cut.pcapng');
      await writeFile(pcap, new Uint8Array([...closed, ...open.subarray(skip), ...damaged]));
      const captures = path.join(root, 'captures');
      await expect(importPcap(pcap, { capturesDir: captures })).rejects.toThrow();
      const { ids, statuses, others } = await listed(captures);
      expect(ids.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `cut-${i + 1}`).sort());
      expect([...statuses]).toEqual(['complete']);
      expect(others).toEqual([]);
    });
  }, 60_000);

  it('keeps every byte and segment of a connection larger than its buffer, spilled and read back', async () => {
    await withTempDir(async (root) => {
      const stream = encodeTransfer([{ name: 'big.bin', data: Uint8Array.from({ length: 150_000 }, (_, i) => (i * 7) % 251) }]);
      const segments = Array.from({ length: Math.ceil(stream.length / 200) }, (_, i) => ({ offset: i * 200, length: Math.min(200, stream.length - i * 200) }));
      const pcap = path.join(root, 'big.pcapng');
      await writeFile(pcap, handMade(segments, stream));
      const captures = path.join(root, 'captures');
      const result = await importPcap(pcap, { capturesDir: captures });
      expect(result.connections).toHaveLength(1);
      const reader = await CaptureReader.open(result.connections[0]!.dir);
      try {
        expect(reader.meta.outcome.status).toBe('complete');
        expect(Buffer.from(await reader.read(0, stream.length + 1)).equals(stream)).toBe(true);
        const carried = [];
        for await (const e of reader.eachEvent('wire')) if (e.length > 0) carried.push({ offset: e.offset, length: e.length });
        expect(carried).toEqual(segments);
      } finally {
        await reader.close();
      }
      expect((await readdir(captures)).filter((e) => e.startsWith('.'))).toEqual([]);
    });
  });
});
