/**
 * `npm run load -- --hostile`: a hostile class against one `wirestep lab` (receiver and site in
 * one process, run as a child so that its memory is its own). While 40 legitimate senders
 * transfer a file each, 64 drip-feeders send 1 byte every 2 s, 200 viewers of /live stop
 * reading and a loop keeps loading /. Prints each sender's result, the lab's peak RSS and the
 * count of 5xx answers; then proves the receiver alive with one more transfer. Goal: 40 of 40
 * intact, peak RSS at most 300 MiB, no 5xx. Exits 1 when a goal is missed.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type SendResult, sendFiles } from '../src/net/index.js';
import { packageRoot } from '../src/web/paths.js';
import { watchOutput } from './lib/harness.js';
import { openStalledViewers } from './lib/stalled.js';

const SENDERS = 40;
const DRIPPERS = Number(process.env.WIRESTEP_HOSTILE_DRIPPERS ?? 64);
const VIEWERS = 200;
const DRIP_MS = 2000;
const FILE_BYTES = 256 * 1024;
const MiB = 1024 * 1024;
const MAIN = path.join(packageRoot(), 'dist', 'src', 'cli', 'main.js');

/** Peak and current resident memory of `pid`, in bytes (VmHWM, VmRSS). */
async function memory(pid: number): Promise<{ peak: number; now: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  return { peak: kb('VmHWM'), now: kb('VmRSS') };
}

/** A connection that sends one byte of a count every `DRIP_MS` and never finishes. */
function drip(port: number): net.Socket {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  const timer = setInterval(() => socket.write(Uint8Array.of(0)), DRIP_MS);
  socket.once('close', () => clearInterval(timer));
  return socket;
}

const work = await mkdtemp(path.join(tmpdir(), 'wirestep-hostile-'));
let failed: boolean;
const lab = spawn(process.execPath, [MAIN, 'lab', '--port', '0', '--web-port', '0', '--out', path.join(work, 'out'), '--captures', path.join(work, 'captures')], { stdio: ['ignore', 'pipe', 'pipe'] });
const labOut = watchOutput(lab);
try {
  const port = Number((await labOut.waitFor(/receiver on [^\n]*:(\d+);/))[1]);
  const webPort = Number((await labOut.waitFor(/live page: http:\/\/[^:]+:(\d+)\//))[1]);
  const site = `http://127.0.0.1:${webPort}`;
  const before = await memory(lab.pid!);

  const source = path.join(work, 'source');
  await mkdir(source);
  const files = await Promise.all(Array.from({ length: SENDERS }, async (_, i) => {
    const data = randomBytes(FILE_BYTES);
    const file = path.join(source, `aluno-${i}.bin`);
    await writeFile(file, data);
    return { name: `aluno-${i}.bin`, path: file, size: FILE_BYTES, digest: createHash('sha256').update(data).digest('hex') };
  }));

  // The hostile part of the class arrives first and stays.
  const drippers = Array.from({ length: DRIPPERS }, () => drip(port));
  const viewers = await openStalledViewers(webPort, VIEWERS);
  const statuses = new Map<number, number>();
  let loading = true;
  const loads = (async () => {
    while (loading) {
      const status = await fetch(`${site}/`).then(async (r) => (await r.arrayBuffer(), r.status), () => 0);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  })();
  let peakNow = 0;
  const sampler = setInterval(() => void memory(lab.pid!).then((m) => (peakNow = Math.max(peakNow, m.now))), 200);

  const started = Date.now();
  // Small, paced writes, as client.py makes them: each transfer lasts a few seconds.
  const results: SendResult[] = await Promise.all(
    files.map((f) => sendFiles({ port, files: [f], chunk: 1024, delayMs: 10, capturesDir: null }).catch((err: Error) => ({ status: 'aborted', message: err.message }) as SendResult)),
  );
  // A sender is done when the kernel took its bytes; the file is whole once the lab says it saved it.
  const saves = await Promise.all(files.map((f, i) => (results[i]!.status === 'complete' ? labOut.waitFor(`saved ${path.join(work, 'out', f.name)},`, { ms: 30_000 }).then(() => true, () => false) : false)));
  const seconds = (Date.now() - started) / 1000;
  let intact = 0;
  for (const [i, r] of results.entries()) {
    const saved = saves[i] ? await readFile(path.join(work, 'out', files[i]!.name)).catch(() => null) : null;
    const whole = saved !== null && createHash('sha256').update(saved).digest('hex') === files[i]!.digest;
    if (r.status === 'complete' && whole) intact++;
    process.stdout.write(`sender ${String(i + 1).padStart(2)}: ${r.status}${r.message ? ` (${r.message})` : ''}, file ${whole ? 'saved whole' : 'not saved whole'}\n`);
  }

  loading = false;
  await loads;
  clearInterval(sampler);
  const after = await memory(lab.pid!);
  // Drip-feeders the lab still holds: each leaves a "closed" line when it goes, freeing its place.
  const closedLines = (): number => (labOut.text().match(/\] closed/g) ?? []).length;
  const held = drippers.filter((s) => !s.closed).length;
  const closedBefore = closedLines();
  for (const s of drippers) s.destroy();
  await labOut.waitFor(/\] closed/, { count: closedBefore + held, ms: 60_000 });
  await viewers.close();

  // The receiver in the lab's process still serves a legitimate sender.
  const aliveFile = { ...files[0]!, name: 'still-alive.bin' };
  const sent = await sendFiles({ port, files: [aliveFile], capturesDir: null });
  const aliveSaved = sent.status === 'complete' && (await labOut.waitFor(`saved ${path.join(work, 'out', aliveFile.name)},`, { ms: 30_000 }).then(() => true, () => false));
  const alive = aliveSaved && createHash('sha256').update(await readFile(path.join(work, 'out', aliveFile.name))).digest('hex') === aliveFile.digest;
  const fiveXX = [...statuses].filter(([s]) => s >= 500).reduce((n, [, k]) => n + k, 0);
  const refusedConnections = (labOut.text().match(/refused: already/g) ?? []).length;
  const lines = [
    `hostile class against one lab: ${SENDERS} senders (${FILE_BYTES / 1024} KiB each), ${DRIPPERS} drip-feeders (1 byte every ${DRIP_MS / 1000} s), ${VIEWERS} stalled /live viewers, a loop loading /`,
    `senders intact: ${intact} of ${SENDERS} in ${seconds.toFixed(1)} s (goal: ${SENDERS} of ${SENDERS})`,
    `connections the receiver refused as full: ${refusedConnections}`,
    `loads of /: ${[...statuses].map(([s, k]) => `${k} × ${s === 0 ? 'no answer' : s}`).join(', ')}; 5xx: ${fiveXX} (goal: 0)`,
    `lab RSS: ${(before.now / MiB).toFixed(0)} MiB at start, ${(peakNow / MiB).toFixed(0)} MiB sampled peak, ${(after.peak / MiB).toFixed(0)} MiB peak (VmHWM) (goal: at most 300 MiB)`,
    `receiver still serving a legitimate sender afterwards, in the lab's process: ${alive ? 'yes, file saved whole' : `no (${sent.status})`}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  failed = intact < SENDERS || fiveXX > 0 || after.peak > 300 * MiB || !alive;
} finally {
  lab.kill('SIGTERM');
  await new Promise((r) => lab.once('close', r));
  await rm(work, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
