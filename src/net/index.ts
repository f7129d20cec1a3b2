/** Sockets: the instrumented sender and receiver, the recorder, the demo. */
export * from './recorder.js';
export * from './receiver.js';
export * from './sender.js';
export * from './demo.js';
export * from './session.js';
export * from './live-inbox.js';
