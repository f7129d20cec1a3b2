import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { encodeTcpFrame } from '../wire/frames.js';
import { enhancedPacket, interfaceDescription, sectionHeader } from '../wire/pcapng.js';
import { TCP_FLAGS, type WireEndpoint } from '../wire/types.js';
import { type CaptureEvent, type Endpoint, type Lane, streamLane, unmapped } from './format.js';
import { type CaptureReader, isData } from './reader.js';
import { TOOL } from './tool.js';

/** Options of {@link exportPcapng}. */
export interface ExportOptions {
  /** Largest TCP payload per frame; a longer write is split. Default 1460 (Ethernet). */
  readonly mss?: number;
}

/** What an export wrote. */
export interface ExportResult {
  readonly frames: number;
  /** Frames that carried stream bytes. */
  readonly dataFrames: number;
  readonly bytes: number;
  /** Which lane the segments were cut from. */
  readonly from: Lane;
  /** The endpoints written, and whether they are the capture's own. */
  readonly client: WireEndpoint;
  readonly server: WireEndpoint;
  readonly realEndpoints: boolean;
}

/** Ethernet's MSS: 1500 bytes of IP minus 40 of headers. */
export const DEFAULT_MSS = 1460;
/** Largest MSS an IPv4 packet without options can carry. */
export const MAX_MSS = 65_495;
const WINDOW = 65_535;
const MAC_CLIENT = Uint8Array.of(0x02, 0, 0, 0, 0, 0x01);
const MAC_SERVER = Uint8Array.of(0x02, 0, 0, 0, 0, 0x02);
// Fixed initial sequence numbers: two exports of one capture are the same file.
const ISN_CLIENT = 1_000_000;
const ISN_SERVER = 2_000_000;

/** An IPv4 address of `e`, unwrapping IPv4-mapped IPv6 (`::ffff:127.0.0.1`); null for IPv6. */
function ipv4(e: Endpoint | undefined): string | null {
  const a = e && unmapped(e.address);
  return a && /^(\d{1,3})(\.\d{1,3}){3}$/.test(a) && a.split('.').every((p) => Number(p) <= 255) ? a : null;
}

/** A piece of the stream and when it went: one write, read or segment. */
interface Piece {
  readonly offset: number;
  readonly length: number;
  readonly timeUs: number;
  /** 1-based number of the write (or read, or segment) on its lane. */
  readonly n: number;
}

/**
 * The pieces the stream is cut into, in stream order: the sender's writes where it recorded,
 * else the receiver's reads, else the imported segments (sorted by offset, bytes seen before
 * dropped, times kept in order, so the frames tell one consistent story).
 */
async function* pieces(reader: CaptureReader, lane: Lane): AsyncGenerator<Piece> {
  if (lane !== 'wire') {
    let n = 0;
    for await (const e of reader.eachEvent(lane)) {
      if (!isData(e) || e.length === 0) continue;
      n++;
      const length = Math.min(e.length, reader.streamLength - e.offset);
      if (length > 0) yield { offset: e.offset, length, timeUs: e.timeUs, n };
    }
    return;
  }
  const data: CaptureEvent[] = [];
  for await (const e of reader.eachEvent('wire')) if (e.length > 0) data.push(e);
  data.sort((a, b) => a.offset - b.offset || a.index - b.index);
  let next = 0;
  let time = 0;
  for (const e of data) {
    const end = Math.min(e.offset + e.length, reader.streamLength);
    if (end <= next) continue;
    time = Math.max(time, e.timeUs);
    yield { offset: next, length: end - next, timeUs: time, n: e.index + 1 };
    next = end;
  }
}

/** Reads of the receiver in stream order, for the comments on the frames where each ended. */
async function* reads(reader: CaptureReader): AsyncGenerator<CaptureEvent> {
  for await (const e of reader.eachEvent('receiver')) if (e.type === 'read' && e.length > 0) yield e;
}

const ms = (us: number): string => (us / 1000).toFixed(3);

/**
 * Writes the capture as a pcapng file Wireshark opens: Ethernet, IPv4 and TCP frames between
 * the capture's endpoints (made-up private ones when they are unknown or IPv6), the three-way
 * handshake, one segment per sender write split at `mss`, an ACK from the receiver after each,
 * and FIN both ways at the end. Times are the capture's. Packet comments say which write a
 * segment starts and where each receiver read ended. Throws on I/O errors.
 */
export async function exportPcapng(reader: CaptureReader, file: string, options: ExportOptions = {}): Promise<ExportResult> {
  const mss = options.mss ?? DEFAULT_MSS;
  if (!Number.isInteger(mss) || mss < 1 || mss > MAX_MSS) throw new RangeError(`the MSS must be 1 to ${MAX_MSS} bytes, not ${mss}`);
  const meta = reader.meta;
  const clientIp = ipv4(meta.client);
  const serverIp = ipv4(meta.server);
  const realEndpoints = clientIp !== null && serverIp !== null;
  const client: WireEndpoint = realEndpoints ? { address: clientIp, port: meta.client!.port } : { address: '10.0.0.1', port: meta.client?.port || 50_000 };
  const server: WireEndpoint = realEndpoints ? { address: serverIp, port: meta.server!.port } : { address: '10.0.0.2', port: meta.server?.port || 8181 };
  const lane = streamLane(meta.sides);
  const base = Date.parse(meta.createdAt) * 1000;
  const what = { sender: 'sender write', receiver: 'receiver read', wire: 'segment' }[lane];

  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  let failed: Error | null = null;
  out.on('error', (err) => {
    failed ??= err;
  });
  const put = async (bytes: Uint8Array): Promise<void> => {
    if (failed) throw failed;
    if (!out.write(bytes)) await Promise.race([once(out, 'drain'), once(out, 'close')]);
  };
  let frames = 0;
  let dataFrames = 0;
  let clientId = 0;
  let serverId = 0;
  const frame = async (fromClient: boolean, timeUs: number, seq: number, ack: number, flags: number, payload: Uint8Array, comments: string[] = [], withMss = false): Promise<void> => {
    frames++;
    const bytes = encodeTcpFrame({
      srcMac: fromClient ? MAC_CLIENT : MAC_SERVER,
      dstMac: fromClient ? MAC_SERVER : MAC_CLIENT,
      src: fromClient ? client : server,
      dst: fromClient ? server : client,
      seq: seq >>> 0,
      ack: ack >>> 0,
      flags,
      window: WINDOW,
      ipId: fromClient ? clientId++ : serverId++,
      payload,
      ...(withMss ? { mss } : {}),
    });
    await put(enhancedPacket(base + timeUs, bytes, comments.length > 0 ? { comments } : {}));
  };

  try {
    const note = realEndpoints ? '' : ' The capture does not say which IPv4 addresses it used: these are made up.';
    await put(sectionHeader({ application: `${TOOL.name} ${TOOL.version}`, comment: `wirestep capture ${meta.id}: ${reader.streamLength} stream bytes, one TCP segment per ${what}, split at an MSS of ${mss} bytes.${note}` }));
    await put(interfaceDescription(1, { name: 'wirestep' }));
    const { ack: ACK, syn: SYN, fin: FIN, psh: PSH } = TCP_FLAGS;
    const start = 0;
    await frame(true, start, ISN_CLIENT, 0, SYN, new Uint8Array(0), [], true);
    await frame(false, start, ISN_SERVER, ISN_CLIENT + 1, SYN | ACK, new Uint8Array(0), [], true);
    await frame(true, start, ISN_CLIENT + 1, ISN_SERVER + 1, ACK, new Uint8Array(0));
    const readsLeft = reads(reader);
    let read = await readsLeft.next();
    let readNumber = 1;
    let last = start;
    let sent = 0;
    for await (const p of pieces(reader, lane)) {
      const bytes = await reader.read(p.offset, p.length);
      for (let at = 0; at < bytes.length; at += mss) {
        const payload = bytes.subarray(at, Math.min(at + mss, bytes.length));
        const offset = p.offset + at;
        const end = offset + payload.length;
        const comments = at === 0 ? [`${what} ${p.n}: ${p.length} bytes from stream offset ${p.offset}, at ${ms(p.timeUs)} ms`] : [];
        while (!read.done && read.value.offset + read.value.length <= end) {
          const r = read.value;
          comments.push(`receiver read ${readNumber} ends in this segment: ${r.length} bytes from stream offset ${r.offset}, read at ${ms(r.timeUs)} ms`);
          readNumber++;
          read = await readsLeft.next();
        }
        const flags = ACK | (at + mss >= bytes.length ? PSH : 0);
        last = Math.max(last, p.timeUs);
        await frame(true, last, ISN_CLIENT + 1 + offset, ISN_SERVER + 1, flags, payload, comments);
        await frame(false, last, ISN_SERVER + 1, ISN_CLIENT + 1 + end, ACK, new Uint8Array(0));
        dataFrames++;
        sent = Math.max(sent, end);
      }
    }
    const finAt = Math.max(last, await reader.durationUs());
    await frame(true, finAt, ISN_CLIENT + 1 + sent, ISN_SERVER + 1, FIN | ACK, new Uint8Array(0));
    await frame(false, finAt, ISN_SERVER + 1, ISN_CLIENT + 2 + sent, FIN | ACK, new Uint8Array(0));
    await frame(true, finAt, ISN_CLIENT + 2 + sent, ISN_SERVER + 2, ACK, new Uint8Array(0));
    out.end();
    await once(out, 'close');
    if (failed) throw failed;
    return { frames, dataFrames, bytes: sent, from: lane, client, server, realEndpoints };
  } catch (err) {
    out.destroy();
    throw err;
  }
}
