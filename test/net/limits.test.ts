import { execFileSync } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { encodeCount, encodeName, encodeSize, encodeTransfer } from '../../src/protocol/index.js';
import { cat } from '../fixtures/streams.js';
import { sendRaw, withReceiver } from '../helpers/net.js';

const te = new TextEncoder();

describe('receiver limits', () => {
  it('ends a transfer that announces more files than --max-files, before any is written', async () => {
    await withReceiver(async (rx) => {
      await sendRaw(rx.port, [encodeTransfer([{ name: 'a', data: te.encode('1') }, { name: 'b', data: te.encode('2') }, { name: 'c', data: te.encode('3') }])]);
      const result = await rx.nextResult();
      expect(result.status).toBe('aborted');
      expect(result.reason).toEqual({ kind: 'count-over-limit', count: 3, limit: 2 });
      expect(result.message).toBe('The count announces 3 files, above the receiver’s limit of 2 files (--max-files), so the receiver closed the connection.');
      expect(result.problems[0]).toMatchObject({ kind: 'count-over-limit', count: 3, limit: 2 });
      expect(await readdir(rx.outDir)).toEqual([]);
    }, { maxFiles: 2 });
  });

  it('costs nothing for a count of 2^32-1 until data comes', async () => {
    await withReceiver(async (rx) => {
      const before = process.memoryUsage().heapUsed;
      await sendRaw(rx.port, [encodeCount(0xffff_ffff), encodeTransfer([{ name: 'one.txt', data: te.encode('x') }]).subarray(4)]);
      const result = await rx.nextResult();
      expect(result.status).toBe('truncated');
      expect(result.files).toEqual([expect.objectContaining({ status: 'saved' })]);
      expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024);
    }, { maxFiles: 0xffff_ffff });
  });

  it('stops at --max-total-bytes: earlier files stay, the one past it is refused', async () => {
    await withReceiver(async (rx) => {
      const data = new Uint8Array(600).fill(0x61);
      await sendRaw(rx.port, [encodeTransfer([{ name: 'first.bin', data }, { name: 'second.bin', data }])]);
      const result = await rx.nextResult();
      expect(result.status).toBe('aborted');
      expect(result.reason).toEqual({ kind: 'total-over-limit', total: '1200', limit: '1000' });
      expect(result.message).toMatch(/add up to 1,200 bytes, above the receiver’s limit of 1,000 bytes for one connection/);
      expect(result.files[1]!.reason).toEqual(result.reason);
      expect(result.files.map((f) => [f.name, f.status])).toEqual([['first.bin', 'saved'], ['second.bin', 'refused']]);
      expect(await readdir(rx.outDir)).toEqual(['first.bin']);
    }, { maxTotalBytes: 1000n });
  });

  it('blames a size over both limits on --max-file-size, the file’s own limit', async () => {
    await withReceiver(async (rx) => {
      await sendRaw(rx.port, [encodeCount(1), encodeName('huge.bin'), encodeSize(0xffff_ffff_ffff_ffffn), te.encode('0123')]);
      const result = await rx.nextResult();
      expect(result.reason).toEqual({ kind: 'size-over-limit', file: 1, size: '18446744073709551615', limit: '1000' });
      expect(result.message).toMatch(/above the receiver’s limit of 1,000 bytes \(--max-file-size\)/);
    }, { maxFileSize: 1000n, maxTotalBytes: 2000n });
  });
});

/** Mounts a small tmpfs at `dir` (the tests run as root, as CI does), runs `fn`, unmounts. */
async function withTinyDisk<T>(dir: string, size: string, fn: () => Promise<T>, readOnly = false): Promise<T> {
  await mkdir(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${readOnly ? ',ro' : ''}`, 'tmpfs', dir]);
  try {
    return await fn();
  } finally {
    execFileSync('umount', ['-l', dir]);
  }
}

describe('file system errors', () => {
  it('ends a file cleanly when the disk is full, removes its temporary file, and saves the next', async () => {
    await withReceiver(async (rx) => {
      await withTinyDisk(rx.outDir, '64k', async () => {
        const big = new Uint8Array(256 * 1024).fill(0x62);
        await sendRaw(rx.port, [cat(encodeCount(2), encodeName('big.bin'), encodeSize(big.length)), big, encodeName('small.txt'), encodeSize(5), te.encode('hello')]);
        const result = await rx.nextResult();
        expect(result.files[0]).toMatchObject({ name: 'big.bin', status: 'failed' });
        expect(result.files[0]!.reason).toEqual({ kind: 'write-failed', code: 'ENOSPC' });
        expect(result.files[1]).toMatchObject({ name: 'small.txt', status: 'saved' });
        expect(await readdir(rx.outDir)).toEqual(['small.txt']);
        // Still serving.
        await sendRaw(rx.port, [encodeCount(0)]);
        expect((await rx.nextResult()).status).toBe('complete');
      });
    });
  });

  it('reports a folder it cannot write to, reads the payload, and goes on', async () => {
    await withReceiver(async (rx) => {
      await withTinyDisk(rx.outDir, '64k', async () => {
        await sendRaw(rx.port, [encodeTransfer([{ name: 'a.txt', data: te.encode('one') }, { name: 'b.txt', data: te.encode('two') }])]);
        const result = await rx.nextResult();
        expect(result.files.map((f) => f.status)).toEqual(['failed', 'failed']);
        expect(result.files[0]!.reason).toEqual({ kind: 'write-failed', code: 'EROFS' });
        expect(result.status).toBe('complete');
      }, true);
    });
  });
});
