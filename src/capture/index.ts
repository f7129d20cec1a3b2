/** Captures on disk: the format, a streaming writer, a random-access reader, the store. */
export * from './format.js';
export * from './writer.js';
export * from './reader.js';
export * from './store.js';
export * from './catalog.js';
export * from './tool.js';
export * from './live.js';
export * from './sender-options.js';
export * from './liveness.js';
