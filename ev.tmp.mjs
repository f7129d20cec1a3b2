import { CaptureReader } from './dist/src/capture/index.js';
for (const id of process.argv.slice(2)) {
  const r = await CaptureReader.open(`samples/${id}`);
  for (const side of ['sender', 'receiver', 'wire']) {
    const n = r.eventCount(side);
    const ev = await r.events(side, 0, n);
    console.log(id, side, n, ev.map((e) => `${e.type}${e.flags ? '/' + e.flags : ''}@${e.offset}+${e.length}${e.call ? ' ' + e.call.name + '(' + e.call.asked + ')' : ''}`).join(' | '));
  }
  console.log(JSON.stringify(r.meta.errors));
  await r.close();
}
