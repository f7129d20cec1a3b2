import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CaptureReader, SEGMENT_FLAGS, resolveCapture } from '../../src/capture/index.js';
import { exportPcapng } from '../../src/capture/pcap-export.js';
import { WireLaneError, addWireLane, importPcap, storableProblem } from '../../src/capture/pcap-import.js';
import { listFiles, recordLocalTransfer, sendFiles } from '../../src/net/index.js';
import type { Field } from '../../src/protocol/index.js';
import { freePort, withReceiver, withTempDir } from '../helpers/net.js';
import { startDumpcap, waitForServerFin } from '../../scripts/lib/harness.js';
import { TEXT_TRANSFER, handMade } from '../helpers/pcap.js';

const run = promisify(execFile);

/** Every field of a capture's stream (small captures only). */
async function fieldsOf(reader: CaptureReader): Promise<Field[]> {
  const d = await reader.dissection();
  return (await d.fields(0, d.fieldCount)).map((e) => e.field);
}
const SAMPLES = path.resolve('samples');

/** Runs tshark (installed by .ci/run) and returns its standard output. */
async function tshark(...args: string[]): Promise<string> {
  const { stdout } = await run('tshark', args, { maxBuffer: 256 << 20 });
  return stdout;
}

/** The client-to-server bytes tshark's "follow TCP stream" gives back. */
async function followed(file: string): Promise<Buffer> {
  const out = await tshark('-r', file, '-q', '-z', 'follow,tcp,raw,0');
  const body = out.split(/^Node 1: .*$/m)[1]!.split(/^=+$/m)[0]!;
  // Lines of the other direction are indented with a tab; the server sends nothing here.
  const lines = body.split('\n').filter((l) => l.length > 0 && !l.startsWith('\t'));
  return Buffer.from(lines.join(''), 'hex');
}

/** Frames tshark finds malformed, with a bad checksum, or with an expert error. */
async function complaints(file: string): Promise<string> {
  const checks = ['-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE'];
  const bad = await tshark('-r', file, ...checks, '-Y', '_ws.malformed || _ws.expert.severity == error', '-T', 'fields', '-e', 'frame.number', '-e', '_ws.expert.message');
  const expert = await tshark('-r', file, ...checks, '-q', '-z', 'expert,error');
  return [bad.trim(), /^Errors \(/m.test(expert) ? expert : ''].filter(Boolean).join('\n');
}

/** The whole stream a capture holds: stream.bin and, since version 5, its payload files. */
async function streamOf(dir: string): Promise<Buffer> {
  const reader = await CaptureReader.open(dir);
  try {
    return Buffer.from(await reader.read(0, reader.streamLength));
  } finally {
    await reader.close();
  }
}

describe('export to pcapng', () => {
  it.each([
    ['demo-10-files', 1460],
    ['binary-3mib', 1460],
    ['recut-7-byte-writes', 1460],
    ['demo-10-files', 7],
  ])('gives tshark back exactly the stream of %s (MSS %i), with no malformed frame or expert error', async (id, mss) => {
    await withTempDir(async (dir) => {
      const reader = await CaptureReader.open(await resolveCapture(id, [SAMPLES]));
      try {
        const file = path.join(dir, `${id}.pcapng`);
        const result = await exportPcapng(reader, file, { mss });
        const stream = await streamOf(reader.dir);
        expect((await followed(file)).equals(stream)).toBe(true);
        expect(await complaints(file)).toBe('');
        expect(result.bytes).toBe(stream.length);
        // Every write is at least one segment, and no segment is longer than the MSS.
        const lengths = (await tshark('-r', file, '-Y', 'tcp.len > 0 && tcp.srcport == ' + result.client.port, '-T', 'fields', '-e', 'tcp.len')).trim().split('\n').map(Number);
        expect(lengths.length).toBe(result.dataFrames);
        expect(lengths.length).toBeGreaterThanOrEqual(reader.meta.sides.includes('sender') ? (await reader.eventsCovering('sender', 0, stream.length, 0)).total : 1);
        expect(Math.max(...lengths)).toBeLessThanOrEqual(mss);
        // The handshake, and FIN both ways, with the capture's endpoints.
        const flags = (await tshark('-r', file, '-T', 'fields', '-e', 'tcp.flags.str')).trim().split('\n');
        expect(flags.slice(0, 3).map((f) => f.replace(/[·\s]/g, ''))).toEqual(['S', 'AS', 'A']);
        expect(flags.filter((f) => f.includes('F')).length).toBe(2);
        if (reader.meta.client?.address === '127.0.0.1') expect(result.realEndpoints).toBe(true);
      } finally {
        await reader.close();
      }
    });
  }, 300_000);

  it('notes where each receiver read ended, in packet comments', async () => {
    await withTempDir(async (dir) => {
      const reader = await CaptureReader.open(await resolveCapture('demo-10-files', [SAMPLES]));
      try {
        const file = path.join(dir, 'demo.pcapng');
        await exportPcapng(reader, file);
        const comments = (await tshark('-r', file, '-Y', 'frame.comment', '-T', 'fields', '-e', 'frame.comment')).split(/[\n,]/).filter((c) => c.startsWith('receiver read'));
        const reads = (await reader.eventsCovering('receiver', 0, reader.streamLength, 0)).total;
        expect(comments.length).toBe(reads);
        expect(comments[0]).toMatch(/^receiver read 1 ends in this segment: \d+ bytes from stream offset 0/);
      } finally {
        await reader.close();
      }
    });
  });
});


describe('import from pcap and pcapng', () => {
  it('rebuilds a real transfer captured on loopback with dumpcap, byte for byte', async () => {
    await withReceiver(async (r) => {
      const files = path.join(r.root, 'send');
      await run('mkdir', ['-p', files]);
      await writeFile(path.join(files, 'notas.txt'), 'Prova 1: 8,5\nProva 2: 9,0\n');
      await writeFile(path.join(files, 'foto.bin'), Buffer.alloc(300_000, 7));
      const pcap = path.join(r.root, 'lo.pcapng');
      const dumpcap = await startDumpcap(pcap, r.port);
      try {
        const sent = await sendFiles({ port: r.port, files: await listFiles([files]), capturesDir: path.join(r.root, 'sent') });
        expect(sent.status).toBe('complete');
        await r.nextResult();
        await waitForServerFin(pcap, r.port);
      } finally {
        dumpcap.kill('SIGINT');
        await once(dumpcap, 'exit');
      }
      const result = await importPcap(pcap, { capturesDir: path.join(r.root, 'imported'), port: r.port });
      expect(result.connections.length).toBe(1);
      const c = result.connections[0]!;
      expect(c.server.port).toBe(r.port);
      expect(c.meta.outcome.status).toBe('complete');
      expect(c.meta.wire, JSON.stringify(c.meta.wire)).toMatchObject({ handshake: true, close: 'fin', problems: [] });
      // The same bytes as the wirestep sender recorded writing, so the same files.
      const sentStream = await streamOf(path.join(r.root, 'sent', (await run('ls', [path.join(r.root, 'sent')])).stdout.trim()));
      expect((await streamOf(c.dir)).equals(sentStream)).toBe(true);
      const reader = await CaptureReader.open(c.dir);
      try {
        const d = await reader.dissection();
        const fields = (await d.fields(0, d.fieldCount)).map((e) => e.field);
        const names = fields.filter((f) => f.kind === 'name').map((f) => (f.value?.kind === 'name' ? f.value.name.text : null));
        const sizes = fields.filter((f) => f.kind === 'size').map((f) => (f.value?.kind === 'size' ? f.value.size : null));
        expect(names).toEqual(['foto.bin', 'notas.txt']);
        expect(sizes).toEqual([300_000n, 26n]);
        expect(d.problems).toEqual([]);
        // The segments cover the stream, each byte at least once (a busy loopback may send some twice).
        const segments = await reader.events('wire', 0, reader.eventCount('wire'));
        expect(segments[0]!.flags & SEGMENT_FLAGS.syn).toBeTruthy();
        let covered = 0;
        for (const e of [...segments].sort((a, b) => a.offset - b.offset)) {
          if (e.length === 0) continue;
          expect(e.offset, `a hole before segment ${e.index}`).toBeLessThanOrEqual(covered);
          covered = Math.max(covered, e.offset + e.length);
        }
        expect(covered).toBe(sentStream.length);
        const again = segments.filter((e) => e.flags & (SEGMENT_FLAGS.retransmission | SEGMENT_FLAGS.overlap));
        const repeated = again.reduce((n, e) => n + e.length, 0);
        expect(segments.reduce((n, e) => n + e.length, 0) - repeated).toBeLessThanOrEqual(sentStream.length);
      } finally {
        await reader.close();
      }
      // The same packets as classic pcap with nanosecond times (editcap's conversion) give the same stream.
      const classic = path.join(r.root, 'lo.pcap');
      await run('editcap', ['-F', 'nsecpcap', pcap, classic]);
      const viaPcap = await importPcap(classic, { capturesDir: path.join(r.root, 'classic'), port: r.port });
      expect(viaPcap.format).toBe('pcap');
      expect((await streamOf(viaPcap.connections[0]!.dir)).equals(sentStream)).toBe(true);
    });
  }, 180_000);

  const transfer = TEXT_TRANSFER;

  it('puts reordered, retransmitted and overlapping segments back in order, and marks each', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'reordered.pcapng');
      const n = transfer.length;
      await writeFile(file, handMade([
        { offset: 0, length: 1000 },
        { offset: 2000, length: n - 2000, fin: true }, // before its turn
        { offset: 1000, length: 1000 }, // fills the hole
        { offset: 500, length: 1000 }, // every byte came before
        { offset: 1500, length: 1000 }, // also every byte before
      ], transfer));
      const result = await importPcap(file, { capturesDir: path.join(dir, 'captures') });
      expect(result.connections.length).toBe(1);
      const c = result.connections[0]!;
      expect((await streamOf(c.dir)).equals(Buffer.from(transfer))).toBe(true);
      expect(c.meta.outcome.status).toBe('complete');
      expect(c.meta.wire?.problems).toEqual([]);
      const reader = await CaptureReader.open(c.dir);
      try {
        const lane = (await reader.events('wire', 0, 100)).filter((e) => e.length > 0);
        expect(lane.map((e) => [e.offset, e.length])).toEqual([[0, 1000], [2000, n - 2000], [1000, 1000], [500, 1000], [1500, 1000]]);
        const { outOfOrder, retransmission } = SEGMENT_FLAGS;
        expect(lane.map((e) => e.flags & (outOfOrder | retransmission))).toEqual([0, outOfOrder, 0, retransmission, retransmission]);
        // Field steps find the segments that carried a byte range, in capture order.
        const carried = await reader.eventsCovering('wire', 1999, 2);
        expect(carried.events.map((e) => e.offset)).toEqual([2000, 1000, 1500]);
      } finally {
        await reader.close();
      }
    });
  });

  it('stops the stream at a gap and says how many bytes are missing, never filling it', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'gap.pcapng');
      const n = transfer.length;
      await writeFile(file, handMade([{ offset: 0, length: 1000 }, { offset: 1500, length: n - 1500, fin: true }], transfer));
      const result = await importPcap(file, { capturesDir: path.join(dir, 'captures') });
      const c = result.connections[0]!;
      expect((await streamOf(c.dir)).equals(Buffer.from(transfer.subarray(0, 1000)))).toBe(true);
      expect(c.meta.wire?.problems).toEqual([{ kind: 'gap', offset: 1000, missing: 500, held: n - 1500 }]);
      expect(c.meta.outcome.status).toBe('truncated');
    });
  });

  it('makes a capture id from a file name with dots in a row', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'aula..2.pcapng');
      await writeFile(file, handMade([{ offset: 0, length: TEXT_TRANSFER.length, fin: true }], TEXT_TRANSFER));
      const { connections } = await importPcap(file, { capturesDir: path.join(dir, 'captures') });
      expect(connections.map((c) => c.id)).toEqual(['aula.2-1']);
    });
  });

  it('keeps only what lies from byte 0 on of a problem reaching before it', () => {
    expect(storableProblem({ kind: 'cut', offset: -990, length: 1000, frame: 7 })).toEqual({ kind: 'cut', offset: 0, length: 10, frame: 7 });
    expect(storableProblem({ kind: 'conflict', offset: -20, length: 20, frame: 7 })).toBeNull();
    expect(storableProblem({ kind: 'gap', offset: 1000, missing: 500, held: 10 })).toEqual({ kind: 'gap', offset: 1000, missing: 500, held: 10 });
  });

  it('refuses a file that is not a packet capture, naming it', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'notes.pcap');
      await writeFile(file, 'these are not packets');
      await expect(importPcap(file, { capturesDir: path.join(dir, 'captures') })).rejects.toThrow(/magic|capture/i);
    });
  });
});

describe('the sample imported from a packet capture', () => {
  it('is what importing its own pcapng gives again, segments and bytes', async () => {
    await withTempDir(async (dir) => {
      const sample = path.join(SAMPLES, 'reference-on-the-wire');
      // The packet capture also holds the short connections that told the recorder dumpcap was running: the sample is the server's port's.
      const { port } = JSON.parse(await readFile(path.join(sample, 'capture.json'), 'utf8')).server as { port: number };
      const result = await importPcap(path.join(sample, 'reference.pcapng'), { capturesDir: dir, port });
      expect(result.connections.length).toBe(1);
      const c = result.connections[0]!;
      expect((await streamOf(c.dir)).equals(await streamOf(sample))).toBe(true);
      expect((await readFile(path.join(c.dir, 'wire.events'))).equals(await readFile(path.join(sample, 'wire.events')))).toBe(true);
      expect((await readFile(path.join(c.dir, 'wire-detail.bin'))).equals(await readFile(path.join(sample, 'wire-detail.bin')))).toBe(true);
      // The reference client's ten files, plus the big one, in the order its folder listed them.
      const reader = await CaptureReader.open(sample);
      try {
        const names = (await fieldsOf(reader)).filter((f) => f.kind === 'name').map((f) => (f.value?.kind === 'name' ? f.value.name.text : ''));
        expect([...names].sort()).toEqual([...Array.from({ length: 10 }, (_, i) => `arquivo_${i + 1}.txt`), 'foto.jpg'].sort());
        expect(reader.meta.wire).toMatchObject({ handshake: true, close: 'fin', problems: [] });
      } finally {
        await reader.close();
      }
    });
  });
});

describe('a wire lane added to a capture of the same transfer', () => {
  it('shows writes, segments and reads of the same bytes, no segment before its write', async () => {
    await withTempDir(async (dir) => {
      const p = await freePort();
      const file = path.join(dir, 'foto.bin');
      await writeFile(file, Buffer.alloc(150_000, 3));
      const pcap = path.join(dir, 'lo.pcapng');
      const dumpcap = await startDumpcap(pcap, p);
      let captureDir: string;
      try {
        const local = await recordLocalTransfer({
          capturesDir: path.join(dir, 'captures'),
          port: p,
          send: (at, writer) => sendFiles({ port: at, files: [{ name: 'foto.bin', path: file, size: 150_000 }], capturesDir: null, recordInto: writer }),
        });
        captureDir = local.captureDir;
        await waitForServerFin(pcap, p);
      } finally {
        dumpcap.kill('SIGINT');
        await once(dumpcap, 'exit');
      }
      const added = await addWireLane(pcap, captureDir);
      expect(added.carrying).toBeGreaterThan(0);
      const reader = await CaptureReader.open(captureDir);
      try {
        expect(reader.hasWire).toBe(true);
        expect(reader.meta.sides).toEqual(['sender', 'receiver']);
        expect(reader.meta.wire).toMatchObject({ handshake: true, close: 'fin', problems: [], carrying: added.carrying });
        const segments = (await reader.events('wire', 0, reader.eventCount('wire'))).filter((e) => e.length > 0 && !(e.flags & SEGMENT_FLAGS.retransmission));
        const leads = [];
        for (const s of segments) leads.push(s.timeUs - (await reader.eventsCovering('sender', s.offset, 1, 1)).events[0]!.timeUs);
        // None leaves before its write, and the shift is the least: one leaves as its write is recorded.
        expect(Math.min(...leads)).toBe(0);
        // The payload's bytes are carried by writes, segments and reads alike.
        const payload = (await fieldsOf(reader)).find((f) => f.kind === 'payload')!;
        for (const lane of ['sender', 'wire', 'receiver'] as const) expect((await reader.eventsCovering(lane, payload.offset, payload.length, 0)).total).toBeGreaterThan(0);
      } finally {
        await reader.close();
      }
      await expect(addWireLane(pcap, captureDir)).rejects.toThrow(/already has a wire lane/);
    });
  }, 180_000);

  it('refuses a packet capture of another transfer', async () => {
    await withTempDir(async (dir) => {
      const copy = path.join(dir, 'demo');
      await cp(path.join(SAMPLES, 'demo-10-files'), copy, { recursive: true });
      await expect(addWireLane(path.join(SAMPLES, 'reference-on-the-wire', 'reference.pcapng'), copy)).rejects.toThrow(WireLaneError);
      expect(JSON.parse(await readFile(path.join(copy, 'capture.json'), 'utf8')).wire).toBeUndefined();
    });
  });

  it.each(['three-views', 'slow-receiver'])('gives the %s sample the same lane and detail again from its own pcapng', async (sample) => {
    await withTempDir(async (dir) => {
      const copy = path.join(dir, 'three');
      await cp(path.join(SAMPLES, sample), copy, { recursive: true });
      const meta = JSON.parse(await readFile(path.join(copy, 'capture.json'), 'utf8'));
      delete meta.wire;
      await writeFile(path.join(copy, 'capture.json'), JSON.stringify(meta));
      await rm(path.join(copy, 'wire.events'));
      await rm(path.join(copy, 'wire-detail.bin'));
      await addWireLane(path.join(copy, 'packets.pcapng'), copy);
      expect((await readFile(path.join(copy, 'wire.events'))).equals(await readFile(path.join(SAMPLES, sample, 'wire.events')))).toBe(true);
      expect((await readFile(path.join(copy, 'wire-detail.bin'))).equals(await readFile(path.join(SAMPLES, sample, 'wire-detail.bin')))).toBe(true);
      expect(JSON.parse(await readFile(path.join(copy, 'capture.json'), 'utf8')).wire.detail).toEqual(JSON.parse(await readFile(path.join(SAMPLES, sample, 'capture.json'), 'utf8')).wire.detail);
    });
  });
});
