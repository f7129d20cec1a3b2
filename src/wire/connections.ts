/**
 * Groups TCP segments, in capture order, into connections, and rebuilds each connection's
 * client-to-server stream as events: open, lane segments, stream bytes, problems, close.
 */
import { DetailTracker, type DetailSummary, type SegmentDetail } from './detail.js';
import { StreamAssembler, type AssemblerOptions, type StreamProblem, type WireSegment } from './reassembly.js';
import { TCP_FLAGS, type TcpSegment, type WireEndpoint } from './types.js';

/** A problem of one connection: of its client-to-server stream, or payload the server sent back. */
export type ConnectionProblem =
  | StreamProblem
  /** The server sent payload, which this protocol never does: payload bytes its segments carried (each copy counted), reported once at close. */
  | { readonly kind: 'server-data'; readonly bytes: number };

/** How a connection ended: RST from either side, both FINs, or the capture ended first. */
export type CloseReason = 'fin' | 'rst' | 'end-of-capture';

/** What the tracker found, in order. For each connection `open` comes first and `close` last. */
export type ConnectionEvent =
  /** `handshake`: the client's SYN was seen. `timeUs`: the connection's first segment. */
  | { readonly type: 'open'; readonly id: number; readonly client: WireEndpoint; readonly server: WireEndpoint; readonly timeUs: number; readonly handshake: boolean }
  /** A client-to-server segment, as the lane shows it. */
  | { readonly type: 'segment'; readonly id: number; readonly segment: WireSegment }
  /**
   * Any segment of the connection, either direction, bare ACKs included, after the `segment` event
   * it made if any (`lane`: whether it made one, so the two can be joined).
   */
  | { readonly type: 'detail'; readonly id: number; readonly detail: SegmentDetail; readonly lane: boolean }
  /** The next bytes of the client-to-server stream (may alias a segment's payload). */
  | { readonly type: 'data'; readonly id: number; readonly bytes: Uint8Array }
  | { readonly type: 'problem'; readonly id: number; readonly problem: ConnectionProblem }
  /** `timeUs`: the segment that closed it, or the connection's last segment at the end of the capture. */
  | { readonly type: 'close'; readonly id: number; readonly timeUs: number; readonly how: CloseReason; readonly detail: DetailSummary };

interface Connection {
  readonly id: number;
  readonly key: string;
  readonly client: WireEndpoint;
  readonly server: WireEndpoint;
  readonly clientKey: string;
  readonly assembler: StreamAssembler;
  readonly detail: DetailTracker;
  /** Sequence number of the client's SYN, once seen. */
  clientIsn: number | null;
  clientFin: boolean;
  serverFin: boolean;
  serverBytes: number;
  lastUs: number;
  closed: boolean;
}

type Slot =
  | { readonly state: 'open'; readonly conn: Connection }
  | { readonly state: 'closed'; readonly clientKey: string; readonly clientIsn: number | null }
  /** No side known as the client yet: only segments without payload came (kept: each side's first, and FINs). */
  | { readonly state: 'pending'; readonly segments: TcpSegment[]; readonly sides: Set<string>; readonly fins: Set<string>; lastUs: number };

type Pending = Extract<Slot, { state: 'pending' }>;

/** Most segments kept for a connection whose client is not known yet; then the side that sent first is taken. */
const MAX_PENDING = 64;

function endpointKey(e: WireEndpoint): string {
  return `${e.address} ${e.port}`;
}

function tupleKey(seg: TcpSegment): string {
  const a = endpointKey(seg.src);
  const b = endpointKey(seg.dst);
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

const has = (seg: TcpSegment, flag: number): boolean => (seg.flags & flag) !== 0;
const isSynOnly = (seg: TcpSegment): boolean => has(seg, TCP_FLAGS.syn) && !has(seg, TCP_FLAGS.ack);
const carried = (seg: TcpSegment): number => seg.payload.length + (seg.cut > 0 ? seg.cut : 0);

/**
 * Splits a capture's TCP segments into connections and rebuilds each client-to-server stream.
 *
 * - Key: the address-and-port 4-tuple, either direction. Ids count from 1 in the order connections open.
 * - Client: the sender of a SYN without ACK; else the receiver of a SYN+ACK; else the side that
 *   sent payload first. Until one of those comes, segments without payload wait (at most 64
 *   kept); then, or at a RST, both FINs, or the end, the side that sent first.
 *   Waiting segments are dropped if a SYN without ACK comes: they belonged to an earlier connection.
 * - Close: any RST closes; otherwise once both sides sent a FIN; otherwise {@link end} closes it.
 *   Later segments on a closed tuple are ignored, except a SYN without ACK, which opens a new
 *   connection (port reuse) unless it repeats the closed connection's client SYN. A SYN without
 *   ACK on an open connection whose client already sent a FIN also closes it (`fin`) and opens a new one.
 * - Never throws on wire values. Half-open connections stay open until {@link end}.
 */
export class ConnectionTracker {
  readonly #options: AssemblerOptions;
  readonly #slots = new Map<string, Slot>();
  #nextId = 1;

  /** `options` go to each connection's {@link StreamAssembler}. */
  constructor(options: AssemblerOptions = {}) {
    this.#options = options;
  }

  /** Takes the next TCP segment of the capture, in file order. */
  push(seg: TcpSegment): ConnectionEvent[] {
    const events: ConnectionEvent[] = [];
    this.#handle(seg, events);
    return events;
  }

  /** Closes every connection still open (`end-of-capture`), after its stream's end problems, in id order. */
  end(): ConnectionEvent[] {
    const events: ConnectionEvent[] = [];
    const open: Connection[] = [];
    const pending: Pending[] = [];
    for (const slot of this.#slots.values()) {
      if (slot.state === 'open') open.push(slot.conn);
      else if (slot.state === 'pending') pending.push(slot);
    }
    for (const conn of open.sort((a, b) => a.id - b.id)) this.#close(conn, 'end-of-capture', conn.lastUs, events);
    for (const slot of pending) {
      const conn = this.#openPending(slot, events);
      if (conn !== null && !conn.closed) this.#close(conn, 'end-of-capture', conn.lastUs, events);
    }
    this.#slots.clear();
    return events;
  }

  #handle(seg: TcpSegment, events: ConnectionEvent[]): void {
    const key = tupleKey(seg);
    const slot = this.#slots.get(key);
    if (slot === undefined) return this.#start(key, seg, events);
    if (slot.state === 'closed') {
      const lateCopy = slot.clientIsn === seg.seq && slot.clientKey === endpointKey(seg.src);
      if (isSynOnly(seg) && !lateCopy) this.#start(key, seg, events);
      return;
    }
    if (slot.state === 'open') {
      const conn = slot.conn;
      const lateCopy = conn.clientIsn === seg.seq && conn.clientKey === endpointKey(seg.src);
      if (isSynOnly(seg) && conn.clientFin && !lateCopy) {
        this.#close(conn, 'fin', conn.lastUs, events);
        return this.#start(key, seg, events);
      }
      return this.#route(conn, seg, events);
    }
    if (isSynOnly(seg)) return this.#start(key, seg, events);
    if (has(seg, TCP_FLAGS.syn) || carried(seg) > 0 || has(seg, TCP_FLAGS.rst)) {
      const conn = this.#openPending(slot, events, seg);
      if (conn !== null) this.#handle(seg, events);
      return;
    }
    const side = endpointKey(seg.src);
    slot.lastUs = seg.timeUs;
    if (!slot.sides.has(side) || has(seg, TCP_FLAGS.fin)) slot.segments.push(seg);
    slot.sides.add(side);
    if (has(seg, TCP_FLAGS.fin)) slot.fins.add(side);
    if (slot.fins.size === 2 || slot.segments.length >= MAX_PENDING) this.#openPending(slot, events);
  }

  /** The first segment of a tuple (or the first after a closed connection): opens, or waits. */
  #start(key: string, seg: TcpSegment, events: ConnectionEvent[]): void {
    let client: WireEndpoint;
    if (isSynOnly(seg)) client = seg.src;
    else if (has(seg, TCP_FLAGS.syn)) client = seg.dst;
    else if (carried(seg) > 0 || has(seg, TCP_FLAGS.rst)) client = seg.src;
    else {
      const side = endpointKey(seg.src);
      this.#slots.set(key, { state: 'pending', segments: [seg], sides: new Set([side]), fins: new Set(has(seg, TCP_FLAGS.fin) ? [side] : []), lastUs: seg.timeUs });
      return;
    }
    const server = client === seg.src ? seg.dst : seg.src;
    const conn = this.#open(key, client, server, seg.timeUs, isSynOnly(seg), events);
    if (isSynOnly(seg)) conn.clientIsn = seg.seq;
    this.#route(conn, seg, events);
  }

  /**
   * Opens a waiting connection and replays its segments. The client is the receiver of a SYN+ACK
   * `decider`, the sender of a `decider` with payload, else the side that sent first.
   */
  #openPending(pending: Pending, events: ConnectionEvent[], decider?: TcpSegment): Connection | null {
    const first = pending.segments[0];
    if (first === undefined) return null;
    let client = first.src;
    if (decider !== undefined && has(decider, TCP_FLAGS.syn) && has(decider, TCP_FLAGS.ack)) client = decider.dst;
    else if (decider !== undefined && carried(decider) > 0) client = decider.src;
    const server = endpointKey(client) === endpointKey(first.src) ? first.dst : first.src;
    const conn = this.#open(tupleKey(first), client, server, first.timeUs, false, events);
    for (const seg of pending.segments) this.#handle(seg, events);
    // ACKs not kept while waiting still count as the connection's last sign of life.
    conn.lastUs = Math.max(conn.lastUs, pending.lastUs);
    return conn;
  }

  #open(key: string, client: WireEndpoint, server: WireEndpoint, timeUs: number, handshake: boolean, events: ConnectionEvent[]): Connection {
    const conn: Connection = {
      id: this.#nextId++,
      key,
      client,
      server,
      clientKey: endpointKey(client),
      assembler: new StreamAssembler(this.#options),
      detail: new DetailTracker(),
      clientIsn: null,
      clientFin: false,
      serverFin: false,
      serverBytes: 0,
      lastUs: timeUs,
      closed: false,
    };
    this.#slots.set(key, { state: 'open', conn });
    events.push({ type: 'open', id: conn.id, client, server, timeUs, handshake });
    return conn;
  }

  #route(conn: Connection, seg: TcpSegment, events: ConnectionEvent[]): void {
    const id = conn.id;
    conn.lastUs = seg.timeUs;
    const fromClient = endpointKey(seg.src) === conn.clientKey;
    if (fromClient) {
      const out = conn.assembler.push(seg);
      if (out.segment !== null) events.push({ type: 'segment', id, segment: out.segment });
      events.push({ type: 'detail', id, detail: conn.detail.push(seg, true), lane: out.segment !== null });
      for (const bytes of out.data) events.push({ type: 'data', id, bytes });
      for (const problem of out.problems) events.push({ type: 'problem', id, problem });
      if (has(seg, TCP_FLAGS.fin)) conn.clientFin = true;
    } else {
      events.push({ type: 'detail', id, detail: conn.detail.push(seg, false), lane: false });
      conn.serverBytes += carried(seg);
      if (has(seg, TCP_FLAGS.fin)) conn.serverFin = true;
    }
    if (has(seg, TCP_FLAGS.rst)) this.#close(conn, 'rst', seg.timeUs, events);
    else if (conn.clientFin && conn.serverFin) this.#close(conn, 'fin', seg.timeUs, events);
  }

  #close(conn: Connection, how: CloseReason, timeUs: number, events: ConnectionEvent[]): void {
    const id = conn.id;
    conn.closed = true;
    for (const problem of conn.assembler.end().problems) events.push({ type: 'problem', id, problem });
    if (conn.serverBytes > 0) events.push({ type: 'problem', id, problem: { kind: 'server-data', bytes: conn.serverBytes } });
    events.push({ type: 'close', id, timeUs, how, detail: conn.detail.summary() });
    this.#slots.set(conn.key, { state: 'closed', clientKey: conn.clientKey, clientIsn: conn.clientIsn });
  }
}

