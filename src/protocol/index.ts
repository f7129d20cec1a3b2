/** The protocol core: field table, bounded reader, dissector, encoder, explanations. No I/O. */
export * from './format.js';
export * from './reader.js';
export * from './names.js';
export * from './dissector.js';
export * from './encoder.js';
export * from './explain.js';
export * from './reasons.js';
