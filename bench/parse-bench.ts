import { closeSync, openSync, readSync } from 'node:fs';
import { RecordStreamParser } from '../dist/parse/record-stream-parser.js';
import type { RecordHandler } from '../dist/parse/record-handler.js';

const CHUNK = 1 << 20;

/** The floor: read the file in 1 MiB blocks and find every newline, nothing else. */
export function plainLineSplit(path: string): { lines: number; ms: number } {
  const buf = Buffer.allocUnsafe(CHUNK);
  const fd = openSync(path, 'r');
  const start = process.hrtime.bigint();
  let lines = 0;
  for (let n = readSync(fd, buf, 0, CHUNK, null); n > 0; n = readSync(fd, buf, 0, CHUNK, null)) {
    const view = buf.subarray(0, n);
    for (let p = view.indexOf(10); p >= 0; p = view.indexOf(10, p + 1)) lines++;
  }
  closeSync(fd);
  return { lines, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

/** Reads and parses every record; the handler touches what aggregation will use. */
export function parseFile(path: string): { lines: number; records: number; ms: number; checksum: number } {
  let checksum = 0;
  const handler: RecordHandler = {
    onRecord(rec) {
      checksum = (checksum + rec.pid + rec.syscallNr + rec.auditArch + rec.code) | 0;
    },
    onLostSignal() {},
    onMalformed() {},
  };
  const parser = new RecordStreamParser({ handler });
  const buf = Buffer.allocUnsafe(CHUNK);
  const fd = openSync(path, 'r');
  const start = process.hrtime.bigint();
  for (let n = readSync(fd, buf, 0, CHUNK, null); n > 0; n = readSync(fd, buf, 0, CHUNK, null)) {
    parser.push(buf.subarray(0, n));
  }
  parser.end();
  closeSync(fd);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { lines: parser.stats.lines, records: parser.stats.records, ms, checksum };
}
