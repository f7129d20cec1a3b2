import { type Lang, countedKey, formatMessage, protocolText } from '../protocol/index.js';
import { type MessageKey, en } from './messages/en.js';
import { pt } from './messages/pt.js';

/** The site's message catalogs, one per language, with the same keys. */
export const CATALOGS: Readonly<Record<Lang, Readonly<Record<MessageKey, string>>>> = { en, pt };

/** Like {@link t}, but picks `key.one` when `count` is 1 and the catalog has it. */
export function tn(lang: Lang, key: string, count: number, values: Readonly<Record<string, string | number | bigint>> = {}): string {
  return t(lang, countedKey(CATALOGS[lang], key, count), values);
}

/**
 * The site's text for `key` in `lang`, with `{placeholders}` filled. A key the site's catalogs
 * lack is a protocol word (a field title such as `title.size`), read from the protocol's table;
 * unknown keys come back as the key.
 */
export function t(lang: Lang, key: string, values: Readonly<Record<string, string | number | bigint>> = {}): string {
  const template = (CATALOGS[lang] as Readonly<Record<string, string>>)[key] ?? (en as Readonly<Record<string, string>>)[key];
  return template === undefined ? protocolText(lang, key, values) : formatMessage(template, values);
}

/** An outcome status in words; one this wirestep does not know is named, never shown as a key. */
export function statusText(lang: Lang, status: string): string {
  const key = `status.${status}`;
  return key in CATALOGS.en ? t(lang, key) : t(lang, 'status.unknown', { status });
}
