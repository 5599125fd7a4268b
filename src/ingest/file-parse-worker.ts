/**
 * The thread that reads and parses `ingest`'s files. What it finds goes, a chunk at a time, to
 * the thread that attributes and aggregates (file-ingest-worker.ts) as packed records over a
 * channel of their own; the store commits on a third (file-store-worker.ts). On a month of a busy
 * node's log each of the three is seconds of CPU: in a line, they take the time of the longest.
 * A record's pid is looked up in /proc up to a few pieces after it was read, not right after as
 * on the daemon's reading thread: an ingest reads logs of the past, whose short-lived processes
 * are gone either way.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { RecordStreamParser } from '../parse/record-stream-parser.js';
import { inputChunks, InputError } from '../sources/input-chunks.js';
import type { FileIngestOptions, FileParseMessage, ParsedPacket, ParsedPacketAck } from './file-ingest-protocol.js';
import { RecordPacker, SLOT_BYTES, type PacketSlot } from './packed-records.js';
import { recordScan } from './record-scan-addon.js';

const { options, port, slots } = workerData as { options: FileIngestOptions; port: MessagePort; slots: PacketSlot[] };
const report = (m: FileParseMessage): void => parentPort!.postMessage(m);

let current = '';
let malformed = 0;
/** lines of the files before this one: a malformed line's number counts from its own file's start */
let linesBefore = 0;
const packer = new RecordPacker(slots, recordScan());
const parser = new RecordStreamParser({
  trust: options.trust,
  runs: packer,
  handler: {
    onRecord: (rec) => packer.addRecord(rec),
    onLostSignal: (kind, count) => packer.addSignal(kind, count),
    onMalformed(lineNo, reason, excerpt) {
      if (malformed++ < options.maxErrors) report({ type: 'malformed', file: current, lineNo: lineNo - linesBefore, reason, excerpt });
    },
  },
});

// slots the attributing thread has given back: as many pieces as slots are parsed ahead of it
const free = slots.map((_, i) => i);
let wake: (() => void) | null = null;
port.on('message', (m: ParsedPacketAck) => {
  if (m.type !== 'ack') return;
  free.push(m.slot);
  wake?.();
  wake = null;
});

async function freeSlot(): Promise<number> {
  while (free.length === 0) await new Promise<void>((resolve) => { wake = resolve; });
  return free.shift()!;
}

function send(): void {
  const header = packer.finish();
  if (header.count === 0) free.unshift(header.slot);
  else port.postMessage({ type: 'records', header } satisfies ParsedPacket);
}

for (const file of options.files) {
  current = file === '-' ? '<stdin>' : file;
  linesBefore = parser.lineCount;
  try {
    for await (const chunk of inputChunks(file, process.stdin)) {
      for (let from = 0; from < chunk.length; from += SLOT_BYTES) {
        parser.push(packer.begin(await freeSlot(), chunk, from));
        send();
      }
      report({ type: 'progress', file: current, bytes: chunk.length });
    }
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    report({ type: 'input-error', file: current, message: err.message });
  }
  // a last line without a newline is a line of this file, also of one cut short (a truncated
  // gzip): never the start of the next file's first line
  packer.beginEmpty(await freeSlot());
  parser.end();
  send();
}
port.postMessage({ type: 'end' } satisfies ParsedPacket);
report({ type: 'parsed', stats: parser.stats, malformed });
port.close();
