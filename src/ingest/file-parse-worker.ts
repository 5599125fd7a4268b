/**
 * The thread that reads and parses `ingest`'s files. What it finds goes, a chunk at a time, to
 * the thread that attributes and aggregates (file-ingest-worker.ts) as packed records over a
 * channel of their own; the store commits on the thread that started both. On a month of a busy
 * node's log each of the three is seconds of CPU: in a line, they take the time of the longest.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { RecordStreamParser } from '../parse/record-stream-parser.js';
import { inputChunks, InputError } from '../sources/input-chunks.js';
import type { FileIngestOptions, FileParseMessage, ParsedPacket, ParsedPacketAck } from './file-ingest-protocol.js';
import { RecordPacker } from './packed-records.js';

const { options, port } = workerData as { options: FileIngestOptions; port: MessagePort };
/**
 * Chunks (1 MiB each) parsed ahead of the attributing thread: enough that neither waits for the
 * other's next step, few enough that memory stays flat when attributing is the slower half.
 */
const MAX_PACKETS_IN_FLIGHT = 4;
const report = (m: FileParseMessage): void => parentPort!.postMessage(m);

let current = '';
let malformed = 0;
const packer = new RecordPacker();
const parser = new RecordStreamParser({
  trust: options.trust,
  handler: {
    onRecord: (rec) => packer.addRecord(rec),
    onLostSignal: (kind, count) => packer.addSignal(kind, count),
    onMalformed(lineNo, reason, excerpt) {
      if (malformed++ < options.maxErrors) report({ type: 'malformed', file: current, lineNo, reason, excerpt });
    },
  },
});

let inFlight = 0;
let wake: (() => void) | null = null;
port.on('message', (m: ParsedPacketAck) => {
  if (m.type !== 'ack') return;
  packer.recycle(m);
  inFlight--;
  wake?.();
  wake = null;
});

async function send(): Promise<void> {
  if (packer.count === 0) {
    packer.begin(null);
    return;
  }
  const { packed, transfer } = packer.take();
  inFlight++;
  port.postMessage({ type: 'records', packed } satisfies ParsedPacket, transfer);
  while (inFlight >= MAX_PACKETS_IN_FLIGHT) await new Promise<void>((resolve) => { wake = resolve; });
}

for (const file of options.files) {
  current = file === '-' ? '<stdin>' : file;
  try {
    for await (const chunk of inputChunks(file, process.stdin)) {
      const bytes = chunk.length;
      packer.begin(chunk);
      parser.push(chunk);
      // the chunk is moved to the attributing thread here: not to be touched after
      await send();
      report({ type: 'progress', file: current, bytes });
    }
    // a last line without a newline
    parser.end();
    await send();
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    report({ type: 'input-error', file: current, message: err.message });
  }
}
port.postMessage({ type: 'end' } satisfies ParsedPacket);
report({ type: 'parsed', stats: parser.stats, malformed });
port.close();
