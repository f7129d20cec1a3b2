/**
 * `npm run samples`: records the bundled sample captures again with wirestep's own sender and
 * receiver over loopback. Deterministic apart from timestamps, ports and how TCP cut the stream.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { runDemo } from '../net/index.js';
import { packageRoot } from '../web/paths.js';

const root = path.join(packageRoot(), 'samples');

interface Sample {
  readonly id: string;
  readonly description: { readonly en: string; readonly pt: string };
  record(id: string, description: Sample['description']): Promise<unknown>;
}

const SAMPLES: readonly Sample[] = [
  {
    id: 'demo-10-files',
    description: {
      en: 'The reference client’s transfer: ten small text files, arquivo_1.txt to arquivo_10.txt, sent and received in one process.',
      pt: 'A transferência do cliente de referência: dez arquivos de texto pequenos, de arquivo_1.txt a arquivo_10.txt, enviados e recebidos no mesmo processo.',
    },
    record: (id, description) => runDemo({ capturesDir: root, id, description }),
  },
];

for (const sample of SAMPLES) {
  await rm(path.join(root, sample.id), { recursive: true, force: true });
  await sample.record(sample.id, sample.description);
  process.stdout.write(`recorded samples/${sample.id}\n`);
}
