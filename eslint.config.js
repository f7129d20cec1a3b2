import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

import { builtinModules } from 'node:module';

// Every Node built-in, with and without 'node:', and the packages that do I/O.
const io = [...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'express', 'hexy', 'ejs'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'test-output/', 'samples/', 'captures/', 'received/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['views/static/**/*.js'],
    languageOptions: { globals: globals.browser, sourceType: 'script' },
  },
  {
    // The protocol core has no I/O: bytes in, fields and problems out (STYLE.md).
    files: ['src/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: io.map((name) => ({ name, message: 'src/protocol/ does no I/O.' })), patterns: [{ group: ['../*'], message: 'src/protocol/ imports nothing of ours.' }] }],
      'no-restricted-globals': ['error', ...['process', 'fetch', 'require', 'setTimeout', 'setInterval'].map((name) => ({ name, message: 'src/protocol/ does no I/O.' }))],
    },
  },
  {
    // The packet-capture codecs have no I/O either: bytes in, packets and segments out.
    files: ['src/wire/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: io.map((name) => ({ name, message: 'src/wire/ does no I/O.' })), patterns: [{ group: ['../*'], message: 'src/wire/ imports nothing of ours.' }] }],
      'no-restricted-globals': ['error', ...['process', 'fetch', 'require', 'setTimeout', 'setInterval', 'Buffer'].map((name) => ({ name, message: 'src/wire/ does no I/O.' }))],
    },
  },
  {
    // The receiver's session is policy, not I/O: events in, commands out (STYLE.md).
    files: ['src/net/session.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: io.map((name) => ({ name, message: 'src/net/session.ts does no I/O.' })), patterns: [{ regex: '^\\.\\.?/(?!protocol/|capture/format\\.js$)', message: 'src/net/session.ts imports only the protocol and the capture format.' }] }],
      'no-restricted-globals': ['error', ...['process', 'fetch', 'require', 'setTimeout', 'setInterval', 'Date', 'performance'].map((name) => ({ name, message: 'src/net/session.ts does no I/O and reads no clock.' }))],
    },
  },
  {
    // Data flows one way: the site and the capture format never reach into the sockets.
    files: ['src/web/**/*.ts', 'src/capture/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)net(/|$)', message: 'src/web/ and src/capture/ may not import src/net/.' }] }],
    },
  },
  {
    // Only the CLI and the scripts (npm run samples, load, bench, compare-reference) end the process.
    files: ['**/*.ts', '**/*.js'],
    ignores: ['src/cli/**', 'scripts/**', 'bench/**'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'exit', message: 'Only src/cli/ and the scripts call process.exit.' }],
    },
  },
);
