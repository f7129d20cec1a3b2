import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile, readdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LiveEvent } from '../../src/net/index.js';
import { describeReason, encodeCount, encodeName, encodeSize, encodeTransfer } from '../../src/protocol/index.js';
import { cat } from '../fixtures/streams.js';
import { sendRaw, withReceiver } from '../helpers/net.js';

describe('the receiver’s temporary names', () => {
  it('publishes no temporary name in /live, and a sender who names files after its key or a .part cannot fail another transfer', async () => {
    await withReceiver(async (rx) => {
      const keys: string[] = [];
      rx.receiver.on('live', (e: LiveEvent) => e.type === 'open' && keys.push(e.key));
      const one = randomBytes(3000);
      const two = randomBytes(2000);
      const victim = net.connect({ host: '127.0.0.1', port: rx.port });
      victim.on('error', () => {});
      await once(victim, 'connect');
      // File 1 half sent: its temporary file is on disk while the attacker acts.
      victim.write(cat(encodeCount(2), encodeName('um.bin'), encodeSize(one.length), one.subarray(0, 1000)));
      const parts = async () => (await readdir(rx.outDir)).filter((f) => f.endsWith('.part'));
      await expect.poll(parts, { timeout: 10_000 }).toHaveLength(1);
      const [part] = await parts();
      const [key] = keys;

      // The names the old receiver gave file 1 and file 2 of that connection, the live temporary name itself, and its upper case.
      const evil = [`.wirestep-${key}-1.part`, `.wirestep-${key}-2.part`, part!, part!.toUpperCase()];
      const attack = rx.nextResult();
      await sendRaw(rx.port, [encodeTransfer(evil.map((name) => ({ name, data: new TextEncoder().encode('attacker') })))]);
      const attacker = await attack;
      expect(attacker.files.map((f) => [f.name, f.status, f.reason])).toEqual(evil.map((name) => [name, 'refused', { kind: 'name-temporary' }]));
      expect(attacker.status).toBe('complete');
      expect(await parts()).toEqual([part]);

      const done = rx.nextResult();
      victim.end(cat(one.subarray(1000), encodeName('dois.bin'), encodeSize(two.length), two));
      const result = await done;
      expect(result.status).toBe('complete');
      expect(result.files.map((f) => [f.name, f.status])).toEqual([['um.bin', 'saved'], ['dois.bin', 'saved']]);
      expect((await readFile(path.join(rx.outDir, 'um.bin'))).equals(one)).toBe(true);
      expect((await readFile(path.join(rx.outDir, 'dois.bin'))).equals(two)).toBe(true);
      expect((await readdir(rx.outDir)).sort()).toEqual(['dois.bin', 'um.bin']);
      // The temporary name is 16 random bytes, unrelated to the key /live publishes.
      expect(part).toMatch(/^\.wirestep-[0-9a-f]{16}-\d+-\d+-[0-9a-f]{32}\.part$/);
      expect(part).not.toContain(key);
    });
  });

  it('logs the refusal in words, in both languages', async () => {
    const lines: string[] = [];
    await withReceiver(async (rx) => {
      await sendRaw(rx.port, [encodeTransfer([{ name: '.wirestep-00112233445566778899aabbccddeeff.part', data: new Uint8Array(5) }, { name: 'ok.txt', data: new Uint8Array(2) }])]);
      const result = await rx.nextResult();
      expect(result.files.map((f) => f.status)).toEqual(['refused', 'saved']);
      expect(lines.some((l) => l.includes('file 1: refused ".wirestep-00112233445566778899aabbccddeeff.part": Refused because the name has the form of the receiver’s own temporary files'))).toBe(true);
      expect(await readdir(rx.outDir)).toEqual(['ok.txt']);
      // Alive: a later transfer arrives whole.
      const data = randomBytes(40_000);
      const next = rx.nextResult();
      await sendRaw(rx.port, [encodeTransfer([{ name: 'depois.bin', data }])]);
      expect((await next).status).toBe('complete');
      expect((await readFile(path.join(rx.outDir, 'depois.bin'))).equals(data)).toBe(true);
    }, { log: (l) => lines.push(l) });
    expect(describeReason({ kind: 'name-temporary' }, 'pt')).toBe('Recusado porque o nome tem a forma dos arquivos temporários do próprio servidor (.wirestep-….part): ele poderia ocupar o lugar do arquivo de outra transferência.');
  });
});
