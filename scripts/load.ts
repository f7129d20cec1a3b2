/**
 * `npm run load`: 100 concurrent senders, 20 files each (0 bytes to 4 MiB), to one receiver on
 * loopback, recording every capture. Then checks every file byte for byte, every capture, and
 * that the receiver still answers; prints the figures; removes what it wrote. `--hostile` runs
 * scripts/load-hostile.ts instead.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CaptureReader } from '../src/capture/index.js';
import { type ConnectionResult, type FileToSend, sendFiles, startReceiver, transferSize } from '../src/net/index.js';

// --hostile: a hostile class against one lab instead (scripts/load-hostile.ts).
if (process.argv.includes('--hostile')) {
  await import('./load-hostile.js');
  process.exit();
}

const SENDERS = Number(process.env.WIRESTEP_LOAD_SENDERS ?? 100);
const MiB = 1024 * 1024;
const SIZES = [0, 1, 7, 100, 1000, 4096, 10_000, 65_536, 100_000, 123_457, 262_144, 500_000, MiB, 1.5 * MiB, 2 * MiB, 2.5 * MiB, 3 * MiB, 3.5 * MiB, 4 * MiB - 1, 4 * MiB];

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const work = await mkdtemp(path.join(tmpdir(), 'wirestep-load-'));
let failures = 0;
const fail = (what: string): void => {
  failures++;
  process.stdout.write(`FAIL ${what}\n`);
};
try {
  const source = path.join(work, 'source');
  await mkdir(source);
  const digests: string[] = [];
  const files: FileToSend[] = [];
  for (const [j, size] of SIZES.entries()) {
    const data = new Uint8Array(size);
    // Different bytes per file, every byte value in each.
    for (let i = 0; i < size; i++) data[i] = (i * 31 + j * 7) & 0xff;
    const p = path.join(source, `f${j}`);
    await writeFile(p, data);
    digests.push(createHash('sha256').update(data).digest('hex'));
    files.push({ name: `f${j}`, path: p, size });
  }
  const outDir = path.join(work, 'received');
  const capturesDir = path.join(work, 'captures');
  const results: ConnectionResult[] = [];
  const receiver = await startReceiver({ host: '127.0.0.1', port: 0, outDir, capturesDir, maxConnections: SENDERS + 10 });
  receiver.on('result', (r: ConnectionResult) => results.push(r));
  const perSender = transferSize(files);
  const started = process.hrtime.bigint();
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  const sent = await Promise.all(
    Array.from({ length: SENDERS }, (_, i) =>
      sendFiles({
        port: receiver.address.port,
        files: files.map((f) => ({ ...f, name: `s${i}-${f.name}.bin` })),
        capturesDir: null,
      }),
    ),
  );
  while (results.length < SENDERS) await new Promise((r) => setTimeout(r, 20));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sampler);

  for (const [i, s] of sent.entries()) if (s.status !== 'complete') fail(`sender ${i}: ${s.status} ${s.message ?? ''}`);
  const captures = results.length;
  let checked = 0;
  for (const r of results) {
    if (r.status !== 'complete') fail(`connection ${r.client.port}: ${r.status} ${r.message ?? ''}`);
    for (const f of r.files) {
      const j = Number(/-f(\d+)\.bin$/.exec(f.name)?.[1]);
      if (f.status !== 'saved' || !f.savedAs) {
        fail(`${f.name}: ${f.status}`);
        continue;
      }
      if ((await sha256(path.join(outDir, f.savedAs))) !== digests[j]) fail(`${f.name}: bytes differ`);
      checked++;
    }
    const reader = await CaptureReader.open(r.captureDir!);
    try {
      if (reader.meta.outcome.status !== 'complete' || reader.streamLength !== perSender) fail(`capture ${reader.meta.id}: ${reader.meta.outcome.status}, ${reader.streamLength} bytes`);
      const d = await reader.dissection();
      if (d.problems.length > 0) fail(`capture ${reader.meta.id}: ${d.problems.length} problems`);
    } finally {
      await reader.close();
    }
  }
  // Still answering.
  const after = new Promise<ConnectionResult>((resolve) => receiver.once('result', resolve));
  await sendFiles({ port: receiver.address.port, files: [files[3]!], capturesDir: null });
  if ((await after).status !== 'complete') fail('the receiver no longer answers');
  await receiver.close();

  const total = perSender * SENDERS;
  process.stdout.write(
    [
      `senders: ${SENDERS} at once, ${SIZES.length} files each (0 B to 4 MiB), ${(perSender / MiB).toFixed(1)} MiB each`,
      `moved: ${(total / MiB).toFixed(0)} MiB in ${seconds.toFixed(1)} s = ${(total / MiB / seconds).toFixed(0)} MiB/s over loopback, captures on`,
      `checked: ${checked} of ${SENDERS * SIZES.length} files byte for byte (sha256), ${captures} captures complete and problem-free`,
      `peak RSS of the process running receiver and senders: ${(peakRss / MiB).toFixed(0)} MiB`,
      `receiver still answering: ${failures === 0 ? 'yes' : 'see failures'}`,
      `failures: ${failures}`,
    ].join('\n') + '\n',
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
if (failures > 0) process.exitCode = 1;
