/** The site's own words in English: the source of every message key. */
export const en = {
  'bytes': '{n} bytes',
  'event.sender.connect': 'The sender connected to the receiver.',
  'event.receiver.accept': 'The receiver accepted the connection.',
  'event.sender.write': 'The sender wrote {n} bytes (stream bytes {from} to {to}).',
  'event.receiver.read': 'The receiver read {n} bytes (stream bytes {from} to {to}).',
  'event.sender.end': 'The sender finished writing after {at} bytes and closed its direction of the connection.',
  'event.receiver.end': 'The receiver saw the end of the stream after {at} bytes: the sender closed its direction.',
  'event.sender.close': 'The sender’s socket closed.',
  'event.receiver.close': 'The receiver’s socket closed.',
  'event.sender.error': 'The sender hit an error after {at} bytes: {message}',
  'event.receiver.error': 'The receiver hit an error after {at} bytes: {message}',
  'state.in': 'After this read the receiver is in “{title}”: it has {have} of its bytes and still needs {needed}.',
  'state.trailing': 'After this read the receiver has every announced file; {have} bytes came after them.',
  'state.done': 'After this read the receiver has every file the count announced.',
} as const;

/** A message key. */
export type MessageKey = keyof typeof en;
