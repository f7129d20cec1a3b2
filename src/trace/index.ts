/** `wirestep trace`: runs a Python program with a socket tracer and records its connections as captures. */
export * from './frames.js';
export * from './session.js';
export * from './recorder.js';
export * from './live.js';
export * from './merge.js';
export * from './run.js';
export * from './argv.js';
