/**
 * The wire table: every TCP segment of a capture's connection, both directions, bare ACKs
 * included, with relative seq and ack, the window and Wireshark's window marks; one page at a
 * time, read from `wire-detail.bin` (src/capture/wire-detail.ts) without loading the rest.
 */
import type { CaptureReader } from '../capture/index.js';
import { DETAIL_MARKS, type DetailRecord, type WireDetailInfo, detailOfLane, readDetails } from '../capture/wire-detail.js';
import { type Lang, formatInteger } from '../protocol/index.js';
import { TCP_FLAGS } from '../wire/types.js';
import { t } from './i18n.js';
import { formatMs } from './steps.js';

/** Rows per page of the wire table. */
export const WIRE_ROWS_PER_PAGE = 50;

/** One segment, ready to show: numbers formatted, flags and marks in words. */
export interface TcpRowView {
  /** Frame number in the packet capture, as Wireshark counts. */
  readonly frame: number;
  readonly time: string;
  /** `c2s` client to server, `s2c` server to client. */
  readonly dir: 'c2s' | 's2c';
  /** Header flags by their RFC 9293 names: `SYN, ACK`. */
  readonly flags: string;
  readonly seq: string;
  readonly ack: string;
  /** The window in bytes, formatted; with `unscaled`, the header's field as it was. */
  readonly window: string;
  readonly windowBytes: number;
  readonly length: string;
  /** Mark names ({@link DETAIL_MARKS} keys but `unscaled`) and their words. */
  readonly marks: readonly { readonly kind: string; readonly text: string }[];
  readonly unscaled: boolean;
}

/** A page of the wire table. */
export interface WirePageView {
  readonly captureId: string;
  readonly page: number;
  readonly pages: number;
  readonly total: number;
  readonly rows: readonly TcpRowView[];
  readonly summary: WireDetailInfo;
}

/** Thrown for a capture without a wire detail file, or a page past the last. */
export class WirePageError extends Error {
  override readonly name = 'WirePageError';
  constructor(readonly kind: 'none' | 'page', readonly pages: number) {
    super(kind === 'none' ? 'the capture has no wire detail' : `no such page (of ${pages})`);
  }
}

const FLAG_ORDER: readonly [keyof typeof TCP_FLAGS, string][] = [['syn', 'SYN'], ['fin', 'FIN'], ['rst', 'RST'], ['psh', 'PSH'], ['ack', 'ACK']];
const MARK_NAMES = (Object.keys(DETAIL_MARKS) as (keyof typeof DETAIL_MARKS)[]).filter((k) => k !== 'unscaled');

/** TCP header flags by name, in the order Wireshark lists them: `SYN, ACK`. */
export function tcpFlagNames(flags: number): string {
  return FLAG_ORDER.filter(([k]) => flags & TCP_FLAGS[k]).map(([, name]) => name).join(', ');
}

/** One detail record in words and formatted numbers. */
export function tcpRowView(r: DetailRecord, lang: Lang): TcpRowView {
  return {
    frame: r.frame,
    time: formatMs(r.timeUs, lang),
    dir: r.fromClient ? 'c2s' : 's2c',
    flags: tcpFlagNames(r.flags),
    seq: formatInteger(r.seq, lang),
    ack: r.flags & TCP_FLAGS.ack ? formatInteger(r.ack, lang) : '',
    window: formatInteger(r.window, lang),
    windowBytes: r.window,
    length: formatInteger(r.length, lang),
    marks: MARK_NAMES.filter((k) => r.marks & DETAIL_MARKS[k]).map((kind) => ({ kind, text: t(lang, `wire.mark.${kind}`) })),
    unscaled: (r.marks & DETAIL_MARKS.unscaled) !== 0,
  };
}

/** Page `page` (from 1) of capture `captureId`'s wire table. Throws WirePageError, and on I/O errors. */
export async function loadWirePage(captureId: string, reader: CaptureReader, page: number, lang: Lang): Promise<WirePageView> {
  const summary = reader.meta.wire?.detail;
  if (!summary) throw new WirePageError('none', 0);
  const pages = Math.max(1, Math.ceil(summary.records / WIRE_ROWS_PER_PAGE));
  if (!Number.isInteger(page) || page < 1 || page > pages) throw new WirePageError('page', pages);
  const records = await readDetails(reader.dir, (page - 1) * WIRE_ROWS_PER_PAGE, WIRE_ROWS_PER_PAGE);
  return { captureId, page, pages, total: summary.records, rows: records.map((r) => tcpRowView(r, lang)), summary };
}

/**
 * The detail of wire lane segment `lane` of `reader`'s capture, in words, and the table page
 * holding it; null when the capture has no detail file. Throws on I/O errors.
 */
export async function segmentDetail(reader: CaptureReader, lane: number, lang: Lang): Promise<{ row: TcpRowView; page: number } | null> {
  const summary = reader.meta.wire?.detail;
  if (!summary) return null;
  const r = await detailOfLane(reader.dir, summary.records, lane);
  return r ? { row: tcpRowView(r, lang), page: Math.floor(r.index / WIRE_ROWS_PER_PAGE) + 1 } : null;
}
