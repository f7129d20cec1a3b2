import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type FileToSend, sendFiles, transferSize } from '../../src/net/index.js';
import { NAME_LENGTH, SIZE_LENGTH, encodeCount } from '../../src/protocol/index.js';
import { type AssignmentServer, runAssignmentClient, startAssignmentServer } from '../../scripts/lib/harness.js';
import { file, streamCase } from '../fixtures/streams.js';
import { concatBytes as cat } from '../helpers/bytes.js';
import { sendRaw, withReceiver, withTempDir } from '../helpers/net.js';

/** Waits until server.py says it saved every file; it saves after the sender is done. */
async function waitForFiles(server: AssignmentServer, files: readonly FileToSend[]): Promise<void> {
  await server.output.waitFor(/ salvo com sucesso\.\n/, { count: files.length, ms: 20_000 });
}

/** Writes `contents` as files in `dir`; returns them ready to send. */
async function makeFiles(dir: string, contents: Readonly<Record<string, Uint8Array>>): Promise<FileToSend[]> {
  await mkdir(dir, { recursive: true });
  const files: FileToSend[] = [];
  for (const [name, data] of Object.entries(contents)) {
    const p = path.join(dir, name);
    await writeFile(p, data);
    files.push({ name, path: p, size: data.length });
  }
  return files;
}

/** Writes a sender makes for `files` when no write crosses a field and none exceeds `chunk`. */
function expectedWrites(files: readonly FileToSend[], chunk: number): number {
  const writes = (n: number): number => Math.ceil(n / chunk);
  return writes(4) + files.reduce((n, f) => n + writes(NAME_LENGTH) + writes(SIZE_LENGTH) + writes(f.size), 0);
}

/** Sends `files` with wirestep's sender to a fresh assignment server.py and checks what it saved. */
async function sendToReferenceServer(root: string, files: readonly FileToSend[], chunk: number): Promise<void> {
  const saved = path.join(root, 'saved');
  await mkdir(saved);
  const server = await startAssignmentServer(saved);
  const { port } = server;
  try {
    const result = await sendFiles({ host: '127.0.0.1', port, files, chunk, capturesDir: path.join(root, 'captures') });
    expect(result.status, result.message).toBe('complete');
    expect(result.bytes).toBe(transferSize(files));
    expect(result.writes).toBe(expectedWrites(files, chunk));
    await waitForFiles(server, files);
    for (const f of files) {
      expect(await readFile(path.join(saved, f.name)), f.name).toEqual(await readFile(f.path));
    }
    expect((await readdir(saved)).sort()).toEqual(files.map((f) => f.name).sort());
  } finally {
    await server.stop();
  }
}

describe('interop with the assignment\'s Python programs', () => {
  it('saves every file the reference client.py sends, byte for byte', async () => {
    await withReceiver(async (r) => {
      const folder = path.join(r.root, 'arquivos_para_enviar');
      const printed = await runAssignmentClient(r.port, folder);
      expect(printed).toContain('✅ Todos os arquivos foram enviados.');
      const result = await r.nextResult();

      expect(result.status, result.message).toBe('complete');
      expect(result.problems.filter((p) => p.severity === 'error')).toEqual([]);
      const names = Array.from({ length: 10 }, (_, i) => `arquivo_${i + 1}.txt`);
      expect((await readdir(folder)).sort()).toEqual([...names].sort());
      expect(result.files.map((f) => f.status)).toEqual(Array(10).fill('saved'));
      expect(result.files.map((f) => f.savedAs).sort()).toEqual([...names].sort());
      expect((await readdir(r.outDir)).sort()).toEqual([...names].sort());
      let total = 4;
      for (const [i, name] of names.entries()) {
        const sent = await readFile(path.join(folder, name));
        expect(sent.toString('utf8')).toBe(`Este é o conteúdo do arquivo ${i + 1}\n`);
        expect(await readFile(path.join(r.outDir, name)), name).toEqual(sent);
        total += NAME_LENGTH + SIZE_LENGTH + sent.length;
      }
      expect(result.bytes).toBe(total);

      expect(result.captureDir).toBeDefined();
      const meta = JSON.parse(await readFile(path.join(result.captureDir!, 'capture.json'), 'utf8'));
      expect(meta.outcome.status).toBe('complete');
      expect(meta.streamBytes).toBe(total);
      expect((await stat(path.join(result.captureDir!, 'stream.bin'))).size).toBe(total);
    });
  });

  it('has every file wirestep sends saved by the reference server.py, byte for byte', async () => {
    await withTempDir(async (root) => {
      const all256 = new Uint8Array(3 * 1024 + 17).map((_, i) => (i * 7 + (i >> 8)) % 256);
      expect(new Set(all256).size).toBe(256);
      const files = await makeFiles(path.join(root, 'src'), {
        'every_byte.bin': all256,
        'empty.txt': new Uint8Array(0),
        'relatório_ação.txt': new TextEncoder().encode('Olá, conexão!\n'),
        'big.bin': new Uint8Array(200_000).map((_, i) => (i * 31) % 251),
      });
      await sendToReferenceServer(root, files, 1024);
    });
  });

  it.each([1, 7])('has the reference server.py reassemble files sent in writes of %i bytes', async (chunk) => {
    await withTempDir(async (root) => {
      const files = await makeFiles(path.join(root, 'src'), {
        'a.txt': new TextEncoder().encode('Este é o conteúdo do arquivo 1\n'),
        'ação.bin': new Uint8Array(300).map((_, i) => 255 - (i % 256)),
      });
      await sendToReferenceServer(root, files, chunk);
    });
  });

  it('keeps server.py\'s flaws on purpose: a name climbs out of --out, a cut file stays, and the next client is served', async () => {
    await withTempDir(async (root) => {
      const out = path.join(root, 'a', 'out');
      const server = await startAssignmentServer(out);
      try {
        await sendRaw(server.port, [cat(encodeCount(1), file('../escaped.txt', 'fora da pasta\n'))]);
        await server.output.waitFor('../escaped.txt salvo com sucesso.');
        expect(await readFile(path.join(root, 'a', 'escaped.txt'), 'utf8')).toBe('fora da pasta\n');

        await sendRaw(server.port, [streamCase('truncated-payload').bytes]);
        await server.output.waitFor('[x] Erro: Transferência interrompida.');
        expect(await readFile(path.join(out, 'big.bin'))).toEqual(Buffer.alloc(40, 7));

        await sendRaw(server.port, [streamCase('truncated-name').bytes]);
        await server.output.waitFor('[x] Erro: Conexão perdida.');
        expect(server.output.text()).toMatch(/^\[\+\] Servidor ouvindo em 127\.0\.0\.1:\d+\n\n\[\+\] Conexão recebida de \('127\.0\.0\.1', \d+\)\n\[i\] Recebendo 1 arquivos:\n1\. \.\.\/escaped\.txt \(14 bytes\)\n/);
      } finally {
        await server.stop();
      }
    });
  });
});
