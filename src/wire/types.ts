/**
 * What the network carried, as packet captures (pcap, pcapng) hold it: frames, TCP segments and
 * the client-to-server streams rebuilt from them. Like src/protocol/, src/wire/ does no I/O:
 * bytes in, packets, segments and problems out.
 */

/** A network endpoint: an IPv4 address in dotted form or an IPv6 address in RFC 5952 form, and a port. */
export interface WireEndpoint {
  readonly address: string;
  readonly port: number;
}

/** One frame of a capture file, as the file holds it. */
export interface RawPacket {
  /** Frame number as Wireshark counts it: 1 for the first packet of the file. */
  readonly frame: number;
  /** Microseconds since the Unix epoch. */
  readonly timeUs: number;
  /** The link-layer type of the interface that captured it (LINKTYPE_* number). */
  readonly linkType: number;
  /** The bytes captured (possibly cut by the snapshot length). */
  readonly data: Uint8Array;
  /** How long the frame was on the wire. */
  readonly originalLength: number;
}

/** TCP flag bits, as in the TCP header. */
export const TCP_FLAGS = { fin: 0x01, syn: 0x02, rst: 0x04, psh: 0x08, ack: 0x10 } as const;

/** One TCP segment decoded from a frame. */
export interface TcpSegment {
  readonly frame: number;
  readonly timeUs: number;
  readonly src: WireEndpoint;
  readonly dst: WireEndpoint;
  /** Sequence and acknowledgement numbers, unsigned 32-bit. */
  readonly seq: number;
  readonly ack: number;
  /** TCP flag bits ({@link TCP_FLAGS}). */
  readonly flags: number;
  readonly window: number;
  /** The payload bytes the capture holds. */
  readonly payload: Uint8Array;
  /** Payload bytes the frame carried but the capture cut off (snapshot length); 0 normally. */
  readonly cut: number;
  /** The MSS option's value (RFC 9293 §3.7.1), when a SYN carried one. */
  readonly mss?: number;
  /** The window scale option's shift count (RFC 7323 §2), when a SYN carried one. */
  readonly windowScale?: number;
}

/** How a client-to-server segment relates to the bytes before it, as bits of one number. */
export const SEGMENT_FLAGS = {
  /** Carries only bytes already seen. */
  retransmission: 0x01,
  /** Starts past the next byte expected: something before it is missing or late. */
  outOfOrder: 0x02,
  /** Carries some bytes already seen and some new ones. */
  overlap: 0x04,
  syn: 0x08,
  fin: 0x10,
  rst: 0x20,
} as const;
